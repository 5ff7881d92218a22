# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# make demo: booted with passthru.hide=(01:00.0)(02:00.0); tell the whole
# story in plain words, and check each step while telling it:
#   1. the kernel hid two devices at boot; the NIC's host driver did not get it;
#   2. passthrud started; passthructl check and list as a user sees them;
#   3. alice runs a real QEMU through passthructl run; QEMU lists the device;
#   4. meanwhile a second VM asks and is refused, naming the first;
#   5. QEMU quits; the device comes back reset; the second VM now gets it.
# A step that did not happen fails its case (and make demo).

EDU=0000:01:00.0
NIC=0000:02:00.0

# step TEXT: a heading on the newcomer's terminal.
step() {
    say ""
    say "== $*"
}

# show COMMAND...: run it, and print its output indented.
show() {
    say "  \$ $*"
    "$@" >/tmp/show.out 2>&1
    local rc=$?
    while IFS= read -r line; do say "    $line"; done </tmp/show.out
    return $rc
}

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

# qemu_start VM: a QEMU guest (paused: the device is attached, no guest
# code runs) as alice through passthructl run, with QMP on a fifo that a
# sleeping writer keeps open (each case runs in a subshell of its own).
qemu_start() {
    rm -f /tmp/qmp-$1.in /tmp/qmp-$1.out
    mkfifo /tmp/qmp-$1.in
    $ALICE passthructl run --device 01:00.0 --vm "$1" --memory 256M -- \
        qemu-system-x86_64 -S -nodefaults -machine q35 -accel tcg -m 64 -display none \
        -device vfio-pci,host=$EDU,id=hostdev0 -qmp stdio \
        </tmp/qmp-$1.in >/tmp/qmp-$1.out 2>/tmp/qemu-$1.err &
    echo $! >/tmp/qemu-$1.pid
    sleep 100000 >/tmp/qmp-$1.in &
    echo $! >/tmp/qmp-$1.writer
    qmp $1 '{"execute":"qmp_capabilities"}'
}

# qmp VM JSON: one command to that QEMU.
qmp() {
    echo "$2" >/tmp/qmp-$1.in
}

# qemu_pci VM: QEMU's own PCI list ("info pci" through QMP), once it answers.
qemu_pci() {
    qmp $1 '{"execute":"human-monitor-command","arguments":{"command-line":"info pci"}}'
    for i in $(seq 1 300); do
        grep -q 'Bus ' /tmp/qmp-$1.out 2>/dev/null && return 0
        alive "$(cat /tmp/qemu-$1.pid)" || return 1
        sleep 0.1
    done
    return 1
}

# pci_list VM: that answer, one line of QEMU's text a line.
pci_list() {
    sed 's/\\r\\n/\n/g; s/\\"/"/g' /tmp/qmp-$1.out
}

# qemu_quit VM: quit, and passthructl run (the lease holder) is gone within 10 s.
qemu_quit() {
    local pid
    pid=$(cat /tmp/qemu-$1.pid)
    qmp $1 '{"execute":"quit"}'
    kill "$(cat /tmp/qmp-$1.writer)" 2>/dev/null
    for i in $(seq 1 100); do
        alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

suite_setup() {
    modprobe vfio-pci
}

testcase_1_the_kernel_hid_two_devices_at_boot() {
    local nics ok=0
    step "1. The kernel hid two devices at boot"
    say "The kernel booted with: $(tr ' ' '\n' </proc/cmdline | grep '^passthru\.')"
    say "passthru.ko was loaded from the initramfs before any host driver."
    describe $EDU "edu test device 1234:11e8" || ok=1
    describe $NIC "Intel 82574L NIC 8086:10d3" || ok=1
    say "Now loading the NIC's host driver: modprobe e1000e"
    modprobe e1000e
    nics=$(ls /sys/bus/pci/devices/$NIC/net 2>/dev/null || true)
    if [ -z "$nics" ] && [ "$(driver $NIC)" = passthru ]; then
        say "  e1000e loaded, but it did not get the NIC: no network interface appeared."
    else
        say "  e1000e took the NIC ($nics) -- passthru did not keep it!"
        ok=1
    fi
    return $ok
}

testcase_2_passthrud_and_what_a_user_sees() {
    step "2. passthrud lends devices over D-Bus; alice (group passthru) looks"
    daemon_setup $EDU
    say "  passthrud runs (pid $(cat /tmp/passthrud.pid)) on the system bus as org.passthru1."
    show $ALICE passthructl check || true
    show $ALICE passthructl list || fail "passthructl list failed"
    $ALICE passthructl list --no-legend | grep "^$EDU" | grep -q available || fail "$EDU is not available"
}

testcase_3_a_real_qemu_gets_the_device() {
    step "3. alice starts a VM: QEMU through passthructl run"
    say "  \$ passthructl run --device 01:00.0 --vm web -- qemu-system-x86_64 ... -device vfio-pci,host=$EDU"
    qemu_start web
    qemu_pci web || fail "QEMU did not answer: $(cat /tmp/qemu-web.err)"
    say "  QEMU's own PCI list (info pci) shows the device inside the VM:"
    pci_list web | grep -B1 -A5 '1234:11e8' | while IFS= read -r line; do say "    $line"; done
    pci_list web | grep -q 'PCI device 1234:11e8' || fail "QEMU's PCI list has no 1234:11e8"
    pci_list web | grep -q 'id "hostdev0"' || fail "QEMU's PCI list has no hostdev0: $(pci_list web | tail -n 5)"
    assert_driver $EDU vfio-pci
}

testcase_4_a_second_vm_is_refused_naming_the_first() {
    local out rc=0
    step "4. Meanwhile a second VM asks for the same device"
    say "  \$ passthructl run --device 01:00.0 --vm db -- qemu-system-x86_64 ..."
    out=$($ALICE passthructl run --device 01:00.0 --vm db -- true 2>&1) || rc=$?
    say "    $out"
    [ $rc -ne 0 ] || fail "a second VM got a leased device"
    echo "$out" | grep -q "web" || fail "the refusal does not name VM web: $out"
    show $ALICE passthructl list --no-legend
    $ALICE passthructl list --no-legend | grep "^$EDU" | grep -q "leased.*web" || fail "list does not show the owner"
}

testcase_5_qemu_quits_the_device_comes_back_reset() {
    step "5. QEMU quits: the device comes back, reset, and the second VM gets it"
    qemu_quit web || fail "QEMU (VM web) did not quit"
    wait_available $EDU
    assert_staged $EDU
    show $ALICE passthructl show 01:00.0
    grep -q "Last reset: .*ok" /tmp/show.out || fail "no successful reset recorded: $(cat /tmp/show.out)"
    grep -q "Driver: vfio-pci (staged" /tmp/show.out || fail "show does not say the device is staged: $(cat /tmp/show.out)"
    say "  Reset, it stays on vfio-pci with its group's /dev/vfio node held by passthrud (staged):"
    say "  nobody else can open it, and the next grant hands over that node without moving anything."
    say "  \$ passthructl run --device 01:00.0 --vm db -- qemu-system-x86_64 ..."
    qemu_start db
    qemu_pci db || fail "the second VM's QEMU did not answer: $(cat /tmp/qemu-db.err)"
    pci_list db | grep -q 'PCI device 1234:11e8' || fail "the second VM does not see the device"
    say "  VM db has the device now (QEMU's PCI list shows 1234:11e8); it quits, and the device is back, reset."
    qemu_quit db || fail "QEMU (VM db) did not quit"
    wait_available $EDU
    say "  Root can always take it back to passthru (a reset on the way):"
    show passthructl reset 01:00.0 || fail "passthructl reset: $(cat /tmp/show.out)"
    assert_driver $EDU passthru
    say ""
    say "That is passthru: devices hidden from the host at boot, lent to one VM at a time,"
    say "taken back reset. See README.md and passthructl(1)."
}
