# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by the mark stages of the install test: a mark or an unmark made
# with SetPassthrough must hold after a reboot (the initramfs is refreshed
# by passthru-initramfs.path).

. /opt/passthru-test/boot-claims.sh

refresh_stamp() {
    systemctl show -p ExecMainExitTimestampMonotonic --value passthru-initramfs.service
}

# wait_refreshed STAMP: the refresh ran (again) since STAMP, and worked.
wait_refreshed() {
    local now
    for i in $(seq 1 600); do
        now=$(refresh_stamp)
        if [ "$now" != "$1" ] && [ "$(systemctl show -p ActiveState --value passthru-initramfs.service)" = inactive ]; then
            assert_eq "$(systemctl show -p Result --value passthru-initramfs.service)" success "the refresh's result"
            echo "initramfs refreshed after $i s"
            return 0
        fi
        sleep 1
    done
    fail "the initramfs was not refreshed: $(systemctl status passthru-initramfs.service --no-pager)"
}

# image_rules: the passthru.conf that the running kernel's initramfs carries.
image_rules() {
    rm -rf /tmp/unpacked
    unmkinitramfs "/boot/initrd.img-$(uname -r)" /tmp/unpacked
    cat /tmp/unpacked/main/etc/modprobe.d/passthru.conf /tmp/unpacked/etc/modprobe.d/passthru.conf 2>/dev/null || true
}
