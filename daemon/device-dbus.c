/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-dbus.h"
#include "lease.h"
#include "macro.h"
#include "manager.h"
#include "passthru-names.h"
#include "strv.h"

static int append_strv(sd_bus_message *reply, char * const *l) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && l && l[i]; i++)
                r = sd_bus_message_append(reply, "s", l[i]);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static bool group_viable(Device *d) {
        _cleanup_free_ char *culprit = NULL, *driver = NULL;

        return d->sys.iommu_group >= 0 &&
               sysfs_pci_group_viable(d->manager->sysfs_root, d->sys.iommu_group, &culprit, &driver) > 0;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *p,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Device *d = userdata;

        (void) bus;
        (void) path;
        (void) interface;
        (void) error;
        if (strcmp(p, "Address") == 0)
                return sd_bus_message_append(reply, "s", d->address);
        if (strcmp(p, "VendorId") == 0)
                return sd_bus_message_append(reply, "q", d->sys.vendor);
        if (strcmp(p, "DeviceId") == 0)
                return sd_bus_message_append(reply, "q", d->sys.device);
        if (strcmp(p, "Name") == 0)
                return sd_bus_message_append(reply, "s", d->pci.name ?: "");
        if (strcmp(p, "Class") == 0)
                return sd_bus_message_append(reply, "u", d->sys.class);
        if (strcmp(p, "Driver") == 0)
                return sd_bus_message_append(reply, "s", d->sys.driver ?: "");
        if (strcmp(p, "State") == 0)
                return sd_bus_message_append(reply, "s", device_state_to_string(device_state(d)));
        if (strcmp(p, "Passthrough") == 0)
                return sd_bus_message_append(reply, "b", device_marked(d));
        if (strcmp(p, "IommuGroup") == 0)
                return sd_bus_message_append(reply, "i", d->sys.iommu_group);
        if (strcmp(p, "GroupDevices") == 0) {
                _cleanup_strv_free_ char **l = NULL;

                if (d->sys.iommu_group >= 0)
                        (void) sysfs_iommu_group_devices(d->manager->sysfs_root, d->sys.iommu_group, &l);
                return append_strv(reply, l);
        }
        if (strcmp(p, "Viable") == 0)
                return sd_bus_message_append(reply, "b", group_viable(d));
        if (strcmp(p, "Owner") == 0)
                return sd_bus_message_append(reply, "s", d->lease ? d->lease->vm : "");
        if (strcmp(p, "OwnerPid") == 0)
                return sd_bus_message_append(reply, "u", d->lease ? (uint32_t) d->lease->pid : 0);
        if (strcmp(p, "Stuck") == 0)
                return sd_bus_message_append(reply, "s", d->lease && d->lease->stuck ? d->lease->stuck : "");
        if (strcmp(p, "Assignments") == 0)
                return append_strv(reply, device_assignments(d));
        if (strcmp(p, "ResetMethods") == 0)
                return append_strv(reply, d->sys.reset_methods);
        if (strcmp(p, "ResetResults") == 0)
                return append_strv(reply, d->reset_results);
        if (strcmp(p, "ResetHint") == 0)
                return sd_bus_message_append(reply, "s", d->reset_hint ?: "");
        if (strcmp(p, "Pcie") == 0)
                return sd_bus_message_append(reply, "b", d->pci.pcie);
        if (strcmp(p, "Msi") == 0)
                return sd_bus_message_append(reply, "b", d->pci.msi);
        if (strcmp(p, "MsiX") == 0)
                return sd_bus_message_append(reply, "b", d->pci.msix);
        return -EINVAL;
}

#define PROP(name, sig, flags) SD_BUS_PROPERTY(name, sig, property_get, 0, flags)
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        PROP("Address", "s", CONST),
        PROP("VendorId", "q", CONST),
        PROP("DeviceId", "q", CONST),
        PROP("Name", "s", CONST),
        PROP("Class", "u", CONST),
        PROP("Driver", "s", CHANGES),
        PROP("State", "s", CHANGES),
        PROP("Passthrough", "b", CHANGES),
        PROP("IommuGroup", "i", CONST),
        PROP("GroupDevices", "as", CHANGES),
        PROP("Viable", "b", CHANGES),
        PROP("Owner", "s", CHANGES),
        PROP("OwnerPid", "u", CHANGES),
        PROP("Stuck", "s", CHANGES),
        PROP("Assignments", "as", CHANGES),
        PROP("ResetMethods", "as", CONST),
        PROP("ResetResults", "as", CHANGES),
        PROP("ResetHint", "s", CHANGES),
        PROP("Pcie", "b", CONST),
        PROP("Msi", "b", CONST),
        PROP("MsiX", "b", CONST),
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

int device_bus_setup(Manager *m) {
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, PT_DEVICE_PATH_PREFIX, PT_DEVICE_INTERFACE, device_vtable,
                                       device_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, PT_DEVICE_PATH_PREFIX, device_enumerate, m);
}

void device_send_reset_changed(Manager *m, Device *d) {
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, d->object_path, PT_DEVICE_INTERFACE, "ResetResults",
                                                      "ResetHint", NULL);
}

void manager_emit_device_changed(Manager *m, Device *d) {
        char *now = NULL;

        if (!m->bus)
                return;
        /* Several events often say the same thing: announce changes only. */
        if (asprintf(&now, "%s|%d|%s|%u|%d", d->sys.driver ?: "", (int) device_state(d),
                     d->lease ? d->lease->vm : "", d->lease ? (unsigned) d->lease->pid : 0u, device_marked(d)) < 0)
                now = NULL;
        if (now && d->announced && strcmp(now, d->announced) == 0) {
                free(now);
                return;
        }
        free(d->announced);
        d->announced = now;
        (void) sd_bus_emit_properties_changed(m->bus, d->object_path, PT_DEVICE_INTERFACE, "Driver", "State",
                                              "Passthrough", "GroupDevices", "Viable", "Owner", "OwnerPid",
                                              "Assignments", NULL);
}
