/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pci.c (libpci) against a fake sysfs tree: capabilities, BARs, names, and no exit(). */
#include "fake-sysfs.h"

#include "macro.h"
#include "pci.h"

#define A1 "0000:01:00.0"
#define A2 "0000:02:00.0"

#define PCI_IDS "/usr/share/misc/pci.ids"

typedef struct Fixture {
        char *root;
        PciAccess *pci;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        f->root = fake_sysfs_new();
        assert_int_equal(pci_access_open(f->root, &f->pci), 0);
        assert_non_null(f->pci);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        assert_null(pci_access_close(f->pci));
        fake_sysfs_free(f->root);
        free(f);
        return 0;
}

static void close_accepts_null(void **state) {
        (void) state;
        assert_null(pci_access_close(NULL));
        pci_details_done(NULL);
}

static void details_reads_pcie_msi_msix_and_devcap_flr(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        fake_pci_add(f->root, &(FakePci) { .address = A1, .msi = true, .msix = true, .pcie = true,
                                           .pcie_flr = true });
        assert_int_equal(pci_access_details(f->pci, A1, &d), 0);
        assert_true(d.pcie);
        assert_true(d.msi);
        assert_true(d.msix);
        assert_true(d.flr);
        pci_details_done(&d);
}

static void details_of_device_without_capability_list_are_all_false(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        fake_pci_add(f->root, &(FakePci) { .address = A1 });
        assert_int_equal(pci_access_details(f->pci, A1, &d), 0);
        assert_false(d.pcie);
        assert_false(d.msi);
        assert_false(d.msix);
        assert_false(d.flr);
        assert_int_equal(d.n_bars, 0);
        pci_details_done(&d);
}

static void details_pcie_without_flr_bit_has_no_flr(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        fake_pci_add(f->root, &(FakePci) { .address = A1, .pcie = true, .msi = true });
        assert_int_equal(pci_access_details(f->pci, A1, &d), 0);
        assert_true(d.pcie);
        assert_true(d.msi);
        assert_false(d.msix);
        assert_false(d.flr);
        pci_details_done(&d);
}

static void details_af_capability_with_flr_counts_as_flr(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        fake_pci_add(f->root, &(FakePci) { .address = A1, .af_flr = true });
        assert_int_equal(pci_access_details(f->pci, A1, &d), 0);
        assert_false(d.pcie);
        assert_true(d.flr);
        pci_details_done(&d);
}

static void details_reads_memory_io_and_64bit_prefetchable_bars(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        fake_pci_add(f->root, &(FakePci) {
                .address = A1,
                .resource =
                        "0x00000000fe000000 0x00000000fe01ffff 0x0000000000040200\n"
                        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                        "0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
                        "0x0000000800000000 0x0000000800003fff 0x000000000014220c\n"
                        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                        "0x00000000fe040000 0x00000000fe07ffff 0x0000000000046200\n",
        });
        assert_int_equal(pci_access_details(f->pci, A1, &d), 0);
        assert_int_equal(d.n_bars, 3);

        assert_int_equal(d.bars[0].index, 0);
        assert_int_equal(d.bars[0].base, 0xfe000000);
        assert_int_equal(d.bars[0].size, 0x20000);
        assert_false(d.bars[0].io);
        assert_false(d.bars[0].prefetchable);
        assert_false(d.bars[0].is64);

        assert_int_equal(d.bars[1].index, 2);
        assert_int_equal(d.bars[1].base, 0xc000);
        assert_int_equal(d.bars[1].size, 0x20);
        assert_true(d.bars[1].io);

        assert_int_equal(d.bars[2].index, 3);
        assert_int_equal(d.bars[2].base, 0x800000000ULL);
        assert_int_equal(d.bars[2].size, 0x4000);
        assert_false(d.bars[2].io);
        assert_true(d.bars[2].prefetchable);
        assert_true(d.bars[2].is64);
        pci_details_done(&d);
}

static void name_comes_from_pci_ids(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *name = NULL;

        if (access(PCI_IDS, R_OK) < 0)
                skip();
        assert_int_equal(pci_access_name(f->pci, 0x8086, 0x100e, &name), 0);
        assert_string_equal(name, "Intel Corporation 82540EM Gigabit Ethernet Controller");
}

static void unknown_ids_give_empty_name(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *name = NULL;

        /* 1234:11e8, QEMU's edu: its vendor id is not in pci.ids. */
        assert_int_equal(pci_access_name(f->pci, 0x1234, 0x11e8, &name), 0);
        assert_string_equal(name, "");
        assert_int_equal(pci_access_name(NULL, 0x1234, 0x11e8, &name), -EINVAL);
}

static void details_of_missing_device_is_enodev(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        assert_int_equal(pci_access_details(f->pci, A2, &d), -ENODEV);
        assert_int_equal(d.n_bars, 0);       /* untouched */
}

static void details_of_invalid_address_is_einval(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        assert_int_equal(pci_access_details(f->pci, "01:00.0", &d), -EINVAL);
        assert_int_equal(pci_access_details(f->pci, "../../../..", &d), -EINVAL);
        assert_int_equal(pci_access_details(NULL, A1, &d), -EINVAL);
}

static void libpci_fatal_error_is_eio_not_exit(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        /* libpci's own error(): resource is mandatory to it for the BARs, and its default hook exit()s. */
        fake_pci_add(f->root, &(FakePci) { .address = A1 });
        fake_unlink(f->root, "devices/pci0000:00/" A1 "/resource");
        assert_int_equal(pci_access_details(f->pci, A1, &d), -EIO);
        assert_non_null(strstr(pci_access_last_error(f->pci), "resource"));
        assert_int_equal(d.n_bars, 0);       /* untouched */

        /* The object stays usable afterwards. */
        fake_pci_add(f->root, &(FakePci) { .address = A2, .msix = true });
        assert_int_equal(pci_access_details(f->pci, A2, &d), 0);
        assert_true(d.msix);
        assert_string_equal(pci_access_last_error(f->pci), "");
        pci_details_done(&d);
}

/* The ids and the class are sysfs.c's to read: libpci is not asked for them again (at start, 3 reads a device). */
static void details_read_no_ids(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        fake_pci_add(f->root, &(FakePci) { .address = A1, .msix = true });
        fake_unlink(f->root, "devices/pci0000:00/" A1 "/vendor");
        fake_unlink(f->root, "devices/pci0000:00/" A1 "/device");
        fake_unlink(f->root, "devices/pci0000:00/" A1 "/class");
        assert_int_equal(pci_access_details(f->pci, A1, &d), 0);
        assert_true(d.msix);
        assert_string_equal(pci_access_last_error(f->pci), "");
        pci_details_done(&d);
}

static void unreadable_config_gives_no_capabilities(void **state) {
        Fixture *f = *state;
        PciDetails d = {};

        /* libpci only warns here (silenced) and reads all-ones. */
        fake_pci_add(f->root, &(FakePci) { .address = A1, .pcie = true, .msi = true });
        fake_unlink(f->root, "devices/pci0000:00/" A1 "/config");
        assert_int_equal(pci_access_details(f->pci, A1, &d), 0);
        assert_false(d.pcie);
        assert_false(d.msi);
        pci_details_done(&d);
}

static void open_on_tree_without_pci_answers_enodev(void **state) {
        PciAccess *a = NULL;
        PciDetails d = {};

        (void) state;
        assert_int_equal(pci_access_open("/nonexistent-passthru-root", &a), 0);
        assert_int_equal(pci_access_details(a, A1, &d), -ENODEV);
        assert_null(pci_access_close(a));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(close_accepts_null),
                T(details_reads_pcie_msi_msix_and_devcap_flr),
                T(details_of_device_without_capability_list_are_all_false),
                T(details_pcie_without_flr_bit_has_no_flr),
                T(details_af_capability_with_flr_counts_as_flr),
                T(details_reads_memory_io_and_64bit_prefetchable_bars),
                T(name_comes_from_pci_ids),
                T(unknown_ids_give_empty_name),
                T(details_of_missing_device_is_enodev),
                T(details_of_invalid_address_is_einval),
                T(libpci_fatal_error_is_eio_not_exit),
                T(details_read_no_ids),
                T(unreadable_config_gives_no_capabilities),
                cmocka_unit_test(open_on_tree_without_pci_answers_enodev),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
