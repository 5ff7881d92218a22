/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl: manage PCI passthrough through passthrud's D-Bus API.
 * A client of org.passthru1 only; see passthructl(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/vfio.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "passthru-names.h"
#include "strv.h"

/* Exit codes, documented in passthructl(1). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,        /* the daemon refused or the operation failed */
        EXIT_USAGE = 2,
        EXIT_CHECK = 3,         /* check: passthrough cannot work here */
        EXIT_DENIED = 4,        /* not allowed */
        EXIT_NO_DEVICE = 5,     /* no such device */
        EXIT_NO_DAEMON = 6,     /* passthrud not reachable */
};

/* The options each verb takes; any other given is refused (main()). */
typedef enum VerbOption {
        OPT_JSON = 1 << 0,
        OPT_LIVE = 1 << 1,
        OPT_FORCE = 1 << 2,
        OPT_RUN = 1 << 3,               /* --device --vm --memory --open-node --pass-fd */
        OPT_NO_LEGEND = 1 << 4,
        _OPT_COUNT = 5,
} VerbOption;

static unsigned arg_given = 0;
static const char *arg_given_name[_OPT_COUNT];
static bool arg_legend = true;
static bool arg_json = false;
static bool arg_live = false;
static bool arg_force = false;
static char **arg_devices = NULL;
static const char *arg_vm = NULL;
static uint64_t arg_memory = 0;
static int arg_open_node = -1;  /* -1: decide from the command */

typedef struct DeviceInfo {
        char *path;
        char *address, *state, *driver, *owner, *name, *reset_hint;
        uint16_t vendor, device;
        uint32_t class, owner_pid;
        int32_t group;
        bool passthrough, viable, pcie, msi, msix;
        char **group_devices, **assignments, **reset_methods, **reset_results;
} DeviceInfo;

static void device_info_done(DeviceInfo *d) {
        free(d->path);
        free(d->address);
        free(d->state);
        free(d->driver);
        free(d->owner);
        free(d->name);
        free(d->reset_hint);
        strv_free(d->group_devices);
        strv_free(d->assignments);
        strv_free(d->reset_methods);
        strv_free(d->reset_results);
}

static void device_infos_free(DeviceInfo *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                device_info_done(&d[i]);
        free(d);
}

static bool use_color(void) {
        static int cached = -1;

        if (cached < 0)
                cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
                         !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
        return cached;
}

static const char *state_color(const char *state) {
        if (!use_color())
                return "";
        if (strcmp(state, "available") == 0)
                return "\033[32m";
        if (strcmp(state, "leased") == 0 || strcmp(state, "releasing") == 0)
                return "\033[33m";
        if (strcmp(state, "quarantined") == 0 || strcmp(state, "mismatch") == 0 ||
            strcmp(state, "pending-reboot") == 0)
                return "\033[31m";
        return "";
}

static const char *color_off(void) {
        return use_color() ? "\033[0m" : "";
}

/* Report a failed call with a hint at what to do, and pick the exit code. */
static int report(const char *what, const sd_bus_error *e, int r) {
        const char *name = e && e->name ? e->name : "";

        fprintf(stderr, "passthructl: %s: %s\n", what, e && e->message ? e->message : strerror(-r));
        if (strcmp(name, SD_BUS_ERROR_ACCESS_DENIED) == 0) {
                const char *message = e && e->message ? e->message : "";

                /* Only the refusals about who the caller is get a hint about who to be. */
                if (strstr(message, "members of group"))
                        fprintf(stderr, "Hint: run it as root, or join that group (usermod -aG GROUP USER) and log in again.\n");
                else if (strstr(message, "not permitted") || strstr(message, "root only"))
                        fprintf(stderr, "Hint: run it as root.\n");
                return EXIT_DENIED;
        }
        if (strcmp(name, SD_BUS_ERROR_SERVICE_UNKNOWN) == 0 || strcmp(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) == 0 ||
            r == -ENOENT || r == -ECONNREFUSED) {
                fprintf(stderr, "Hint: is passthrud running? Try 'systemctl status passthrud'.\n");
                return EXIT_NO_DAEMON;
        }
        if (strcmp(name, PT_ERROR_NO_SUCH_DEVICE) == 0 || strcmp(name, SD_BUS_ERROR_UNKNOWN_OBJECT) == 0) {
                fprintf(stderr, "Hint: 'passthructl list' shows the devices passthrud knows.\n");
                return EXIT_NO_DEVICE;
        }
        if (strcmp(name, PT_ERROR_NOT_IN_MAINTENANCE) == 0)
                fprintf(stderr, "Hint: 'passthructl maintenance enter' first.\n");
        else if (strcmp(name, PT_ERROR_LEASES_ACTIVE) == 0)
                fprintf(stderr, "Hint: 'passthructl list' shows the leases; 'passthructl release DEVICE' ends one.\n");
        else if (strcmp(name, PT_ERROR_IOMMU_UNAVAILABLE) == 0)
                fprintf(stderr, "Hint: 'passthructl check' tells what is missing.\n");
        return EXIT_FAILED;
}

static int connect_bus(sd_bus **ret) {
        int r = sd_bus_default_system(ret);

        if (r < 0) {
                fprintf(stderr, "passthructl: cannot connect to the system bus: %s\n", strerror(-r));
                return -EXIT_NO_DAEMON;
        }
        return 0;
}

/* "01:00.0" -> "0000:01:00.0"; the daemon checks it again. */
static int normalize_address(const char *in, char out[13]) {
        unsigned d = 0, b, s, f;
        int n = 0;

        if (sscanf(in, "%4x:%2x:%2x.%1x%n", &d, &b, &s, &f, &n) == 4 && in[n] == '\0')
                ;
        else if (d = 0, n = 0, sscanf(in, "%2x:%2x.%1x%n", &b, &s, &f, &n) == 3 && in[n] == '\0')
                ;
        else
                return -EINVAL;
        if (s > 0x1f || f > 7)
                return -EINVAL;
        snprintf(out, 13, "%04x:%02x:%02x.%x", d, b, s, f);
        return 0;
}

static int device_path(const char *arg, char **ret) {
        char address[13];

        if (normalize_address(arg, address) < 0) {
                fprintf(stderr, "passthructl: '%s' is not a PCI address (DDDD:BB:SS.F or BB:SS.F)\n", arg);
                return -EINVAL;
        }
        return sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, address, ret);
}

static int read_strv(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        const char *s;
        int r;

        if (!l)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "s", &s)) > 0)
                if (strv_extend(&l, s) < 0)
                        return -ENOMEM;
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_string(sd_bus_message *m, char **ret) {
        const char *s;
        int r = sd_bus_message_read(m, "s", &s);

        if (r < 0)
                return r;
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* One property of an a{sv}, into the struct; unknown names are skipped. */
static int read_property(sd_bus_message *m, const char *name, DeviceInfo *d) {
        int b = 0, r;

#define STR(n, f) if (strcmp(name, n) == 0) return sd_bus_message_enter_container(m, 'v', "s") < 0 ? -EBADMSG : (r = read_string(m, &d->f)) < 0 ? r : sd_bus_message_exit_container(m)
#define STRV(n, f) if (strcmp(name, n) == 0) return sd_bus_message_enter_container(m, 'v', "as") < 0 ? -EBADMSG : (r = read_strv(m, &d->f)) < 0 ? r : sd_bus_message_exit_container(m)
#define BOOL(n, f) if (strcmp(name, n) == 0) { r = sd_bus_message_read(m, "v", "b", &b); d->f = b; return r; }
        STR("Address", address);
        STR("State", state);
        STR("Driver", driver);
        STR("Owner", owner);
        STR("Name", name);
        STR("ResetHint", reset_hint);
        STRV("GroupDevices", group_devices);
        STRV("Assignments", assignments);
        STRV("ResetMethods", reset_methods);
        STRV("ResetResults", reset_results);
        BOOL("Passthrough", passthrough);
        BOOL("Viable", viable);
        BOOL("Pcie", pcie);
        BOOL("Msi", msi);
        BOOL("MsiX", msix);
#undef STR
#undef STRV
#undef BOOL
        if (strcmp(name, "VendorId") == 0)
                return sd_bus_message_read(m, "v", "q", &d->vendor);
        if (strcmp(name, "DeviceId") == 0)
                return sd_bus_message_read(m, "v", "q", &d->device);
        if (strcmp(name, "Class") == 0)
                return sd_bus_message_read(m, "v", "u", &d->class);
        if (strcmp(name, "OwnerPid") == 0)
                return sd_bus_message_read(m, "v", "u", &d->owner_pid);
        if (strcmp(name, "IommuGroup") == 0)
                return sd_bus_message_read(m, "v", "i", &d->group);
        return sd_bus_message_skip(m, "v");
}

static int read_properties(sd_bus_message *m, DeviceInfo *d) {
        const char *name;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0)
                        r = read_property(m, name, d);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int compare_devices(const void *a, const void *b) {
        return strcmp(((const DeviceInfo *) a)->address ?: "", ((const DeviceInfo *) b)->address ?: "");
}

/* Every device, from the object manager: readable by anyone. */
static int get_devices(sd_bus *bus, DeviceInfo **ret, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        DeviceInfo *list = NULL;
        const char *path, *iface;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0)
                return -report("cannot list devices", &error, r);
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r >= 0 && strcmp(iface, PT_DEVICE_INTERFACE) == 0) {
                                DeviceInfo *a = reallocarray(list, n + 1, sizeof(DeviceInfo));

                                if (!a) {
                                        r = -ENOMEM;
                                        break;
                                }
                                list = a;
                                list[n] = (DeviceInfo) { .group = -1, .path = strdup(path) };
                                r = read_properties(reply, &list[n++]);
                        } else if (r >= 0)
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                device_infos_free(list, n);
                fprintf(stderr, "passthructl: bad answer from passthrud: %s\n", strerror(-r));
                return -EXIT_FAILED;
        }
        qsort(list, n, sizeof(DeviceInfo), compare_devices);
        *ret = list;
        *ret_n = n;
        return 0;
}

static int get_device(sd_bus *bus, const char *arg, DeviceInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (device_path(arg, &path) < 0)
                return -EXIT_USAGE;
        r = sd_bus_call_method(bus, PT_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply,
                               "s", PT_DEVICE_INTERFACE);
        if (r < 0)
                return -report(arg, &error, r);
        *ret = (DeviceInfo) { .group = -1, .path = TAKE_PTR(path) };
        r = read_properties(reply, ret);
        if (r < 0) {
                fprintf(stderr, "passthructl: bad answer from passthrud: %s\n", strerror(-r));
                return -EXIT_FAILED;
        }
        return 0;
}

static json_object *json_strv(char **l) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; l && l[i]; i++)
                json_object_array_add(a, json_object_new_string(l[i]));
        return a;
}

static json_object *device_json(const DeviceInfo *d) {
        json_object *o = json_object_new_object();
        char ids[16];

        snprintf(ids, sizeof(ids), "%04x:%04x", d->vendor, d->device);
        json_object_object_add(o, "address", json_object_new_string(d->address ?: ""));
        json_object_object_add(o, "ids", json_object_new_string(ids));
        json_object_object_add(o, "name", json_object_new_string(d->name ?: ""));
        json_object_object_add(o, "class", json_object_new_int64(d->class));
        json_object_object_add(o, "state", json_object_new_string(d->state ?: ""));
        json_object_object_add(o, "driver", json_object_new_string(d->driver ?: ""));
        json_object_object_add(o, "passthrough", json_object_new_boolean(d->passthrough));
        json_object_object_add(o, "iommu_group", json_object_new_int(d->group));
        json_object_object_add(o, "group_devices", json_strv(d->group_devices));
        json_object_object_add(o, "viable", json_object_new_boolean(d->viable));
        json_object_object_add(o, "owner", json_object_new_string(d->owner ?: ""));
        json_object_object_add(o, "owner_pid", json_object_new_int64(d->owner_pid));
        json_object_object_add(o, "assignments", json_strv(d->assignments));
        json_object_object_add(o, "reset_methods", json_strv(d->reset_methods));
        json_object_object_add(o, "reset_results", json_strv(d->reset_results));
        json_object_object_add(o, "reset_hint", json_object_new_string(d->reset_hint ?: ""));
        json_object_object_add(o, "pcie", json_object_new_boolean(d->pcie));
        json_object_object_add(o, "msi", json_object_new_boolean(d->msi));
        json_object_object_add(o, "msix", json_object_new_boolean(d->msix));
        return o;
}

static void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

static int verb_list(sd_bus *bus, char **args) {
        DeviceInfo *devs = NULL;
        size_t n = 0;
        int r;

        (void) args;
        r = get_devices(bus, &devs, &n);
        if (r < 0)
                return -r;
        if (arg_json) {
                json_object *a = json_object_new_array();

                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, device_json(&devs[i]));
                print_json(a);
        } else {
                if (arg_legend)
                        printf("%-12s %-9s %-5s %-14s %-10s %-12s %s\n", "DEVICE", "IDS", "GROUP", "STATE", "DRIVER",
                               "OWNER", "NAME");
                for (size_t i = 0; i < n; i++) {
                        const DeviceInfo *d = &devs[i];

                        printf("%-12s %04x:%04x %-5d %s%-14s%s %-10s %-12s %s\n", d->address, d->vendor, d->device,
                               d->group, state_color(d->state), d->state, color_off(),
                               d->driver && *d->driver ? d->driver : "-", d->owner && *d->owner ? d->owner : "-",
                               d->name ?: "");
                }
                if (arg_legend)
                        printf("\n%zu devices listed.\n", n);
        }
        device_infos_free(devs, n);
        return EXIT_OK;
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
        bool quarantined = d->state && strcmp(d->state, "quarantined") == 0;

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

static int verb_show(sd_bus *bus, char **args) {
        DeviceInfo d;
        int r;

        r = get_device(bus, args[0], &d);
        if (r < 0)
                return -r;
        if (arg_json)
                print_json(device_json(&d));
        else {
                printf("%14s: %s\n", "Device", d.address);
                printf("%14s: %s (%04x:%04x, class %06x)\n", "Name", d.name && *d.name ? d.name : "?", d.vendor,
                       d.device, d.class);
                printf("%14s: %s%s%s\n", "State", state_color(d.state), d.state, color_off());
                printf("%14s: %s\n", "Driver", d.driver && *d.driver ? d.driver : "-");
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
        }
        device_info_done(&d);
        return EXIT_OK;
}

static int call(sd_bus *bus, const char *what, const char *method, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, reply);
        if (r < 0)
                return -report(what, &error, r);
        return 0;
}

static int verb_hide(sd_bus *bus, char **args, bool enable) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int reboot = 0, r;

        r = call(bus, args[0], "SetPassthrough", &reply, "sba{sv}", args[0], enable, 2, "Live", "b", arg_live, "Force",
                 "b", arg_force);
        if (r < 0)
                return -r;
        r = sd_bus_message_read(reply, "b", &reboot);
        if (r < 0)
                return EXIT_FAILED;
        if (!enable)
                printf("%s is no longer marked for passthrough; it stays without a driver until you bind one "
                       "(or reboot).\n", args[0]);
        else if (reboot)
                printf("%s is marked for passthrough; a host driver holds it until the next boot "
                       "(or run 'passthructl hide --live %s').\n", args[0], args[0]);
        else
                printf("%s is kept by passthru and can be leased.\n", args[0]);
        return EXIT_OK;
}

static int verb_hide_on(sd_bus *bus, char **args) {
        return verb_hide(bus, args, true);
}

static int verb_unhide(sd_bus *bus, char **args) {
        return verb_hide(bus, args, false);
}

static int get_bool_property(sd_bus *bus, const char *name, int *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_trivial(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, name, &error, 'b', ret);
        if (r < 0)
                return -report(name, &error, r);
        return 0;
}

static int verb_maintenance(sd_bus *bus, char **args) {
        int on = 0, r;

        if (strcmp(args[0], "status") == 0) {
                r = get_bool_property(bus, "MaintenanceMode", &on);
                if (r < 0)
                        return -r;
                if (arg_json) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "maintenance", json_object_new_boolean(on));
                        print_json(o);
                } else
                        printf("Maintenance mode: %s\n", on ? "on" : "off");
                return EXIT_OK;
        }
        if (strcmp(args[0], "enter") != 0 && strcmp(args[0], "exit") != 0) {
                fprintf(stderr, "passthructl: maintenance takes enter, exit or status\n");
                return EXIT_USAGE;
        }
        r = call(bus, "maintenance mode", args[0][0] == 'e' && args[0][1] == 'n' ? "EnterMaintenanceMode"
                                                                                 : "ExitMaintenanceMode",
                 NULL, NULL);
        return r < 0 ? -r : EXIT_OK;
}

static int verb_assign(sd_bus *bus, char **args, const char *method) {
        int r = call(bus, args[0], method, NULL, "ss", args[0], args[1]);

        return r < 0 ? -r : EXIT_OK;
}

static int verb_assign_on(sd_bus *bus, char **args) {
        return verb_assign(bus, args, "Assign");
}

static int verb_unassign(sd_bus *bus, char **args) {
        return verb_assign(bus, args, "Unassign");
}

static int verb_release(sd_bus *bus, char **args) {
        int r = call(bus, "release", "Release", NULL, "s", args[0]);

        return r < 0 ? -r : EXIT_OK;
}

static int verb_reset(sd_bus *bus, char **args) {
        int r = call(bus, args[0], "Reset", NULL, "s", args[0]);

        if (r < 0)
                return -r;
        printf("%s was reset and is available.\n", args[0]);
        return EXIT_OK;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m), *a = "", *b = "", *c = "";
        char stamp[32];
        time_t now = time(NULL);
        uint32_t pid = 0;

        (void) userdata;
        (void) error;
        strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
        if (strcmp(member, "LeaseAcquired") == 0 || strcmp(member, "LeaseRevoked") == 0) {
                if (sd_bus_message_read(m, "ssu", &a, &b, &pid) >= 0)
                        printf("%s %s device %s, VM %s, pid %u\n", stamp, member, a, b, pid);
        } else if (strcmp(member, "LeaseReleased") == 0) {
                if (sd_bus_message_read(m, "sss", &a, &b, &c) >= 0)
                        printf("%s %s device %s, VM %s, reason %s\n", stamp, member, a, b, c);
        } else if (strcmp(member, "InterfacesAdded") == 0 || strcmp(member, "InterfacesRemoved") == 0) {
                _cleanup_free_ char *address = NULL;

                if (sd_bus_message_read(m, "o", &a) >= 0 &&
                    sd_bus_path_decode(a, PT_DEVICE_PATH_PREFIX, &address) > 0)
                        printf("%s %s %s\n", stamp, member[10] == 'A' ? "DeviceAdded" : "DeviceRemoved", address);
        } else if (strcmp(member, "PropertiesChanged") == 0) {
                _cleanup_free_ char *address = NULL;
                DeviceInfo d = { .group = -1 };

                if (sd_bus_path_decode(sd_bus_message_get_path(m), PT_DEVICE_PATH_PREFIX, &address) > 0 &&
                    sd_bus_message_read(m, "s", &a) >= 0 && read_properties(m, &d) >= 0 && d.state)
                        printf("%s StateChanged %s %s%s%s%s%s\n", stamp, address, d.state,
                               d.driver ? " driver " : "", d.driver ?: "", d.owner && *d.owner ? " owner " : "",
                               d.owner && *d.owner ? d.owner : "");
                device_info_done(&d);
        }
        fflush(stdout);
        return 0;
}

static int verb_monitor(sd_bus *bus, char **args) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        (void) args;
        r = sd_bus_match_signal(bus, NULL, PT_BUS_NAME, NULL, NULL, NULL, on_signal, NULL);
        if (r >= 0)
                r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_set_signal_exit(event, true);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r < 0) {
                fprintf(stderr, "passthructl: cannot listen to passthrud: %s\n", strerror(-r));
                return EXIT_FAILED;
        }
        printf("Monitoring passthrud; Ctrl-C stops.\n");
        fflush(stdout);
        r = sd_event_loop(event);
        return r < 0 ? EXIT_FAILED : EXIT_OK;
}

/* ---- run ---- */

static pid_t child_pid;

static void forward_signal(int sig) {
        if (child_pid > 0)
                kill(child_pid, sig);
}

static bool command_opens_node(const char *cmd) {
        const char *base = strrchr(cmd, '/');

        base = base ? base + 1 : cmd;
        return strncmp(base, "qemu-system-", 12) == 0;
}

static int verb_run(sd_bus *bus, char **args) {
        _cleanup_strv_free_ char **groups = calloc(1, sizeof(char *)), **fds = calloc(1, sizeof(char *));
        _cleanup_free_ char *groups_env = NULL, *fds_env = NULL;
        bool open_node;
        pid_t parent_pid;
        int status, r;

        if (!arg_vm || !arg_devices || !arg_devices[0]) {
                fprintf(stderr, "passthructl: run needs --vm NAME and at least one --device\n");
                return EXIT_USAGE;
        }
        if (!groups || !fds)
                return EXIT_FAILED;
        open_node = arg_open_node >= 0 ? arg_open_node : command_opens_node(args[0]);

        for (char **d = arg_devices; *d; d++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                DeviceInfo info;
                char num[16];
                int fd;

                r = get_device(bus, *d, &info);
                if (r < 0)
                        return -r;
                snprintf(num, sizeof(num), "%d", info.group);
                device_info_done(&info);
                if (strv_contains(groups, num))
                        continue;       /* same IOMMU group: one lease covers both */
                if (open_node)
                        r = call(bus, "acquire", "Acquire", &reply, "ssa{sv}", *d, arg_vm, arg_memory > 0 ? 2 : 1,
                                 "DeviceNodeOwner", "u", (uint32_t) getuid(), "MemoryBytes", "t", arg_memory);
                else if (arg_memory > 0)
                        r = call(bus, "acquire", "Acquire", &reply, "ssa{sv}", *d, arg_vm, 1, "MemoryBytes", "t",
                                 arg_memory);
                else
                        r = call(bus, "acquire", "Acquire", &reply, "ssa{sv}", *d, arg_vm, 0);
                if (r < 0)
                        return -r;
                if (sd_bus_message_read(reply, "h", &fd) < 0 || (fd = fcntl(fd, F_DUPFD, 3)) < 0) {
                        fprintf(stderr, "passthructl: no group fd in the answer\n");
                        return EXIT_FAILED;
                }
                if (open_node)
                        close(fd);      /* the VMM opens /dev/vfio/N itself */
                else {
                        char fdnum[16];
                        snprintf(fdnum, sizeof(fdnum), "%d", fd);
                        if (strv_extend(&fds, fdnum) < 0)
                                return EXIT_FAILED;
                }
                if (strv_extend(&groups, num) < 0)
                        return EXIT_FAILED;
                fprintf(stderr, "Leased %s (IOMMU group %s) for VM %s%s\n", *d, num, arg_vm,
                        open_node ? ", /dev/vfio node handed to you" : "");
        }
        groups_env = strv_join(groups, " ");
        fds_env = strv_join(fds, " ");
        if (!groups_env || !fds_env)
                return EXIT_FAILED;
        setenv("PASSTHRU_GROUPS", groups_env, 1);
        setenv("PASSTHRU_GROUP_FDS", fds_env, 1);
        setenv("PASSTHRU_VM", arg_vm, 1);

        /*
         * passthructl stays the lease holder: the lease ends when it exits.
         * The VMM dies with it (a revocation that kills the holder ends the
         * VMM too), and whatever the VMM forks stays below passthructl, where
         * passthrud looks for the group's holders.
         */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                fprintf(stderr, "passthructl: cannot become a subreaper, ignoring: %m\n");
        parent_pid = getpid();
        child_pid = fork();
        if (child_pid < 0) {
                fprintf(stderr, "passthructl: fork: %m\n");
                return EXIT_FAILED;
        }
        if (child_pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent_pid)
                        _exit(127);     /* passthructl is already gone: so is the lease */
                execvp(args[0], args);
                fprintf(stderr, "passthructl: cannot run %s: %m\n", args[0]);
                _exit(127);
        }
        signal(SIGINT, forward_signal);
        signal(SIGTERM, forward_signal);
        signal(SIGHUP, forward_signal);
        while (waitpid(child_pid, &status, 0) < 0)
                if (errno != EINTR)
                        return EXIT_FAILED;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- check ---- */

static bool file_contains(const char *path, const char *needle) {
        char line[4096];
        bool found = false;
        FILE *f = fopen(path, "re");

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

/* Read-only looks at the host, for what the bus API does not carry. */
static char *iommu_source(void) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);
        DIR *d = opendir("/sys/class/iommu");
        struct dirent *de;
        bool any = false;

        if (!f)
                return NULL;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.') {
                        fprintf(f, "%s%s", any ? " " : "/sys/class/iommu: ", de->d_name);
                        any = true;
                }
        if (d)
                closedir(d);
        if (!any)
                fprintf(f, "no IOMMU in /sys/class/iommu");
        if (file_contains("/proc/cmdline", "intel_iommu=on"))
                fprintf(f, "; kernel command line has intel_iommu=on");
        else if (file_contains("/proc/cmdline", "amd_iommu="))
                fprintf(f, "; kernel command line sets amd_iommu=");
        fclose(f);
        return s;
}

static bool module_present(const char *name) {
        char path[256], mod[64];
        struct utsname u;

        snprintf(path, sizeof(path), "/sys/module/%s", name);
        if (access(path, F_OK) == 0)
                return true;
        if (uname(&u) < 0)
                return false;
        snprintf(mod, sizeof(mod), "/%s.ko", name);
        for (char *p = mod; *p; p++)
                if (*p == '_')
                        *p = '-';
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
        if (file_contains(path, mod))
                return true;
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
        return file_contains(path, mod);
}

static char *member_driver(const char *address) {
        char path[128], link[256];
        ssize_t k;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", address);
        k = readlink(path, link, sizeof(link) - 1);
        if (k < 0)
                return strdup("none");
        link[k] = '\0';
        return strdup(strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
}

static json_object *bars_json(const char *address, FILE *out) {
        json_object *a = json_object_new_array();
        unsigned long long start, end, flags;
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", address);
        f = fopen(path, "re");
        for (int i = 0; f && i < 6 && fscanf(f, "%llx %llx %llx", &start, &end, &flags) == 3; i++) {
                json_object *o;
                unsigned long long size;

                if (end <= start)
                        continue;
                size = end - start + 1;
                o = json_object_new_object();
                json_object_object_add(o, "index", json_object_new_int(i));
                json_object_object_add(o, "size", json_object_new_int64((int64_t) size));
                json_object_object_add(o, "type", json_object_new_string(flags & 0x100 ? "io" : "memory"));
                json_object_object_add(o, "prefetchable", json_object_new_boolean(flags & 0x2000));
                json_object_array_add(a, o);
                if (out)
                        fprintf(out, "%sBAR%d %s %llu%s%s", i ? ", " : "", i, flags & 0x100 ? "io" : "mem",
                                size >= 1024 ? size / 1024 : size, size >= 1024 ? " KiB" : " B",
                                flags & 0x2000 ? " prefetchable" : "");
        }
        if (f)
                fclose(f);
        return a;
}

static const char *mark(bool ok) {
        return ok ? (use_color() ? "\033[32mok\033[0m" : "ok") : (use_color() ? "\033[31mFAIL\033[0m" : "FAIL");
}

static int verb_check(sd_bus *bus, char **args) {
        _cleanup_free_ char *source = iommu_source();
        json_object *report_json = json_object_new_object(), *jdevs = json_object_new_array();
        bool iommu_ok, ir_ok, unsafe, vfio_ok, problems = false;
        int iommu = 0, r;
        DeviceInfo *devs = NULL;
        size_t n = 0;

        (void) args;
        r = get_bool_property(bus, "IommuEnabled", &iommu);
        if (r < 0) {
                json_object_put(report_json);
                json_object_put(jdevs);
                return -r;
        }
        iommu_ok = iommu;
        ir_ok = file_contains("/proc/interrupts", "IR-");
        unsafe = file_contains("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y");
        vfio_ok = module_present("vfio_pci") && module_present("vfio_iommu_type1");

        json_object_object_add(report_json, "iommu", json_object_new_boolean(iommu_ok));
        json_object_object_add(report_json, "iommu_source", json_object_new_string(source ?: ""));
        json_object_object_add(report_json, "interrupt_remapping", json_object_new_boolean(ir_ok));
        json_object_object_add(report_json, "allow_unsafe_interrupts", json_object_new_boolean(unsafe));
        json_object_object_add(report_json, "vfio", json_object_new_boolean(vfio_ok));
        if (!arg_json) {
                printf("%-4s IOMMU %s (%s)\n", mark(iommu_ok), iommu_ok ? "enabled" : "disabled: boot with intel_iommu=on or amd_iommu=on",
                       source ?: "?");
                printf("%-4s Interrupt remapping %s\n", mark(ir_ok && !unsafe),
                       ir_ok ? (unsafe ? "in force, but vfio_iommu_type1 allow_unsafe_interrupts is set" : "in force (IR- in /proc/interrupts)")
                             : "not in force: a VM could forge interrupts");
                printf("%-4s VFIO modules %s\n", mark(vfio_ok), vfio_ok ? "vfio-pci and vfio_iommu_type1 present" : "missing: vfio-pci or vfio_iommu_type1");
        }
        problems = !iommu_ok || !ir_ok || unsafe || !vfio_ok;

        r = get_devices(bus, &devs, &n);
        if (r < 0) {
                json_object_put(report_json);
                json_object_put(jdevs);
                return -r;
        }
        for (size_t i = 0; i < n; i++) {
                DeviceInfo *d = &devs[i];
                json_object *o, *members = json_object_new_array();
                _cleanup_free_ char *why = NULL;
                char *bars = NULL;
                size_t blen = 0;
                FILE *bf;

                if (!d->passthrough && !(d->owner && *d->owner))
                        continue;
                for (char **m = d->group_devices; m && *m; m++) {
                        _cleanup_free_ char *drv = member_driver(*m);
                        json_object *mo = json_object_new_object();

                        json_object_object_add(mo, "address", json_object_new_string(*m));
                        json_object_object_add(mo, "driver", json_object_new_string(drv ?: "?"));
                        json_object_array_add(members, mo);
                        if (!d->viable && !why && drv && strcmp(drv, "passthru") && strcmp(drv, "vfio-pci") &&
                            strcmp(drv, "pcieport") && strcmp(drv, "pci-stub") && strcmp(drv, "none"))
                                (void) asprintf(&why, "%s is held by host driver %s", *m, drv);
                }
                bf = open_memstream(&bars, &blen);
                o = device_json(d);
                json_object_object_add(o, "group_members", members);
                json_object_object_add(o, "bars", bars_json(d->address, bf));
                if (bf)
                        fclose(bf);
                if (!d->viable)
                        json_object_object_add(o, "not_viable_because", json_object_new_string(why ?: "unknown"));
                json_object_array_add(jdevs, o);
                problems = problems || !d->viable;
                if (!arg_json) {
                        printf("\n%-4s %s %s (%04x:%04x), state %s%s%s\n", mark(d->viable), d->address,
                               d->name && *d->name ? d->name : "?", d->vendor, d->device, state_color(d->state), d->state,
                               color_off());
                        printf("       IOMMU group %d:", d->group);
                        for (char **m = d->group_devices; m && *m; m++) {
                                _cleanup_free_ char *drv = member_driver(*m);
                                printf(" %s (%s)", *m, drv ?: "?");
                        }
                        printf("\n       %s\n", d->viable ? "viable: every member can go to VFIO" : why ?: "not viable");
                        printf("       reset methods:");
                        for (char **m = d->reset_methods; m && *m; m++)
                                printf(" %s", *m);
                        printf("%s\n", d->reset_methods && d->reset_methods[0] ? "" : " none (it will be quarantined after each lease)");
                        printf("       %s, MSI %s, MSI-X %s\n", d->pcie ? "PCI Express" : "conventional PCI",
                               d->msi ? "yes" : "no", d->msix ? "yes" : "no");
                        printf("       %s\n", bars && *bars ? bars : "no BARs");
                }
                free(bars);
        }
        device_infos_free(devs, n);
        json_object_object_add(report_json, "devices", jdevs);
        json_object_object_add(report_json, "ok", json_object_new_boolean(!problems));
        if (arg_json)
                print_json(report_json);
        else {
                json_object_put(report_json);
                printf("\n%s\n", problems ? "Passthrough cannot work as configured: see FAIL above."
                                           : "Passthrough can work on this host.");
        }
        return problems ? EXIT_CHECK : EXIT_OK;
}


typedef struct Verb {
        const char *name;
        int min_args, max_args;         /* -1: any */
        int (*run)(sd_bus *bus, char **args);
        const char *usage;
        const char *help;
        unsigned options;               /* VerbOption */
} Verb;

static const Verb verbs[] = {
        { "list", 0, 0, verb_list, "list", "List devices, their state, driver and owner",
          OPT_JSON | OPT_NO_LEGEND },
        { "show", 1, 1, verb_show, "show DEVICE", "Show everything about one device", OPT_JSON },
        { "check", 0, 0, verb_check, "check", "Can this host pass devices through? IOMMU, VFIO, each group",
          OPT_JSON },
        { "hide", 1, 1, verb_hide_on, "hide [--live [--force]] DEVICE", "Mark a device for passthrough (maintenance mode)",
          OPT_LIVE | OPT_FORCE },
        { "unhide", 1, 1, verb_unhide, "unhide DEVICE", "Unmark a device (maintenance mode)", 0 },
        { "maintenance", 1, 1, verb_maintenance, "maintenance enter|exit|status", "Enter, leave or show maintenance mode", OPT_JSON },
        { "assign", 2, 2, verb_assign_on, "assign DEVICE VM", "Allow VM to lease DEVICE (maintenance mode)", 0 },
        { "unassign", 2, 2, verb_unassign, "unassign DEVICE VM", "Take that permission back (maintenance mode)", 0 },
        { "release", 1, 1, verb_release, "release DEVICE", "End a lease (root revokes another holder's)", 0 },
        { "reset", 1, 1, verb_reset, "reset DEVICE", "Reset an available or quarantined device", 0 },
        { "monitor", 0, 0, verb_monitor, "monitor", "Print lease and device events as they happen", 0 },
        { "run", 1, -1, verb_run, "run --device D [--device D2] --vm NAME [--memory SIZE] -- COMMAND...",
          "Lease devices and run a hypervisor with them", OPT_RUN },
};

static void help(void) {
        printf("passthructl [OPTIONS] COMMAND ...\n\nManage PCI passthrough with passthrud.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-40s %s\n", verbs[i].usage, verbs[i].help);
        printf("\nOptions:\n"
               "  -h --help          Show this help\n"
               "     --version       Show the version\n"
               "     --json          list, show, check, maintenance status: print JSON\n"
               "     --no-legend     list: no header line\n"
               "     --live          hide: take the device from its host driver now\n"
               "     --force         hide --live: even the root file system's or default route's device\n"
               "  -d --device=ADDR   run: a device to lease (repeatable)\n"
               "     --vm=NAME       run: the VM name\n"
               "  -m --memory=SIZE   run: memory the VM pins (raises RLIMIT_MEMLOCK), e.g. 2G\n"
               "     --open-node     run: hand /dev/vfio/N to the command instead of an fd (automatic for qemu-system-*)\n"
               "     --pass-fd       run: pass the group fds (their numbers in $PASSTHRU_GROUP_FDS)\n"
               "\nExit status: 0 ok, 1 failed, 2 usage, 3 check found a problem, 4 denied,\n"
               "5 no such device, 6 passthrud not reachable; run passes its command's.\n"
               "See passthructl(1).\n");
}

static int parse_size(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        switch (*end) {
        case 'G': case 'g': v <<= 30; end++; break;
        case 'M': case 'm': v <<= 20; end++; break;
        case 'K': case 'k': v <<= 10; end++; break;
        default: break;
        }
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static void note_option(VerbOption o, const char *name) {
        arg_given |= o;
        for (unsigned i = 0; i < _OPT_COUNT; i++)
                if (o == 1u << i && !arg_given_name[i])
                        arg_given_name[i] = name;
}

/* The name of an option given that @verb does not take, or NULL. */
static const char *option_not_for(const Verb *verb) {
        unsigned extra = arg_given & ~verb->options;

        for (unsigned i = 0; i < _OPT_COUNT; i++)
                if (extra & (1u << i))
                        return arg_given_name[i];
        return NULL;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_JSON = 0x100, ARG_LIVE, ARG_FORCE, ARG_VM, ARG_OPEN_NODE, ARG_PASS_FD, ARG_VERSION, ARG_NO_LEGEND };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "live", no_argument, NULL, ARG_LIVE },
                { "force", no_argument, NULL, ARG_FORCE },
                { "device", required_argument, NULL, 'd' },
                { "vm", required_argument, NULL, ARG_VM },
                { "memory", required_argument, NULL, 'm' },
                { "open-node", no_argument, NULL, ARG_OPEN_NODE },
                { "pass-fd", no_argument, NULL, ARG_PASS_FD },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hd:m:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("passthructl %s\n", PT_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        note_option(OPT_JSON, "--json");
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        note_option(OPT_NO_LEGEND, "--no-legend");
                        break;
                case ARG_LIVE:
                        arg_live = true;
                        note_option(OPT_LIVE, "--live");
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        note_option(OPT_FORCE, "--force");
                        break;
                case 'd':
                        note_option(OPT_RUN, "--device");
                        if (strv_extend(&arg_devices, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_VM:
                        note_option(OPT_RUN, "--vm");
                        arg_vm = optarg;
                        break;
                case 'm':
                        note_option(OPT_RUN, "--memory");
                        if (parse_size(optarg, &arg_memory) < 0) {
                                fprintf(stderr, "passthructl: bad --memory '%s' (e.g. 512M, 2G)\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_OPEN_NODE:
                        note_option(OPT_RUN, "--open-node");
                        arg_open_node = 1;
                        break;
                case ARG_PASS_FD:
                        note_option(OPT_RUN, "--pass-fd");
                        arg_open_node = 0;
                        break;
                default:
                        return -EINVAL;
                }
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        int r, n;

        r = parse_argv(argc, argv);
        if (r <= 0) {
                strv_free(arg_devices);
                return r == 0 ? EXIT_OK : EXIT_USAGE;
        }
        if (optind >= argc) {
                help();
                r = EXIT_USAGE;
                goto out;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, argv[optind]) == 0)
                        verb = &verbs[i];
        n = argc - optind - 1;
        if (!verb || n < verb->min_args || (verb->max_args >= 0 && n > verb->max_args)) {
                fprintf(stderr, verb ? "passthructl: usage: passthructl %s\n" : "passthructl: unknown command '%s'; see --help\n",
                        verb ? verb->usage : argv[optind]);
                r = EXIT_USAGE;
                goto out;
        }
        if (option_not_for(verb)) {
                fprintf(stderr, "passthructl: %s does not apply to '%s'; usage: passthructl %s\n", option_not_for(verb),
                        verb->name, verb->usage);
                r = EXIT_USAGE;
                goto out;
        }
        if (arg_force && !arg_live) {
                fprintf(stderr, "passthructl: --force goes with --live\n");
                r = EXIT_USAGE;
                goto out;
        }
        r = connect_bus(&bus);
        if (r < 0) {
                r = -r;
                goto out;
        }
        r = verb->run(bus, argv + optind + 1);
out:
        strv_free(arg_devices);
        return r;
}
