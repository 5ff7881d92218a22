/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fileio: atomic writes, whole-file reads, directory listings, number and boolean parsing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-util.h"

#include "fileio.h"
#include "macro.h"
#include "strv.h"

static mode_t mode_of(const char *path) {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return st.st_mode & 07777;
}

static void print_greeting(FILE *f, const void *userdata) {
        fprintf(f, "hello %s\n", (const char *) userdata);
}

static void printed_write_makes_directories_and_modes(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *sub = NULL, *text = NULL;
        (void) state;

        sub = path_in(dir, "a/b");
        assert_true(asprintf(&path, "%s/file", sub) > 0);
        assert_int_equal(write_file_atomic_printed(path, 0700, 0640, print_greeting, "world"), 0);
        assert_int_equal(mode_of(sub), 0700);
        assert_int_equal(mode_of(path), 0640);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_string_equal(text, "hello world\n");
}

static void printed_write_replaces_and_failure_keeps_the_old_file(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "f"), *text = NULL, *blocked = NULL;
        (void) state;

        assert_int_equal(write_file_atomic_printed(path, 0755, 0644, print_greeting, "one"), 0);
        assert_int_equal(write_file_atomic_printed(path, 0755, 0644, print_greeting, "two"), 0);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_string_equal(text, "hello two\n");
        /* A parent that is a file: the write fails, nothing else changes. */
        assert_true(asprintf(&blocked, "%s/f/inside", dir) > 0);
        assert_true(write_file_atomic_printed(blocked, 0755, 0644, print_greeting, "three") < 0);
        free(text);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_string_equal(text, "hello two\n");
}

static bool starts_with_x(const char *name) {
        return name[0] == 'x';
}

static void dir_list_sorts_and_filters(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_strv_free_ char **all = NULL, **xs = NULL;
        const char *names[] = { "xb", "a", "xa", ".hidden" };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = path_in(dir, names[i]);

                assert_int_equal(write_file_atomic_printed(p, 0755, 0644, print_greeting, "x"), 0);
        }
        assert_int_equal(dir_list(dir, NULL, &all), 0);
        assert_int_equal(strv_length(all), 3);
        assert_string_equal(all[0], "a");
        assert_string_equal(all[1], "xa");
        assert_string_equal(all[2], "xb");
        assert_int_equal(dir_list(dir, starts_with_x, &xs), 0);
        assert_int_equal(strv_length(xs), 2);
        assert_string_equal(xs[0], "xa");
        {
                _cleanup_free_ char *missing = path_in(dir, "nope");
                char **none = NULL;

                assert_int_equal(dir_list(missing, NULL, &none), -ENOENT);
                assert_null(none);
        }
}

static void read_full_file_of_a_missing_file_is_enoent(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "missing");
        char *text = NULL;
        (void) state;

        assert_int_equal(read_full_file(path, &text, NULL), -ENOENT);
        assert_null(text);
}

/* A FIFO in a file's place (no writer) is refused at once, not waited on; a device node too. */
static void read_full_file_refuses_what_is_not_a_regular_file(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "fifo");
        char *text = NULL;
        (void) state;

        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(read_full_file(path, &text, NULL), -EBADFD);
        assert_null(text);
        assert_int_equal(read_full_file("/dev/null", &text, NULL), -EBADFD);
        assert_null(text);
}

static void numbers_and_booleans(void **state) {
        uint64_t v;
        bool b;
        (void) state;

        assert_int_equal(parse_uint64("42", 100, &v), 0);
        assert_int_equal(v, 42);
        assert_int_equal(parse_uint64("101", 100, &v), -ERANGE);
        assert_true(parse_uint64("-1", 100, &v) < 0);
        assert_true(parse_uint64("", 100, &v) < 0);
        assert_true(parse_uint64("4x", 100, &v) < 0);
        assert_int_equal(parse_boolean("yes", &b), 0);
        assert_true(b);
        assert_int_equal(parse_boolean("0", &b), 0);
        assert_false(b);
        assert_true(parse_boolean("maybe", &b) < 0);
}

static bool keep_all(const char *name) {
        return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Into an open directory, durable or not: the file is replaced whole, no temporary is left. */
static void write_file_atomic_at_replaces_and_leaves_nothing(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "leases"), *text = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        (void) state;
        assert_true(dfd >= 0);
        assert_int_equal(write_file_atomic_at(dfd, "leases", "one\n", 0600, true), 0);
        assert_int_equal(write_file_atomic_at(dfd, "leases", "two\n", 0640, false), 0);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_string_equal(text, "two\n");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        /* Nothing else in the directory, hidden files included. */
        assert_int_equal(dir_list(dir, keep_all, &names), 0);
        assert_int_equal(strv_length(names), 1);
        assert_int_equal(write_file_atomic_at(dfd, "sub/leases", "x", 0600, true), -EINVAL);
        assert_int_equal(write_file_atomic_at(dfd, "", "x", 0600, true), -EINVAL);
}

static void temporary_files_do_not_survive_a_failed_rename(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *sub = path_in(dir, "leases");
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        (void) state;
        /* A directory in the way: rename() fails, the temporary goes. */
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_true(write_file_atomic_at(dfd, "leases", "x", 0600, false) < 0);
        assert_int_equal(dir_list(dir, keep_all, &names), 0);
        assert_int_equal(strv_length(names), 1);
        assert_string_equal(names[0], "leases");
}

/* What a writer killed before its rename() leaves goes at the next start; nothing that only looks like it. */
static void temporaries_of_a_killed_writer_are_swept(void **state) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *left[] = { ".leases.123.0", ".leases.9.41", "leases", ".leases", ".leases.1.", ".leases.x.1",
                               ".leases.1.2.3", ".quarantine.123.0", ".leasesx.1.2", "leases.1.2" };

        (void) state;
        assert_true(dfd >= 0);
        for (size_t i = 0; i < ELEMENTSOF(left); i++) {
                _cleanup_free_ char *p = path_in(dir, left[i]);
                _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

                assert_true(fd >= 0);
        }
        assert_int_equal(remove_atomic_temporaries_at(dfd, "leases"), 2);
        assert_int_equal(dir_list(dir, keep_all, &names), 0);
        assert_int_equal(strv_length(names), ELEMENTSOF(left) - 2);
        assert_false(strv_contains(names, ".leases.123.0"));
        assert_false(strv_contains(names, ".leases.9.41"));
        assert_true(strv_contains(names, ".quarantine.123.0"));
        assert_int_equal(remove_atomic_temporaries_at(dfd, "leases"), 0);
        assert_int_equal(remove_atomic_temporaries_at(dfd, "../leases"), -EINVAL);
}

/* tmpfs (/dev/shm) is volatile; procfs is not a memory file system for files we write. */
static void volatile_file_systems_are_told_apart(void **state) {
        _cleanup_close_ int shm = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        (void) state;
        if (shm < 0)
                skip();
        assert_true(fd_on_volatile_fs(shm));
        assert_true(proc >= 0);
        assert_false(fd_on_volatile_fs(proc));
        assert_false(fd_on_volatile_fs(-1));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(printed_write_makes_directories_and_modes),
                cmocka_unit_test(printed_write_replaces_and_failure_keeps_the_old_file),
                cmocka_unit_test(dir_list_sorts_and_filters),
                cmocka_unit_test(read_full_file_of_a_missing_file_is_enoent),
                cmocka_unit_test(read_full_file_refuses_what_is_not_a_regular_file),
                cmocka_unit_test(numbers_and_booleans),
                cmocka_unit_test(write_file_atomic_at_replaces_and_leaves_nothing),
                cmocka_unit_test(temporary_files_do_not_survive_a_failed_rename),
                cmocka_unit_test(temporaries_of_a_killed_writer_are_swept),
                cmocka_unit_test(volatile_file_systems_are_told_apart),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
