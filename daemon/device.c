/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "device.h"
#include "lease.h"
#include "macro.h"
#include "manager.h"
#include "passthru-names.h"
#include "strv.h"

static const char *const state_table[_DEVICE_STATE_MAX] = {
#define STATE_NAME_(id, name, tone) [DEVICE_##id] = PT_DEVICE_STATE_##id,
        PT_DEVICE_STATES(STATE_NAME_)
#undef STATE_NAME_
};

const char *device_state_to_string(DeviceState s) {
        return s >= 0 && s < _DEVICE_STATE_MAX ? state_table[s] : NULL;
}

int device_new(Manager *m, const char *address, Device **ret) {
        _cleanup_(device_freep) Device *d = NULL;
        int r;

        assert(m);
        assert(address);
        assert(ret);
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->manager = m;
        d->sys.iommu_group = -1;
        snprintf(d->address, sizeof(d->address), "%s", address);
        r = sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, address, &d->object_path);
        if (r < 0)
                return r;
        r = device_refresh(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

Device *device_free(Device *d) {
        if (!d)
                return NULL;
        sysfs_pci_device_done(&d->sys);
        pci_details_done(&d->pci);
        free(d->announced);
        free(d->name);
        strv_free(d->reset_results);
        free(d->reset_hint);
        free(d->object_path);
        free(d);
        return NULL;
}

int device_refresh(Device *d) {
        SysfsPciDevice sys = {};
        PciDetails pci = {};
        int r;

        /*
         * A PF whose sriov_numvfs SetNumVFs' worker is writing: its VFs
         * come and go meanwhile.  Not read until the worker is done
         * (num_vfs_done() reads it again): it shows its last counts.
         */
        if (d->sriov_busy)
                return 0;

        /* Whatever changed (its driver, its presence) changes its group's members or viability. */
        group_cache_invalidate(&d->manager->groups, d->sys.iommu_group);
        r = sysfs_pci_read(d->manager->sysfs_root, d->address, &sys);
        if (r < 0)
                return r;
        sysfs_pci_device_done(&d->sys);
        d->sys = sys;
        group_cache_invalidate(&d->manager->groups, d->sys.iommu_group);

        /*
         * Capabilities do not change: read them once.  The name waits until someone asks (device_name()).
         * A bridge is not kept (manager_add_device()): nothing more to read.
         */
        if (!d->pci_known && !d->sys.is_bridge && d->manager->pci && pci_access_details(d->manager->pci, d->address, &pci) >= 0) {
                d->pci = pci;
                d->pci_known = true;
        }
        return 0;
}

const char *device_name(Device *d) {
        if (!d->name && d->manager->pci)
                (void) pci_access_name(d->manager->pci, d->sys.vendor, d->sys.device, &d->name);
        return d->name ?: "";
}

/*
 * Marked for passthrough: by SetPassthrough (the state file), or by a rule
 * of passthru.ko (passthru.hide= on the kernel command line, modprobe.d,
 * or HIDE at run time) that names it.
 */
bool device_marked(const Device *d) {
        const StateDevice *s = state_find_device(&d->manager->state, d->address);

        if (s && s->passthrough)
                return true;
        return d->module_state != 0 && d->module_state != PASSTHRU_STATE_ABSENT;
}

char **device_assignments(const Device *d) {
        const StateDevice *s = state_find_device(&d->manager->state, d->address);

        return s ? s->assignments : NULL;
}

bool device_driver_is(const Device *d, const char *name) {
        return d->sys.driver && strcmp(d->sys.driver, name) == 0;
}

int device_note_driver(Device *d, const char *driver) {
        char *s = strdup(driver);

        if (!s)
                return -ENOMEM;
        free(d->sys.driver);
        d->sys.driver = s;
        group_cache_driver_changed(&d->manager->groups, d->sys.iommu_group);
        return 0;
}

int device_note_reset(Device *d, const ResetChain *chain, const char *config_file) {
        _cleanup_strv_free_ char **results = NULL;
        _cleanup_free_ char *line = NULL, *hint = NULL;
        int r;

        r = reset_chain_results(chain, &results);
        if (r < 0)
                return r;
        r = reset_chain_trust_line(chain, &line);
        if (r < 0)
                return r;
        if (line && asprintf(&hint, "%s in %s", line, config_file) < 0)
                return -ENOMEM;
        strv_free(d->reset_results);
        d->reset_results = TAKE_PTR(results);
        free(d->reset_hint);
        d->reset_hint = TAKE_PTR(hint);
        return 0;
}

char *device_reset_explain(const Device *d, int r) {
        _cleanup_free_ char *results = strv_join(d->reset_results, "; ");
        const char *method;
        char *s = NULL;

        if (!results)
                return NULL;
        if (r == -ENOTTY)
                return strdup("it offers no reset method (its sysfs reset_method is empty)");
        if (r >= 0)
                return TAKE_PTR(results);
        if (!d->reset_hint) {
                if (asprintf(&s, "no reset trusted to clear its state worked (%s)", results) < 0)
                        return NULL;
                return s;
        }
        method = strchr(d->reset_hint, '=');
        if (asprintf(&s, "no reset trusted to clear its state worked (%s); if %.*s does clear it, trust it: %s, "
                     "restart passthrud and run 'passthructl reset %s'", results,
                     method ? (int) strcspn(method + 1, " ") : 0, method ? method + 1 : "", d->reset_hint,
                     d->address) < 0)
                return NULL;
        return s;
}

DeviceState device_state(const Device *d) {
        if (d->lease)
                return d->lease->state == LEASE_RELEASING ? DEVICE_RELEASING : DEVICE_LEASED;
        /* Seen moved there by another tool (note_foreign()), and quarantined for when it is back. */
        if (d->quarantined && d->foreign_seen && device_marked(d) && device_driver_is(d, PT_VFIO_DRIVER))
                return DEVICE_FOREIGN;
        if (d->quarantined)
                return DEVICE_QUARANTINED;
        if (!device_marked(d))
                return DEVICE_HOST;
        if (d->module_state == PASSTHRU_STATE_MISMATCH)
                return DEVICE_MISMATCH;
        if (device_driver_is(d, PT_STUB_DRIVER))
                return DEVICE_AVAILABLE;
        /* Reset at its return and kept on vfio-pci for the next grant, the group's node held (stage.h). */
        if (d->stage && device_driver_is(d, PT_VFIO_DRIVER))
                return DEVICE_AVAILABLE;
        if (device_driver_is(d, PT_VFIO_DRIVER))
                return DEVICE_FOREIGN;          /* another tool's (libvirt managed='yes', driverctl, a bind by hand) */
        return DEVICE_PENDING_REBOOT;
}
