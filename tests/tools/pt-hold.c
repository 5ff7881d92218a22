/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-hold: lease a device from passthrud the way a hypervisor would, and
 * keep the lease while a command runs.
 *
 *   pt-hold [-m BYTES] [-o UID] [-c] [-H] DEVICE VM [-- COMMAND...]
 *   pt-hold -X METHOD SIGNATURE [ARG...]
 *
 * Calls Acquire(DEVICE, VM, {MemoryBytes, DeviceNodeOwner}) and runs
 * COMMAND with the group fd inherited; "@FD@" in its arguments is replaced
 * by the fd's number, and $PASSTHRU_GROUP_FD holds it.  pt-hold stays the
 * lease's holder until COMMAND exits (or, with -H, until it is killed).
 * -c closes pt-hold's own copy of the fd before COMMAND runs, for commands
 * that open /dev/vfio/N themselves (with -o).  -C closes pt-hold's copy
 * once COMMAND runs, leaving COMMAND the only one with it.  -r SECONDS
 * calls Release that long after COMMAND started, and pt-hold goes on
 * (a holder that let go of its lease but not of the device).
 *
 * -L COUNT calls ListDevices COUNT times and prints the slowest round trip
 * ("slowest N ms"): the bus loop's responsiveness, without a process
 * start per call.
 *
 * -X calls any Manager method and prints the error name when it fails
 * (busctl does not): SIGNATURE is made of s, b ("true"/"false"), u, and a
 * trailing a{sv} whose entries are the remaining "Key=true|false" args.
 *
 * Exit status: COMMAND's; 0 with no COMMAND; 1 when the call fails (the
 * D-Bus error name is printed first on stderr); 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
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

static int usage(void) {
        fprintf(stderr, "usage: pt-hold [-m BYTES] [-o UID] [-c|-C] [-r SECONDS] [-H] DEVICE VM [-- COMMAND...]\n"
                        "       pt-hold -X METHOD SIGNATURE [ARG...]\n");
        return 2;
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

static int measure_latency(int count) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        uint64_t worst = 0;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "pt-hold: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }
        for (int i = 0; i < count; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                uint64_t t0 = now_usec(), t;

                r = sd_bus_call_method(bus, PT_BUS_NAME, PT_MANAGER_PATH, PT_MANAGER_INTERFACE, "ListDevices", &error,
                                       &reply, NULL);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", error.name ?: "error", error.message ?: strerror(-r));
                        return 1;
                }
                t = now_usec() - t0;
                if (t > worst)
                        worst = t;
        }
        printf("slowest %llu ms\n", (unsigned long long) (worst / 1000));
        return 0;
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

        int latency_calls = 0;

        while ((c = getopt(argc, argv, "+m:o:cCr:HX:L:")) >= 0) {
                switch (c) {
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
                default:
                        return usage();
                }
        }
        if (latency_calls > 0)
                return measure_latency(latency_calls);
        if (argc - optind < (method ? 1 : 2))
                return usage();

        r = sd_bus_default_system(&bus);
        if (r < 0) {
                fprintf(stderr, "pt-hold: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
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
        if (hold)
                for (;;)
                        pause();
        return 0;
}
