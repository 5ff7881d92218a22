/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "macro.h"

int log_max_level = LOG_INFO;

static const char * const level_names[] = {
        [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int log_parse_level(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcmp(s, level_names[i]) == 0)
                        return (int) i;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -EINVAL;
}

void log_setup(void) {
        const char *s = getenv("PASSTHRUD_LOG_LEVEL");
        int level;

        if (!s || !*s)
                return;
        level = log_parse_level(s);
        if (level < 0) {
                log_warning("Ignoring PASSTHRUD_LOG_LEVEL='%s': not a level (emerg, alert, crit, err, warning, "
                            "notice, info, debug, or 0-7); logging up to info", s);
                return;
        }
        log_max_level = level;
}

void log_lease(const char *event, const char *device, const char *vm, unsigned pid, const char *reason) {
        /* An info line, whichever way it goes. */
        if (LOG_INFO > log_max_level)
                return;
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
