/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* passthru.hide= on the kernel command line, in passthru.ko's canonical text. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdline.h"
#include "macro.h"

/*
 * @token alone on the command line covers the device that its canonical
 * text @want names (with the ids it pins, or 1234:11e8) and reads as @want.
 */
static void assert_canonical(const char *token, const char *want) {
        char cmdline[128], address[16], rule[64] = "";
        unsigned vendor = 0x1234, device = 0x11e8;
        const char *pin = strchr(want, '=');

        assert_int_equal(sscanf(want, "(%12[0-9a-f:.]", address), 1);
        if (pin)
                assert_int_equal(sscanf(pin, "=%4x:%4x", &vendor, &device), 2);
        snprintf(cmdline, sizeof(cmdline), "passthru.hide=%s", token);
        assert_true(cmdline_hide_covers(cmdline, address, vendor, device, rule, sizeof(rule)));
        assert_string_equal(rule, want);
}

/* A token passthru.ko refuses covers nothing, not even what a lenient reading would make of it. */
static void assert_refused(const char *token) {
        static const char *const addresses[] = {
                "0000:00:00.0", "0000:01:00.0", "0001:00:00.0", "0000:04:01.0", "0000:10:00.0",
        };
        char cmdline[128], rule[64];

        snprintf(cmdline, sizeof(cmdline), "passthru.hide=%s", token);
        for (size_t i = 0; i < ELEMENTSOF(addresses); i++)
                if (cmdline_hide_covers(cmdline, addresses[i], 0x1234, 0x11e8, rule, sizeof(rule)))
                        fail_msg("'%s' was read as '%s', covering %s", token, rule, addresses[i]);
}

/* cmdline_hide_covers() for a device with ids 1234:11e8, and the rule it names. */
static bool covers_as(const char *cmdline, const char *address, const char *want) {
        char rule[64] = "";
        bool r = cmdline_hide_covers(cmdline, address, 0x1234, 0x11e8, rule, sizeof(rule));

        if (r && want)
                assert_string_equal(rule, want);
        return r;
}

/* Does @cmdline hide the device whose exact rule is @canonical ("(0000:01:00.0)")? */
static bool covers(const char *cmdline, const char *canonical) {
        char address[16];

        assert_int_equal(sscanf(canonical, "(%12[0-9a-f:.]", address), 1);
        return covers_as(cmdline, address, NULL);
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
        /* PASSTHRU_RULE_MAX characters, the longest the module takes. */
        assert_canonical("(0x0000000:0x00000001:0x0000000.0x0000000=0x00001234:0x000011e8)", "(0000:01:00.0=1234:11e8)");
        /* Junk after a token is a bad token of its own: the good one still counts, as in passthru.ko. */
        assert_canonical("(01:00.0)x", "(0000:01:00.0)");
}

static void bad_tokens_cover_nothing(void **state) {
        (void) state;
        assert_refused("(01:20.0)");            /* slot out of range */
        assert_refused("(01:00.8)");            /* function out of range */
        assert_refused("(100:00.0)");           /* bus out of range */
        assert_refused("(10000:01:00.0)");      /* domain out of range */
        assert_refused("(01:00.0");
        assert_refused("01:00.0)");
        assert_refused("(01:00.0=1234)");
        assert_refused("(01:00.0=12345:1)");
        assert_refused("()");
        assert_refused("(:00.0)");
        assert_refused("(000000001:00.0)");     /* more than 8 digits */
        assert_refused("(0x:00.0)");
        assert_refused("(0x0x1:00.0)");
        assert_refused("(04:*.0)");
        assert_refused("(04:01.*=1234:11e8");
        /* Good fields, but longer than PASSTHRU_RULE_MAX: passthru.ko refuses it (found by fuzz-cmdline). */
        assert_refused("(0x00000000:0x00000001:0x0000000.0x0000000=0x00001234:0x000011e8)");
}

static void short_rule_buffer_covers_nothing(void **state) {
        char rule[8];
        (void) state;

        assert_false(cmdline_hide_covers("passthru.hide=(01:00.0)", "0000:01:00.0", 0x1234, 0x11e8, rule, sizeof(rule)));
}

static void cmdline_words_are_found(void **state) {
        const char *cmdline = "BOOT_IMAGE=/vmlinuz root=/dev/vda passthru.hide=(01:00.0)(4:*.*)(0000:03:00.0=8086:10d3) quiet\n";
        (void) state;

        assert_true(covers(cmdline, "(0000:01:00.0)"));
        /* The pin names other ids than the device's 1234:11e8: not claimed. */
        assert_false(covers(cmdline, "(0000:03:00.0)"));
        assert_false(covers(cmdline, "(0000:02:00.0)"));
        assert_true(covers(cmdline, "(0000:04:00.0)"));        /* (4:*.*) */
        assert_false(covers(cmdline, "(0000:14:00.0)"));
}

static void quoted_values_and_several_words(void **state) {
        (void) state;
        assert_true(covers("passthru.hide=\"(1:0.0) (2:0.0)\" ro", "(0000:02:00.0)"));
        assert_true(covers("a passthru.hide=(1:0.0) passthru.hide=(5:0.0)", "(0000:05:00.0)"));
        assert_true(covers("passthru.hide=(1:0.0)", "(0000:01:00.0)"));
}

/*
 * Arguments as the kernel's next_arg() splits them; every one that kmod
 * hands passthru.ko counts, and no other.
 */
static void arguments_split_as_the_kernel_splits_them(void **state) {
        static const struct {
                const char *cmdline, *device;
                bool covered;
        } cases[] = {
                /* A '"' may open the whole argument (grub writes it so) or its value. */
                { "ro \"passthru.hide=(01:00.0) (02:00.0)\"", "(0000:02:00.0)", true },
                { "ro \"passthru.hide=(01:00.0) (02:00.0)\" quiet", "(0000:01:00.0)", true },
                { "passthru.hide=\"(01:00.0) (02:00.0)\" quiet", "(0000:02:00.0)", true },
                /* A quote in the middle of the value keeps the blanks in it too. */
                { "passthru.hide=(01:00.0)\" \"(02:00.0) ro", "(0000:02:00.0)", true },
                /* An unclosed quote runs to the end of the line. */
                { "passthru.hide=\"(01:00.0) (02:00.0)", "(0000:02:00.0)", true },
                /* Any blank ends an argument outside quotes; several, or a leading one. */
                { "\t ro\t\tpassthru.hide=(01:00.0)\n", "(0000:01:00.0)", true },
                { "ro\vpassthru.hide=(01:00.0)\f(02:00.0)", "(0000:01:00.0)", true },
                { "ro\vpassthru.hide=(01:00.0)\f(02:00.0)", "(0000:02:00.0)", false },
                /* Repeated, the rules add up, quoted or not. */
                { "passthru.hide=(01:00.0) ro \"passthru.hide=(02:00.0) (03:00.0)\" passthru.hide=\"(4:0.0)\"",
                  "(0000:03:00.0)", true },
                { "passthru.hide=(01:00.0) ro \"passthru.hide=(02:00.0) (03:00.0)\" passthru.hide=\"(4:0.0)\"",
                  "(0000:04:00.0)", true },
                /*
                 * After "--" the kernel hands the rest to init, but passthru.ko
                 * is a module: modprobe gives it its parameters, and kmod reads
                 * all of /proc/cmdline, "--" or not.
                 */
                { "ro -- passthru.hide=(01:00.0)", "(0000:01:00.0)", true },
                { "ro -- single \"passthru.hide=(01:00.0) (02:00.0)\"", "(0000:02:00.0)", true },
                /* passthru.hide= inside another argument, or under another name, is not passthru.ko's. */
                { "foo=\"passthru.hide=(01:00.0)\"", "(0000:01:00.0)", false },
                { "foo=\"x passthru.hide=(01:00.0)\" ro", "(0000:01:00.0)", false },
                { "foo=\"x passthru.hide=(01:00.0)", "(0000:01:00.0)", false },
                { "\"foo=x passthru.hide=(01:00.0)\"", "(0000:01:00.0)", false },
                { "a\"b passthru.hide=(01:00.0)\"", "(0000:01:00.0)", false },
                { "\"xpassthru.hide=(01:00.0)\"", "(0000:01:00.0)", false },
                { "passthru.hidex=(01:00.0)", "(0000:01:00.0)", false },
                { "passthru.hide (01:00.0)", "(0000:01:00.0)", false },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (covers(cases[i].cmdline, cases[i].device) != cases[i].covered)
                        fail_msg("'%s' %s %s", cases[i].cmdline, cases[i].covered ? "does not cover" : "covers",
                                 cases[i].device);
}

static void other_words_do_not_count(void **state) {
        (void) state;
        assert_false(covers("xpassthru.hide=(1:0.0)", "(0000:01:00.0)"));
        assert_false(covers("passthru.ids=1234:11e8 other=(1:0.0)", "(0000:01:00.0)"));
        assert_false(covers("passthru.hide=", "(0000:01:00.0)"));
        assert_false(covers("passthru.hide=(1:0.0", "(0000:01:00.0)"));
        /* A '(' before the ')' starts the next token, as in passthru.ko. */
        assert_false(covers("passthru.hide=\"(01:00.0 (02:00.0)\"", "(0000:01:00.0)"));
        assert_true(covers("passthru.hide=\"(01:00.0 (02:00.0)\"", "(0000:02:00.0)"));
        /* Unquoted, the value ends at the space. */
        assert_false(covers("passthru.hide=(01:00.0 (02:00.0)", "(0000:02:00.0)"));
        assert_false(covers("", "(0000:01:00.0)"));
}

static void wildcards_cover_their_bus_or_slot(void **state) {
        const char *cmdline = "passthru.hide=(01:00.0)(4:*.*)(0x5:0x2.*)(6:0.0=1234:11e8) ro";
        (void) state;

        assert_true(covers_as(cmdline, "0000:04:01.0", "(0000:04:*.*)"));
        assert_true(covers_as(cmdline, "0000:04:1f.7", "(0000:04:*.*)"));
        assert_false(covers_as(cmdline, "0001:04:01.0", NULL));
        assert_true(covers_as(cmdline, "0000:05:02.3", "(0000:05:02.*)"));
        assert_false(covers_as(cmdline, "0000:05:03.0", NULL));
        assert_true(covers_as(cmdline, "0000:06:00.0", "(0000:06:00.0=1234:11e8)"));
        assert_true(covers_as(cmdline, "0000:01:00.0", "(0000:01:00.0)"));
        assert_true(covers_as("passthru.hide=(0002:07:*.*)", "0002:07:00.0", "(0002:07:*.*)"));
}

/* (PF/N) and its star form: a VF named by its PF and its number, never the PF itself nor another VF. */
static void vf_tokens_cover_the_vfs_of_their_pf(void **state) {
        const char *cmdline = "ro passthru.hide=(6:0.0/1)(0x0001:07:00.1/*=8086:10ca) quiet";
        char rule[64] = "";
        (void) state;

        assert_true(cmdline_hide_covers_vf(cmdline, "0000:06:10.2", 0x8086, 0x10ca, "0000:06:00.0", 1, rule,
                                           sizeof(rule)));
        assert_string_equal(rule, "(0000:06:00.0/1)");
        assert_false(cmdline_hide_covers_vf(cmdline, "0000:06:10.0", 0x8086, 0x10ca, "0000:06:00.0", 0, rule,
                                            sizeof(rule)));
        assert_false(cmdline_hide_covers_vf(cmdline, "0000:06:10.2", 0x8086, 0x10ca, "0000:06:00.0", -1, rule,
                                            sizeof(rule)));
        /* The PF itself, and a device that is no VF at the PF's address. */
        assert_false(cmdline_hide_covers_vf(cmdline, "0000:06:00.0", 0x8086, 0x10c9, "", -1, rule, sizeof(rule)));
        assert_false(cmdline_hide_covers(cmdline, "0000:06:00.0", 0x8086, 0x10c9, rule, sizeof(rule)));
        /* Every VF of 0001:07:00.1 with the pinned ids, whatever its number, known or not. */
        assert_true(cmdline_hide_covers_vf(cmdline, "0001:07:02.0", 0x8086, 0x10ca, "0001:07:00.1", 5, rule,
                                           sizeof(rule)));
        assert_string_equal(rule, "(0001:07:00.1/*=8086:10ca)");
        assert_true(cmdline_hide_covers_vf(cmdline, "0001:07:02.0", 0x8086, 0x10ca, "0001:07:00.1", -1, rule,
                                           sizeof(rule)));
        assert_false(cmdline_hide_covers_vf(cmdline, "0001:07:02.0", 0x8086, 0x1520, "0001:07:00.1", 5, rule,
                                            sizeof(rule)));
        assert_false(cmdline_hide_covers_vf(cmdline, "0001:07:02.0", 0x8086, 0x10ca, "0001:07:00.0", 5, rule,
                                            sizeof(rule)));
        /* As passthru.ko refuses them: a wildcard PF, no VF, junk after it, a VF number above ffff. */
        assert_refused("(04:*.*/1)");
        assert_refused("(04:01.*/*)");
        assert_refused("(06:00.0/)");
        assert_refused("(06:00.0/*x)");
        assert_refused("(06:00.0/10000)");
        assert_false(cmdline_hide_covers_vf("passthru.hide=(06:00.0/10000)", "0000:06:10.0", 0x1234, 0x11e8,
                                            "0000:06:00.0", 0x10000, rule, sizeof(rule)));
}

/* passthru.ids= entries, as passthru.ko's ids= parser and rule check read them. */
static void ids_entries_cover_as_the_module_matches(void **state) {
        const CmdlineIds edu = { .vendor = 0x1234, .device = 0x11e8, .subvendor = 0x1af4, .subdevice = 0x1100,
                                 .class = 0x00ff00 };
        CmdlineIds far = edu;
        char rule[80] = "";

        (void) state;
        assert_true(cmdline_ids_cover("quiet passthru.ids=1234:11e8 ro", &edu, rule, sizeof(rule)));
        assert_string_equal(rule, "ids=1234:11e8");
        assert_true(cmdline_ids_cover("passthru.ids=8086:10d3,0x1234:0X11E8", &edu, rule, sizeof(rule)));
        assert_string_equal(rule, "ids=0x1234:0X11E8");
        /* The second word counts too. */
        assert_true(cmdline_ids_cover("passthru.ids=8086:10d3 passthru.ids=1234:11e8", &edu, rule, sizeof(rule)));
        /* Subsystem ids, ffffffff for any. */
        assert_true(cmdline_ids_cover("passthru.ids=ffffffff:11e8:1af4:1100", &edu, rule, sizeof(rule)));
        assert_false(cmdline_ids_cover("passthru.ids=1234:11e8:1af4:1101", &edu, rule, sizeof(rule)));
        /* Class under its mask; a mask of 0 takes any class. */
        assert_true(cmdline_ids_cover("passthru.ids=1234:ffffffff:ffffffff:ffffffff:00ff00:ffffff", &edu, rule,
                                      sizeof(rule)));
        assert_false(cmdline_ids_cover("passthru.ids=1234:11e8:ffffffff:ffffffff:020000:ffff00", &edu, rule,
                                       sizeof(rule)));
        assert_true(cmdline_ids_cover("passthru.ids=1234:11e8:ffffffff:ffffffff:020000:0", &edu, rule, sizeof(rule)));
        /* Bad entries are skipped as the module skips them; the next one counts. */
        assert_false(cmdline_ids_cover("passthru.ids=1234,12345:11e8,1234:11e8:1af4:1100:ff00:0:0,,1234:11e8x,"
                                       "1234:ffffffff:10000,1234:11e8:1af4:1100:1000000", &edu, rule, sizeof(rule)));
        assert_true(cmdline_ids_cover("passthru.ids=1234,,1234:11e8", &edu, rule, sizeof(rule)));
        assert_string_equal(rule, "ids=1234:11e8");
        /* An entry longer than PASSTHRU_RULE_MAX (65 characters here) is refused. */
        assert_int_equal(strlen("0x00001234:0x000011e8:0x00001af4:0x00001100:0x00000000:0x00000000"), 65);
        assert_false(cmdline_ids_cover("passthru.ids=0x00001234:0x000011e8:0x00001af4:0x00001100:0x00000000:0x00000000",
                                       &edu, rule, sizeof(rule)));
        assert_true(cmdline_ids_cover("passthru.ids=0x00001234:0x000011e8:0x00001af4:0x00001100:0x00000000:0x0000000",
                                      &edu, rule, sizeof(rule)));
        /* A field of more than 8 digits is refused. */
        assert_false(cmdline_ids_cover("passthru.ids=000001234:11e8", &edu, rule, sizeof(rule)));
        /* No rule concerns a device in a domain above ffff. */
        far.domain = 0x10000;
        assert_false(cmdline_ids_cover("passthru.ids=1234:11e8", &far, rule, sizeof(rule)));
        /* Covered whatever the rule buffer holds: its text is cut short. */
        assert_true(cmdline_ids_cover("passthru.ids=1234:11e8", &edu, rule, 5));
        assert_string_equal(rule, "ids=");
        assert_true(cmdline_ids_cover("passthru.ids=1234:11e8", &edu, NULL, 0));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(tokens_canonical_like_the_module),
                cmocka_unit_test(bad_tokens_cover_nothing),
                cmocka_unit_test(short_rule_buffer_covers_nothing),
                cmocka_unit_test(cmdline_words_are_found),
                cmocka_unit_test(quoted_values_and_several_words),
                cmocka_unit_test(arguments_split_as_the_kernel_splits_them),
                cmocka_unit_test(other_words_do_not_count),
                cmocka_unit_test(wildcards_cover_their_bus_or_slot),
                cmocka_unit_test(vf_tokens_cover_the_vfs_of_their_pf),
                cmocka_unit_test(ids_entries_cover_as_the_module_matches),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
