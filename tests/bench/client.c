/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-bench: passthrud's side of make bench, a client on the system bus or
 * on passthrud's own socket.
 *
 *   pt-bench cycle [-D] [-q] [-n N] [-m VM] [-c CLIENTS] [-t SECONDS] DEVICE
 *       N lease round trips.  A child process (the holder) connects to the
 *       bus, then times Acquire(DEVICE, VM, {}) until it holds a working
 *       fd (VFIO_GROUP_GET_STATUS says viable): the grant.  The parent,
 *       subscribed to the device's PropertiesChanged, tells the holder to
 *       exit and times until State is "available" again: the return.
 *       It also notes when the holder's exit completed (its pidfd became
 *       readable), the part of the return that is the process ending, and
 *       times a Peer.Ping on the holder's connection just before Acquire:
 *       the bus's own round trip for a fresh client, which no daemon can
 *       go below.  With -D the holder talks to passthrud over its own socket
 *       ($PASSTHRU_SOCKET, else /run/passthru.sock) instead: its Ping and
 *       Acquire cross no bus (the watcher stays on the bus).
 *       One line per round trip:  GRANT_US RETURN_US EXIT_US PING_US
 *       For soaks: -c CLIENTS takes the holders' VM names in turn from
 *       VM-0 .. VM-(CLIENTS-1); -t SECONDS starts no round trip after
 *       SECONDS (the lines printed say how many were done); -q leaves out
 *       the 20 ms pause that lets a grant's signals settle before the
 *       return is timed.
 *
 *   pt-bench list [-D] [-n N]
 *       N ListDevices calls on a warm connection, the reply read through,
 *       each followed by a Peer.Ping to passthrud (sd-bus answers it
 *       without the daemon's code: the bus's own round trip, for scale).
 *       One line per call:  LIST_US DEVICES PING_US
 *
 *   pt-bench start BINARY
 *       Start passthrud (BINARY, its stderr this one's) and time it until
 *       it owns its name and answers a Ping on the bus: its start.  Prints
 *       START_US PID and leaves it running.
 *
 *   pt-bench managed [-D] [-n N]
 *       N GetManagedObjects calls on a warm connection, the reply read
 *       through.  One line per call:  CALL_US OBJECTS ARRIVED_US (ARRIVED:
 *       until the reply was in, before it was read through).  With -D
 *       (list and managed) over passthrud's socket instead of the bus.
 *
 *   pt-bench race [-D] [-c CLIENTS] [-t SECONDS] DEVICE
 *       CLIENTS processes (8), each on a warm connection of its own (one
 *       Ping to passthrud through it before they start together), call
 *       Acquire(DEVICE, "race-I", {}) in a loop for SECONDS (10): the
 *       winner checks its fd, closes it and calls Release; the others are
 *       refused (DeviceBusy while the device is leased or on its way
 *       back) and call again at once.  Each grant's holding time (from the
 *       reply to the close) is compared with every other: two that overlap
 *       are two holders at once.  One line:
 *       GRANTS GRANTS_PER_S REFUSALS REFUSAL_P50_US REFUSAL_P99_US REFUSAL_MAX_US OVERLAPS ODD
 *       (ODD: calls that failed otherwise than DeviceBusy, or fds not viable).
 *
 * Connection set-up is not timed: a hypervisor is connected already.
 * Exit status: 0, 1 when a call or a check fails, 2 bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
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

#include <linux/vfio.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "passthru-direct.h"
#include "passthru-names.h"

#define USEC_PER_SEC 1000000ULL
#define RETURN_TIMEOUT_USEC (60 * USEC_PER_SEC)

static uint64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/*
 * With $PT_BENCH_TRACE_MARKER (a path, e.g. /sys/kernel/tracing/trace_marker)
 * the holder writes "pt-bench: acquire" and "pt-bench: granted" there around
 * its timed grant, and the watcher "pt-bench: exit"/"pt-bench: available"
 * around the timed return, to find them in a kernel trace.
 */
static void mark(const char *what) {
        const char *path = getenv("PT_BENCH_TRACE_MARKER");
        int fd;

        if (!path)
                return;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        (void) !write(fd, what, strlen(what));
        close(fd);
}

static int usage(void) {
        fprintf(stderr, "usage: pt-bench cycle [-D] [-q] [-n N] [-m VM] [-c CLIENTS] [-t SECONDS] DEVICE\n"
                        "       pt-bench list [-D] [-n N]\n"
                        "       pt-bench start BINARY\n"
                        "       pt-bench managed [-D] [-n N]\n"
                        "       pt-bench race [-D] [-c CLIENTS] [-t SECONDS] DEVICE\n");
        return 2;
}

static int bus_fail(const char *what, const sd_bus_error *error, int r) {
        fprintf(stderr, "pt-bench: %s: %s%s%s\n", what, error && error->name ? error->name : "",
                error && error->name ? ": " : "",
                error && error->message ? error->message : strerror(r < 0 ? -r : r));
        return -1;
}

/* Connected (to the system bus, or with @direct to passthrud's socket), authenticated and the daemon reachable. */
static int connect_bus(bool direct, sd_bus **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        if (direct) {
                r = pt_direct_open(pt_direct_socket_path(), &bus);
                if (r < 0)
                        return bus_fail("cannot connect to passthrud's socket", NULL, r);
        } else {
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        return bus_fail("cannot connect to the system bus", NULL, r);
        }
        r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", &error,
                               NULL, NULL);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return bus_fail("Ping", &error, r);
        }
        *ret = bus;
        return 0;
}

static int get_state(sd_bus *bus, const char *path, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_string(bus, PT_BUS_NAME, path, PT_DEVICE_INTERFACE, "State", &error, ret);
        if (r < 0)
                return bus_fail("State", &error, r);
        return 0;
}

/* Untimed: the device is available before a round trip starts. */
static int wait_available(sd_bus *bus, const char *path, const char *dev) {
        _cleanup_free_ char *state = NULL;

        for (int i = 0; i < 500; i++) {
                state = mfree(state);
                if (get_state(bus, path, &state) < 0)
                        return -1;
                if (strcmp(state, PT_DEVICE_STATE_AVAILABLE) == 0)
                        return 0;
                usleep(10000);
        }
        fprintf(stderr, "pt-bench: %s is %s, not available\n", dev, state);
        return -1;
}

/* ---- the holder ---- */

typedef struct Grant {
        int ok;
        uint64_t usec;
        uint64_t ping_usec;
        char message[480];
} Grant;

static void holder(const char *dev, const char *vm, bool direct, int report, int go) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct vfio_group_status status = { .argsz = sizeof(status) };
        Grant g = {};
        sd_bus *bus = NULL;
        uint64_t t0, t1;
        int r, fd = -1;
        char c;

        if (connect_bus(direct, &bus) < 0) {
                snprintf(g.message, sizeof(g.message), "the holder cannot reach passthrud");
                goto out;
        }
        t0 = now_us();
        r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", &error, NULL,
                               NULL);
        if (r < 0) {
                snprintf(g.message, sizeof(g.message), "Ping: %s", error.message ?: strerror(-r));
                goto out;
        }
        g.ping_usec = now_us() - t0;
        mark("pt-bench: acquire");
        t0 = now_us();
        r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "Acquire", &error, &reply,
                               "ssa{sv}", dev, vm, 0);
        if (r >= 0)
                r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0) {
                snprintf(g.message, sizeof(g.message), "Acquire: %s: %s", error.name ?: "error",
                         error.message ?: strerror(-r));
                goto out;
        }
        if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0) {
                snprintf(g.message, sizeof(g.message), "VFIO_GROUP_GET_STATUS: %s", strerror(errno));
                goto out;
        }
        t1 = now_us();
        mark("pt-bench: granted");
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
                snprintf(g.message, sizeof(g.message), "the group fd is not viable");
                goto out;
        }
        g.ok = 1;
        g.usec = t1 - t0;
out:
        (void) !write(report, &g, sizeof(g));
        /* Hold the lease until told to go; the exit closes the group. */
        while (read(go, &c, 1) < 0 && errno == EINTR)
                ;
        _exit(g.ok ? 0 : 1);
}

/* ---- the watcher ---- */

typedef struct Watch {
        bool armed;
        uint64_t at;            /* when State became available; 0 before */
        char last[32];
} Watch;

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *iface, *key, *value;
        int r;

        (void) ret_error;
        if (sd_bus_message_read(m, "s", &iface) < 0 || strcmp(iface, PT_DEVICE_INTERFACE) != 0)
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &key) < 0)
                        return 0;
                if (strcmp(key, "State") == 0) {
                        if (sd_bus_message_read(m, "v", "s", &value) < 0)
                                return 0;
                        snprintf(w->last, sizeof(w->last), "%s", value);
                        if (w->armed && !w->at && strcmp(value, PT_DEVICE_STATE_AVAILABLE) == 0) {
                                w->at = now_us();
                                mark("pt-bench: available");
                        }
                } else if (sd_bus_message_skip(m, "v") < 0)
                        return 0;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        return 0;
}

/* Handle whatever has arrived, without waiting. */
static int drain(sd_bus *bus) {
        int r;

        while ((r = sd_bus_process(bus, NULL)) > 0)
                ;
        return r;
}

/* Wait for the bus, or for the holder's pidfd until it fires; notes when it did. */
static int wait_bus_or_exit(sd_bus *bus, int pidfd, uint64_t deadline, uint64_t *exited) {
        struct pollfd p[2];
        uint64_t until = deadline, t;
        struct timespec ts;
        int r;

        r = sd_bus_get_events(bus);
        if (r < 0)
                return r;
        p[0] = (struct pollfd) { .fd = sd_bus_get_fd(bus), .events = (short) r };
        p[1] = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        if (sd_bus_get_timeout(bus, &t) >= 0 && t < until)
                until = t;
        t = now_us();
        t = until > t ? until - t : 0;
        ts = (struct timespec) { .tv_sec = (time_t) (t / USEC_PER_SEC), .tv_nsec = (long) (t % USEC_PER_SEC) * 1000 };
        r = ppoll(p, *exited ? 1 : 2, &ts, NULL);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (!*exited && (p[1].revents & POLLIN))
                *exited = now_us();
        return 0;
}

static int one_cycle(sd_bus *bus, const char *path, const char *dev, const char *vm, bool direct, bool quick,
                     Watch *w) {
        int report[2], go[2], status, pidfd;
        uint64_t t0, deadline, exited = 0;
        Grant g;
        pid_t pid;
        ssize_t k;
        int r;

        if (wait_available(bus, path, dev) < 0)
                return -1;
        if (pipe2(report, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
                perror("pt-bench: pipe");
                return -1;
        }
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                perror("pt-bench: fork");
                return -1;
        }
        if (pid == 0) {
                close(report[0]);
                close(go[1]);
                holder(dev, vm, direct, report[1], go[0]);
        }
        close(report[1]);
        close(go[0]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                perror("pt-bench: pidfd_open");
                close(go[1]);
                waitpid(pid, &status, 0);
                return -1;
        }
        do
                k = read(report[0], &g, sizeof(g));
        while (k < 0 && errno == EINTR);
        close(report[0]);
        if (k != sizeof(g) || !g.ok) {
                fprintf(stderr, "pt-bench: %s\n", k == sizeof(g) ? g.message : "the holder died");
                close(go[1]);
                waitpid(pid, &status, 0);
                return -1;
        }

        /* Let the grant's signals and uevents settle, untimed. */
        if (!quick)
                usleep(20000);
        if (drain(bus) < 0)
                return -1;
        w->armed = true;
        w->at = 0;

        mark("pt-bench: exit");
        t0 = now_us();
        close(go[1]);           /* the holder exits */
        deadline = t0 + RETURN_TIMEOUT_USEC;
        while (!w->at) {
                uint64_t n = now_us();

                if (n >= deadline) {
                        fprintf(stderr, "pt-bench: %s not available %llu s after its holder exited (last State '%s')\n",
                                dev, (unsigned long long) (RETURN_TIMEOUT_USEC / USEC_PER_SEC), w->last);
                        close(pidfd);
                        waitpid(pid, &status, 0);
                        return -1;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return bus_fail("sd_bus_process", NULL, r);
                if (r > 0)
                        continue;
                r = wait_bus_or_exit(bus, pidfd, deadline, &exited);
                if (r < 0)
                        return bus_fail("ppoll", NULL, r);
        }
        w->armed = false;
        if (!exited || exited > w->at)
                exited = w->at;         /* seen together: the exit was no later */
        close(pidfd);
        waitpid(pid, &status, 0);
        printf("%llu %llu %llu %llu\n", (unsigned long long) g.usec, (unsigned long long) (w->at - t0),
               (unsigned long long) (exited - t0), (unsigned long long) g.ping_usec);
        fflush(stdout);
        return 0;
}

static int cmd_cycle(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *path = NULL;
        unsigned long n = 1, clients = 0, seconds = 0;
        const char *vm = "bench", *dev;
        bool direct = false, quick = false;
        char name[256];
        uint64_t t0;
        Watch w = {};
        int c, r;

        while ((c = getopt(argc, argv, "Dqn:m:c:t:")) >= 0) {
                switch (c) {
                case 'D':
                        direct = true;
                        break;
                case 'q':
                        quick = true;
                        break;
                case 'c':
                        clients = strtoul(optarg, NULL, 10);
                        if (clients == 0)
                                return usage();
                        break;
                case 't':
                        seconds = strtoul(optarg, NULL, 10);
                        if (seconds == 0)
                                return usage();
                        break;
                case 'n':
                        n = strtoul(optarg, NULL, 10);
                        break;
                case 'm':
                        vm = optarg;
                        break;
                default:
                        return usage();
                }
        }
        if (argc - optind != 1 || n == 0)
                return usage();
        dev = argv[optind];
        r = sd_bus_path_encode(PT_DEVICE_PATH_PREFIX, dev, &path);
        if (r < 0) {
                bus_fail("sd_bus_path_encode", NULL, r);
                return 1;
        }
        if (connect_bus(false, &bus) < 0)
                return 1;
        r = sd_bus_match_signal(bus, &slot, PT_BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, &w);
        if (r < 0) {
                bus_fail("AddMatch", NULL, r);
                return 1;
        }
        t0 = now_us();
        for (unsigned long i = 0; i < n; i++) {
                if (seconds > 0 && now_us() - t0 >= seconds * USEC_PER_SEC)
                        break;
                if (clients > 0)
                        snprintf(name, sizeof(name), "%s-%lu", vm, i % clients);
                else
                        snprintf(name, sizeof(name), "%s", vm);
                if (one_cycle(bus, path, dev, name, direct, quick, &w) < 0)
                        return 1;
        }
        return 0;
}

/* "[-D] [-n N]" and nothing else, then a warm connection (to the bus, or with -D to passthrud's socket): list's and managed's start. 0, or an exit status. */
static int calls_setup(int argc, char *argv[], unsigned long *n, sd_bus **bus) {
        int c;

        bool direct = false;

        *n = 1;
        while ((c = getopt(argc, argv, "Dn:")) >= 0) {
                if (c == 'D')
                        direct = true;
                else if (c == 'n')
                        *n = strtoul(optarg, NULL, 10);
                else
                        return usage();
        }
        if (argc - optind != 0 || *n == 0)
                return usage();
        return connect_bus(direct, bus) < 0 ? 1 : 0;
}

static int cmd_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        unsigned long n;
        int r;

        r = calls_setup(argc, argv, &n, &bus);
        if (r != 0)
                return r;
        for (unsigned long i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *address, *state, *driver, *owner, *object;
                unsigned devices = 0;
                uint64_t t0, t1, t2, t3;

                t0 = now_us();
                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "ListDevices",
                                       &error, &reply, NULL);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "(sssso)");
                while (r >= 0 && (r = sd_bus_message_read(reply, "(sssso)", &address, &state, &driver, &owner,
                                                          &object)) > 0)
                        devices++;
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                t1 = now_us();
                if (r < 0) {
                        bus_fail("ListDevices", &error, r);
                        return 1;
                }
                t2 = now_us();
                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping",
                                       &error, NULL, NULL);
                t3 = now_us();
                if (r < 0) {
                        bus_fail("Ping", &error, r);
                        return 1;
                }
                printf("%llu %u %llu\n", (unsigned long long) (t1 - t0), devices, (unsigned long long) (t3 - t2));
        }
        return 0;
}

static int cmd_managed(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        unsigned long n;
        int r;

        r = calls_setup(argc, argv, &n, &bus);
        if (r != 0)
                return r;
        for (unsigned long i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                unsigned objects = 0;
                uint64_t t0 = now_us(), arrived;

                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                       "GetManagedObjects", &error, &reply, NULL);
                arrived = now_us();
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
                /* Read through, as a client does: every object and its properties. */
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                        r = sd_bus_message_skip(reply, "oa{sa{sv}}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        objects++;
                }
                if (r < 0) {
                        bus_fail("GetManagedObjects", &error, r);
                        return 1;
                }
                printf("%llu %u %llu\n", (unsigned long long) (now_us() - t0), objects,
                       (unsigned long long) (arrived - t0));
        }
        return 0;
}

static int cmd_start(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        uint64_t t0;
        pid_t pid;
        int r;

        if (argc != 2)
                return usage();
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                bus_fail("cannot connect to the system bus", NULL, r);
                return 1;
        }
        t0 = now_us();
        pid = fork();
        if (pid < 0) {
                perror("pt-bench: fork");
                return 1;
        }
        if (pid == 0) {
                execl(argv[1], argv[1], NULL);
                _exit(127);
        }
        /* Until the name has an owner, then until that owner answers (its loop runs). */
        for (int i = 0; i < 30000; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                int has = 0;

                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", &error, &reply, "s", PT_BUS_NAME);
                if (r >= 0 && sd_bus_message_read(reply, "b", &has) >= 0 && has &&
                    sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", &error,
                                       NULL, NULL) >= 0) {
                        printf("%llu %d\n", (unsigned long long) (now_us() - t0), (int) pid);
                        return 0;
                }
                if (waitpid(pid, NULL, WNOHANG) == pid) {
                        fprintf(stderr, "pt-bench: %s exited during its start\n", argv[1]);
                        return 1;
                }
                usleep(1000);
        }
        fprintf(stderr, "pt-bench: %s did not answer within 30 s\n", argv[1]);
        return 1;
}

/* ---- the race ---- */

#define RACE_MAX_SAMPLES 200000
#define RACE_MAX_GRANTS 20000

typedef struct RaceReport {
        uint32_t n_refusals;    /* samples that follow */
        uint32_t n_grants;      /* holding spans that follow */
        uint32_t odd;
        char odd_message[256];
} RaceReport;

typedef struct Span {
        uint64_t from, to;
} Span;

/* All of @n bytes written (@out) or read; -1 on an error or an early end. */
static int io_all(int fd, void *p, size_t n, bool out) {
        char *c = p;

        while (n > 0) {
                ssize_t k = out ? write(fd, c, n) : read(fd, c, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                c += k;
                n -= (size_t) k;
        }
        return 0;
}

static void racer(unsigned index, const char *dev, bool direct, uint64_t seconds, int report, int ready, int go) {
        uint32_t *refusals = calloc(RACE_MAX_SAMPLES, sizeof(uint32_t));
        Span *grants = calloc(RACE_MAX_GRANTS, sizeof(Span));
        RaceReport rep = {};
        sd_bus *bus = NULL;
        uint64_t deadline;
        char vm[32], c = 0;

        snprintf(vm, sizeof(vm), "race-%u", index);
        if (!refusals || !grants || connect_bus(direct, &bus) < 0) {
                rep.odd = 1;
                snprintf(rep.odd_message, sizeof(rep.odd_message), "racer %u cannot start", index);
                (void) io_all(ready, &c, 1, true);
                goto out;
        }
        /* Connected as a hypervisor is: a round trip to passthrud done, untimed, before the start. */
        (void) sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                                  NULL);
        (void) io_all(ready, &c, 1, true);
        close(ready);
        /* All start together: the parent closes the pipe. */
        while (read(go, &c, 1) < 0 && errno == EINTR)
                ;
        deadline = now_us() + seconds * USEC_PER_SEC;
        while (now_us() < deadline) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                struct vfio_group_status status = { .argsz = sizeof(status) };
                uint64_t t0 = now_us(), t1;
                int r, fd = -1;

                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "Acquire", &error,
                                       &reply, "ssa{sv}", dev, vm, 0);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "h", &fd);
                t1 = now_us();
                if (r < 0) {
                        if (sd_bus_error_has_name(&error, PT_ERROR_DEVICE_BUSY)) {
                                if (rep.n_refusals < RACE_MAX_SAMPLES)
                                        refusals[rep.n_refusals++] = t1 - t0 > UINT32_MAX ? UINT32_MAX : (uint32_t) (t1 - t0);
                        } else if (rep.odd++ == 0)
                                snprintf(rep.odd_message, sizeof(rep.odd_message), "Acquire: %s: %s",
                                         error.name ?: "error", error.message ?: strerror(-r));
                        continue;
                }
                /* The reply owns its fd: a copy of ours, and the reply's let go before the close. */
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                reply = sd_bus_message_unref(reply);
                if (fd < 0 || ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                        if (rep.odd++ == 0)
                                snprintf(rep.odd_message, sizeof(rep.odd_message), "a granted fd is not viable");
                /* Closed before the span ends: after it, another may hold the group. */
                if (fd >= 0)
                        close(fd);
                if (rep.n_grants < RACE_MAX_GRANTS)
                        grants[rep.n_grants++] = (Span) { t1, now_us() };
                sd_bus_error_free(&error);
                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "Release", &error,
                                       NULL, "s", dev);
                if (r < 0 && rep.odd++ == 0)
                        snprintf(rep.odd_message, sizeof(rep.odd_message), "Release: %s: %s", error.name ?: "error",
                                 error.message ?: strerror(-r));
        }
out:
        if (io_all(report, &rep, sizeof(rep), true) < 0 ||
            io_all(report, refusals, rep.n_refusals * sizeof(uint32_t), true) < 0 ||
            io_all(report, grants, rep.n_grants * sizeof(Span), true) < 0)
                _exit(1);
        _exit(0);
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

static int cmp_span(const void *a, const void *b) {
        const Span *x = a, *y = b;

        return x->from < y->from ? -1 : x->from > y->from;
}

static int cmd_race(int argc, char *argv[]) {
        unsigned long clients = 8, seconds = 10;
        uint32_t *refusals = NULL;
        Span *grants = NULL;
        size_t n_refusals = 0, n_grants = 0, overlaps = 0, odd = 0;
        pid_t pids[64];
        int reports[64], go[2], ready[2], c, rc = 0;
        bool direct = false;
        const char *dev;

        while ((c = getopt(argc, argv, "Dc:t:")) >= 0) {
                switch (c) {
                case 'D':
                        direct = true;
                        break;
                case 'c':
                        clients = strtoul(optarg, NULL, 10);
                        break;
                case 't':
                        seconds = strtoul(optarg, NULL, 10);
                        break;
                default:
                        return usage();
                }
        }
        if (argc - optind != 1 || clients < 2 || clients > ELEMENTSOF(pids) || seconds == 0 || seconds > 3600)
                return usage();
        dev = argv[optind];
        if (pipe(go) < 0 || pipe(ready) < 0)
                return 1;
        for (unsigned long i = 0; i < clients; i++) {
                int p[2];

                if (pipe(p) < 0)
                        return 1;
                pids[i] = fork();
                if (pids[i] < 0)
                        return 1;
                if (pids[i] == 0) {
                        close(p[0]);
                        close(go[1]);
                        close(ready[0]);
                        racer((unsigned) i, dev, direct, seconds, p[1], ready[1], go[0]);
                }
                close(p[1]);
                reports[i] = p[0];
        }
        close(go[0]);
        close(ready[1]);
        /* Every racer connected and through one round trip (a byte each; EOF if one died), then all at once. */
        for (unsigned long i = 0; i < clients; i++) {
                char x;

                if (io_all(ready[0], &x, 1, false) < 0)
                        break;
        }
        close(ready[0]);
        close(go[1]);
        refusals = calloc(clients * RACE_MAX_SAMPLES, sizeof(uint32_t));
        grants = calloc(clients * RACE_MAX_GRANTS, sizeof(Span));
        if (!refusals || !grants)
                return 1;
        for (unsigned long i = 0; i < clients; i++) {
                RaceReport rep;
                int status;

                if (io_all(reports[i], &rep, sizeof(rep), false) < 0 || rep.n_refusals > RACE_MAX_SAMPLES ||
                    rep.n_grants > RACE_MAX_GRANTS ||
                    io_all(reports[i], refusals + n_refusals, rep.n_refusals * sizeof(uint32_t), false) < 0 ||
                    io_all(reports[i], grants + n_grants, rep.n_grants * sizeof(Span), false) < 0) {
                        fprintf(stderr, "pt-bench: racer %lu did not report\n", i);
                        rc = 1;
                        continue;
                }
                close(reports[i]);
                n_refusals += rep.n_refusals;
                n_grants += rep.n_grants;
                odd += rep.odd;
                if (rep.odd)
                        fprintf(stderr, "pt-bench: racer %lu: %u odd answers, the first: %s\n", i, rep.odd,
                                rep.odd_message);
                if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        rc = 1;
        }
        qsort(refusals, n_refusals, sizeof(uint32_t), cmp_u32);
        qsort(grants, n_grants, sizeof(Span), cmp_span);
        for (size_t i = 1; i < n_grants; i++)
                if (grants[i].from < grants[i - 1].to) {
                        fprintf(stderr, "pt-bench: two holders: a grant at %" PRIu64 " us while another held until %" PRIu64 " us\n",
                                grants[i].from, grants[i - 1].to);
                        overlaps++;
                }
        printf("%zu %.1f %zu %u %u %u %zu %zu\n", n_grants, (double) n_grants / (double) seconds, n_refusals,
               n_refusals ? refusals[n_refusals / 2] : 0, n_refusals ? refusals[(n_refusals * 99) / 100] : 0,
               n_refusals ? refusals[n_refusals - 1] : 0, overlaps, odd);
        free(refusals);
        free(grants);
        return rc || overlaps || odd ? 1 : 0;
}

int main(int argc, char *argv[]) {
        /* A holder that dies early must not kill us with SIGPIPE. */
        signal(SIGPIPE, SIG_IGN);
        if (argc < 2)
                return usage();
        if (strcmp(argv[1], "cycle") == 0)
                return cmd_cycle(argc - 1, argv + 1);
        if (strcmp(argv[1], "list") == 0)
                return cmd_list(argc - 1, argv + 1);
        if (strcmp(argv[1], "start") == 0)
                return cmd_start(argc - 1, argv + 1);
        if (strcmp(argv[1], "managed") == 0)
                return cmd_managed(argc - 1, argv + 1);
        if (strcmp(argv[1], "race") == 0)
                return cmd_race(argc - 1, argv + 1);
        return usage();
}
