/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Does the host need a PCI device to keep running: is a mounted file system
 * on it (the root's or any other), a swap partition, or a default route
 * through it?  Taking such a device live would pull the floor from under
 * the host.  Or is it the boot console's display (the GPU, or a BMC's VGA
 * that carries the remote console)?  Taking it leaves the host without its
 * console: single-GPU passthrough does that on purpose, with Force.
 *
 * File systems: each line of PROC/1/mountinfo (the host's mounts; this
 * process's own when PID 1's cannot be read) names a block device
 * (SYSFS/dev/block/M:m), or for btrfs (an anonymous 0:N) the file system
 * whose SYSFS/fs/btrfs/FSID/devices/ holds the mount's source.  One whose
 * disks cannot be told (ZFS; btrfs from "/dev/root" beside other btrfs
 * file systems) is on every PCI device with a disk (SYSFS/class/block).
 * Swap: PROC/swaps' partitions.  From there the walk follows what the
 * block layer stacks: slaves/ (dm: LVM, dm-crypt, multipath; md), a
 * partition's disk, and an NVMe multipath head's controllers.
 *
 * The default routes: PROC/net/route and PROC/net/ipv6_route (missing when
 * IPv6 is off: no routes).  From each route's interface the walk follows the
 * net devices below it: lower_* links (bridge, bond, VLAN, macvlan...), a
 * bridge's brif/ and a bond's bonding/slaves.
 *
 * The boot console's display: SYSFS/bus/pci/devices/ADDR/boot_vga says "1"
 * (the kernel's vga_default_device(); "0" on other VGA devices, none on
 * devices that are not VGA).
 *
 * A device is on the PCI device when its sysfs path (symlinks resolved)
 * runs through the device's directory.
 */
#pragma once

/*
 * sysfs and proc are the roots of the trees (NULL: "/sys" and "/proc"),
 * address a canonical PCI address.  Returns 1 and *ret_what = a malloc()ed
 * phrase such as "the root file system (/dev/mapper/vg-root on dm-1, via
 * nvme0n1p3)", "the file system on /var (...)", "swap (/dev/sdb2 on sdb2)",
 * "the default route (IPv6, br0 via eth0)" or "the boot console's display
 * (boot_vga)" when the device is under one (named in that order: the root
 * file system's first); 0 (*ret_what untouched) when it is under none; a
 * negative errno when something that must be read could not be: -EINVAL for
 * a bad address, mountinfo's errors (-ENOENT too when it has no "/" mount),
 * -ELOOP for a stack deeper than any real one, boot_vga's errors (but a
 * missing one) and -EBADMSG when it says neither "0" nor "1".
 */
int critical_device_use(const char *sysfs, const char *proc, const char *address, char **ret_what);
