/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * group.c against a fake sysfs tree: a group's members, its endpoints and
 * its viability as the cache reads them, with no member tracked (every
 * driver and class read from the tree, as for a bridge).
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

#define T(f) cmocka_unit_test_setup_teardown(f, fake_sysfs_setup, fake_sysfs_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(group_viable_with_stub_vfio_bridge_and_unbound),
                T(group_with_a_host_driver_is_not_viable),
                T(group_lists_endpoints_without_bridges_even_when_not_viable),
                T(missing_group_is_not_known),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
