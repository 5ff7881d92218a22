/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "netlink.h"
#include "passthru-names.h"
#include "sriov.h"
#include "strv.h"
#include "sysfs.h"

void sriov_vf_rule(const char *pf, char rule[SRIOV_RULE_LEN]) {
        snprintf(rule, SRIOV_RULE_LEN, "(%s/*)", pf);
}

bool sriov_vf_rule_is_the_cmdlines(Manager *m, const char *pf) {
        _cleanup_free_ char *cmdline = NULL;
        char ours[SRIOV_RULE_LEN], theirs[PASSTHRU_RULE_MAX + 1];

        if (manager_read_cmdline(m, &cmdline) < 0)
                return false;
        sriov_vf_rule(pf, ours);
        /* No address, no ids: only a rule naming the VFs by their PF covers "a VF of @pf". */
        return cmdline_hide_covers_vf(cmdline, "", 0, 0, pf, -1, theirs, sizeof(theirs)) &&
               strcmp(theirs, ours) == 0;
}

/*
 * "0000:06:10.0 (VM 'a', pid 123), ..." for every VF of @pf in use: leased,
 * or on vfio-pci without a lease (another tool's VM: writing the count
 * would wait for it to let go, the removal of a VF waits for its VFIO
 * user); "" for none, NULL on ENOMEM.  A staged VF (idle, its node held
 * by passthrud) is nobody's VM's: with @staged_idle it is not in use
 * (SetNumVFs outside maintenance mode, which it then asks for: its entry
 * ends every stage); without, it is named as such (in maintenance mode,
 * where no stage should be left, nothing is written under one).
 */
/* Why a VF without a lease is in use (vfs_in_use()), or NULL when it is not. */
static const char *unleased_vf_use(const Device *vf, bool staged_idle) {
        if (vf->stage)
                return staged_idle ? NULL : "staged by passthrud: its Reset puts it back on passthru";
        if (device_driver_is(vf, PT_VFIO_DRIVER))
                return "on vfio-pci without a lease of passthrud's: another tool's";
        return NULL;
}

static char *vfs_in_use(Manager *m, const Device *pf, bool staged_idle) {
        char *s = strdup(""), *t;

        for (size_t i = 0; s && i < m->n_devices; i++) {
                const Device *vf = m->devices[i];
                const char *use;
                int r;

                if (strcmp(vf->sys.physfn, pf->address) != 0)
                        continue;
                if (vf->lease)
                        r = asprintf(&t, "%s%s%s (VM '%s', pid %u)", s, *s ? ", " : "", vf->address, vf->lease->vm,
                                     (unsigned) vf->lease->pid);
                else if ((use = unleased_vf_use(vf, staged_idle)))
                        r = asprintf(&t, "%s%s%s (%s)", s, *s ? ", " : "", vf->address, use);
                else
                        continue;
                if (r < 0)
                        t = NULL;
                free(s);
                s = t;
        }
        return s;
}

int sriov_check_set(Manager *m, Device *pf, unsigned n, sd_bus_error *error) {
        _cleanup_free_ char *leases = NULL;

        if (pf->sys.physfn[0])
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%s is a VF (of %s): set the VF count of its PF.", pf->address,
                                         pf->sys.physfn);
        if (pf->sys.total_vfs == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%s has no SR-IOV (no sriov_totalvfs, or its driver offers no VF).",
                                         pf->address);
        if (n > pf->sys.total_vfs)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%s offers at most %u VFs, not %u.", pf->address, pf->sys.total_vfs, n);
        leases = vfs_in_use(m, pf, !m->state.maintenance);
        if (!leases)
                return -ENOMEM;
        if (*leases)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "VFs of %s are in use: %s. Their VMs must let them go first.",
                                         pf->address, leases);
        if (pf->lease || device_marked(pf))
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "%s is itself hidden for passthrough (state %s): its VFs come from its host "
                                         "driver; unhide it first.", pf->address,
                                         device_state_to_string(device_state(pf)));
        if (pf->sriov_busy)
                return sd_bus_error_setf(error, PT_ERROR_DEVICE_BUSY,
                                         "The VF count of %s is being changed already.", pf->address);
        /* The kernel would say ENOENT: the PF's driver makes its VFs. */
        if (n != pf->sys.num_vfs && !pf->sys.driver)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "%s has no driver bound: its host driver makes its VFs (bind it first).",
                                         pf->address);
        if (n > 0 && !m->nl)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "passthru.ko is not loaded: the VFs of %s would go to a host driver.",
                                         pf->address);
        return 0;
}

void sriov_apply_saved(Manager *m) {
        _cleanup_free_ char *leases = NULL;

        for (size_t i = 0; i < m->state.n_devices; i++) {
                const StateDevice *s = &m->state.devices[i];
                _cleanup_free_ char *nlmsg = NULL;
                char rule[SRIOV_RULE_LEN];
                Device *pf;
                int r;

                if (s->num_vfs == 0)
                        continue;
                pf = manager_find_device(m, s->address);
                if (!pf) {
                        log_warning("%s is not there: its %u VFs are not made", s->address, s->num_vfs);
                        continue;
                }
                if (pf->sys.num_vfs == s->num_vfs)
                        continue;
                /* A restart under running VMs (passthrud's or another tool's): their VFs stay as they are. */
                leases = mfree(leases);
                leases = vfs_in_use(m, pf, false);
                if (!leases || *leases) {
                        log_warning("%s has %u VFs, not the %u saved, and some are in use (%s): leaving them as they are",
                                    s->address, pf->sys.num_vfs, s->num_vfs, leases ?: "?");
                        continue;
                }
                if (!m->nl) {
                        log_error("passthru.ko is not loaded: the %u VFs of %s are not made (they would go to a host "
                                  "driver)", s->num_vfs, s->address);
                        continue;
                }
                sriov_vf_rule(s->address, rule);
                r = ptnl_hide(m->nl, rule, &nlmsg);
                if (r < 0 && r != -EEXIST) {
                        log_error_errno(r, "passthru.ko refused HIDE %s (%s): the VFs of %s are not made: %m", rule,
                                        nlmsg ?: "", s->address);
                        continue;
                }
                r = sysfs_set_num_vfs(m->sysfs_root, s->address, s->num_vfs);
                if (r < 0) {
                        log_error_errno(r, "Cannot make %u VFs on %s: %m", s->num_vfs, s->address);
                        continue;
                }
                log_info("Made %u VFs on %s, hidden by %s", s->num_vfs, s->address, rule);
                (void) device_refresh(pf);
        }
}
