/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pci/pci.h>

#include "macro.h"
#include "pci.h"
#include "sysfs.h"

struct PciAccess {
        struct pci_access *pacc;
        char *sysfs_path;               /* root + "/bus/pci", libpci's "sysfs.path" */
        jmp_buf jmp;                    /* where the error hook returns to */
        char error[256];                /* libpci's last fatal message */
};

/*
 * libpci's error hook gets no context and must not return (the default
 * one calls exit()).  Every libpci call that can reach it runs inside
 * a guard (below), which points this at the object for the length of the call;
 * the hook records the message and longjmp()s back there.
 */
static _Thread_local PciAccess *guarded;

__attribute__((noreturn, format(printf, 1, 2)))
static void error_hook(char *msg, ...) {
        PciAccess *a = guarded;
        va_list ap;

        if (!a)
                abort();        /* a libpci call outside a guard (below): a bug here */
        va_start(ap, msg);
        vsnprintf(a->error, sizeof(a->error), msg, ap);
        va_end(ap);
        guarded = NULL;
        longjmp(a->jmp, 1);
}

__attribute__((format(printf, 1, 2)))
static void quiet_hook(char *msg, ...) {
        (void) msg;
}

/*
 * Arm the hook for a, then "if (setjmp(a->jmp) == 0) { libpci calls }
 * else { libpci gave up }", then disarm.  Locals changed in between must
 * be volatile.
 */
static void guard_arm(PciAccess *a) {
        a->error[0] = '\0';
        guarded = a;
}

static void guard_disarm(void) {
        guarded = NULL;
}

static void cleanup_guarded(PciAccess *a) {
        guard_arm(a);
        if (setjmp(a->jmp) == 0)
                pci_cleanup(a->pacc);
        guard_disarm();
}

static int init_guarded(PciAccess *a) {
        guard_arm(a);
        if (setjmp(a->jmp) != 0) {
                guard_disarm();
                return -EIO;
        }
        if (pci_set_param(a->pacc, "sysfs.path", a->sysfs_path) < 0) {
                guard_disarm();
                return -EOPNOTSUPP;
        }
        pci_init(a->pacc);
        guard_disarm();
        return 0;
}

PciAccess *pci_access_close(PciAccess *a) {
        if (!a)
                return NULL;
        if (a->pacc)
                cleanup_guarded(a);
        free(a->sysfs_path);
        free(a);
        return NULL;
}

const char *pci_access_last_error(PciAccess *a) {
        return a ? a->error : "";
}

int pci_access_open(const char *sysfs_root, PciAccess **ret) {
        _cleanup_(pci_access_closep) PciAccess *a = NULL;
        int r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        if (asprintf(&a->sysfs_path, "%s/bus/pci", sysfs_root ?: "/sys") < 0) {
                a->sysfs_path = NULL;
                return -ENOMEM;
        }
        a->pacc = pci_alloc();
        if (!a->pacc)
                return -ENOMEM;
        a->pacc->error = error_hook;
        a->pacc->warning = quiet_hook;
        a->pacc->debug = quiet_hook;
        a->pacc->method = PCI_ACCESS_SYS_BUS_PCI;
        /* pci.ids only: no DNS, no ~/.pciids-cache. */
        a->pacc->id_lookup_mode = 0;
        a->pacc->numeric_ids = 0;

        r = init_guarded(a);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(a);
        return 0;
}

static void fill_bar(PciBar *bar, unsigned index, pciaddr_t addr, pciaddr_t size) {
        bar->index = index;
        bar->size = size;
        bar->io = addr & PCI_BASE_ADDRESS_SPACE_IO;
        if (bar->io) {
                bar->base = addr & PCI_ADDR_IO_MASK;
                return;
        }
        bar->base = addr & PCI_ADDR_MEM_MASK;
        bar->prefetchable = addr & PCI_BASE_ADDRESS_MEM_PREFETCH;
        bar->is64 = (addr & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
}

/* Everything that needs libpci, into *d (stack only: a longjmp() leaks nothing of ours). */
static int details_guarded(PciAccess *a, unsigned dom, unsigned bus, unsigned slot, unsigned fn, PciDetails *d) {
        struct pci_dev *volatile dev = NULL;
        struct pci_cap *cap;

        guard_arm(a);
        if (setjmp(a->jmp) != 0) {
                if (dev)
                        pci_free_dev(dev);
                guard_disarm();
                return -EIO;
        }

        dev = pci_get_dev(a->pacc, dom, bus, slot, fn);
        /*
         * Not PCI_FILL_IDENT nor PCI_FILL_CLASS: sysfs.c has read the ids and
         * class, and libpci would read them again.  Nor PCI_FILL_EXT_CAPS:
         * nothing here is an extended capability, and libpci would walk a
         * PCIe device's extended space one config read a header.
         */
        pci_fill_info(dev, PCI_FILL_BASES | PCI_FILL_SIZES | PCI_FILL_CAPS);

        cap = pci_find_cap(dev, PCI_CAP_ID_EXP, PCI_CAP_NORMAL);
        if (cap) {
                d->pcie = true;
                d->flr = pci_read_long(dev, cap->addr + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLRESET;
        }
        d->msi = pci_find_cap(dev, PCI_CAP_ID_MSI, PCI_CAP_NORMAL);
        d->msix = pci_find_cap(dev, PCI_CAP_ID_MSIX, PCI_CAP_NORMAL);
        cap = pci_find_cap(dev, PCI_CAP_ID_AF, PCI_CAP_NORMAL);
        if (cap) {
                /* As the kernel's af_flr: it wants Transactions Pending too. */
                uint8_t af = pci_read_byte(dev, cap->addr + PCI_AF_CAP);

                if ((af & PCI_AF_CAP_TP) && (af & PCI_AF_CAP_FLR))
                        d->flr = true;
        }

        for (unsigned i = 0; i < ELEMENTSOF(d->bars); i++)
                if (dev->size[i] > 0)
                        fill_bar(&d->bars[d->n_bars++], i, dev->base_addr[i], dev->size[i]);
        pci_free_dev(dev);
        guard_disarm();
        return 0;
}

int pci_access_name(PciAccess *a, uint16_t vendor, uint16_t device, char **ret) {
        char name[256], *n;

        if (!a)
                return -EINVAL;
        guard_arm(a);
        if (setjmp(a->jmp) != 0) {
                guard_disarm();
                return -EIO;
        }
        n = pci_lookup_name(a->pacc, name, sizeof(name),
                            PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB,
                            (int) vendor, (int) device);
        guard_disarm();
        *ret = strdup(n ?: "");
        return *ret ? 0 : -ENOMEM;
}

int pci_access_details(PciAccess *a, const char *address, PciDetails *ret) {
        _cleanup_free_ char *path = NULL;
        PciDetails d = {};
        unsigned dom, bus, slot, fn;
        struct stat st;
        int r;

        if (!a || !pci_address_valid(address))
                return -EINVAL;
        if (sscanf(address, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
                return -EINVAL;

        /* libpci would only find out half way, through its error hook. */
        if (asprintf(&path, "%s/devices/%s", a->sysfs_path, address) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0)
                return errno == ENOENT ? -ENODEV : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENODEV;

        r = details_guarded(a, dom, bus, slot, fn, &d);
        if (r < 0)
                return r;
        *ret = d;
        return 0;
}

void pci_details_done(PciDetails *d) {
        if (!d)
                return;
        *d = (PciDetails) {};
}
