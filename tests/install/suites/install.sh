# SPDX-License-Identifier: LGPL-2.1-or-later
# Stage 1 of the real-install test, on a fresh Debian 12 with systemd:
# install passthru the way README.md tells a user (the Debian packages).

testcase_snapshot_before_install() {
    find /usr /etc /lib/modules -xdev | sort >/root/files-before
}

# README.md's install: apt install of the two packages (no network: their
# dependencies came with debootstrap).
testcase_apt_install_of_both_packages() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y /root/debs/passthru-dkms_*_all.deb /root/debs/passthrud_*_amd64.deb \
        >/tmp/apt.log 2>&1 || { tail -n 30 /tmp/apt.log; fail "apt install of the packages failed"; }
    grep -iE "dkms|passthru|initramfs|warn|error" /tmp/apt.log || :
    dpkg -s passthru-dkms passthrud | grep -q "^Status: install ok installed" || fail "dpkg -s: $(dpkg -s passthru-dkms passthrud)"
    assert_eq "$(dpkg-query -W -f='${Version}' passthrud)" "$(dpkg-query -W -f='${Version}' passthru-dkms)" "the two packages' versions"
}

testcase_dkms_built_for_the_guest_kernel() {
    local version
    version=$(dpkg-query -W -f='${Version}' passthru-dkms)
    dkms status passthru | grep -q "passthru/$version, $(uname -r).*: installed" || fail "dkms status: $(dkms status)"
    modinfo -F filename passthru | grep -q /updates/dkms/ || fail "modinfo: $(modinfo -F filename passthru)"
    assert_eq "$(modinfo -F version passthru)" "$version" "the module's version"
    assert_eq "$(passthructl --version | awk '{ print $NF }')" "$version" "passthructl's version"
}

testcase_packages_put_everything_in_place() {
    for f in /usr/sbin/passthrud /usr/bin/passthructl /lib/systemd/system/passthrud.service \
        /usr/share/dbus-1/system-services/org.passthru1.service /usr/share/dbus-1/system.d/org.passthru1.conf \
        /lib/udev/rules.d/70-passthru.rules /usr/share/initramfs-tools/hooks/passthru \
        /usr/share/man/man8/passthrud.8.gz /usr/share/man/man1/passthructl.1.gz /usr/share/man/man4/passthru.4.gz \
        /usr/share/man/man5/passthru.conf.5.gz /usr/share/bash-completion/completions/passthructl; do
        [ -e "$f" ] || fail "$f is missing"
    done
    dpkg -S /usr/sbin/passthrud | grep -q '^passthrud:' || fail "no package owns passthrud"
    getent group passthru || fail "no group passthru (sysusers)"
    usermod -aG passthru alice
    systemd-analyze verify --man=no /lib/systemd/system/passthrud.service
    # Installed, not started: D-Bus activation or the udev rule starts it.
    ! systemctl is-active passthrud || fail "the package started passthrud"
}

# The packages' trigger refreshed the initramfs; nobody ran update-initramfs by hand.
testcase_initramfs_carries_passthru() {
    lsinitramfs "/boot/initrd.img-$(uname -r)" >/tmp/initrd.list
    grep -q 'passthru.ko' /tmp/initrd.list || fail "passthru.ko is not in the initramfs"
    grep -q 'scripts/init-top/passthru' /tmp/initrd.list || fail "the init-top script is not in the initramfs"
    grep -q 'modprobe.d/passthru-vfio.conf' /tmp/initrd.list || fail "the vfio-pci softdep is not in the initramfs"
}

# dracut-core beside initramfs-tools: the same kernel, an image made by
# dracut with our module (data/dracut/), booted by the "dracut" stage
# without passthru.hide= on the command line: the rules come from the
# /etc/modprobe.d/passthru.conf in the image, as passthrud would write it.
testcase_dracut_initramfs_carries_passthru() {
    local img=/boot/initrd-dracut.img-$(uname -r)
    # This file is passthrud's to write: the initramfs refresh it triggers is
    # tested in the mark stages; here it would only race dracut.
    systemctl stop passthru-initramfs.path
    printf '# Written by passthrud (the install test)\noptions passthru hide=(01:00.0)(02:00.0)\n' \
        >/etc/modprobe.d/passthru.conf
    local rc=0
    dracut --force --hostonly --kver "$(uname -r)" "$img" || rc=$?
    rm /etc/modprobe.d/passthru.conf
    systemctl start passthru-initramfs.path
    [ $rc -eq 0 ] || fail "dracut failed ($rc)"
    lsinitrd "$img" >/tmp/dracut.list
    grep -q 'passthru.ko' /tmp/dracut.list || fail "passthru.ko is not in the dracut image"
    grep -q 'cmdline/00-passthru-load.sh' /tmp/dracut.list || fail "the passthru hook is not in the dracut image"
    grep -q 'etc/modprobe.d/passthru.conf' /tmp/dracut.list || fail "/etc/modprobe.d/passthru.conf is not in the dracut image"
    grep -q 'modprobe.d/passthru-vfio.conf' /tmp/dracut.list || fail "the vfio-pci softdep is not in the dracut image"
}

# A kernel upgrade after the install: DKMS builds passthru for the new
# kernel by itself (its kernel hooks), before that kernel's initramfs is
# made, so the new initramfs carries it too.
testcase_dkms_builds_for_a_new_kernel_when_it_arrives() {
    local kver file
    kver=$(cat /root/new-kernel/kver)
    DEBIAN_FRONTEND=noninteractive dpkg -i /root/new-kernel/*.deb >/tmp/dpkg.log 2>&1 ||
        { tail -n 30 /tmp/dpkg.log; fail "dpkg -i of Linux $kver failed"; }
    grep -i "dkms\|passthru" /tmp/dpkg.log || :
    dkms status passthru >/tmp/dkms.status
    grep -F ", $kver, " /tmp/dkms.status | grep -q ": installed$" || fail "dkms status for $kver: $(cat /tmp/dkms.status)"
    file=$(modinfo -k "$kver" -F filename passthru) || fail "modinfo -k $kver finds no passthru"
    case $file in
    /lib/modules/$kver/updates/dkms/*) ;;
    *) fail "passthru for $kver is $file, not DKMS's build" ;;
    esac
    modinfo -k "$kver" -F vermagic passthru | grep -q "^$kver " || fail "vermagic: $(modinfo -k "$kver" -F vermagic passthru)"
    lsinitramfs "/boot/initrd.img-$kver" | grep -q 'passthru.ko' || fail "passthru.ko is not in $kver's initramfs"
}

# Marks changed at run time reach the next boot's initramfs: the path unit
# is enabled by the package (the mark stages reboot to prove it works).
# DKMS's own file in /etc/modprobe.d fired it while passthru.conf did not
# exist: with no marks to carry, it rebuilt nothing.
testcase_initramfs_refresh_is_enabled_and_idle() {
    systemctl is-enabled passthru-initramfs.path || fail "passthru-initramfs.path is not enabled"
    systemctl is-active passthru-initramfs.path || fail "passthru-initramfs.path is not active"
    for i in $(seq 1 600); do
        [ "$(systemctl show -p ActiveState --value passthru-initramfs.service)" != activating ] && break
        sleep 1
    done
    [ "$(systemctl show -p ActiveState --value passthru-initramfs.service)" != activating ] ||
        fail "passthru-initramfs.service still running"
    journalctl -b -u passthru-initramfs.service --no-pager -o cat >/tmp/refresh.log
    cat /tmp/refresh.log
    ! grep -q "update-initramfs: Generating" /tmp/refresh.log || fail "the path unit rebuilt the initramfs with no marks to carry"
}

