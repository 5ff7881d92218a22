/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* passthrud: lease PCI devices to VMs over D-Bus.  See passthrud(8). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

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

int main(void) {
        log_setup();
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
