/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * group.c against a fake sysfs tree: a group's members, its endpoints and
 * its viability as the cache reads them, with no member tracked (every
 * driver and class read from the tree, as for a bridge), and with one
 * tracked whose driver changes.
 */
#include "fake-sysfs.h"

#include "group.h"
#include "passthru-names.h"
#include "strv.h"
#include "sysfs.h"

#define A1 "0000:01:00.0"
#define A3 "0000:00:1c.0"

static int nothing_tracked(const char *address, const char **ret_driver, void *userdata) {
        (void) address;
        (void) ret_driver;
        (void) userdata;
        return 0;
}

static void group_viable_with_stub_vfio_bridge_and_unbound(void **state) {
        const char *root = *state;
        GroupCache c = {};
        const Group *g;

        fake_pci_add(root, &(FakePci) { .address = A3, .class = 0x060400, .driver = "pcieport", .iommu_group = 2 });
        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER, .iommu_group = 2 });
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.1", .driver = PT_VFIO_DRIVER, .iommu_group = 2 });
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.2", .iommu_group = 2 });
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.3", .driver = "pci-stub", .iommu_group = 2 });
        g = group_cache_get(&c, root, 2, nothing_tracked, NULL);
        assert_non_null(g);
        assert_true(g->viable);
        assert_int_equal(strv_length(g->members), 5);
        group_cache_done(&c);
}

static void group_with_a_host_driver_is_not_viable(void **state) {
        const char *root = *state;
        GroupCache c = {};
        const Group *g;

        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER, .iommu_group = 5 });
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.1", .driver = "snd_hda_intel", .iommu_group = 5 });
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.2", .driver = "xhci_hcd", .iommu_group = 5 });
        g = group_cache_get(&c, root, 5, nothing_tracked, NULL);
        assert_non_null(g);
        assert_false(g->viable);
        group_cache_done(&c);
}

static void group_lists_endpoints_without_bridges_even_when_not_viable(void **state) {
        const char *root = *state;
        GroupCache c = {};
        const Group *g;

        fake_pci_add(root, &(FakePci) { .address = A3, .class = 0x060400, .driver = "pcieport", .iommu_group = 6 });
        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER, .iommu_group = 6 });
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.1", .driver = "e1000e", .iommu_group = 6 });
        fake_pci_add(root, &(FakePci) { .address = "0000:01:00.2", .iommu_group = 6 });
        g = group_cache_get(&c, root, 6, nothing_tracked, NULL);
        assert_non_null(g);
        assert_false(g->viable);
        assert_int_equal(strv_length(g->endpoints), 3);
        assert_string_equal(g->endpoints[0], A1);
        assert_string_equal(g->endpoints[1], "0000:01:00.1");
        assert_string_equal(g->endpoints[2], "0000:01:00.2");
        assert_false(strv_contains(g->endpoints, A3));
        assert_true(strv_contains(g->members, A3));
        group_cache_done(&c);
}

static void missing_group_is_not_known(void **state) {
        const char *root = *state;
        GroupCache c = {};

        assert_null(group_cache_get(&c, root, 9, nothing_tracked, NULL));
        assert_null(group_cache_get(&c, root, -1, nothing_tracked, NULL));
        group_cache_done(&c);
}

/* The test's view of the member it tracks: A1, on tracked_driver. */
static const char *tracked_driver = PT_STUB_DRIVER;

static int a1_tracked(const char *address, const char **ret_driver, void *userdata) {
        (void) userdata;
        if (strcmp(address, A1) != 0)
                return 0;
        *ret_driver = tracked_driver;
        return 1;
}

static void a_tracked_drivers_change_is_worked_out_without_reading_the_group(void **state) {
        const char *root = *state;
        GroupCache c = {};
        const Group *g;

        fake_pci_add(root, &(FakePci) { .address = A3, .class = 0x060400, .driver = "pcieport", .iommu_group = 7 });
        fake_pci_add(root, &(FakePci) { .address = A1, .driver = PT_STUB_DRIVER, .iommu_group = 7 });
        tracked_driver = PT_STUB_DRIVER;
        g = group_cache_get(&c, root, 7, a1_tracked, NULL);
        assert_non_null(g);
        assert_true(g->viable);

        /* What the tree says now is not read: the bridge's driver, the members. */
        fake_bind(root, A3, "e1000e");
        fake_unlink(root, "kernel/iommu_groups/7/devices/" A3);
        tracked_driver = "snd_hda_intel";
        group_cache_driver_changed(&c, 7);
        g = group_cache_get(&c, root, 7, a1_tracked, NULL);
        assert_non_null(g);
        assert_false(g->viable);
        assert_int_equal(strv_length(g->members), 2);
        tracked_driver = PT_VFIO_DRIVER;
        group_cache_driver_changed(&c, 7);
        g = group_cache_get(&c, root, 7, a1_tracked, NULL);
        assert_true(g->viable);
        assert_true(strv_contains(g->endpoints, A1));

        /* A member's event reads it all again. */
        group_cache_invalidate(&c, 7);
        g = group_cache_get(&c, root, 7, a1_tracked, NULL);
        assert_non_null(g);
        assert_int_equal(strv_length(g->members), 1);
        assert_true(g->viable);
        fake_symlink(root, "kernel/iommu_groups/7/devices/" A3, "../../../../devices/pci0000:00/" A3);
        group_cache_invalidate(&c, 7);
        g = group_cache_get(&c, root, 7, a1_tracked, NULL);
        assert_int_equal(strv_length(g->members), 2);
        assert_false(g->viable);

        /* A bridge found on a host driver stays so through a tracked member's change. */
        tracked_driver = PT_STUB_DRIVER;
        group_cache_driver_changed(&c, 7);
        g = group_cache_get(&c, root, 7, a1_tracked, NULL);
        assert_false(g->viable);
        group_cache_done(&c);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fake_sysfs_setup, fake_sysfs_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(group_viable_with_stub_vfio_bridge_and_unbound),
                T(group_with_a_host_driver_is_not_viable),
                T(group_lists_endpoints_without_bridges_even_when_not_viable),
                T(missing_group_is_not_known),
                T(a_tracked_drivers_change_is_worked_out_without_reading_the_group),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
