/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "critical.h"
#include "fileio.h"
#include "macro.h"
#include "strv.h"
#include "sysfs.h"

/* Deeper than any real stack (LVM on dm-crypt on md on partitions, VLAN on bond on bridge). */
#define WALK_DEPTH_MAX 16

typedef struct Walk {
        char *root;                             /* realpath() of the sysfs root */
        char needle[PCI_ADDRESS_LEN + 2];       /* "/ADDR/" */
        char **seen;                            /* block device paths and interface names walked */
        char *leaf;                             /* the name found on the device */
} Walk;

static void walk_done(Walk *w) {
        free(w->root);
        strv_free(w->seen);
        free(w->leaf);
}

static bool is_missing(int r) {
        return r == -ENOENT || r == -ENOTDIR;
}

static const char *last_component(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/*
 * fn(ret, path) with the path that printf() makes of the rest (format
 * checked by asprintf's attribute); -ENOMEM when it cannot be made.
 */
#define AT_PATH(fn, ret, ...)                                                   \
        ({                                                                      \
                _cleanup_free_ char *_path = NULL;                              \
                asprintf(&_path, __VA_ARGS__) < 0 ? -ENOMEM : fn((ret), _path); \
        })

/* Sorted names in a directory, without dot files; -ENOENT or -ENOTDIR when it is none. */
static int list_dir_at(char ***ret, const char *path) {
        return dir_list(path, NULL, ret);
}
#define list_dir(ret, ...) AT_PATH(list_dir_at, ret, __VA_ARGS__)

/* realpath() of the path. */
static int resolve_at(char **ret, const char *path) {
        char *p = realpath(path, NULL);

        if (!p)
                return -errno;
        *ret = p;
        return 0;
}
#define resolve(ret, ...) AT_PATH(resolve_at, ret, __VA_ARGS__)

/* The whole file, without trailing whitespace. */
static int read_text_at(char **ret, const char *path) {
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r;

        r = read_full_file(path, &s, &n);
        if (r < 0)
                return r;
        while (n > 0 && strchr(" \t\n", s[n - 1]))
                s[--n] = '\0';
        *ret = TAKE_PTR(s);
        return 0;
}
#define read_text(ret, ...) AT_PATH(read_text_at, ret, __VA_ARGS__)

/* Does a resolved sysfs path run through the device's directory (or end at it)? */
static bool on_device(const Walk *w, const char *path) {
        size_t n = strlen(w->root), k;

        /* Only the part inside the tree counts (a test's tree lives somewhere). */
        if (strncmp(path, w->root, n) == 0 && path[n] == '/')
                path += n;
        if (strstr(path, w->needle))
                return true;
        k = strlen(path);
        n = strlen(w->needle) - 1;
        return k >= n && memcmp(path + k - n, w->needle, n) == 0;
}

static int found(Walk *w, const char *name) {
        free(w->leaf);
        w->leaf = strdup(name);
        return w->leaf ? 1 : -ENOMEM;
}

/* Record a visit; 0 if it is new, 1 if it was walked already. */
static int visit(Walk *w, const char *key) {
        int r;

        if (strv_contains(w->seen, key))
                return 1;
        r = strv_extend(&w->seen, key);
        return r < 0 ? r : 0;
}

/* Block devices */

static bool is_controller_name(const char *s) {
        if (strncmp(s, "nvme", 4) != 0 || !s[4])
                return false;
        return strspn(s + 4, "0123456789") == strlen(s + 4);
}

/*
 * A multipath NVMe namespace's disk sits in its subsystem's directory
 * (devices/virtual/nvme-subsystem/nvme-subsysN/nvmeXnY), which links to its
 * controllers by name.
 */
static int nvme_subsystem_walk(Walk *w, const char *subsys) {
        _cleanup_strv_free_ char **entries = NULL;
        int r;

        if (strncmp(last_component(subsys), "nvme-subsys", 11) != 0)
                return 0;
        r = list_dir(&entries, "%s", subsys);
        if (is_missing(r))
                return 0;
        if (r < 0)
                return r;
        for (char **e = entries; *e; e++) {
                _cleanup_free_ char *ctrl = NULL;

                if (!is_controller_name(*e))
                        continue;
                r = resolve(&ctrl, "%s/%s", subsys, *e);
                if (is_missing(r))
                        continue;
                if (r < 0)
                        return r;
                if (on_device(w, ctrl))
                        return found(w, *e);
        }
        return 0;
}

/* path: a block device's resolved sysfs directory. */
static int block_walk(Walk *w, const char *path, unsigned depth) {
        _cleanup_strv_free_ char **slaves = NULL;
        _cleanup_free_ char *parent = NULL, *partition = NULL;
        const char *name = last_component(path);
        int r;

        if (depth > WALK_DEPTH_MAX)
                return -ELOOP;
        r = visit(w, path);
        if (r != 0)
                return r < 0 ? r : 0;
        if (on_device(w, path))
                return found(w, name);

        /* dm (LVM, dm-crypt, multipath) and md: the devices below. */
        r = list_dir(&slaves, "%s/slaves", path);
        if (r < 0 && !is_missing(r))
                return r;
        for (char **s = slaves; s && *s; s++) {
                _cleanup_free_ char *lower = NULL;

                r = resolve(&lower, "%s/slaves/%s", path, *s);
                if (is_missing(r))
                        continue;
                if (r < 0)
                        return r;
                r = block_walk(w, lower, depth + 1);
                if (r != 0)
                        return r;
        }

        /* The directory that holds this one: a partition's disk (md0p1 on md0), an NVMe subsystem. */
        if (name == path + 1)
                return 0;
        parent = strndup(path, name - 1 - path);
        if (!parent)
                return -ENOMEM;
        r = nvme_subsystem_walk(w, parent);
        if (r != 0)
                return r;
        if (asprintf(&partition, "%s/partition", path) < 0)
                return -ENOMEM;
        if (access(partition, F_OK) < 0)
                return errno == ENOENT ? 0 : -errno;
        return block_walk(w, parent, depth + 1);
}

/* Mounted file systems and swap */

typedef struct Mount {
        unsigned major, minor;
        char *mountpoint, *fstype, *source;
} Mount;

static void mount_done(Mount *m) {
        free(m->mountpoint);
        free(m->fstype);
        free(m->source);
}

static void mounts_free(Mount *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                mount_done(&m[i]);
        free(m);
}

/*
 * Every mount of a mountinfo ("ID PARENT M:m ROOT MOUNTPOINT OPTIONS
 * [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"): PID 1's, the host's (this
 * process's own may lack some: systemd's ProtectHome= hides /home from
 * passthrud), or this process's when PID 1's cannot be read.  -ENOENT when
 * nothing is mounted on "/".
 */
static int mounts_read(const char *proc, Mount **ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        Mount *m = NULL;
        size_t n = 0;
        bool root = false;
        char *line, *save = NULL;
        int r;

        r = read_text(&text, "%s/1/mountinfo", proc);
        if (r < 0)
                r = read_text(&text, "%s/self/mountinfo", proc);
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_strv_free_ char **f = strv_split(line);
                size_t k, dash;
                unsigned major, minor;
                int c = 0;
                Mount *a;

                if (!f) {
                        r = -ENOMEM;
                        goto fail;
                }
                k = strv_length(f);
                if (k < 10)
                        continue;
                for (dash = 6; dash < k && strcmp(f[dash], "-") != 0; dash++)
                        ;
                if (dash + 2 >= k)
                        continue;
                if (sscanf(f[2], "%u:%u%n", &major, &minor, &c) != 2 || f[2][c])
                        continue;
                a = reallocarray(m, n + 1, sizeof(Mount));
                if (!a) {
                        r = -ENOMEM;
                        goto fail;
                }
                m = a;
                m[n] = (Mount) {
                        .major = major,
                        .minor = minor,
                        .mountpoint = strdup(f[4]),
                        .fstype = strdup(f[dash + 1]),
                        .source = strdup(f[dash + 2]),
                };
                n++;
                if (!m[n - 1].mountpoint || !m[n - 1].fstype || !m[n - 1].source) {
                        r = -ENOMEM;
                        goto fail;
                }
                root = root || strcmp(f[4], "/") == 0;
        }
        if (!root) {
                r = -ENOENT;
                goto fail;
        }
        *ret = m;
        *ret_n = n;
        return 0;
fail:
        mounts_free(m, n);
        return r;
}

/* "WHAT (SOURCE on ON)", or "WHAT (SOURCE on ON, via LEAF)" when the walk went below ON; 1. */
static int use_phrase(char **ret_what, const char *what, const char *source, const char *on, const char *leaf) {
        int r;

        if (strcmp(on, leaf) == 0)
                r = asprintf(ret_what, "%s (%s on %s)", what, source, on);
        else
                r = asprintf(ret_what, "%s (%s on %s, via %s)", what, source, on, leaf);
        return r < 0 ? -ENOMEM : 1;
}

/* What a mount is, for the message: "the root file system" or "the file system on /var". */
static int mount_what(const Mount *m, const char *on, const char *leaf, char **ret_what) {
        _cleanup_free_ char *what = NULL;

        if (strcmp(m->mountpoint, "/") == 0)
                what = strdup("the root file system");
        else if (asprintf(&what, "the file system on %s", m->mountpoint) < 0)
                what = NULL;
        if (!what)
                return -ENOMEM;
        return use_phrase(ret_what, what, m->source, on, leaf);
}

/* Is a btrfs device (devices/NAME, a link to its block device) the mount's source? */
static int btrfs_device_is_source(const char *devices, const char *name, const char *source) {
        _cleanup_free_ char *dm_name = NULL;
        int r;

        if (strcmp(last_component(source), name) == 0)
                return 1;
        if (strncmp(source, "/dev/mapper/", 12) != 0)
                return 0;
        r = read_text(&dm_name, "%s/%s/dm/name", devices, name);
        if (is_missing(r))
                return 0;
        if (r < 0)
                return r;
        return strcmp(dm_name, source + 12) == 0;
}

/*
 * The devices/ directory of the btrfs file system that holds source; the
 * only btrfs file system when none names it (a source of "/dev/root").
 * NULL when none can be told: none, or several and none named.
 */
static int btrfs_devices(const char *sysfs, const char *source, char **ret) {
        _cleanup_strv_free_ char **fsids = NULL;
        _cleanup_free_ char *only = NULL;
        unsigned n = 0;
        int r;

        *ret = NULL;
        r = list_dir(&fsids, "%s/fs/btrfs", sysfs);
        if (is_missing(r))
                return 0;
        if (r < 0)
                return r;
        for (char **fsid = fsids; *fsid; fsid++) {
                _cleanup_strv_free_ char **devs = NULL;
                _cleanup_free_ char *dir = NULL;

                if (asprintf(&dir, "%s/fs/btrfs/%s/devices", sysfs, *fsid) < 0)
                        return -ENOMEM;
                r = list_dir(&devs, "%s", dir);
                if (is_missing(r))
                        continue;       /* features/ */
                if (r < 0)
                        return r;
                for (char **d = devs; *d; d++) {
                        r = btrfs_device_is_source(dir, *d, source);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                *ret = TAKE_PTR(dir);
                                return 0;
                        }
                }
                if (n++ == 0)
                        only = TAKE_PTR(dir);
        }
        if (n == 1)
                *ret = TAKE_PTR(only);
        return 0;
}

/*
 * A file system whose disks cannot be told (ZFS: its pools' disks are
 * nowhere in sysfs; btrfs mounted from "/dev/root" beside other btrfs file
 * systems): every PCI device with a disk carries it, as far as passthrud
 * can tell.
 */
static int any_disk_use(Walk *w, const char *sysfs, const Mount *m, char **ret_what) {
        _cleanup_strv_free_ char **disks = NULL;
        _cleanup_free_ char *what = NULL;
        int r;

        r = list_dir(&disks, "%s/class/block", sysfs);
        if (is_missing(r))
                return 0;
        if (r < 0)
                return r;
        for (char **d = disks; *d; d++) {
                _cleanup_free_ char *path = NULL;

                r = resolve(&path, "%s/class/block/%s", sysfs, *d);
                if (is_missing(r))
                        continue;
                if (r < 0)
                        return r;
                if (!on_device(w, path))
                        continue;
                r = mount_what(m, m->fstype, m->fstype, &what);
                if (r < 0)
                        return r;
                if (asprintf(ret_what, "%s, whose disks passthrud cannot tell apart: %s is a disk here, as "
                             "any could be one of them", what, *d) < 0)
                        return -ENOMEM;
                return 1;
        }
        return 0;
}

/* Is the device under this mount's file system? */
static int mount_use(Walk *w, const char *sysfs, const Mount *m, char **ret_what) {
        _cleanup_strv_free_ char **devs = NULL;
        _cleanup_free_ char *dev = NULL, *dir = NULL;
        int r;

        if (m->major != 0) {
                r = resolve(&dev, "%s/dev/block/%u:%u", sysfs, m->major, m->minor);
                if (is_missing(r))
                        return 0;
                if (r < 0)
                        return r;
                r = block_walk(w, dev, 0);
                if (r <= 0)
                        return r;
                return mount_what(m, last_component(dev), w->leaf, ret_what);
        }
        if (strcmp(m->fstype, "zfs") == 0)
                return any_disk_use(w, sysfs, m, ret_what);
        /* Other anonymous devices hold no disk (proc, tmpfs...) or sit on others' mounts (overlay). */
        if (strcmp(m->fstype, "btrfs") != 0)
                return 0;
        r = btrfs_devices(sysfs, m->source, &dir);
        if (r < 0)
                return r;
        if (!dir)
                return any_disk_use(w, sysfs, m, ret_what);
        r = list_dir(&devs, "%s", dir);
        if (r < 0)
                return r;
        for (char **d = devs; *d; d++) {
                _cleanup_free_ char *path = NULL;

                r = resolve(&path, "%s/%s", dir, *d);
                if (is_missing(r))
                        continue;
                if (r < 0)
                        return r;
                r = block_walk(w, path, 0);
                if (r != 0)
                        return r < 0 ? r : mount_what(m, "btrfs", w->leaf, ret_what);
        }
        return 0;
}

/* The mounts, the root file system first (its message comes first when a device carries several). */
static int mounts_use(Walk *w, const char *sysfs, const char *proc, char **ret_what) {
        Mount *m = NULL;
        size_t n = 0;
        int r;

        r = mounts_read(proc, &m, &n);
        if (r < 0)
                return r;
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n; i++) {
                        if ((strcmp(m[i].mountpoint, "/") == 0) != (pass == 0))
                                continue;
                        r = mount_use(w, sysfs, &m[i], ret_what);
                        if (r != 0)
                                goto out;
                }
out:
        mounts_free(m, n);
        return r;
}

/* A swap partition's block device: /dev/NAME, or /dev/mapper/NAME (a dm device of that name). */
static int swap_device(const char *sysfs, const char *filename, char **ret) {
        _cleanup_strv_free_ char **disks = NULL;
        int r;

        if (strncmp(filename, "/dev/mapper/", 12) != 0)
                return resolve(ret, "%s/class/block/%s", sysfs, last_component(filename));
        r = list_dir(&disks, "%s/class/block", sysfs);
        if (r < 0)
                return r;
        for (char **d = disks; *d; d++) {
                _cleanup_free_ char *name = NULL;

                r = read_text(&name, "%s/class/block/%s/dm/name", sysfs, *d);
                if (r >= 0 && strcmp(name, filename + 12) == 0)
                        return resolve(ret, "%s/class/block/%s", sysfs, *d);
        }
        return -ENOENT;
}

/*
 * Swap partitions, from PROC/swaps ("Filename Type Size Used Priority");
 * a swap file is on a mounted file system, walked above.  No file: no swap.
 */
static int swap_use(Walk *w, const char *sysfs, const char *proc, char **ret_what) {
        _cleanup_free_ char *text = NULL;
        char *line, *save = NULL;
        bool header = true;
        int r;

        r = read_text(&text, "%s/swaps", proc);
        if (is_missing(r))
                return 0;
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), header = false) {
                _cleanup_strv_free_ char **f = strv_split(line);
                _cleanup_free_ char *dev = NULL;

                if (!f)
                        return -ENOMEM;
                if (header || strv_length(f) < 2 || strcmp(f[1], "partition") != 0)
                        continue;
                r = swap_device(sysfs, f[0], &dev);
                if (is_missing(r))
                        continue;
                if (r < 0)
                        return r;
                r = block_walk(w, dev, 0);
                if (r < 0)
                        return r;
                if (r > 0)
                        return use_phrase(ret_what, "swap", f[0], last_component(dev), w->leaf);
        }
        return 0;
}

/* Default routes */

/* A name that cannot walk out of class/net/. */
static bool ifname_valid(const char *s) {
        return s[0] && strlen(s) < IFNAMSIZ && !strchr(s, '/') &&
                strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int add_ifname(char ***l, const char *ifname) {
        if (!ifname_valid(ifname) || strcmp(ifname, "lo") == 0 || strv_contains(*l, ifname))
                return 0;
        return strv_extend(l, ifname);
}

static bool hex_is(const char *s, unsigned long value) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 16);
        return errno == 0 && end != s && !*end && v == value;
}

static bool hex_has(const char *s, unsigned long bits) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 16);
        return errno == 0 && end != s && !*end && (v & bits) == bits;
}

/*
 * The interfaces of the IPv4 (net/route: "Iface Destination Gateway Flags
 * RefCnt Use Metric Mask ...") or IPv6 (net/ipv6_route: "DEST PLEN SRC SLEN
 * NEXTHOP METRIC REFCNT USE FLAGS IFACE") default routes that are up.  No
 * file: no routes.
 */
static int default_route_ifnames(const char *proc, bool ipv6, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *text = NULL;
        char *line, *save = NULL;
        bool header = !ipv6;
        int r;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        r = read_text(&text, "%s/net/%s", proc, ipv6 ? "ipv6_route" : "route");
        if (r < 0 && !is_missing(r))
                return r;
        for (line = r < 0 ? NULL : strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_strv_free_ char **f = strv_split(line);
                size_t n;

                if (!f)
                        return -ENOMEM;
                if (header) {
                        header = false;
                        continue;
                }
                n = strv_length(f);
                if (!ipv6 && n >= 8 && hex_is(f[1], 0) && hex_is(f[7], 0) && hex_has(f[3], RTF_UP))
                        r = add_ifname(&l, f[0]);
                else if (ipv6 && n >= 10 && strspn(f[0], "0") == 32 && !f[0][32] &&
                         strcmp(f[1], "00") == 0 && hex_has(f[8], RTF_UP))
                        r = add_ifname(&l, f[n - 1]);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int net_walk(Walk *w, const char *sysfs, const char *ifname, unsigned depth) {
        _cleanup_strv_free_ char **entries = NULL, **lower = NULL;
        _cleanup_free_ char *device = NULL, *slaves = NULL;
        int r;

        if (!ifname_valid(ifname))
                return 0;
        if (depth > WALK_DEPTH_MAX)
                return -ELOOP;
        r = visit(w, ifname);
        if (r != 0)
                return r < 0 ? r : 0;

        r = resolve(&device, "%s/class/net/%s/device", sysfs, ifname);
        if (r >= 0 && on_device(w, device))
                return found(w, ifname);
        if (r < 0 && !is_missing(r))
                return r;

        /* Bridges, bonds, VLANs, macvlans...: lower_NAME links. */
        r = list_dir(&entries, "%s/class/net/%s", sysfs, ifname);
        if (is_missing(r))
                return 0;
        if (r < 0)
                return r;
        lower = calloc(1, sizeof(char *));
        if (!lower)
                return -ENOMEM;
        for (char **e = entries; *e; e++)
                if (strncmp(*e, "lower_", 6) == 0) {
                        r = add_ifname(&lower, *e + 6);
                        if (r < 0)
                                return r;
                }

        /* Bridge ports and bond slaves, for kernels or drivers without the links. */
        strv_free(entries);
        entries = NULL;
        r = list_dir(&entries, "%s/class/net/%s/brif", sysfs, ifname);
        if (r < 0 && !is_missing(r))
                return r;
        for (char **e = entries; e && *e; e++) {
                r = add_ifname(&lower, *e);
                if (r < 0)
                        return r;
        }
        r = read_text(&slaves, "%s/class/net/%s/bonding/slaves", sysfs, ifname);
        if (r < 0 && !is_missing(r))
                return r;
        if (r >= 0) {
                _cleanup_strv_free_ char **l = strv_split(slaves);

                if (!l)
                        return -ENOMEM;
                for (char **s = l; *s; s++) {
                        r = add_ifname(&lower, *s);
                        if (r < 0)
                                return r;
                }
        }

        for (char **s = lower; *s; s++) {
                r = net_walk(w, sysfs, *s, depth + 1);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int route_use(Walk *w, const char *sysfs, const char *proc, char **ret_what) {
        int r;

        for (int ipv6 = 0; ipv6 <= 1; ipv6++) {
                _cleanup_strv_free_ char **ifnames = NULL;

                r = default_route_ifnames(proc, ipv6, &ifnames);
                if (r < 0)
                        return r;
                for (char **i = ifnames; *i; i++) {
                        const char *family = ipv6 ? "IPv6" : "IPv4";

                        r = net_walk(w, sysfs, *i, 0);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        if (strcmp(*i, w->leaf) == 0)
                                r = asprintf(ret_what, "the default route (%s, %s)", family, *i);
                        else
                                r = asprintf(ret_what, "the default route (%s, %s via %s)", family, *i, w->leaf);
                        return r < 0 ? -ENOMEM : 1;
                }
        }
        return 0;
}

/* The boot console's display */

/*
 * The VGA device the firmware and the kernel's console came up on: its
 * boot_vga says "1" (another VGA device's "0"; a device that is not VGA has
 * none: not critical).  One that cannot be read, or says anything else, is
 * an error, as every input here that cannot be read is: the caller cannot
 * tell, and refuses (closed, as for mountinfo).
 */
static int boot_vga_use(const char *sysfs, const char *address, char **ret_what) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_text(&text, "%s/bus/pci/devices/%s/boot_vga", sysfs, address);
        if (is_missing(r))
                return 0;
        if (r < 0)
                return r;
        if (strcmp(text, "0") == 0)
                return 0;
        if (strcmp(text, "1") != 0)
                return -EBADMSG;
        *ret_what = strdup("the boot console's display (boot_vga)");
        return *ret_what ? 1 : -ENOMEM;
}

int critical_device_use(const char *sysfs, const char *proc, const char *address, char **ret_what) {
        _cleanup_(walk_done) Walk w = {};
        int r;

        if (!pci_address_valid(address) || !ret_what)
                return -EINVAL;
        sysfs = sysfs ?: "/sys";
        proc = proc ?: "/proc";

        w.root = realpath(sysfs, NULL);
        if (!w.root)
                return -errno;
        snprintf(w.needle, sizeof(w.needle), "/%s/", address);

        r = mounts_use(&w, sysfs, proc, ret_what);
        if (r == 0)
                r = swap_use(&w, sysfs, proc, ret_what);
        if (r == 0)
                r = route_use(&w, sysfs, proc, ret_what);
        /* Last, though one read: the host runs on without its console, and the gravest use is named first. */
        if (r == 0)
                r = boot_vga_use(sysfs, address, ret_what);
        return r;
}
