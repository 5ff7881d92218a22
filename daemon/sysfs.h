/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI devices in sysfs.  Every function takes the root of the tree
 * ("/sys" on a running system, NULL means the same; unit tests pass a
 * fake tree) and builds root + "/bus/pci/devices/ADDR/...".  Addresses
 * are canonical ("0000:01:00.0"); anything else is -EINVAL, so no
 * argument can walk out of the tree.  Functions return 0 (or a positive
 * answer) or a negative errno and never log.
 *
 * Writes that go to a driver can block: unbinding vfio-pci sleeps while
 * the group is open.  sysfs_unbind() and sysfs_bind_to() belong in a
 * worker, never on the bus loop.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define PCI_ADDRESS_LEN 13      /* "dddd:bb:ss.f" and its NUL */

/*
 * How many times this file has read the tree (a file, a link, a directory
 * or a stat) since the process started: a figure that does not depend on
 * the machine, for tests that prove a bus call's reads grow linearly.
 */
unsigned long sysfs_reads(void);

/* Canonical form only: lowercase hex, "dddd:bb:ss.f", slot < 0x20, function < 8. */
bool pci_address_valid(const char *s);
/*
 * "0000:01:00.0" or "01:00.0" (domain 0), either case, into the canonical
 * form; -EINVAL for anything else (no whitespace, fixed field widths).
 */
int pci_address_normalize(const char *in, char out[PCI_ADDRESS_LEN]);

typedef struct SysfsPciDevice {
        char address[PCI_ADDRESS_LEN];
        uint16_t vendor, device, subvendor, subdevice;
        uint32_t class;
        char *driver;           /* NULL if none */
        int iommu_group;        /* -1 if none */
        char **reset_methods;   /* from reset_method; empty if missing or empty */
        bool is_bridge;         /* class 0x0604xx */
        /* SR-IOV: a VF's PF ("" for none), a PF's VFs in order (virtfn0, ...; empty for none), its counts. */
        char physfn[PCI_ADDRESS_LEN];
        char **virtfns;
        unsigned total_vfs;     /* sriov_totalvfs; 0 for a device without SR-IOV */
        unsigned num_vfs;       /* sriov_numvfs */
} SysfsPciDevice;

/*
 * -ENODEV if the device is not there (or went away while being read), -EBADMSG on a malformed id file.
 * A bridge (is_bridge) has its class and its group read, nothing else.
 */
int sysfs_pci_read(const char *root, const char *address, SysfsPciDevice *ret);
/* @address's IOMMU group (its iommu_group link) in *ret, -1 without one; -EBADMSG for a link not a number. */
int sysfs_pci_iommu_group(const char *root, const char *address, int *ret);
void sysfs_pci_device_done(SysfsPciDevice *d);

/* Sorted addresses in /bus/pci/devices; an empty list when there is no PCI bus. */
int sysfs_pci_list(const char *root, char ***ret);
/* Sorted addresses in /kernel/iommu_groups/N/devices; -ENOENT if no such group. */
int sysfs_iommu_group_devices(const char *root, int group, char ***ret);

/*
 * Write sriov_numvfs: the PF's driver creates or removes its VFs.  Going
 * from some VFs to another number passes through 0, as the kernel wants.
 * -EOPNOTSUPP without SR-IOV, -ERANGE above sriov_totalvfs.  Can block
 * (removing a VF that a VFIO user holds waits for it): in a worker.
 */
int sysfs_set_num_vfs(const char *root, const char *address, unsigned n);

/* NULL or "" clears the override. */
int sysfs_set_driver_override(const char *root, const char *address, const char *driver);
/*
 * Write the address to .../ADDR/driver/unbind, from a child process of its
 * own (process_write_apart()); 0 if no driver.  Can block (see above).
 */
int sysfs_unbind(const char *root, const char *address);
/*
 * Write the address to bus/pci/drivers/@driver/unbind, in this thread:
 * for a caller that knows the write cannot block (it has the group's node
 * open itself, so no device fd of the group is left and none can be made,
 * and nothing beyond it: sysfs_unbind_waits_beyond_group()).  -ENODEV when the
 * device is not bound to @driver (or not there).
 */
int sysfs_unbind_from(const char *root, const char *driver, const char *address);
/*
 * Can vfio-pci's unbind of the device wait for fds that its group's node,
 * held, does not keep away?  When it has SR-IOV VFs (a virtfn0 link: the
 * unbind removes them, and each VF's removal waits for its own device fds,
 * in groups of their own) or a VFIO device cdev (a vfio-dev/vfioN with a
 * dev file, Linux 6.6+: an fd of /dev/vfio/devices/vfioN holds the device
 * without the group; 6.1-6.5 make vfio-dev/vfioN without a device number).
 * True when it cannot tell.
 */
bool sysfs_unbind_waits_beyond_group(const char *root, const char *address);
/* Write the address to /bus/pci/drivers_probe. */
int sysfs_drivers_probe(const char *root, const char *address);
/*
 * driver_override = driver, unbind the current driver if it is another
 * one, drivers_probe, then check that the driver link names driver
 * (-EIO if not: its module is not loaded, or it refused the device).
 * Can block (see above).
 */
int sysfs_bind_to(const char *root, const char *address, const char *driver);

/*
 * Reset a function.  With a method, pin it in reset_method for the one
 * reset and restore the previous list afterwards (even when the reset
 * failed).  -ENODEV without the device; -ENOTTY when it has no reset file
 * or an empty reset_method; -EOPNOTSUPP when method is not among its
 * methods (or the kernel is too old to pin one); else the first write
 * error: the reset's, then the restore's.
 */
int sysfs_reset(const char *root, const char *address, const char *method);

/* Set or clear Bus Master Enable (bit 2 of PCI_COMMAND) through .../ADDR/config. */
int sysfs_set_bus_master(const char *root, const char *address, bool enable);

/* Enabled when /class/iommu has an entry. */
int sysfs_iommu_state(const char *root, bool *ret_enabled);
/*
 * vfio_iommu_type1's allow_unsafe_interrupts, read now; false when the
 * module is not loaded.  *@fd keeps the parameter's file open between
 * calls (-EBADF at first; the caller closes it): one pread() a grant,
 * opened again when the module went away.
 */
int sysfs_vfio_unsafe_interrupts(const char *root, int *fd, bool *ret);
/* Interrupt remapping is on when proc_root/interrupts shows an "IR-" chip. */
int proc_interrupt_remapping(const char *proc_root, bool *ret);

/* 1 when @address is a PCI-to-PCI bridge (class 0x0604xx), 0 when not; -ENODEV without the device. */
int sysfs_pci_is_bridge(const char *root, const char *address);
/* The driver bound to @address now, in *ret (NULL: none; free() it); -ENODEV without the device. */
int sysfs_pci_driver(const char *root, const char *address, char **ret);
/* A group member on @driver (NULL: none) leaves its group viable: passthru, vfio-pci, pcieport, pci-stub. */
bool pci_driver_keeps_group_viable(const char *driver);

static inline void sysfs_pci_device_donep(SysfsPciDevice *d) {
        sysfs_pci_device_done(d);
}
#define _cleanup_sysfs_pci_device_ __attribute__((cleanup(sysfs_pci_device_donep)))
