# SPDX-License-Identifier: LGPL-2.1-or-later
# Stage 1 of the real-install test, on a fresh Debian 12 with systemd:
# install passthru the way README.md tells a user.

testcase_snapshot_before_install() {
    find /usr /etc /lib/modules -xdev | sort >/root/files-before
}

testcase_dkms_install_builds_for_the_guest_kernel() {
    cd /root/passthru
    make dkms-install
    dkms status passthru | grep -q "$(uname -r).*: installed" || fail "dkms status: $(dkms status)"
    modinfo -F filename passthru | grep -q /updates/dkms/ || fail "modinfo: $(modinfo -F filename passthru)"
}

testcase_make_install_puts_everything_in_place() {
    cd /root/passthru
    make install PREFIX=/usr
    for f in /usr/sbin/passthrud /usr/bin/passthructl /usr/lib/systemd/system/passthrud.service \
        /usr/share/dbus-1/system-services/org.passthru1.service /usr/share/dbus-1/system.d/org.passthru1.conf \
        /usr/lib/udev/rules.d/70-passthru.rules /usr/share/initramfs-tools/hooks/passthru \
        /usr/share/man/man8/passthrud.8 /usr/share/man/man1/passthructl.1 /usr/share/man/man4/passthru.4 \
        /usr/share/man/man5/passthru.conf.5 /usr/share/bash-completion/completions/passthructl; do
        [ -e "$f" ] || fail "$f is missing"
    done
    getent group passthru || fail "no group passthru"
    usermod -aG passthru alice
    systemd-analyze verify --man=no /usr/lib/systemd/system/passthrud.service
}

testcase_initramfs_carries_passthru() {
    update-initramfs -u
    lsinitramfs "/boot/initrd.img-$(uname -r)" >/tmp/initrd.list
    grep -q 'passthru.ko' /tmp/initrd.list || fail "passthru.ko is not in the initramfs"
    grep -q 'scripts/init-top/passthru' /tmp/initrd.list || fail "the init-top script is not in the initramfs"
}
