#!/bin/bash
# dracut module: passthru.ko in the initramfs, loaded before udev.
check() { return 0; }
depends() { return 0; }
# Also in host-only images, where dracut would otherwise take only the
# modules loaded now: passthru.ko must be there before it is ever loaded.
installkernel() { hostonly='' instmods passthru vfio-pci; }
install() {
    inst_hook cmdline 00 "$moddir/passthru-load.sh"
    # passthrud's hide rules (/etc) and the shipped softdep (/usr/lib).
    for f in /etc/modprobe.d/passthru*.conf /usr/lib/modprobe.d/passthru*.conf; do
        [ -e "$f" ] && inst_simple "$f"
    done
}
