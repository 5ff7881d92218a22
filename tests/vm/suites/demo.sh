# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# make demo: booted with passthru.hide=(01:00.0)(02:00.0); tell what
# happened, in plain words, and check it while telling.

describe() {
    local dev=$1 what=$2 drv
    drv=$(driver "$dev")
    if [ "$drv" = passthru ]; then
        say "  $dev ($what): claimed by passthru and kept for passthrough"
        say "      kernel: $(grep -o "passthru $dev: claimed.*" /tmp/boot.dmesg)"
    else
        say "  $dev ($what): held by '$drv' -- NOT claimed"
        return 1
    fi
}

testcase_demo() {
    local nics ok=0
    say ""
    say "The kernel booted with: $(tr ' ' '\n' </proc/cmdline | grep '^passthru\.')"
    say "passthru.ko was loaded from the initramfs before any host driver."
    say ""
    say "Devices:"
    describe 0000:01:00.0 "edu test device 1234:11e8" || ok=1
    describe 0000:02:00.0 "Intel 82574L NIC 8086:10d3" || ok=1
    say ""
    say "Now loading the NIC's host driver: modprobe e1000e"
    modprobe e1000e
    nics=$(ls /sys/bus/pci/devices/0000:02:00.0/net 2>/dev/null || true)
    if [ -z "$nics" ] && [ "$(driver 0000:02:00.0)" = passthru ]; then
        say "  e1000e loaded, but it did not get the NIC: no network interface appeared."
    else
        say "  e1000e took the NIC ($nics) -- passthru did not keep it!"
        ok=1
    fi
    say ""
    say "What passthru.ko reports over netlink (ptnl get):"
    ptnl get | while read -r line; do say "  $line"; done
    say ""
    return $ok
}
