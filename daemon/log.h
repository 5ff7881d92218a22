/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging to stderr with syslog level prefixes, which journald (and a
 * console) understand.  Failures are logged once, by the caller that knows
 * the context: log_error_errno(r, "Failed to bind %s to vfio-pci: %m", dev).
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <syslog.h>

/* The most verbose level written: LOG_INFO, unless $PASSTHRUD_LOG_LEVEL says otherwise (log_setup()). */
extern int log_max_level;

#define log_full(level, fmt, ...)                                                       \
        do {                                                                            \
                if ((level) <= log_max_level)                                           \
                        fprintf(stderr, "<%d>" fmt "\n", (level), ##__VA_ARGS__);       \
        } while (0)
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

/* Log with %m meaning -r; return r. */
#define log_full_errno(level, r, fmt, ...)                      \
        ({                                                      \
                int _r = (r);                                   \
                errno = _r < 0 ? -_r : _r;                      \
                log_full(level, fmt, ##__VA_ARGS__);            \
                _r < 0 ? _r : -_r;                              \
        })
#define log_error_errno(r, ...) log_full_errno(LOG_ERR, r, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, r, __VA_ARGS__)

/* A syslog level by name (emerg .. debug, as systemd spells them) or number (0-7); -EINVAL otherwise. */
int log_parse_level(const char *s);
/* log_max_level from $PASSTHRUD_LOG_LEVEL; a value that is no level is said so, and the default kept. */
void log_setup(void);

/* A lease event, with structured fields for the journal. */
void log_lease(const char *event, const char *device, const char *vm, unsigned pid, const char *reason);
