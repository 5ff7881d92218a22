#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The real-install test: a Debian 12 system with systemd (debootstrap,
# cached) in a VM with the test topology.  Stage "install" installs this
# tree the way README.md says (apt install of the packages that make deb
# built), makes a dracut image too, and then installs a newer kernel
# (6.12) for DKMS to build for; stage "dracut" boots the dracut image and
# stage "newkernel" the new kernel, both with passthru.hide=; stage
# "verify" reboots Debian's 6.1 with passthru.hide=(01:00.0)(02:00.0) and
# checks the result as a user would meet it, down to the uninstall.
# STAGES="install verify" boots only those stages (a developer's quicker
# look: verify then meets what the stages left out did not do).
set -euo pipefail
. "$(dirname "$0")/../vm/common.sh"

# The packages: make check's stage "deb" has just built them; alone, build
# them, also when a file of the tree is newer than they are (a run alone
# once installed packages built before the change it was meant to try).
debs=("$BUILD"/deb/passthru-dkms_*_all.deb "$BUILD"/deb/passthrud_*_amd64.deb)
newest=$(cd "$TOP" && git ls-files -z 2>/dev/null | xargs -0 -r stat -c %Y 2>/dev/null | sort -n | tail -n 1 || true)
if [[ ! -f ${debs[0]} || ! -f ${debs[1]} ]] ||
    [[ -n $newest && $(stat -c %Y "${debs[1]}") -lt $newest ]]; then
    "$TOP/tests/deb.sh" >&2
    debs=("$BUILD"/deb/passthru-dkms_*_all.deb "$BUILD"/deb/passthrud_*_amd64.deb)
fi
tarball=$("$TOP/tests/install/mkrootfs.sh")
newkernel=$("$TOP/tests/install/newkernel.sh")
newkver=$(cat "$newkernel/kver")
work=$BUILD/install-vm
rm -rf "$work"
mkdir -p "$work/root"
dir=$work/root
tar -C "$dir" -xf "$tarball"

# Fix the tree up for a console-less test boot.
echo "/dev/vda / ext4 defaults 0 1" >"$dir/etc/fstab"
echo passthru-test >"$dir/etc/hostname"
sed -i 's/^root:[^:]*:/root::/' "$dir/etc/shadow"
ln -sf /dev/null "$dir/etc/systemd/system/serial-getty@ttyS0.service"
mkdir -p "$dir/etc/initramfs-tools/conf.d"
# Images of the modules this machine needs, not every driver (quicker under TCG),
echo MODULES=dep >"$dir/etc/initramfs-tools/conf.d/passthru-test.conf"
# and dracut likewise host-only (its generic image took over 10 minutes for
# the two kernels under TCG; passthru's dracut module adds passthru.ko either
# way).  Both compress with zstd -1, as update-initramfs does by default when
# zstd is installed (it is in the root file system): dracut's gzip -9 took
# 45 s of CPU for one image natively, zstd -1 6 s, and TCG multiplies both.
mkdir -p "$dir/etc/dracut.conf.d"
printf '%s\n' 'hostonly="yes"' 'compress="zstd -1 -q -T0"' >"$dir/etc/dracut.conf.d/passthru-test.conf"
chroot "$dir" useradd -m -u 1000 -s /bin/bash alice
mkdir -p "$dir/opt/passthru-test" "$dir/etc/systemd/system/multi-user.target.wants"
install -m 0755 "$TOP/tests/install/guest-run.sh" "$dir/opt/passthru-test/guest-run.sh"
install -m 0644 "$TOP/tests/vm/lib.sh" "$dir/opt/passthru-test/lib.sh"
install -m 0644 "$TOP"/tests/install/suites/*.sh "$dir/opt/passthru-test/"
install -m 0644 "$TOP/tests/install/boot-claims.sh" "$dir/opt/passthru-test/boot-claims.sh"
install -m 0644 "$TOP/tests/install/mark-lib.sh" "$dir/opt/passthru-test/mark-lib.sh"
install -m 0644 "$TOP/tests/install/passthru-test.service" "$dir/etc/systemd/system/passthru-test.service"
ln -sf /etc/systemd/system/passthru-test.service "$dir/etc/systemd/system/multi-user.target.wants/"
# The packages as a user would have them (README.md: apt install ./*.deb).
mkdir -p "$dir/root/debs"
cp "${debs[@]}" "$dir/root/debs/"
# The kernel that "arrives" after the install (tests/install/newkernel.sh).
mkdir -p "$dir/root/new-kernel"
cp "$newkernel"/*.deb "$newkernel/kver" "$dir/root/new-kernel/"

kver=$(ls "$dir"/lib/modules | sort -V | tail -n 1)
cp "$dir/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$dir/boot/initrd.img-$kver" "$work/initrd.img"
truncate -s 6G "$work/disk.img"
mkfs.ext4 -q -F -d "$dir" "$work/disk.img"
rm -rf "$dir"

vm() {
    local suite=$1 append=$2
    [[ " ${STAGES:-install dracut newkernel mark marked unmarked verify} " == *" $suite "* ]] || return 0
    python3 "$TOP/tests/vm/vmrun.py" --kernel "${KERNEL:-$work/vmlinuz}" --initrd "${INITRD:-$work/initrd.img}" \
        --disk "$work/disk.img" --memory 2048 --timeout 2400 --suite "$suite" \
        --out "$BUILD/results/$suite" --append "root=/dev/vda rw $append"
}

rc=0
vm install "" || rc=1
# The initramfs that stage 1 rebuilt, with passthru in it.
debugfs -R "dump /boot/initrd.img-$kver $work/initrd.img" "$work/disk.img" 2>/dev/null
# The image dracut made in stage 1, booted once before the main one.
if debugfs -R "dump /boot/initrd-dracut.img-$kver $work/initrd-dracut.img" "$work/disk.img" 2>/dev/null &&
    [[ -s $work/initrd-dracut.img ]]; then
    INITRD=$work/initrd-dracut.img vm dracut "" || rc=1
else
    mkdir -p "$BUILD/results/dracut"
    echo "FAIL dracut.setup (stage 1 made no dracut image)" >"$BUILD/results/dracut/results"
    rc=1
fi
# The new kernel that stage 1 installed after passthru, with DKMS's build.
if debugfs -R "dump /boot/vmlinuz-$newkver $work/vmlinuz-new" "$work/disk.img" 2>/dev/null &&
    debugfs -R "dump /boot/initrd.img-$newkver $work/initrd-new.img" "$work/disk.img" 2>/dev/null &&
    [[ -s $work/vmlinuz-new && -s $work/initrd-new.img ]]; then
    KERNEL=$work/vmlinuz-new INITRD=$work/initrd-new.img vm newkernel "passthru.hide=(01:00.0)(02:00.0)" || rc=1
else
    mkdir -p "$BUILD/results/newkernel"
    echo "FAIL newkernel.setup (stage 1 left no Linux $newkver in /boot)" >"$BUILD/results/newkernel/results"
    rc=1
fi
# A mark, then an unmark, each across a reboot: the bootloader's part is
# played by taking the refreshed /boot/initrd.img out of the disk again.
# ("mark" purges the new kernel first: each refresh then makes one image.)
for stage in mark marked unmarked; do
    debugfs -R "dump /boot/initrd.img-$kver $work/initrd.img" "$work/disk.img" 2>/dev/null
    vm $stage "passthru.hide=(01:00.0)" || rc=1
done
debugfs -R "dump /boot/initrd.img-$kver $work/initrd.img" "$work/disk.img" 2>/dev/null
vm verify "passthru.hide=(01:00.0)(02:00.0)" || rc=1
exit $rc
