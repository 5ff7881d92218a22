/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysfs.c against a fake sysfs tree: what it reads, and what it writes where. */
#include "fake-sysfs.h"

#include <dirent.h>
#include <pthread.h>

#include "passthru-names.h"
#include "strv.h"
#include "sysfs.h"

#define A1 "0000:01:00.0"
#define A2 "0000:02:00.0"
#define A3 "0000:00:1c.0"

static const char *dev_file(const char *address, const char *file) {
        static char buf[256];

        snprintf(buf, sizeof(buf), "bus/pci/devices/%s/%s", address, file);
        return buf;
}

/* Addresses */

static void address_valid_accepts_only_canonical(void **state) {
        (void) state;
        assert_true(pci_address_valid("0000:01:00.0"));
        assert_true(pci_address_valid("ffff:ff:1f.7"));
        assert_false(pci_address_valid(NULL));
        assert_false(pci_address_valid(""));
        assert_false(pci_address_valid("01:00.0"));
        assert_false(pci_address_valid("0000:0A:00.0"));
        assert_false(pci_address_valid("0000:01:20.0"));
        assert_false(pci_address_valid("0000:01:00.8"));
        assert_false(pci_address_valid("0000:01:00.0 "));
        assert_false(pci_address_valid("0000-01:00.0"));
        assert_false(pci_address_valid("../../../..."));
}

static void address_normalize_adds_domain_and_lowercases(void **state) {
        char out[PCI_ADDRESS_LEN];

        (void) state;
        assert_int_equal(pci_address_normalize("01:00.0", out), 0);
        assert_string_equal(out, "0000:01:00.0");
        assert_int_equal(pci_address_normalize("0000:0A:1F.7", out), 0);
        assert_string_equal(out, "0000:0a:1f.7");
        assert_int_equal(pci_address_normalize("ABCD:ef:00.1", out), 0);
        assert_string_equal(out, "abcd:ef:00.1");
}

static void address_normalize_rejects_malformed(void **state) {
        static const char *const bad[] = {
                "", "1:0.0", "01:00", "01:20.0", "01:00.8", "0000:01:00.0\n", " 01:00.0",
                "00000:01:00.0", "0g:00.0", "01.00.0", "01:00:0", "0000:01:00.a",
        };
        char out[PCI_ADDRESS_LEN];

        (void) state;
        assert_int_equal(pci_address_normalize(NULL, out), -EINVAL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(pci_address_normalize(bad[i], out), -EINVAL);
}

static void read_sriov_pf_and_vfs(void **state) {
        const char *root = *state;
        _cleanup_sysfs_pci_device_ SysfsPciDevice pf = {}, vf = {}, other = {};

        fake_sriov(root, 7, 2);
        fake_pci_add(root, &(FakePci) { .address = A1 });
        assert_int_equal(sysfs_pci_read(root, "0000:06:00.0", &pf), 0);
        assert_int_equal(pf.total_vfs, 7);
        assert_int_equal(pf.num_vfs, 2);
        assert_string_equal(pf.physfn, "");
        assert_int_equal(strv_length(pf.virtfns), 2);
        assert_string_equal(pf.virtfns[0], "0000:06:10.0");
        assert_string_equal(pf.virtfns[1], "0000:06:10.2");
        assert_int_equal(sysfs_pci_read(root, "0000:06:10.2", &vf), 0);
        assert_string_equal(vf.physfn, "0000:06:00.0");
        assert_int_equal(vf.total_vfs, 0);
        assert_int_equal(strv_length(vf.virtfns), 0);
        assert_int_equal(sysfs_pci_read(root, A1, &other), 0);
        assert_string_equal(other.physfn, "");
        assert_int_equal(other.total_vfs, 0);
        assert_non_null(other.virtfns);
}

static void read_sriov_malformed_count_is_ebadmsg(void **state) {
        static const char *const bad[] = { "", "x", "-1", "70000", "2 ", "0x2" };
        const char *root = *state;

        fake_sriov(root, 7, 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                SysfsPciDevice d = {};

                fake_write(root, "devices/pci0000:00/0000:06:00.0/sriov_totalvfs", bad[i]);
                assert_int_equal(sysfs_pci_read(root, "0000:06:00.0", &d), -EBADMSG);
        }
}

static void set_num_vfs_writes_the_count_within_totalvfs(void **state) {
        const char *root = *state;
        char *text;

        fake_sriov(root, 7, 0);
        assert_int_equal(sysfs_set_num_vfs(root, "0000:06:00.0", 3), 0);
        text = fake_read(root, "devices/pci0000:00/0000:06:00.0/sriov_numvfs");
        assert_string_equal(text, "3");
        free(text);
        assert_int_equal(sysfs_set_num_vfs(root, "0000:06:00.0", 8), -ERANGE);
        assert_int_equal(sysfs_set_num_vfs(root, A1, 1), -ENODEV);
        fake_pci_add(root, &(FakePci) { .address = A1 });
        assert_int_equal(sysfs_set_num_vfs(root, A1, 1), -EOPNOTSUPP);
        assert_int_equal(sysfs_set_num_vfs(root, "06:00.0", 1), -EINVAL);
}

/* Reading a device */

static void read_returns_ids_class_driver_group_and_reset_methods(void **state) {
        const char *root = *state;
        _cleanup_sysfs_pci_device_ SysfsPciDevice d = {};

        fake_pci_add(root, &(FakePci) {
                .address = A1, .vendor = 0x8086, .device = 0x10d3, .subvendor = 0x8086,
                .subdevice = 0xa01f, .class = 0x020000, .driver = PT_STUB_DRIVER,
                .iommu_group = 7, .reset_method = "flr bus",
        });
        assert_int_equal(sysfs_pci_read(root, A1, &d), 0);
        assert_string_equal(d.address, A1);
        assert_int_equal(d.vendor, 0x8086);
        assert_int_equal(d.device, 0x10d3);
        assert_int_equal(d.subvendor, 0x8086);
        assert_int_equal(d.subdevice, 0xa01f);
        assert_int_equal(d.class, 0x020000);
        assert_string_equal(d.driver, PT_STUB_DRIVER);
        assert_int_equal(d.iommu_group, 7);
        assert_int_equal(strv_length(d.reset_methods), 2);
        assert_string_equal(d.reset_methods[0], "flr");
        assert_string_equal(d.reset_methods[1], "bus");
        assert_false(d.is_bridge);
}

static void read_device_without_driver_group_or_reset_method(void **state) {
        const char *root = *state;
        _cleanup_sysfs_pci_device_ SysfsPciDevice d = {};

        fake_pci_add(root, &(FakePci) { .address = A1, .no_reset_method = true });
        assert_int_equal(sysfs_pci_read(root, A1, &d), 0);
        assert_null(d.driver);
        assert_int_equal(d.iommu_group, -1);
        assert_non_null(d.reset_methods);
        assert_int_equal(strv_length(d.reset_methods), 0);
}

static void read_empty_reset_method_gives_empty_list(void **state) {
        const char *root = *state;
        _cleanup_sysfs_pci_device_ SysfsPciDevice d = {};

        fake_pci_add(root, &(FakePci) { .address = A1, .reset_method = "" });
        assert_int_equal(sysfs_pci_read(root, A1, &d), 0);
        assert_non_null(d.reset_methods);
        assert_int_equal(strv_length(d.reset_methods), 0);
}

/* The kernel shows driver_override under the device's lock (a reset holds it): never read (a directory here). */
static void read_leaves_driver_override_alone(void **state) {
        const char *root = *state;
        _cleanup_sysfs_pci_device_ SysfsPciDevice d = {};

        fake_pci_add(root, &(FakePci) { .address = A1, .driver_override = PT_VFIO_DRIVER });
        fake_unlink(root, dev_file(A1, "driver_override"));
        fake_mkdir_p(root, dev_file(A1, "driver_override"));
        assert_int_equal(sysfs_pci_read(root, A1, &d), 0);
        assert_string_equal(d.address, A1);
}

/* A bridge is read no further than its class and its group: two reads. */
static void read_of_a_bridge_stops_at_its_class_and_group(void **state) {
        const char *root = *state;
        _cleanup_sysfs_pci_device_ SysfsPciDevice d = {};
        unsigned long before;

        fake_pci_add(root, &(FakePci) { .address = A3, .class = 0x060400, .driver = "pcieport", .iommu_group = 5 });
        before = sysfs_reads();
        assert_int_equal(sysfs_pci_read(root, A3, &d), 0);
        assert_int_equal(sysfs_reads() - before, 2);
        assert_true(d.is_bridge);
        assert_int_equal(d.class, 0x060400);
        assert_int_equal(d.iommu_group, 5);
        assert_string_equal(d.address, A3);
        assert_null(d.driver);
        assert_int_equal(d.vendor, 0);
}

/* A file where a device's directory would be is no device. */
static void read_of_a_file_in_the_devices_place_is_enodev(void **state) {
        const char *root = *state;
        SysfsPciDevice d = {};

        fake_write(root, "bus/pci/devices/" A1, "not a device\n");
        assert_int_equal(sysfs_pci_read(root, A1, &d), -ENODEV);
}

static void read_missing_device_is_enodev(void **state) {
        const char *root = *state;
        SysfsPciDevice d = {};

        assert_int_equal(sysfs_pci_read(root, A1, &d), -ENODEV);
        assert_null(d.driver);
}

static void read_device_losing_its_files_is_enodev(void **state) {
        const char *root = *state;
        SysfsPciDevice d = {};

        /* Hot-unplug between the directory check and the reads. */
        fake_pci_add(root, &(FakePci) { .address = A1 });
        fake_unlink(root, dev_file(A1, "class"));
        assert_int_equal(sysfs_pci_read(root, A1, &d), -ENODEV);
}

static void read_malformed_id_file_is_ebadmsg(void **state) {
        const char *root = *state;
        SysfsPciDevice d = {};

        fake_pci_add(root, &(FakePci) { .address = A1 });
        fake_write(root, dev_file(A1, "vendor"), "8086\n");
        assert_int_equal(sysfs_pci_read(root, A1, &d), -EBADMSG);
        fake_write(root, dev_file(A1, "vendor"), "0x18086\n");
        assert_int_equal(sysfs_pci_read(root, A1, &d), -EBADMSG);
        fake_write(root, dev_file(A1, "vendor"), "0x8086 junk\n");
        assert_int_equal(sysfs_pci_read(root, A1, &d), -EBADMSG);
}

static void every_device_function_refuses_a_path_for_an_address(void **state) {
        const char *root = *state;
        SysfsPciDevice d = {};

        assert_int_equal(sysfs_pci_read(root, "../../../etc", &d), -EINVAL);
        assert_int_equal(sysfs_pci_read(root, "01:00.0", &d), -EINVAL);
        assert_int_equal(sysfs_set_driver_override(root, "../x", "vfio-pci"), -EINVAL);
        assert_int_equal(sysfs_unbind(root, "../x"), -EINVAL);
        assert_int_equal(sysfs_drivers_probe(root, "0000:01:00.0\n"), -EINVAL);
        assert_int_equal(sysfs_bind_to(root, "x", PT_VFIO_DRIVER), -EINVAL);
        assert_int_equal(sysfs_reset(root, "x", NULL), -EINVAL);
        assert_int_equal(sysfs_set_bus_master(root, "x", false), -EINVAL);
}

/* Listing */

static void list_returns_sorted_addresses_only(void **state) {
        const char *root = *state;
        _cleanup_strv_free_ char **l = NULL;

        fake_pci_add(root, &(FakePci) { .address = A2 });
        fake_pci_add(root, &(FakePci) { .address = A1 });
        fake_pci_add(root, &(FakePci) { .address = A3 });
        fake_write(root, "bus/pci/devices/not-a-device", "");
        assert_int_equal(sysfs_pci_list(root, &l), 0);
        assert_int_equal(strv_length(l), 3);
        assert_string_equal(l[0], A3);
        assert_string_equal(l[1], A1);
        assert_string_equal(l[2], A2);
}

static void list_without_pci_bus_is_empty(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        char *root = *state, *p;

        assert_true(asprintf(&p, "%s/nothing-here", root) >= 0);
        assert_int_equal(sysfs_pci_list(p, &l), 0);
        assert_non_null(l);
        assert_int_equal(strv_length(l), 0);
        free(p);
}

static void group_devices_are_sorted(void **state) {
        const char *root = *state;
        _cleanup_strv_free_ char **l = NULL;

        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.1", .iommu_group = 3 });
        fake_pci_add(root, &(FakePci) { .address = A1, .iommu_group = 3 });
        fake_pci_add(root, &(FakePci) { .address = A2, .iommu_group = 4 });
        assert_int_equal(sysfs_iommu_group_devices(root, 3, &l), 0);
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[0], A1);
        assert_string_equal(l[1], "0000:01:00.1");
}

static void group_devices_of_missing_or_negative_group_fail(void **state) {
        const char *root = *state;
        char **l = NULL;

        assert_int_equal(sysfs_iommu_group_devices(root, 42, &l), -ENOENT);
        assert_int_equal(sysfs_iommu_group_devices(root, -1, &l), -EINVAL);
        assert_null(l);
}

/* Driver moves */

static void set_driver_override_writes_driver_name(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1 });
        assert_int_equal(sysfs_set_driver_override(root, A1, PT_VFIO_DRIVER), 0);
        assert_fake_file(root, dev_file(A1, "driver_override"), "vfio-pci");
}

static void set_driver_override_null_or_empty_clears(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver_override = PT_STUB_DRIVER });
        assert_int_equal(sysfs_set_driver_override(root, A1, NULL), 0);
        assert_fake_file(root, dev_file(A1, "driver_override"), "\n");
        fake_write(root, dev_file(A1, "driver_override"), "passthru\n");
        assert_int_equal(sysfs_set_driver_override(root, A1, ""), 0);
        assert_fake_file(root, dev_file(A1, "driver_override"), "\n");
}

static void set_driver_override_refuses_bad_name_and_missing_device(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1 });
        assert_int_equal(sysfs_set_driver_override(root, A1, "vfio pci"), -EINVAL);
        assert_int_equal(sysfs_set_driver_override(root, A1, "../x"), -EINVAL);
        assert_int_equal(sysfs_set_driver_override(root, A1, "vfio-pci\n"), -EINVAL);
        assert_fake_file(root, dev_file(A1, "driver_override"), "(null)\n");
        assert_int_equal(sysfs_set_driver_override(root, A2, PT_VFIO_DRIVER), -ENODEV);
}

static void unbind_writes_address_to_current_driver(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER });
        fake_driver(root, PT_VFIO_DRIVER);
        assert_int_equal(sysfs_unbind(root, A1), 0);
        assert_fake_file(root, "bus/pci/drivers/passthru/unbind", A1);
        assert_fake_file(root, "bus/pci/drivers/vfio-pci/unbind", "");
}

static void unbind_without_driver_does_nothing(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1 });
        fake_driver(root, PT_STUB_DRIVER);
        assert_int_equal(sysfs_unbind(root, A1), 0);
        assert_fake_file(root, "bus/pci/drivers/passthru/unbind", "");
        assert_int_equal(sysfs_unbind(root, A2), -ENODEV);
}

/* The return's unbind from vfio-pci when it holds the group's node: that driver's file, whatever the link says. */
static void unbind_from_writes_address_to_that_driver(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_VFIO_DRIVER });
        fake_driver(root, PT_STUB_DRIVER);
        assert_int_equal(sysfs_unbind_from(root, PT_VFIO_DRIVER, A1), 0);
        assert_fake_file(root, "bus/pci/drivers/vfio-pci/unbind", A1);
        assert_fake_file(root, "bus/pci/drivers/passthru/unbind", "");
        /* A driver that is not there has no unbind file. */
        assert_int_equal(sysfs_unbind_from(root, "igb", A1), -ENOENT);
        assert_int_equal(sysfs_unbind_from(root, "../passthru", A1), -EINVAL);
        assert_int_equal(sysfs_unbind_from(root, "", A1), -EINVAL);
        assert_int_equal(sysfs_unbind_from(root, NULL, A1), -EINVAL);
        assert_int_equal(sysfs_unbind_from(root, PT_VFIO_DRIVER, "01:00.0"), -EINVAL);
        assert_int_equal(sysfs_unbind_from(root, PT_VFIO_DRIVER, "0000:01:00.0\n"), -EINVAL);
}

/*
 * What the group's node, held, does not keep from vfio-pci's unbind: a PF's
 * VFs (virtfn0), a device cdev (vfio-dev/vfioN with a dev number).
 */
static void unbind_waits_beyond_group_for_vfs_and_a_device_cdev(void **state) {
        const char *root = *state;

        fake_sriov(root, 4, 0);
        assert_false(sysfs_unbind_waits_beyond_group(root, "0000:06:00.0"));
        fake_symlink(root, "devices/pci0000:00/0000:06:00.0/virtfn0", "../0000:06:10.0");
        assert_true(sysfs_unbind_waits_beyond_group(root, "0000:06:00.0"));      /* a link, dangling or not */
        fake_pci_add(root, &(FakePci) { .address = A1 });
        assert_false(sysfs_unbind_waits_beyond_group(root, A1));
        /* Linux 6.1-6.5: vfio-dev/vfio0 is a class device without a device number, no cdev. */
        fake_mkdir_p(root, "devices/pci0000:00/" A1 "/vfio-dev/vfio0");
        assert_false(sysfs_unbind_waits_beyond_group(root, A1));
        /* 6.6+: /dev/vfio/devices/vfio0, its major:minor in dev. */
        fake_write(root, "devices/pci0000:00/" A1 "/vfio-dev/vfio0/dev", "511:0\n");
        assert_true(sysfs_unbind_waits_beyond_group(root, A1));
        /* Cannot tell: as if it could. */
        assert_true(sysfs_unbind_waits_beyond_group(root, "../x"));
}

static void *unbind_in_thread(void *userdata) {
        const char *root = userdata;

        return (void *) (intptr_t) sysfs_unbind(root, A1);
}

/* Who, besides this process, has @path open: 0 if nobody. */
static pid_t other_holder_of(const char *path) {
        struct stat want, st;
        DIR *proc = opendir("/proc");
        struct dirent *e;
        pid_t found = 0;

        assert_non_null(proc);
        assert_int_equal(stat(path, &want), 0);
        while (!found && (e = readdir(proc))) {
                char dir[64];
                DIR *fds;
                struct dirent *f;
                pid_t pid = (pid_t) atoi(e->d_name);

                if (pid <= 0 || pid == getpid())
                        continue;
                snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pid);
                fds = opendir(dir);
                if (!fds)
                        continue;
                while (!found && (f = readdir(fds))) {
                        char fd[384];

                        snprintf(fd, sizeof(fd), "%s/%s", dir, f->d_name);
                        if (stat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
                                found = pid;
                }
                closedir(fds);
        }
        closedir(proc);
        return found;
}

/*
 * vfio-pci's unbind waits for the group's last fd, uninterruptibly once
 * the waiting thread has a signal: a thread of passthrud's stuck there
 * would keep a dying daemon (its bus name, its fds) alive.  The write is
 * made by a child process of its own, which has nothing else open.  Here
 * the unbind file is a FIFO kept full, so that the write blocks as the
 * kernel's would.
 */
static void unbind_writes_from_a_child_process_that_holds_nothing_else(void **state) {
        const char *root = *state;
        char *fifo, buf[4096], dir[64];
        pthread_t thread;
        void *result;
        pid_t writer;
        int fd, n = 0;
        DIR *fds;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_VFIO_DRIVER });
        fake_unlink(root, "bus/pci/drivers/vfio-pci/unbind");
        fake_mkfifo(root, "bus/pci/drivers/vfio-pci/unbind");
        fifo = fake_path(root, "bus/pci/drivers/vfio-pci/unbind");
        fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        assert_true(fd >= 0);
        memset(buf, 'x', sizeof(buf));
        while (write(fd, buf, sizeof(buf)) > 0)
                ;
        assert_int_equal(pthread_create(&thread, NULL, unbind_in_thread, (void *) root), 0);
        for (int i = 0; i < 500 && !(writer = other_holder_of(fifo)); i++)
                usleep(10000);
        assert_true(writer > 0);
        /* Nothing else of the daemon's: its fds 0-2 at most, and the unbind file. */
        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) writer);
        fds = opendir(dir);
        assert_non_null(fds);
        for (struct dirent *f; (f = readdir(fds));)
                n += f->d_name[0] != '.' && atoi(f->d_name) > 2;
        closedir(fds);
        assert_int_equal(n, 1);
        /* The holder lets go: the write goes through. */
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        assert_int_equal(pthread_join(thread, &result), 0);
        assert_int_equal((int) (intptr_t) result, 0);
        close(fd);
        free(fifo);
}

static void drivers_probe_writes_address(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1 });
        assert_int_equal(sysfs_drivers_probe(root, A1), 0);
        assert_fake_file(root, "bus/pci/drivers_probe", A1);
}

/* Plays the kernel for sysfs_bind_to(): unbind, then probe binds the new driver. */
typedef struct FakeKernel {
        const char *root, *address, *driver;
        char unbind[64], probe[64];
} FakeKernel;

static void fifo_read(const char *root, const char *rel, char *buf, size_t size) {
        char *p = fake_path(root, rel);
        ssize_t n;
        int fd;

        fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        if (fd < 0)
                return;
        n = read(fd, buf, size - 1);
        buf[n > 0 ? n : 0] = '\0';
        close(fd);
}

static void *fake_kernel(void *userdata) {
        FakeKernel *k = userdata;

        /* Opening the FIFOs blocks until the writer opens them: that orders us. */
        fifo_read(k->root, "bus/pci/drivers/passthru/unbind", k->unbind, sizeof(k->unbind));
        fake_bind(k->root, k->address, NULL);
        fake_bind(k->root, k->address, k->driver);
        fifo_read(k->root, "bus/pci/drivers_probe", k->probe, sizeof(k->probe));
        return NULL;
}

static void bind_to_moves_device_from_stub_to_vfio(void **state) {
        const char *root = *state;
        FakeKernel k = { .root = root, .address = A1, .driver = PT_VFIO_DRIVER };
        char *now;
        pthread_t t;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER,
                                        .driver_override = PT_STUB_DRIVER });
        fake_driver(root, PT_VFIO_DRIVER);
        fake_mkfifo(root, "bus/pci/drivers/passthru/unbind");
        fake_mkfifo(root, "bus/pci/drivers_probe");
        assert_int_equal(pthread_create(&t, NULL, fake_kernel, &k), 0);

        assert_int_equal(sysfs_bind_to(root, A1, PT_VFIO_DRIVER), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_fake_file(root, dev_file(A1, "driver_override"), "vfio-pci");
        assert_string_equal(k.unbind, A1);
        assert_string_equal(k.probe, A1);
        now = fake_bound_driver(root, A1);
        assert_string_equal(now, PT_VFIO_DRIVER);
        free(now);
}

static void bind_to_fails_with_eio_when_no_driver_takes_device(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER });
        assert_int_equal(sysfs_bind_to(root, A1, PT_VFIO_DRIVER), -EIO);
        /* Every step ran, in the right files. */
        assert_fake_file(root, dev_file(A1, "driver_override"), "vfio-pci");
        assert_fake_file(root, "bus/pci/drivers/passthru/unbind", A1);
        assert_fake_file(root, "bus/pci/drivers_probe", A1);
}

static void bind_to_unbound_device_skips_unbind(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1 });
        fake_driver(root, PT_STUB_DRIVER);
        assert_int_equal(sysfs_bind_to(root, A1, PT_STUB_DRIVER), -EIO);
        assert_fake_file(root, "bus/pci/drivers/passthru/unbind", "");
        assert_fake_file(root, "bus/pci/drivers_probe", A1);
}

/* No directory for the address: nothing is written anywhere. */
static void bind_to_a_device_not_there_is_enodev(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER });
        assert_int_equal(sysfs_bind_to(root, A2, PT_VFIO_DRIVER), -ENODEV);
        assert_fake_file(root, "bus/pci/drivers/passthru/unbind", "");
        assert_fake_file(root, "bus/pci/drivers_probe", "");
}

static void bind_to_current_driver_only_pins_override(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER });
        assert_int_equal(sysfs_bind_to(root, A1, PT_STUB_DRIVER), 0);
        assert_fake_file(root, dev_file(A1, "driver_override"), "passthru");
        assert_fake_file(root, "bus/pci/drivers/passthru/unbind", "");
        assert_fake_file(root, "bus/pci/drivers_probe", "");
}

static void bind_to_refuses_empty_driver_and_missing_device(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER });
        assert_int_equal(sysfs_bind_to(root, A1, NULL), -EINVAL);
        assert_int_equal(sysfs_bind_to(root, A1, ""), -EINVAL);
        assert_fake_file(root, dev_file(A1, "driver_override"), "(null)\n");
        assert_int_equal(sysfs_bind_to(root, A2, PT_VFIO_DRIVER), -ENODEV);
}

/* Resets */

static void reset_pins_method_then_restores_reset_method(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .reset_method = "flr bus" });
        assert_int_equal(sysfs_reset(root, A1, "bus"), 0);
        assert_fake_file(root, dev_file(A1, "reset"), "1");
        assert_fake_file(root, dev_file(A1, "reset_method"), "flr bus");
}

static void reset_without_method_uses_kernel_order(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .reset_method = "pm bus" });
        assert_int_equal(sysfs_reset(root, A1, NULL), 0);
        assert_fake_file(root, dev_file(A1, "reset"), "1");
        assert_fake_file(root, dev_file(A1, "reset_method"), "pm bus\n");
}

static void reset_with_only_method_does_not_rewrite_list(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .reset_method = "bus" });
        assert_int_equal(sysfs_reset(root, A1, "bus"), 0);
        assert_fake_file(root, dev_file(A1, "reset"), "1");
        assert_fake_file(root, dev_file(A1, "reset_method"), "bus\n");
}

static void reset_without_reset_file_or_methods_is_enotty(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .no_reset = true, .no_reset_method = true });
        assert_int_equal(sysfs_reset(root, A1, NULL), -ENOTTY);
        assert_int_equal(sysfs_reset(root, A1, "flr"), -ENOTTY);
        fake_pci_add(root, &(FakePci) { .address = A2, .reset_method = "" });
        assert_int_equal(sysfs_reset(root, A2, NULL), -ENOTTY);
        assert_fake_file(root, dev_file(A2, "reset"), "");
}

static void reset_with_method_the_device_lacks_is_eopnotsupp(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .reset_method = "pm" });
        assert_int_equal(sysfs_reset(root, A1, "flr"), -EOPNOTSUPP);
        assert_fake_file(root, dev_file(A1, "reset"), "");
        assert_fake_file(root, dev_file(A1, "reset_method"), "pm\n");
        /* Before Linux 5.15 there is no reset_method to pin anything in. */
        fake_pci_add(root, &(FakePci) { .address = A2, .no_reset_method = true });
        assert_int_equal(sysfs_reset(root, A2, "flr"), -EOPNOTSUPP);
        assert_int_equal(sysfs_reset(root, A2, NULL), 0);
        assert_fake_file(root, dev_file(A2, "reset"), "1");
}

static void reset_failure_is_returned_and_list_still_restored(void **state) {
        const char *root = *state;
        char *p;

        fake_pci_add(root, &(FakePci) { .address = A1, .reset_method = "flr bus" });
        /* A reset that cannot be written: a directory where the file was. */
        fake_unlink(root, dev_file(A1, "reset"));
        p = fake_path(root, dev_file(A1, "reset"));
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(sysfs_reset(root, A1, "bus"), -EISDIR);
        assert_fake_file(root, dev_file(A1, "reset_method"), "flr bus");
        assert_int_equal(rmdir(p), 0);
        free(p);
        assert_int_equal(sysfs_reset(root, A2, NULL), -ENODEV);
}

/* Bus mastering */

static uint16_t fake_command(const char *root, const char *address) {
        char *p = fake_path(root, dev_file(address, "config"));
        uint8_t b[2];
        int fd;

        fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, b, 2, 4), 2);
        close(fd);
        return b[0] | (b[1] << 8);
}

static void bus_master_clears_and_sets_only_bit_2(void **state) {
        const char *root = *state;

        fake_pci_add(root, &(FakePci) { .address = A1, .command = 0x0507 });
        assert_int_equal(sysfs_set_bus_master(root, A1, false), 0);
        assert_int_equal(fake_command(root, A1), 0x0503);
        assert_int_equal(sysfs_set_bus_master(root, A1, false), 0);
        assert_int_equal(fake_command(root, A1), 0x0503);
        assert_int_equal(sysfs_set_bus_master(root, A1, true), 0);
        assert_int_equal(fake_command(root, A1), 0x0507);
}

static void bus_master_on_missing_or_short_config_fails(void **state) {
        const char *root = *state;

        assert_int_equal(sysfs_set_bus_master(root, A1, false), -ENODEV);
        fake_pci_add(root, &(FakePci) { .address = A1 });
        fake_write(root, dev_file(A1, "config"), "\x34\x12");
        assert_int_equal(sysfs_set_bus_master(root, A1, false), -EIO);
}

/* Host state */

static void iommu_enabled_only_with_class_iommu_entry(void **state) {
        char *root = *state, *p;
        bool on = false;

        assert_int_equal(sysfs_iommu_state(root, &on), 0);
        assert_true(on);
        p = fake_path(root, "class/iommu/dmar0");
        assert_int_equal(rmdir(p), 0);
        free(p);
        assert_int_equal(sysfs_iommu_state(root, &on), 0);
        assert_false(on);
        p = fake_path(root, "class/iommu");
        assert_int_equal(rmdir(p), 0);
        free(p);
        on = true;
        assert_int_equal(sysfs_iommu_state(root, &on), 0);
        assert_false(on);
}

static void unsafe_interrupts_reads_y_n_and_missing(void **state) {
        const char *root = *state;
        const char *f = "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts";
        int fd = -EBADF;
        bool v = true;

        /* Not loaded: not set, and nothing kept open. */
        fake_unlink(root, f);
        assert_int_equal(sysfs_vfio_unsafe_interrupts(root, &fd, &v), 0);
        assert_false(v);
        assert_true(fd < 0);
        fake_write(root, f, "N\n");
        assert_int_equal(sysfs_vfio_unsafe_interrupts(root, &fd, &v), 0);
        assert_false(v);
        assert_true(fd >= 0);
        /* Written in place, as root does: the kept file reads the new value. */
        fake_write(root, f, "Y\n");
        assert_int_equal(sysfs_vfio_unsafe_interrupts(root, &fd, &v), 0);
        assert_true(v);
        close(fd);
        fd = -EBADF;
        fake_unlink(root, f);
        assert_int_equal(sysfs_vfio_unsafe_interrupts(root, &fd, &v), 0);
        assert_false(v);
}

static void unsafe_interrupts_garbage_is_ebadmsg(void **state) {
        const char *root = *state;
        int fd = -EBADF;
        bool v = false;

        fake_write(root, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "1\n");
        assert_int_equal(sysfs_vfio_unsafe_interrupts(root, &fd, &v), -EBADMSG);
        close(fd);
}

static void interrupt_remapping_seen_in_proc_interrupts(void **state) {
        char *root = *state, *proc;
        bool ir = false;

        proc = fake_path(root, "proc");
        assert_int_equal(proc_interrupt_remapping(proc, &ir), 0);
        assert_true(ir);
        fake_write(root, "proc/interrupts",
                   "            CPU0\n"
                   "   0:         35   IO-APIC    2-edge      timer\n"
                   "  24:          0   PCI-MSI 1048576-edge      enp1s0\n");
        assert_int_equal(proc_interrupt_remapping(proc, &ir), 0);
        assert_false(ir);
        fake_unlink(root, "proc/interrupts");
        assert_int_equal(proc_interrupt_remapping(proc, &ir), -ENOENT);
        free(proc);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fake_sysfs_setup, fake_sysfs_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(address_valid_accepts_only_canonical),
                T(address_normalize_adds_domain_and_lowercases),
                T(address_normalize_rejects_malformed),
                T(read_returns_ids_class_driver_group_and_reset_methods),
                T(read_device_without_driver_group_or_reset_method),
                T(read_empty_reset_method_gives_empty_list),
                T(read_leaves_driver_override_alone),
                T(read_of_a_bridge_stops_at_its_class_and_group),
                T(read_of_a_file_in_the_devices_place_is_enodev),
                T(read_sriov_pf_and_vfs),
                T(read_sriov_malformed_count_is_ebadmsg),
                T(set_num_vfs_writes_the_count_within_totalvfs),
                T(read_missing_device_is_enodev),
                T(read_device_losing_its_files_is_enodev),
                T(read_malformed_id_file_is_ebadmsg),
                T(every_device_function_refuses_a_path_for_an_address),
                T(list_returns_sorted_addresses_only),
                T(list_without_pci_bus_is_empty),
                T(group_devices_are_sorted),
                T(group_devices_of_missing_or_negative_group_fail),
                T(set_driver_override_writes_driver_name),
                T(set_driver_override_null_or_empty_clears),
                T(set_driver_override_refuses_bad_name_and_missing_device),
                T(unbind_writes_address_to_current_driver),
                T(unbind_without_driver_does_nothing),
                T(unbind_from_writes_address_to_that_driver),
                T(unbind_waits_beyond_group_for_vfs_and_a_device_cdev),
                T(unbind_writes_from_a_child_process_that_holds_nothing_else),
                T(drivers_probe_writes_address),
                T(bind_to_moves_device_from_stub_to_vfio),
                T(bind_to_fails_with_eio_when_no_driver_takes_device),
                T(bind_to_unbound_device_skips_unbind),
                T(bind_to_a_device_not_there_is_enodev),
                T(bind_to_current_driver_only_pins_override),
                T(bind_to_refuses_empty_driver_and_missing_device),
                T(reset_pins_method_then_restores_reset_method),
                T(reset_without_method_uses_kernel_order),
                T(reset_with_only_method_does_not_rewrite_list),
                T(reset_without_reset_file_or_methods_is_enotty),
                T(reset_with_method_the_device_lacks_is_eopnotsupp),
                T(reset_failure_is_returned_and_list_still_restored),
                T(bus_master_clears_and_sets_only_bit_2),
                T(bus_master_on_missing_or_short_config_fails),
                T(iommu_enabled_only_with_class_iommu_entry),
                T(unsafe_interrupts_reads_y_n_and_missing),
                T(unsafe_interrupts_garbage_is_ebadmsg),
                T(interrupt_remapping_seen_in_proc_interrupts),
        };

        /* A test that waits on a FIFO forever must not hang the suite. */
        alarm(60);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
