/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /etc/passthru/passthru.conf: defaults, every key, every refusal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test-util.h"

#include "config.h"
#include "fileio.h"
#include "macro.h"

/* config_known_reset_methods, as the refusals list them. */
#define KNOWN_METHODS "flr, af_flr, bus, device_specific, acpi, cxl_bus, pm"

static char *write_conf(const char *dir, const char *text) {
        char *path;

        assert_true(asprintf(&path, "%s/passthru.conf", dir) > 0);
        assert_int_equal(write_file_atomic(path, text, 0644), 0);
        return path;
}

/* Loading text fails with -EINVAL and "PATH" + suffix, and leaves c alone. */
static void assert_refused(const char *text, const char *suffix) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = write_conf(dir, text), *error = NULL, *expected = NULL;
        _cleanup_(config_done) Config c = {};

        assert_int_equal(config_init(&c), 0);
        c.max_active_devices = 7;
        assert_int_equal(config_load(&c, path, &error), -EINVAL);
        assert_true(asprintf(&expected, "%s%s", path, suffix) > 0);
        assert_string_equal(error, expected);
        assert_string_equal(c.group, "passthru");
        assert_int_equal(c.max_active_devices, 7);
        assert_int_equal(c.n_reset_pins, 0);
        assert_int_equal(c.n_trusts, 0);
}

/* What libinih would drop without a word is refused, naming the line: a key after a header, a lone '\r'. */
static void config_text_libinih_would_drop_is_refused(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        assert_refused("[Daemon] MaxDevicesPerVm=1\n", ":1: text after the section header's ']'");
        assert_refused("[Daemon]\nGroup=kvm\n[Reset] 8086:10d3=bus\n", ":3: text after the section header's ']'");
        assert_refused("[Daemon]\rMaxDevicesPerVm=1\rGroup=wheel\r",
                       ":1: carriage return inside a line (lines must end with '\\n')");
        assert_refused("[Daemon]\nGroup=kvm\rMaxActiveDevices=2\n",
                       ":2: carriage return inside a line (lines must end with '\\n')");

        /* A comment after the header, and "\r\n" line ends, are fine. */
        path = write_conf(dir, "[Daemon]  # limits\r\nMaxDevicesPerVm=1\r\nGroup=kvm\r\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_int_equal(c.max_devices_per_vm, 1);
        assert_string_equal(c.group, "kvm");
}

/* A symbolic link to nothing (configuration not mounted yet) is not "no file": refused. */
static void config_link_to_nothing_refused(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        assert_true(asprintf(&path, "%s/passthru.conf", dir) > 0);
        assert_int_equal(symlink("/nonexistent/passthru.conf", path), 0);
        assert_int_equal(config_init(&c), 0);
        c.max_active_devices = 7;
        assert_int_equal(config_load(&c, path, &error), -ENOENT);
        assert_non_null(error);
        assert_non_null(strstr(error, "a symbolic link to a file that does not exist"));
        assert_int_equal(c.max_active_devices, 7);
}

static void config_init_sets_documented_defaults(void **state) {
        _cleanup_(config_done) Config c = {};
        (void) state;

        assert_int_equal(config_init(&c), 0);
        assert_string_equal(c.group, "passthru");
        assert_int_equal(c.max_devices_per_vm, 0);
        assert_int_equal(c.max_active_devices, 0);
        assert_int_equal(c.revoke_grace_usec, 30 * 1000000ULL);
        assert_false(c.allow_unsafe_interrupts);
        assert_true(c.stage_idle_groups);      /* staged groups by default */
        assert_int_equal(c.n_reset_pins, 0);
        assert_null(config_reset_method(&c, 0x8086, 0x10d3));
        /* Trusted to clear state by default: a function-level or a bus reset, nothing weaker. */
        assert_int_equal(c.n_trusts, 0);
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "flr"));
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "af_flr"));
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "bus"));
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d3, "pm"));
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d3, "device_specific"));
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d3, "acpi"));
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d3, NULL));
}

static void config_missing_file_keeps_defaults(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        assert_true(asprintf(&path, "%s/nope.conf", dir) > 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_null(error);
        assert_string_equal(c.group, "passthru");
        assert_int_equal(c.revoke_grace_usec, 30 * 1000000ULL);
}

static void config_every_key_is_read(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir,
                          "# passthru settings\n"
                          "; another comment\n"
                          "[Daemon]\n"
                          "Group=kvm-users   # who may Acquire\n"
                          "MaxDevicesPerVm = 4 ; inline\n"
                          "MaxActiveDevices=4294967295\n"
                          "RevokeGraceSec=0\n"
                          "MaxConnections=4096\n"
                          "MaxConnectionsPerUser=1\n"
                          "AllowUnsafeInterrupts=Yes\r\n"
                          "StageIdleGroups=False\n"
                          "\n"
                          "[Reset]\n"
                          "8086:10d3=bus\n"
                          "10DE:1B80 = flr\n"
                          "1af4:1041=device_specific\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_null(error);
        assert_string_equal(c.group, "kvm-users");
        assert_int_equal(c.max_devices_per_vm, 4);
        assert_int_equal(c.max_active_devices, 4294967295U);
        assert_int_equal(c.revoke_grace_usec, 0);
        assert_int_equal(c.max_connections, 4096);
        assert_int_equal(c.max_connections_per_user, 1);
        assert_true(c.allow_unsafe_interrupts);
        assert_false(c.stage_idle_groups);
        assert_int_equal(c.n_reset_pins, 3);
        assert_string_equal(config_reset_method(&c, 0x8086, 0x10d3), "bus");
        assert_string_equal(config_reset_method(&c, 0x10de, 0x1b80), "flr");
        assert_string_equal(config_reset_method(&c, 0x1af4, 0x1041), "device_specific");
        assert_null(config_reset_method(&c, 0x8086, 0x10d4));
}

/* The EXAMPLE of passthru.conf(5) loads, and means what the page says. */
static void config_man_page_example_loads(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *page = NULL, *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        char *start, *end;
        (void) state;

        /* make unit runs the tests from the top of the tree. */
        assert_int_equal(read_full_file("docs/man/passthru.conf.5", &page, NULL), 0);
        start = strstr(page, ".SH EXAMPLE\n.nf\n");
        assert_non_null(start);
        start += strlen(".SH EXAMPLE\n.nf\n");
        end = strstr(start, "\n.fi\n");
        assert_non_null(end);
        end[1] = '\0';
        path = write_conf(dir, start);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_null(error);
        assert_string_equal(c.group, "kvm");
        assert_int_equal(c.max_devices_per_vm, 4);
        assert_string_equal(config_reset_method(&c, 0x8086, 0x10d3), "bus");
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "pm"));
        assert_false(config_reset_trusted(&c, 0x8086, 0x100e, "pm"));
}

static void config_trust_section_is_read(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir,
                          "[Trust]\n"
                          "8086:10d3=pm\n"
                          "10DE:1B80 = device_specific  acpi ; these two clear it\n"
                          "1af4:1041=pm\n"
                          "1af4:1041=acpi\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_null(error);
        assert_int_equal(c.n_trusts, 3);
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "pm"));
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "bus"));
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d3, "acpi"));
        assert_true(config_reset_trusted(&c, 0x10de, 0x1b80, "device_specific"));
        assert_true(config_reset_trusted(&c, 0x10de, 0x1b80, "acpi"));
        assert_false(config_reset_trusted(&c, 0x10de, 0x1b80, "pm"));
        /* The last line for the same ids wins, as for every key. */
        assert_false(config_reset_trusted(&c, 0x1af4, 0x1041, "pm"));
        assert_true(config_reset_trusted(&c, 0x1af4, 0x1041, "acpi"));
        /* Other ids, even the same vendor, keep the defaults. */
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d4, "pm"));
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d4, "flr"));
        /* A trust line is not a pin. */
        assert_null(config_reset_method(&c, 0x8086, 0x10d3));
}

static void config_reload_forgets_trust_removed_from_the_file(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir, "[Trust]\n8086:10d3=pm\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "pm"));
        free(write_conf(dir, "[Daemon]\nGroup=wheel\n"));
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_int_equal(c.n_trusts, 0);
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d3, "pm"));

        /* A refused file keeps the trust that was loaded. */
        free(write_conf(dir, "[Trust]\n8086:10d3=pm\n"));
        assert_int_equal(config_load(&c, path, &error), 0);
        free(write_conf(dir, "[Trust]\n8086:10d3=acpi\n8086:10d4=pn\n"));
        assert_int_equal(config_load(&c, path, &error), -EINVAL);
        assert_true(config_reset_trusted(&c, 0x8086, 0x10d3, "pm"));
        assert_false(config_reset_trusted(&c, 0x8086, 0x10d3, "acpi"));
}

/* The direct socket's caps: 1..4096; 0 would shut the socket while its unit still listens. */
static void config_connection_caps_refused_out_of_range(void **state) {
        _cleanup_(config_done) Config c = {};

        (void) state;
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(c.max_connections, 128);
        assert_int_equal(c.max_connections_per_user, 32);
        assert_refused("[Daemon]\nMaxConnections=0\n", ":2: MaxConnections: at least 1: '0'");
        assert_refused("[Daemon]\nMaxConnectionsPerUser=4097\n", ":2: MaxConnectionsPerUser: out of range (0..4096): '4097'");
        assert_refused("[Daemon]\nMaxConnections=many\n", ":2: MaxConnections: not a number: 'many'");
}

static void config_bad_trust_lines_refused_naming_the_line(void **state) {
        (void) state;
        assert_refused("[Trust]\nzz86:10d3=pm\n",
                       ":2: [Trust]: expected VENDOR:DEVICE=METHOD... (such as 8086:10d3=pm), got 'zz86:10d3=pm'");
        assert_refused("# e1000e\n[Trust]\n8086:10d3\n",
                       ":3: [Trust]: expected VENDOR:DEVICE=METHOD... (such as 8086:10d3=pm), got '8086:10d3'");
        assert_refused("[Trust]\n8086=pm\n",
                       ":2: [Trust]: expected VENDOR:DEVICE=METHOD... (such as 8086:10d3=pm), got '8086=pm'");
        assert_refused("[Trust]\n8086:10d3x=pm\n",
                       ":2: [Trust]: expected VENDOR:DEVICE=METHOD... (such as 8086:10d3=pm), got '8086:10d3x=pm'");
        /* What the admin wrote, though libinih split it at the ':'. */
        assert_refused("[Trust]\n8086:zzzz=pm acpi\n",
                       ":2: [Trust]: expected VENDOR:DEVICE=METHOD... (such as 8086:10d3=pm), got '8086:zzzz=pm acpi'");
        assert_refused("[Trust]\n8086=pm acpi\n",
                       ":2: [Trust]: expected VENDOR:DEVICE=METHOD... (such as 8086:10d3=pm), got '8086=pm acpi'");
        assert_refused("[Trust]\n8086:10d3=\n", ":2: [Trust] 8086:10d3: no reset method named");
        assert_refused("[Trust]\n8086:10d3=pn\n",
                       ":2: [Trust] 8086:10d3: not a reset method: 'pn' (one of " KNOWN_METHODS ")");
        assert_refused("[Daemon]\nGroup=wheel\n[Trust]\n8086:10d3=pm PM\n",
                       ":4: [Trust] 8086:10d3: not a reset method: 'PM' (one of " KNOWN_METHODS ")");
        assert_refused("[Trust]\n8086:10d3=pm,bus\n",
                       ":2: [Trust] 8086:10d3: not a reset method: 'pm,bus' (one of " KNOWN_METHODS ")");
}

static void config_boolean_spellings(void **state) {
        static const struct {
                const char *text;
                bool value;
        } cases[] = {
                { "yes", true }, { "true", true }, { "1", true }, { "TRUE", true },
                { "no", false }, { "false", false }, { "0", false }, { "No", false },
        };
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL, *path = NULL, *error = NULL;
                _cleanup_(config_done) Config c = {};

                assert_true(asprintf(&text, "[Daemon]\nAllowUnsafeInterrupts=%s\n", cases[i].text) > 0);
                path = write_conf(dir, text);
                assert_int_equal(config_init(&c), 0);
                c.allow_unsafe_interrupts = !cases[i].value;
                assert_int_equal(config_load(&c, path, &error), 0);
                assert_int_equal(c.allow_unsafe_interrupts, cases[i].value);
        }
}

/* [Reset] and [Trust]: a line for the same ids replaces the one before. */
static void config_last_line_for_the_same_ids_wins(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir,
                          "[Daemon]\nGroup=first\nMaxActiveDevices=3\n"
                          "[Reset]\n8086:10d3=pm\n8086:10d3=bus\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_string_equal(c.group, "first");
        assert_int_equal(c.max_active_devices, 3);
        assert_int_equal(c.n_reset_pins, 1);
        assert_string_equal(config_reset_method(&c, 0x8086, 0x10d3), "bus");
}

/* A [Daemon] key set twice is refused, naming both lines: which one was meant? */
static void config_duplicate_daemon_key_refused(void **state) {
        (void) state;
        assert_refused("[Daemon]\nGroup=first\nMaxActiveDevices=3\nGroup=second\n",
                       ":4: duplicate key 'Group' (also on line 2)");
        /* Right after it: perhaps a blank made it more of that value. */
        assert_refused("[Daemon]\nGroup=kvm\n  wheel\n",
                       ":3: duplicate key 'Group' (also on line 2; or, if this line starts with a blank, it was read "
                       "as more of that line's value)");
}

/* A section given twice is refused, even adjacent, even with other keys (docs/DESIGN.md "Files"; a header with no line under it sets nothing). */
static void config_section_given_twice_refused(void **state) {
        (void) state;
        assert_refused("[Daemon]\nMaxActiveDevices=3\n[Reset]\n8086:10d3=bus\n[Daemon]\nGroup=kvm\n",
                       ":5: section [Daemon] given twice (also on line 1): put its lines under the first");
        assert_refused("[Daemon]\nGroup=kvm\n[Daemon]\nMaxActiveDevices=3\n",
                       ":3: section [Daemon] given twice (also on line 1): put its lines under the first");
        assert_refused("[Trust]\n8086:10d3=pm\n\n# more\n[Trust]\n8086:10d4=pm\n",
                       ":5: section [Trust] given twice (also on line 1): put its lines under the first");
        assert_refused("[Reset]\n8086:10d3=bus\n[Daemon]\nGroup=kvm\n[Reset]\n8086:10d4=bus\n",
                       ":5: section [Reset] given twice (also on line 1): put its lines under the first");
}

/* MaxMemoryBytes= takes k, m, g, t as passthructl's --memory does; past 2^64-1 bytes it says so. */
static void config_sizes_take_either_case_and_name_the_range(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir, "[Daemon]\nMaxMemoryBytes=2g\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_int_equal(c.max_memory_bytes, 2ULL << 30);
        assert_refused("[Daemon]\nMaxMemoryBytes=17179869184G\n",
                       ":2: MaxMemoryBytes: out of range (at most 2^64-1 bytes): '17179869184G'");
        assert_refused("[Daemon]\nMaxMemoryBytes=2q\n",
                       ":2: MaxMemoryBytes: not a size (bytes, or with K, M, G or T): '2q'");
}

/* libinih reads a line that starts with a blank as more of the value before it: say so. */
static void config_indented_line_named_as_a_continuation(void **state) {
        (void) state;
        assert_refused("[Daemon]\nGroup=kvm\n  MaxActiveDevices=4\n",
                       ":3: 'MaxActiveDevices=4' starts with a blank, so it was read as more of line 2's value: "
                       "remove the blanks before it");
        assert_refused("[Daemon]\nMaxActiveDevices=4\n\n# comment\n\tGroup : kvm\n",
                       ":5: 'Group : kvm' starts with a blank, so it was read as more of line 2's value: "
                       "remove the blanks before it");
        assert_refused("[Reset]\n8086:10d3=bus\n 8086:10d4=flr\n",
                       ":3: '8086:10d4=flr' starts with a blank, so it was read as more of line 2's value: "
                       "remove the blanks before it");
        assert_refused("[Trust]\n8086:10d3=pm\n 1af4:1041=acpi\n",
                       ":3: '1af4:1041=acpi' starts with a blank, so it was read as more of line 2's value: "
                       "remove the blanks before it");
        /* A section header ends the value: what follows it is a line of its own. */
        assert_refused("[Reset]\n8086:10d3=bus\n[Daemon]\n  Group=kvm\n  Group=wheel\n",
                       ":5: 'Group=wheel' starts with a blank, so it was read as more of line 4's value: "
                       "remove the blanks before it");
}

/* config_load() of @text, with what it logs to stderr in *ret_log. */
static int load_logged(Config *c, const char *dir, const char *text, char **ret_log) {
        _cleanup_free_ char *path = write_conf(dir, text), *log = path_in(dir, "stderr"), *error = NULL;
        _cleanup_close_ int fd = -EBADF, saved = -EBADF;
        int r;

        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        assert_true(saved >= 0);
        fflush(stderr);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        r = config_load(c, path, &error);
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        assert_int_equal(read_full_file(log, ret_log, NULL), 0);
        return r;
}

/* A Group= that names no group loads, with a warning: the group may come later (sysusers). */
static void config_missing_group_warned_not_refused(void **state) {
        /* Upper case and a '.': no distribution's tools make such a group. */
        static const char missing[] = "No.Such-Group_Passthru";
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *text = NULL, *log = NULL, *expected = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        assert_int_equal(config_init(&c), 0);
        assert_true(asprintf(&text, "[Daemon]\n# who may lease\nGroup=%s\nMaxActiveDevices=2\n", missing) > 0);
        assert_int_equal(load_logged(&c, dir, text, &log), 0);
        assert_string_equal(c.group, missing);
        assert_int_equal(c.max_active_devices, 2);
        assert_true(asprintf(&expected, "<4>%s/passthru.conf:3: Group: there is no group '%s': only root can lease "
                             "devices until group '%s' exists\n", dir, missing, missing) > 0);
        assert_string_equal(log, expected);

        /* A group that exists, or none named (the package creates the default): nothing to say. */
        log = mfree(log);
        assert_int_equal(load_logged(&c, dir, "[Daemon]\nGroup=root\n", &log), 0);
        assert_string_equal(c.group, "root");
        assert_string_equal(log, "");
        log = mfree(log);
        assert_int_equal(load_logged(&c, dir, "[Daemon]\nMaxActiveDevices=2\n", &log), 0);
        assert_string_equal(log, "");

        /* A refused file warns of nothing: its error says all. */
        free(text);
        log = mfree(log);
        assert_true(asprintf(&text, "[Daemon]\nGroup=%s\nFoo=1\n", missing) > 0);
        assert_int_equal(load_logged(&c, dir, text, &log), -EINVAL);
        assert_string_equal(log, "");
        assert_string_equal(c.group, "passthru");
}

static void config_reload_resets_keys_removed_from_the_file(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir, "[Daemon]\nMaxDevicesPerVm=2\nGroup=wheel\n[Reset]\n8086:10d3=bus\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_int_equal(c.max_devices_per_vm, 2);

        free(write_conf(dir, "[Daemon]\nGroup=wheel\n"));
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_int_equal(c.max_devices_per_vm, 0);
        assert_string_equal(c.group, "wheel");
        assert_int_equal(c.n_reset_pins, 0);
}

static void config_unknown_key_names_line_and_key(void **state) {
        (void) state;
        assert_refused("# comment\n[Daemon]\nGroup=passthru\nFoo=1\n",
                       ":4: unknown key 'Foo' in [Daemon]");
}

static void config_bad_number_keeps_previous_values(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL, *expected = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir, "[Daemon]\nGroup=wheel\nMaxActiveDevices=5\n[Reset]\n8086:10d3=bus\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);

        /* The bad key comes after good ones that would change c. */
        free(write_conf(dir, "[Daemon]\nGroup=other\nMaxDevicesPerVm=9\nMaxActiveDevices=x\n"));
        assert_int_equal(config_load(&c, path, &error), -EINVAL);
        assert_true(asprintf(&expected, "%s:4: MaxActiveDevices: not a number: 'x'", path) > 0);
        assert_string_equal(error, expected);
        assert_string_equal(c.group, "wheel");
        assert_int_equal(c.max_active_devices, 5);
        assert_int_equal(c.max_devices_per_vm, 0);
        assert_string_equal(config_reset_method(&c, 0x8086, 0x10d3), "bus");
}

static void config_numbers_refuse_signs_junk_and_overflow(void **state) {
        (void) state;
        assert_refused("[Daemon]\nMaxDevicesPerVm=-1\n", ":2: MaxDevicesPerVm: not a number: '-1'");
        assert_refused("[Daemon]\nMaxDevicesPerVm=+1\n", ":2: MaxDevicesPerVm: not a number: '+1'");
        assert_refused("[Daemon]\nMaxDevicesPerVm=0x10\n", ":2: MaxDevicesPerVm: not a number: '0x10'");
        assert_refused("[Daemon]\nMaxDevicesPerVm=\n", ":2: MaxDevicesPerVm: not a number: ''");
        assert_refused("[Daemon]\nMaxDevicesPerVm=1 2\n", ":2: MaxDevicesPerVm: not a number: '1 2'");
        assert_refused("[Daemon]\nMaxActiveDevices=4294967296\n",
                       ":2: MaxActiveDevices: out of range (0..4294967295): '4294967296'");
        assert_refused("[Daemon]\nMaxActiveDevices=99999999999999999999999\n",
                       ":2: MaxActiveDevices: out of range (0..4294967295): '99999999999999999999999'");
}

static void config_revoke_grace_is_capped_at_a_day(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        path = write_conf(dir, "[Daemon]\nRevokeGraceSec=86400\n");
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_int_equal(c.revoke_grace_usec, 86400ULL * 1000000ULL);

        assert_refused("[Daemon]\nRevokeGraceSec=86401\n",
                       ":2: RevokeGraceSec: out of range (0..86400): '86401'");
}

static void config_bad_boolean_refused(void **state) {
        (void) state;
        assert_refused("[Daemon]\nAllowUnsafeInterrupts=maybe\n",
                       ":2: AllowUnsafeInterrupts: not a boolean (yes or no): 'maybe'");
        assert_refused("[Daemon]\nStageIdleGroups=sometimes\n",
                       ":2: StageIdleGroups: not a boolean (yes or no): 'sometimes'");
}

static void config_invalid_group_refused(void **state) {
        (void) state;
        assert_refused("[Daemon]\nGroup=\n", ":2: Group: not a valid group name: ''");
        assert_refused("[Daemon]\nGroup=1abc\n", ":2: Group: not a valid group name: '1abc'");
        assert_refused("[Daemon]\nGroup=a b\n", ":2: Group: not a valid group name: 'a b'");
        assert_refused("[Daemon]\nGroup=abcdefghijklmnopqrstuvwxyz012345\n",
                       ":2: Group: not a valid group name: 'abcdefghijklmnopqrstuvwxyz012345'");
}

static void config_unknown_section_refused(void **state) {
        (void) state;
        assert_refused("[Daemon]\nGroup=wheel\n\n[Bar]\nX=1\n", ":4: unknown section [Bar]");
}

static void config_key_outside_section_refused(void **state) {
        (void) state;
        assert_refused("Group=wheel\n[Daemon]\n", ":1: 'Group' outside of any section");
}

static void config_bad_reset_pins_refused(void **state) {
        (void) state;
        assert_refused("[Reset]\nzz86:10d3=bus\n",
                       ":2: [Reset]: expected VENDOR:DEVICE=METHOD (such as 8086:10d3=bus), got 'zz86:10d3=bus'");
        assert_refused("[Reset]\n8086:10d3\n",
                       ":2: [Reset]: expected VENDOR:DEVICE=METHOD (such as 8086:10d3=bus), got '8086:10d3'");
        assert_refused("[Reset]\n8086=bus\n",
                       ":2: [Reset]: expected VENDOR:DEVICE=METHOD (such as 8086:10d3=bus), got '8086=bus'");
        assert_refused("[Reset]\n808:10d3=bus\n",
                       ":2: [Reset]: expected VENDOR:DEVICE=METHOD (such as 8086:10d3=bus), got '808:10d3=bus'");
        assert_refused("[Reset]\n8086:zzzz=bus\n",
                       ":2: [Reset]: expected VENDOR:DEVICE=METHOD (such as 8086:10d3=bus), got '8086:zzzz=bus'");
        assert_refused("[Reset]\n8086:zzzz\n",
                       ":2: [Reset]: expected VENDOR:DEVICE=METHOD (such as 8086:10d3=bus), got '8086:zzzz'");
        assert_refused("[Reset]\n8086:10d3=\n",
                       ":2: [Reset] 8086:10d3: not a reset method: '' (one of " KNOWN_METHODS ")");
        assert_refused("[Reset]\n8086:10d3=Bus\n",
                       ":2: [Reset] 8086:10d3: not a reset method: 'Bus' (one of " KNOWN_METHODS ")");
        assert_refused("[Reset]\n8086:10d3=bus pm\n",
                       ":2: [Reset] 8086:10d3: not a reset method: 'bus pm' (one of " KNOWN_METHODS ")");
        /* Only the methods the kernel knows: a typo would pin a method no device lists. */
        assert_refused("[Reset]\n8086:10d3=flrr\n",
                       ":2: [Reset] 8086:10d3: not a reset method: 'flrr' (one of " KNOWN_METHODS ")");
        assert_refused("[Reset]\n8086:10d3=bus_reset\n",
                       ":2: [Reset] 8086:10d3: not a reset method: 'bus_reset' (one of " KNOWN_METHODS ")");
}

static void config_syntax_errors_name_the_line(void **state) {
        (void) state;
        assert_refused("[Daemon]\nGroup=wheel\n[Reset\n", ":3: section header without closing ']'");
        assert_refused("[Daemon]\nGroup=wheel\nMaxActiveDevices\n",
                       ":3: expected 'Key=Value', '[Section]' or a comment");
        /* The first error wins, whoever finds it. */
        assert_refused("[Daemon]\njunk\nFoo=1\n", ":2: expected 'Key=Value', '[Section]' or a comment");
        assert_refused("[Daemon]\nFoo=1\njunk\n", ":2: unknown key 'Foo' in [Daemon]");
}

static void config_long_lines_refused_but_long_comments_read(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *text = NULL, *path = NULL, *error = NULL;
        _cleanup_(config_done) Config c = {};
        char filler[400];
        (void) state;

        memset(filler, 'x', sizeof(filler) - 1);
        filler[sizeof(filler) - 1] = '\0';

        assert_true(asprintf(&text, "# %s\n[Daemon]\n  ; %s\nGroup=wheel\n", filler, filler) > 0);
        path = write_conf(dir, text);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), 0);
        assert_string_equal(c.group, "wheel");

        free(text);
        assert_true(asprintf(&text, "[Daemon]\nGroup=%s\n", filler) > 0);
        assert_refused(text, ":2: line too long (more than 198 characters)");
}

static void config_nul_byte_refused(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *error = NULL, *expected = NULL;
        _cleanup_(config_done) Config c = {};
        static const char text[] = "[Daemon]\nGroup=wh\0eel\n";
        _cleanup_close_ int fd = -EBADF;
        (void) state;

        assert_true(asprintf(&path, "%s/passthru.conf", dir) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, &error), -EINVAL);
        assert_true(asprintf(&expected, "%s:2: NUL byte in line", path) > 0);
        assert_string_equal(error, expected);
}

static void config_unreadable_path_reports_errno(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *error = NULL, *expected = NULL;
        _cleanup_(config_done) Config c = {};
        (void) state;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, dir, &error), -EISDIR);
        assert_true(asprintf(&expected, "%s: Is a directory", dir) > 0);
        assert_string_equal(error, expected);
        assert_string_equal(c.group, "passthru");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(config_init_sets_documented_defaults),
                cmocka_unit_test(config_text_libinih_would_drop_is_refused),
                cmocka_unit_test(config_link_to_nothing_refused),
                cmocka_unit_test(config_missing_file_keeps_defaults),
                cmocka_unit_test(config_every_key_is_read),
                cmocka_unit_test(config_man_page_example_loads),
                cmocka_unit_test(config_trust_section_is_read),
                cmocka_unit_test(config_reload_forgets_trust_removed_from_the_file),
                cmocka_unit_test(config_bad_trust_lines_refused_naming_the_line),
                cmocka_unit_test(config_boolean_spellings),
                cmocka_unit_test(config_last_line_for_the_same_ids_wins),
                cmocka_unit_test(config_duplicate_daemon_key_refused),
                cmocka_unit_test(config_section_given_twice_refused),
                cmocka_unit_test(config_sizes_take_either_case_and_name_the_range),
                cmocka_unit_test(config_indented_line_named_as_a_continuation),
                cmocka_unit_test(config_missing_group_warned_not_refused),
                cmocka_unit_test(config_reload_resets_keys_removed_from_the_file),
                cmocka_unit_test(config_unknown_key_names_line_and_key),
                cmocka_unit_test(config_bad_number_keeps_previous_values),
                cmocka_unit_test(config_numbers_refuse_signs_junk_and_overflow),
                cmocka_unit_test(config_revoke_grace_is_capped_at_a_day),
                cmocka_unit_test(config_bad_boolean_refused),
                cmocka_unit_test(config_invalid_group_refused),
                cmocka_unit_test(config_unknown_section_refused),
                cmocka_unit_test(config_key_outside_section_refused),
                cmocka_unit_test(config_bad_reset_pins_refused),
                cmocka_unit_test(config_connection_caps_refused_out_of_range),
                cmocka_unit_test(config_syntax_errors_name_the_line),
                cmocka_unit_test(config_long_lines_refused_but_long_comments_read),
                cmocka_unit_test(config_nul_byte_refused),
                cmocka_unit_test(config_unreadable_path_reports_errno),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
