# SPDX-License-Identifier: LGPL-2.1-or-later
# Stage between install and verify: booted from the dracut image that stage
# 1 made, with no passthru.hide= on the kernel command line: the image's
# /etc/modprobe.d/passthru.conf hides (01:00.0)(02:00.0).

. /opt/passthru-test/boot-claims.sh

testcase_booted_from_the_dracut_image() {
    ! grep -q "passthru.hide=" /proc/cmdline || fail "passthru.hide= is on the command line: $(cat /proc/cmdline)"
    journalctl -b -o cat --no-pager | grep -q '^dracut-' ||
        fail "no dracut service ran in this boot: not the dracut image"
}

testcase_hidden_devices_are_claimed_from_the_dracut_image() {
    assert_claimed_from_initramfs "the dracut image"
}
