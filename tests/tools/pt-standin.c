/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-standin ADDRESS: a stand-in for passthrud on the bus at ADDRESS, for
 * testing passthructl's libvirt hook without a VM (tests/unit/libvirt-hook.sh).
 * Two devices: 0000:01:00.0, passthru's (IOMMU group 7), which Acquire
 * leases to one caller at a time until that caller leaves the bus, and
 * 0000:02:00.0, a host device that is a VF of 0000:01:00.0 while that PF
 * says it has none (NumVFs is not served: 0), as a PF whose VFs appeared
 * before its count was read again shows them.  Prints "ready" once its name
 * is taken, and "acquired VM PID" / "returned VM" as leases come and go.
 * With PT_STANDIN_FOREIGN=1, 0000:01:00.0 is foreign while not leased
 * (another tool moved it to vfio-pci), for passthructl check.  IommuEnabled
 * is true.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "passthru-names.h"

#define DEV1 "0000:01:00.0"
#define DEV2 "0000:02:00.0"

static char owner[256];
static char holder[256];        /* the holder's unique bus name */
static uint32_t owner_pid;

static int get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        bool ours = strcmp(path, PT_DEVICE_PATH_PREFIX "/_30000_3a01_3a00_2e0") == 0;
        bool foreign = ours && !owner[0] && getenv("PT_STANDIN_FOREIGN");
        const char *v = "";

        (void) bus;
        (void) interface;
        (void) userdata;
        (void) error;
        if (strcmp(property, "Address") == 0)
                v = ours ? DEV1 : DEV2;
        else if (strcmp(property, "State") == 0)
                v = !ours ? "host" : owner[0] ? "leased" : foreign ? "foreign" : "available";
        else if (strcmp(property, "Driver") == 0)
                v = !ours ? "e1000e" : owner[0] || foreign ? "vfio-pci" : "passthru";
        else if (strcmp(property, "Owner") == 0)
                v = ours ? owner : "";
        else if (strcmp(property, "PhysicalFunction") == 0)
                v = ours ? "" : DEV1;
        return sd_bus_message_append(reply, "s", v);
}

static int get_number(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        bool ours = strcmp(path, PT_DEVICE_PATH_PREFIX "/_30000_3a01_3a00_2e0") == 0;

        (void) bus;
        (void) interface;
        (void) userdata;
        (void) error;
        if (strcmp(property, "OwnerPid") == 0)
                return sd_bus_message_append(reply, "u", ours ? owner_pid : 0);
        if (strcmp(property, "IommuGroup") == 0)
                return sd_bus_message_append(reply, "i", ours ? 7 : 8);
        if (strcmp(property, "IommuEnabled") == 0)
                return sd_bus_message_append(reply, "b", true);
        return sd_bus_message_append(reply, "b", ours);        /* Passthrough, Viable */
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name, *old, *new;

        (void) userdata;
        (void) error;
        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0)
                return 0;
        if (holder[0] && strcmp(name, holder) == 0 && !*new) {
                printf("returned %s\n", owner);
                fflush(stdout);
                owner[0] = holder[0] = 0;
                owner_pid = 0;
        }
        return 0;
}

static int method_acquire(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *device, *vm;
        pid_t pid = 0;
        int fd, r;

        (void) userdata;
        r = sd_bus_message_read(m, "ss", &device, &vm);
        if (r < 0)
                return r;
        if (strcmp(device, DEV1) != 0)
                return sd_bus_error_setf(error, PT_ERROR_NOT_PASSTHROUGH, "%s is not marked for passthrough.", device);
        if (owner[0])
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY, "%s is leased to VM '%s' (pid %u).", DEV1, owner,
                                         owner_pid);
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_PID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_pid(creds, &pid);
        if (r < 0)
                return r;
        snprintf(owner, sizeof(owner), "%s", vm);
        snprintf(holder, sizeof(holder), "%s", sd_bus_message_get_sender(m));
        owner_pid = (uint32_t) pid;
        printf("acquired %s %u\n", owner, owner_pid);
        fflush(stdout);
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = sd_bus_reply_method_return(m, "h", fd);
        close(fd);
        /* As passthrud announces a grant (passthructl monitor hears it). */
        if (r >= 0)
                (void) sd_bus_emit_signal(sd_bus_message_get_bus(m), PT_MANAGER_PATH, PT_MANAGER_INTERFACE,
                                          "LeaseAcquired", "ssu", DEV1, vm, (uint32_t) pid);
        return r;
}

/* DEV1 carries the host's root file system, as passthrud words the refusal: Force takes it. */
static int method_set_passthrough(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *device, *key;
        int enabled, force = 0, live = 0, r;

        (void) userdata;
        r = sd_bus_message_read(m, "sb", &device, &enabled);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "Force") == 0 || strcmp(key, "Live") == 0)
                        r = sd_bus_message_read(m, "v", "b", strcmp(key, "Force") == 0 ? &force : &live);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (strcmp(device, DEV1) == 0 && enabled && !force)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "%s carries the root file system (/dev/sda1 on sda1): marking it would take "
                                         "that from the host, %s. Pass Force=true to mark it anyway.",
                                         device, live ? "now" : "at the next boot");
        printf("passthrough %s %d force %d\n", device, enabled, force);
        fflush(stdout);
        return sd_bus_reply_method_return(m, "b", 0);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Acquire", "ssa{sv}", "h", method_acquire, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("SetPassthrough", "sba{sv}", "b", method_set_passthrough, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("IommuEnabled", "b", get_number, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END
};

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", get_string, 0, 0),
        SD_BUS_PROPERTY("State", "s", get_string, 0, 0),
        SD_BUS_PROPERTY("Driver", "s", get_string, 0, 0),
        SD_BUS_PROPERTY("Owner", "s", get_string, 0, 0),
        SD_BUS_PROPERTY("PhysicalFunction", "s", get_string, 0, 0),
        SD_BUS_PROPERTY("OwnerPid", "u", get_number, 0, 0),
        SD_BUS_PROPERTY("IommuGroup", "i", get_number, 0, 0),
        SD_BUS_PROPERTY("Passthrough", "b", get_number, 0, 0),
        SD_BUS_PROPERTY("Viable", "b", get_number, 0, 0),
        SD_BUS_VTABLE_END
};

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        sd_event *event = NULL;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: pt-standin BUS-ADDRESS\n");
                return 2;
        }
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, argv[1]);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, NULL, PT_MANAGER_PATH);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, manager_vtable, NULL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, PT_DEVICE_PATH_PREFIX "/_30000_3a01_3a00_2e0",
                                             PT_DEVICE_INTERFACE, device_vtable, NULL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, PT_DEVICE_PATH_PREFIX "/_30000_3a02_3a00_2e0",
                                             PT_DEVICE_INTERFACE, device_vtable, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, PT_BUS_NAME, 0);
        if (r >= 0)
                r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r < 0) {
                fprintf(stderr, "pt-standin: %s\n", strerror(-r));
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        r = sd_event_loop(event);
        sd_bus_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
