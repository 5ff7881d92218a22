/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's QEMU hook (docs/libvirt.md):
 *
 *   passthructl libvirt-hook DOMAIN OPERATION SUBOPERATION EXTRA  < domain XML
 *
 * At "prepare" the passthru devices that the domain names in a <hostdev
 * mode='subsystem' type='pci' managed='no'> are leased for VM DOMAIN by a
 * holder, "passthructl libvirt-hold DOMAIN DEVICE...", that outlives the
 * hook (libvirt waits for the hook and everything holding its output): in
 * a systemd scope of its own, it leases, closes each group fd at once (on
 * Linux 6.1 a VFIO group is open in one place at a time: QEMU opens it) and
 * lives until the hook's "release" stops it, or the domain's QEMU is gone,
 * or no QEMU took the group in time.  Its exit ends the leases: passthrud
 * takes each group back, reset, once QEMU has closed it.  A passthru
 * device with managed='yes' is refused: libvirt would move it to vfio-pci
 * behind passthrud's back.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include <linux/passthru.h>

#include "client.h"
#include "cmdline.h"
#include "domxml.h"
#include "fileio.h"
#include "macro.h"
#include "passthru-names.h"
#include "passthructl.h"
#include "process.h"
#include "state.h"
#include "strv.h"

#define HOLDER_DIR "/run/passthru-libvirt"
/* The holder's last line to the hook when it holds every lease. */
#define HELD_MARK "passthru-libvirt-hold: holding\n"
/* How long a holder waits for QEMU to open the groups it leased. */
#define START_TIMEOUT_SEC 180
#define TICK_MSEC 1000
/* How long a group the domain's QEMU has closed stays leased (libvirt hands fds over). */
#define CLOSED_GRACE_TICKS 3
/* Where the system libvirtd writes each running domain's QEMU pid. */
#define LIBVIRT_QEMU_RUN_DIR "/run/libvirt/qemu"

static int read_all(int fd, char **ret) {
        char *buf = NULL;
        size_t size = 0, len = 0;

        for (;;) {
                ssize_t k;

                if (len + 4096 + 1 > size) {
                        char *b;

                        if (size > 16 * 1024 * 1024) {
                                free(buf);
                                return -EFBIG;
                        }
                        b = realloc(buf, size = size * 2 + 8192);
                        if (!b) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = b;
                }
                k = read(fd, buf + len, size - len - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = -errno;
                        free(buf);
                        return r;
                }
                if (k == 0)
                        break;
                len += k;
        }
        buf[len] = 0;
        *ret = buf;
        return 0;
}

static void holder_pidfile(const char *domain, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s.pid", HOLDER_DIR, domain);
}

/* The pid a pid file names; 0 when the file is missing, unreadable or names no process pid. */
static pid_t read_pidfile(const char *path) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        long pid;

        if (fd < 0 || read_all(fd, &text) < 0)
                return 0;
        pid = strtol(text, NULL, 10);
        return pid <= 1 || pid > INT32_MAX ? 0 : (pid_t) pid;
}

/* The holder of @domain's leases, if the pid file names a live one; 0 if none. */
static pid_t holder_pid(const char *domain) {
        char path[PATH_MAX], cmdline[PATH_MAX];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        pid_t pid;

        holder_pidfile(domain, path, sizeof(path));
        pid = read_pidfile(path);
        if (pid == 0)
                return 0;
        /* A recycled pid is no holder: its second argument says what it is. */
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, cmdline, sizeof(cmdline) - 1);
        if (n <= 0)
                return 0;
        cmdline[n] = 0;
        /* ... "libvirt-hold DOMAIN ...": this domain's holder, not another's whose pid came round. */
        for (char *p = cmdline; p < cmdline + n; p += strlen(p) + 1)
                if (strcmp(p, "libvirt-hold") == 0) {
                        char *d = p + strlen(p) + 1;

                        return d < cmdline + n && strcmp(d, domain) == 0 ? pid : 0;
                }
        return 0;
}

/* Stop @domain's holder, if any, and wait (up to 10 s, then SIGKILL) until it is gone. */
static void stop_holder(const char *domain) {
        pid_t pid = holder_pid(domain);
        _cleanup_close_ int pidfd = -EBADF;
        char path[PATH_MAX];

        holder_pidfile(domain, path, sizeof(path));
        if (pid > 0) {
                pidfd = pidfd_open(pid);
                if (pidfd >= 0 && pidfd_send_signal(pidfd, SIGTERM) >= 0) {
                        struct pollfd p = { .fd = pidfd, .events = POLLIN };

                        if (poll(&p, 1, 10000) == 0) {
                                fprintf(stderr, "passthru: the lease holder of domain '%s' (pid %d) did not stop; killing it\n",
                                        domain, (int) pid);
                                (void) pidfd_send_signal(pidfd, SIGKILL);
                                (void) poll(&p, 1, 5000);
                        }
                }
        }
        (void) unlink(path);
}

/* The domain's passthru devices: managed='no' ones into @ret; a managed='yes' one is refused. */
static int passthru_hostdevs(sd_bus *bus, const char *domain, const DomainHostdev *hd, size_t n, char ***ret) {
        _cleanup_strv_free_ char **ours = calloc(1, sizeof(char *));
        DeviceInfo *devs = NULL;
        size_t nd = 0;
        bool refused = false;
        int r;

        if (!ours)
                return -ENOMEM;
        r = get_devices(bus, &devs, &nd);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < nd; k++) {
                        if (strcmp(devs[k].address, hd[i].address) != 0 || strcmp(devs[k].state, "host") == 0)
                                continue;
                        if (hd[i].managed) {
                                fprintf(stderr,
                                        "passthru: %s is kept by passthru, and domain '%s' names it with managed='yes': "
                                        "libvirt would move it to vfio-pci behind passthrud's back. Use managed='no' "
                                        "on its <hostdev> (virsh edit %s): passthru's hook then leases it for the domain.\n",
                                        hd[i].address, domain, domain);
                                refused = true;
                        } else if (!strv_contains(ours, hd[i].address) && strv_extend(&ours, hd[i].address) < 0) {
                                device_infos_free(devs, nd);
                                return -ENOMEM;
                        }
                }
        device_infos_free(devs, nd);
        if (refused)
                return -EPERM;
        *ret = TAKE_PTR(ours);
        return 0;
}

/*
 * Start the holder and wait for its word: HELD_MARK when it holds every
 * lease (it lives on), anything else is why it could not (it exits, and
 * with it whatever it had leased).
 */
static int spawn_holder(const char *domain, char **devices) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *out = NULL, *desc = NULL;
        char self[PATH_MAX];
        int pipefd[2], status, r;
        size_t len;
        ssize_t n;
        pid_t pid;

        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return -errno;
        self[n] = 0;
        if (asprintf(&desc, "--description=passthru lease holder of libvirt domain %s", domain) < 0)
                return -ENOMEM;
        argv = calloc(1, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        /* A scope of its own: a restart of libvirtd leaves it alone, and systemctl shows it. */
        if (access("/run/systemd/system", F_OK) == 0 &&
            (strv_extend(&argv, "systemd-run") < 0 || strv_extend(&argv, "--scope") < 0 ||
             strv_extend(&argv, "--quiet") < 0 || strv_extend(&argv, "--collect") < 0 ||
             strv_extend(&argv, desc) < 0 || strv_extend(&argv, "--") < 0))
                return -ENOMEM;
        if (strv_extend(&argv, self) < 0 || strv_extend(&argv, "libvirt-hold") < 0 || strv_extend(&argv, domain) < 0)
                return -ENOMEM;
        for (char **d = devices; *d; d++)
                if (strv_extend(&argv, *d) < 0)
                        return -ENOMEM;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

                /* Its own session, no terminal, libvirt's pipes not kept: only ours, until it holds. */
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(pipefd[1], STDOUT_FILENO) < 0 ||
                    dup2(pipefd[1], STDERR_FILENO) < 0)
                        _exit(127);
                (void) setsid();
                execvp(argv[0], argv);
                fprintf(stderr, "passthru: cannot run %s: %m\n", argv[0]);
                _exit(127);
        }
        close(pipefd[1]);
        r = read_all(pipefd[0], &out);
        close(pipefd[0]);
        if (r < 0)
                return r;
        len = strlen(out);
        if (len >= strlen(HELD_MARK) && strcmp(out + len - strlen(HELD_MARK), HELD_MARK) == 0) {
                out[len - strlen(HELD_MARK)] = 0;
                fputs(out, stderr);     /* libvirt logs it */
                return 0;
        }
        /* It stopped short: it exits, and its leases end with it. */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        fprintf(stderr, "passthru: cannot lease the passthru devices of domain '%s':\n%s", domain, out);
        if (len == 0 || out[len - 1] != '\n')
                fputc('\n', stderr);
        return -EIO;
}

/* The passthru.ko rules that count while passthrud cannot be asked. */
#define MODULE_HIDE "/sys/module/passthru/parameters/hide"
#define MODULE_IDS "/sys/module/passthru/parameters/ids"
#define PROC_CMDLINE "/proc/cmdline"

/* @d as an ids= entry names it: its ids, class, and domain (a VF's: the larger of its own and its PF's). */
static CmdlineIds device_ids(const SysfsPciDevice *d) {
        CmdlineIds ids = { .vendor = d->vendor, .device = d->device, .subvendor = d->subvendor,
                           .subdevice = d->subdevice, .class = d->class };
        unsigned pf;

        if (sscanf(d->address, "%x:", &ids.domain) != 1)
                ids.domain = UINT_MAX;          /* no rule's */
        if (d->physfn[0]) {
                if (sscanf(d->physfn, "%x:", &pf) != 1)
                        ids.domain = UINT_MAX;
                else if (pf > ids.domain)
                        ids.domain = pf;
        }
        return ids;
}

/*
 * Is the device @d (as sysfs_pci_read() read it) passthru's by a rule of passthru.ko's: its
 * hide= and ids= parameters now (the command line's and modprobe.d's), or
 * the kernel command line's passthru.hide= and passthru.ids=?  The rule
 * goes to @rule and where it is to @where.
 */
static bool passthru_rule_covers(const SysfsPciDevice *d, char *rule, size_t size, const char **where) {
        _cleanup_free_ char *hide = NULL, *ids = NULL, *cmdline = NULL;
        _cleanup_sysfs_pci_device_ SysfsPciDevice pf = {};
        const CmdlineIds dev_ids = device_ids(d);
        int vf = -1;

        /* A VF: its number, for the rules that name it by its PF ((PF/N)). */
        if (d->physfn[0] && sysfs_pci_read(NULL, d->physfn, &pf) >= 0)
                vf = strv_index(pf.virtfns, d->address);

        /* hide=: the module joins its values with blanks; each token as a passthru.hide= of its own. */
        if (read_full_file(MODULE_HIDE, &hide, NULL) >= 0) {
                char *save = NULL;

                *where = MODULE_HIDE;
                for (char *t = strtok_r(hide, " \t\n\v\f\r\"", &save); t; t = strtok_r(NULL, " \t\n\v\f\r\"", &save)) {
                        _cleanup_free_ char *arg = NULL;

                        if (asprintf(&arg, "passthru.hide=%s", t) < 0)
                                return true;    /* out of memory: as if it were, the safe side */
                        if (cmdline_hide_covers_vf(arg, d->address, d->vendor, d->device, d->physfn, vf, rule, size))
                                return true;
                }
        }
        if (read_full_file(MODULE_IDS, &ids, NULL) >= 0) {
                *where = MODULE_IDS;
                if (cmdline_ids_value_covers(ids, ids + strcspn(ids, "\n"), &dev_ids, rule, size))
                        return true;
        }
        if (read_full_file(PROC_CMDLINE, &cmdline, NULL) >= 0) {
                *where = PROC_CMDLINE;
                if (cmdline_hide_covers_vf(cmdline, d->address, d->vendor, d->device, d->physfn, vf, rule, size) ||
                    cmdline_ids_cover(cmdline, &dev_ids, rule, size))
                        return true;
        }
        return false;
}

/* Is @d a VF whose PF the state file gives VFs to (NumVFs=), which passthru.ko hides? */
static bool vf_of_marked_pf(PersistentState *state, const SysfsPciDevice *d) {
        StateDevice *s = d->physfn[0] ? state_find_device(state, d->physfn) : NULL;

        return s && s->num_vfs > 0;
}

/*
 * passthrud cannot be asked (it fails to start, say): a domain is refused
 * when it names a device that is passthru's all the same and may not have
 * been reset since its last VM: one that passthru.ko holds now, that the
 * state file marks (or a VF of a PF it gives VFs to), or one on vfio-pci
 * that a rule of passthru.ko's covers (a VM that stopped while passthrud
 * was down left it there, unreset).  When the state file does not parse
 * (what stops passthrud too), every device a hostdev names is refused.
 * Other hostdevs are libvirt's business.
 */
static int hostdevs_without_daemon(const char *domain, const DomainHostdev *hd, size_t n, int error) {
        _cleanup_(state_done) PersistentState state = {};
        _cleanup_free_ char *reason = NULL;
        int r = 0, k;

        k = state_load(PT_STATE_DIR, &state, &reason);
        for (size_t i = 0; i < n; i++) {
                _cleanup_sysfs_pci_device_ SysfsPciDevice dev = {};
                char rule[PASSTHRU_RULE_MAX + 8] = "";
                StateDevice *marked = k >= 0 ? state_find_device(&state, hd[i].address) : NULL;
                const char *driver, *where = NULL;

                /* Not there, or in a domain above ffff (which no rule names): no driver, no ids, no PF. */
                if (sysfs_pci_read(NULL, hd[i].address, &dev) < 0)
                        dev = (SysfsPciDevice) { .iommu_group = -1 };
                driver = dev.driver ?: "";

                if (k < 0)
                        fprintf(stderr, "passthru: domain '%s' names %s, and passthrud cannot be asked for a lease (%s) "
                                "nor its state file read (%s): not starting it, since the device may be passthru's "
                                "and not reset (see 'systemctl status passthrud')\n",
                                domain, hd[i].address, strerror(-error),
                                reason ?: PT_STATE_DIR "/" STATE_FILE_NAME ": out of memory");
                else if (strcmp(driver, "passthru") == 0 || (marked && marked->passthrough) ||
                         vf_of_marked_pf(&state, &dev))
                        fprintf(stderr, "passthru: domain '%s' names %s, which is passthru's, and passthrud cannot be "
                                "asked for a lease (%s): not starting it (see 'systemctl status passthrud')\n",
                                domain, hd[i].address, strerror(-error));
                else if (strcmp(driver, "vfio-pci") == 0 && passthru_rule_covers(&dev, rule, sizeof(rule), &where))
                        fprintf(stderr, "passthru: domain '%s' names %s, which is on vfio-pci and passthru's by the rule "
                                "%s (%s), and passthrud cannot be asked whether it was reset since its last VM (%s): "
                                "not starting it (see 'systemctl status passthrud')\n",
                                domain, hd[i].address, rule, where, strerror(-error));
                else
                        continue;
                r = -EHOSTDOWN;
        }
        return r;
}

static int hook_prepare(const char *domain, const char *xml) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ DomainHostdev *hd = NULL;
        _cleanup_strv_free_ char **ours = NULL;
        size_t n = 0;
        int r;

        r = domain_pci_hostdevs(xml, &hd, &n);
        if (r < 0) {
                fprintf(stderr, "passthru: cannot read the XML of domain '%s' that libvirt gave on standard input: %s\n",
                        domain, strerror(-r));
                return r;
        }
        if (n == 0)
                return 0;       /* no PCI hostdev: nothing of ours, and no need of the bus */
        r = connect_bus(&bus);
        if (r >= 0)
                r = passthru_hostdevs(bus, domain, hd, n, &ours);
        if (r == -EPERM)
                return r;       /* a passthru device with managed='yes', said */
        if (r < 0)
                return hostdevs_without_daemon(domain, hd, n, r);
        if (!ours[0])
                return 0;
        stop_holder(domain);    /* one left from a start that libvirt never released */
        return spawn_holder(domain, ours);
}

/* The devices come back (reset) once QEMU has closed them: wait for that, so that the next start finds them. */
static void wait_returned(const char *domain, const char *xml) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ DomainHostdev *hd = NULL;
        size_t n = 0;

        if (domain_pci_hostdevs(xml, &hd, &n) < 0 || n == 0 || connect_bus(&bus) < 0)
                return;
        for (int tick = 0; tick < 300; tick++) {
                DeviceInfo *devs = NULL;
                size_t nd = 0;
                bool busy = false;

                if (get_devices(bus, &devs, &nd) < 0)
                        return;
                for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; k < nd; k++)
                                if (strcmp(devs[k].address, hd[i].address) == 0 && devs[k].owner &&
                                    strcmp(devs[k].owner, domain) == 0)
                                        busy = true;
                device_infos_free(devs, nd);
                if (!busy)
                        return;
                usleep(100 * 1000);
        }
        fprintf(stderr, "passthru: the devices of domain '%s' are not back after 30 s: see 'passthructl list'\n", domain);
}

int verb_libvirt_hook(sd_bus *bus, char **args) {
        (void) bus;     /* connected only when the domain has PCI hostdevs */
        _cleanup_free_ char *xml = NULL;
        const char *domain = args[0], *op = args[1];
        int r;

        /* Read it whatever the operation: libvirt writes it all. */
        r = read_all(STDIN_FILENO, &xml);
        if (r < 0) {
                fprintf(stderr, "passthru: cannot read the domain XML on standard input: %s\n", strerror(-r));
                return r;
        }
        if (strchr(domain, '/')) {
                fprintf(stderr, "passthru: '%s' is no libvirt domain name\n", domain);
                return -EINVAL;
        }
        if (strcmp(op, "prepare") == 0)
                return hook_prepare(domain, xml);
        if (strcmp(op, "release") == 0) {
                stop_holder(domain);
                wait_returned(domain, xml);
        }
        return 0;
}

/* The libvirt domain a QEMU runs for: its "-name guest=NAME,..." (libvirt doubles a comma in NAME); NULL if none. */
char *libvirt_domain_of(pid_t pid) {
        char path[64], buf[8192];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
                char *v = a + strlen(a) + 1, *name, *o;

                if (strcmp(a, "-name") != 0 || v >= buf + n || strncmp(v, "guest=", 6) != 0)
                        continue;
                name = o = malloc(strlen(v + 6) + 1);
                if (!name)
                        return NULL;
                for (const char *i = v + 6; *i; i++) {
                        if (*i == ',') {
                                if (i[1] != ',')
                                        break;  /* the next option */
                                i++;            /* ",," is a comma of the name */
                        }
                        *o++ = *i;
                }
                *o = 0;
                return name;
        }
        return NULL;
}

/* The domain's QEMU: the pid libvirt wrote for it, when that process runs for @domain; 0 if none. */
static pid_t domain_qemu(const char *domain) {
        _cleanup_free_ char *name = NULL;
        char path[PATH_MAX];
        pid_t pid;

        snprintf(path, sizeof(path), "%s/%s.pid", LIBVIRT_QEMU_RUN_DIR, domain);
        pid = read_pidfile(path);
        if (pid == 0)
                return 0;
        name = libvirt_domain_of(pid);
        return name && strcmp(name, domain) == 0 ? pid : 0;
}

static int write_pidfile(const char *domain) {
        char path[PATH_MAX], tmp[PATH_MAX + 8];
        FILE *f;

        if (mkdir(HOLDER_DIR, 0755) < 0 && errno != EEXIST)
                return -errno;
        holder_pidfile(domain, path, sizeof(path));
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fprintf(f, "%d\n", (int) getpid());
        if (fclose(f) != 0 || rename(tmp, path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

/* One leased group: the device Acquire named, and what the domain's QEMU did with it. */
typedef struct HeldGroup {
        char num[16];
        const char *device;
        bool seen;              /* QEMU had it open */
        int closed_ticks;       /* since QEMU closed it */
        bool ended;             /* its lease released (QEMU let go: hot-unplug) */
} HeldGroup;

/* Release one group's lease, as its holder: the group goes back, reset, once nobody has it open. */
static void end_group(sd_bus *bus, const char *domain, HeldGroup *g) {
        if (call(bus, "release", "Release", NULL, "s", g->device) >= 0)
                fprintf(stderr, "passthru: domain '%s' let go of %s (IOMMU group %s): its lease ended\n", domain,
                        g->device, g->num);
        g->ended = true;
}

int verb_libvirt_hold(sd_bus *unused, char **args) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ HeldGroup *groups = NULL;
        const char *domain = args[0];
        char path[PATH_MAX];
        struct timespec tick = { .tv_sec = TICK_MSEC / 1000 };
        bool qemu_seen = false;
        size_t n = 0, left;
        sigset_t mask;
        int r, sig, waited = 0;
        pid_t qemu;

        (void) unused;
        /* The memory killer takes a QEMU before this small holder, whose end would end the leases under it. */
        {
                int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

                if (fd >= 0) {
                        if (write(fd, "-1000", 5) != 5)
                                fprintf(stderr, "passthru: cannot protect the holder from the OOM killer, ignoring: %m\n");
                        close(fd);
                }
        }
        groups = calloc(strv_length(args + 1) + 1, sizeof(*groups));
        if (!groups)
                return -ENOMEM;
        /* Kept for the domain's life, never read: the bus, not passthrud's socket (client.h). */
        r = connect_system_bus(&bus);
        if (r < 0)
                return r;
        /* Stopped by the hook's SIGTERM; the signals wait until the loop takes them. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        for (char **d = args + 1; *d; d++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                char num[16];
                bool have = false;
                int fd;

                r = get_device_group(bus, *d, num, sizeof(num));
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        have = have || strcmp(groups[i].num, num) == 0;
                if (have)
                        continue;       /* one lease covers the group */
                r = call(bus, "acquire", "Acquire", &reply, "ssa{sv}", *d, domain, 0);
                if (r < 0)
                        return r;
                if (sd_bus_message_read(reply, "h", &fd) < 0) {
                        fprintf(stderr, "passthructl: no group fd in the answer\n");
                        return -EBADMSG;
                }
                /* Closed with the reply: QEMU opens /dev/vfio/N itself, and the group is open in one place at a time. */
                snprintf(groups[n].num, sizeof(groups[n].num), "%s", num);
                groups[n++].device = *d;
                fprintf(stderr, "passthru: leased %s (IOMMU group %s) for libvirt domain '%s'\n", *d, num, domain);
        }
        r = write_pidfile(domain);
        if (r < 0) {
                fprintf(stderr, "passthru: cannot write %s/%s.pid: %s\n", HOLDER_DIR, domain, strerror(-r));
                return r;
        }
        fputs(HELD_MARK, stdout);
        fflush(stdout);
        fflush(stderr);
        /* The hook's pipe goes: from here on, the journal hears us. */
        {
                int fd = sd_journal_stream_fd("passthructl", LOG_INFO, false);

                if (fd < 0)
                        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void) dup2(fd, STDOUT_FILENO);
                        (void) dup2(fd, STDERR_FILENO);
                        if (fd > STDERR_FILENO)
                                close(fd);
                }
        }

        /*
         * Hold until the hook's "release" stops us, or the domain's QEMU
         * (the pid libvirt wrote, running for this domain: nobody else's
         * opens count) is gone, or no QEMU of the domain appeared in time
         * (a start that failed without a "release"; a QEMU that takes long
         * to open the groups, preallocating memory, is waited for).  A
         * group that QEMU opened and then closed for good (a hot-unplug)
         * ends its own lease at once: it cannot be handed to another domain
         * under this domain's name.
         */
        for (;;) {
                sig = sigtimedwait(&mask, NULL, &tick);
                if (sig > 0) {
                        fprintf(stderr, "passthru: domain '%s' released its devices\n", domain);
                        break;
                }
                qemu = domain_qemu(domain);
                if (qemu > 0)
                        qemu_seen = true;
                else if (qemu_seen) {
                        fprintf(stderr, "passthru: the QEMU of domain '%s' is gone: its leases end\n", domain);
                        break;
                } else if (++waited * TICK_MSEC / 1000 >= START_TIMEOUT_SEC) {
                        fprintf(stderr, "passthru: no QEMU of domain '%s' started within %d s: ending the leases\n",
                                domain, START_TIMEOUT_SEC);
                        break;
                }
                left = 0;
                for (size_t i = 0; i < n; i++) {
                        HeldGroup *g = &groups[i];
                        char node[64];

                        if (g->ended)
                                continue;
                        snprintf(node, sizeof(node), "/dev/vfio/%s", g->num);
                        if (qemu > 0 && proc_has_fd("/proc", qemu, node)) {
                                g->seen = true;
                                g->closed_ticks = 0;
                        } else if (g->seen && ++g->closed_ticks >= CLOSED_GRACE_TICKS)
                                end_group(bus, domain, g);
                        left += !g->ended;
                }
                if (left == 0) {
                        fprintf(stderr, "passthru: domain '%s' let go of all its devices\n", domain);
                        break;
                }
        }
        holder_pidfile(domain, path, sizeof(path));
        if (holder_pid(domain) == getpid())
                (void) unlink(path);
        return 0;
}
