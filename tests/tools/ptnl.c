/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ptnl: talk to passthru.ko's netlink family directly, for tests and for
 * debugging a host without passthrud.
 *
 *   ptnl get                      one line per device or rule:
 *                                 ADDRESS STATE IDS DRIVER RULE REASON...
 *   ptnl hide RULE | unhide RULE  e.g. ptnl hide '(04:01.0)'
 *   ptnl monitor [-n COUNT] [-t SECONDS] [-r]
 *                                 print events: EVENT ADDRESS IDS RULE;
 *                                 -r: first print "ready" once subscribed
 *   ptnl resolve                  only look the family up, through nlctrl
 *                                 (whose requests take the kernel's
 *                                 genl_mutex, as those of every family
 *                                 without parallel_ops do)
 *
 * Exit status: 0 success, 1 the request failed, 2 bad usage, 3 timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "netlink.h"

static int print_ids(char *buf, size_t size, const PtNlDevice *d) {
        if (d->present)
                return snprintf(buf, size, "%04x:%04x", d->vendor, d->device);
        return snprintf(buf, size, "-");
}

static int do_get(PtNetlink *nl) {
        _cleanup_free_ PtNlDevice *devs = NULL;
        size_t n;
        int r;

        r = ptnl_get(nl, &devs, &n);
        if (r < 0) {
                fprintf(stderr, "ptnl: GET failed: %s\n", strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                char ids[16];

                print_ids(ids, sizeof(ids), &devs[i]);
                printf("%s %s %s %s %s %s\n", devs[i].address, ptnl_state_to_string(devs[i].state), ids,
                       devs[i].driver[0] ? devs[i].driver : "-", devs[i].rule[0] ? devs[i].rule : "-",
                       devs[i].reason[0] ? devs[i].reason : "-");
        }
        return 0;
}

static int do_rule(PtNetlink *nl, bool hide, const char *rule) {
        _cleanup_free_ char *msg = NULL;
        int r;

        r = hide ? ptnl_hide(nl, rule, &msg) : ptnl_unhide(nl, rule, &msg);
        if (r < 0) {
                fprintf(stderr, "ptnl: %s %s failed: %s%s%s\n", hide ? "hide" : "unhide", rule,
                        strerror(-r), msg ? ": " : "", msg ?: "");
                return 1;
        }
        return 0;
}

typedef struct Monitor {
        long remaining;
} Monitor;

static void on_event(const PtNlDevice *ev, void *userdata) {
        Monitor *m = userdata;
        char ids[16];

        print_ids(ids, sizeof(ids), ev);
        printf("%s %s %s %s\n", ptnl_event_to_string(ev->event), ev->address, ids, ev->rule[0] ? ev->rule : "-");
        fflush(stdout);
        if (m->remaining > 0)
                m->remaining--;
}

static long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int do_monitor(PtNetlink *nl, long count, long seconds, bool ready) {
        Monitor m = { .remaining = count > 0 ? count : -1 };
        long deadline = seconds > 0 ? now_ms() + seconds * 1000L : -1;
        int r;

        r = ptnl_subscribe(nl);
        if (r < 0) {
                fprintf(stderr, "ptnl: cannot join the events group: %s\n", strerror(-r));
                return 1;
        }
        if (ready) {
                printf("ready\n");
                fflush(stdout);
        }
        while (m.remaining != 0) {
                struct pollfd p = { .fd = ptnl_event_fd(nl), .events = POLLIN };
                int timeout = deadline < 0 ? -1 : (int) (deadline - now_ms());

                if (deadline >= 0 && timeout <= 0) {
                        fprintf(stderr, "ptnl: timed out waiting for events\n");
                        return 3;
                }
                r = poll(&p, 1, timeout);
                if (r < 0 && errno != EINTR) {
                        fprintf(stderr, "ptnl: poll failed: %m\n");
                        return 1;
                }
                if (r > 0) {
                        r = ptnl_read_events(nl, on_event, &m);
                        if (r < 0) {
                                fprintf(stderr, "ptnl: reading events failed: %s\n", strerror(-r));
                                return 1;
                        }
                }
        }
        return 0;
}

static int usage(void) {
        fprintf(stderr,
                "usage: ptnl get\n"
                "       ptnl hide RULE | ptnl unhide RULE\n"
                "       ptnl monitor [-n COUNT] [-t SECONDS] [-r]\n"
                "       ptnl resolve\n");
        return 2;
}

int main(int argc, char *argv[]) {
        _cleanup_(ptnl_closep) PtNetlink *nl = NULL;
        const char *verb;
        bool ready = false;
        long count = 0, seconds = 0;
        int c, r;

        if (argc < 2)
                return usage();
        verb = argv[1];
        optind = 2;
        while ((c = getopt(argc, argv, "n:t:r")) >= 0) {
                switch (c) {
                case 'n':
                        count = strtol(optarg, NULL, 10);
                        break;
                case 't':
                        seconds = strtol(optarg, NULL, 10);
                        break;
                case 'r':
                        ready = true;
                        break;
                default:
                        return usage();
                }
        }

        r = ptnl_open(&nl);
        if (r < 0) {
                fprintf(stderr, "ptnl: cannot reach the passthru netlink family%s: %s\n",
                        r == -ENOENT ? " (is passthru.ko loaded?)" : "", strerror(-r));
                return 1;
        }

        if (strcmp(verb, "get") == 0 && optind == argc)
                return do_get(nl);
        if ((strcmp(verb, "hide") == 0 || strcmp(verb, "unhide") == 0) && optind == argc - 1)
                return do_rule(nl, verb[0] == 'h', argv[optind]);
        if (strcmp(verb, "monitor") == 0 && optind == argc)
                return do_monitor(nl, count, seconds, ready);
        if (strcmp(verb, "resolve") == 0 && optind == argc)
                return 0;
        return usage();
}
