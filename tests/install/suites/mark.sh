# SPDX-License-Identifier: LGPL-2.1-or-later
# Install test, after "newkernel": booted with passthru.hide=(01:00.0) only.
# The NIC is its host driver's; root marks it for the next boot.

. /opt/passthru-test/mark-lib.sh

testcase_nic_is_the_host_drivers_before_the_mark() {
    ! grep -q "02:00.0" /proc/cmdline || fail "the NIC is on the command line"
    for i in $(seq 1 100); do
        [ "$(driver $NIC)" = e1000e ] && break
        sleep 0.1
    done
    assert_driver $NIC e1000e
}

testcase_mark_for_the_next_boot_reaches_the_initramfs() {
    local stamp
    stamp=$(refresh_stamp)
    passthructl maintenance enter
    passthructl hide $NIC
    passthructl maintenance exit
    grep -q "(0000:02:00.0)" /etc/modprobe.d/passthru.conf || fail "modprobe.d: $(cat /etc/modprobe.d/passthru.conf)"
    wait_refreshed "$stamp"
    image_rules | grep -q "(0000:02:00.0)" || fail "the initramfs does not carry the mark: $(image_rules)"
}
