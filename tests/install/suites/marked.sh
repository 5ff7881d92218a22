# SPDX-License-Identifier: LGPL-2.1-or-later
# Install test, after "mark": rebooted with passthru.hide=(01:00.0) only.
# The mark holds: passthru.ko claimed the NIC from the initramfs that
# dracut made.  Then root unmarks it for the next boot (initramfs-tools).

. /opt/passthru-test/mark-lib.sh

testcase_the_mark_held_across_the_reboot() {
    ! grep -q "02:00.0" /proc/cmdline || fail "the NIC is on the command line"
    assert_claimed_from_initramfs "the initramfs dracut refreshed"
    for i in $(seq 1 100); do
        passthructl show $NIC | grep -q "State: available" && break
        sleep 0.1
    done
    passthructl show $NIC | grep -q "State: available" || fail "$(passthructl show $NIC)"
}

testcase_unmark_for_the_next_boot_reaches_the_initramfs() {
    local stamp
    stamp=$(refresh_stamp)
    passthructl maintenance enter
    passthructl unhide $NIC
    passthructl maintenance exit
    ! grep -q "02:00.0" /etc/modprobe.d/passthru.conf || fail "modprobe.d: $(cat /etc/modprobe.d/passthru.conf)"
    wait_refreshed "$stamp"
    ! image_rules | grep -q "02:00.0" || fail "the initramfs still carries the mark: $(image_rules)"
}
