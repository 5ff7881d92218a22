#!/bin/bash
# dracut module: passthru.ko in the initramfs, loaded before udev.
check() { return 0; }
depends() { return 0; }
installkernel() { instmods passthru vfio-pci; }
install() {
    inst_hook cmdline 00 "$moddir/passthru-load.sh"
    for f in /etc/modprobe.d/passthru.conf /usr/lib/modprobe.d/passthru.conf; do
        [ -e "$f" ] && inst_simple "$f"
    done
}
