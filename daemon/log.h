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

#define log_full(level, fmt, ...) \
        fprintf(stderr, "<%d>" fmt "\n", (level), ##__VA_ARGS__)
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

/* A lease event, with structured fields for the journal. */
void log_lease(const char *event, const char *device, const char *vm, unsigned pid, const char *reason);
