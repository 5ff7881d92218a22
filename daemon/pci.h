/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one wrapper around libpci (pciutils): names from pci.ids, BARs and
 * capabilities from config space.  libpci's fatal error hook, which
 * exit()s by default, is caught here and turned into -EIO; libpci's
 * warnings are dropped.  A PciAccess is for one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct PciAccess PciAccess;

/*
 * Read devices below sysfs_root ("/sys"; NULL means the same) through
 * libpci's linux-sysfs method.  Names come from pci.ids only: no
 * network, no cache in $HOME, no udev hwdb.
 */
int pci_access_open(const char *sysfs_root, PciAccess **ret);
PciAccess *pci_access_close(PciAccess *a);
/* libpci's message for the last -EIO from this object, or "". */
const char *pci_access_last_error(PciAccess *a);

typedef struct PciBar {
        unsigned index;         /* 0..5 */
        uint64_t base, size;
        bool io, prefetchable, is64;
} PciBar;

typedef struct PciDetails {
        bool pcie, msi, msix;
        bool flr;               /* PCIe DevCap FLR, or an AF capability with TP and FLR */
        PciBar bars[6];         /* the implemented ones (size > 0), in order */
        unsigned n_bars;
} PciDetails;

/* -EINVAL for a non-canonical address, -ENODEV when absent, -EIO when libpci gave up. */
int pci_access_details(PciAccess *a, const char *address, PciDetails *ret);
/*
 * "Vendor Device" from pci.ids, or "" for ids it does not know, into *ret
 * (free() it).  The first call reads all of pci.ids (~25 million
 * instructions, the largest part of the daemon's start if done there):
 * ask only when a name is wanted.  -EIO when libpci gave up.
 */
int pci_access_name(PciAccess *a, uint16_t vendor, uint16_t device, char **ret);
void pci_details_done(PciDetails *d);

static inline void pci_access_closep(PciAccess **a) {
        pci_access_close(*a);
}
static inline void pci_details_donep(PciDetails *d) {
        pci_details_done(d);
}
