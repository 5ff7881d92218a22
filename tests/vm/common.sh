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

# select_kernel stock|debug: set KVER, KERNEL, KDIR and MODROOT for the VM.
# stock is Debian's 6.1 kernel; debug is tests/kernel/debug.config's, built
# once and cached (KUnit, KASAN, lockdep, kmemleak, failslab).
select_kernel() {
    local dir
    case $1 in
    stock)
        KVER=$(vm_kver) || return 1
        KERNEL=/boot/vmlinuz-$KVER
        KDIR=/lib/modules/$KVER/build
        MODROOT=
        ;;
    debug)
        dir=$("$TOP/tests/kernel/build.sh") || return 1
        KVER=$(cat "$dir/kver")
        KERNEL=$dir/bzImage
        KDIR=$dir/build
        MODROOT=$dir/root
        ;;
    *)
        echo "unknown kernel '$1'" >&2
        return 1
        ;;
    esac
}

# build_modules: passthru.ko (and passthru-kunit.ko when the kernel has
# KUnit) for $KDIR, built in a directory of their own; prints their paths.
build_modules() {
    local dir=$BUILD/kmod-$KVER
    rm -rf "$dir"
    mkdir -p "$dir/tests"
    cp -r "$TOP/Kbuild" "$TOP/VERSION" "$TOP/kmod" "$TOP/include" "$dir/"
    cp -r "$TOP/tests/kunit" "$dir/tests/"
    make -C "$KDIR" M="$dir" W=1 modules >"$dir/build.log" 2>&1 ||
        { cat "$dir/build.log" >&2; return 1; }
    find "$dir" -name '*.ko' | sort
}

# build_initramfs OUT: the test VM's initramfs for the selected kernel;
# $INITRAMFS_EXTRA: more mkinitramfs.sh options (the demo's QEMU).
build_initramfs() {
    local out=$1 lock rc=0
    # make check's two lanes may build one kernel's at once: one at a time,
    # the image renamed into place (a VM of the other lane may be reading it).
    exec {lock}>"$BUILD/.initramfs-$KVER.lock"
    flock "$lock"
    if build_initramfs_unlocked "$out.tmp.$$"; then
        mv -f "$out.tmp.$$" "$out"
    else
        rc=1
    fi
    rm -f "$out.tmp.$$"
    exec {lock}>&-
    return $rc
}

build_initramfs_unlocked() {
    local out=$1 kos
    kos=$(build_modules) || return 1
    make -s -C "$TOP" tools daemon >&2
    # The documented D-Bus members, for the introspection test.
    # Written aside and renamed: the other lane of make check may be reading it.
    python3 "$TOP/tests/unit/docs.py" --contract >"$BUILD/contract.txt.$$" || return 1
    mv -f "$BUILD/contract.txt.$$" "$BUILD/contract.txt"
    "$TOP/tests/vm/mkinitramfs.sh" -k "$KVER" -o "$out" ${MODROOT:+-d "$MODROOT"} -m "$kos" \
        -b "$BUILD/ptnl" -b "$BUILD/ptnl-fuzz" -b "$BUILD/vfio-check" -b "$BUILD/pt-hold" -b "$BUILD/pt-flood" -b "$BUILD/pt-stash" -b "$BUILD/direct-acquire" -b "$BUILD/passthrud" -b "$BUILD/passthructl" -b "$BUILD/pt-reuse" \
        -b "$BUILD/pt-bench" -b "$BUILD/pt-bench-floor" -b "$BUILD/passthrud-faults" \
        -b /usr/bin/dbus-daemon -b /usr/bin/busctl -b /usr/bin/dbus-send \
        -M virtio_pci -M virtio_console -M e1000e -M e1000 -M igb -M igbvf -M vfio-pci -M pci-stub \
        -f /usr/share/dbus-1/system.conf:/usr/share/dbus-1/system.conf \
        -f "$TOP/data/org.passthru1.conf:/usr/share/dbus-1/system.d/org.passthru1.conf" \
        -f /usr/share/misc/pci.ids:/usr/share/misc/pci.ids \
        -f "$BUILD/contract.txt:/tests/contract.txt" -f "$TOP/tests/vm/init.sh:/init" -f "$TOP/tests/vm/lib.sh:/tests/lib.sh" \
        $(for s in "$TOP"/tests/vm/suites/*.sh; do echo "-f $s:/tests/$(basename "$s")"; done) \
        ${INITRAMFS_EXTRA:-}
}
