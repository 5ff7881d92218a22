/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lease ledger (/run/passthru/leases). */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test-util.h"

#include "fileio.h"
#include "ledger.h"
#include "passthru-names.h"
#include "macro.h"
#include "strv.h"

static mode_t mode_of(const char *path) {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return st.st_mode & 07777;
}

#define LEASE_12                                        \
        "[Lease 12]\n"                                  \
        "Devices=0000:04:01.0 0000:04:02.0\n"           \
        "Vm=vm-a\n"                                     \
        "Pid=1234\n"                                    \
        "StartTime=123456\n"                            \
        "Uid=1000\n"

/* Loading DIR/leases with text fails with -EINVAL and "PATH" + suffix; *ret is untouched. */
static void assert_refused(const char *text, const char *suffix) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "leases"), *error = NULL, *expected = NULL;
        Ledger l = { .n = 42 };

        assert_int_equal(write_file_atomic(path, text, 0600), 0);
        assert_int_equal(ledger_load(dir, &l, &error), -EINVAL);
        assert_true(asprintf(&expected, "%s%s", path, suffix) > 0);
        assert_string_equal(error, expected);
        assert_int_equal(l.n, 42);
        assert_null(l.entries);
}

static void ledger_missing_file_is_empty(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *error = NULL;
        Ledger l = { .n = 3 };
        (void) state;

        assert_int_equal(ledger_load(dir, &l, &error), 0);
        assert_null(error);
        assert_int_equal(l.n, 0);
        assert_null(l.entries);
        ledger_done(&l);
}

static void ledger_reads_the_documented_format(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "leases"), *error = NULL;
        _cleanup_(ledger_done) Ledger l = {};
        LedgerEntry *e;
        (void) state;

        assert_int_equal(write_file_atomic(path,
                                           LEASE_12 "NodeOwner=107\nReturning=revoked\n"
                                           "\n[Lease 0]\nVm=x\nDevices=0000:00:02.0\nUid=0\n"
                                           "StartTime=18446744073709551615\nPid=2147483647\n", 0600), 0);
        assert_int_equal(ledger_load(dir, &l, &error), 0);
        assert_int_equal(l.n, 2);

        e = ledger_find_group(&l, 12);
        assert_non_null(e);
        assert_int_equal(strv_length(e->devices), 2);
        assert_string_equal(e->devices[0], "0000:04:01.0");
        assert_string_equal(e->devices[1], "0000:04:02.0");
        assert_string_equal(e->vm, "vm-a");
        assert_int_equal(e->pid, 1234);
        assert_int_equal(e->start_time, 123456);
        assert_int_equal(e->uid, 1000);
        assert_int_equal(e->node_owner, 107);
        assert_string_equal(e->returning, "revoked");

        e = ledger_find_group(&l, 0);
        assert_non_null(e);
        assert_int_equal(e->pid, INT_MAX);
        assert_int_equal(e->start_time, UINT64_MAX);
        assert_int_equal(e->uid, 0);
        assert_int_equal(e->node_owner, LEDGER_NO_UID);
        assert_null(e->returning);
}

static void ledger_roundtrip_preserves_every_field(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *sub = path_in(dir, "run/passthru"), *file = NULL, *error = NULL;
        _cleanup_(ledger_done) Ledger l = {}, m = {};
        _cleanup_strv_free_ char **many = NULL;
        char *two[] = { (char *) "0000:04:01.0", (char *) "0000:04:02.0", NULL };
        char *one[] = { (char *) "0000:00:02.0", NULL };
        (void) state;

        /* A group bigger than one line that libinih can read. */
        for (int i = 0; i < 32; i++) {
                char a[16];

                snprintf(a, sizeof(a), "0000:81:%02x.%x", i / 2, i % 2);
                assert_int_equal(strv_extend(&many, a), 0);
        }

        assert_int_equal(ledger_add(&l, &(LedgerEntry) {
                .group = 12, .devices = two, .vm = (char *) "vm-a", .pid = 1234,
                .start_time = 123456, .uid = 1000, .node_owner = 107, .returning = PT_LEASE_REASON_RELEASED,
        }), 0);
        assert_int_equal(ledger_add(&l, &(LedgerEntry) {
                .group = 0, .devices = one, .vm = (char *) "vm.b", .pid = 1,
                .start_time = UINT64_MAX, .uid = 0, .node_owner = LEDGER_NO_UID,
        }), 0);
        assert_int_equal(ledger_add(&l, &(LedgerEntry) {
                .group = INT_MAX, .devices = many, .vm = (char *) "vm-c", .pid = INT_MAX,
                .start_time = 0, .uid = 4294967294U, .node_owner = 0,
        }), 0);

        assert_int_equal(ledger_save(sub, &l), 0);
        file = path_in(sub, "leases");
        assert_int_equal(mode_of(file), 0600);
        assert_int_equal(mode_of(sub), 0700);

        assert_int_equal(ledger_load(sub, &m, &error), 0);
        assert_null(error);
        assert_int_equal(m.n, l.n);
        for (size_t i = 0; i < l.n; i++) {
                const LedgerEntry *a = &l.entries[i], *b = &m.entries[i];

                assert_int_equal(b->group, a->group);
                assert_int_equal(strv_length(b->devices), strv_length(a->devices));
                for (size_t j = 0; a->devices[j]; j++)
                        assert_string_equal(b->devices[j], a->devices[j]);
                assert_string_equal(b->vm, a->vm);
                assert_int_equal(b->pid, a->pid);
                assert_int_equal(b->start_time, a->start_time);
                assert_int_equal(b->uid, a->uid);
                assert_int_equal(b->node_owner, a->node_owner);
                if (a->returning)
                        assert_string_equal(b->returning, a->returning);
                else
                        assert_null(b->returning);
        }
}

static void ledger_duplicate_group_refused(void **state) {
        (void) state;
        assert_refused(LEASE_12 "[Lease 3]\nDevices=0000:05:00.0\nVm=b\nPid=2\nStartTime=1\nUid=0\n"
                       "[Lease 012]\nDevices=0000:06:00.0\nVm=b\nPid=2\nStartTime=1\nUid=0\n",
                       ":13: duplicate section for group 12: [Lease 012]");
        /* Twice in a row: not one lease of both sections' devices. */
        assert_refused(LEASE_12 "[Lease 12]\nDevices=0000:06:00.0\n", ":7: duplicate section for group 12: [Lease 12]");
}

static void ledger_device_in_two_places_refused(void **state) {
        (void) state;
        assert_refused(LEASE_12 "[Lease 13]\nDevices=0000:05:00.0 0000:04:02.0\n",
                       ":8: Devices: 0000:04:02.0 is also in [Lease 12]");
        assert_refused("[Lease 1]\nDevices=0000:05:00.0\nDevices=0000:05:00.0\n",
                       ":3: Devices: 0000:05:00.0 listed twice");
}

static void ledger_missing_key_names_the_section_line(void **state) {
        static const char * const keys[] = { "Devices", "Vm", "Pid", "StartTime", "Uid" };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                _cleanup_free_ char *text = NULL, *suffix = NULL;
                char *line, *end;

                /* Drop one line of LEASE_12, in the second of two sections. */
                assert_true(asprintf(&text, "# x\n[Lease 1]\nDevices=0000:00:02.0\nVm=a\nPid=1\nStartTime=1\nUid=0\n"
                                     "\n%s", LEASE_12) > 0);
                line = strstr(strstr(text, "[Lease 12]"), keys[i]);
                end = strchr(line, '\n');
                memmove(line, end + 1, strlen(end + 1) + 1);
                assert_true(asprintf(&suffix, ":9: [Lease 12]: no %s=", keys[i]) > 0);
                assert_refused(text, suffix);
        }

        /* The first section is checked when the second begins. */
        assert_refused("[Lease 1]\nDevices=0000:00:02.0\nVm=a\nStartTime=1\nUid=0\n\n" LEASE_12,
                       ":1: [Lease 1]: no Pid=");
        assert_refused("[Lease 1]\nDevices=\nVm=a\nPid=1\nStartTime=1\nUid=0\n",
                       ":1: [Lease 1]: Devices= lists no device");
}

static void ledger_bad_section_names_refused(void **state) {
        (void) state;
        assert_refused("[Lease -1]\nVm=a\n", ":1: [Lease -1]: not an IOMMU group number (0..2147483647)");
        assert_refused("[Lease 2147483648]\nVm=a\n",
                       ":1: [Lease 2147483648]: not an IOMMU group number (0..2147483647)");
        assert_refused("[Lease ]\nVm=a\n", ":1: [Lease ]: not an IOMMU group number (0..2147483647)");
        assert_refused("[Lease 1x]\nVm=a\n", ":1: [Lease 1x]: not an IOMMU group number (0..2147483647)");
        assert_refused("[Leases 1]\nVm=a\n", ":1: unknown section [Leases 1]");
        assert_refused("Vm=a\n", ":1: 'Vm' outside of any section");
}

/* LEASE_12 with the line of the same key replaced by line, or line appended if there is none. */
static char *lease_12_with(const char *line, unsigned *ret_line) {
        _cleanup_strv_free_ char **lines = NULL;
        char *text, *lease = strdup(LEASE_12);
        size_t key_len = strcspn(line, "="), n;
        bool replaced = false;

        assert_non_null(lease);
        for (char *l = strtok(lease, "\n"); l; l = strtok(NULL, "\n"))
                assert_int_equal(strv_extend(&lines, l), 0);
        free(lease);

        n = strv_length(lines);
        for (size_t i = 0; i < n; i++)
                if (strncmp(lines[i], line, key_len) == 0 && lines[i][key_len] == '=') {
                        free(lines[i]);
                        lines[i] = strdup(line);
                        *ret_line = (unsigned) i + 1;
                        replaced = true;
                }
        if (!replaced) {
                assert_int_equal(strv_extend(&lines, line), 0);
                *ret_line = (unsigned) n + 1;
        }
        text = strv_join(lines, "\n");
        assert_non_null(text);
        return text;
}

static void ledger_bad_keys_refused(void **state) {
        static const struct {
                const char *line, *reason;
        } cases[] = {
                { "Pid=0", "Pid: out of range (1..2147483647): '0'" },
                { "Pid=2147483648", "Pid: out of range (1..2147483647): '2147483648'" },
                { "Pid=-5", "Pid: not a number: '-5'" },
                { "StartTime=18446744073709551616",
                  "StartTime: out of range (0..18446744073709551615): '18446744073709551616'" },
                { "StartTime=12s", "StartTime: not a number: '12s'" },
                { "Uid=4294967295", "Uid: out of range (0..4294967294): '4294967295'" },
                { "Uid=", "Uid: not a number: ''" },
                { "NodeOwner=4294967295", "NodeOwner: out of range (0..4294967294): '4294967295'" },
                { "NodeOwner=root", "NodeOwner: not a number: 'root'" },
                { "Vm=vm a", "Vm: not a valid VM name: 'vm a'" },
                { "Vm=", "Vm: not a valid VM name: ''" },
                { "Devices=0000:04:01.0 4:01.0", "Devices: not a valid PCI address: '4:01.0'" },
                { "Devices=0000:04:01.0 0000:04:01.0", "Devices: 0000:04:01.0 listed twice" },
                { "Owner=x", "unknown key 'Owner' in [Lease 12]" },
                { "Returning=yes", "Returning: not a reason a lease ends for: 'yes'" },
                { "Returning=", "Returning: not a reason a lease ends for: ''" },
        };
        static const char * const duplicates[] = { "Vm=vm-b", "Pid=5", "StartTime=1", "Uid=1" };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL, *suffix = NULL;
                unsigned line;

                text = lease_12_with(cases[i].line, &line);
                assert_true(asprintf(&suffix, ":%u: %s", line, cases[i].reason) > 0);
                assert_refused(text, suffix);
        }

        for (size_t i = 0; i < ELEMENTSOF(duplicates); i++) {
                _cleanup_free_ char *text = NULL, *suffix = NULL;

                assert_true(asprintf(&text, LEASE_12 "NodeOwner=1\n%s\n", duplicates[i]) > 0);
                assert_true(asprintf(&suffix, ":8: duplicate key '%.*s'",
                                     (int) strcspn(duplicates[i], "="), duplicates[i]) > 0);
                assert_refused(text, suffix);
        }
        assert_refused(LEASE_12 "NodeOwner=1\nNodeOwner=1\n", ":8: duplicate key 'NodeOwner'");
        assert_refused(LEASE_12 "Returning=released\nReturning=revoked\n", ":8: duplicate key 'Returning'");
}

static void ledger_add_remove_and_find(void **state) {
        _cleanup_(ledger_done) Ledger l = {};
        char *a[] = { (char *) "0000:04:01.0", (char *) "0000:04:02.0", NULL };
        char *b[] = { (char *) "0000:05:00.0", NULL };
        char *c[] = { (char *) "0000:06:00.0", NULL };
        char *overlap[] = { (char *) "0000:07:00.0", (char *) "0000:04:02.0", NULL };
        LedgerEntry e = {
                .group = 12, .devices = a, .vm = (char *) "vm-a", .pid = 10, .uid = 1000,
                .node_owner = LEDGER_NO_UID,
        };
        (void) state;

        assert_int_equal(ledger_add(&l, &e), 0);
        /* A deep copy: the caller's arrays are not kept. */
        assert_ptr_not_equal(l.entries[0].devices, a);
        assert_ptr_not_equal(l.entries[0].vm, e.vm);

        assert_int_equal(ledger_add(&l, &e), -EEXIST);
        e.group = 13;
        e.devices = overlap;
        assert_int_equal(ledger_add(&l, &e), -EBUSY);
        e.devices = b;
        assert_int_equal(ledger_add(&l, &e), 0);
        e.group = 14;
        e.devices = c;
        assert_int_equal(ledger_add(&l, &e), 0);
        assert_int_equal(l.n, 3);

        assert_ptr_equal(ledger_find_device(&l, "0000:04:02.0"), ledger_find_group(&l, 12));
        assert_ptr_equal(ledger_find_device(&l, "0000:06:00.0"), ledger_find_group(&l, 14));
        assert_null(ledger_find_device(&l, "0000:07:00.0"));
        assert_null(ledger_find_group(&l, 15));

        assert_true(ledger_remove(&l, 13));
        assert_false(ledger_remove(&l, 13));
        assert_int_equal(l.n, 2);
        assert_int_equal(l.entries[0].group, 12);
        assert_int_equal(l.entries[1].group, 14);
        assert_null(ledger_find_device(&l, "0000:05:00.0"));
        assert_true(ledger_remove(&l, 12));
        assert_true(ledger_remove(&l, 14));
        assert_int_equal(l.n, 0);
}

static void ledger_add_refuses_invalid_entries(void **state) {
        _cleanup_(ledger_done) Ledger l = {};
        char *good[] = { (char *) "0000:04:01.0", NULL };
        char *bad[] = { (char *) "0000:04:01.0\n[Lease 1]", NULL };
        char *twice[] = { (char *) "0000:04:01.0", (char *) "0000:04:01.0", NULL };
        char *none[] = { NULL };
        const LedgerEntry ok = {
                .group = 1, .devices = good, .vm = (char *) "vm", .pid = 1, .uid = 0,
                .node_owner = LEDGER_NO_UID,
        };
        LedgerEntry e;
        (void) state;

        e = ok, e.group = -1;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.pid = 0;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.uid = LEDGER_NO_UID;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.vm = (char *) "bad vm";
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.vm = NULL;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.devices = bad;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.devices = twice;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.devices = none;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        e = ok, e.devices = NULL;
        assert_int_equal(ledger_add(&l, &e), -EINVAL);
        assert_int_equal(l.n, 0);
        assert_int_equal(ledger_add(&l, &ok), 0);
}

static void ledger_save_refuses_inconsistent_ledgers(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_(ledger_done) Ledger l = {};
        char *a[] = { (char *) "0000:04:01.0", NULL };
        char *b[] = { (char *) "0000:05:00.0", NULL };
        (void) state;

        assert_int_equal(ledger_add(&l, &(LedgerEntry) {
                .group = 1, .devices = a, .vm = (char *) "vm", .pid = 1, .node_owner = LEDGER_NO_UID,
        }), 0);
        assert_int_equal(ledger_add(&l, &(LedgerEntry) {
                .group = 2, .devices = b, .vm = (char *) "vm", .pid = 1, .node_owner = LEDGER_NO_UID,
        }), 0);
        l.entries[1].group = 1;
        assert_int_equal(ledger_save(dir, &l), -EINVAL);
        l.entries[1].group = 2;
        free(l.entries[1].devices[0]);
        l.entries[1].devices[0] = strdup("0000:04:01.0");
        assert_int_equal(ledger_save(dir, &l), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(ledger_missing_file_is_empty),
                cmocka_unit_test(ledger_reads_the_documented_format),
                cmocka_unit_test(ledger_roundtrip_preserves_every_field),
                cmocka_unit_test(ledger_duplicate_group_refused),
                cmocka_unit_test(ledger_device_in_two_places_refused),
                cmocka_unit_test(ledger_missing_key_names_the_section_line),
                cmocka_unit_test(ledger_bad_section_names_refused),
                cmocka_unit_test(ledger_bad_keys_refused),
                cmocka_unit_test(ledger_add_remove_and_find),
                cmocka_unit_test(ledger_add_refuses_invalid_entries),
                cmocka_unit_test(ledger_save_refuses_inconsistent_ledgers),
        };

        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
