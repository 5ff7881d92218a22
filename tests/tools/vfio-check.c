/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-check: a minimal "hypervisor stand-in" proving that a VFIO group really works.
 *
 * It does what QEMU would do with a passed-through PCI device, and nothing more:
 *
 *  1. a new container on /dev/vfio/vfio speaks VFIO_API_VERSION and offers a type1 IOMMU;
 *  2. the group (opened by us, or an inherited fd e.g. from a D-Bus broker) is viable,
 *     i.e. no device of the group is bound to a host driver;
 *  3. the group can be attached to the container and the type1 IOMMU enabled (so the
 *     kernel accepted the group's isolation, including interrupt remapping);
 *  4. the group hands out a vfio-pci device fd for DEVICE;
 *  5. config space read through VFIO shows the vendor/device ids sysfs shows;
 *  6. for QEMU's "edu" device (1234:11e8): BAR0 MMIO reaches the device (identification
 *     register, and the liveness register returning the inverse of what was written);
 *  7. with --dma: the edu device copies a buffer from our memory into itself and back into
 *     a second buffer, through IOMMU mappings we created, so the device can reach exactly
 *     what the container maps;
 *  8. with --poke OFFSET=VALUE and --peek OFFSET (any device, in the order given): write or
 *     read a 32-bit register of BAR0; each peek prints "peek 0xOFFSET = 0xVALUE" on stdout
 *     (also with --quiet), for tests that look for state left behind by an earlier owner.
 *
 * Each passed check prints "ok: ..." on stdout; the first failure prints
 * "vfio-check: <check> failed: <reason>" on stderr and exits 1. Usage errors exit 2.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_REG_ID 0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_CNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_DMA_RUN 0x1u
#define EDU_DMA_TO_RAM 0x2u             /* direction: 0 = RAM to edu, 1 = edu to RAM */
#define EDU_DMA_BUF 0x40000ull          /* edu's internal buffer, in its own address space */
#define EDU_DMA_TIMEOUT_NS 5000000000ll

#define DMA_BUF_SIZE 4096u
#define DMA_LEN 1024u                   /* exactly 4096 bytes makes QEMU 7.2's edu abort */
#define IOVA_A 0x100000ull              /* both well below edu's 2^28 DMA mask */
#define IOVA_B 0x200000ull

#define MAX_BAR_OPS 16

typedef struct BarOp {
        bool write;
        uint32_t offset, value;
} BarOp;

typedef struct Ctx {
        /* arguments */
        const char *address;
        int arg_fd, arg_group;          /* --fd, --group, or -1 */
        bool dma, quiet, hold, close_group, detach;
        BarOp bar_ops[MAX_BAR_OPS];     /* --poke and --peek, in order */
        size_t n_bar_ops;

        /* resources, released in reverse order by ctx_done() */
        int container, group, device;
        bool container_set;
        volatile uint8_t *bar0;         /* mmap()ed BAR0, or NULL: use pread/pwrite */
        uint8_t *buf_a, *buf_b;
        bool mapped_a, mapped_b, master_set;

        /* what the checks learned */
        char group_name[PATH_MAX];
        bool group_had_container;
        uint32_t iommu_type;
        uint64_t config_offset, bar0_offset, bar0_size;
        uint16_t vendor, device_id;

        char why[512];                  /* reason of the first failure */
} Ctx;

static int vfail(Ctx *c, int r, bool with_errno, const char *fmt, va_list ap) {
        size_t n;

        if (c->why[0] != '\0')          /* the first reason wins */
                return r;
        vsnprintf(c->why, sizeof(c->why), fmt, ap);
        n = strlen(c->why);
        if (with_errno && n < sizeof(c->why))
                snprintf(c->why + n, sizeof(c->why) - n, ": %s", strerror(-r));
        return r;
}

/* Record why a check failed; returns r (a negative errno) for "return fail(...)". */
_printf_(3, 4) static int fail(Ctx *c, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vfail(c, r, false, fmt, ap);
        va_end(ap);
        return r;
}

/* Same, appending ": strerror(-r)". */
_printf_(3, 4) static int fail_errno(Ctx *c, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vfail(c, r, true, fmt, ap);
        va_end(ap);
        return r;
}

_printf_(2, 3) static void ok(const Ctx *c, const char *fmt, ...) {
        va_list ap;

        if (c->quiet)
                return;
        va_start(ap, fmt);
        fputs("ok: ", stdout);
        vprintf(fmt, ap);
        putchar('\n');
        fflush(stdout);
        va_end(ap);
}

static int parse_int(const char *s, int *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

/* DDDD:BB:SS.F, so that it is safe to use in sysfs paths. */
static bool pci_address_valid(const char *s) {
        static const char pattern[] = "xxxx:xx:xx.x";

        if (strlen(s) != sizeof(pattern) - 1)
                return false;
        for (size_t i = 0; pattern[i] != '\0'; i++)
                if (pattern[i] == 'x' ? !isxdigit((unsigned char) s[i]) : s[i] != pattern[i])
                        return false;
        return s[11] <= '7';
}

/* sysfs "vendor" and "device" contain e.g. "0x1234\n". */
static int read_sysfs_hex(const char *address, const char *attr, unsigned long *ret) {
        char path[PATH_MAX], buf[32], *end;
        ssize_t n;
        int fd, e;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", address, attr);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        e = errno;
        close(fd);
        if (n < 0)
                return -e;
        buf[n] = '\0';
        errno = 0;
        *ret = strtoul(buf, &end, 16);
        if (errno != 0 || end == buf || (*end != '\0' && *end != '\n'))
                return -EINVAL;
        return 0;
}

/* The group number is the basename of the iommu_group link, e.g. "../../../kernel/iommu_groups/5". */
static int group_from_sysfs(const char *address, int *ret) {
        char path[PATH_MAX], target[PATH_MAX], *base;
        ssize_t n;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", address);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        base = strrchr(target, '/');
        return parse_int(base ? base + 1 : target, ret);
}

static bool is_edu(const Ctx *c) {
        return c->vendor == EDU_VENDOR && c->device_id == EDU_DEVICE;
}

static int get_region(Ctx *c, uint32_t index, struct vfio_region_info *ret) {
        *ret = (struct vfio_region_info) { .argsz = sizeof(*ret), .index = index };
        return ioctl(c->device, VFIO_DEVICE_GET_REGION_INFO, ret) < 0 ? -errno : 0;
}

/* pread()/pwrite() exactly size bytes at offset off of the device fd. */
static int device_rw(Ctx *c, uint64_t off, void *buf, size_t size, bool write) {
        ssize_t n = write ? pwrite(c->device, buf, size, (off_t) off) : pread(c->device, buf, size, (off_t) off);

        if (n == (ssize_t) size)
                return 0;
        return n < 0 && errno > 0 ? -errno : -EIO;
}

/* Config space and BAR contents are little endian through the VFIO region fd. */
static int config_update_command(Ctx *c, uint16_t set, uint16_t clear, uint16_t *ret_old) {
        uint16_t le = 0, cmd;
        int r;

        r = device_rw(c, c->config_offset + PCI_COMMAND, &le, sizeof(le), false);
        if (r < 0)
                return r;
        cmd = le16toh(le);
        if (ret_old)
                *ret_old = cmd;
        le = htole16((uint16_t) ((cmd | set) & ~clear));
        return device_rw(c, c->config_offset + PCI_COMMAND, &le, sizeof(le), true);
}

/* 32-bit access to BAR0, through the mapping if there is one. */
static int bar_rw32(Ctx *c, unsigned off, uint32_t *v, bool write) {
        volatile uint32_t *p = c->bar0 ? (volatile uint32_t *) (c->bar0 + off) : NULL;
        uint32_t le = write ? htole32(*v) : 0;
        int r = 0;

        if (p && write)
                *p = le;
        else if (p)
                le = *p;
        else
                r = device_rw(c, c->bar0_offset + off, &le, sizeof(le), write);
        if (r >= 0 && !write)
                *v = le32toh(le);
        return r;
}

static int bar_write32(Ctx *c, unsigned off, uint32_t v) {
        return bar_rw32(c, off, &v, true);
}

static int step_container(Ctx *c) {
        int r;

        c->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        if (c->container < 0)
                return fail_errno(c, -errno, "open /dev/vfio/vfio");
        r = ioctl(c->container, VFIO_GET_API_VERSION);
        if (r < 0)
                return fail_errno(c, -errno, "VFIO_GET_API_VERSION");
        if (r != VFIO_API_VERSION)
                return fail(c, -EPROTO, "VFIO API version %d, expected %d", r, VFIO_API_VERSION);
        if (ioctl(c->container, VFIO_CHECK_EXTENSION, (unsigned long) VFIO_TYPE1v2_IOMMU) > 0)
                c->iommu_type = VFIO_TYPE1v2_IOMMU;
        else if (ioctl(c->container, VFIO_CHECK_EXTENSION, (unsigned long) VFIO_TYPE1_IOMMU) > 0)
                c->iommu_type = VFIO_TYPE1_IOMMU;
        else
                return fail(c, -EOPNOTSUPP, "VFIO_CHECK_EXTENSION: neither VFIO_TYPE1v2_IOMMU nor VFIO_TYPE1_IOMMU is supported");
        ok(c, "container API version %d, %s IOMMU supported", r,
           c->iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1");
        return 0;
}

static int step_group(Ctx *c) {
        struct vfio_group_status st = { .argsz = sizeof(st) };
        int id = c->arg_group, r;

        if (c->arg_fd >= 0) {
                char link[64];
                ssize_t n;

                if (fcntl(c->arg_fd, F_GETFD) < 0)
                        return fail_errno(c, -errno, "inherited group fd %d", c->arg_fd);
                c->group = c->arg_fd;
                snprintf(link, sizeof(link), "/proc/self/fd/%d", c->arg_fd);
                n = readlink(link, c->group_name, sizeof(c->group_name) - 1);
                if (n < 0)
                        n = snprintf(c->group_name, sizeof(c->group_name), "fd %d", c->arg_fd);
                c->group_name[n] = '\0';
        } else {
                if (id < 0) {
                        r = group_from_sysfs(c->address, &id);
                        if (r < 0)
                                return fail_errno(c, r, "/sys/bus/pci/devices/%s/iommu_group", c->address);
                }
                snprintf(c->group_name, sizeof(c->group_name), "/dev/vfio/%d", id);
                c->group = open(c->group_name, O_RDWR | O_CLOEXEC);
                if (c->group < 0)
                        return fail_errno(c, -errno, "open %s", c->group_name);
        }

        if (ioctl(c->group, VFIO_GROUP_GET_STATUS, &st) < 0)
                return fail_errno(c, -errno, "VFIO_GROUP_GET_STATUS on %s", c->group_name);
        if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
                return fail(c, -EBUSY, "group not viable: some device of the group is bound to a host driver");
        c->group_had_container = st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET;
        ok(c, "group %s is viable", c->group_name);
        return 0;
}

static int step_iommu(Ctx *c) {
        const char *type = c->iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1";

        if (ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container) < 0)
                return fail_errno(c, -errno, "VFIO_GROUP_SET_CONTAINER%s",
                                  c->group_had_container ? " (group already belongs to a container)" : "");
        c->container_set = true;

        if (ioctl(c->container, VFIO_SET_IOMMU, (unsigned long) c->iommu_type) < 0) {
                int r = -errno;
                if (r == -EPERM)
                        return fail(c, r, "VFIO_SET_IOMMU(%s): %s; this usually means interrupt remapping "
                                    "is missing (no IR in the IOMMU, see vfio_iommu_type1.allow_unsafe_interrupts)",
                                    type, strerror(-r));
                return fail_errno(c, r, "VFIO_SET_IOMMU(%s)", type);
        }
        ok(c, "group attached to the container, %s IOMMU set", type);
        return 0;
}

static int step_device(Ctx *c) {
        struct vfio_device_info info = { .argsz = sizeof(info) };

        c->device = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, c->address);
        if (c->device < 0)
                return fail_errno(c, -errno, "VFIO_GROUP_GET_DEVICE_FD(%s)", c->address);
        if (ioctl(c->device, VFIO_DEVICE_GET_INFO, &info) < 0)
                return fail_errno(c, -errno, "VFIO_DEVICE_GET_INFO");
        if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
                return fail(c, -ENODEV, "VFIO_DEVICE_GET_INFO: not a PCI device (flags 0x%x)", info.flags);
        if (info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
                return fail(c, -EIO, "VFIO_DEVICE_GET_INFO: only %u regions", info.num_regions);
        ok(c, "device fd for %s: vfio-pci, %u regions, %u irq indexes", c->address, info.num_regions, info.num_irqs);
        return 0;
}

static int step_config(Ctx *c) {
        struct vfio_region_info ri;
        unsigned long sv, sd;
        uint16_t le = 0;
        int r;

        r = get_region(c, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
        if (r < 0)
                return fail_errno(c, r, "VFIO_DEVICE_GET_REGION_INFO(config)");
        if (!(ri.flags & VFIO_REGION_INFO_FLAG_READ) || ri.size < PCI_STD_HEADER_SIZEOF)
                return fail(c, -EIO, "config region unreadable (flags 0x%x, size %llu)",
                            ri.flags, (unsigned long long) ri.size);
        c->config_offset = ri.offset;

        r = device_rw(c, c->config_offset + PCI_VENDOR_ID, &le, sizeof(le), false);
        c->vendor = le16toh(le);
        if (r >= 0)
                r = device_rw(c, c->config_offset + PCI_DEVICE_ID, &le, sizeof(le), false);
        c->device_id = le16toh(le);
        if (r < 0)
                return fail_errno(c, r, "pread config space");
        r = read_sysfs_hex(c->address, "vendor", &sv);
        if (r >= 0)
                r = read_sysfs_hex(c->address, "device", &sd);
        if (r < 0)
                return fail_errno(c, r, "reading /sys/bus/pci/devices/%s/{vendor,device}", c->address);
        if (sv != c->vendor || sd != c->device_id)
                return fail(c, -EIO, "config vendor %04x device %04x, but sysfs says %04lx:%04lx",
                            c->vendor, c->device_id, sv, sd);
        ok(c, "config vendor %04x device %04x matches sysfs", c->vendor, c->device_id);
        return 0;
}

/* BAR0 readable and writable, memory decoding on, mapped if vfio-pci allows it. */
static int bar0_setup(Ctx *c) {
        struct vfio_region_info ri;
        int r;

        if (c->bar0_size > 0)
                return 0;
        r = get_region(c, VFIO_PCI_BAR0_REGION_INDEX, &ri);
        if (r < 0)
                return fail_errno(c, r, "VFIO_DEVICE_GET_REGION_INFO(BAR0)");
        if ((ri.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
            (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE) || ri.size < 0x100)
                return fail(c, -EIO, "BAR0 unusable (flags 0x%x, size %llu)", ri.flags, (unsigned long long) ri.size);
        c->bar0_offset = ri.offset;
        c->bar0_size = ri.size;

        /* vfio-pci refuses (EIO, or SIGBUS for mmap) BAR access while memory decoding is off. */
        r = config_update_command(c, PCI_COMMAND_MEMORY, 0, NULL);
        if (r < 0)
                return fail_errno(c, r, "enabling memory space in PCI_COMMAND");
        if (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) {
                void *p = mmap(NULL, (size_t) ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, c->device, (off_t) ri.offset);
                if (p != MAP_FAILED)            /* otherwise fall back to pread/pwrite */
                        c->bar0 = p;
        }
        return 0;
}

static int step_edu(Ctx *c) {
        uint32_t id, v;
        int r;

        if (!is_edu(c))
                return 0;
        r = bar0_setup(c);
        if (r < 0)
                return r;

        r = bar_rw32(c, EDU_REG_ID, &id, false);
        if (r < 0)
                return fail_errno(c, r, "reading the identification register");
        if ((id & 0xff) != 0xed)
                return fail(c, -ENODEV, "identification register is 0x%08x, expected 0x......ed", id);
        ok(c, "edu identification 0x%08x (version %u.%u) via %s", id, id >> 24, (id >> 16) & 0xff,
           c->bar0 ? "mmap" : "pread/pwrite");

        r = bar_write32(c, EDU_REG_LIVENESS, 0x12345678);
        if (r >= 0)
                r = bar_rw32(c, EDU_REG_LIVENESS, &v, false);
        if (r < 0)
                return fail_errno(c, r, "accessing the liveness register");
        if (v != ~0x12345678u)
                return fail(c, -EIO, "liveness register reads 0x%08x after writing 0x12345678, expected 0x%08x",
                            v, ~0x12345678u);
        ok(c, "edu liveness: wrote 0x12345678, read back 0x%08x", v);
        return 0;
}

static int dma_map(Ctx *c, void *buf, uint64_t iova) {
        struct vfio_iommu_type1_dma_map m = {
                .argsz = sizeof(m),
                .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                .vaddr = (uintptr_t) buf,
                .iova = iova,
                .size = DMA_BUF_SIZE,
        };

        if (ioctl(c->container, VFIO_IOMMU_MAP_DMA, &m) < 0) {
                int r = -errno;
                return fail_errno(c, r, "VFIO_IOMMU_MAP_DMA(iova 0x%llx)%s", (unsigned long long) iova,
                                  r == -ENOMEM ? " (RLIMIT_MEMLOCK too low?)" : "");
        }
        return 0;
}

static int dma_unmap(Ctx *c, bool *mapped, uint64_t iova) {
        struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = DMA_BUF_SIZE };

        if (!*mapped)
                return 0;
        *mapped = false;
        if (ioctl(c->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
                return fail_errno(c, -errno, "VFIO_IOMMU_UNMAP_DMA(iova 0x%llx)", (unsigned long long) iova);
        if (u.size != DMA_BUF_SIZE)
                return fail(c, -EIO, "VFIO_IOMMU_UNMAP_DMA(iova 0x%llx) unmapped %llu bytes",
                            (unsigned long long) iova, (unsigned long long) u.size);
        return 0;
}

/* Undoes what step_dma() did, in reverse order; safe to call again. Returns the first error. */
static int dma_teardown(Ctx *c) {
        int r = dma_unmap(c, &c->mapped_b, IOVA_B), k;

        k = dma_unmap(c, &c->mapped_a, IOVA_A);
        r = r < 0 ? r : k;
        if (c->buf_b)
                munmap(c->buf_b, DMA_BUF_SIZE);
        if (c->buf_a)
                munmap(c->buf_a, DMA_BUF_SIZE);
        c->buf_a = c->buf_b = NULL;
        if (c->master_set) {
                c->master_set = false;
                k = config_update_command(c, 0, PCI_COMMAND_MASTER, NULL);
                if (k < 0)
                        k = fail_errno(c, k, "disabling bus master in PCI_COMMAND");
                r = r < 0 ? r : k;
        }
        return r;
}

/* Runs one edu DMA transfer of DMA_LEN bytes and waits (bounded) until the device reports it done. */
static int edu_dma(Ctx *c, const char *what, uint64_t src, uint64_t dst, uint32_t dir) {
        struct timespec start, now, tick = { .tv_nsec = 1000000 };
        uint32_t cmd;
        int r;

        const uint64_t regs[][2] = { { EDU_REG_DMA_SRC, src }, { EDU_REG_DMA_DST, dst }, { EDU_REG_DMA_CNT, DMA_LEN } };

        __sync_synchronize();           /* our buffer writes before the device may read them */
        /* 64-bit registers as two 32-bit writes, low half first. (QEMU's edu zero-extends the low
         * write and ignores the high one; all our values are far below 4 GiB.) */
        r = 0;
        for (size_t i = 0; i < ELEMENTSOF(regs) && r >= 0; i++) {
                r = bar_write32(c, (unsigned) regs[i][0], (uint32_t) regs[i][1]);
                if (r >= 0)
                        r = bar_write32(c, (unsigned) regs[i][0] + 4, (uint32_t) (regs[i][1] >> 32));
        }
        if (r >= 0)
                r = bar_write32(c, EDU_REG_DMA_CMD, EDU_DMA_RUN | dir);     /* no interrupt */
        if (r < 0)
                return fail_errno(c, r, "starting DMA %s", what);

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                r = bar_rw32(c, EDU_REG_DMA_CMD, &cmd, false);
                if (r < 0)
                        return fail_errno(c, r, "polling DMA %s", what);
                if (!(cmd & EDU_DMA_RUN))
                        break;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - start.tv_sec) * 1000000000ll + (now.tv_nsec - start.tv_nsec) > EDU_DMA_TIMEOUT_NS)
                        return fail(c, -ETIMEDOUT, "DMA %s still running after 5 s (command register 0x%08x)", what, cmd);
                nanosleep(&tick, NULL);
        }
        __sync_synchronize();           /* the device's writes before our reads */
        return 0;
}

static int step_dma(Ctx *c) {
        /* Vary the pattern per run, so stale data in edu's buffer from an earlier run cannot pass. */
        uint8_t seed = (uint8_t) (3 + getpid());
        uint16_t old;
        void *a, *b;
        int r;

        if (!c->dma)
                return 0;
        if (!is_edu(c))
                return fail(c, -EOPNOTSUPP, "--dma needs an edu device (%04x:%04x), %s is %04x:%04x",
                            EDU_VENDOR, EDU_DEVICE, c->address, c->vendor, c->device_id);

        r = config_update_command(c, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0, &old);
        if (r < 0)
                return fail_errno(c, r, "enabling memory space and bus master in PCI_COMMAND");
        c->master_set = !(old & PCI_COMMAND_MASTER);

        a = mmap(NULL, DMA_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED)
                return fail_errno(c, -errno, "mmap DMA buffer");
        c->buf_a = a;
        b = mmap(NULL, DMA_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b == MAP_FAILED)
                return fail_errno(c, -errno, "mmap DMA buffer");
        c->buf_b = b;
        for (size_t i = 0; i < DMA_BUF_SIZE; i++) {
                c->buf_a[i] = (uint8_t) (i * 7 + seed);
                c->buf_b[i] = (uint8_t) ~c->buf_a[i];   /* every byte differs until written */
        }

        r = dma_map(c, c->buf_a, IOVA_A);
        if (r < 0)
                return r;
        c->mapped_a = true;
        r = dma_map(c, c->buf_b, IOVA_B);
        if (r < 0)
                return r;
        c->mapped_b = true;

        r = edu_dma(c, "from RAM to edu", IOVA_A, EDU_DMA_BUF, 0);
        if (r < 0)
                return r;
        r = edu_dma(c, "from edu to RAM", EDU_DMA_BUF, IOVA_B, EDU_DMA_TO_RAM);
        if (r < 0)
                return r;
        for (size_t i = 0; i < DMA_BUF_SIZE; i++) {
                uint8_t want = i < DMA_LEN ? c->buf_a[i] : (uint8_t) ~c->buf_a[i];
                if (c->buf_b[i] != want)
                        return fail(c, -EIO, "byte %zu of the destination is 0x%02x, expected 0x%02x%s", i,
                                    c->buf_b[i], want, i < DMA_LEN ? "" : " (written beyond the transfer)");
        }
        ok(c, "DMA round trip of %u bytes through the IOMMU", DMA_LEN);

        r = dma_teardown(c);
        if (r < 0)
                return r;
        ok(c, "DMA mappings removed, bus master restored");
        return 0;
}

static int step_bar_ops(Ctx *c) {
        int r;

        if (c->n_bar_ops == 0)
                return 0;
        r = bar0_setup(c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_bar_ops; i++) {
                BarOp *op = &c->bar_ops[i];

                if ((uint64_t) op->offset + 4 > c->bar0_size)
                        return fail(c, -ERANGE, "offset 0x%x is beyond BAR0 (%llu bytes)", op->offset,
                                    (unsigned long long) c->bar0_size);
                r = bar_rw32(c, op->offset, &op->value, op->write);
                if (r < 0)
                        return fail_errno(c, r, "%s BAR0 at 0x%x", op->write ? "writing" : "reading", op->offset);
                if (op->write)
                        ok(c, "poke 0x%x = 0x%08x", op->offset, op->value);
                else {
                        printf("peek 0x%x = 0x%08x\n", op->offset, op->value);
                        fflush(stdout);
                }
        }
        return 0;
}

static const struct {
        const char *what;
        int (*run)(Ctx *c);
} steps[] = {
        { "container",    step_container },
        { "group status", step_group     },
        { "IOMMU setup",  step_iommu     },
        { "device",       step_device    },
        { "config space", step_config    },
        { "edu BAR0",     step_edu       },
        { "edu DMA",      step_dma       },
        { "BAR0 access",  step_bar_ops   },
};

static void ctx_done(Ctx *c) {
        (void) dma_teardown(c);
        if (c->bar0)
                munmap((void *) c->bar0, (size_t) c->bar0_size);
        if (c->device >= 0)
                close(c->device);
        if (c->container_set)           /* only possible once no device fd is open */
                (void) ioctl(c->group, VFIO_GROUP_UNSET_CONTAINER);
        if (c->group >= 0)
                close(c->group);
        if (c->container >= 0)
                close(c->container);
}

static void usage(FILE *f) {
        fputs("Usage: vfio-check [--fd N | --group N] [--dma] [--poke OFF=VAL] [--peek OFF] [--hold] [--quiet] DEVICE\n"
              "  DEVICE       PCI address, e.g. 0000:04:01.0\n"
              "  --fd N       use the already-open VFIO group fd N\n"
              "  --group N    open /dev/vfio/N (default: the device's iommu_group in sysfs)\n"
              "  --dma        also run a DMA round trip (edu device 1234:11e8 only)\n"
              "  --poke OFF=VAL  write the 32-bit VAL at byte offset OFF of BAR0 (C numbers: 0x5400)\n"
              "  --peek OFF   read the 32-bit register at OFF of BAR0; prints \"peek 0xOFF = 0xVAL\"\n"
              "               (both repeatable, run in order after the other checks)\n"
              "  --hold       after the checks, keep the device open until killed\n"
              "  --close-group  with --hold: keep only the device fd (close the group fd)\n"
              "  --detach     with --hold: leave the process tree (fork, setsid, parent exits)\n"
              "  --quiet      print nothing on success\n", f);
}

/* A 32-bit number in C notation (0x5400, 21504); the whole string. */
static int parse_u32(const char *s, size_t n, uint32_t *ret) {
        char buf[32], *end;
        unsigned long long v;

        if (n == 0 || n >= sizeof(buf) || s[0] == '-' || s[0] == '+' || isspace((unsigned char) s[0]))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        v = strtoull(buf, &end, 0);
        if (errno != 0 || *end != '\0' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

/* "OFFSET=VALUE" for --poke, "OFFSET" for --peek; offsets 4-byte aligned. */
static int parse_bar_op(const char *s, bool write, BarOp *ret) {
        const char *eq = strchr(s, '=');
        BarOp op = { .write = write };

        if (write != !!eq)
                return -EINVAL;
        if (parse_u32(s, eq ? (size_t) (eq - s) : strlen(s), &op.offset) < 0 || op.offset % 4 != 0)
                return -EINVAL;
        if (eq && parse_u32(eq + 1, strlen(eq + 1), &op.value) < 0)
                return -EINVAL;
        *ret = op;
        return 0;
}

/* Returns 1 to run, 0 after --help, -EINVAL on usage errors. */
static int parse_argv(Ctx *c, int argc, char **argv) {
        static const struct option options[] = {
                { "fd",    required_argument, NULL, 'f' },
                { "group", required_argument, NULL, 'g' },
                { "dma",   no_argument,       NULL, 'd' },
                { "quiet", no_argument,       NULL, 'q' },
                { "hold",  no_argument,       NULL, 'H' },
                { "close-group", no_argument, NULL, 'C' },
                { "detach", no_argument,      NULL, 'D' },
                { "poke",  required_argument, NULL, 'P' },
                { "peek",  required_argument, NULL, 'K' },
                { "help",  no_argument,       NULL, 'h' },
                {}
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'f':
                case 'g':
                        if (parse_int(optarg, opt == 'f' ? &c->arg_fd : &c->arg_group) < 0) {
                                fprintf(stderr, "vfio-check: invalid number '%s'\n", optarg);
                                goto bad;
                        }
                        break;
                case 'd':
                        c->dma = true;
                        break;
                case 'q':
                        c->quiet = true;
                        break;
                case 'H':
                        c->hold = true;
                        break;
                case 'C':
                        c->close_group = true;
                        break;
                case 'D':
                        c->detach = true;
                        break;
                case 'P':
                case 'K':
                        if (c->n_bar_ops >= MAX_BAR_OPS) {
                                fprintf(stderr, "vfio-check: at most %d --poke and --peek\n", MAX_BAR_OPS);
                                goto bad;
                        }
                        if (parse_bar_op(optarg, opt == 'P', &c->bar_ops[c->n_bar_ops]) < 0) {
                                fprintf(stderr, "vfio-check: invalid %s '%s'\n", opt == 'P' ? "--poke OFFSET=VALUE" :
                                        "--peek OFFSET", optarg);
                                goto bad;
                        }
                        c->n_bar_ops++;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        goto bad;
                }

        if (c->arg_fd >= 0 && c->arg_group >= 0) {
                fputs("vfio-check: --fd and --group are mutually exclusive\n", stderr);
                goto bad;
        }
        if (optind != argc - 1) {
                fputs("vfio-check: expected exactly one DEVICE\n", stderr);
                goto bad;
        }
        c->address = argv[optind];
        if (!pci_address_valid(c->address)) {
                fprintf(stderr, "vfio-check: invalid PCI address '%s'\n", c->address);
                goto bad;
        }
        return 1;
bad:
        usage(stderr);
        return -EINVAL;
}

int main(int argc, char **argv) {
        Ctx c = { .arg_fd = -1, .arg_group = -1, .container = -1, .group = -1, .device = -1 };
        int r;

        r = parse_argv(&c, argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        for (size_t i = 0; i < ELEMENTSOF(steps) && r >= 0; i++) {
                r = steps[i].run(&c);
                if (r < 0)
                        fprintf(stderr, "vfio-check: %s failed: %s\n", steps[i].what,
                                c.why[0] != '\0' ? c.why : strerror(-r));
        }
        if (r >= 0 && c.hold) {
                /* A VMM at work: the device stays open until we are killed. */
                if (c.close_group && c.group >= 0) {
                        close(c.group);
                        c.group = -1;
                }
                if (c.detach) {
                        pid_t pid = fork();

                        if (pid < 0)
                                return 1;
                        if (pid > 0) {
                                printf("detached %d\n", (int) pid);
                                fflush(stdout);
                                _exit(0);
                        }
                        (void) setsid();
                }
                printf("holding %s%s\n", c.address, c.close_group ? " (device fd only)" : "");
                fflush(stdout);
                for (;;)
                        pause();
        }
        ctx_done(&c);
        return r < 0 ? 1 : 0;
}
