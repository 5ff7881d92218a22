/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-dbus.h"
#include "lease.h"
#include "macro.h"
#include "manager.h"
#include "manager-dbus.h"
#include "passthru-names.h"
#include "strv.h"

static int append_strv(sd_bus_message *reply, char * const *l) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && l && l[i]; i++)
                r = sd_bus_message_append_basic(reply, 's', l[i]);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* The group as last read (group.h): the bus's view; a grant reads the drivers again. */
static const Group *device_group(Device *d) {
        return manager_group(d->manager, d->sys.iommu_group);
}

static bool group_viable(Device *d) {
        const Group *g = device_group(d);

        return g && g->viable;
}

static char **group_devices(Device *d) {
        const Group *g = device_group(d);

        return g ? g->members : NULL;
}

/*
 * One getter per property, each a line: DEVICE_GETTER(Name, 's', const char *,
 * value of Device *d).  A new property is a getter here and a line in the
 * vtable.  sd_bus_message_append_basic() takes a string itself and any other
 * type by its address; GetManagedObjects calls every getter of every device.
 */
#define GETTER_HEAD(name)                                                                               \
        static int get_##name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {             \
                Device *d = userdata;                                                                   \
                (void) bus, (void) path, (void) interface, (void) property, (void) error;
#define DEVICE_GETTER_S(name, value)                                                                    \
        GETTER_HEAD(name)                                                                               \
                return sd_bus_message_append_basic(reply, 's', (value));                                \
        }
#define DEVICE_GETTER(name, type, ctype, value)                                                         \
        GETTER_HEAD(name)                                                                               \
                ctype v = (value);                                                                      \
                return sd_bus_message_append_basic(reply, (type), &v);                                  \
        }
#define DEVICE_GETTER_STRV(name, value)                                                                 \
        GETTER_HEAD(name)                                                                               \
                return append_strv(reply, (value));                                                     \
        }

DEVICE_GETTER_S(Address, d->address)
DEVICE_GETTER(VendorId, 'q', uint16_t, d->sys.vendor)
DEVICE_GETTER(DeviceId, 'q', uint16_t, d->sys.device)
DEVICE_GETTER_S(Name, device_name(d))
DEVICE_GETTER(Class, 'u', uint32_t, d->sys.class)
DEVICE_GETTER_S(Driver, d->sys.driver ?: "")
DEVICE_GETTER_S(State, device_state_to_string(device_state(d)))
DEVICE_GETTER(Passthrough, 'b', int, device_marked(d))
DEVICE_GETTER(IommuGroup, 'i', int32_t, d->sys.iommu_group)
DEVICE_GETTER(Viable, 'b', int, group_viable(d))
DEVICE_GETTER_S(Owner, d->lease ? d->lease->vm : "")
DEVICE_GETTER(OwnerPid, 'u', uint32_t, d->lease ? (uint32_t) d->lease->pid : 0)
DEVICE_GETTER_S(Stuck, d->lease && d->lease->stuck ? d->lease->stuck : "")
DEVICE_GETTER_S(ResetHint, d->reset_hint ?: "")
DEVICE_GETTER(Pcie, 'b', int, d->pci.pcie)
DEVICE_GETTER(Msi, 'b', int, d->pci.msi)
DEVICE_GETTER(MsiX, 'b', int, d->pci.msix)
DEVICE_GETTER_STRV(GroupDevices, group_devices(d))
DEVICE_GETTER_STRV(Assignments, device_assignments(d))
DEVICE_GETTER_STRV(ResetMethods, d->sys.reset_methods)
DEVICE_GETTER_STRV(ResetResults, d->reset_results)
DEVICE_GETTER_S(PhysicalFunction, d->sys.physfn)
DEVICE_GETTER_STRV(VirtualFunctions, d->sys.virtfns)
DEVICE_GETTER(TotalVFs, 'u', uint32_t, d->sys.total_vfs)
DEVICE_GETTER(NumVFs, 'u', uint32_t, d->sys.num_vfs)

#define PROP(name, sig, flags) SD_BUS_PROPERTY(#name, sig, get_##name, 0, flags)
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        PROP(Address, "s", CONST),
        PROP(VendorId, "q", CONST),
        PROP(DeviceId, "q", CONST),
        PROP(Name, "s", CONST),
        PROP(Class, "u", CONST),
        PROP(Driver, "s", CHANGES),
        PROP(State, "s", CHANGES),
        PROP(Passthrough, "b", CHANGES),
        PROP(IommuGroup, "i", CONST),
        PROP(GroupDevices, "as", CHANGES),
        PROP(Viable, "b", CHANGES),
        PROP(Owner, "s", CHANGES),
        PROP(OwnerPid, "u", CHANGES),
        PROP(Stuck, "s", CHANGES),
        PROP(Assignments, "as", CHANGES),
        PROP(ResetMethods, "as", CONST),
        PROP(ResetResults, "as", CHANGES),
        PROP(ResetHint, "s", CHANGES),
        PROP(Pcie, "b", CONST),
        PROP(Msi, "b", CONST),
        PROP(MsiX, "b", CONST),
        PROP(PhysicalFunction, "s", CONST),
        PROP(VirtualFunctions, "as", CHANGES),
        PROP(TotalVFs, "u", CONST),
        PROP(NumVFs, "u", CHANGES),
        SD_BUS_VTABLE_END
};

static int device_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error) {
        _cleanup_free_ char *address = NULL;
        Manager *m = userdata;
        Device *d;
        int r;

        (void) bus;
        (void) interface;
        (void) error;
        r = sd_bus_path_decode(path, PT_DEVICE_PATH_PREFIX, &address);
        if (r <= 0)
                return 0;
        d = manager_find_device(m, address);
        if (!d)
                return 0;
        *found = d;
        return 1;
}

static int device_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        char **l;

        (void) bus;
        (void) path;
        (void) error;
        l = calloc(m->n_devices + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_devices; i++) {
                l[i] = strdup(m->devices[i]->object_path);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *nodes = l;
        return 1;
}

/* The standard interfaces every object has, with no properties: as sd-bus lists them. */
static const char * const standard_interfaces[] = {
        "org.freedesktop.DBus.Peer",
        "org.freedesktop.DBus.Introspectable",
        "org.freedesktop.DBus.Properties",
};

/* One {oa{sa{sv}}} of GetManagedObjects: @d's path, its interfaces, its properties from the vtable's getters. */
static int append_device_object(sd_bus_message *reply, Device *d) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'o', d->object_path);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(standard_interfaces); i++)
                r = sd_bus_message_append(reply, "{sa{sv}}", standard_interfaces[i], 0);
        /* org.passthru1.Device: {s a{sv}}, one {sv} per property. */
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 's', PT_DEVICE_INTERFACE);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        for (const sd_bus_vtable *v = device_vtable; r >= 0 && v->type != _SD_BUS_VTABLE_END; v++) {
                if (v->type != _SD_BUS_VTABLE_PROPERTY)
                        continue;
                r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append_basic(reply, 's', v->x.property.member);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'v', v->x.property.signature);
                if (r >= 0)
                        r = v->x.property.get(NULL, d->object_path, PT_DEVICE_INTERFACE, v->x.property.member, reply,
                                              d, NULL);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        /* The a{sv} and the {sa{sv}} of the interface, the a{sa{sv}} and the {oa{sa{sv}}} of the object. */
        for (unsigned i = 0; r >= 0 && i < 4; i++)
                r = sd_bus_message_close_container(reply);
        return r;
}

/*
 * GetManagedObjects on the manager's path, answered here before sd-bus's
 * own (object callbacks run first): the same answer, written straight
 * from the vtable's getters instead of looked up path by path.
 */
static int on_manager_object_call(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        (void) error;
        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"))
                return 0;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}");
        for (size_t i = 0; r >= 0 && i < m->n_devices; i++)
                r = append_device_object(reply, m->devices[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int device_bus_setup(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, PT_DEVICE_PATH_PREFIX, PT_DEVICE_INTERFACE, device_vtable,
                                       device_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object(bus, NULL, PT_MANAGER_PATH, on_manager_object_call, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, PT_DEVICE_PATH_PREFIX, device_enumerate, m);
}

void device_send_reset_changed(Manager *m, Device *d) {
        sd_bus *bus;

        MANAGER_FOREACH_BUS(m, bus, i)
                (void) sd_bus_emit_properties_changed(bus, d->object_path, PT_DEVICE_INTERFACE, "ResetResults",
                                                      "ResetHint", NULL);
}

void device_send_assignments_changed(Manager *m, Device *d) {
        sd_bus *bus;

        MANAGER_FOREACH_BUS(m, bus, i)
                (void) sd_bus_emit_properties_changed(bus, d->object_path, PT_DEVICE_INTERFACE, "Assignments", NULL);
}

void device_send_added(Manager *m, Device *d) {
        sd_bus *bus;

        MANAGER_FOREACH_BUS(m, bus, i)
                (void) sd_bus_emit_interfaces_added(bus, d->object_path, PT_DEVICE_INTERFACE, NULL);
}

void device_send_removed(Manager *m, Device *d) {
        sd_bus *bus;

        MANAGER_FOREACH_BUS(m, bus, i)
                (void) sd_bus_emit_interfaces_removed(bus, d->object_path, PT_DEVICE_INTERFACE, NULL);
}

void device_send_stuck_changed(Manager *m, Device *d) {
        sd_bus *bus;

        MANAGER_FOREACH_BUS(m, bus, i)
                (void) sd_bus_emit_properties_changed(bus, d->object_path, PT_DEVICE_INTERFACE, "Stuck", NULL);
}

/*
 * What PropertiesChanged says of a device, one field a group of properties,
 * in d->announced (fields apart by US, 0x1f): each announcement names only
 * the properties whose field changed since the last one (a return's
 * "available" is four of the ten; a sibling's new Viable is one).
 * Assignments has an announcement of its own (Assign, Unassign).
 */
#define ANNOUNCED_SEP "\x1f"
static const char * const announced_properties[][3] = {
        { "Driver" },
        { "State" },
        { "Owner" },
        { "OwnerPid" },
        { "Passthrough" },
        { "Viable" },
        { "GroupDevices" },
        { "NumVFs", "VirtualFunctions" },
};

/* The fields of @d as announced_properties[] orders them, or NULL without memory. */
static char *announced_now(Device *d) {
        _cleanup_free_ char *group = strv_join(group_devices(d), " "), *vfs = strv_join(d->sys.virtfns, " ");
        char *s;

        if (!group || !vfs)
                return NULL;
        if (asprintf(&s, "%s" ANNOUNCED_SEP "%d" ANNOUNCED_SEP "%s" ANNOUNCED_SEP "%u" ANNOUNCED_SEP "%d"
                     ANNOUNCED_SEP "%d" ANNOUNCED_SEP "%s" ANNOUNCED_SEP "%u %s",
                     d->sys.driver ?: "", (int) device_state(d), d->lease ? d->lease->vm : "",
                     d->lease ? (unsigned) d->lease->pid : 0u, device_marked(d), group_viable(d), group,
                     d->sys.num_vfs, vfs) < 0)
                return NULL;
        return s;
}

/* Field @i of @s (its length in *ret_len), or NULL when @s has fewer fields. */
static const char *announced_field(const char *s, size_t i, size_t *ret_len) {
        for (; s && i > 0; i--) {
                s = strchr(s, ANNOUNCED_SEP[0]);
                if (s)
                        s++;
        }
        if (s)
                *ret_len = strcspn(s, ANNOUNCED_SEP);
        return s;
}

/* Announce @d's changes; returns whether its driver changed since the last announcement. */
static bool send_changed(Manager *m, Device *d) {
        const char *names[ELEMENTSOF(announced_properties) * 2 + 1];
        _cleanup_free_ char *now = announced_now(d);
        bool driver_changed = false;
        size_t n = 0;
        sd_bus *bus;

        for (size_t i = 0; i < ELEMENTSOF(announced_properties); i++) {
                size_t a = 0, b = 0;
                const char *was = announced_field(d->announced, i, &a), *is = announced_field(now, i, &b);

                /* Nothing to compare with (the first time, no memory): every property. */
                if (was && is && a == b && memcmp(was, is, a) == 0)
                        continue;
                if (i == 0)
                        driver_changed = true;
                for (size_t k = 0; k < ELEMENTSOF(announced_properties[i]) && announced_properties[i][k]; k++)
                        names[n++] = announced_properties[i][k];
        }
        names[n] = NULL;
        if (n == 0)
                return false;
        free(d->announced);
        d->announced = TAKE_PTR(now);
        MANAGER_FOREACH_BUS(m, bus, i)
                (void) sd_bus_emit_properties_changed_strv(bus, d->object_path, PT_DEVICE_INTERFACE, (char **) names);
        return driver_changed;
}

void device_send_changed(Manager *m, Device *d) {
        _cleanup_strv_free_ char **members = NULL;
        const Group *g;

        if (!manager_bus_nth(m, 0))
                return;
        /* A member's driver decides its siblings' Viable too: the group's members, not every device. */
        if (!send_changed(m, d) || !(g = device_group(d)))
                return;
        /* A copy: a sibling's view of its group may read the cache again. */
        members = strv_copy(g->members);
        for (char **i = members; i && *i; i++) {
                Device *sibling = manager_find_device(m, *i);

                if (sibling && sibling != d)
                        (void) send_changed(m, sibling);
        }
}
