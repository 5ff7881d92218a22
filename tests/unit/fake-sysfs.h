/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake sysfs (and /proc) in a temporary directory, laid out as the
 * kernel lays out the real one:
 *
 *   devices/pci0000:00/ADDR/{vendor,device,subsystem_*,class,config,resource,
 *                            irq,driver_override,reset_method,reset}
 *   devices/pci0000:00/ADDR/driver -> ../../../bus/pci/drivers/X
 *   devices/pci0000:00/ADDR/iommu_group -> ../../../kernel/iommu_groups/N
 *   bus/pci/devices/ADDR -> ../../../devices/pci0000:00/ADDR
 *   bus/pci/drivers/X/{bind,unbind,new_id,remove_id}
 *   bus/pci/drivers_probe
 *   kernel/iommu_groups/N/devices/ADDR -> ../../../../devices/pci0000:00/ADDR
 *   class/iommu/dmar0/
 *   module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
 *   proc/interrupts
 *
 * Writes land in regular files; tests read them back.  Test helpers
 * fail the test (cmocka's asserts) on any setup failure.  Include this
 * first: it wants _GNU_SOURCE.
 */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

typedef struct FakePci {
        const char *address;            /* canonical */
        uint16_t vendor, device;        /* 0: 1234:11e8 (QEMU's edu) */
        uint16_t subvendor, subdevice;  /* 0: 1af4:1100 */
        uint32_t class;                 /* 0: 0x00ff00 */
        uint16_t command;               /* PCI_COMMAND in config space */
        const char *driver;             /* NULL: unbound */
        const char *driver_override;    /* NULL: "(null)" */
        int iommu_group;                /* 0: none (tests use groups from 1) */
        const char *reset_method;       /* NULL: "flr bus" */
        bool no_reset_method;           /* no reset_method file */
        bool no_reset;                  /* no reset file */
        bool msi, msix, pcie, pcie_flr, af_flr;
        const char *resource;           /* NULL: six empty BARs and an empty ROM */
} FakePci;

static inline char *fake_path(const char *root, const char *rel) {
        char *p;

        assert_true(asprintf(&p, "%s/%s", root, rel) >= 0);
        return p;
}

static inline void fake_mkdir_p(const char *root, const char *rel) {
        char *p = fake_path(root, rel);

        for (char *s = p + strlen(root) + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
                        *s = '/';
                }
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
        free(p);
}

static inline void fake_write_bin(const char *root, const char *rel, const void *data, size_t n) {
        char *p = fake_path(root, rel);
        int fd;

        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, n), (ssize_t) n);
        close(fd);
        free(p);
}

static inline void fake_write(const char *root, const char *rel, const char *text) {
        fake_write_bin(root, rel, text, strlen(text));
}

__attribute__((format(printf, 3, 4)))
static inline void fake_writef(const char *root, const char *rel, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        assert_true(vasprintf(&s, fmt, ap) >= 0);
        va_end(ap);
        fake_write(root, rel, s);
        free(s);
}

/* The file's whole content (NUL-terminated); NULL if it does not exist. */
static inline char *fake_read(const char *root, const char *rel) {
        char *p = fake_path(root, rel), *buf;
        struct stat st;
        int fd;

        fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        if (fd < 0) {
                assert_int_equal(errno, ENOENT);
                return NULL;
        }
        assert_int_equal(fstat(fd, &st), 0);
        buf = calloc(1, st.st_size + 1);
        assert_non_null(buf);
        assert_int_equal(read(fd, buf, st.st_size), st.st_size);
        close(fd);
        return buf;
}

/* Assert that rel holds exactly text. */
#define assert_fake_file(root, rel, text)                               \
        do {                                                            \
                char *_s = fake_read((root), (rel));                    \
                assert_non_null(_s);                                    \
                assert_string_equal(_s, (text));                        \
                free(_s);                                               \
        } while (0)

static inline void fake_unlink(const char *root, const char *rel) {
        char *p = fake_path(root, rel);

        assert_true(unlink(p) == 0 || errno == ENOENT);
        free(p);
}

/* rel -> target, replacing whatever rel was. */
static inline void fake_symlink(const char *root, const char *rel, const char *target) {
        char *p = fake_path(root, rel);

        assert_true(unlink(p) == 0 || errno == ENOENT);
        assert_int_equal(symlink(target, p), 0);
        free(p);
}

/* A FIFO at rel instead of a file, for tests that play the kernel's side. */
static inline void fake_mkfifo(const char *root, const char *rel) {
        char *p = fake_path(root, rel);

        assert_true(unlink(p) == 0 || errno == ENOENT);
        assert_int_equal(mkfifo(p, 0644), 0);
        free(p);
}

static inline void fake_driver(const char *root, const char *driver) {
        static const char *const files[] = { "bind", "unbind", "new_id", "remove_id" };
        char *d;

        assert_true(asprintf(&d, "bus/pci/drivers/%s", driver) >= 0);
        fake_mkdir_p(root, d);
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char *f;

                assert_true(asprintf(&f, "%s/%s", d, files[i]) >= 0);
                fake_write(root, f, "");
                free(f);
        }
        free(d);
}

/* Bind address to driver (NULL: unbind), as the driver link shows it. */
static inline void fake_bind(const char *root, const char *address, const char *driver) {
        char *link, *target;

        assert_true(asprintf(&link, "devices/pci0000:00/%s/driver", address) >= 0);
        if (driver) {
                fake_driver(root, driver);
                assert_true(asprintf(&target, "../../../bus/pci/drivers/%s", driver) >= 0);
                fake_symlink(root, link, target);
                free(target);
        } else
                fake_unlink(root, link);
        free(link);
}

/* The driver that the device's link names now; NULL if none.  free() it. */
static inline char *fake_bound_driver(const char *root, const char *address) {
        char *link = NULL, buf[4096];
        const char *slash;
        ssize_t n;

        assert_true(asprintf(&link, "%s/devices/pci0000:00/%s/driver", root, address) >= 0);
        n = readlink(link, buf, sizeof(buf) - 1);
        free(link);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        slash = strrchr(buf, '/');
        return strdup(slash ? slash + 1 : buf);
}

/* 256 bytes of type 0 (or type 1 for a bridge) config space, capabilities as asked. */
static inline void fake_config(const FakePci *p, uint16_t vendor, uint16_t device, uint32_t class,
                               uint8_t cfg[256]) {
        uint8_t *last_next = &cfg[0x34];
        bool bridge = (class >> 8) == 0x0604;

        memset(cfg, 0, 256);
        cfg[0x00] = vendor & 0xff;
        cfg[0x01] = vendor >> 8;
        cfg[0x02] = device & 0xff;
        cfg[0x03] = device >> 8;
        cfg[0x04] = p->command & 0xff;
        cfg[0x05] = p->command >> 8;
        cfg[0x09] = class & 0xff;
        cfg[0x0a] = (class >> 8) & 0xff;
        cfg[0x0b] = class >> 16;
        cfg[0x0e] = bridge ? 1 : 0;
        if (!bridge) {
                cfg[0x2c] = p->subvendor & 0xff;
                cfg[0x2d] = p->subvendor >> 8;
                cfg[0x2e] = p->subdevice & 0xff;
                cfg[0x2f] = p->subdevice >> 8;
        }

#define FAKE_CAP(where, id)                                             \
        do {                                                            \
                *last_next = (where);                                   \
                cfg[(where)] = (id);                                    \
                last_next = &cfg[(where) + 1];                          \
        } while (0)

        if (p->msi) {
                FAKE_CAP(0x50, 0x05);
                cfg[0x52] = 0x80;                       /* 64-bit address */
        }
        if (p->msix) {
                FAKE_CAP(0x70, 0x11);
                cfg[0x72] = 0x03;                       /* 4 vectors */
        }
        if (p->pcie) {
                FAKE_CAP(0x80, 0x10);
                cfg[0x82] = 0x02;                       /* version 2, endpoint */
                if (p->pcie_flr)
                        cfg[0x87] = 0x10;               /* DevCap bit 28: FLR */
        }
        if (p->af_flr) {
                FAKE_CAP(0xc0, 0x13);
                cfg[0xc2] = 0x06;                       /* length */
                cfg[0xc3] = 0x03;                       /* TP | FLR */
        }
#undef FAKE_CAP
        if (last_next != &cfg[0x34])
                cfg[0x06] = 0x10;                       /* status: capability list */
}

static inline void fake_pci_add(const char *root, const FakePci *p) {
        uint16_t vendor = p->vendor ?: 0x1234, device = p->device ?: 0x11e8;
        uint16_t subvendor = p->subvendor ?: 0x1af4, subdevice = p->subdevice ?: 0x1100;
        uint32_t class = p->class ?: 0x00ff00;
        char *dir, *link, *target;
        uint8_t cfg[256];
        FakePci q = *p;

        char rel[512];
#define FILE_(name) (snprintf(rel, sizeof(rel), "%s/%s", dir, (name)), rel)

        assert_true(asprintf(&dir, "devices/pci0000:00/%s", p->address) >= 0);
        fake_mkdir_p(root, dir);
        fake_mkdir_p(root, "bus/pci/devices");
        assert_true(asprintf(&link, "bus/pci/devices/%s", p->address) >= 0);
        assert_true(asprintf(&target, "../../../devices/pci0000:00/%s", p->address) >= 0);
        fake_symlink(root, link, target);
        free(link);
        free(target);

        fake_writef(root, FILE_("vendor"), "0x%04x\n", vendor);
        fake_writef(root, FILE_("device"), "0x%04x\n", device);
        fake_writef(root, FILE_("subsystem_vendor"), "0x%04x\n", subvendor);
        fake_writef(root, FILE_("subsystem_device"), "0x%04x\n", subdevice);
        fake_writef(root, FILE_("class"), "0x%06x\n", class);
        fake_write(root, FILE_("irq"), "0\n");
        fake_writef(root, FILE_("driver_override"), "%s\n", p->driver_override ?: "(null)");
        if (!p->no_reset_method)
                fake_writef(root, FILE_("reset_method"), "%s\n", p->reset_method ?: "flr bus");
        if (!p->no_reset)
                fake_write(root, FILE_("reset"), "");
        if (p->resource)
                fake_write(root, FILE_("resource"), p->resource);
        else {
                char *s = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&s, &n);

                assert_non_null(f);
                for (int i = 0; i < 13; i++)
                        fprintf(f, "0x%016x 0x%016x 0x%016x\n", 0, 0, 0);
                fclose(f);
                fake_write(root, FILE_("resource"), s);
                free(s);
        }

        q.subvendor = subvendor;
        q.subdevice = subdevice;
        fake_config(&q, vendor, device, class, cfg);
        fake_write_bin(root, FILE_("config"), cfg, sizeof(cfg));

        if (p->iommu_group > 0) {
                char *gdir;

                assert_true(asprintf(&gdir, "kernel/iommu_groups/%d/devices", p->iommu_group) >= 0);
                fake_mkdir_p(root, gdir);
                assert_true(asprintf(&link, "%s/%s", gdir, p->address) >= 0);
                assert_true(asprintf(&target, "../../../../devices/pci0000:00/%s", p->address) >= 0);
                fake_symlink(root, link, target);
                free(link);
                free(target);
                free(gdir);
                assert_true(asprintf(&target, "../../../kernel/iommu_groups/%d", p->iommu_group) >= 0);
                fake_symlink(root, FILE_("iommu_group"), target);
                free(target);
        }
        if (p->driver)
                fake_bind(root, p->address, p->driver);
        free(dir);
#undef FILE_
}

/*
 * SR-IOV: a PF at 0000:06:00.0 (igb) with sriov_totalvfs/sriov_numvfs and
 * virtfnN links, its @num VFs (at most 4) at 0000:06:10.0, 06:10.2, ...
 * (VF i at function 2i) with physfn, unbound.
 */
static inline void fake_sriov(const char *root, unsigned total, unsigned num) {
        fake_pci_add(root, &(FakePci) { .address = "0000:06:00.0", .vendor = 0x8086, .device = 0x10c9, .driver = "igb" });
        fake_writef(root, "devices/pci0000:00/0000:06:00.0/sriov_totalvfs", "%u\n", total);
        fake_writef(root, "devices/pci0000:00/0000:06:00.0/sriov_numvfs", "%u\n", num);
        for (unsigned i = 0; i < num; i++) {
                char vf[16], rel[96], target[32];

                snprintf(vf, sizeof(vf), "0000:06:10.%u", 2 * i);
                fake_pci_add(root, &(FakePci) { .address = vf, .vendor = 0x8086, .device = 0x10ca });
                snprintf(rel, sizeof(rel), "devices/pci0000:00/0000:06:00.0/virtfn%u", i);
                snprintf(target, sizeof(target), "../%s", vf);
                fake_symlink(root, rel, target);
                snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/physfn", vf);
                fake_symlink(root, rel, "../0000:06:00.0");
        }
}

/* A fresh tree with an IOMMU, interrupt remapping and safe vfio defaults, but no devices. */
static inline char *fake_sysfs_new(void) {
        const char *tmp = getenv("TMPDIR");
        char *root;

        assert_true(asprintf(&root, "%s/passthru-fake-sysfs-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= 0);
        assert_non_null(mkdtemp(root));
        fake_mkdir_p(root, "bus/pci/devices");
        fake_mkdir_p(root, "bus/pci/drivers");
        fake_write(root, "bus/pci/drivers_probe", "");
        fake_mkdir_p(root, "kernel/iommu_groups");
        fake_mkdir_p(root, "class/iommu/dmar0");
        fake_mkdir_p(root, "module/vfio_iommu_type1/parameters");
        fake_write(root, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
        fake_mkdir_p(root, "proc");
        fake_write(root, "proc/interrupts",
                   "            CPU0       CPU1       \n"
                   "   0:         35          0   IR-IO-APIC    2-edge      timer\n"
                   "  24:          0        120  IR-PCI-MSI 1048576-edge      enp1s0\n"
                   "NMI:          0          0   Non-maskable interrupts\n");
        return root;
}

static inline int fake_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static inline void fake_sysfs_free(char *root) {
        if (!root)
                return;
        (void) nftw(root, fake_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(root);
}

/* cmocka setup/teardown: *state is the tree's root. */
static inline int fake_sysfs_setup(void **state) {
        *state = fake_sysfs_new();
        return 0;
}

static inline int fake_sysfs_teardown(void **state) {
        fake_sysfs_free(*state);
        return 0;
}
