# SPDX-License-Identifier: LGPL-2.1-or-later
# Install test, after "newkernel": booted with passthru.hide=(01:00.0) only.
# The NIC is its host driver's; root marks it for the next boot (the
# initramfs refreshed by dracut this time).

. /opt/passthru-test/mark-lib.sh

# First, while this boot is Debian's 6.1: the kernel the "install" stage
# added goes, and DKMS's build for it with it.  (Here rather than last, so
# that the refreshes of the marks below rebuild one kernel's image, not two.)
testcase_removing_the_new_kernel_removes_its_module() {
    local kver pkgs
    kver=$(cat /root/new-kernel/kver)
    pkgs=
    for f in /root/new-kernel/*.deb; do pkgs="$pkgs $(dpkg-deb -f "$f" Package)"; done
    DEBIAN_FRONTEND=noninteractive dpkg --purge $pkgs >/tmp/purge.log 2>&1 ||
        { tail -n 20 /tmp/purge.log; fail "dpkg --purge of Linux $kver failed"; }
    dkms status passthru >/tmp/dkms.status
    ! grep -qF ", $kver, " /tmp/dkms.status || fail "dkms still lists $kver: $(cat /tmp/dkms.status)"
    grep -qF ", $(uname -r), " /tmp/dkms.status || fail "dkms lost the running kernel's build: $(cat /tmp/dkms.status)"
    [ ! -e "/lib/modules/$kver/updates/dkms" ] || fail "/lib/modules/$kver/updates/dkms is still there"
    # Anything the purge set off (passthru-initramfs.path watches
    # /etc/modprobe.d) is over before the mark below takes its stamp.
    for i in $(seq 1 120); do
        systemctl list-jobs --no-legend | grep -q passthru-initramfs ||
            [ "$(systemctl show -p ActiveState --value passthru-initramfs.service)" = activating ] || return 0
        sleep 1
    done
    fail "passthru-initramfs.service still busy 120 s after the purge"
}

testcase_nic_is_the_host_drivers_before_the_mark() {
    ! grep -q "02:00.0" /proc/cmdline || fail "the NIC is on the command line"
    for i in $(seq 1 100); do
        [ "$(driver $NIC)" = e1000e ] && break
        sleep 0.1
    done
    assert_driver $NIC e1000e
}

# The refresh a dracut host gets: update-initramfs is moved away for this
# mark, so passthru-refresh-initramfs takes its dracut branch (dracut
# --force --regenerate-all); the "marked" stage boots that image, and its
# unmark takes initramfs-tools' path again.  Both tools, each across a reboot.
testcase_mark_for_the_next_boot_reaches_the_initramfs_made_by_dracut() {
    local stamp img=/boot/initrd.img-$(uname -r) rc=0
    stamp=$(refresh_stamp)
    mv /usr/sbin/update-initramfs /usr/sbin/update-initramfs.passthru-test
    passthructl maintenance enter
    passthructl hide $NIC
    passthructl maintenance exit
    grep -q "(0000:02:00.0)" /etc/modprobe.d/passthru.conf || rc=1
    (wait_refreshed "$stamp") || rc=2
    mv /usr/sbin/update-initramfs.passthru-test /usr/sbin/update-initramfs
    [ $rc -ne 1 ] || fail "modprobe.d: $(cat /etc/modprobe.d/passthru.conf)"
    [ $rc -ne 2 ] || fail "the refresh by dracut did not finish: $(journalctl -b -u passthru-initramfs.service --no-pager -o cat | tail -n 5)"
    journalctl -b -u passthru-initramfs.service --no-pager -o cat | tail -n 5
    lsinitrd "$img" >/tmp/dracut.list || fail "$img is not an image lsinitrd reads"
    grep -q 'cmdline/00-passthru-load.sh' /tmp/dracut.list || fail "$img was not made by dracut with the passthru module"
    lsinitrd -f etc/modprobe.d/passthru.conf "$img" | grep -q "(0000:02:00.0)" ||
        fail "dracut's image does not carry the mark: $(lsinitrd -f etc/modprobe.d/passthru.conf "$img")"
}
