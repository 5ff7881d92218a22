#!/bin/bash
# dracut module: passthru.ko in the initramfs, loaded before udev.
# shellcheck disable=SC2154 # dracut sets initdir, kernel and moddir
check() { return 0; }
depends() { return 0; }
# Also in host-only images, where dracut would otherwise take only the
# modules loaded now: passthru.ko must be there before it is ever loaded.
# instmods passes over a module it does not find for $kernel without a
# word (DKMS built none: the kernel's headers were not installed, or the
# build failed); with devices marked, that kernel boots with host drivers
# bound to them: say so, as data/initramfs-tools/hook does, and for the
# same reason only a warning: a failed image fails the kernel package.
installkernel() {
    hostonly='' instmods passthru vfio-pci
    [[ -z $(find "$initdir" -name 'passthru.ko*' 2>/dev/null) ]] || return 0
    local marks
    # hide= or ids= in the files install() puts in, or on this boot's command line.
    marks=$( { grep -h '^[[:space:]]*options[[:space:]]\+passthru[[:space:]]' \
        /etc/modprobe.d/passthru*.conf /usr/lib/modprobe.d/passthru*.conf
        tr -s ' ' '\n' </proc/cmdline | sed -n 's/^passthru\.//p'; } 2>/dev/null |
        grep -oE '(hide|ids)=[^[:space:]]+' | tr '\n' ' ')
    [[ -n $marks ]] || return 0
    dwarn "passthru: no passthru.ko for Linux $kernel: booted with this initramfs, it does not hide the devices marked for passthrough (${marks% }) before host drivers bind them"
    dwarn "passthru: install linux-headers-$kernel so that DKMS builds passthru for it (dkms status passthru), then run: dracut --force --kver $kernel"
}
install() {
    inst_hook cmdline 00 "$moddir/passthru-load.sh"
    # passthrud's hide rules (/etc) and the shipped softdep (/usr/lib).
    for f in /etc/modprobe.d/passthru*.conf /usr/lib/modprobe.d/passthru*.conf; do
        [ -e "$f" ] && inst_simple "$f"
    done
}
