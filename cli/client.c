/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl's bus client of org.passthru1: see client.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "macro.h"
#include "passthru-direct.h"
#include "passthru-names.h"
#include "strv.h"

void device_info_done(DeviceInfo *d) {
        free(d->path);
        free(d->address);
        free(d->state);
        free(d->driver);
        free(d->owner);
        free(d->name);
        free(d->reset_hint);
        free(d->physical_function);
        strv_free(d->virtual_functions);
        strv_free(d->group_devices);
        strv_free(d->assignments);
        strv_free(d->reset_methods);
        strv_free(d->reset_results);
}

void device_infos_free(DeviceInfo *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                device_info_done(&d[i]);
        free(d);
}

/*
 * The bus could not start passthrud for a call (D-Bus activation): the
 * errors dbus-daemon gives when it cannot run it (Spawn.*) or it did not
 * take its name in time (TimedOut), and systemd's, which it passes on when
 * the unit does not start.
 */
static bool activation_failed(const char *name) {
        static const char spawn[] = "org.freedesktop.DBus.Error.Spawn.", systemd[] = "org.freedesktop.systemd1.";

        return strncmp(name, spawn, strlen(spawn)) == 0 || strncmp(name, systemd, strlen(systemd)) == 0 ||
               strcmp(name, "org.freedesktop.DBus.Error.TimedOut") == 0;
}

/*
 * What passthrud sends reaches a terminal: a control character in it (C0,
 * DEL, or C1 as UTF-8) is shown as '?', so that no string can move the
 * cursor, retitle the window or break a line of a table.
 */
char *printable(char *s) {
        char *w = s;

        for (const char *p = s; *p; p++) {
                unsigned char c = *p;

                if (c == 0xc2 && (unsigned char) p[1] >= 0x80 && (unsigned char) p[1] <= 0x9f) {
                        *w++ = '?';
                        p++;
                } else
                        *w++ = c < 0x20 || c == 0x7f ? '?' : c;
        }
        *w = '\0';
        return s;
}

/* Report a failed call with a hint at what to do, and pick the errno of its exit status. */
int report(const char *what, const sd_bus_error *e, int r) {
        const char *name = e && e->name ? e->name : "";

        /* The message may quote what the caller sent, or what another sent passthrud. */
        fprintf(stderr, "passthructl: %s: %s\n", what,
                e && e->message ? printable(strdupa(e->message)) : strerror(-r));
        /* The bus's option is the command line's --force. */
        if (e && e->message && strcasestr(e->message, "pass Force=true"))
                fprintf(stderr, "Hint: --force does it anyway.\n");
        if (strcmp(name, SD_BUS_ERROR_ACCESS_DENIED) == 0) {
                const char *message = e && e->message ? e->message : "";

                /* Only the refusals about who the caller is get a hint about who to be. */
                if (strstr(message, "members of group"))
                        fprintf(stderr, "Hint: run it as root, or join that group (usermod -aG GROUP USER) and log in again.\n");
                else if (strstr(message, "not permitted") || strstr(message, "root only"))
                        fprintf(stderr, "Hint: run it as root.\n");
                return -EACCES;
        }
        if (strcmp(name, SD_BUS_ERROR_INVALID_ARGS) == 0)
                return -EINVAL;         /* passthrud refused an argument: bad usage */
        if (strcmp(name, SD_BUS_ERROR_SERVICE_UNKNOWN) == 0 || strcmp(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) == 0 ||
            activation_failed(name) || r == -ENOENT || r == -ECONNREFUSED || r == -EHOSTDOWN) {
                fprintf(stderr, "Hint: is passthrud running? Try 'systemctl status passthrud'.\n");
                return -EHOSTDOWN;
        }
        if (strcmp(name, PT_ERROR_NO_SUCH_DEVICE) == 0 || strcmp(name, SD_BUS_ERROR_UNKNOWN_OBJECT) == 0) {
                fprintf(stderr, "Hint: 'passthructl list' shows the devices passthrud knows.\n");
                return -ENODEV;
        }
        if (strcmp(name, PT_ERROR_NOT_IN_MAINTENANCE) == 0)
                fprintf(stderr, "Hint: 'passthructl maintenance enter' first.\n");
        else if (strcmp(name, PT_ERROR_LEASES_ACTIVE) == 0)
                fprintf(stderr, "Hint: 'passthructl list' shows the leases; 'passthructl release DEVICE' ends one.\n");
        else if (strcmp(name, PT_ERROR_IOMMU_UNAVAILABLE) == 0)
                fprintf(stderr, "Hint: 'passthructl check' tells what is missing.\n");
        return -EIO;    /* refused or failed: whatever sd-bus made of it, the status is "failed" */
}

/*
 * report() for a call on @bus.  A call that timed out (NoReply) while the bus
 * was still starting passthrud for it, so that its name has no owner yet,
 * found no passthrud: -EHOSTDOWN, as when the start fails.  With an owner,
 * passthrud is there and did not answer: a failure.
 */
static int report_call(sd_bus *bus, const char *what, const sd_bus_error *e, int r) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int owned = 1;

        /*
         * The bus itself answers NameHasOwner at once: it gets 5 s whatever
         * $SYSTEMD_BUS_TIMEOUT gave the call that timed out (a busy host
         * made it time out too, and the answer was a bare timeout).
         */
        if (r == -ETIMEDOUT && sd_bus_is_bus_client(bus) > 0 &&
            sd_bus_message_new_method_call(bus, &call, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "NameHasOwner") >= 0 &&
            sd_bus_message_append(call, "s", PT_BUS_NAME) >= 0 &&
            sd_bus_call(bus, call, 5 * 1000000ULL, &error, &reply) >= 0 &&
            sd_bus_message_read(reply, "b", &owned) >= 0 && !owned)
                r = -EHOSTDOWN;
        return report(what, e, r);
}

/* A reply that does not read as documented: the status is "failed" whatever the reader said. */
static int bad_answer(int r) {
        fprintf(stderr, "passthructl: bad answer from passthrud: %s\n", strerror(-r));
        return -EBADMSG;
}

/*
 * passthrud's own socket, authenticated and ready within a second, or an
 * error: the caller falls back to the bus (no socket, no passthrud behind
 * it, or passthrud refused the connection: too many).
 */
static int connect_direct(const char *path, sd_bus **ret) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        r = pt_direct_open(path, &bus);
        if (r < 0)
                return r;
        for (int i = 0; i < 100 && (r = sd_bus_is_ready(bus)) == 0; i++) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r == 0) {
                        r = sd_bus_wait(bus, 10000);
                        if (r < 0)
                                return r;
                }
        }
        if (r <= 0)
                return r < 0 ? r : -ETIMEDOUT;
        *ret = TAKE_PTR(bus);
        return 0;
}

int connect_bus(sd_bus **ret) {
        const char *path = pt_direct_socket_path();

        if (path && connect_direct(path, ret) >= 0)
                return 0;
        return connect_system_bus(ret);
}

int connect_system_bus(sd_bus **ret) {
        int r = sd_bus_default_system(ret);

        if (r < 0) {
                fprintf(stderr, "passthructl: cannot connect to the system bus: %s\n", strerror(-r));
                return -EHOSTDOWN;
        }
        return 0;
}

int parse_address(const char *arg, char ret[ADDRESS_MAX]) {
        unsigned d = 0, b, s, f;
        int n = 0;

        /* Hex digits, ':' and '.' only: sscanf()'s %x would also take a sign ("0000:-1:00.0") and blanks. */
        if (arg[strspn(arg, "0123456789abcdefABCDEF:.")] != '\0')
                ;
        else if (sscanf(arg, "%4x:%2x:%2x.%1x%n", &d, &b, &s, &f, &n) == 4 && arg[n] == '\0')
                ;
        else if (d = 0, n = 0, sscanf(arg, "%2x:%2x.%1x%n", &b, &s, &f, &n) == 3 && arg[n] == '\0')
                ;
        else
                n = 0;
        if (n == 0 || s > 0x1f || f > 7) {
                fprintf(stderr, "passthructl: '%s' is not a PCI address (DDDD:BB:SS.F or BB:SS.F)\n", arg);
                return -EINVAL;
        }
        snprintf(ret, ADDRESS_MAX, "%04x:%02x:%02x.%x", d, b, s, f);
        return 0;
}

static int device_path(const char *arg, char **ret) {
        char address[ADDRESS_MAX];
        int r = parse_address(arg, address);

        return r < 0 ? r : sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, address, ret);
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
        while ((r = sd_bus_message_read(m, "s", &s)) > 0) {
                if (strv_extend(&l, s) < 0)
                        return -ENOMEM;
                printable(l[strv_length(l) - 1]);
        }
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
        return *ret ? (printable(*ret), 0) : -ENOMEM;
}

/*
 * The Device properties passthructl reads: name, D-Bus type and the
 * DeviceInfo field it goes to, in the spirit of systemd's
 * bus_map_all_properties(). A property is one line; the compiler checks
 * that the field has the C type of the D-Bus one.
 */
typedef struct PropertyMap {
        const char *name;
        const char *signature;  /* "s", "as", "b", "q", "u" or "i" */
        size_t offset;
} PropertyMap;

/* 0, or a compile error when DeviceInfo's @field is no @ctype. */
#define FIELD_IS(field, ctype) \
        (sizeof(char[__builtin_types_compatible_p(__typeof__(((DeviceInfo *) 0)->field), ctype) ? 1 : -1]) - 1)
#define PROPERTY(name, signature, ctype, field) \
        { name, signature, offsetof(DeviceInfo, field) + FIELD_IS(field, ctype) }
#define STRING(name, field) PROPERTY(name, "s", char *, field)
#define STRV(name, field) PROPERTY(name, "as", char **, field)
#define BOOLEAN(name, field) PROPERTY(name, "b", bool, field)
#define UINT16(name, field) PROPERTY(name, "q", uint16_t, field)
#define UINT32(name, field) PROPERTY(name, "u", uint32_t, field)
#define INT32(name, field) PROPERTY(name, "i", int32_t, field)

static const PropertyMap device_properties[] = {
        STRING("Address", address),
        STRING("State", state),
        STRING("Driver", driver),
        STRING("Owner", owner),
        STRING("Name", name),
        STRING("ResetHint", reset_hint),
        STRING("PhysicalFunction", physical_function),
        STRV("VirtualFunctions", virtual_functions),
        UINT32("TotalVFs", total_vfs),
        UINT32("NumVFs", num_vfs),
        STRV("GroupDevices", group_devices),
        STRV("Assignments", assignments),
        STRV("ResetMethods", reset_methods),
        STRV("ResetResults", reset_results),
        BOOLEAN("Passthrough", passthrough),
        BOOLEAN("Viable", viable),
        BOOLEAN("Pcie", pcie),
        BOOLEAN("Msi", msi),
        BOOLEAN("MsiX", msix),
        UINT16("VendorId", vendor),
        UINT16("DeviceId", device),
        UINT32("Class", class),
        UINT32("OwnerPid", owner_pid),
        INT32("IommuGroup", group),
};

#undef FIELD_IS
#undef PROPERTY
#undef STRING
#undef STRV
#undef BOOLEAN
#undef UINT16
#undef UINT32
#undef INT32

/* A property's variant into the field at @p, as its map says. */
static int map_property(sd_bus_message *m, const PropertyMap *map, void *p) {
        int b = 0, r;

        switch (map->signature[0]) {
        case 's':
        case 'a':
                if (sd_bus_message_enter_container(m, 'v', map->signature) < 0)
                        return -EBADMSG;
                r = map->signature[0] == 's' ? read_string(m, p) : read_strv(m, p);
                return r < 0 ? r : sd_bus_message_exit_container(m);
        case 'b':
                r = sd_bus_message_read(m, "v", "b", &b);
                *(bool *) p = b;
                return r;
        default:        /* q, u, i: read in place */
                return sd_bus_message_read(m, "v", map->signature, p);
        }
}

static const PropertyMap *device_property(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(device_properties); i++)
                if (strcmp(device_properties[i].name, name) == 0)
                        return &device_properties[i];
        return NULL;
}

int device_info_read(sd_bus_message *m, DeviceInfo *d) {
        int r = device_info_read_some(m, d);

        if (r < 0)
                return r;
        /* passthrud always sends these; an answer without them is not its. */
        return d->address && d->state ? 0 : -EBADMSG;
}

int device_info_read_some(sd_bus_message *m, DeviceInfo *d) {
        const PropertyMap *map;
        const char *name;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0) {
                        map = device_property(name);
                        r = map ? map_property(m, map, (char *) d + map->offset) : sd_bus_message_skip(m, "v");
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 0;
}

static int compare_devices(const void *a, const void *b) {
        return strcmp(((const DeviceInfo *) a)->address ?: "", ((const DeviceInfo *) b)->address ?: "");
}

int get_devices(sd_bus *bus, DeviceInfo **ret, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        DeviceInfo *list = NULL;
        const char *path, *iface;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0)
                return report_call(bus, "cannot list devices", &error, r);
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
                                r = list[n].path ? device_info_read(reply, &list[n]) : -ENOMEM;
                                n++;
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
                return bad_answer(r);
        }
        if (n > 0)
                qsort(list, n, sizeof(DeviceInfo), compare_devices);
        *ret = list;
        *ret_n = n;
        return 0;
}

int get_device(sd_bus *bus, const char *arg, DeviceInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = device_path(arg, &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, PT_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply,
                               "s", PT_DEVICE_INTERFACE);
        if (r < 0)
                return report_call(bus, arg, &error, r);
        *ret = (DeviceInfo) { .group = -1, .path = TAKE_PTR(path) };
        r = device_info_read(reply, ret);
        if (r < 0) {
                device_info_done(ret);
                return bad_answer(r);
        }
        return 0;
}

int get_device_group(sd_bus *bus, const char *arg, char *buf, size_t size) {
        DeviceInfo info;
        int r = get_device(bus, arg, &info);

        if (r < 0)
                return r;
        snprintf(buf, size, "%d", info.group);
        device_info_done(&info);
        return 0;
}

int call(sd_bus *bus, const char *what, const char *method, sd_bus_message **reply, const char *types, ...) {
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
                return report_call(bus, what, &error, r);
        return 0;
}

int get_bool_property(sd_bus *bus, const char *name, int *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_trivial(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, name, &error, 'b', ret);
        if (r < 0)
                return report_call(bus, name, &error, r);
        return 0;
}
