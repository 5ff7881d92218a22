# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by the install suites booted with passthru.hide=(01:00.0)(02:00.0):
# did the initramfs's passthru.ko claim both devices before any host driver,
# and before the root file system was mounted?

EDU=0000:01:00.0
NIC=0000:02:00.0

# "[   1.234567] text" -> 1234567 (microseconds)
usec_of() {
    grep -m1 "$1" /tmp/boot.dmesg | sed 's/^\[ *\([0-9]*\)\.\([0-9]*\)\].*/\1\2/'
}

# assert_claimed_from_initramfs WHAT: WHAT names the image in the failure.
assert_claimed_from_initramfs() {
    local claim root
    assert_driver $EDU passthru
    assert_driver $NIC passthru
    [ ! -e $SYS/$NIC/net ] || fail "e1000e made a network interface of $NIC"
    ! grep -q "e1000e $NIC" /tmp/boot.dmesg || fail "e1000e touched $NIC"
    claim=$(usec_of "passthru $NIC: claimed")
    root=$(usec_of "EXT4-fs (vda): mounted")
    echo "claimed at $claim us, root mounted at $root us"
    [ -n "$claim" ] && [ -n "$root" ] && [ "$claim" -lt "$root" ] ||
        fail "passthru claimed $NIC after the root file system was mounted: not from $1"
}
