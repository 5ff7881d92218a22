/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthructl check: can this host pass devices through? What passthrud
 * says (IOMMU, each device and its group) beside read-only looks at the
 * host for what the bus API does not carry (interrupt remapping, VFIO
 * modules, group members' drivers, BARs).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "client.h"
#include "fileio.h"
#include "macro.h"
#include "output.h"
#include "passthructl.h"
#include "passthru-names.h"
#include "process.h"
#include "digest.h"

static bool file_contains(const char *path, const char *needle) {
        char line[4096];
        bool found = false;
        FILE *f = fopen(path, "re");

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

/* Where the IOMMU comes from, in words: /sys/class/iommu and the kernel command line. */
static char *iommu_source(void) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);
        DIR *d = opendir("/sys/class/iommu");
        struct dirent *de;
        bool any = false;

        if (!f)
                return NULL;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.') {
                        fprintf(f, "%s%s", any ? " " : "/sys/class/iommu: ", de->d_name);
                        any = true;
                }
        if (d)
                closedir(d);
        if (!any)
                fprintf(f, "no IOMMU in /sys/class/iommu");
        if (file_contains("/proc/cmdline", "intel_iommu=on"))
                fprintf(f, "; kernel command line has intel_iommu=on");
        else if (file_contains("/proc/cmdline", "amd_iommu="))
                fprintf(f, "; kernel command line sets amd_iommu=");
        fclose(f);
        return s;
}

/* Where each kernel's modules are: /lib/modules, or $PASSTHRU_MODULES_DIR (for tests). */
static const char *modules_dir(void) {
        return getenv("PASSTHRU_MODULES_DIR") ?: "/lib/modules";
}

/*
 * Does modules.dep or modules.builtin of kernel @release list module @name?
 * A module's name has '_' where its file may have '-' (vfio-pci.ko is
 * vfio_pci) or not (vfio_iommu_type1.ko): the two are one character here,
 * as they are to modprobe.
 */
static bool module_installed(const char *release, const char *name) {
        static const char *const lists[] = { "modules.dep", "modules.builtin" };
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                _cleanup_free_ char *path = NULL;
                FILE *f;

                if (asprintf(&path, "%s/%s/%s", modules_dir(), release, lists[i]) < 0)
                        return false;
                f = fopen(path, "re");
                while (f && getline(&line, &size, f) > 0) {
                        char *file = line, *end = line + strcspn(line, ":\n"), *slash;
                        size_t k = 0;

                        *end = '\0';
                        slash = strrchr(line, '/');
                        if (slash)
                                file = slash + 1;
                        for (; name[k] && file[k]; k++)
                                if (name[k] != file[k] && !(strchr("-_", name[k]) && strchr("-_", file[k])))
                                        break;
                        if (!name[k] && strncmp(file + k, ".ko", 3) == 0 && (!file[k + 3] || file[k + 3] == '.')) {
                                fclose(f);
                                return true;
                        }
                }
                if (f)
                        fclose(f);
        }
        return false;
}

/* Where the kernels' images are: /boot, or $PASSTHRU_BOOT_DIR (for tests). */
static const char *boot_dir(void) {
        return getenv("PASSTHRU_BOOT_DIR") ?: "/boot";
}

/*
 * The newest kernel installed (highest version among the directories of
 * modules_dir() that have a modules.dep and a boot_dir()/vmlinuz-VERSION:
 * what a removed kernel's package leaves behind has neither), which
 * Debian's boot loader starts by default; NULL when there is none.
 * free() it.
 */
static char *newest_kernel(void) {
        _cleanup_(closedirp) DIR *dir = opendir(modules_dir());
        char *best = NULL;
        struct dirent *de;

        while (dir && (de = readdir(dir))) {
                _cleanup_free_ char *dep = NULL, *image = NULL;

                if (de->d_name[0] == '.' || (best && strverscmp(de->d_name, best) <= 0))
                        continue;
                if (asprintf(&dep, "%s/%s/modules.dep", modules_dir(), de->d_name) < 0 || access(dep, F_OK) < 0)
                        continue;
                if (asprintf(&image, "%s/vmlinuz-%s", boot_dir(), de->d_name) < 0 || access(image, F_OK) < 0)
                        continue;
                free(best);
                best = strdup(de->d_name);
        }
        return best;
}

static bool module_present(const char *name) {
        char path[256];
        struct utsname u;

        snprintf(path, sizeof(path), "/sys/module/%s", name);
        if (access(path, F_OK) == 0)
                return true;
        return uname(&u) == 0 && module_installed(u.release, name);
}

static char *member_driver(const char *address) {
        char path[128], link[256];
        ssize_t k;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", address);
        k = readlink(path, link, sizeof(link) - 1);
        if (k < 0)
                return strdup("none");
        link[k] = '\0';
        return strdup(strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
}

static json_object *bars_json(const char *address, FILE *out) {
        json_object *a = json_object_new_array();
        unsigned long long start, end, flags;
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", address);
        f = fopen(path, "re");
        for (int i = 0; f && i < 6 && fscanf(f, "%llx %llx %llx", &start, &end, &flags) == 3; i++) {
                json_object *o;
                unsigned long long size;

                if (end <= start)
                        continue;
                size = end - start + 1;
                o = json_object_new_object();
                json_object_object_add(o, "index", json_object_new_int(i));
                json_object_object_add(o, "size", json_object_new_int64((int64_t) size));
                json_object_object_add(o, "type", json_object_new_string(flags & 0x100 ? "io" : "memory"));
                json_object_object_add(o, "prefetchable", json_object_new_boolean(flags & 0x2000));
                json_object_array_add(a, o);
                if (out)
                        fprintf(out, "%sBAR%d %s %llu%s%s", i ? ", " : "", i, flags & 0x100 ? "io" : "mem",
                                size >= 1024 ? size / 1024 : size, size >= 1024 ? " KiB" : " B",
                                flags & 0x2000 ? " prefetchable" : "");
        }
        if (f)
                fclose(f);
        return a;
}

/*
 * @s as comm_escape() shows a process's name: what another user's process
 * says of itself (its command line, the cgroup it made) reaches root's
 * terminal and --json, so a control character, a byte above 0x7e and '\\'
 * are written as \xNN.  NULL when out of memory.
 */
static char *escaped(const char *s) {
        size_t size = strlen(s) * 4 + 1;
        char *e = malloc(size);

        if (e)
                comm_escape(s, e, size);
        return e;
}

/*
 * Who to blame for a device on vfio-pci without passthrud's lease: who
 * has /dev/vfio/@group open ("pid 812 (qemu-system-x86), libvirt domain
 * 'vm1', cgroup /machine.slice/..."), or what to do when nobody has.
 */
static char *foreign_blame(const char *address, int group) {
        _cleanup_(pid_set_done) PidSet holders = {};
        char node[64], comm[PROC_COMM_MAX];
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return NULL;
        snprintf(node, sizeof(node), "/dev/vfio/%d", group);
        (void) proc_add_fd_holders("/proc", node, &holders);
        fprintf(f, "on vfio-pci without a lease of passthrud's: another tool moved it there, and it is leased to no VM");
        for (size_t i = 0; i < holders.n; i++) {
                _cleanup_free_ char *cgroup = NULL, *domain = libvirt_domain_of(holders.pids[i]);
                _cleanup_free_ char *cgroup_text = NULL, *domain_text = NULL;

                proc_comm("/proc", holders.pids[i], comm, sizeof(comm));
                (void) proc_cgroup("/proc", holders.pids[i], &cgroup);
                domain_text = domain ? escaped(domain) : NULL;
                cgroup_text = cgroup ? escaped(cgroup) : NULL;
                fprintf(f, "\n       %s pid %d (%s) has %s open", i ? "and" : "held by:", (int) holders.pids[i], comm, node);
                if (domain_text)
                        fprintf(f, ", libvirt domain '%s': give its <hostdev> managed='no' (docs/libvirt.md)", domain_text);
                if (cgroup_text)
                        fprintf(f, ", cgroup %s", cgroup_text);
        }
        if (holders.n == 0)
                fprintf(f, "\n       nobody has %s open%s: give it back to passthru (as root: echo %s > "
                        "/sys/bus/pci/drivers/vfio-pci/unbind; echo passthru > /sys/bus/pci/devices/%s/driver_override; "
                        "echo %s > /sys/bus/pci/drivers_probe), then 'passthructl reset %s'",
                        node, geteuid() == 0 ? "" : " that this user can see (run check as root to see who)", address,
                        address, address, address);
        fclose(f);
        return s;
}

static const char *mark(bool ok) {
        return ok ? (use_color() ? "\033[32mok\033[0m" : "ok") : (use_color() ? "\033[31mFAIL\033[0m" : "FAIL");
}

/*
 * The ACS controls in force on PCI bridge @address ("SV RR CR UF"), "none",
 * or NULL when its extended config space cannot be read (not root).
 * Without Source Validation, P2P Request Redirect, Completion Redirect
 * and Upstream Forwarding, the kernel puts what is below it in one IOMMU
 * group.
 */
static char *acs_controls(const char *address) {
        static const char *const bits[] = { "SV", "TB", "RR", "CR", "UF", "EC", "DT" };
        uint8_t cfg[4096];
        char path[128], *s = NULL;
        unsigned pos = 0x100;
        ssize_t k;
        int fd;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", address);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        k = pread(fd, cfg, sizeof(cfg), 0);
        close(fd);
        if (k < (ssize_t) sizeof(cfg))
                return NULL;
        for (int hops = 0; pos >= 0x100 && pos <= sizeof(cfg) - 8 && hops < 512; hops++) {
                uint32_t h = cfg[pos] | cfg[pos + 1] << 8 | cfg[pos + 2] << 16 | (uint32_t) cfg[pos + 3] << 24;
                uint16_t ctrl;
                size_t n = 0;
                FILE *f;

                if (h == 0 || h == 0xffffffff)
                        break;
                if ((h & 0xffff) != 0x000d) {
                        pos = (h >> 20) & 0xffc;
                        continue;
                }
                ctrl = cfg[pos + 6] | cfg[pos + 7] << 8;
                f = open_memstream(&s, &n);
                if (!f)
                        return NULL;
                for (size_t i = 0; i < ELEMENTSOF(bits); i++)
                        if (ctrl & (1u << i))
                                fprintf(f, "%s%s", ftell(f) ? " " : "", bits[i]);
                fclose(f);
                if (s && !*s) {
                        free(s);
                        s = NULL;
                }
                return s ?: strdup("none (its ACS capability is off)");
        }
        return strdup("none (no ACS capability)");
}

/* The bridge above @address in sysfs, or "" on the root bus. */
static void upstream_port(const char *address, char out[16]) {
        char path[128], real[PATH_MAX], *slash;

        out[0] = '\0';
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", address);
        if (!realpath(path, real))
                return;
        slash = strrchr(real, '/');
        if (!slash)
                return;
        *slash = '\0';
        slash = strrchr(real, '/');
        if (slash && strlen(slash + 1) == 12 && slash[5] == ':' && slash[8] == ':' && slash[11] == '.')
                snprintf(out, 16, "%s", slash + 1);
}

/*
 * SR-IOV: each PF, its VFs, and whether ACS keeps them apart (each VF in a
 * group of its own) or not (they share the PF's, and a VF cannot be
 * leased while the PF has its host driver).  A problem only when a VF
 * that is marked shares its PF's group.
 */
static bool check_sriov(const DeviceInfo *devs, size_t n, json_object *report_json) {
        json_object *a = json_object_new_array();
        bool problems = false;

        for (size_t i = 0; i < n; i++) {
                const DeviceInfo *pf = &devs[i];
                _cleanup_free_ char *acs = NULL;
                bool shared = false, marked = false;
                char port[16];
                json_object *o;

                if (pf->total_vfs == 0)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (devs[j].physical_function && strcmp(devs[j].physical_function, pf->address) == 0) {
                                shared = shared || (pf->group >= 0 && devs[j].group == pf->group);
                                marked = marked || devs[j].passthrough;
                        }
                upstream_port(pf->address, port);
                if (*port)
                        acs = acs_controls(port);
                o = json_object_new_object();
                json_object_object_add(o, "address", json_object_new_string(pf->address));
                json_object_object_add(o, "total_vfs", json_object_new_int64(pf->total_vfs));
                json_object_object_add(o, "num_vfs", json_object_new_int64(pf->num_vfs));
                json_object_object_add(o, "virtual_functions", json_strv(pf->virtual_functions));
                json_object_object_add(o, "upstream_port", json_object_new_string(port));
                json_object_object_add(o, "acs", acs ? json_object_new_string(acs) : NULL);
                json_object_object_add(o, "vfs_share_pf_group", json_object_new_boolean(shared));
                json_object_array_add(a, o);
                problems = problems || (shared && marked);
                if (arg_json)
                        continue;
                printf("%-4s SR-IOV PF %s (%04x:%04x, driver %s): %u of %u VFs%s\n", mark(!(shared && marked)),
                       pf->address, pf->vendor, pf->device, pf->driver && *pf->driver ? pf->driver : "none",
                       pf->num_vfs, pf->total_vfs, pf->num_vfs ? "" : " ('passthructl sriov PF COUNT' makes them)");
                if (*port)
                        printf("       ACS on its port %s: %s\n", port, acs ?: "unknown (its config space needs root)");
                else
                        printf("       on the root bus (no port above it)\n");
                if (pf->num_vfs > 0)
                        printf("       %s\n", shared ? "its VFs share IOMMU group with the PF: none can be leased while "
                                                    "the PF has a host driver"
                                                  : "each VF in an IOMMU group without the PF");
        }
        json_object_object_add(report_json, "sriov", a);
        return problems;
}

/*
 * What passthru-refresh-initramfs writes in initramfs-marks, for the
 * marks' file @conf and the record itself: the sha256 of @conf, and the
 * one recorded; "absent" for a file that is not there.  A negative errno
 * when either cannot be read, the name of that file in @ret_failed.
 */
static int initramfs_marks(const char *conf, const char *record, char now[static SHA256_HEX_SIZE],
                           char built[static SHA256_HEX_SIZE], const char **ret_failed) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        *ret_failed = conf;
        r = read_full_file(conf, &text, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r < 0)
                snprintf(now, SHA256_HEX_SIZE, "absent");
        else {
                r = sha256_hex(text, size, now);
                if (r < 0)
                        return r;
        }
        free(TAKE_PTR(text));
        *ret_failed = record;
        r = read_full_file(record, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r < 0)
                snprintf(built, SHA256_HEX_SIZE, "absent");
        else
                snprintf(built, SHA256_HEX_SIZE, "%.*s", (int) strcspn(text, "\n"), text);
        return 0;
}

/*
 * The next boot: is passthru.ko installed for the running kernel (in its
 * modules.dep, where DKMS's depmod puts it and where the initramfs hooks
 * and modprobe look) and for the newest kernel installed when that is
 * another (the one the next boot starts), and was the initramfs refreshed since the marks of
 * passthru.conf last changed (passthru-refresh-initramfs records the
 * sha256 of the passthru.conf the images carry in initramfs-marks, and
 * nothing when a refresh fails)?  Either one wrong, the devices marked
 * for passthrough are not hidden, or not those, before the host drivers
 * bind them.  Files that cannot be read (not root, where root made them
 * unreadable) leave the marks unknown, which is no failure.
 * $PASSTHRU_MODPROBE_CONF and $PASSTHRU_INITRAMFS_MARKS move the two
 * files, as they do for that script (for tests).
 */
static bool check_next_boot(json_object *report_json) {
        const char *conf = getenv("PASSTHRU_MODPROBE_CONF") ?: PT_MODPROBE_FILE;
        const char *record = getenv("PASSTHRU_INITRAMFS_MARKS") ?: PT_INITRAMFS_MARKS_FILE;
        char now[SHA256_HEX_SIZE], built[SHA256_HEX_SIZE];
        _cleanup_free_ char *newest = NULL;
        const char *failed;
        struct utsname u = {};
        bool module_ok, newest_ok, marks_ok;
        int r;

        module_ok = uname(&u) == 0 && module_installed(u.release, "passthru");
        newest = newest_kernel();
        if (newest && strcmp(newest, u.release) == 0)
                newest = mfree(newest);
        newest_ok = !newest || module_installed(newest, "passthru");
        if (newest)
                json_object_object_add(report_json, "passthru_module_installed_newest_kernel",
                                       json_object_new_boolean(newest_ok));
        r = initramfs_marks(conf, record, now, built, &failed);
        marks_ok = r == 0 && strcmp(now, built) == 0;
        json_object_object_add(report_json, "passthru_module_installed", json_object_new_boolean(module_ok));
        json_object_object_add(report_json, "initramfs_marks_current", r < 0 ? NULL : json_object_new_boolean(marks_ok));
        if (arg_json)
                return !module_ok || !newest_ok || (r == 0 && !marks_ok);
        if (module_ok)
                printf("%-4s passthru.ko installed for Linux %s\n", mark(true), u.release);
        else
                printf("%-4s passthru.ko not installed for Linux %s (in no %s/%s/modules.dep): the next boot of\n"
                       "       this kernel loads no passthru, so host drivers bind the devices marked for passthrough.\n"
                       "       Install linux-headers-%s so that DKMS builds passthru ('dkms status passthru'),\n"
                       "       then rebuild its initramfs: update-initramfs -u -k %s (dracut: dracut --force --kver %s)\n",
                       mark(false), u.release, modules_dir(), u.release, u.release, u.release, u.release);
        /* A kernel installed since the boot, which the next one starts: DKMS built for it only with its headers. */
        if (newest && newest_ok)
                printf("%-4s passthru.ko installed for Linux %s, the newest kernel installed\n", mark(true), newest);
        else if (newest)
                printf("%-4s passthru.ko not installed for Linux %s, the newest kernel installed (the next boot's,\n"
                       "       unless the boot loader is told otherwise): booted, it loads no passthru, so host drivers\n"
                       "       bind the devices marked for passthrough. Install linux-headers-%s so that DKMS\n"
                       "       builds passthru, then: update-initramfs -u -k %s (dracut: dracut --force --kver %s)\n",
                       mark(false), newest, newest, newest, newest);
        if (r < 0)
                printf("?    Initramfs marks unknown: cannot read %s: %s\n", failed, strerror(-r));
        else if (marks_ok)
                printf("%-4s Initramfs built with the marks of %s%s\n", mark(true), conf,
                       strcmp(now, "absent") ? "" : " (no such file: no marks)");
        else
                printf("%-4s Initramfs out of date: %s changed after its last refresh (%s: %s),\n"
                       "       so the next boot hides the devices marked before, not these. Rebuild it:\n"
                       "       systemctl start passthru-initramfs.service (its journal says why the last refresh\n"
                       "       failed, if one did)\n",
                       mark(false), conf, record, strcmp(built, "absent") ? "other marks" : "no marks recorded");
        return !module_ok || !newest_ok || (r == 0 && !marks_ok);
}

/* An IOMMU as the kernel lists them, for a check without passthrud (whose IommuEnabled reads the same). */
static bool host_has_iommu(void) {
        DIR *d = opendir("/sys/class/iommu");
        struct dirent *de;
        bool any = false;

        while (d && !any && (de = readdir(d)))
                any = de->d_name[0] != '.';
        if (d)
                closedir(d);
        return any;
}

int verb_check(sd_bus *bus, char **args) {
        _cleanup_free_ char *source = iommu_source();
        json_object *report_json = json_object_new_object(), *jdevs = json_object_new_array();
        bool iommu_ok, ir_ok, unsafe, vfio_ok, problems = false;
        int iommu = 0, r, daemon_r;
        DeviceInfo *devs = NULL;
        size_t n = 0;

        (void) args;
        /*
         * Without passthrud (not running, or refusing to start on a
         * malformed passthru.conf: when an administrator wants this most)
         * the host's own checks still run; the devices are not checked.
         */
        daemon_r = bus ? get_bool_property(bus, "IommuEnabled", &iommu) : -EHOSTDOWN;
        iommu_ok = daemon_r >= 0 ? iommu : host_has_iommu();
        ir_ok = file_contains("/proc/interrupts", "IR-");
        unsafe = file_contains("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y");
        vfio_ok = module_present("vfio_pci") && module_present("vfio_iommu_type1");

        json_object_object_add(report_json, "iommu", json_object_new_boolean(iommu_ok));
        json_object_object_add(report_json, "iommu_source", json_object_new_string(source ?: ""));
        json_object_object_add(report_json, "interrupt_remapping", json_object_new_boolean(ir_ok));
        json_object_object_add(report_json, "allow_unsafe_interrupts", json_object_new_boolean(unsafe));
        json_object_object_add(report_json, "vfio", json_object_new_boolean(vfio_ok));
        if (!arg_json) {
                printf("%-4s IOMMU %s (%s)\n", mark(iommu_ok), iommu_ok ? "enabled" : "disabled: boot with intel_iommu=on (Intel VT-d); on AMD enable it in the firmware, without amd_iommu=off",
                       source ?: "?");
                printf("%-4s Interrupt remapping %s\n", mark(ir_ok && !unsafe),
                       ir_ok ? (unsafe ? "in force, but vfio_iommu_type1 allow_unsafe_interrupts is set" : "in force (IR- in /proc/interrupts)")
                             : "not in force: a VM could forge interrupts");
                printf("%-4s VFIO modules %s\n", mark(vfio_ok), vfio_ok ? "vfio-pci and vfio_iommu_type1 present" : "missing: vfio-pci or vfio_iommu_type1");
        }
        problems = !iommu_ok || !ir_ok || unsafe || !vfio_ok;
        problems = check_next_boot(report_json) || problems;

        if (daemon_r < 0) {
                json_object_object_add(report_json, "devices", NULL);
                json_object_object_add(report_json, "ok", json_object_new_boolean(false));
                if (arg_json)
                        print_json(report_json);
                else {
                        json_object_put(report_json);
                        printf("?    Devices not checked: passthrud does not answer (above); 'systemctl status "
                               "passthrud' and its journal say why\n");
                }
                json_object_put(jdevs);
                return problems ? EXIT_CHECK : daemon_r;
        }
        r = get_devices(bus, &devs, &n);
        if (r < 0) {
                json_object_put(report_json);
                json_object_put(jdevs);
                return r;
        }
        problems = check_sriov(devs, n, report_json) || problems;
        for (size_t i = 0; i < n; i++) {
                DeviceInfo *d = &devs[i];
                json_object *o, *members = json_object_new_array();
                _cleanup_free_ char *why = NULL, *blame = NULL;
                bool foreign;
                char *bars = NULL;
                size_t blen = 0;
                FILE *bf;

                if (!d->passthrough && !(d->owner && *d->owner))
                        continue;
                for (char **m = d->group_devices; m && *m; m++) {
                        _cleanup_free_ char *drv = member_driver(*m);
                        json_object *mo = json_object_new_object();

                        json_object_object_add(mo, "address", json_object_new_string(*m));
                        json_object_object_add(mo, "driver", json_object_new_string(drv ?: "?"));
                        json_object_array_add(members, mo);
                        if (!d->viable && !why && drv && strcmp(drv, "passthru") && strcmp(drv, "vfio-pci") &&
                            strcmp(drv, "pcieport") && strcmp(drv, "pci-stub") && strcmp(drv, "none"))
                                if (asprintf(&why, "%s is held by host driver %s", *m, drv) < 0)
                                        why = NULL; /* "unknown" below */
                }
                bf = open_memstream(&bars, &blen);
                o = device_json(d);
                json_object_object_add(o, "group_members", members);
                json_object_object_add(o, "bars", bars_json(d->address, bf));
                if (bf)
                        fclose(bf);
                if (!d->viable)
                        json_object_object_add(o, "not_viable_because", json_object_new_string(why ?: "unknown"));
                foreign = strcmp(d->state, "foreign") == 0;
                if (foreign) {
                        blame = foreign_blame(d->address, d->group);
                        json_object_object_add(o, "foreign", json_object_new_string(blame ?: "?"));
                }
                json_object_array_add(jdevs, o);
                problems = problems || !d->viable || foreign;
                if (!arg_json) {
                        printf("\n%-4s %s %s (%04x:%04x), state %s%s%s\n", mark(d->viable && !foreign), d->address,
                               d->name && *d->name ? d->name : "?", d->vendor, d->device, state_color(d->state), d->state,
                               color_off());
                        printf("       IOMMU group %d:", d->group);
                        for (char **m = d->group_devices; m && *m; m++) {
                                _cleanup_free_ char *drv = member_driver(*m);
                                printf(" %s (%s)", *m, drv ?: "?");
                        }
                        printf("\n       %s\n", d->viable ? "viable: every member can go to VFIO" : why ?: "not viable");
                        if (foreign)
                                printf("       %s\n", blame ?: "on vfio-pci without a lease of passthrud's");
                        printf("       reset methods:");
                        for (char **m = d->reset_methods; m && *m; m++)
                                printf(" %s", *m);
                        printf("%s\n", d->reset_methods && d->reset_methods[0] ? "" : " none (it will be quarantined after each lease)");
                        printf("       %s, MSI %s, MSI-X %s\n", d->pcie ? "PCI Express" : "conventional PCI",
                               d->msi ? "yes" : "no", d->msix ? "yes" : "no");
                        printf("       %s\n", bars && *bars ? bars : "no BARs");
                }
                free(bars);
        }
        device_infos_free(devs, n);
        json_object_object_add(report_json, "devices", jdevs);
        json_object_object_add(report_json, "ok", json_object_new_boolean(!problems));
        if (arg_json)
                print_json(report_json);
        else {
                json_object_put(report_json);
                printf("\n%s\n", problems ? "Passthrough cannot work as configured: see FAIL above."
                                           : "Passthrough can work on this host.");
        }
        return problems ? EXIT_CHECK : EXIT_OK;
}

