/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* passthrud: lease PCI devices to VMs over D-Bus.  See passthrud(8). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "manager.h"
#include "stage.h"

static int run(void) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        r = sd_event_set_signal_exit(event, true);
        if (r < 0)
                return log_error_errno(r, "Cannot handle SIGTERM and SIGINT: %m");
        r = manager_new(&manager_default_paths, &m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the manager: %m");
        /* manager_load() and manager_start() log their own failures. */
        r = manager_load(m);
        if (r >= 0)
                r = manager_start(m, event);
        if (r >= 0) {
                log_info("passthrud running: %zu devices, %zu leases", m->n_devices, m->n_leases);
                r = sd_event_loop(event);
                if (r < 0)
                        log_error_errno(r, "The event loop failed: %m");
                else if (r > 0) /* sd-bus ended it: the system bus went away */
                        r = log_error_errno(-ECONNRESET,
                                            "The system bus connection was lost; exiting for systemd to restart passthrud "
                                            "(leases are kept in the ledger)");
                /*
                 * Idle groups back on passthru: nothing of ours stays on
                 * vfio-pci without a holder; those binds must not start
                 * passthrud again through udev's rule.
                 */
                manager_mark_stopped(m);
                stage_unstage_all(m, "passthrud stops");
        }
        return r;
}

/*
 * The daemon takes no arguments (passthru.conf(5) holds its settings) but
 * --help and --version: any other is refused rather than ignored, so that
 * "passthrud --config FILE" does not start the daemon with another file's
 * settings than the one meant.  -1: go on and run; else an exit status.
 */
static int arguments(int argc, char *argv[]) {
        const char *bad;

        if (argc <= 1)
                return -1;
        if (argc == 2 && strcmp(argv[1], "--version") == 0) {
                printf("passthrud %s\n", PT_VERSION);
                return EXIT_SUCCESS;
        }
        if (argc == 2 && strcmp(argv[1], "--help") == 0) {
                printf("Usage: passthrud [--help | --version]\n"
                       "Leases PCI devices to VMs over D-Bus (org.passthru1). It takes no other arguments: its\n"
                       "settings are in /etc/passthru/passthru.conf, and systemd starts it (passthrud.service).\n"
                       "See passthrud(8) and passthru.conf(5).\n");
                return EXIT_SUCCESS;
        }
        /* "--help --bogus": the second is the one to name. */
        bad = argv[1];
        if (argc > 2 && (strcmp(bad, "--help") == 0 || strcmp(bad, "--version") == 0))
                bad = argv[2];
        fprintf(stderr, "passthrud: unexpected argument '%s': it takes none but --help or --version (its settings "
                "are in /etc/passthru/passthru.conf; see passthrud(8))\n", bad);
        return 2;
}

int main(int argc, char *argv[]) {
        int r = arguments(argc, argv);

        if (r >= 0)
                return r;
        log_setup();
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
