/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Atomic files, /var/lib/passthru/state and /etc/modprobe.d/passthru.conf. */
#define _GNU_SOURCE
#include <dirent.h>
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

#include "fileio.h"
#include "macro.h"
#include "state.h"
#include "strv.h"

static char *read_text(const char *path) {
        char *text;

        assert_int_equal(read_full_file(path, &text, NULL), 0);
        return text;
}

static size_t count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static mode_t mode_of(const char *path) {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return st.st_mode & 07777;
}

/* Loading DIR/state with text fails with -EINVAL and "PATH" + suffix; *ret is untouched. */
static void assert_refused(const char *text, const char *suffix) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "state"), *error = NULL, *expected = NULL;
        PersistentState s = { .n_devices = 42 };

        assert_int_equal(write_file_atomic(path, text, 0644), 0);
        assert_int_equal(state_load(dir, &s, &error), -EINVAL);
        assert_true(asprintf(&expected, "%s%s", path, suffix) > 0);
        assert_string_equal(error, expected);
        assert_int_equal(s.n_devices, 42);
        assert_null(s.devices);
}

static void write_file_atomic_replaces_contents_and_mode(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "file"), *text = NULL;
        size_t size;
        (void) state;

        assert_int_equal(write_file_atomic(path, "first\n", 0600), 0);
        assert_int_equal(mode_of(path), 0600);
        assert_int_equal(write_file_atomic(path, "second", 0644), 0);
        assert_int_equal(mode_of(path), 0644);
        assert_int_equal(read_full_file(path, &text, &size), 0);
        assert_string_equal(text, "second");
        assert_int_equal(size, 6);
        /* No temporary file left behind. */
        assert_int_equal(count_entries(dir), 1);
}

static void write_file_atomic_without_directory_fails_cleanly(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "missing/file");
        (void) state;

        assert_int_equal(write_file_atomic(path, "x", 0644), -ENOENT);
        assert_int_equal(count_entries(dir), 0);
}

static void read_full_file_refuses_files_over_4_mib(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "big"), *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        (void) state;

        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, READ_FULL_FILE_MAX), 0);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        free(TAKE_PTR(text));
        assert_int_equal(ftruncate(fd, READ_FULL_FILE_MAX + 1), 0);
        assert_int_equal(read_full_file(path, &text, NULL), -EFBIG);
        assert_null(text);
        assert_int_equal(read_full_file(dir, &text, NULL), -EISDIR);
}

static void mkdir_parents_creates_missing_directories(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "a/b/c/file"), *abc = path_in(dir, "a/b/c"),
                *file = path_in(dir, "plain"), *below = path_in(dir, "plain/x/y");
        struct stat st;
        (void) state;

        assert_int_equal(mkdir_parents(path, 0700), 0);
        assert_int_equal(stat(abc, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(stat(path, &st), -1);             /* not path itself */
        assert_int_equal(mkdir_parents(path, 0700), 0);     /* idempotent */

        assert_int_equal(write_file_atomic(file, "", 0644), 0);
        assert_int_equal(mkdir_parents(below, 0755), -ENOTDIR);
}

static void state_missing_file_is_empty(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *error = NULL;
        PersistentState s = { .n_devices = 3 };
        (void) state;

        assert_int_equal(state_load(dir, &s, &error), 0);
        assert_null(error);
        assert_false(s.maintenance);
        assert_int_equal(s.n_devices, 0);
        assert_null(s.devices);
        state_done(&s);
}

static void state_roundtrip(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *sub = path_in(dir, "lib/passthru"), *file = NULL, *error = NULL;
        _cleanup_(state_done) PersistentState s = {}, t = {};
        StateDevice *d;
        char name[VM_NAME_MAX + 1];
        (void) state;

        s.maintenance = true;
        assert_int_equal(state_ensure_device(&s, "0000:01:00.0", &d), 1);
        d->passthrough = true;
        assert_int_equal(strv_extend(&d->assignments, "vm-a"), 0);
        assert_int_equal(strv_extend(&d->assignments, "vm.b_2"), 0);
        assert_int_equal(state_ensure_device(&s, "0000:02:1f.7", &d), 1);
        /* More VM names than fit on one line that libinih can read. */
        assert_int_equal(state_ensure_device(&s, "abcd:ff:00.1", &d), 1);
        d->passthrough = true;
        for (int i = 0; i < 10; i++) {
                memset(name, 'a' + i, VM_NAME_MAX);
                name[VM_NAME_MAX] = '\0';
                assert_int_equal(strv_extend(&d->assignments, name), 0);
        }

        assert_int_equal(state_save(sub, &s), 0);
        file = path_in(sub, "state");
        assert_int_equal(mode_of(file), 0644);
        assert_int_equal(mode_of(sub), 0755);

        assert_int_equal(state_load(sub, &t, &error), 0);
        assert_null(error);
        assert_true(t.maintenance);
        assert_int_equal(t.n_devices, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_string_equal(t.devices[i].address, s.devices[i].address);
                assert_int_equal(t.devices[i].passthrough, s.devices[i].passthrough);
                assert_int_equal(strv_length(t.devices[i].assignments), strv_length(s.devices[i].assignments));
                for (size_t j = 0; j < strv_length(s.devices[i].assignments); j++)
                        assert_string_equal(t.devices[i].assignments[j], s.devices[i].assignments[j]);
        }
}

static void state_reads_the_documented_format(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "state"), *error = NULL;
        _cleanup_(state_done) PersistentState s = {};
        StateDevice *d;
        (void) state;

        assert_int_equal(write_file_atomic(path,
                                           "[Manager]\nMaintenanceMode=yes\n"
                                           "[Device 0000:01:00.0]\nPassthrough=yes\n"
                                           "Assignments=vm-a vm-b\n"
                                           "Assignments=vm-c vm-a\n"
                                           "  vm-d\n", 0644), 0);
        assert_int_equal(state_load(dir, &s, &error), 0);
        assert_true(s.maintenance);
        d = state_find_device(&s, "0000:01:00.0");
        assert_non_null(d);
        assert_true(d->passthrough);
        assert_int_equal(strv_length(d->assignments), 4);
        assert_string_equal(d->assignments[0], "vm-a");
        assert_string_equal(d->assignments[2], "vm-c");
        assert_string_equal(d->assignments[3], "vm-d");
        assert_null(state_find_device(&s, "0000:02:00.0"));
}

static void state_rejects_bad_address_with_line(void **state) {
        static const char * const bad[] = {
                "01:00.0", "0000:01:00.0 ", "0000:01:00.00", "0000:01:0A.0", "0000:01:20.0",
                "0000:01:00.8", "000g:01:00.0", "0000-01:00.0", "",
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL, *suffix = NULL;

                assert_true(asprintf(&text, "[Manager]\nMaintenanceMode=no\n\n[Device %s]\nPassthrough=yes\n",
                                     bad[i]) > 0);
                assert_true(asprintf(&suffix, ":4: [Device %s]: not a valid PCI address "
                                     "(expected DDDD:BB:SS.F in lowercase hex)", bad[i]) > 0);
                assert_refused(text, suffix);
        }
}

static void state_rejects_bad_vm_name_with_line(void **state) {
        (void) state;
        assert_refused("[Device 0000:01:00.0]\nPassthrough=yes\nAssignments=vm-a vm/b\n",
                       ":3: Assignments: not a valid VM name: 'vm/b'");
        assert_refused("[Device 0000:01:00.0]\nAssignments=vm-a\n"
                       "Assignments=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaX\n",
                       ":3: Assignments: not a valid VM name: "
                       "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaX'");
}

static void state_duplicates_refused(void **state) {
        (void) state;
        assert_refused("[Device 0000:01:00.0]\nPassthrough=yes\n[Manager]\nMaintenanceMode=no\n"
                       "[Device 0000:01:00.0]\nPassthrough=no\n",
                       ":5: duplicate section [Device 0000:01:00.0]");
        assert_refused("[Manager]\nMaintenanceMode=no\n[Device 0000:01:00.0]\nPassthrough=yes\n"
                       "[Manager]\nMaintenanceMode=yes\n",
                       ":5: duplicate section [Manager]");
        assert_refused("[Device 0000:01:00.0]\nPassthrough=yes\nPassthrough=no\n",
                       ":3: duplicate key 'Passthrough'");
        assert_refused("[Manager]\nMaintenanceMode=yes\nMaintenanceMode=yes\n",
                       ":3: duplicate key 'MaintenanceMode'");
        /* Twice in a row is twice too, not one section (libinih does not say where a header is). */
        assert_refused("[Device 0000:01:00.0]\nPassthrough=no\n[Device 0000:01:00.0]\nAssignments=vm-b\n",
                       ":3: duplicate section [Device 0000:01:00.0]");
        /* A key on the header's line would be lost: refused. */
        assert_refused("[Device 0000:01:00.0] Passthrough=yes\n", ":1: text after the section header's ']'");
}

static void state_unknown_sections_and_keys_refused(void **state) {
        (void) state;
        assert_refused("[Manager]\nMaintenanceMode=no\n[Devices]\nX=1\n", ":3: unknown section [Devices]");
        assert_refused("[Manager]\nMaintenance=no\n", ":2: unknown key 'Maintenance' in [Manager]");
        assert_refused("[Device 0000:01:00.0]\nOwner=vm\n",
                       ":2: unknown key 'Owner' in [Device 0000:01:00.0]");
        assert_refused("Passthrough=yes\n", ":1: 'Passthrough' outside of any section");
        assert_refused("[Manager\n", ":1: section header without closing ']'");
}

static void state_bad_boolean_refused(void **state) {
        (void) state;
        assert_refused("[Manager]\nMaintenanceMode=on\n",
                       ":2: MaintenanceMode: not a boolean (yes or no): 'on'");
        assert_refused("[Device 0000:01:00.0]\nPassthrough=\n",
                       ":2: Passthrough: not a boolean (yes or no): ''");
}

static void state_ensure_device_finds_or_appends(void **state) {
        _cleanup_(state_done) PersistentState s = {};
        StateDevice *a, *b;
        (void) state;

        assert_int_equal(state_ensure_device(&s, "0000:01:00.0", &a), 1);
        assert_false(a->passthrough);
        assert_null(a->assignments);
        assert_int_equal(state_ensure_device(&s, "0000:01:00.1", &b), 1);
        assert_int_equal(state_ensure_device(&s, "0000:01:00.0", &a), 0);
        assert_ptr_equal(a, &s.devices[0]);
        assert_ptr_equal(state_find_device(&s, "0000:01:00.1"), &s.devices[1]);
        assert_int_equal(s.n_devices, 2);
        assert_int_equal(state_ensure_device(&s, "01:00.0", NULL), -EINVAL);
        assert_int_equal(s.n_devices, 2);
}

static void state_save_refuses_invalid_names(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_(state_done) PersistentState s = {};
        StateDevice *d;
        (void) state;

        assert_int_equal(state_ensure_device(&s, "0000:01:00.0", &d), 1);
        assert_int_equal(strv_extend(&d->assignments, "vm\n[Manager]"), 0);
        assert_int_equal(state_save(dir, &s), -EINVAL);
        assert_int_equal(count_entries(dir), 0);
}

static void vm_name_valid_accepts_only_the_documented_set(void **state) {
        char name[VM_NAME_MAX + 2];
        (void) state;

        assert_true(vm_name_valid("vm-a"));
        assert_true(vm_name_valid("A.b_C-9"));
        assert_true(vm_name_valid("x"));
        assert_false(vm_name_valid(""));
        assert_false(vm_name_valid("vm a"));
        assert_false(vm_name_valid("vm/a"));
        assert_false(vm_name_valid("vm;a"));
        assert_false(vm_name_valid("vmé"));
        memset(name, 'v', VM_NAME_MAX);
        name[VM_NAME_MAX] = '\0';
        assert_true(vm_name_valid(name));
        name[VM_NAME_MAX] = 'v';
        name[VM_NAME_MAX + 1] = '\0';
        assert_false(vm_name_valid(name));
}

static void modprobe_conf_lists_addresses_and_vfs_of_pfs(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "passthru.conf"), *text = NULL;
        char *addresses[] = { (char *) "0000:01:00.0", (char *) "0000:02:00.0", (char *) "0000:06:00.0/*", NULL };
        (void) state;

        assert_int_equal(modprobe_conf_write(path, addresses), 0);
        text = read_text(path);
        assert_string_equal(text,
                            "# Written by passthrud: devices marked for passthrough.\n"
                            "options passthru hide=(0000:01:00.0)(0000:02:00.0)(0000:06:00.0/*)\n");
        assert_int_equal(mode_of(path), 0644);
}

static void state_keeps_the_vf_count_of_a_pf(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        PersistentState s = {}, back = {};
        StateDevice *d;
        (void) state;

        assert_int_equal(state_ensure_device(&s, "0000:06:00.0", &d), 1);
        d->num_vfs = 7;
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(state_load(dir, &back, NULL), 0);
        d = state_find_device(&back, "0000:06:00.0");
        assert_non_null(d);
        assert_int_equal(d->num_vfs, 7);
        assert_false(d->passthrough);
        state_done(&s);
        state_done(&back);
}

static void state_refuses_a_bad_vf_count(void **state) {
        static const char *const bad[] = { "-1", "65536", "two", "", "+2", "2x", "0x2", "99999999999999999999" };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL, *suffix = NULL;

                assert_true(asprintf(&text, "[Device 0000:06:00.0]\nNumVFs=%s\n", bad[i]) > 0);
                assert_true(asprintf(&suffix, ":2: NumVFs: not a number of VFs (0 to 65535): '%s'", bad[i]) > 0);
                assert_refused(text, suffix);
        }
        assert_refused("[Device 0000:06:00.0]\nNumVFs=2\nNumVFs=3\n", ":3: duplicate key 'NumVFs'");
        assert_refused("[Manager]\nNumVFs=2\n", ":2: unknown key 'NumVFs' in [Manager]");
}

static void modprobe_conf_without_addresses_keeps_only_the_comment(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "passthru.conf"), *text = NULL;
        char *one[] = { (char *) "0000:01:00.0", NULL }, *none[] = { NULL };
        (void) state;

        assert_int_equal(modprobe_conf_write(path, one), 0);
        assert_int_equal(modprobe_conf_write(path, none), 0);
        text = read_text(path);
        assert_string_equal(text, "# Written by passthrud: devices marked for passthrough.\n");
        free(TAKE_PTR(text));
        assert_int_equal(modprobe_conf_write(path, NULL), 0);
        text = read_text(path);
        assert_string_equal(text, "# Written by passthrud: devices marked for passthrough.\n");
}

static void modprobe_conf_refuses_bad_address(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "passthru.conf"), *text = NULL;
        char *good[] = { (char *) "0000:01:00.0", NULL };
        char *bad[] = { (char *) "0000:01:00.0", (char *) "0000:02:00.0)(0000:00:02.0", NULL };
        /* Only a PF's address and a slash and a star: no VF number, no short address. */
        const char *bad_vfs[] = { "0000:06:00.0/1", "0000:06:00.0/**", "0000:06:00.0/", "06:00.0/*", "0000:06:00.0*/" };
        (void) state;

        assert_int_equal(modprobe_conf_write(path, good), 0);
        assert_int_equal(modprobe_conf_write(path, bad), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(bad_vfs); i++)
                assert_int_equal(modprobe_conf_write(path, (char *[]) { (char *) bad_vfs[i], NULL }), -EINVAL);
        text = read_text(path);
        assert_string_equal(text,
                            "# Written by passthrud: devices marked for passthrough.\n"
                            "options passthru hide=(0000:01:00.0)\n");
}

/* An administrator's own file at that path is never overwritten; passthrud's own, and none, are its. */
static void modprobe_conf_never_overwrites_an_administrators_file(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "passthru.conf"), *text = NULL;
        char *one[] = { (char *) "0000:01:00.0", NULL };
        const char *theirs[] = {
                "options passthru hide=(0000:03:00.0) ids=8086:10d3\n",
                "",
                "# Written by hand\noptions passthru hide=(0000:03:00.0)\n",
                " # Written by passthrud: devices marked for passthrough.\n",
                "# Written by passthru\n",
        };
        FILE *f;
        (void) state;

        assert_int_equal(modprobe_conf_owned(path), 1);         /* none yet */
        for (size_t i = 0; i < ELEMENTSOF(theirs); i++) {
                f = fopen(path, "we");
                assert_non_null(f);
                assert_int_equal(fputs(theirs[i], f) >= 0 || !theirs[i][0], 1);
                assert_int_equal(fclose(f), 0);
                assert_int_equal(modprobe_conf_owned(path), 0);
                assert_int_equal(modprobe_conf_write(path, one), -EEXIST);
                text = read_text(path);
                assert_string_equal(text, theirs[i]);
                free(TAKE_PTR(text));
        }
        assert_int_equal(unlink(path), 0);
        assert_int_equal(modprobe_conf_write(path, one), 0);
        assert_int_equal(modprobe_conf_owned(path), 1);
        assert_int_equal(modprobe_conf_write(path, NULL), 0);
        assert_int_equal(modprobe_conf_owned(path), 1);
        /* A directory there cannot be read as a file: an error, not a verdict. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_true(modprobe_conf_owned(path) < 0);
        assert_int_equal(rmdir(path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(write_file_atomic_replaces_contents_and_mode),
                cmocka_unit_test(write_file_atomic_without_directory_fails_cleanly),
                cmocka_unit_test(read_full_file_refuses_files_over_4_mib),
                cmocka_unit_test(mkdir_parents_creates_missing_directories),
                cmocka_unit_test(state_missing_file_is_empty),
                cmocka_unit_test(state_roundtrip),
                cmocka_unit_test(state_reads_the_documented_format),
                cmocka_unit_test(state_rejects_bad_address_with_line),
                cmocka_unit_test(state_rejects_bad_vm_name_with_line),
                cmocka_unit_test(state_duplicates_refused),
                cmocka_unit_test(state_unknown_sections_and_keys_refused),
                cmocka_unit_test(state_bad_boolean_refused),
                cmocka_unit_test(state_ensure_device_finds_or_appends),
                cmocka_unit_test(state_keeps_the_vf_count_of_a_pf),
                cmocka_unit_test(state_refuses_a_bad_vf_count),
                cmocka_unit_test(state_save_refuses_invalid_names),
                cmocka_unit_test(vm_name_valid_accepts_only_the_documented_set),
                cmocka_unit_test(modprobe_conf_lists_addresses_and_vfs_of_pfs),
                cmocka_unit_test(modprobe_conf_without_addresses_keeps_only_the_comment),
                cmocka_unit_test(modprobe_conf_refuses_bad_address),
                cmocka_unit_test(modprobe_conf_never_overwrites_an_administrators_file),
        };

        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
