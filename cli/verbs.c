/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl's verbs that ask passthrud and print its answer: list, show,
 * hide, unhide, maintenance, assign, unassign, release, reset; and monitor,
 * which prints its signals as they come.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "client.h"
#include "macro.h"
#include "output.h"
#include "passthru-names.h"
#include "passthructl.h"

/* A VF's PF is listed among @devs: the VF goes under it. */
static bool listed_under_pf(const DeviceInfo *devs, size_t n, const DeviceInfo *d) {
        if (!d->physical_function || !*d->physical_function)
                return false;
        for (size_t i = 0; i < n; i++)
                if (devs[i].address && strcmp(devs[i].address, d->physical_function) == 0)
                        return true;
        return false;
}

static void print_list_line(const DeviceInfo *d, bool vf) {
        printf("%s%-*s %04x:%04x %-5d %s%-14s%s %-10s %-12s %s\n", vf ? "  " : "", vf ? 12 : 14, d->address,
               d->vendor, d->device, d->group, state_color(d->state), d->state, color_off(),
               d->driver && *d->driver ? d->driver : "-", d->owner && *d->owner ? d->owner : "-", d->name ?: "");
}

int verb_list(sd_bus *bus, char **args) {
        DeviceInfo *devs = NULL;
        size_t n = 0;
        int r;

        (void) args;
        r = get_devices(bus, &devs, &n);
        if (r < 0)
                return r;
        if (arg_json) {
                json_object *a = json_object_new_array();

                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, device_json(&devs[i]));
                print_json(a);
        } else {
                if (arg_legend)
                        printf("%-14s %-9s %-5s %-14s %-10s %-12s %s\n", "DEVICE", "IDS", "GROUP", "STATE", "DRIVER",
                               "OWNER", "NAME");
                /*
                 * SR-IOV: each PF's VFs right under it, indented; whatever
                 * the PF's count says (it lags behind VFs that just came).
                 */
                for (size_t i = 0; i < n; i++) {
                        if (listed_under_pf(devs, n, &devs[i]))
                                continue;
                        print_list_line(&devs[i], false);
                        for (size_t j = 0; j < n; j++)
                                if (devs[j].physical_function &&
                                    strcmp(devs[j].physical_function, devs[i].address) == 0)
                                        print_list_line(&devs[j], true);
                }
                if (arg_legend)
                        printf("\n%zu devices listed.\n", n);
        }
        device_infos_free(devs, n);
        return 0;
}

static void print_strv_line(const char *label, char **l) {
        printf("%14s: ", label);
        if (!l || !l[0])
                printf("-");
        for (size_t i = 0; l && l[i]; i++)
                printf("%s%s", i ? " " : "", l[i]);
        printf("\n");
}

/* What the last reset did, one method a line, and what would make it enough. */
static void print_reset_results(const DeviceInfo *d) {
        bool quarantined = d->state && strcmp(d->state, PT_DEVICE_STATE_QUARANTINED) == 0;

        if (d->reset_results && d->reset_results[0])
                for (size_t i = 0; d->reset_results[i]; i++)
                        printf("%14s%c %s\n", i == 0 ? "Last reset" : "", i == 0 ? ':' : ' ', d->reset_results[i]);
        else if (quarantined)
                printf("%14s: not recorded since passthrud started; 'passthructl reset %s' tries again\n",
                       "Last reset", d->address);
        if (d->reset_hint && *d->reset_hint)
                printf("%14s: %s (only if that method clears its state), then restart passthrud and run "
                       "'passthructl reset %s'\n", "To trust it", d->reset_hint, d->address);
        else if (quarantined && d->reset_results && d->reset_results[0])
                printf("%14s: no reset method worked; see dmesg, and 'passthructl reset %s' to try again\n",
                       "To use it", d->address);
}

int verb_show(sd_bus *bus, char **args) {
        DeviceInfo d;
        int r;

        r = get_device(bus, args[0], &d);
        if (r < 0)
                return r;
        if (arg_json)
                print_json(device_json(&d));
        else {
                printf("%14s: %s\n", "Device", d.address);
                printf("%14s: %s (%04x:%04x, class %06x)\n", "Name", d.name && *d.name ? d.name : "?", d.vendor,
                       d.device, d.class);
                printf("%14s: %s%s%s\n", "State", state_color(d.state), d.state, color_off());
                /* An available device on vfio-pci is staged (docs/DESIGN.md, "Staged groups"). */
                printf("%14s: %s%s\n", "Driver", d.driver && *d.driver ? d.driver : "-",
                       d.state && strcmp(d.state, PT_DEVICE_STATE_AVAILABLE) == 0 && d.driver &&
                                       strcmp(d.driver, PT_VFIO_DRIVER) == 0
                               ? " (staged: its group's node held by passthrud for the next grant)"
                               : "");
                printf("%14s: %s\n", "Passthrough", d.passthrough ? "yes" : "no");
                if (d.owner && *d.owner)
                        printf("%14s: %s (pid %u)\n", "Owner", d.owner, d.owner_pid);
                printf("%14s: %d\n", "IOMMU group", d.group);
                print_strv_line("Group devices", d.group_devices);
                printf("%14s: %s\n", "Viable", d.viable ? "yes" : "no");
                print_strv_line("Assigned to", d.assignments);
                print_strv_line("Reset methods", d.reset_methods);
                print_reset_results(&d);
                printf("%14s: %s, MSI %s, MSI-X %s\n", "Bus", d.pcie ? "PCI Express" : "conventional PCI",
                       d.msi ? "yes" : "no", d.msix ? "yes" : "no");
                if (d.physical_function && *d.physical_function)
                        printf("%14s: a VF of %s\n", "SR-IOV", d.physical_function);
                else if (d.total_vfs > 0) {
                        printf("%14s: a PF, %u of %u VFs\n", "SR-IOV", d.num_vfs, d.total_vfs);
                        print_strv_line("VFs", d.virtual_functions);
                }
        }
        device_info_done(&d);
        return 0;
}

/* SetPassthrough: hide and unhide. */
static int set_passthrough(sd_bus *bus, char **args, bool enable) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int reboot = 0, r;

        r = call(bus, args[0], "SetPassthrough", &reply, "sba{sv}", args[0], enable, 2, "Live", "b", arg_live, "Force",
                 "b", arg_force);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &reboot);
        if (r < 0)
                return -EBADMSG;
        if (!enable)
                printf("%s is no longer marked for passthrough; it stays without a driver until you bind one "
                       "(or reboot).\n", args[0]);
        else if (reboot)
                printf("%s is marked for passthrough; a host driver holds it until the next boot "
                       "(or run 'passthructl hide --live %s').\n", args[0], args[0]);
        else
                printf("%s is kept by passthru and can be leased.\n", args[0]);
        return 0;
}

/* SetNumVFs: passthructl sriov PF COUNT. */
int verb_sriov(sd_bus *bus, char **args) {
        unsigned long n;
        char *end;
        int r;

        errno = 0;
        n = strtoul(args[1], &end, 10);
        if (!*args[1] || *args[1] < '0' || *args[1] > '9' || *end || errno != 0 || n > UINT32_MAX) {
                fprintf(stderr, "passthructl: '%s' is not a number of VFs\n", args[1]);
                return -EINVAL;
        }
        r = call(bus, args[0], "SetNumVFs", NULL, "su", args[0], (uint32_t) n);
        if (r < 0)
                return r;
        if (n == 0)
                printf("%s has no VFs now, and none are made at the next start.\n", args[0]);
        else
                printf("%s has %lu VFs now, each hidden by passthru ('passthructl list' shows them under it); "
                       "passthrud makes them again at each start.\n", args[0], n);
        return 0;
}

int verb_hide(sd_bus *bus, char **args) {
        return set_passthrough(bus, args, true);
}

int verb_unhide(sd_bus *bus, char **args) {
        return set_passthrough(bus, args, false);
}

int verb_maintenance(sd_bus *bus, char **args) {
        int on = 0, r;

        if (strcmp(args[0], "status") == 0) {
                int asked = 0;

                r = get_bool_property(bus, "MaintenanceMode", &on);
                if (r < 0)
                        return r;
                /* An older passthrud has no such property: nothing asked for, as far as it says. */
                if (sd_bus_get_property_trivial(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE,
                                                "MaintenanceRequested", NULL, 'b', &asked) < 0)
                        asked = 0;
                if (arg_json) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "maintenance", json_object_new_boolean(on));
                        json_object_object_add(o, "requested", json_object_new_boolean(!on && asked));
                        print_json(o);
                } else
                        printf("Maintenance mode: %s\n", on ? "on" : asked ? "off, asked for: no new lease until "
                               "the active ones end and 'maintenance enter' succeeds, or 'maintenance exit'" : "off");
                return 0;
        }
        if (strcmp(args[0], "enter") != 0 && strcmp(args[0], "exit") != 0) {
                fprintf(stderr, "passthructl: maintenance takes enter, exit or status\n");
                return -EINVAL;
        }
        return call(bus, "maintenance mode",
                    strcmp(args[0], "enter") == 0 ? "EnterMaintenanceMode" : "ExitMaintenanceMode", NULL, NULL);
}

/* Assign and Unassign. */
static int assignment(sd_bus *bus, char **args, const char *method) {
        return call(bus, args[0], method, NULL, "ss", args[0], args[1]);
}

int verb_assign(sd_bus *bus, char **args) {
        return assignment(bus, args, "Assign");
}

int verb_unassign(sd_bus *bus, char **args) {
        return assignment(bus, args, "Unassign");
}

int verb_release(sd_bus *bus, char **args) {
        return call(bus, "release", "Release", NULL, "s", args[0]);
}

int verb_reset(sd_bus *bus, char **args) {
        int r = call(bus, args[0], "Reset", NULL, "s", args[0]);

        if (r < 0)
                return r;
        printf("%s was reset and is available.\n", args[0]);
        return 0;
}

/*
 * Who may be heard.  On the system bus anyone may send the monitor a
 * signal that looks like passthrud's (sd-bus cannot hold a match to a
 * well-known sender): only those of the connection that owns
 * org.passthru1 count, as dbus-daemon itself says it.  On passthrud's
 * socket only passthrud is there.
 */
typedef struct Monitor {
        bool on_bus;
        char *owner;            /* org.passthru1's unique name; NULL: nobody's (none heard) */
} Monitor;

static void monitor_set_owner(Monitor *mon, const char *owner) {
        free(mon->owner);
        mon->owner = owner && *owner ? strdup(owner) : NULL;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(m), *name, *old_owner, *new_owner;

        (void) error;
        if (!sender || strcmp(sender, "org.freedesktop.DBus") != 0 ||
            sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, PT_BUS_NAME) != 0)
                return 0;
        monitor_set_owner(userdata, new_owner);
        return 0;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m), *sender = sd_bus_message_get_sender(m), *a = "", *b = "",
                   *c = "";
        Monitor *mon = userdata;
        char stamp[32];
        time_t now = time(NULL);
        uint32_t pid = 0;

        (void) error;
        if (mon->on_bus && (!sender || !mon->owner || strcmp(sender, mon->owner) != 0))
                return 0;
        strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
        if (strcmp(member, "LeaseAcquired") == 0 || strcmp(member, "LeaseRevoked") == 0) {
                if (sd_bus_message_read(m, "ssu", &a, &b, &pid) >= 0)
                        printf("%s %s device %s, VM %s, pid %u\n", stamp, member, printable(strdupa(a)),
                               printable(strdupa(b)), pid);
        } else if (strcmp(member, "LeaseReleased") == 0) {
                if (sd_bus_message_read(m, "sss", &a, &b, &c) >= 0)
                        printf("%s %s device %s, VM %s, reason %s\n", stamp, member, printable(strdupa(a)),
                               printable(strdupa(b)), printable(strdupa(c)));
        } else if (strcmp(member, "InterfacesAdded") == 0 || strcmp(member, "InterfacesRemoved") == 0) {
                _cleanup_free_ char *address = NULL;

                if (sd_bus_message_read(m, "o", &a) >= 0 &&
                    sd_bus_path_decode(a, PT_DEVICE_PATH_PREFIX, &address) > 0)
                        printf("%s %s %s\n", stamp, member[10] == 'A' ? "DeviceAdded" : "DeviceRemoved",
                               printable(address));
        } else if (strcmp(member, "PropertiesChanged") == 0) {
                _cleanup_free_ char *address = NULL;
                DeviceInfo d = { .group = -1 };

                if (sd_bus_path_decode(sd_bus_message_get_path(m), PT_DEVICE_PATH_PREFIX, &address) > 0 &&
                    sd_bus_message_read(m, "s", &a) >= 0 && device_info_read_some(m, &d) >= 0 && d.state)
                        printf("%s StateChanged %s %s%s%s%s%s\n", stamp, printable(address), printable(d.state),
                               d.driver ? " driver " : "", d.driver ? printable(d.driver) : "",
                               d.owner && *d.owner ? " owner " : "", d.owner && *d.owner ? printable(d.owner) : "");
                device_info_done(&d);
        }
        fflush(stdout);
        return 0;
}

int verb_monitor(sd_bus *bus, char **args) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        Monitor mon = {};
        int r = 0;

        (void) args;
        mon.on_bus = sd_bus_is_bus_client(bus) > 0;
        if (mon.on_bus) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *owner;

                /* The watch first, then the owner now: a change between the two is heard. */
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, &mon);
                if (r >= 0 && sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                 "org.freedesktop.DBus", "GetNameOwner", &error, &reply, "s",
                                                 PT_BUS_NAME) >= 0 &&
                    sd_bus_message_read(reply, "s", &owner) > 0)
                        monitor_set_owner(&mon, owner);
        }
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, PT_BUS_NAME, NULL, NULL, NULL, on_signal, &mon);
        if (r >= 0)
                r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_set_signal_exit(event, true);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r < 0) {
                fprintf(stderr, "passthructl: cannot listen to passthrud: %s\n", strerror(-r));
                free(mon.owner);
                return -EIO;    /* whatever sd-bus said, the status is "failed" */
        }
        printf("Monitoring passthrud; Ctrl-C stops.\n");
        fflush(stdout);
        r = sd_event_loop(event);
        free(mon.owner);
        return r < 0 ? -EIO : 0;
}
