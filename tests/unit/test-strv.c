/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NULL-terminated string arrays (daemon/strv.c): each helper, NULL and empty lists included. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "strv.h"

static void assert_strv(char **l, const char *const *expected) {
        size_t n = 0;

        assert_non_null(l);
        for (; expected[n]; n++) {
                assert_non_null(l[n]);
                assert_string_equal(l[n], expected[n]);
        }
        assert_null(l[n]);
        assert_int_equal(strv_length(l), n);
}

static void null_is_the_empty_list(void **state) {
        _cleanup_strv_free_ char **copy = NULL;
        _cleanup_free_ char *joined = NULL;

        (void) state;
        assert_null(strv_free(NULL));
        assert_int_equal(strv_length(NULL), 0);
        assert_false(strv_contains(NULL, "a"));
        assert_false(strv_remove(NULL, "a"));
        copy = strv_copy(NULL);
        assert_strv(copy, (const char *const[]) { NULL });
        joined = strv_join(NULL, ", ");
        assert_string_equal(joined, "");
}

static void extend_appends_copies_in_order(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        char word[] = "b";

        (void) state;
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, word), 0);
        word[0] = 'x';          /* a copy was appended, not the caller's string */
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_strv(l, (const char *const[]) { "a", "b", "a", NULL });
        assert_true(strv_contains(l, "b"));
        assert_false(strv_contains(l, "x"));
        assert_false(strv_contains(l, ""));
        assert_int_equal(strv_index(l, "b"), 1);
        assert_int_equal(strv_index(l, "x"), -1);
        assert_int_equal(strv_index(NULL, "a"), -1);
}

static void remove_takes_every_copy_and_says_so(void **state) {
        _cleanup_strv_free_ char **l = strv_split("a b a c a");

        (void) state;
        assert_true(strv_remove(l, "a"));
        assert_strv(l, (const char *const[]) { "b", "c", NULL });
        assert_false(strv_remove(l, "a"));
        assert_strv(l, (const char *const[]) { "b", "c", NULL });
        assert_true(strv_remove(l, "c"));
        assert_true(strv_remove(l, "b"));
        assert_strv(l, (const char *const[]) { NULL });
}

static void copy_is_deep(void **state) {
        _cleanup_strv_free_ char **l = strv_split("vm-a vm-b"), **c = NULL;

        (void) state;
        c = strv_copy(l);
        assert_strv(c, (const char *const[]) { "vm-a", "vm-b", NULL });
        assert_ptr_not_equal(c[0], l[0]);
        l[0][0] = 'X';
        assert_string_equal(c[0], "vm-a");
}

static void split_at_any_whitespace_and_drops_empty_words(void **state) {
        _cleanup_strv_free_ char **a = strv_split("flr bus"), **b = strv_split("  \tpm\n\ndevice_specific  "),
                                 **c = strv_split(""), **d = strv_split(" \t\n"), **e = strv_split(NULL);

        (void) state;
        assert_strv(a, (const char *const[]) { "flr", "bus", NULL });
        assert_strv(b, (const char *const[]) { "pm", "device_specific", NULL });
        assert_strv(c, (const char *const[]) { NULL });
        assert_strv(d, (const char *const[]) { NULL });
        assert_strv(e, (const char *const[]) { NULL });
}

static void join_puts_the_separator_between_only(void **state) {
        _cleanup_strv_free_ char **one = strv_split("flr"), **three = strv_split("flr af_flr bus"),
                                 **none = strv_split("");
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        (void) state;
        a = strv_join(one, ", ");
        b = strv_join(three, ", ");
        c = strv_join(none, ", ");
        d = strv_join(three, "");
        assert_string_equal(a, "flr");
        assert_string_equal(b, "flr, af_flr, bus");
        assert_string_equal(c, "");
        assert_string_equal(d, "flraf_flrbus");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(null_is_the_empty_list),
                cmocka_unit_test(extend_appends_copies_in_order),
                cmocka_unit_test(remove_takes_every_copy_and_says_so),
                cmocka_unit_test(copy_is_deep),
                cmocka_unit_test(split_at_any_whitespace_and_drops_empty_words),
                cmocka_unit_test(join_puts_the_separator_between_only),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
