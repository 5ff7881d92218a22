/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-hold: lease a device from passthrud the way a hypervisor would, and
 * keep the lease while a command runs.
 *
 *   pt-hold [-D] [-m BYTES] [-o UID] [-c] [-H] DEVICE VM [-- COMMAND...]
 *   pt-hold -X METHOD SIGNATURE [ARG...]
 *   pt-hold [-i MS] -L COUNT
 *   pt-hold -W
 *   pt-hold [-D] -P DEVICE VM
 *
 * Calls Acquire(DEVICE, VM, {MemoryBytes, DeviceNodeOwner}) and runs
 * COMMAND with the group fd inherited; "@FD@" in its arguments is replaced
 * by the fd's number, and $PASSTHRU_GROUP_FD holds it.  pt-hold stays the
 * lease's holder until COMMAND exits (or, with -H, until it is killed;
 * meanwhile it prints "revoked DEVICE VM PID" for each LeaseRevoked it
 * receives).  -D talks to passthrud over its own socket ($PASSTHRU_SOCKET,
 * else /run/passthru.sock) instead of the system bus, for every mode but -W.
 * -c closes pt-hold's own copy of the fd before COMMAND runs, for commands
 * that open /dev/vfio/N themselves (with -o).  -C closes pt-hold's copy
 * once COMMAND runs, leaving COMMAND the only one with it.  -r SECONDS
 * calls Release that long after COMMAND started, and pt-hold goes on
 * (a holder that let go of its lease but not of the device).
 *
 * -L COUNT calls ListDevices COUNT times and prints the slowest round trip,
 * the 99th percentile and the median ("slowest N ms p99 N ms median N ms
 * calls N"): the bus loop's responsiveness, without a process start per
 * call.  -i MS waits that long between calls, to cover a span of time;
 * SIGTERM or SIGINT ends the run early, with the figures of the calls made.
 * Each call over 100 ms is named on stderr, with when it started.
 *
 * -W watches for two holders: it scans /proc every 10 ms until SIGTERM or
 * SIGINT and prints a line for every scan in which two processes (other
 * than passthrud, which opens the group to pass it on, and dbus-daemon,
 * which relays it) hold /dev/vfio/N of one group, or two hold VFIO device
 * fds (on Linux 6.1 a device fd does not say its group); a process reaped
 * during the scan (its comm no longer readable) is nobody's holder; then "scans N
 * two-holders N mean-interval N ms slowest-scan N ms".
 *
 * -P sends Acquire(DEVICE, VM) and Release(DEVICE) back to back, without
 * waiting for the first answer (a client that pipelines its calls), then
 * prints, in the order they arrive, "reply Acquire ok|ERROR",
 * "reply Release ok|ERROR" and the LeaseAcquired and LeaseReleased signals
 * of DEVICE ("signal LeaseAcquired DEVICE VM PID", "signal LeaseReleased
 * DEVICE VM REASON"); it exits once it has all four (1 when a call failed
 * or 20 s passed first).
 *
 * -X calls any Manager method and prints the error name when it fails
 * (busctl does not): SIGNATURE is made of s, b ("true"/"false"), u, and a
 * trailing a{sv} whose entries are the remaining "Key=true|false" args.
 *
 * Exit status: COMMAND's; 0 with no COMMAND; 1 when the call fails (the
 * D-Bus error name is printed first on stderr); 2 bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "macro.h"
#include "passthru-direct.h"
#include "passthru-names.h"

static int usage(void) {
        fprintf(stderr, "usage: pt-hold [-D] [-m BYTES] [-o UID] [-c|-C] [-r SECONDS] [-H] DEVICE VM [-- COMMAND...]\n"
                        "       pt-hold [-D] -X METHOD SIGNATURE [ARG...]\n"
                        "       pt-hold [-D] [-i MS] -L COUNT\n"
                        "       pt-hold -W\n"
                        "       pt-hold [-D] -P DEVICE VM\n");
        return 2;
}

static bool arg_direct;

/* The system bus, or with -D passthrud's own socket. */
static int open_bus(sd_bus **ret) {
        int r;

        if (!arg_direct) {
                r = sd_bus_open_system(ret);
                if (r < 0)
                        fprintf(stderr, "pt-hold: cannot connect to the system bus: %s\n", strerror(-r));
                return r;
        }
        r = pt_direct_open(pt_direct_socket_path(), ret);
        if (r < 0)
                fprintf(stderr, "pt-hold: cannot connect to %s: %s\n", pt_direct_socket_path() ?: "no socket",
                        strerror(-r));
        return r;
}

static int on_revoked(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *device, *vm;
        uint32_t pid;

        (void) userdata;
        (void) error;
        if (sd_bus_message_read(msg, "ssu", &device, &vm, &pid) >= 0) {
                printf("revoked %s %s %u\n", device, vm, pid);
                fflush(stdout);
        }
        return 0;
}

/* Send @call (built with result @r so far); errors say their D-Bus name. 0 or 1 (failed). */
static int send_call(sd_bus *bus, sd_bus_message *call, int r, sd_bus_message **reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (r < 0) {
                fprintf(stderr, "pt-hold: cannot build the call: %s\n", strerror(-r));
                return 1;
        }
        r = sd_bus_call(bus, call, 0, &error, reply);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", error.name ?: "error", error.message ?: strerror(-r));
                return 1;
        }
        return 0;
}

static int call_method(sd_bus *bus, const char *method, const char *sig, char **args, int n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int r, k = 0;

        r = sd_bus_message_new_method_call(bus, &call, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, method);
        for (const char *c = sig; r >= 0 && *c; c++) {
                if (strncmp(c, "a{sv}", 5) == 0) {
                        r = sd_bus_message_open_container(call, 'a', "{sv}");
                        for (; r >= 0 && k < n; k++) {
                                char *eq = strchr(args[k], '=');

                                if (!eq)
                                        return usage();
                                *eq = '\0';
                                r = sd_bus_message_append(call, "{sv}", args[k], "b", strcmp(eq + 1, "true") == 0);
                        }
                        if (r >= 0)
                                r = sd_bus_message_close_container(call);
                        c += 4;
                        continue;
                }
                if (k >= n)
                        return usage();
                if (*c == 's')
                        r = sd_bus_message_append(call, "s", args[k++]);
                else if (*c == 'b')
                        r = sd_bus_message_append(call, "b", strcmp(args[k++], "true") == 0);
                else if (*c == 'u')
                        r = sd_bus_message_append(call, "u", (uint32_t) strtoul(args[k++], NULL, 10));
                else
                        return usage();
        }
        return send_call(bus, call, r, &reply);
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static volatile sig_atomic_t stop;

static void on_stop(int sig) {
        (void) sig;
        stop = 1;
}

static int measure_latency(int count, int interval_ms) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ uint64_t *t = calloc((size_t) count, sizeof(uint64_t));
        int r;

        if (!t)
                return 1;
        r = open_bus(&bus);
        if (r < 0)
                return 1;
        signal(SIGTERM, on_stop);
        signal(SIGINT, on_stop);
        for (int i = 0; i < count; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                uint64_t t0;

                if (i > 0 && interval_ms > 0)
                        usleep((useconds_t) interval_ms * 1000);
                if (stop) {
                        count = i;
                        break;
                }
                t0 = now_usec();
                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "ListDevices", &error,
                                       &reply, NULL);
                if (r == -EINTR && stop) {
                        count = i;      /* told to stop while waiting: this call does not count */
                        break;
                }
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", error.name ?: "error", error.message ?: strerror(-r));
                        return 1;
                }
                t[i] = now_usec() - t0;
                if (t[i] > 100000)
                        fprintf(stderr, "call %d at %llu.%03llu s: %llu ms\n", i, (unsigned long long) (t0 / 1000000),
                                (unsigned long long) (t0 / 1000 % 1000), (unsigned long long) (t[i] / 1000));
        }
        if (count == 0) {
                printf("slowest 0 ms p99 0 ms median 0 ms calls 0\n");
                return 0;
        }
        qsort(t, (size_t) count, sizeof(uint64_t), cmp_u64);
        /* The nearest-rank 99th percentile. */
        printf("slowest %llu ms p99 %llu ms median %llu ms calls %d\n", (unsigned long long) (t[count - 1] / 1000),
               (unsigned long long) (t[(count * 99 + 99) / 100 - 1] / 1000),
               (unsigned long long) (t[(count - 1) / 2] / 1000), count);
        return 0;
}

/* ---- -P: Acquire and Release pipelined ---- */

typedef struct Pipelined {
        const char *device;
        unsigned replies, signals, failed;
} Pipelined;

typedef struct PipelinedCall {
        Pipelined *p;
        const char *method;
} PipelinedCall;

static int on_pipelined_reply(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        PipelinedCall *call = userdata;
        Pipelined *p = call->p;
        const sd_bus_error *e = sd_bus_message_get_error(msg);

        (void) error;
        p->replies++;
        if (e) {
                p->failed++;
                printf("reply %s %s: %s\n", call->method, e->name, e->message ?: "");
        } else
                printf("reply %s ok\n", call->method);
        fflush(stdout);
        return 0;
}

static int on_pipelined_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Pipelined *p = userdata;
        const char *device, *vm, *reason;
        uint32_t pid;

        (void) error;
        if (sd_bus_message_is_signal(msg, PT_MANAGER_INTERFACE, "LeaseAcquired")) {
                if (sd_bus_message_read(msg, "ssu", &device, &vm, &pid) < 0 || strcmp(device, p->device) != 0)
                        return 0;
                printf("signal LeaseAcquired %s %s %u\n", device, vm, pid);
        } else {
                if (sd_bus_message_read(msg, "sss", &device, &vm, &reason) < 0 || strcmp(device, p->device) != 0)
                        return 0;
                printf("signal LeaseReleased %s %s %s\n", device, vm, reason);
        }
        fflush(stdout);
        p->signals++;
        return 0;
}

static int pipelined(const char *device, const char *vm) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Pipelined p = { .device = device };
        PipelinedCall acquire = { &p, "Acquire" }, release = { &p, "Release" };
        uint64_t deadline = now_usec() + 20 * 1000000ULL;
        int r;

        if (open_bus(&bus) < 0)
                return 1;
        r = sd_bus_match_signal(bus, NULL, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "LeaseAcquired",
                                on_pipelined_signal, &p);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE,
                                        "LeaseReleased", on_pipelined_signal, &p);
        if (r >= 0)
                r = sd_bus_call_method_async(bus, NULL, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "Acquire",
                                             on_pipelined_reply, &acquire, "ssa{sv}", device, vm, 0);
        if (r >= 0)
                r = sd_bus_call_method_async(bus, NULL, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "Release",
                                             on_pipelined_reply, &release, "s", device);
        if (r < 0) {
                fprintf(stderr, "pt-hold: cannot send the calls: %s\n", strerror(-r));
                return 1;
        }
        while (p.replies < 2 || (p.signals < 2 && !p.failed)) {
                uint64_t n = now_usec();

                if (n >= deadline) {
                        fprintf(stderr, "pt-hold: 20 s passed with %u replies and %u signals\n", p.replies, p.signals);
                        return 1;
                }
                r = sd_bus_process(bus, NULL);
                if (r > 0)
                        continue;
                if (r >= 0)
                        r = sd_bus_wait(bus, deadline - n);
                if (r < 0) {
                        fprintf(stderr, "pt-hold: lost passthrud: %s\n", strerror(-r));
                        return 1;
                }
        }
        return p.failed ? 1 : 0;
}

#define WATCH_GROUPS 256

static void read_comm(pid_t pid, char *comm, size_t size) {
        char path[64];
        ssize_t n = -1;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/comm", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                n = read(fd, comm, size - 1);
                close(fd);
        }
        comm[n > 0 ? n : 0] = '\0';
        comm[strcspn(comm, "\n")] = '\0';
}

/* The process has not been reaped (its comm can be read). */
static bool still_there(pid_t pid) {
        char comm[32];

        read_comm(pid, comm, sizeof(comm));
        return comm[0] != '\0';
}

/* One scan of /proc: who holds which group, who holds a device fd.  Returns whether two hold one. */
static bool scan_holders(unsigned long scan) {
        pid_t groups[WATCH_GROUPS] = {}, devfd = 0;
        bool two = false;
        struct dirent *p;
        DIR *proc;

        proc = opendir("/proc");
        if (!proc)
                return false;
        while ((p = readdir(proc))) {
                char path[64], link[64], comm[32] = "";
                struct dirent *f;
                pid_t pid;
                DIR *fds;

                if (p->d_name[0] < '0' || p->d_name[0] > '9')
                        continue;
                pid = (pid_t) atoi(p->d_name);
                /*
                 * The daemon opens the group to pass it on, the bus relays it:
                 * no holders.  Nor is a process whose comm cannot be read: it
                 * has been reaped since readdir (a passthrud killed at a fault
                 * point, seen mid-exit, was counted as a holder under load).
                 */
                read_comm(pid, comm, sizeof(comm));
                if (!comm[0] || strncmp(comm, "passthrud", 9) == 0 || strcmp(comm, "dbus-daemon") == 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/fd", pid);
                fds = opendir(path);
                if (!fds)
                        continue;
                while ((f = readdir(fds))) {
                        ssize_t n;
                        int group = -1;
                        pid_t *slot = NULL;

                        if (f->d_name[0] == '.')
                                continue;
                        n = readlinkat(dirfd(fds), f->d_name, link, sizeof(link) - 1);
                        if (n <= 0)
                                continue;
                        link[n] = '\0';
                        if (sscanf(link, "/dev/vfio/%d", &group) == 1 && group >= 0 && group < WATCH_GROUPS)
                                slot = &groups[group];
                        else if (strcmp(link, "anon_inode:[vfio-device]") == 0)
                                slot = &devfd;
                        if (!slot || *slot == pid)
                                continue;
                        if (*slot == 0 || !still_there(*slot))
                                *slot = pid;    /* the first one exited meanwhile: not two at once */
                        else {
                                if (slot == &devfd)
                                        printf("scan %lu: two processes hold VFIO device fds: pid %d and pid %d (%s)\n",
                                               scan, *slot, pid, comm);
                                else
                                        printf("scan %lu: two processes hold /dev/vfio/%d: pid %d and pid %d (%s)\n",
                                               scan, group, *slot, pid, comm);
                                fflush(stdout);
                                two = true;
                        }
                }
                closedir(fds);
        }
        closedir(proc);
        return two;
}

static int watch_holders(void) {
        unsigned long scans = 0, moments = 0;
        uint64_t slowest = 0, start = now_usec();

        signal(SIGTERM, on_stop);
        signal(SIGINT, on_stop);
        while (!stop) {
                uint64_t t0 = now_usec(), t;

                if (scan_holders(scans))
                        moments++;
                scans++;
                t = now_usec() - t0;
                if (t > slowest)
                        slowest = t;
                if (t < 10000)
                        usleep((useconds_t) (10000 - t));
        }
        printf("scans %lu two-holders %lu mean-interval %llu ms slowest-scan %llu ms\n", scans, moments,
               (unsigned long long) ((now_usec() - start) / 1000 / (scans ?: 1)), (unsigned long long) (slowest / 1000));
        return moments > 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *call = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        unsigned long long memory = 0;
        long owner = -1;
        bool close_own = false, close_after = false, hold = false;
        int release_after = -1;
        const char *method = NULL, *device;
        int c, r, fd, status;
        char fdstr[16];
        pid_t child;

        int latency_calls = 0, interval_ms = 0;
        bool pipeline = false;

        while ((c = getopt(argc, argv, "+Dm:o:cCr:HX:L:i:WP")) >= 0) {
                switch (c) {
                case 'D':
                        arg_direct = true;
                        break;
                case 'm':
                        memory = strtoull(optarg, NULL, 10);
                        break;
                case 'o':
                        owner = strtol(optarg, NULL, 10);
                        break;
                case 'c':
                        close_own = true;
                        break;
                case 'C':
                        close_after = true;
                        break;
                case 'r':
                        release_after = atoi(optarg);
                        break;
                case 'H':
                        hold = true;
                        break;
                case 'X':
                        method = optarg;
                        break;
                case 'L':
                        latency_calls = atoi(optarg);
                        break;
                case 'i':
                        interval_ms = atoi(optarg);
                        break;
                case 'W':
                        return watch_holders();
                case 'P':
                        pipeline = true;
                        break;
                default:
                        return usage();
                }
        }
        if (latency_calls > 0)
                return measure_latency(latency_calls, interval_ms);
        if (argc - optind < (method ? 1 : 2))
                return usage();
        if (pipeline)
                return argc - optind == 2 ? pipelined(argv[optind], argv[optind + 1]) : usage();

        r = open_bus(&bus);
        if (r < 0)
                return 1;
        if (hold && !method) {
                r = sd_bus_match_signal(bus, NULL, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "LeaseRevoked",
                                        on_revoked, NULL);
                if (r < 0) {
                        fprintf(stderr, "pt-hold: cannot listen for LeaseRevoked: %s\n", strerror(-r));
                        return 1;
                }
        }
        if (method)
                return call_method(bus, method, argv[optind], argv + optind + 1, argc - optind - 1);
        r = sd_bus_message_new_method_call(bus, &call, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "Acquire");
        if (r >= 0)
                r = sd_bus_message_append(call, "ss", argv[optind], argv[optind + 1]);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && memory > 0)
                r = sd_bus_message_append(call, "{sv}", "MemoryBytes", "t", (uint64_t) memory);
        if (r >= 0 && owner >= 0)
                r = sd_bus_message_append(call, "{sv}", "DeviceNodeOwner", "u", (uint32_t) owner);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (send_call(bus, call, r, &reply) != 0)
                return 1;
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0) {
                fprintf(stderr, "pt-hold: bad reply: %s\n", strerror(-r));
                return 1;
        }
        /* The reply owns its fd: keep a copy that survives it, and exec. */
        fd = fcntl(fd, F_DUPFD, 3);
        if (fd < 0) {
                fprintf(stderr, "pt-hold: cannot keep the group fd: %m\n");
                return 1;
        }
        reply = sd_bus_message_unref(reply);
        snprintf(fdstr, sizeof(fdstr), "%d", fd);
        setenv("PASSTHRU_GROUP_FD", fdstr, 1);
        printf("acquired %s for %s: group fd %d\n", argv[optind], argv[optind + 1], fd);
        fflush(stdout);

        device = argv[optind];
        optind += 2;
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        if (optind < argc) {
                for (int i = optind; i < argc; i++)
                        if (strcmp(argv[i], "@FD@") == 0)
                                argv[i] = fdstr;
                child = fork();
                if (child < 0) {
                        fprintf(stderr, "pt-hold: fork: %m\n");
                        return 1;
                }
                if (child == 0) {
                        if (close_own)
                                close(fd);
                        execvp(argv[optind], argv + optind);
                        fprintf(stderr, "pt-hold: cannot run %s: %m\n", argv[optind]);
                        _exit(127);
                }
                if (close_own || close_after)
                        close(fd);
                if (release_after >= 0) {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *rel = NULL;

                        sleep((unsigned) release_after);
                        r = sd_bus_message_new_method_call(bus, &rel, PT_BUS_NAME, PT_MANAGER_PATH,
                                                           PT_MANAGER_INTERFACE, "Release");
                        if (r >= 0)
                                r = sd_bus_message_append(rel, "s", device);
                        if (send_call(bus, rel, r, NULL) != 0)
                                return 1;
                        printf("released %s\n", device);
                        fflush(stdout);
                }
                while (waitpid(child, &status, 0) < 0)
                        if (errno != EINTR)
                                return 1;
                if (!hold)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (close_own)
                close(fd);
        /* Held until killed; meanwhile what passthrud says (LeaseRevoked), until it hangs up. */
        while (hold) {
                r = sd_bus_process(bus, NULL);
                if (r > 0)
                        continue;
                if (r < 0 || sd_bus_wait(bus, UINT64_MAX) < 0)
                        for (;;)
                                pause();
        }
        return 0;
}
