#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# passthructl's libvirt QEMU hook (cli/libvirt.c) without a VM: libvirt's
# calls, played by hand, against a stand-in passthrud (tests/tools/pt-standin.c)
# on a private bus, in a mount namespace whose /run is a tmpfs (the holders'
# pid files stay in it, and no systemd scope is made).  The real libvirt and
# passthrud meet in the install test (tests/install/suites/verify.sh).
# Prints "PASS|FAIL|SKIP unit.libvirt.NAME [why]".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ctl=${PASSTHRUCTL:-$top/build/passthructl}
standin=$top/build/pt-standin

if [[ -z ${PT_LIBVIRT_NS:-} ]]; then
    if ! unshare --mount --propagation private true 2>/dev/null; then
        echo "SKIP unit.libvirt.hook (no mount namespace: unshare --mount is refused here)"
        exit 0
    fi
    exec unshare --mount --propagation private env PT_LIBVIRT_NS=1 "$0" "$@"
fi
dir=$(mktemp -d)
# /run and /dev of our own: the holders' pid files, and a /dev/vfio/7 for a stand-in QEMU to open.
touch "$dir/null"
if ! mount -t tmpfs tmpfs /run || ! mount --bind /dev/null "$dir/null" || ! mount -t tmpfs tmpfs /dev ||
    ! touch /dev/null || ! mount --bind "$dir/null" /dev/null || ! mkdir /dev/vfio || ! touch /dev/vfio/7; then
    echo "FAIL unit.libvirt.setup cannot make /run and /dev of its own"
    exit 1
fi
dbus-daemon --session --address="unix:path=$dir/bus" --fork --print-pid >"$dir/bus.pid" || exit 1
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/bus
"$standin" "$DBUS_SYSTEM_BUS_ADDRESS" >"$dir/standin.log" 2>&1 &
standin_pid=$!
cleanup() {
    local pid
    for f in /run/passthru-libvirt/*.pid; do
        [[ -f $f ]] && pid=$(cat "$f") && kill "$pid" 2>/dev/null
    done
    kill "$standin_pid" "$(cat "$dir/bus.pid")" 2>/dev/null
    umount "$dir/null" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
for i in $(seq 1 50); do
    grep -q ready "$dir/standin.log" && break
    sleep 0.1
done
rc=0

# domain NAME MANAGED BUS: a domain XML as libvirt gives it, one PCI hostdev 0000:BUS:00.0.
domain() {
    cat <<XML
<domain type='qemu' id='1'>
  <name>$1</name>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='$2'>
      <driver name='vfio'/>
      <source><address domain='0x0000' bus='0x$3' slot='0x00' function='0x0'/></source>
      <alias name='hostdev0'/>
    </hostdev>
  </devices>
</domain>
XML
}

# hook NAME OP MANAGED BUS: run the hook as libvirt does; its output in $out, status in $status.
hook() {
    out=$(domain "$1" "$3" "$4" | timeout 60 "$ctl" libvirt-hook "$1" "$2" begin - 2>&1)
    status=$?
}

check() {
    local name=$1
    shift
    if "$@"; then
        echo "PASS unit.libvirt.$name"
    else
        echo "FAIL unit.libvirt.$name: status $status, output: $(tr '\n' '|' <<<"$out")"
        rc=1
    fi
}

# The holder of DOMAIN's leases: alive, and passthructl libvirt-hold.
holder_alive() {
    local pid
    pid=$(cat "/run/passthru-libvirt/$1.pid" 2>/dev/null) || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "libvirt-hold $1 0000:01:00.0"
}

# alive PID: a process that is not a zombie (an orphaned holder waits to be reaped).
alive() {
    [[ -n $(tr -d '\0' <"/proc/$1/cmdline" 2>/dev/null) ]]
}

owner() {
    "$ctl" list --no-legend | awk '$1 == "0000:01:00.0" { print $4 " " $6 }'
}

out=$(domain x no 01 | DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent "$ctl" libvirt-hook x started begin - 2>&1)
status=$?
check other_operations_need_no_bus [ $status -eq 0 ]

hook vm-a prepare no 01
check prepare_leases_for_the_domain_and_a_holder_keeps_it \
    eval '[ $status -eq 0 ] && holder_alive vm-a && [ "$(owner)" = "leased vm-a" ]'

hook vm-b prepare no 01
check second_domain_is_refused_naming_the_first \
    eval '[ $status -ne 0 ] && grep -q "leased to VM '"'vm-a'"'" <<<"$out" && ! [ -e /run/passthru-libvirt/vm-b.pid ] &&
          [ "$(owner)" = "leased vm-a" ]'

# libvirt calls release after a start that failed: vm-a keeps its device.
hook vm-b release no 01
check release_of_a_refused_domain_leaves_the_holder_alone \
    eval '[ $status -eq 0 ] && holder_alive vm-a && [ "$(owner)" = "leased vm-a" ]'

hook vm-m prepare yes 01
check managed_yes_on_a_passthru_device_is_refused \
    eval '[ $status -ne 0 ] && grep -q "Use managed='"'no'"'" <<<"$out" && ! [ -e /run/passthru-libvirt/vm-m.pid ]'

hook vm-h prepare yes 02
check a_host_device_is_libvirts_own \
    eval '[ $status -eq 0 ] && ! [ -e /run/passthru-libvirt/vm-h.pid ]'

old=$(cat /run/passthru-libvirt/vm-a.pid)
hook vm-a release no 01
check release_stops_the_holder_and_waits_for_the_device \
    eval '[ $status -eq 0 ] && ! alive $old && ! [ -e /run/passthru-libvirt/vm-a.pid ] &&
          [ "$(owner)" = "available -" ]'

hook vm-b prepare no 01
check the_second_domain_starts_once_the_first_is_gone \
    eval '[ $status -eq 0 ] && holder_alive vm-b && [ "$(owner)" = "leased vm-b" ]'

# A holder left by a start that libvirt never released is replaced.
old=$(cat /run/passthru-libvirt/vm-b.pid)
hook vm-b prepare no 01
check a_stale_holder_is_replaced \
    eval '[ $status -eq 0 ] && holder_alive vm-b && [ "$(cat /run/passthru-libvirt/vm-b.pid)" != "$old" ] &&
          ! alive $old && [ "$(owner)" = "leased vm-b" ]'
hook vm-b release no 01

# A stand-in for the domain's QEMU as the holder knows it: the pid libvirt
# writes in /run/libvirt/qemu/DOMAIN.pid, a process run with "-name
# guest=DOMAIN", with /dev/vfio/7 open while SCRIPT runs (bash -c SCRIPT).
mkdir -p /run/libvirt/qemu
qemu_standin() {
    bash -c "exec 9<>/dev/vfio/7; $2" qemu-system-x86_64 -name "guest=$1,debug-threads=on" &
    echo $! >/run/libvirt/qemu/$1.pid
}
wait_available() {
    for i in $(seq 1 100); do
        [ "$(owner)" = "available -" ] && break
        sleep 0.1
    done
}

# The domain's QEMU opens the group and goes without a release (libvirtd
# died, say): the holder lets go by itself, a few seconds later.
hook vm-q prepare no 01
qemu_standin vm-q 'while :; do sleep 0.2; done'
qemu=$!
sleep 2
kill $qemu
wait $qemu 2>/dev/null
wait_available
check holder_lets_go_once_qemu_has_gone \
    eval '[ $status -eq 0 ] && [ "$(owner)" = "available -" ] && ! [ -e /run/passthru-libvirt/vm-q.pid ]'

# Its QEMU closes the group and lives on (virsh detach-device), and another
# process opens the group (a second domain's attach-device): the first
# domain's lease ends all the same, so the device is not used under its name.
hook vm-u prepare no 01
qemu_standin vm-u 'sleep 2; exec 9>&-; while :; do sleep 0.2; done'
qemu=$!
sleep 3
sleep 30 8<>/dev/vfio/7 &
other=$!
wait_available
check group_the_domains_qemu_closed_ends_its_lease_whoever_opens_it \
    eval '[ $status -eq 0 ] && [ "$(owner)" = "available -" ] && alive $qemu && ! holder_alive vm-u'
kill $qemu $other 2>/dev/null
wait $qemu $other 2>/dev/null

# A process that is not the domain's QEMU (no "-name guest=vm-s") holding
# the group does not count as the domain's: no QEMU appeared, the lease
# stays until release (or the start timeout).
hook vm-s prepare no 01
sleep 30 8<>/dev/vfio/7 &
other=$!
echo $other >/run/libvirt/qemu/vm-s.pid
sleep 5
check another_process_is_not_the_domains_qemu \
    eval '[ $status -eq 0 ] && holder_alive vm-s && [ "$(owner)" = "leased vm-s" ]'
kill $other 2>/dev/null
wait $other 2>/dev/null
hook vm-s release no 01
# passthrud cannot be asked: the hook reads the state file, sysfs and the
# kernel command line itself.  Fakes of them, in this mount namespace: a
# device 0000:01:00.0 (ids 1234:11e8) whose driver is DRIVER, passthru.ko's
# parameters, /proc/cmdline and /var/lib/passthru/state.
fake=$dir/fake
mkdir -p "$fake/pci/0000:01:00.0" "$fake/module" "$fake/varlib/passthru"
printf '%s\n' 0x1234 >"$fake/pci/0000:01:00.0/vendor"
printf '%s\n' 0x11e8 >"$fake/pci/0000:01:00.0/device"
printf '%s\n' 0x1af4 >"$fake/pci/0000:01:00.0/subsystem_vendor"
printf '%s\n' 0x1100 >"$fake/pci/0000:01:00.0/subsystem_device"
printf '%s\n' 0x00ff00 >"$fake/pci/0000:01:00.0/class"
# An SR-IOV PF 0000:06:00.0 whose VF 1 is 0000:01:00.0 (when down's PF names it).
mkdir -p "$fake/pci/0000:06:00.0"
for f in vendor:0x8086 device:0x10c9 subsystem_vendor:0x8086 subsystem_device:0x0000 class:0x020000 \
    sriov_totalvfs:2 sriov_numvfs:2; do
    printf '%s\n' "${f#*:}" >"$fake/pci/0000:06:00.0/${f%%:*}"
done
ln -s ../0000:05:00.0 "$fake/pci/0000:06:00.0/virtfn0"
ln -s ../0000:01:00.0 "$fake/pci/0000:06:00.0/virtfn1"
touch "$fake/cmdline"
if ! mount --bind "$fake/pci" /sys/bus/pci/devices || ! mount --bind "$fake/module" /sys/module ||
    ! mount --bind "$fake/cmdline" /proc/cmdline || ! mount --bind "$fake/varlib" /var/lib; then
    echo "FAIL unit.libvirt.setup cannot fake sysfs, /proc/cmdline and /var/lib"
    exit 1
fi
# down DRIVER CMDLINE HIDE IDS STATE [PF]: the fakes so, then prepare domain
# vm-d (managed='no', 0000:01:00.0) with passthrud unreachable.  DRIVER "-":
# none; HIDE and IDS "-": passthru.ko is not loaded; STATE "-": no state
# file; PF: the device is a VF of that PF.
down() {
    rm -rf /sys/bus/pci/devices/0000:01:00.0/driver /sys/bus/pci/devices/0000:01:00.0/physfn /sys/module/passthru \
        /var/lib/passthru/state
    [[ $1 != - ]] && ln -s "../../../bus/pci/drivers/$1" /sys/bus/pci/devices/0000:01:00.0/driver
    printf '%s\n' "$2" >"$fake/cmdline"
    if [[ $3 != - ]]; then
        mkdir -p /sys/module/passthru/parameters
        printf '%s\n' "$3" >/sys/module/passthru/parameters/hide
        printf '%s\n' "$4" >/sys/module/passthru/parameters/ids
    fi
    [[ $5 != - ]] && printf '%b' "$5" >/var/lib/passthru/state
    [[ -n ${6:-} ]] && ln -s "../$6" /sys/bus/pci/devices/0000:01:00.0/physfn
    out=$(domain vm-d no 01 | DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent timeout 60 "$ctl" libvirt-hook vm-d prepare begin - 2>&1)
    status=$?
}
refused_for() {
    [ "$status" -ne 0 ] && grep -q "domain 'vm-d' names 0000:01:00.0, $1" <<<"$out"
}
# The domain starts, and the hook says nothing of passthru's (only that the bus is not there).
libvirts() {
    [ "$status" -eq 0 ] && ! grep -q '^passthru:' <<<"$out"
}

down vfio-pci 'ro quiet' - - -
check down_a_vfio_device_no_rule_covers_is_libvirts libvirts
down vfio-pci 'ro quiet' '(0000:01:00.0=8086:10d3) (0000:01:00.1)' '8086:10d3,1234:11e8:1af4:1101' -
check down_rules_for_other_ids_or_devices_do_not_cover_it libvirts
down vfio-pci 'BOOT_IMAGE=/vmlinuz ro "passthru.hide=(02:00.0) (01:00.*)" quiet' - - -
check down_a_vfio_device_hidden_on_the_kernel_command_line_is_refused \
    refused_for "which is on vfio-pci and passthru's by the rule (0000:01:00.\\*) (/proc/cmdline)"
down vfio-pci 'ro passthru.ids=8086:10d3,0x1234:0x11e8 quiet' - - -
check down_a_vfio_device_of_the_command_lines_ids_is_refused \
    refused_for "which is on vfio-pci and passthru's by the rule ids=0x1234:0x11e8 (/proc/cmdline)"
down vfio-pci 'ro quiet' '(0000:03:00.0) (0000:01:00.0=1234:11e8)' '' -
check down_a_vfio_device_in_the_modules_hide_is_refused \
    refused_for "which is on vfio-pci and passthru's by the rule (0000:01:00.0=1234:11e8) (/sys/module/passthru/parameters/hide)"
down vfio-pci 'ro quiet' '' '8086:10d3,ffffffff:ffffffff:1af4:1100:00ff00:ffff00' -
check down_a_vfio_device_in_the_modules_ids_is_refused \
    refused_for "which is on vfio-pci and passthru's by the rule ids=ffffffff:ffffffff:1af4:1100:00ff00:ffff00 (/sys/module/passthru/parameters/ids)"
down e1000e 'ro passthru.hide=(01:00.0)' - - -
check down_a_covered_device_on_a_host_driver_is_libvirts libvirts
down passthru 'ro quiet' - - -
check down_a_device_on_passthru_is_refused refused_for "which is passthru's"
down vfio-pci 'ro quiet' - - '[Device 0000:01:00.0]\nPassthrough=yes\n'
check down_a_device_the_state_file_marks_is_refused refused_for "which is passthru's"
down vfio-pci 'ro quiet' - - '[Device 0000:06:00.0]\nPassthrough=no\nNumVFs=2\n' 0000:07:00.0
check down_a_vf_of_a_pf_without_numvfs_is_libvirts libvirts
down vfio-pci 'ro quiet' - - '[Device 0000:06:00.0]\nPassthrough=no\nNumVFs=2\n' 0000:06:00.0
check down_a_vf_of_a_pf_the_state_file_gives_vfs_to_is_refused refused_for "which is passthru's"
down vfio-pci 'ro passthru.hide=(06:00.0/1)' - - - 0000:06:00.0
check down_a_vf_the_command_line_names_by_its_pf_is_refused \
    refused_for "which is on vfio-pci and passthru's by the rule (0000:06:00.0/1) (/proc/cmdline)"
down vfio-pci 'ro quiet' '(0000:03:00.0) (0000:06:00.0/*)' '' - 0000:06:00.0
check down_a_vf_whose_pf_the_modules_hide_names_is_refused \
    refused_for "which is on vfio-pci and passthru's by the rule (0000:06:00.0/\\*) (/sys/module/passthru/parameters/hide)"
down vfio-pci 'ro passthru.hide=(06:00.0/0)(06:00.0)' '(0000:06:00.1/*) (0000:01:00.0/*)' '' - 0000:06:00.0
check down_rules_for_other_vfs_or_the_pf_do_not_cover_a_vf libvirts
down e1000e 'ro quiet' - - '[Device 0000:01:00.0]\nPassthrough=maybe\n'
check down_a_state_file_that_does_not_parse_refuses_every_device \
    eval 'refused_for "and passthrud cannot be asked for a lease (.*) nor its state file read (/var/lib/passthru/state:2: " &&
          grep -q "maybe" <<<"$out"'
exit $rc
