/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* passthru.hide= on the kernel command line, in passthru.ko's canonical text. */
#include <errno.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdline.h"

static void assert_canonical(const char *token, const char *want) {
        char buf[64];

        assert_int_equal(hide_token_canonical(token, strlen(token), buf, sizeof(buf)), 0);
        assert_string_equal(buf, want);
}

static void assert_not_exact(const char *token) {
        char buf[64];

        if (hide_token_canonical(token, strlen(token), buf, sizeof(buf)) != -EINVAL)
                fail_msg("'%s' was taken as one device's rule: '%s'", token, buf);
}

static void tokens_canonical_like_the_module(void **state) {
        (void) state;
        assert_canonical("(01:00.0)", "(0000:01:00.0)");
        assert_canonical("(1:0.0)", "(0000:01:00.0)");
        assert_canonical("(0000:03:1f.7)", "(0000:03:1f.7)");
        assert_canonical("(ABCD:Ff:1F.7)", "(abcd:ff:1f.7)");
        assert_canonical("(01:00.0=1234:11E8)", "(0000:01:00.0=1234:11e8)");
        assert_canonical("(1:2:3.4=8086:10d3)", "(0001:02:03.4=8086:10d3)");
        assert_canonical("(0x1:0X0.0)", "(0000:01:00.0)");
        assert_canonical("(0x0000:0x01:0x1f.0x7=0x1234:0x11e8)", "(0000:01:1f.7=1234:11e8)");
}

static void wildcards_and_bad_tokens_are_not_exact(void **state) {
        (void) state;
        assert_not_exact("(04:*.*)");
        assert_not_exact("(04:01.*)");
        assert_not_exact("(01:20.0)");          /* slot out of range */
        assert_not_exact("(01:00.8)");          /* function out of range */
        assert_not_exact("(100:00.0)");         /* bus out of range */
        assert_not_exact("(10000:01:00.0)");    /* domain out of range */
        assert_not_exact("(01:00.0");
        assert_not_exact("01:00.0)");
        assert_not_exact("(01:00.0=1234)");
        assert_not_exact("(01:00.0=12345:1)");
        assert_not_exact("(01:00.0)x");
        assert_not_exact("()");
        assert_not_exact("(:00.0)");
        assert_not_exact("(000000001:00.0)");   /* more than 8 digits */
        assert_not_exact("(0x:00.0)");
        assert_not_exact("(0x0x1:00.0)");
}

static void short_buffer_is_enobufs(void **state) {
        char buf[8];
        (void) state;

        assert_int_equal(hide_token_canonical("(01:00.0)", 9, buf, sizeof(buf)), -ENOBUFS);
}

static void cmdline_words_are_found(void **state) {
        const char *cmdline = "BOOT_IMAGE=/vmlinuz root=/dev/vda passthru.hide=(01:00.0)(4:*.*)(0000:03:00.0=8086:10d3) quiet\n";
        (void) state;

        assert_true(cmdline_hides_rule(cmdline, "(0000:01:00.0)"));
        assert_true(cmdline_hides_rule(cmdline, "(0000:03:00.0=8086:10d3)"));
        assert_false(cmdline_hides_rule(cmdline, "(0000:03:00.0)"));
        assert_false(cmdline_hides_rule(cmdline, "(0000:02:00.0)"));
        assert_false(cmdline_hides_rule(cmdline, "(0000:04:00.0)"));
}

static void quoted_values_and_several_words(void **state) {
        (void) state;
        assert_true(cmdline_hides_rule("passthru.hide=\"(1:0.0) (2:0.0)\" ro", "(0000:02:00.0)"));
        assert_true(cmdline_hides_rule("a passthru.hide=(1:0.0) passthru.hide=(5:0.0)", "(0000:05:00.0)"));
        assert_true(cmdline_hides_rule("passthru.hide=(1:0.0)", "(0000:01:00.0)"));
}

static void other_words_do_not_count(void **state) {
        (void) state;
        assert_false(cmdline_hides_rule("xpassthru.hide=(1:0.0)", "(0000:01:00.0)"));
        assert_false(cmdline_hides_rule("passthru.ids=1234:11e8 other=(1:0.0)", "(0000:01:00.0)"));
        assert_false(cmdline_hides_rule("passthru.hide=", "(0000:01:00.0)"));
        assert_false(cmdline_hides_rule("passthru.hide=(1:0.0", "(0000:01:00.0)"));
        assert_false(cmdline_hides_rule("", "(0000:01:00.0)"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(tokens_canonical_like_the_module),
                cmocka_unit_test(wildcards_and_bad_tokens_are_not_exact),
                cmocka_unit_test(short_buffer_is_enobufs),
                cmocka_unit_test(cmdline_words_are_found),
                cmocka_unit_test(quoted_values_and_several_words),
                cmocka_unit_test(other_words_do_not_count),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
