# SPDX-License-Identifier: LGPL-2.1-or-later
# Install test, after "marked": rebooted with passthru.hide=(01:00.0) only.
# The unmark holds: the NIC is its host driver's again.

. /opt/passthru-test/mark-lib.sh

testcase_the_unmark_held_across_the_reboot() {
    for i in $(seq 1 100); do
        [ "$(driver $NIC)" = e1000e ] && break
        sleep 0.1
    done
    assert_driver $NIC e1000e
    ! grep -q "passthru $NIC: claimed" /tmp/boot.dmesg || fail "passthru claimed $NIC at boot"
    assert_driver $EDU passthru
}
