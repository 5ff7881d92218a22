/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include <systemd/sd-journal.h>

#include "log.h"

void log_lease(const char *event, const char *device, const char *vm, unsigned pid, const char *reason) {
        /* Under systemd, stderr is the journal already: send it the fields too. */
        if (getenv("JOURNAL_STREAM") &&
            sd_journal_send("MESSAGE=Lease %s: device %s, VM '%s', pid %u%s%s", event, device, vm, pid,
                            reason ? ", reason " : "", reason ?: "",
                            "PRIORITY=%d", LOG_INFO,
                            "PASSTHRU_EVENT=%s", event,
                            "PASSTHRU_DEVICE=%s", device,
                            "PASSTHRU_VM=%s", vm,
                            "PASSTHRU_PID=%u", pid,
                            "PASSTHRU_REASON=%s", reason ?: "",
                            NULL) >= 0)
                return;
        log_info("Lease %s: device %s, VM '%s', pid %u%s%s", event, device, vm, pid,
                 reason ? ", reason " : "", reason ?: "");
}
