/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-bench-floor: the floor that passthrud is measured against.  The same
 * sysfs moves, the same reset and the same open() as a lease's grant and
 * return, done by a bare program: no D-Bus, no policy, no ledger.
 *
 *   pt-bench-floor [-n N] DEVICE
 *
 * DEVICE (DDDD:BB:SS.F) must be on passthru and alone among the endpoints
 * of its IOMMU group.  Each iteration prints one line:
 *
 *   GRANT_US RETURN_US METHOD EXIT_US
 *
 * grant:  driver_override=vfio-pci, passthru/unbind, drivers_probe,
 *         open(/dev/vfio/N), VFIO_GROUP_GET_STATUS says viable;
 * return: the group's holder, a child process that has the group open as a
 *         lease's holder has, is told to exit (as pt-bench tells its
 *         holder, after the same 20 ms untimed), and once it has (its
 *         pidfd, as passthrud learns it): vfio-pci/unbind, reset with the
 *         strongest method as passthrud picks it (flr, af_flr, bus, pm;
 *         pinned in reset_method only when the device offers more than
 *         one, then restored), clear bus mastering,
 *         driver_override=passthru, drivers_probe.  EXIT_US is the part
 *         until the holder's exit was seen; RETURN_US - EXIT_US is the
 *         return as one program that held the group itself would do it
 *         (close, then the same moves).
 *
 * Exit status: 0, 1 when a step fails (the device may be left anywhere),
 * 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define SYSFS_PCI "/sys/bus/pci"

static const char *dev;
static char path_override[PATH_MAX], path_reset[PATH_MAX], path_reset_method[PATH_MAX],
        path_config[PATH_MAX], path_driver[PATH_MAX], node[64];
static char methods[256], method[32];
static bool pin;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int die(const char *what) {
        fprintf(stderr, "pt-bench-floor: %s: %s\n", what, strerror(errno));
        return -1;
}

static int write_str(const char *path, const char *s) {
        size_t n = strlen(s);
        ssize_t k;
        int fd;

        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return die(path);
        k = write(fd, s, n);
        if (k < 0 || (size_t) k != n) {
                if (k >= 0)
                        errno = EIO;
                die(path);
                close(fd);
                return -1;
        }
        if (close(fd) < 0)
                return die(path);
        return 0;
}

static int read_str(const char *path, char *buf, size_t size) {
        ssize_t k;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return die(path);
        k = read(fd, buf, size - 1);
        close(fd);
        if (k < 0)
                return die(path);
        buf[k] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

/* The driver bound to the device, "none" without one. */
static const char *driver(char *buf, size_t size) {
        char link[PATH_MAX];
        ssize_t k;

        k = readlink(path_driver, link, sizeof(link) - 1);
        if (k < 0)
                return "none";
        link[k] = '\0';
        snprintf(buf, size, "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
        return buf;
}

/* The reset passthrud would use: the strongest of the device's methods. */
static int pick_method(void) {
        static const char *const order[] = { "flr", "af_flr", "bus", "pm" };
        char copy[sizeof(methods)], *save = NULL;
        unsigned n = 0;

        if (read_str(path_reset_method, methods, sizeof(methods)) < 0)
                return -1;
        snprintf(copy, sizeof(copy), "%s", methods);
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
                n++;
        for (size_t k = 0; k < sizeof(order) / sizeof(order[0]) && !method[0]; k++) {
                snprintf(copy, sizeof(copy), "%s", methods);
                save = NULL;
                for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
                        if (strcmp(w, order[k]) == 0) {
                                snprintf(method, sizeof(method), "%s", w);
                                break;
                        }
        }
        if (!method[0]) {
                fprintf(stderr, "pt-bench-floor: %s offers no reset method passthrud uses ('%s')\n", dev, methods);
                return -1;
        }
        pin = n > 1;
        return 0;
}

static int setup(void) {
        char link[PATH_MAX], buf[PATH_MAX], *end;
        const char *group;
        long g;
        ssize_t k;

        snprintf(path_override, sizeof(path_override), SYSFS_PCI "/devices/%s/driver_override", dev);
        snprintf(path_reset, sizeof(path_reset), SYSFS_PCI "/devices/%s/reset", dev);
        snprintf(path_reset_method, sizeof(path_reset_method), SYSFS_PCI "/devices/%s/reset_method", dev);
        snprintf(path_config, sizeof(path_config), SYSFS_PCI "/devices/%s/config", dev);
        snprintf(path_driver, sizeof(path_driver), SYSFS_PCI "/devices/%s/driver", dev);
        snprintf(buf, sizeof(buf), SYSFS_PCI "/devices/%s/iommu_group", dev);
        k = readlink(buf, link, sizeof(link) - 1);
        if (k < 0)
                return die(buf);
        link[k] = '\0';
        group = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
        errno = 0;
        g = strtol(group, &end, 10);
        if (errno != 0 || *end || end == group || g < 0) {
                fprintf(stderr, "pt-bench-floor: bad IOMMU group '%s'\n", group);
                return -1;
        }
        snprintf(node, sizeof(node), "/dev/vfio/%ld", g);
        if (strcmp(driver(buf, sizeof(buf)), "passthru") != 0) {
                fprintf(stderr, "pt-bench-floor: %s is on %s, not passthru\n", dev, buf);
                return -1;
        }
        return pick_method();
}

/* Stub -> vfio-pci -> a working group fd.  Returns the fd. */
static int grant(void) {
        struct vfio_group_status status = { .argsz = sizeof(status) };
        int fd;

        if (write_str(path_override, "vfio-pci") < 0 ||
            write_str(SYSFS_PCI "/drivers/passthru/unbind", dev) < 0 ||
            write_str(SYSFS_PCI "/drivers_probe", dev) < 0)
                return -1;
        fd = open(node, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return die(node);
        if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0) {
                die("VFIO_GROUP_GET_STATUS");
                close(fd);
                return -1;
        }
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
                fprintf(stderr, "pt-bench-floor: group %s is not viable\n", node);
                close(fd);
                return -1;
        }
        return fd;
}

static int clear_bus_master(void) {
        uint16_t cmd;
        int fd, r = 0;

        fd = open(path_config, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return die(path_config);
        if (pread(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
                r = die("read PCI_COMMAND");
        else if (cmd & PCI_COMMAND_MASTER) {    /* config space is little-endian, and so is x86 */
                cmd &= (uint16_t) ~PCI_COMMAND_MASTER;
                if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
                        r = die("write PCI_COMMAND");
        }
        close(fd);
        return r;
}

/*
 * The group's holder: a child with @fd open until told to exit.  Returns
 * its pidfd, the pipe's end that tells it in *ret_go; @fd is the child's
 * alone then.
 */
static int hold(int fd, int *ret_go, pid_t *ret_pid) {
        int go[2], pidfd;
        pid_t pid;

        if (pipe2(go, O_CLOEXEC) < 0)
                return die("pipe");
        pid = fork();
        if (pid < 0) {
                die("fork");
                close(go[0]);
                close(go[1]);
                return -1;
        }
        if (pid == 0) {
                char c;

                close(go[1]);
                while (read(go[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        close(go[0]);
        close(fd);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                die("pidfd_open");
                close(go[1]);
                waitpid(pid, NULL, 0);
                return -1;
        }
        *ret_go = go[1];
        *ret_pid = pid;
        return pidfd;
}

/* Once the holder has exited (the group closed): unbound, reset, quiet -> stub. */
static int give_back(void) {
        int r;

        if (write_str(SYSFS_PCI "/drivers/vfio-pci/unbind", dev) < 0)
                return -1;
        if (pin && write_str(path_reset_method, method) < 0)
                return -1;
        r = write_str(path_reset, "1");
        if (pin && write_str(path_reset_method, methods) < 0)
                return -1;
        if (r < 0)
                return -1;
        if (clear_bus_master() < 0 ||
            write_str(path_override, "passthru") < 0 ||
            write_str(SYSFS_PCI "/drivers_probe", dev) < 0)
                return -1;
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned long iterations = 1;
        char buf[64];
        int c;

        while ((c = getopt(argc, argv, "n:")) >= 0) {
                switch (c) {
                case 'n':
                        iterations = strtoul(optarg, NULL, 10);
                        break;
                default:
                        goto usage;
                }
        }
        if (argc - optind != 1 || iterations == 0)
                goto usage;
        dev = argv[optind];
        if (setup() < 0)
                return 1;

        for (unsigned long i = 0; i < iterations; i++) {
                struct pollfd p = { .events = POLLIN };
                uint64_t t0, t1, t2, t3, exited;
                int fd, go, status;
                pid_t pid;

                t0 = now_ns();
                fd = grant();
                t1 = now_ns();
                if (fd < 0)
                        return 1;
                if (strcmp(driver(buf, sizeof(buf)), "vfio-pci") != 0) {
                        fprintf(stderr, "pt-bench-floor: %s on %s after the grant\n", dev, buf);
                        return 1;
                }
                p.fd = hold(fd, &go, &pid);
                if (p.fd < 0)
                        return 1;
                usleep(20000);
                t2 = now_ns();
                close(go);              /* the holder exits */
                while (poll(&p, 1, -1) < 0)
                        if (errno != EINTR) {
                                die("poll");
                                return 1;
                        }
                exited = now_ns();
                close(p.fd);
                if (give_back() < 0)
                        return 1;
                t3 = now_ns();
                /* Reaped after the timed part: passthrud does not reap its holders either. */
                waitpid(pid, &status, 0);
                if (strcmp(driver(buf, sizeof(buf)), "passthru") != 0) {
                        fprintf(stderr, "pt-bench-floor: %s on %s after the return\n", dev, buf);
                        return 1;
                }
                printf("%llu %llu %s %llu\n", (unsigned long long) ((t1 - t0) / 1000),
                       (unsigned long long) ((t3 - t2) / 1000), method, (unsigned long long) ((exited - t2) / 1000));
                fflush(stdout);
        }
        return 0;

usage:
        fprintf(stderr, "usage: pt-bench-floor [-n N] DEVICE\n");
        return 2;
}
