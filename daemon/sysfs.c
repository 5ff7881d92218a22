/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "passthru-names.h"
#include "process.h"
#include "strv.h"
#include "sysfs.h"

/* Enough for any sysfs attribute (a page) and for /proc/cmdline-sized files. */
#define READ_MAX (64 * 1024)

#define PCI_COMMAND_OFFSET 4
#define PCI_COMMAND_MASTER 0x4

/* Every read of the tree through this file (tests/unit/test-scale.c counts them per bus call). */
static unsigned long reads;

unsigned long sysfs_reads(void) {
        return reads;
}

static const char *root_or_default(const char *root) {
        return root ? root : "/sys";
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_lower_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static unsigned hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return c - 'A' + 10;
}

/* Parse exactly n hex digits at s; -1 if any is not one. */
static long parse_hex_field(const char *s, size_t n, bool lower_only) {
        long v = 0;

        for (size_t i = 0; i < n; i++) {
                if (lower_only ? !is_lower_hex(s[i]) : !is_hex(s[i]))
                        return -1;
                v = v * 16 + hex_value(s[i]);
        }
        return v;
}

/* "dddd:bb:ss.f" at s, exactly; fills the numbers. */
static bool parse_full(const char *s, bool lower_only, long *dom, long *bus, long *slot, long *fn) {
        if (strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
                return false;
        *dom = parse_hex_field(s, 4, lower_only);
        *bus = parse_hex_field(s + 5, 2, lower_only);
        *slot = parse_hex_field(s + 8, 2, lower_only);
        *fn = parse_hex_field(s + 11, 1, lower_only);
        return *dom >= 0 && *bus >= 0 && *slot >= 0 && *slot < 0x20 && *fn >= 0 && *fn < 8;
}

bool pci_address_valid(const char *s) {
        long dom, bus, slot, fn;

        return s && parse_full(s, true, &dom, &bus, &slot, &fn);
}

int pci_address_normalize(const char *in, char out[PCI_ADDRESS_LEN]) {
        char buf[PCI_ADDRESS_LEN];
        long dom, bus, slot, fn;
        size_t n;

        if (!in)
                return -EINVAL;
        n = strlen(in);
        if (n == 7)
                snprintf(buf, sizeof(buf), "0000:%s", in);
        else if (n == 12)
                memcpy(buf, in, sizeof(buf));
        else
                return -EINVAL;
        if (!parse_full(buf, false, &dom, &bus, &slot, &fn))
                return -EINVAL;
        snprintf(out, PCI_ADDRESS_LEN, "%04lx:%02lx:%02lx.%lx", dom, bus, slot, fn);
        return 0;
}

/* root/bus/pci/devices/ADDR[/file] */
static int device_path(const char *root, const char *address, const char *file, char **ret) {
        if (!pci_address_valid(address))
                return -EINVAL;
        if (asprintf(ret, "%s/bus/pci/devices/%s%s%s", root_or_default(root), address,
                     file ? "/" : "", file ?: "") < 0)
                return -ENOMEM;
        return 0;
}

static int device_exists(const char *root, const char *address) {
        _cleanup_free_ char *p = NULL;
        struct stat st;
        int r;

        r = device_path(root, address, NULL, &p);
        if (r < 0)
                return r;
        reads++;
        if (stat(p, &st) < 0)
                return errno == ENOENT ? -ENODEV : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENODEV;
        return 0;
}

/* The whole file (@name relative to @dfd, or AT_FDCWD), trailing newlines stripped; sysfs attributes are small. */
static int read_file_at(int dfd, const char *name, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        reads++;
        r = read_full_file_at(dfd, name, &buf, &len);
        if (r < 0)
                return r;
        if (len > READ_MAX)
                return -EFBIG;
        if (memchr(buf, '\0', len))
                return -EBADMSG;
        while (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int read_file(const char *path, char **ret) {
        return read_file_at(AT_FDCWD, path, ret);
}

/* One write(), as sysfs wants it, to @name (relative to @dfd, or AT_FDCWD); the file must exist. */
static int write_file_at(int dfd, const char *name, const char *s) {
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(s);
        ssize_t k;

        fd = openat(dfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        do
                k = write(fd, s, n);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        if ((size_t) k != n)
                return -EIO;
        return 0;
}

static int write_file(const char *path, const char *s) {
        return write_file_at(AT_FDCWD, path, s);
}

/* The last component of a symlink's target ("../../bus/pci/drivers/X" -> "X"). */
static int read_link_name_at(int dfd, const char *name, char **ret) {
        char buf[PATH_MAX];
        const char *slash;
        ssize_t n;
        char *s;

        reads++;
        n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        while (n > 1 && buf[n - 1] == '/')
                buf[--n] = '\0';
        slash = strrchr(buf, '/');
        s = strdup(slash ? slash + 1 : buf);
        if (!s)
                return -ENOMEM;
        if (!*s) {
                free(s);
                return -EBADMSG;
        }
        *ret = s;
        return 0;
}

static int read_link_name(const char *path, char **ret) {
        return read_link_name_at(AT_FDCWD, path, ret);
}

/* The link @name's last component (relative to @dfd, or AT_FDCWD), NULL when there is no link: a device's driver. */
static int link_name_or_none_at(int dfd, const char *name, char **ret) {
        int r = read_link_name_at(dfd, name, ret);

        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

static int device_driver(const char *root, const char *address, char **ret) {
        _cleanup_free_ char *p = NULL;
        int r;

        r = device_path(root, address, "driver", &p);
        if (r < 0)
                return r;
        return link_name_or_none_at(AT_FDCWD, p, ret);
}

/* "0x8086" (as sysfs prints ids and classes) up to max. */
static int parse_hex_attr(const char *s, uint32_t max, uint32_t *ret) {
        unsigned long v;
        char *end;

        if (strncmp(s, "0x", 2) != 0 || !is_hex(s[2]))
                return -EBADMSG;
        errno = 0;
        v = strtoul(s + 2, &end, 16);
        if (errno != 0 || *end != '\0' || v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int read_hex_attr(const char *root, const char *address, const char *file, uint32_t max, uint32_t *ret) {
        _cleanup_free_ char *p = NULL, *s = NULL;
        int r;

        r = device_path(root, address, file, &p);
        if (r < 0)
                return r;
        r = read_file(p, &s);
        if (r == -ENOENT)
                return -ENODEV;         /* went away under us */
        if (r < 0)
                return r;
        return parse_hex_attr(s, max, ret);
}

/* Sorted PCI addresses among the entries of a directory. */
static int list_addresses(const char *path, char ***ret) {
        reads++;
        return dir_list(path, pci_address_valid, ret);
}

void sysfs_pci_device_done(SysfsPciDevice *d) {
        if (!d)
                return;
        free(d->driver);
        strv_free(d->reset_methods);
        strv_free(d->virtfns);
        *d = (SysfsPciDevice) { .iommu_group = -1 };
}

/* A decimal attribute (sriov_totalvfs, sriov_numvfs) up to max; -ENOENT when missing. */
static int read_dec_attr(const char *root, const char *address, const char *file, unsigned max, unsigned *ret) {
        _cleanup_free_ char *p = NULL, *s = NULL;
        unsigned long v;
        char *end;
        int r;

        r = device_path(root, address, file, &p);
        if (r < 0)
                return r;
        r = read_file(p, &s);
        if (r < 0)
                return r;
        if (!isdigit((unsigned char) s[0]))
                return -EBADMSG;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* The PF of a VF (physfn), the VFs of a PF (virtfnN) and its counts; nothing for other devices. */
static int read_sriov(const char *root, SysfsPciDevice *d) {
        _cleanup_free_ char *p = NULL, *name = NULL;
        int r;

        r = device_path(root, d->address, "physfn", &p);
        if (r < 0)
                return r;
        r = read_link_name(p, &name);
        if (r >= 0) {
                if (!pci_address_valid(name))
                        return -EBADMSG;
                memcpy(d->physfn, name, PCI_ADDRESS_LEN);
        } else if (r != -ENOENT)
                return r;

        d->virtfns = calloc(1, sizeof(char *));
        if (!d->virtfns)
                return -ENOMEM;
        r = read_dec_attr(root, d->address, "sriov_totalvfs", 0xffff, &d->total_vfs);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        /*
         * Not sriov_numvfs: the kernel shows it under the PF's device lock,
         * which a write of it (passthrud's worker, or anyone's) and an unbind
         * of the PF's driver hold until a leased VF's VMM lets go.  The
         * virtfnN links are read without it; they are the VFs there now.
         */
        d->num_vfs = 0;
        for (unsigned i = 0; i < d->total_vfs; i++) {
                char file[32];

                p = mfree(p);
                name = mfree(name);
                snprintf(file, sizeof(file), "virtfn%u", i);
                r = device_path(root, d->address, file, &p);
                if (r < 0)
                        return r;
                r = read_link_name(p, &name);
                if (r == -ENOENT)
                        break;          /* being created or removed right now */
                if (r < 0)
                        return r;
                if (!pci_address_valid(name))
                        return -EBADMSG;
                r = strv_extend(&d->virtfns, name);
                if (r < 0)
                        return r;
                d->num_vfs++;
        }
        return 0;
}

int sysfs_set_num_vfs(const char *root, const char *address, unsigned n) {
        _cleanup_free_ char *p = NULL;
        unsigned total = 0, now = 0;
        char buf[16];
        int r;

        r = read_dec_attr(root, address, "sriov_totalvfs", 0xffff, &total);
        if (r == -ENOENT)
                return device_exists(root, address) ?: -EOPNOTSUPP;
        if (r < 0)
                return r;
        if (n > total)
                return -ERANGE;
        r = read_dec_attr(root, address, "sriov_numvfs", total, &now);
        if (r < 0)
                return r;
        if (now == n)
                return 0;
        r = device_path(root, address, "sriov_numvfs", &p);
        if (r < 0)
                return r;
        if (now > 0 && n > 0) {
                r = write_file(p, "0");
                if (r < 0)
                        return r;
        }
        snprintf(buf, sizeof(buf), "%u", n);
        return write_file(p, buf);
}

int sysfs_pci_iommu_group(const char *root, const char *address, int *ret) {
        _cleanup_free_ char *p = NULL, *group = NULL;
        char *end;
        long g;
        int r;

        r = device_path(root, address, "iommu_group", &p);
        if (r < 0)
                return r;
        r = read_link_name(p, &group);
        if (r == -ENOENT) {
                *ret = -1;
                return 0;
        }
        if (r < 0)
                return r;
        errno = 0;
        g = strtol(group, &end, 10);
        if (errno != 0 || *end != '\0' || end == group || g < 0 || g > INT_MAX)
                return -EBADMSG;
        *ret = (int) g;
        return 0;
}

/* A PCI-to-PCI bridge: base class 0x06, subclass 0x04, any programming interface. */
static bool class_is_bridge(uint32_t class) {
        return (class >> 8) == 0x0604;
}

int sysfs_pci_read(const char *root, const char *address, SysfsPciDevice *ret) {
        _cleanup_sysfs_pci_device_ SysfsPciDevice d = { .iommu_group = -1 };
        _cleanup_free_ char *p = NULL, *s = NULL;
        uint32_t v;
        int r;

        if (!pci_address_valid(address))
                return -EINVAL;
        memcpy(d.address, address, PCI_ADDRESS_LEN);

        /*
         * The class first: a missing one says the device is not there, and a
         * bridge is read no further than its group (bridges are not leased,
         * and a host has about as many of them as endpoints; their group
         * still counts, as a member that changes a group's viability).
         */
        r = read_hex_attr(root, address, "class", 0xffffff, &d.class);
        if (r == -ENOTDIR)
                return -ENODEV;         /* not a directory: no device of that name */
        if (r < 0)
                return r;
        d.is_bridge = class_is_bridge(d.class);
        if (d.is_bridge) {
                r = sysfs_pci_iommu_group(root, address, &d.iommu_group);
                if (r < 0)
                        return r;
                *ret = d;
                d = (SysfsPciDevice) { .iommu_group = -1 };
                return 0;
        }

        /* The ids: hex attributes, each with its width. */
        const struct {
                const char *file;
                uint32_t max;
                uint16_t *id;
        } ids[] = {
                { "vendor", 0xffff, &d.vendor },
                { "device", 0xffff, &d.device },
                { "subsystem_vendor", 0xffff, &d.subvendor },
                { "subsystem_device", 0xffff, &d.subdevice },
        };
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                r = read_hex_attr(root, address, ids[i].file, ids[i].max, &v);
                if (r < 0)
                        return r;
                *ids[i].id = (uint16_t) v;
        }

        r = device_driver(root, address, &d.driver);
        if (r < 0)
                return r;

        /*
         * Not driver_override: the kernel shows it under the device's lock,
         * which a reset holds throughout and an unbind of vfio-pci holds
         * until every copy of the group fd is closed.  Read on the loop (a
         * udev event in the middle of a return), it would stall every
         * caller that long.  Nothing here reads a locked attribute but a
         * PF's sriov_numvfs.  Nor uevent, which would give the ids and the
         * class in one read instead of five: Linux 6.1's uevent_show()
         * takes the device lock too.
         */

        r = sysfs_pci_iommu_group(root, address, &d.iommu_group);
        if (r < 0)
                return r;

        r = device_path(root, address, "reset_method", &p);
        if (r < 0)
                return r;
        r = read_file(p, &s);
        if (r < 0 && r != -ENOENT)
                return r;
        d.reset_methods = r >= 0 ? strv_split(s) : calloc(1, sizeof(char *));
        if (!d.reset_methods)
                return -ENOMEM;

        r = read_sriov(root, &d);
        if (r < 0)
                return r;

        *ret = d;
        d = (SysfsPciDevice) { .iommu_group = -1 };
        return 0;
}

int sysfs_pci_list(const char *root, char ***ret) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (asprintf(&p, "%s/bus/pci/devices", root_or_default(root)) < 0)
                return -ENOMEM;
        r = list_addresses(p, ret);
        if (r == -ENOENT) {
                /* No PCI bus at all: nothing to list. */
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        return r;
}

int sysfs_iommu_group_devices(const char *root, int group, char ***ret) {
        _cleanup_free_ char *p = NULL;

        if (group < 0)
                return -EINVAL;
        if (asprintf(&p, "%s/kernel/iommu_groups/%d/devices", root_or_default(root), group) < 0)
                return -ENOMEM;
        return list_addresses(p, ret);
}

/* A driver name as the kernel prints it: no path, no whitespace. */
static bool driver_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 255 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] == '/' || s[i] <= ' ' || s[i] == 0x7f)
                        return false;
        return true;
}

/* @driver into the driver_override file @name (relative to @dfd); NULL or "" clears it. */
static int override_at(int dfd, const char *name, const char *driver) {
        if (driver && *driver && !driver_name_valid(driver))
                return -EINVAL;
        return write_file_at(dfd, name, driver && *driver ? driver : "\n");
}

int sysfs_set_driver_override(const char *root, const char *address, const char *driver) {
        _cleanup_free_ char *p = NULL;
        int r;

        r = device_path(root, address, "driver_override", &p);
        if (r < 0)
                return r;
        r = override_at(AT_FDCWD, p, driver);
        if (r == -ENOENT)
                return device_exists(root, address) ?: -ENOENT;
        return r;
}

/*
 * @address into the driver's unbind file @unbind (relative to @dfd).  No
 * such file: 1 when @driver_link says no driver is left (nothing to
 * unbind, or the device is gone), -ENOENT when one is that cannot be
 * unbound.  0 once written.
 */
static int unbind_at(int dfd, const char *unbind, const char *driver_link, const char *address) {
        _cleanup_free_ char *driver = NULL;
        int r;

        r = write_file_at(dfd, unbind, address);
        if (r != -ENOENT)
                return r;
        r = link_name_or_none_at(dfd, driver_link, &driver);
        if (r < 0)
                return r;
        return driver ? -ENOENT : 1;
}

int sysfs_unbind(const char *root, const char *address) {
        _cleanup_free_ char *unbind = NULL, *driver = NULL, *left = NULL;
        int r;

        r = device_path(root, address, "driver/unbind", &unbind);
        if (r >= 0)
                r = device_path(root, address, "driver", &driver);
        if (r < 0)
                return r;
        /* In a child: vfio-pci's unbind may wait uninterruptibly for the group's last fd (process.h). */
        r = process_write_apart(unbind, address);
        if (r == -ENOENT) {
                /* No unbind file: no driver left (1), or one that cannot be unbound. */
                r = link_name_or_none_at(AT_FDCWD, driver, &left);
                if (r >= 0)
                        r = left ? -ENOENT : 1;
        }
        /* No driver left: done, unless the device itself is gone. */
        return r == 1 ? device_exists(root, address) : r;
}

int sysfs_unbind_from(const char *root, const char *driver, const char *address) {
        _cleanup_free_ char *p = NULL;

        if (!pci_address_valid(address) || !driver || !driver_name_valid(driver))
                return -EINVAL;
        if (asprintf(&p, "%s/bus/pci/drivers/%s/unbind", root_or_default(root), driver) < 0)
                return -ENOMEM;
        return write_file(p, address);
}

int sysfs_drivers_probe(const char *root, const char *address) {
        _cleanup_free_ char *p = NULL;

        if (!pci_address_valid(address))
                return -EINVAL;
        if (asprintf(&p, "%s/bus/pci/drivers_probe", root_or_default(root)) < 0)
                return -ENOMEM;
        return write_file(p, address);
}

/*
 * The device's directory, the link bus/pci/devices/ADDR followed once: the
 * moves below reach its files from it instead of walking the tree (and that
 * link) again for each, which costs a grant a quarter of a millisecond under
 * emulation.  -ENODEV if it is not there.
 */
static int device_dir_open(const char *root, const char *address) {
        _cleanup_free_ char *p = NULL;
        int r, fd;

        r = device_path(root, address, NULL, &p);
        if (r < 0)
                return r;
        reads++;
        fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? -ENODEV : -errno;
        return fd;
}

/*
 * Whether a vfio-dev/vfioN of the device directory @dfd has a device
 * number: a VFIO device cdev (Linux 6.6+).  Linux 6.1 to 6.5 make that
 * class device without one (no /dev node, no fd without the group).
 * True when it cannot tell.
 */
static bool has_vfio_device_cdev(int dfd) {
        _cleanup_(closedirp) DIR *dir = NULL;
        int fd = openat(dfd, "vfio-dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return errno != ENOENT;
        dir = fdopendir(fd);
        if (!dir) {
                safe_close(fd);
                return true;
        }
        for (struct dirent *de; (errno = 0, de = readdir(dir));) {
                _cleanup_free_ char *dev = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&dev, "%s/dev", de->d_name) < 0)
                        return true;
                if (faccessat(dirfd(dir), dev, F_OK, 0) == 0 || errno != ENOENT)
                        return true;
        }
        return errno != 0;
}

bool sysfs_unbind_waits_beyond_group(const char *root, const char *address) {
        _cleanup_close_ int dfd = device_dir_open(root, address);

        if (dfd < 0)
                return true;
        /* Its VFs: a link, dangling or not. */
        if (faccessat(dfd, "virtfn0", F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
                return true;
        return has_vfio_device_cdev(dfd);
}

int sysfs_bind_to(const char *root, const char *address, const char *driver) {
        _cleanup_free_ char *current = NULL, *now = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (!driver || !driver_name_valid(driver))
                return -EINVAL;
        dfd = device_dir_open(root, address);
        if (dfd < 0)
                return dfd;
        r = override_at(dfd, "driver_override", driver);
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r;     /* gone since it was opened */
        r = link_name_or_none_at(dfd, "driver", &current);
        if (r < 0)
                return r;
        if (current && strcmp(current, driver) == 0)
                return 0;
        /* Its driver may have left meanwhile (1: nothing to unbind). */
        if (current) {
                r = unbind_at(dfd, "driver/unbind", "driver", address);
                if (r < 0)
                        return r;
        }
        r = sysfs_drivers_probe(root, address);
        if (r < 0)
                return r;
        r = link_name_or_none_at(dfd, "driver", &now);
        if (r < 0)
                return r;
        return now && strcmp(now, driver) == 0 ? 0 : -EIO;
}

/* A file of the device's is missing: -ENODEV when the device went meanwhile, else @otherwise. */
static int no_reset_file(const char *root, const char *address, int otherwise) {
        int r = device_exists(root, address);

        return r < 0 ? r : otherwise;
}

int sysfs_reset(const char *root, const char *address, const char *method) {
        _cleanup_free_ char *previous = NULL;
        _cleanup_strv_free_ char **methods = NULL;
        _cleanup_close_ int dfd = -EBADF;
        bool pinned = false;
        int r, q;

        /* Its directory once: a return's reset reaches both files from it (device_dir_open()). */
        dfd = device_dir_open(root, address);
        if (dfd < 0)
                return dfd;
        r = read_file_at(dfd, "reset_method", &previous);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0) {
                methods = strv_split(previous);
                if (!methods)
                        return -ENOMEM;
                if (strv_length(methods) == 0)
                        return -ENOTTY;
        }

        if (method && *method) {
                /* Without reset_method (before Linux 5.15) nothing can be pinned. */
                if (!methods) {
                        if (faccessat(dfd, "reset", F_OK, 0) < 0)
                                return errno == ENOENT ? no_reset_file(root, address, -ENOTTY) : -errno;
                        return -EOPNOTSUPP;
                }
                if (!strv_contains(methods, method))
                        return -EOPNOTSUPP;
                if (strv_length(methods) > 1) {
                        r = write_file_at(dfd, "reset_method", method);
                        if (r < 0)
                                return r;
                        pinned = true;
                }
        }

        r = write_file_at(dfd, "reset", "1");
        if (r == -ENOENT)
                r = no_reset_file(root, address, -ENOTTY);
        if (pinned) {
                /*
                 * Put the list back as it was.  When it was the kernel's
                 * default list, writing it out is the same as "default".
                 */
                q = write_file_at(dfd, "reset_method", previous);
                if (r >= 0 && q < 0)
                        r = q;
        }
        return r;
}

int sysfs_set_bus_master(const char *root, const char *address, bool enable) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint16_t le, cmd, want;
        ssize_t n;
        int r;

        r = device_path(root, address, "config", &p);
        if (r < 0)
                return r;
        fd = open(p, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return device_exists(root, address) ?: -ENOENT;
                return -errno;
        }
        n = pread(fd, &le, sizeof(le), PCI_COMMAND_OFFSET);
        if (n < 0)
                return -errno;
        if (n != sizeof(le))
                return -EIO;
        cmd = le16toh(le);
        want = enable ? (cmd | PCI_COMMAND_MASTER) : (cmd & ~PCI_COMMAND_MASTER);
        if (want == cmd)
                return 0;
        le = htole16(want);
        n = pwrite(fd, &le, sizeof(le), PCI_COMMAND_OFFSET);
        if (n < 0)
                return -errno;
        if (n != sizeof(le))
                return -EIO;
        return 0;
}

int sysfs_iommu_state(const char *root, bool *ret_enabled) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *p = NULL;
        struct dirent *de;

        if (asprintf(&p, "%s/class/iommu", root_or_default(root)) < 0)
                return -ENOMEM;
        reads++;
        d = opendir(p);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret_enabled = false;
                return 0;
        }
        errno = 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        *ret_enabled = true;
                        return 0;
                }
        if (errno != 0)
                return -errno;
        *ret_enabled = false;
        return 0;
}

/* The parameter's file opened, or -ENOENT when the module is not loaded. */
static int open_unsafe_interrupts(const char *root) {
        _cleanup_free_ char *p = NULL;
        int fd;

        if (asprintf(&p, "%s/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
                     root_or_default(root)) < 0)
                return -ENOMEM;
        fd = open(p, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int sysfs_vfio_unsafe_interrupts(const char *root, int *fd, bool *ret) {
        char buf[8];
        ssize_t n = -1;

        assert(fd);
        /* A sysfs attribute read from offset 0 is shown anew; an unloaded module's file answers ENODEV. */
        if (*fd >= 0 && (n = pread(*fd, buf, sizeof(buf) - 1, 0)) < 0)
                *fd = safe_close(*fd);
        if (*fd < 0) {
                int r = open_unsafe_interrupts(root);

                if (r == -ENOENT) {
                        *ret = false;
                        return 0;
                }
                if (r < 0)
                        return r;
                *fd = r;
                n = pread(*fd, buf, sizeof(buf) - 1, 0);
                if (n < 0)
                        return -errno;
        }
        while (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = '\0';
        if (strcmp(buf, "Y") == 0)
                *ret = true;
        else if (strcmp(buf, "N") == 0)
                *ret = false;
        else
                return -EBADMSG;
        return 0;
}

int proc_interrupt_remapping(const char *proc_root, bool *ret) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *p = NULL, *line = NULL;
        size_t size = 0;

        if (asprintf(&p, "%s/interrupts", proc_root ?: "/proc") < 0)
                return -ENOMEM;
        f = fopen(p, "re");
        if (!f)
                return -errno;
        errno = 0;
        while (getline(&line, &size, f) >= 0)
                if (strstr(line, "IR-")) {
                        *ret = true;
                        return 0;
                }
        if (ferror(f))
                return errno > 0 ? -errno : -EIO;
        *ret = false;
        return 0;
}

int sysfs_pci_is_bridge(const char *root, const char *address) {
        uint32_t class;
        int r;

        r = read_hex_attr(root, address, "class", 0xffffff, &class);
        if (r < 0)
                return r;
        return class_is_bridge(class);
}

int sysfs_pci_driver(const char *root, const char *address, char **ret) {
        int r = device_driver(root, address, ret);

        if (r >= 0 && !*ret)
                r = device_exists(root, address);       /* no driver, or no device? */
        return r;
}

bool pci_driver_keeps_group_viable(const char *driver) {
        static const char *const allowed[] = {
                PT_STUB_DRIVER, PT_VFIO_DRIVER, "pcieport", "pci-stub",
        };

        if (!driver)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (strcmp(driver, allowed[i]) == 0)
                        return true;
        return false;
}
