# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the scripts that boot test VMs: where things are.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$TOP/build

# The guest kernel: Debian's 6.1 from linux-image-amd64, whose headers
# are installed too.
vm_kver() {
    local k
    for k in $(ls -1 /boot/vmlinuz-6.1.* 2>/dev/null | sort -rV); do
        k=${k#/boot/vmlinuz-}
        if [[ -d /lib/modules/$k/build ]]; then
            echo "$k"
            return 0
        fi
    done
    echo "No Debian 6.1 kernel with headers: run 'make deps'" >&2
    return 1
}

# build_module KVER: passthru.ko for KVER, built in its own directory.
build_module() {
    local kver=$1 dir=$BUILD/kmod-$1
    mkdir -p "$dir"
    cp -r "$TOP/Kbuild" "$TOP/kmod" "$TOP/include" "$dir/"
    make -C "/lib/modules/$kver/build" M="$dir" W=1 modules >"$dir/build.log" 2>&1 ||
        { cat "$dir/build.log" >&2; return 1; }
    echo "$dir/kmod/passthru.ko"
}

# build_initramfs KVER OUT: the test VM's initramfs with passthru.ko for KVER.
build_initramfs() {
    local kver=$1 out=$2 ko
    ko=$(build_module "$kver")
    make -s -C "$TOP" tools >&2
    "$TOP/tests/vm/mkinitramfs.sh" -k "$kver" -o "$out" -m "$ko" \
        -b "$BUILD/ptnl" -b "$BUILD/vfio-check" \
        -M virtio_pci -M virtio_console -M e1000e -M vfio-pci \
        -f "$TOP/tests/vm/init.sh:/init" -f "$TOP/tests/vm/lib.sh:/tests/lib.sh" \
        $(for s in "$TOP"/tests/vm/suites/*.sh; do echo "-f $s:/tests/$(basename "$s")"; done)
}
