/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PCI hostdevs of a libvirt domain's XML (cli/domxml.c), as the libvirt hook reads them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* passthructl's reader, not in the daemon's library: compiled in here. */
#include "../../cli/domxml.c"

/* As libvirt 9.0 formats a domain for its hooks (virsh dumpxml). */
static const char domain_xml[] =
        "<domain type='qemu' id='3'>\n"
        "  <name>passthru-a</name>\n"
        "  <!-- <hostdev mode='subsystem' type='pci' managed='yes'><source><address bus='0x09'/></source></hostdev> -->\n"
        "  <devices>\n"
        "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "    <controller type='pci' index='1' model='pcie-root-port'>\n"
        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n"
        "    </controller>\n"
        "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
        "      <driver name='vfio'/>\n"
        "      <source>\n"
        "        <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
        "      </source>\n"
        "      <alias name='hostdev0'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n"
        "    </hostdev>\n"
        "    <hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\">\n"
        "      <source><address domain=\"0x0001\" bus=\"0x04\" slot=\"0x1f\" function=\"0x7\"/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='usb' managed='no'>\n"
        "      <source><vendor id='0x1234'/><product id='0xbeef'/><address bus='1' device='2'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='pci'>\n"
        "      <source><address bus='5' slot='0' function='0'/></source>\n"
        "    </hostdev>\n"
        "  </devices>\n"
        "</domain>\n";

static void reads_pci_hostdevs_with_source_address_and_managed(void **state) {
        DomainHostdev *hd = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(domain_pci_hostdevs(domain_xml, &hd, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(hd[0].address, "0000:01:00.0");     /* the source, not the guest address */
        assert_false(hd[0].managed);
        assert_string_equal(hd[1].address, "0001:04:1f.7");
        assert_true(hd[1].managed);
        assert_string_equal(hd[2].address, "0000:05:00.0");     /* managed absent: libvirt's default, no */
        assert_false(hd[2].managed);
        free(hd);
}

static void domain_without_hostdevs_has_none(void **state) {
        DomainHostdev *hd = NULL;
        size_t n = 1;

        (void) state;
        assert_int_equal(domain_pci_hostdevs("<domain type='kvm'><name>x</name><devices/></domain>", &hd, &n), 0);
        assert_int_equal(n, 0);
        free(hd);
}

static void malformed_xml_is_refused(void **state) {
        static const char *const bad[] = {
                "<domain><devices><hostdev mode='subsystem' type='pci'",                /* tag left open */
                "<domain><devices><hostdev mode='subsystem' type='pci'><source>",       /* hostdev left open */
                "<domain><devices><hostdev mode='subsystem' type='pci'><source><address bus='0x100' slot='0' "
                "function='0'/></source></hostdev></devices></domain>",                 /* bus out of range */
                "<domain><devices><hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0x20' "
                "function='0'/></source></hostdev></devices></domain>",                 /* slot out of range */
                "<domain><devices><hostdev mode='subsystem' type='pci'><source><address bus='1' slot='0' "
                "function='8'/></source></hostdev></devices></domain>",                 /* function out of range */
                "<domain><devices><hostdev mode='subsystem' type='pci'><source><address bus='x1' slot='0' "
                "function='0'/></source></hostdev></devices></domain>",                 /* not a number */
                "<domain><devices><hostdev mode='subsystem' type='pci'><source><address slot='0' "
                "function='0'/></source></hostdev></devices></domain>",                 /* no bus */
                "<domain><devices><hostdev mode='subsystem' type='pci'><source/></hostdev></devices></domain>",
                "<domain><!-- never closed",
                "",
        };

        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                DomainHostdev *hd = NULL;
                size_t n = 0;

                assert_int_equal(domain_pci_hostdevs(bad[i], &hd, &n), -EINVAL);
                assert_null(hd);
        }
}

/* Only the domain's devices count: not what <metadata>, a comment or CDATA say, whatever their quotes. */
static void hostdevs_outside_devices_are_not_devices(void **state) {
        static const char xml[] =
                "<domain type='kvm'><name>m</name>\n"
                "  <metadata><app:x xmlns:app='http://example.org/app'><![CDATA[don't <hostdev mode='subsystem' "
                "type='pci'><source><address bus='9' slot='0' function='0'/></source></hostdev>]]></app:x>\n"
                "    <hostdev mode='subsystem' type='pci'><source><address bus='8' slot='0' function='0'/></source>"
                "</hostdev></metadata>\n"
                "  <devices><!-- don't --><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>\n"
                "</domain>\n";
        DomainHostdev *hd = NULL;
        size_t n = 1;

        (void) state;
        assert_int_equal(domain_pci_hostdevs(xml, &hd, &n), 0);
        assert_int_equal(n, 0);
        free(hd);
}

/* <interface type='hostdev'>: a PCI function (an SR-IOV VF) given the same way, managed by default no. */
static void hostdev_interfaces_are_pci_hostdevs(void **state) {
        static const char xml[] =
                "<domain type='kvm'><devices>"
                "<interface type='hostdev' managed='yes'><mac address='52:54:00:6d:90:02'/>"
                "<source><address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x1'/></source>"
                "</interface>"
                "<interface type='network'><source network='default'/></interface>"
                "<interface type='hostdev'><source><address type='pci' bus='3' slot='16' function='2'/></source>"
                "</interface>"
                "</devices></domain>";
        DomainHostdev *hd = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(domain_pci_hostdevs(xml, &hd, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(hd[0].address, "0000:03:10.1");
        assert_true(hd[0].managed);
        assert_string_equal(hd[1].address, "0000:03:10.2");
        assert_false(hd[1].managed);
        free(hd);
}

/* A VMD's device, in a PCI domain above ffff (libvirt takes 32 bits): no device of passthru's, not refused. */
static void hostdevs_in_a_domain_above_ffff_are_libvirts(void **state) {
        static const char xml[] =
                "<domain type='kvm'><devices>"
                "<hostdev mode='subsystem' type='pci' managed='yes'>"
                "<source><address domain='0x10000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='no'>"
                "<source><address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source></hostdev>"
                "</devices></domain>";
        DomainHostdev *hd = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(domain_pci_hostdevs(xml, &hd, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(hd[0].address, "0000:02:00.0");
        free(hd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(reads_pci_hostdevs_with_source_address_and_managed),
                cmocka_unit_test(domain_without_hostdevs_has_none),
                cmocka_unit_test(malformed_xml_is_refused),
                cmocka_unit_test(hostdevs_outside_devices_are_not_devices),
                cmocka_unit_test(hostdev_interfaces_are_pci_hostdevs),
                cmocka_unit_test(hostdevs_in_a_domain_above_ffff_are_libvirts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
