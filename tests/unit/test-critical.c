/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * critical.c against a fake sysfs and /proc: root file systems on stacked
 * block devices, default routes through stacked net devices and the boot
 * console's display.
 */
#include "fake-sysfs.h"

#include <limits.h>

#include "critical.h"
#include "fileio.h"
#include "macro.h"

/* The device asked about, behind a root port; two unrelated ones. */
#define DEV "0000:01:00.0"
#define PORT "0000:00:1c.0"
#define OTHER "0000:02:00.0"
#define THIRD "0000:03:00.0"
#define DEV_DIR "devices/pci0000:00/" PORT "/" DEV
#define OTHER_DIR "devices/pci0000:00/" OTHER
#define THIRD_DIR "devices/pci0000:00/" THIRD

#define NVME0N1 DEV_DIR "/nvme/nvme0/nvme0n1"
#define SDA OTHER_DIR "/ata1/host0/target0:0:0/0:0:0:0/block/sda"
#define SDB DEV_DIR "/ata2/host1/target1:0:0/1:0:0:0/block/sdb"
#define SDC THIRD_DIR "/ata3/host2/target2:0:0/2:0:0:0/block/sdc"
#define VIRTUAL_BLOCK "devices/virtual/block"

#define ETH0_DIR DEV_DIR "/net/eth0"
#define ETH1_DIR OTHER_DIR "/net/eth1"
#define VIRTUAL_NET "devices/virtual/net"

#define ROUTE_HEADER "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
#define V4_DEFAULT(ifname) ifname "\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
#define V4_LAN(ifname) ifname "\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
#define V6_ZERO "00000000000000000000000000000000"
/* The kernel pads the interface to 8 columns. */
#define V6_DEFAULT(ifname)                                                      \
        V6_ZERO " 00 " V6_ZERO " 00 fe800000000000000000000000000001 00000400 00000002 00000000 00450003 " \
        "    " ifname "\n"
#define V6_LAN(ifname)                                                          \
        "fd000000000000000000000000000000 40 " V6_ZERO " 00 " V6_ZERO " 00000100 00000001 00000000 00000001 " \
        "    " ifname "\n"
#define V6_LO_UNREACHABLE                                                       \
        V6_ZERO " 00 " V6_ZERO " 00 " V6_ZERO " ffffffff 00000001 00000000 00200200       lo\n"

/* rel -> target, both inside the tree, as the relative link sysfs makes. */
static void link_to(const char *root, const char *rel, const char *target) {
        char t[PATH_MAX] = "", dir[PATH_MAX];

        snprintf(dir, sizeof(dir), "%s", rel);
        *strrchr(dir, '/') = '\0';
        fake_mkdir_p(root, dir);
        for (const char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/'))
                strcat(t, "../");
        strcat(t, target);
        fake_symlink(root, rel, t);
}

static const char *name_of(const char *dir) {
        return strrchr(dir, '/') + 1;
}

/* A block device's directory, its dev file and its class/block and dev/block links. */
static void add_block(const char *root, const char *dir, const char *devnum) {
        char rel[PATH_MAX];

        fake_mkdir_p(root, dir);
        snprintf(rel, sizeof(rel), "%s/dev", dir);
        fake_writef(root, rel, "%s\n", devnum);
        snprintf(rel, sizeof(rel), "class/block/%s", name_of(dir));
        link_to(root, rel, dir);
        snprintf(rel, sizeof(rel), "dev/block/%s", devnum);
        link_to(root, rel, dir);
}

static void add_partition(const char *root, const char *dir, const char *devnum) {
        char rel[PATH_MAX];

        add_block(root, dir, devnum);
        snprintf(rel, sizeof(rel), "%s/partition", dir);
        fake_write(root, rel, "1\n");
}

/* upper/slaves/NAME -> lower, and lower/holders/NAME -> upper. */
static void add_slave(const char *root, const char *upper, const char *lower) {
        char rel[PATH_MAX];

        snprintf(rel, sizeof(rel), "%s/slaves/%s", upper, name_of(lower));
        link_to(root, rel, lower);
        snprintf(rel, sizeof(rel), "%s/holders/%s", lower, name_of(upper));
        link_to(root, rel, upper);
}

/* passthrud's own mounts: "/" and the file systems of the kernel, a tmpfs and an overlay. */
static void set_root_mount(const char *root, const char *devnum, const char *fstype, const char *source) {
        fake_mkdir_p(root, "proc/self");
        fake_writef(root, "proc/self/mountinfo",
                    "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
                    "1 0 %s / / rw,relatime shared:1 - %s %s rw\n"
                    "23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
                    "24 1 0:23 / /run rw,nosuid,nodev shared:6 - tmpfs tmpfs rw,mode=755\n"
                    "25 1 0:24 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=/a,upperdir=/b\n",
                    devnum, fstype, source);
}

/* PID 1's mounts (the host's): passthrud's, and one more line. */
static void add_host_mount(const char *root, const char *line) {
        _cleanup_free_ char *self = NULL;
        char *path = fake_path(root, "proc/self/mountinfo");
        size_t n;

        assert_int_equal(read_full_file(path, &self, &n), 0);
        free(path);
        fake_mkdir_p(root, "proc/1");
        fake_writef(root, "proc/1/mountinfo", "%s%s\n", self, line);
}

/* A NIC: on a PCI device (its device link) or virtual. */
static void add_nic(const char *root, const char *dir, const char *pci_dir) {
        char rel[PATH_MAX];

        fake_mkdir_p(root, dir);
        snprintf(rel, sizeof(rel), "class/net/%s", name_of(dir));
        link_to(root, rel, dir);
        if (pci_dir) {
                snprintf(rel, sizeof(rel), "%s/device", dir);
                link_to(root, rel, pci_dir);
        }
}

/* upper/lower_NAME -> lower, and lower/upper_NAME -> upper. */
static void add_lower(const char *root, const char *upper, const char *lower) {
        char rel[PATH_MAX];

        snprintf(rel, sizeof(rel), "%s/lower_%s", upper, name_of(lower));
        link_to(root, rel, lower);
        snprintf(rel, sizeof(rel), "%s/upper_%s", lower, name_of(upper));
        link_to(root, rel, upper);
}

static void set_routes(const char *root, const char *v4) {
        fake_mkdir_p(root, "proc/net");
        fake_writef(root, "proc/net/route", ROUTE_HEADER "%s", v4);
}

static void set_ipv6_routes(const char *root, const char *v6) {
        fake_mkdir_p(root, "proc/net");
        fake_write(root, "proc/net/ipv6_route", v6);
}

/* The device's boot_vga, as the kernel has it on a VGA device ("1" on the boot console's). */
static void set_boot_vga(const char *root, const char *dir, const char *value) {
        char rel[PATH_MAX];

        snprintf(rel, sizeof(rel), "%s/boot_vga", dir);
        fake_write(root, rel, value);
}

static int use(const char *root, const char *address, char **what) {
        _cleanup_free_ char *proc = fake_path(root, "proc");

        return critical_device_use(root, proc, address, what);
}

/* Assert that address is under something, described as expected. */
static void assert_critical(const char *root, const char *address, const char *expected) {
        _cleanup_free_ char *what = NULL;

        assert_int_equal(use(root, address, &what), 1);
        assert_non_null(what);
        assert_string_equal(what, expected);
}

static void assert_not_critical(const char *root, const char *address) {
        char *what = NULL;

        assert_int_equal(use(root, address, &what), 0);
        assert_null(what);
}

/*
 * Every test starts from a host whose root is /dev/sda1 on OTHER, whose
 * default routes go through eth1 on OTHER, with eth0 on DEV not routing.
 */
static int setup(void **state) {
        const char *root;

        fake_sysfs_setup(state);
        root = *state;
        fake_mkdir_p(root, DEV_DIR);
        fake_mkdir_p(root, OTHER_DIR);
        fake_mkdir_p(root, THIRD_DIR);
        link_to(root, "bus/pci/devices/" DEV, DEV_DIR);
        link_to(root, "bus/pci/devices/" OTHER, OTHER_DIR);
        link_to(root, "bus/pci/devices/" THIRD, THIRD_DIR);
        add_block(root, SDA, "8:0");
        add_partition(root, SDA "/sda1", "8:1");
        add_block(root, SDC, "8:32");
        add_partition(root, SDC "/sdc1", "8:33");
        set_root_mount(root, "8:1", "ext4", "/dev/sda1");
        add_nic(root, VIRTUAL_NET "/lo", NULL);
        add_nic(root, ETH0_DIR, DEV_DIR);
        add_nic(root, ETH1_DIR, OTHER_DIR);
        set_routes(root, V4_DEFAULT("eth1") V4_LAN("eth1") V4_LAN("eth0"));
        set_ipv6_routes(root, V6_LAN("eth0") V6_LO_UNREACHABLE);
        return 0;
}

/* Root file system */

static void root_on_partition_of_device_is_critical(void **state) {
        const char *root = *state;

        add_block(root, NVME0N1, "259:0");
        add_partition(root, NVME0N1 "/nvme0n1p2", "259:2");
        set_root_mount(root, "259:2", "ext4", "/dev/nvme0n1p2");
        assert_critical(root, DEV, "the root file system (/dev/nvme0n1p2 on nvme0n1p2)");
        /* The root port above it carries it as much. */
        assert_critical(root, PORT, "the root file system (/dev/nvme0n1p2 on nvme0n1p2)");
        assert_not_critical(root, THIRD);
}

static void root_on_lvm_over_dm_crypt_over_partition_is_critical(void **state) {
        const char *root = *state;

        add_block(root, NVME0N1, "259:0");
        add_partition(root, NVME0N1 "/nvme0n1p3", "259:3");
        add_block(root, VIRTUAL_BLOCK "/dm-0", "253:0");
        add_block(root, VIRTUAL_BLOCK "/dm-1", "253:1");
        add_slave(root, VIRTUAL_BLOCK "/dm-0", NVME0N1 "/nvme0n1p3");
        add_slave(root, VIRTUAL_BLOCK "/dm-1", VIRTUAL_BLOCK "/dm-0");
        set_root_mount(root, "253:1", "ext4", "/dev/mapper/vg-root");
        assert_critical(root, DEV, "the root file system (/dev/mapper/vg-root on dm-1, via nvme0n1p3)");
        assert_not_critical(root, THIRD);
}

static void root_on_md_raid1_with_one_leg_on_device_is_critical(void **state) {
        const char *root = *state;

        add_block(root, SDB, "8:16");
        add_partition(root, SDB "/sdb1", "8:17");
        add_block(root, VIRTUAL_BLOCK "/md0", "9:0");
        add_slave(root, VIRTUAL_BLOCK "/md0", SDA "/sda1");
        add_slave(root, VIRTUAL_BLOCK "/md0", SDB "/sdb1");
        set_root_mount(root, "9:0", "ext4", "/dev/md0");
        assert_critical(root, DEV, "the root file system (/dev/md0 on md0, via sdb1)");
        assert_critical(root, OTHER, "the root file system (/dev/md0 on md0, via sda1)");
        assert_not_critical(root, THIRD);
}

static void root_on_partition_of_md_follows_the_array(void **state) {
        const char *root = *state;

        add_block(root, SDB, "8:16");
        add_block(root, VIRTUAL_BLOCK "/md0", "9:0");
        add_partition(root, VIRTUAL_BLOCK "/md0/md0p1", "259:5");
        add_slave(root, VIRTUAL_BLOCK "/md0", SDA);
        add_slave(root, VIRTUAL_BLOCK "/md0", SDB);
        set_root_mount(root, "259:5", "xfs", "/dev/md0p1");
        assert_critical(root, DEV, "the root file system (/dev/md0p1 on md0p1, via sdb)");
}

static void root_on_btrfs_with_a_device_on_it_is_critical(void **state) {
        const char *root = *state;
        const char *fs = "fs/btrfs/6a5e5c6e-7b8f-4f5e-9d3a-2b1c0d9e8f7a/devices";
        const char *other_fs = "fs/btrfs/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/devices";
        char rel[PATH_MAX];

        add_partition(root, SDA "/sda2", "8:2");
        add_block(root, SDB, "8:16");
        add_partition(root, SDB "/sdb2", "8:18");
        /* The root file system on sda2 and sdb2; another one on sdc1. */
        snprintf(rel, sizeof(rel), "%s/sda2", fs);
        link_to(root, rel, SDA "/sda2");
        snprintf(rel, sizeof(rel), "%s/sdb2", fs);
        link_to(root, rel, SDB "/sdb2");
        snprintf(rel, sizeof(rel), "%s/sdc1", other_fs);
        link_to(root, rel, SDC "/sdc1");
        fake_mkdir_p(root, "fs/btrfs/features");
        set_root_mount(root, "0:31", "btrfs", "/dev/sda2");
        assert_critical(root, DEV, "the root file system (/dev/sda2 on btrfs, via sdb2)");
        assert_critical(root, OTHER, "the root file system (/dev/sda2 on btrfs, via sda2)");
        assert_not_critical(root, THIRD);
}

static void root_on_btrfs_over_dm_crypt_is_found_by_mapper_name(void **state) {
        const char *root = *state;

        add_block(root, NVME0N1, "259:0");
        add_partition(root, NVME0N1 "/nvme0n1p2", "259:2");
        add_block(root, VIRTUAL_BLOCK "/dm-0", "253:0");
        add_slave(root, VIRTUAL_BLOCK "/dm-0", NVME0N1 "/nvme0n1p2");
        fake_mkdir_p(root, VIRTUAL_BLOCK "/dm-0/dm");
        fake_write(root, VIRTUAL_BLOCK "/dm-0/dm/name", "cryptroot\n");
        link_to(root, "fs/btrfs/6a5e5c6e-7b8f-4f5e-9d3a-2b1c0d9e8f7a/devices/dm-0", VIRTUAL_BLOCK "/dm-0");
        link_to(root, "fs/btrfs/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/devices/sdc1", SDC "/sdc1");
        set_root_mount(root, "0:31", "btrfs", "/dev/mapper/cryptroot");
        assert_critical(root, DEV, "the root file system (/dev/mapper/cryptroot on btrfs, via nvme0n1p2)");
        assert_not_critical(root, THIRD);
}

static void root_on_btrfs_from_dev_root_needs_a_single_file_system(void **state) {
        const char *root = *state;

        /* No initramfs: the kernel mounted "/dev/root", which names no device. */
        add_block(root, SDB, "8:16");
        link_to(root, "fs/btrfs/6a5e5c6e-7b8f-4f5e-9d3a-2b1c0d9e8f7a/devices/sdb", SDB);
        fake_mkdir_p(root, "fs/btrfs/features");
        set_root_mount(root, "0:31", "btrfs", "/dev/root");
        assert_critical(root, DEV, "the root file system (/dev/root on btrfs, via sdb)");
        assert_not_critical(root, THIRD);
        /* With two file systems, either could be it: every device with a disk carries it (it was none). */
        link_to(root, "fs/btrfs/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/devices/sdc1", SDC "/sdc1");
        assert_critical(root, DEV, "the root file system (/dev/root on btrfs), whose disks passthrud cannot "
                        "tell apart: sdb is a disk here, as any could be one of them");
        assert_critical(root, THIRD, "the root file system (/dev/root on btrfs), whose disks passthrud cannot "
                        "tell apart: sdc is a disk here, as any could be one of them");
}

static void root_on_nvme_multipath_head_follows_its_controllers(void **state) {
        const char *root = *state;

        /* The subsystem links to its controller nvme0; nvme1 belongs to another one. */
        fake_mkdir_p(root, DEV_DIR "/nvme/nvme0");
        fake_mkdir_p(root, THIRD_DIR "/nvme/nvme1");
        link_to(root, "devices/virtual/nvme-subsystem/nvme-subsys0/nvme0", DEV_DIR "/nvme/nvme0");
        add_block(root, "devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1", "259:0");
        add_partition(root, "devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1/nvme0n1p1", "259:1");
        set_root_mount(root, "259:1", "ext4", "/dev/nvme0n1p1");
        assert_critical(root, DEV, "the root file system (/dev/nvme0n1p1 on nvme0n1p1, via nvme0)");
        assert_not_critical(root, THIRD);
}

static void root_on_another_device_is_not_critical(void **state) {
        const char *root = *state;

        add_block(root, NVME0N1, "259:0");
        add_partition(root, NVME0N1 "/nvme0n1p1", "259:1");
        assert_not_critical(root, DEV);
        assert_critical(root, OTHER, "the root file system (/dev/sda1 on sda1)");
}

/* An overlay's layers are on other mounts; a tmpfs is in memory. */
static void root_on_overlay_or_tmpfs_is_on_no_device(void **state) {
        const char *root = *state;

        set_root_mount(root, "0:27", "overlay", "overlay");
        set_routes(root, "");
        assert_not_critical(root, OTHER);
        assert_not_critical(root, DEV);
        set_root_mount(root, "0:2", "tmpfs", "tmpfs");
        assert_not_critical(root, OTHER);
        /* A live system's medium, under its overlay: the medium's device carries it. */
        add_host_mount(root, "40 1 8:33 / /run/live/medium ro,noatime - iso9660 /dev/sdc1 ro");
        assert_critical(root, THIRD, "the file system on /run/live/medium (/dev/sdc1 on sdc1)");
}

/* ZFS's pools name no block device: every PCI device with a disk counts (it was none: a Proxmox root pool's controller taken live). */
static void root_on_zfs_makes_every_device_with_a_disk_critical(void **state) {
        const char *root = *state;

        set_root_mount(root, "0:25", "zfs", "rpool/ROOT/pve-1");
        assert_critical(root, OTHER, "the root file system (rpool/ROOT/pve-1 on zfs), whose disks passthrud "
                        "cannot tell apart: sda is a disk here, as any could be one of them");
        assert_critical(root, THIRD, "the root file system (rpool/ROOT/pve-1 on zfs), whose disks passthrud "
                        "cannot tell apart: sdc is a disk here, as any could be one of them");
        /* DEV has no disk: its NIC is free to go. */
        assert_not_critical(root, DEV);
}

/* Every mount counts, not "/" alone: /var on DEV's disk (it was not critical). */
static void a_mount_besides_root_is_critical(void **state) {
        const char *root = *state;

        add_block(root, SDB, "8:16");
        add_partition(root, SDB "/sdb1", "8:17");
        assert_not_critical(root, DEV);
        add_host_mount(root, "31 1 8:17 / /var rw,relatime shared:7 - ext4 /dev/sdb1 rw");
        assert_critical(root, DEV, "the file system on /var (/dev/sdb1 on sdb1)");
        assert_critical(root, OTHER, "the root file system (/dev/sda1 on sda1)");
}

/* PID 1's mounts, the host's: systemd's ProtectHome= hides /home from passthrud's own. */
static void a_mount_only_the_host_sees_is_critical(void **state) {
        const char *root = *state;

        add_block(root, SDB, "8:16");
        add_partition(root, SDB "/sdb3", "8:19");
        add_host_mount(root, "32 1 8:19 / /home rw,relatime shared:8 - xfs /dev/sdb3 rw");
        assert_critical(root, DEV, "the file system on /home (/dev/sdb3 on sdb3)");
}

/* A swap partition, by its name or its device mapper name (it was not critical). */
static void swap_on_the_device_is_critical(void **state) {
        const char *root = *state;

        add_block(root, SDB, "8:16");
        add_partition(root, SDB "/sdb2", "8:18");
        fake_writef(root, "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                    "/swapfile                               file\t\t1048572\t\t0\t\t-2\n");
        assert_not_critical(root, DEV);
        fake_writef(root, "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                    "/dev/sdb2                               partition\t8388604\t\t0\t\t-2\n");
        assert_critical(root, DEV, "swap (/dev/sdb2 on sdb2)");
        add_block(root, VIRTUAL_BLOCK "/dm-2", "253:2");
        add_slave(root, VIRTUAL_BLOCK "/dm-2", SDB "/sdb2");
        fake_mkdir_p(root, VIRTUAL_BLOCK "/dm-2/dm");
        fake_write(root, VIRTUAL_BLOCK "/dm-2/dm/name", "vg-swap\n");
        fake_writef(root, "proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                    "/dev/mapper/vg-swap                     partition\t8388604\t\t0\t\t-2\n");
        assert_critical(root, DEV, "swap (/dev/mapper/vg-swap on dm-2, via sdb2)");
        assert_not_critical(root, THIRD);
}

/* Default routes */

static void ipv4_default_route_via_bridge_port_on_device_is_critical(void **state) {
        const char *root = *state;

        /* Ports only in brif/, as on kernels without lower_ links. */
        add_nic(root, VIRTUAL_NET "/br0", NULL);
        fake_mkdir_p(root, ETH0_DIR "/brport");
        link_to(root, VIRTUAL_NET "/br0/brif/eth0", ETH0_DIR "/brport");
        set_routes(root, V4_DEFAULT("br0") V4_LAN("br0"));
        assert_critical(root, DEV, "the default route (IPv4, br0 via eth0)");
        assert_not_critical(root, THIRD);
}

static void ipv4_default_route_via_bond_slave_on_device_is_critical(void **state) {
        const char *root = *state;

        add_nic(root, VIRTUAL_NET "/bond0", NULL);
        fake_mkdir_p(root, VIRTUAL_NET "/bond0/bonding");
        fake_write(root, VIRTUAL_NET "/bond0/bonding/slaves", "eth1 eth0\n");
        set_routes(root, V4_DEFAULT("bond0"));
        assert_critical(root, DEV, "the default route (IPv4, bond0 via eth0)");
        assert_not_critical(root, THIRD);
}

static void ipv4_default_route_via_vlan_over_device_is_critical(void **state) {
        const char *root = *state;

        add_nic(root, VIRTUAL_NET "/eth0.100", NULL);
        add_lower(root, VIRTUAL_NET "/eth0.100", ETH0_DIR);
        set_routes(root, V4_LAN("eth0") V4_DEFAULT("eth0.100"));
        assert_critical(root, DEV, "the default route (IPv4, eth0.100 via eth0)");
}

static void ipv4_default_route_on_device_names_the_interface(void **state) {
        const char *root = *state;

        set_routes(root, V4_DEFAULT("eth0"));
        assert_critical(root, DEV, "the default route (IPv4, eth0)");
}

static void ipv6_only_default_route_is_critical(void **state) {
        const char *root = *state;

        add_nic(root, VIRTUAL_NET "/br0", NULL);
        add_lower(root, VIRTUAL_NET "/br0", ETH0_DIR);
        set_routes(root, V4_LAN("br0"));
        set_ipv6_routes(root, V6_LAN("br0") V6_DEFAULT("br0") V6_LO_UNREACHABLE);
        assert_critical(root, DEV, "the default route (IPv6, br0 via eth0)");
        assert_not_critical(root, THIRD);
}

static void default_route_on_unrelated_nic_is_not_critical(void **state) {
        const char *root = *state;

        /* eth0 has routes, but not a default one, or one that is down. */
        add_nic(root, THIRD_DIR "/net/eth2", THIRD_DIR);
        set_routes(root, V4_DEFAULT("eth2") V4_LAN("eth0")
                   "eth0\t00000000\t0102A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0\n");
        set_ipv6_routes(root, V6_LAN("eth0") V6_DEFAULT("eth2") V6_LO_UNREACHABLE
                        V6_ZERO " 60 " V6_ZERO " 00 " V6_ZERO " 00000100 00000001 00000000 00000001     eth0\n");
        assert_not_critical(root, DEV);
        assert_critical(root, THIRD, "the default route (IPv4, eth2)");
}

static void missing_ipv6_route_is_fine(void **state) {
        const char *root = *state;

        fake_unlink(root, "proc/net/ipv6_route");
        assert_not_critical(root, DEV);
        set_routes(root, V4_DEFAULT("eth0"));
        assert_critical(root, DEV, "the default route (IPv4, eth0)");
}

static void loop_in_lower_links_does_not_hang(void **state) {
        const char *root = *state;

        add_nic(root, VIRTUAL_NET "/br0", NULL);
        add_nic(root, VIRTUAL_NET "/bond0", NULL);
        add_lower(root, VIRTUAL_NET "/br0", VIRTUAL_NET "/bond0");
        add_lower(root, VIRTUAL_NET "/bond0", VIRTUAL_NET "/br0");
        add_lower(root, VIRTUAL_NET "/br0", VIRTUAL_NET "/br0");
        fake_mkdir_p(root, VIRTUAL_NET "/bond0/bonding");
        fake_write(root, VIRTUAL_NET "/bond0/bonding/slaves", "br0 bond0\n");
        set_routes(root, V4_DEFAULT("br0"));
        set_ipv6_routes(root, V6_DEFAULT("bond0"));
        assert_not_critical(root, DEV);
        assert_not_critical(root, THIRD);
}

static void loop_in_slaves_does_not_hang(void **state) {
        const char *root = *state;

        add_block(root, VIRTUAL_BLOCK "/dm-0", "253:0");
        add_block(root, VIRTUAL_BLOCK "/dm-1", "253:1");
        add_slave(root, VIRTUAL_BLOCK "/dm-0", VIRTUAL_BLOCK "/dm-1");
        add_slave(root, VIRTUAL_BLOCK "/dm-1", VIRTUAL_BLOCK "/dm-0");
        set_root_mount(root, "253:0", "ext4", "/dev/mapper/loop");
        assert_not_critical(root, DEV);
}

/* The boot console's display */

/* The GPU the console is on, or a BMC's VGA with the remote console (it was not critical). */
static void boot_vga_device_is_critical(void **state) {
        const char *root = *state;

        assert_not_critical(root, DEV);
        set_boot_vga(root, DEV_DIR, "1\n");
        assert_critical(root, DEV, "the boot console's display (boot_vga)");
        assert_not_critical(root, THIRD);
}

/* Another VGA device says "0"; a device that is not VGA has no boot_vga. */
static void other_vga_or_no_boot_vga_is_not_critical(void **state) {
        const char *root = *state;

        set_boot_vga(root, THIRD_DIR, "0\n");
        assert_not_critical(root, THIRD);
        assert_not_critical(root, DEV);
        /* A device that is not there has none either. */
        assert_not_critical(root, "0000:04:00.0");
}

/* The host needs its root more than its console: that is named. */
static void file_system_is_named_before_the_console(void **state) {
        const char *root = *state;

        set_boot_vga(root, OTHER_DIR, "1\n");
        assert_critical(root, OTHER, "the root file system (/dev/sda1 on sda1)");
}

/* Failures */

static void invalid_address_is_einval(void **state) {
        const char *root = *state;
        char *what = NULL;

        assert_int_equal(use(root, "01:00.0", &what), -EINVAL);
        assert_int_equal(use(root, "../../..", &what), -EINVAL);
        assert_int_equal(use(root, NULL, &what), -EINVAL);
        assert_null(what);
}

static void missing_mountinfo_or_root_mount_is_an_error(void **state) {
        const char *root = *state;
        char *what = NULL;

        fake_writef(root, "proc/self/mountinfo",
                    "23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n");
        assert_int_equal(use(root, DEV, &what), -ENOENT);
        fake_unlink(root, "proc/self/mountinfo");
        assert_int_equal(use(root, DEV, &what), -ENOENT);
        assert_null(what);
}

/* Unsure is an error, as for any other input that cannot be read: the caller refuses. */
static void unreadable_or_unknown_boot_vga_is_an_error(void **state) {
        const char *root = *state;
        char *what = NULL;

        fake_mkdir_p(root, DEV_DIR "/boot_vga");
        assert_int_equal(use(root, DEV, &what), -EISDIR);
        fake_write(root, THIRD_DIR "/boot_vga", "2\n");
        assert_int_equal(use(root, THIRD, &what), -EBADMSG);
        fake_write(root, THIRD_DIR "/boot_vga", "");
        assert_int_equal(use(root, THIRD, &what), -EBADMSG);
        assert_null(what);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, fake_sysfs_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(root_on_partition_of_device_is_critical),
                T(root_on_lvm_over_dm_crypt_over_partition_is_critical),
                T(root_on_md_raid1_with_one_leg_on_device_is_critical),
                T(root_on_partition_of_md_follows_the_array),
                T(root_on_btrfs_with_a_device_on_it_is_critical),
                T(root_on_btrfs_over_dm_crypt_is_found_by_mapper_name),
                T(root_on_btrfs_from_dev_root_needs_a_single_file_system),
                T(root_on_nvme_multipath_head_follows_its_controllers),
                T(root_on_another_device_is_not_critical),
                T(root_on_overlay_or_tmpfs_is_on_no_device),
                T(root_on_zfs_makes_every_device_with_a_disk_critical),
                T(a_mount_besides_root_is_critical),
                T(a_mount_only_the_host_sees_is_critical),
                T(swap_on_the_device_is_critical),
                T(ipv4_default_route_via_bridge_port_on_device_is_critical),
                T(ipv4_default_route_via_bond_slave_on_device_is_critical),
                T(ipv4_default_route_via_vlan_over_device_is_critical),
                T(ipv4_default_route_on_device_names_the_interface),
                T(ipv6_only_default_route_is_critical),
                T(default_route_on_unrelated_nic_is_not_critical),
                T(missing_ipv6_route_is_fine),
                T(loop_in_lower_links_does_not_hang),
                T(loop_in_slaves_does_not_hang),
                T(boot_vga_device_is_critical),
                T(other_vga_or_no_boot_vga_is_not_critical),
                T(file_system_is_named_before_the_console),
                T(invalid_address_is_einval),
                T(missing_mountinfo_or_root_mount_is_an_error),
                T(unreadable_or_unknown_boot_vga_is_an_error),
        };

        /* A walk that loops must fail the suite, not hang it. */
        alarm(60);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
