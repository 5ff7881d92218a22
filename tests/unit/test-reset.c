/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reset.c: the order of the chain, the fall-through when a method fails,
 * which results are enough (trust), and the pinned method; against a fake
 * sysfs tree, and with a fake reset where one method has to fail.
 */
#include "fake-sysfs.h"

#include "config.h"
#include "fileio.h"
#include "macro.h"
#include "reset.h"
#include "strv.h"
#include "test-util.h"

#define A1 "0000:02:00.0"
#define E1000E 0x8086, 0x10d3

/* The configuration of text, loaded as passthrud loads it. */
static void load_config(Config *c, const char *text) {
        _cleanup_(rm_rf_tmp) char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_in(dir, "passthru.conf"), *error = NULL;

        assert_int_equal(write_file_atomic(path, text, 0644), 0);
        assert_int_equal(config_init(c), 0);
        assert_int_equal(config_load(c, path, &error), 0);
        assert_null(error);
}

/* A device's reset: fails with the errno given per method, and notes each call. */
typedef struct FakeReset {
        const char *fail[8];            /* method names ... */
        int error[8];                   /* ... and their errors */
        char **calls;
} FakeReset;

static int fake_reset(const char *root, const char *address, const char *method, void *userdata) {
        FakeReset *f = userdata;

        assert_null(root);
        assert_string_equal(address, A1);
        assert_int_equal(strv_extend(&f->calls, method), 0);
        for (size_t i = 0; i < ELEMENTSOF(f->fail) && f->fail[i]; i++)
                if (strcmp(f->fail[i], method) == 0)
                        return f->error[i];
        return 0;
}

static void fake_reset_done(FakeReset *f) {
        strv_free(f->calls);
}

/* The list, joined with spaces ("" when empty). */
static char *joined(char **l) {
        char *s = l ? strv_join(l, " ") : strdup("");

        assert_non_null(s);
        return s;
}

#define assert_strv(l, text)                                            \
        do {                                                            \
                char *_j = joined(l);                                   \
                assert_string_equal(_j, (text));                        \
                free(_j);                                               \
        } while (0)

static void assert_results(const ResetChain *c, const char *const *expected) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        assert_int_equal(reset_chain_results(c, &l), 0);
        for (; expected[n]; n++) {
                assert_non_null(l[n]);
                assert_string_equal(l[n], expected[n]);
        }
        assert_null(l[n]);
}

static void assert_trust_line(const ResetChain *c, const char *expected) {
        _cleanup_free_ char *line = NULL;

        assert_int_equal(reset_chain_trust_line(c, &line), 0);
        if (expected)
                assert_string_equal(line, expected);
        else
                assert_null(line);
}

static void chain_tries_flr_af_flr_bus_then_the_others_and_pm_last(void **state) {
        char *listed[] = { "pm", "acpi", "bus", "device_specific", "af_flr", "flr", "cxl_bus", NULL };
        static const char *const order[] = { "flr", "af_flr", "bus", "acpi", "device_specific", "cxl_bus", "pm" };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        (void) state;

        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(c.n_steps, ELEMENTSOF(order));
        for (size_t i = 0; i < c.n_steps; i++) {
                assert_string_equal(c.steps[i].method, order[i]);
                assert_true(c.steps[i].listed);
                assert_false(c.steps[i].tried);
                /* By default only a function-level or a bus reset clears state. */
                assert_int_equal(c.steps[i].trusted, i < 3);
        }
}

static void chain_of_a_device_without_methods_is_enotty(void **state) {
        char *none[] = { NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {}, d = {};
        _cleanup_(fake_reset_done) FakeReset f = {};
        (void) state;

        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, none, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_init(&d, NULL, &cfg, E1000E), 0);
        assert_int_equal(c.n_steps, 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -ENOTTY);
        assert_int_equal(reset_chain_run(&d, NULL, A1, fake_reset, &f), -ENOTTY);
        assert_null(f.calls);
        assert_results(&c, (const char *const[]) { NULL });
        assert_trust_line(&c, NULL);
}

/* Through sysfs_reset() in a fake tree: flr works, nothing else is tried. */
static void chain_stops_at_the_first_trusted_method_that_works(void **state) {
        char *root = *state, *listed[] = { "pm", "bus", "flr", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        (void) state;

        fake_pci_add(root, &(FakePci) { .address = A1, .vendor = 0x8086, .device = 0x10d3,
                                        .reset_method = "pm bus flr" });
        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, root, A1, NULL, NULL), 0);
        assert_results(&c, (const char *const[]) { "flr: ok", NULL });
        assert_trust_line(&c, NULL);
        assert_false(c.steps[1].tried);
        assert_fake_file(root, "bus/pci/devices/" A1 "/reset", "1");
        /* Pinned for the one reset, then put back. */
        assert_fake_file(root, "bus/pci/devices/" A1 "/reset_method", "pm bus flr");
}

/* e1000e in the test VM: bus fails with EIO, pm works but does not clear RAL0. */
static void chain_falls_through_and_quarantines_when_only_pm_works(void **state) {
        char *listed[] = { "pm", "bus", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        _cleanup_(fake_reset_done) FakeReset f = { .fail = { "bus" }, .error = { -EIO } };
        (void) state;

        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -EPERM);
        assert_strv(f.calls, "bus pm");
        assert_results(&c, (const char *const[]) { "bus: Input/output error", "pm: ok (not trusted to clear state)",
                                                   NULL });
        assert_trust_line(&c, "[Trust] 8086:10d3=pm");
}

/* As the kernel really answers there: ENOTTY, once the link was not back in a second. */
static void chain_with_pm_trusted_is_enough_after_bus_fails(void **state) {
        char *listed[] = { "pm", "bus", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        _cleanup_(fake_reset_done) FakeReset f = { .fail = { "bus" }, .error = { -ENOTTY } };
        (void) state;

        load_config(&cfg, "[Trust]\n8086:10d3=pm\n");
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_true(c.steps[1].trusted);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), 0);
        assert_strv(f.calls, "bus pm");
        assert_results(&c, (const char *const[]) {
                "bus: failed (ENOTTY: unsupported, or the device did not come back; see dmesg)", "pm: ok", NULL });
        assert_trust_line(&c, NULL);
}

static void trust_is_per_vendor_and_device(void **state) {
        char *listed[] = { "pm", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {}, other = {};
        _cleanup_(fake_reset_done) FakeReset f = {};
        (void) state;

        load_config(&cfg, "[Trust]\n8086:10d3=pm\n");
        assert_int_equal(reset_chain_init(&c, listed, &cfg, 0x8086, 0x10d4), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -EPERM);
        assert_trust_line(&c, "[Trust] 8086:10d4=pm");
        assert_int_equal(reset_chain_init(&other, listed, &cfg, 0x10d3, 0x8086), 0);
        assert_false(other.steps[0].trusted);
}

static void chain_where_everything_fails_returns_the_first_error(void **state) {
        char *listed[] = { "pm", "bus", "flr", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        _cleanup_(fake_reset_done) FakeReset f = {
                .fail = { "flr", "bus", "pm" }, .error = { -ETIMEDOUT, -EIO, -EINVAL },
        };
        (void) state;

        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -ETIMEDOUT);
        assert_strv(f.calls, "flr bus pm");
        assert_results(&c, (const char *const[]) { "flr: Connection timed out", "bus: Input/output error",
                                                   "pm: Invalid argument", NULL });
        assert_trust_line(&c, NULL);
}

/* The original bug: a failed bus reset's ENOTTY read as "has no reset method". */
static void methods_that_all_fail_with_enotty_are_not_no_method(void **state) {
        char *listed[] = { "pm", "bus", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        _cleanup_(fake_reset_done) FakeReset f = { .fail = { "bus", "pm" }, .error = { -ENOTTY, -ENOTTY } };
        (void) state;

        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -EIO);
        assert_strv(f.calls, "bus pm");
        assert_results(&c, (const char *const[]) {
                "bus: failed (ENOTTY: unsupported, or the device did not come back; see dmesg)",
                "pm: failed (ENOTTY: unsupported, or the device did not come back; see dmesg)", NULL });
        assert_trust_line(&c, NULL);
}

static void untrusted_success_goes_on_only_while_a_trusted_method_follows(void **state) {
        char *listed[] = { "device_specific", "acpi", "pm", NULL };
        _cleanup_(config_done) Config none = {}, pm = {};
        _cleanup_reset_chain_ ResetChain c = {}, d = {};
        _cleanup_(fake_reset_done) FakeReset f = {}, g = {};
        (void) state;

        /* Nothing trusted later: the first that works is where it stops, and what the hint names. */
        assert_int_equal(config_init(&none), 0);
        assert_int_equal(reset_chain_init(&c, listed, &none, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -EPERM);
        assert_strv(f.calls, "device_specific");
        assert_trust_line(&c, "[Trust] 8086:10d3=device_specific");

        load_config(&pm, "[Trust]\n8086:10d3=pm\n");
        assert_int_equal(reset_chain_init(&d, listed, &pm, E1000E), 0);
        assert_int_equal(reset_chain_run(&d, NULL, A1, fake_reset, &g), 0);
        assert_strv(g.calls, "device_specific acpi pm");
        assert_results(&d, (const char *const[]) { "device_specific: ok (not trusted to clear state)",
                                                   "acpi: ok (not trusted to clear state)", "pm: ok", NULL });
        assert_trust_line(&d, NULL);
}

static void pinned_method_is_the_only_one_tried_and_needs_trust_too(void **state) {
        char *listed[] = { "pm", "bus", NULL };
        _cleanup_(config_done) Config pin = {}, trusted = {};
        _cleanup_reset_chain_ ResetChain c = {}, d = {};
        _cleanup_(fake_reset_done) FakeReset f = {}, g = {};
        (void) state;

        load_config(&pin, "[Reset]\n8086:10d3=pm\n");
        assert_int_equal(reset_chain_init(&c, listed, &pin, E1000E), 0);
        assert_int_equal(c.n_steps, 1);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -EPERM);
        assert_strv(f.calls, "pm");
        assert_results(&c, (const char *const[]) { "pm: ok (not trusted to clear state)", NULL });
        assert_trust_line(&c, "[Trust] 8086:10d3=pm");

        load_config(&trusted, "[Reset]\n8086:10d3=pm\n[Trust]\n8086:10d3=pm\n");
        assert_int_equal(reset_chain_init(&d, listed, &trusted, E1000E), 0);
        assert_int_equal(reset_chain_run(&d, NULL, A1, fake_reset, &g), 0);
        assert_strv(g.calls, "pm");
}

static void pinned_bus_that_fails_is_not_followed_by_pm(void **state) {
        char *listed[] = { "pm", "bus", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        _cleanup_(fake_reset_done) FakeReset f = { .fail = { "bus" }, .error = { -EIO } };
        (void) state;

        load_config(&cfg, "[Reset]\n8086:10d3=bus\n");
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -EIO);
        assert_strv(f.calls, "bus");
        assert_results(&c, (const char *const[]) { "bus: Input/output error", NULL });
}

static void pin_the_device_does_not_list_is_recorded_and_the_chain_runs(void **state) {
        char *listed[] = { "pm", "bus", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        _cleanup_(fake_reset_done) FakeReset f = {};
        (void) state;

        load_config(&cfg, "[Reset]\n8086:10d3=flr\n");
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), 0);
        assert_strv(f.calls, "bus");
        assert_results(&c, (const char *const[]) { "flr: pinned in [Reset], but not offered by the device",
                                                   "bus: ok", NULL });
}

static void device_gone_mid_chain_stops_it(void **state) {
        char *listed[] = { "pm", "bus", NULL };
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};
        _cleanup_(fake_reset_done) FakeReset f = { .fail = { "bus" }, .error = { -ENODEV } };
        (void) state;

        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, NULL, A1, fake_reset, &f), -ENODEV);
        assert_strv(f.calls, "bus");
}

/* sysfs_reset() failing for every method (the reset file is a directory): each result kept. */
static void chain_in_fake_sysfs_records_every_failure(void **state) {
        char *root = *state, *listed[] = { "pm", "bus", NULL }, *p;
        _cleanup_(config_done) Config cfg = {};
        _cleanup_reset_chain_ ResetChain c = {};

        fake_pci_add(root, &(FakePci) { .address = A1, .reset_method = "pm bus", .no_reset = true });
        p = fake_path(root, "bus/pci/devices/" A1 "/reset");
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, root, A1, NULL, NULL), -EISDIR);
        assert_results(&c, (const char *const[]) { "bus: Is a directory", "pm: Is a directory", NULL });
        assert_fake_file(root, "bus/pci/devices/" A1 "/reset_method", "pm bus");
        assert_int_equal(rmdir(p), 0);
        free(p);

        /* Gone: -ENODEV at once. */
        reset_chain_done(&c);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(reset_chain_run(&c, root, "0000:05:00.0", NULL, NULL), -ENODEV);
}

static void chain_done_twice_and_listed_twice_are_harmless(void **state) {
        char *listed[] = { "bus", "bus", "pm", NULL };
        _cleanup_(config_done) Config cfg = {};
        ResetChain c = {};
        (void) state;

        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(reset_chain_init(&c, listed, &cfg, E1000E), 0);
        assert_int_equal(c.n_steps, 2);
        reset_chain_done(&c);
        reset_chain_done(&c);
        assert_int_equal(c.n_steps, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(chain_tries_flr_af_flr_bus_then_the_others_and_pm_last),
                cmocka_unit_test(chain_of_a_device_without_methods_is_enotty),
                cmocka_unit_test_setup_teardown(chain_stops_at_the_first_trusted_method_that_works,
                                                fake_sysfs_setup, fake_sysfs_teardown),
                cmocka_unit_test(chain_falls_through_and_quarantines_when_only_pm_works),
                cmocka_unit_test(chain_with_pm_trusted_is_enough_after_bus_fails),
                cmocka_unit_test(trust_is_per_vendor_and_device),
                cmocka_unit_test(chain_where_everything_fails_returns_the_first_error),
                cmocka_unit_test(methods_that_all_fail_with_enotty_are_not_no_method),
                cmocka_unit_test(untrusted_success_goes_on_only_while_a_trusted_method_follows),
                cmocka_unit_test(pinned_method_is_the_only_one_tried_and_needs_trust_too),
                cmocka_unit_test(pinned_bus_that_fails_is_not_followed_by_pm),
                cmocka_unit_test(pin_the_device_does_not_list_is_recorded_and_the_chain_runs),
                cmocka_unit_test(device_gone_mid_chain_stops_it),
                cmocka_unit_test_setup_teardown(chain_in_fake_sysfs_records_every_failure,
                                                fake_sysfs_setup, fake_sysfs_teardown),
                cmocka_unit_test(chain_done_twice_and_listed_twice_are_harmless),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
