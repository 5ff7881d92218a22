/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV: a physical function (PF) stays with its host driver and makes
 * virtual functions (VFs), each a PCI device of its own that passthrud
 * leases like any other.  The VF count that root sets (SetNumVFs) is kept
 * in the state file and applied when passthrud starts, before it serves
 * the bus; its VFs are hidden by passthru.ko's rule for the VFs of that
 * PF, live (HIDE) and at boot (modprobe.d), before they exist.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "device.h"

typedef struct Manager Manager;

/* passthru.ko's rule for every VF of @pf: "(DDDD:BB:SS.F/" "*)". */
#define SRIOV_RULE_LEN (PCI_ADDRESS_LEN + 4)
void sriov_vf_rule(const char *pf, char rule[SRIOV_RULE_LEN]);

/*
 * Does the kernel command line's passthru.hide= give passthru.ko that very
 * rule (an administrator's)?  Then passthru.ko has it from its load on, and
 * a VF count of 0 leaves it there: UNHIDE would drop it until the next boot.
 */
bool sriov_vf_rule_is_the_cmdlines(Manager *m, const char *pf);

/*
 * May @pf's VF count become @n?  It must have SR-IOV (TotalVFs), @n at
 * most TotalVFs, no VF of it leased or on vfio-pci without a lease
 * (DeviceBusy naming each), the
 * PF itself not hidden for passthrough, a driver bound to it (which
 * makes the VFs), passthru.ko reachable to hide the VFs.  Fills @error and returns its negative errno, or 0.
 */
int sriov_check_set(Manager *m, Device *pf, unsigned n, sd_bus_error *error);

/*
 * At start, before serving the bus: for each PF the state file gives a
 * VF count, hide its VFs in passthru.ko and write the count.  Blocks
 * while the PF's driver makes them (~1 s for igb); failures are logged
 * and the others still applied.  A PF with a VF in use (leased: a restart
 * of passthrud under running VMs; or another tool's on vfio-pci) is left
 * as it is.
 */
void sriov_apply_saved(Manager *m);
