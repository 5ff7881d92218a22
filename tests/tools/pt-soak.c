/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-soak: grant/return cycles of one device by several clients in turn,
 * without a process start per cycle (daemon-faults' soak).
 *
 *   pt-soak DEVICE CYCLES CLIENTS SECONDS
 *
 * CLIENTS worker processes, each with its own bus connection (a client of
 * its own to passthrud), take turns: the parent hands cycle i to worker
 * i % CLIENTS, which waits until DEVICE is back on passthru, calls
 * Acquire(DEVICE, "vm-W") (again on DeviceBusy, counted), closes the group
 * fd and lets go.  Both ways of letting go are used: Release on most
 * cycles, and on every tenth cycle of a worker it exits holding the lease
 * (passthrud sees its holder die) and the parent starts a new worker in its
 * place.  The run stops after CYCLES cycles or SECONDS seconds, whichever
 * comes first, and prints
 *
 *   cycles N ms N busy N deaths N
 *
 * Exit status: 0 when every cycle it ran succeeded, 1 when one failed (its
 * D-Bus error on stderr, the cycle named), 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "passthru-names.h"

#define MAX_CLIENTS 16
#define DEATH_EVERY 10
#define BACK_TIMEOUT_MS 10000

typedef struct Worker {
        pid_t pid;
        int go;         /* parent -> worker: the cycle's number, -1 to end */
        int done;       /* worker -> parent: a Result */
} Worker;

typedef struct Result {
        int ok;         /* 1: the cycle succeeded */
        int busy;       /* DeviceBusy answers before it did */
        int died;       /* the worker let go by exiting */
} Result;

static const char *device;
static int clients;

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000ULL + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_msec(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The device's driver is passthru: the last return has ended. */
static bool on_passthru(void) {
        char link[PATH_MAX], target[PATH_MAX];
        const char *base;
        ssize_t k;

        snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", device);
        k = readlink(link, target, sizeof(target) - 1);
        if (k < 0)
                return false;
        target[k] = '\0';
        base = strrchr(target, '/');
        return strcmp(base ? base + 1 : target, PT_STUB_DRIVER) == 0;
}

static int call(sd_bus *bus, const char *method, const char *vm, sd_bus_error *error, sd_bus_message **reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", device);
        if (r >= 0 && vm)
                r = sd_bus_message_append(m, "sa{sv}", vm, 0);
        if (r < 0)
                return r;
        return sd_bus_call(bus, m, 0, error, reply);
}

/* One cycle in worker @w: wait for the device, lease it, let go (or die holding it). */
static Result worker_cycle(sd_bus *bus, int w, int cycle) {
        Result res = {};
        char vm[32];
        uint64_t t0 = now_msec();
        int r;

        snprintf(vm, sizeof(vm), "vm-%d", w);
        while (!on_passthru()) {
                if (now_msec() - t0 > BACK_TIMEOUT_MS) {
                        fprintf(stderr, "pt-soak: cycle %d: %s not back on %s after %d ms\n", cycle, device,
                                PT_STUB_DRIVER, BACK_TIMEOUT_MS);
                        return res;
                }
                sleep_msec(2);
        }
        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int fd;

                r = call(bus, "Acquire", vm, &error, &reply);
                if (r < 0 && sd_bus_error_has_name(&error, PT_ERROR_DEVICE_BUSY) && res.busy < 1000) {
                        res.busy++;
                        sleep_msec(5);
                        continue;
                }
                if (r >= 0)
                        r = sd_bus_message_read(reply, "h", &fd);
                if (r < 0) {
                        fprintf(stderr, "pt-soak: cycle %d: Acquire: %s: %s\n", cycle, error.name ?: "error",
                                error.message ?: strerror(-r));
                        return res;
                }
                break;          /* the reply owns the fd: unref closes it */
        }
        res.died = (cycle / clients) % DEATH_EVERY == DEATH_EVERY - 1;        /* this worker's tenth */
        if (!res.died) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = call(bus, "Release", NULL, &error, NULL);
                if (r < 0) {
                        fprintf(stderr, "pt-soak: cycle %d: Release: %s: %s\n", cycle, error.name ?: "error",
                                error.message ?: strerror(-r));
                        return res;
                }
        }
        res.ok = 1;
        return res;
}

static __attribute__((noreturn)) void worker_main(int w, int go, int done) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int cycle, r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "pt-soak: worker %d: cannot connect to the system bus: %s\n", w, strerror(-r));
                _exit(1);
        }
        while (read(go, &cycle, sizeof(cycle)) == (ssize_t) sizeof(cycle) && cycle >= 0) {
                Result res = worker_cycle(bus, w, cycle);

                if (write(done, &res, sizeof(res)) != (ssize_t) sizeof(res) || !res.ok)
                        _exit(1);
                if (res.died)
                        _exit(0);       /* still the holder: passthrud takes the lease back */
        }
        _exit(0);
}

static int worker_start(Worker *wk, int w) {
        int go[2], done[2];

        if (pipe2(go, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(done, O_CLOEXEC) < 0) {
                close(go[0]);
                close(go[1]);
                return -errno;
        }
        wk->pid = fork();
        if (wk->pid < 0) {
                int e = errno;

                close(go[0]);
                close(go[1]);
                close(done[0]);
                close(done[1]);
                return -e;
        }
        if (wk->pid == 0) {
                close(go[1]);
                close(done[0]);
                worker_main(w, go[0], done[1]);
        }
        close(go[0]);
        close(done[1]);
        wk->go = go[1];
        wk->done = done[0];
        return 0;
}

static void worker_stop(Worker *wk) {
        int end = -1;

        if (wk->pid <= 0)
                return;
        (void) !write(wk->go, &end, sizeof(end));
        close(wk->go);
        close(wk->done);
        while (waitpid(wk->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        wk->pid = 0;
}

static bool parse_int(const char *s, int min, int max, int *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return false;
        *ret = (int) v;
        return true;
}

int main(int argc, char **argv) {
        Worker workers[MAX_CLIENTS] = {};
        int cycles, seconds, n = 0, busy = 0, deaths = 0, rc = 0;
        uint64_t t0;

        if (argc != 5 || !parse_int(argv[2], 1, INT_MAX / 2, &cycles) ||
            !parse_int(argv[3], 1, MAX_CLIENTS, &clients) || !parse_int(argv[4], 1, 86400, &seconds)) {
                fprintf(stderr, "usage: pt-soak DEVICE CYCLES CLIENTS(1-%d) SECONDS\n", MAX_CLIENTS);
                return 2;
        }
        device = argv[1];
        signal(SIGPIPE, SIG_IGN);
        t0 = now_msec();
        for (; n < cycles && now_msec() - t0 < (uint64_t) seconds * 1000; n++) {
                int w = n % clients, r;
                Worker *wk = &workers[w];
                Result res = {};

                if (wk->pid <= 0 && (r = worker_start(wk, w)) < 0) {
                        fprintf(stderr, "pt-soak: cannot start worker %d: %s\n", w, strerror(-r));
                        rc = 1;
                        break;
                }
                if (write(wk->go, &n, sizeof(n)) != (ssize_t) sizeof(n) ||
                    read(wk->done, &res, sizeof(res)) != (ssize_t) sizeof(res) || !res.ok) {
                        fprintf(stderr, "pt-soak: cycle %d (worker %d) failed\n", n, w);
                        rc = 1;
                        break;
                }
                busy += res.busy;
                if (res.died) {
                        deaths++;
                        worker_stop(wk);
                }
        }
        for (int w = 0; w < clients; w++)
                worker_stop(&workers[w]);
        printf("cycles %d ms %llu busy %d deaths %d\n", n, (unsigned long long) (now_msec() - t0), busy,
               deaths);
        return rc;
}
