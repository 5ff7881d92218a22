/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's log level (daemon/log.c): its names, $PASSTHRUD_LOG_LEVEL, and what each level lets through. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "macro.h"

/* log_max_level as the program starts, before any test sets it. */
static int level_at_start;

/* stderr goes to a scratch file while a test runs; what was written is read back with stderr_text(). */
static int saved_stderr = -1;
static FILE *scratch;

static int capture(void **state) {
        (void) state;
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        scratch = tmpfile();
        assert_true(saved_stderr >= 0 && scratch);
        assert_true(dup2(fileno(scratch), STDERR_FILENO) >= 0);
        log_max_level = LOG_INFO;
        unsetenv("PASSTHRUD_LOG_LEVEL");
        return 0;
}

static int release(void **state) {
        (void) state;
        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        fclose(scratch);
        log_max_level = LOG_INFO;
        unsetenv("PASSTHRUD_LOG_LEVEL");
        return 0;
}

static char *stderr_text(void) {
        char *text = calloc(1, 4096);

        assert_non_null(text);
        fflush(stderr);
        assert_true(pread(fileno(scratch), text, 4095, 0) >= 0);
        return text;
}

static void levels_by_name_and_number(void **state) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };

        (void) state;
        for (int i = 0; i < (int) ELEMENTSOF(names); i++) {
                char digit[2] = { (char) ('0' + i), '\0' };

                assert_int_equal(log_parse_level(names[i]), i);
                assert_int_equal(log_parse_level(digit), i);
        }
        assert_int_equal(log_parse_level(NULL), -EINVAL);
        assert_int_equal(log_parse_level(""), -EINVAL);
        assert_int_equal(log_parse_level("8"), -EINVAL);
        assert_int_equal(log_parse_level("07"), -EINVAL);
        assert_int_equal(log_parse_level("-1"), -EINVAL);
        assert_int_equal(log_parse_level("DEBUG"), -EINVAL);
        assert_int_equal(log_parse_level("debug "), -EINVAL);
        assert_int_equal(log_parse_level("warn"), -EINVAL);
}

/* The default: info and above, no debug lines (every udev event of a PCI device has one). */
static void info_by_default_debug_on_request(void **state) {
        _cleanup_free_ char *quiet = NULL, *loud = NULL;

        (void) state;
        assert_int_equal(level_at_start, LOG_INFO);
        log_setup();
        assert_int_equal(log_max_level, LOG_INFO);
        log_debug("udev: add 0000:01:00.0");
        log_info("passthrud running");
        quiet = stderr_text();
        assert_string_equal(quiet, "<6>passthrud running\n");

        assert_int_equal(setenv("PASSTHRUD_LOG_LEVEL", "debug", 1), 0);
        log_setup();
        assert_int_equal(log_max_level, LOG_DEBUG);
        log_debug("udev: remove 0000:01:00.0");
        loud = stderr_text();
        assert_string_equal(loud, "<6>passthrud running\n<7>udev: remove 0000:01:00.0\n");
}

/* Warnings only: info lines are dropped, errors and warnings kept; log_error_errno() still returns its error. */
static void a_quieter_level_drops_the_lines_below_it(void **state) {
        _cleanup_free_ char *text = NULL;

        (void) state;
        assert_int_equal(setenv("PASSTHRUD_LOG_LEVEL", "4", 1), 0);
        log_setup();
        assert_int_equal(log_max_level, LOG_WARNING);
        log_info("not written");
        log_notice("not written either");
        log_warning("written");
        assert_int_equal(log_error_errno(-ENOENT, "gone: %m"), -ENOENT);
        /* A lease's line is an info line too (outside systemd: to stderr). */
        unsetenv("JOURNAL_STREAM");
        log_lease("acquired", "0000:01:00.0", "vm-a", 42, NULL);
        text = stderr_text();
        assert_string_equal(text, "<4>written\n<3>gone: No such file or directory\n");
}

/* A value that is no level: said so, naming it, and the default kept. */
static void a_bad_value_is_named_and_ignored(void **state) {
        _cleanup_free_ char *text = NULL;

        (void) state;
        assert_int_equal(setenv("PASSTHRUD_LOG_LEVEL", "loud", 1), 0);
        log_setup();
        assert_int_equal(log_max_level, LOG_INFO);
        text = stderr_text();
        assert_non_null(strstr(text, "<4>Ignoring PASSTHRUD_LOG_LEVEL='loud': not a level"));
        /* An empty value is no setting at all. */
        assert_int_equal(setenv("PASSTHRUD_LOG_LEVEL", "", 1), 0);
        log_max_level = LOG_ERR;
        log_setup();
        assert_int_equal(log_max_level, LOG_ERR);
}

#define T(f) cmocka_unit_test_setup_teardown(f, capture, release)

int main(void) {
        level_at_start = log_max_level;
        const struct CMUnitTest tests[] = {
                T(levels_by_name_and_number),
                T(info_by_default_debug_on_request),
                T(a_quieter_level_drops_the_lines_below_it),
                T(a_bad_value_is_named_and_ignored),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
