# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# SR-IOV (issue 16), on QEMU 10 (tests/vm/qemu10.sh) with two igb NICs
# (82576: PF 8086:10c9, VFs 8086:10ca), booted with passthru.hide=(01:00.0):
#   06:00.0 igb PF behind root port 00:06.0, which has ACS: the PF and
#           each VF in an IOMMU group of its own
#   07:00.0 igb PF behind root port 00:07.0 with disable-acs=on: port, PF
#           and VFs share one group
# igbvf is loaded before any VF exists, with sriov_drivers_autoprobe on
# (06:00.0) and off (07:00.0): every VF must still end up on passthru.

PF=0000:06:00.0
PFNA=0000:07:00.0

# vf PF N: the address of VF number N of PF (its virtfnN link).
vf() {
    basename "$(readlink "$SYS/$1/virtfn$2")"
}

# hold_vf DEV VM: alice leases DEV and runs the stand-in client on it, which
# keeps the group, container and device fd open; its pid in $HOLDER, its
# output in /tmp/hold-VM.out.
hold_vf() {
    local dev=$1 vm=$2
    $ALICE pt-hold "$dev" "$vm" -- vfio-check --hold --fd @FD@ "$dev" >/tmp/hold-$vm.out 2>&1 &
    HOLDER=$!
    for i in $(seq 1 100); do
        grep -q "^holding $dev" /tmp/hold-$vm.out && return 0
        alive $HOLDER || fail "$vm: the client failed on $dev: $(cat /tmp/hold-$vm.out)"
        sleep 0.1
    done
    fail "$vm: the client did not get to hold $dev: $(cat /tmp/hold-$vm.out)"
}

# No VF driver ever had a VF.
assert_no_igbvf() {
    [ -d /sys/module/igbvf ] || fail "igbvf is not loaded: the test proves nothing"
    if ls /sys/bus/pci/drivers/igbvf | grep -q '^0000:'; then
        fail "igbvf holds $(ls /sys/bus/pci/drivers/igbvf | grep '^0000:' | tr '\n' ' ')"
    fi
    if grep -q 'igbvf 0000:' /tmp/kernel.log /tmp/boot.dmesg 2>/dev/null || dmesg | grep -q 'igbvf 0000:'; then
        fail "igbvf probed a VF: $(dmesg | grep 'igbvf 0000:' | head -n 2)"
    fi
}

# set_num_vfs PF N: through passthructl, in maintenance mode.
set_num_vfs() {
    passthructl maintenance enter
    passthructl sriov "$1" "$2" || { passthructl maintenance exit; fail "passthructl sriov $1 $2 failed"; }
    passthructl maintenance exit
}

suite_setup() {
    modprobe vfio-pci
    modprobe igb
    for pf in $PF $PFNA; do
        [ "$(driver $pf)" = igb ] || echo $pf >/sys/bus/pci/drivers_probe
        assert_driver $pf igb
    done
    modprobe igbvf
    assert_eq "$(cat $SYS/$PF/sriov_drivers_autoprobe)" 1 "sriov_drivers_autoprobe of $PF"
    echo 0 >$SYS/$PFNA/sriov_drivers_autoprobe
    daemon_setup
}

testcase_pf_properties_and_check_report_sriov_and_acs() {
    assert_eq "$(dev_prop $PF TotalVFs)" 7 "TotalVFs"
    assert_eq "$(dev_prop $PF NumVFs)" 0 "NumVFs"
    assert_eq "$(dev_prop $PF PhysicalFunction)" "" "PhysicalFunction of a PF"
    assert_eq "$(dev_prop $PF State)" host "State of the PF"
    passthructl check >/tmp/check || true
    cat /tmp/check
    grep -q "^ok   SR-IOV PF $PF (8086:10c9, driver igb): 0 of 7 VFs" /tmp/check || fail "check: no line for $PF"
    grep -q "ACS on its port 0000:00:06.0: SV RR CR UF" /tmp/check || fail "check: ACS of 00:06.0"
    grep -q "ACS on its port 0000:00:07.0: none" /tmp/check || fail "check: ACS of 00:07.0 (disable-acs)"
}

testcase_vf_count_needs_root_and_maintenance_mode() {
    expect_error org.passthru1.Error.NotInMaintenanceMode call SetNumVFs su $PF 2
    expect_error org.freedesktop.DBus.Error.AccessDenied as_alice pt-hold -X SetNumVFs su $PF 2
    mgr EnterMaintenanceMode
    expect_error org.freedesktop.DBus.Error.InvalidArgs call SetNumVFs su $PF 8
    grep -q "at most 7 VFs" /tmp/out || fail "no limit named: $(cat /tmp/out)"
    expect_error org.freedesktop.DBus.Error.InvalidArgs call SetNumVFs su 0000:02:00.0 1
    mgr ExitMaintenanceMode
}

testcase_vfs_made_through_dbus_are_claimed_by_passthru_not_igbvf() {
    set_num_vfs $PF 2
    set_num_vfs $PFNA 2
    for pf in $PF $PFNA; do
        assert_eq "$(dev_prop $pf NumVFs)" 2 "NumVFs of $pf"
        assert_driver $pf igb
        for n in 0 1; do
            v=$(vf $pf $n)
            assert_driver "$v" passthru
            wait_available "$v"
            assert_eq "$(cat $SYS/$v/vendor):$(cat $SYS/$v/device)" 0x8086:0x10ca "ids of $v"
            assert_eq "$(dev_prop "$v" PhysicalFunction)" $pf "PhysicalFunction of $v"
            assert_eq "$(ptnl get | awk -v a="$v" '$1 == a { print $2, $3, $5 }')" "claimed 8086:10ca ($pf/*)" \
                "passthru.ko's view of $v"
        done
        assert_eq "$(dev_prop $pf VirtualFunctions)" "2 $(vf $pf 0) $(vf $pf 1)" "VirtualFunctions of $pf"
    done
    assert_no_igbvf
    # The count is kept, and the VFs hidden at boot.
    grep -A3 "^\[Device $PF\]" /var/lib/passthru/state | grep -qx 'NumVFs=2' || fail "state: $(cat /var/lib/passthru/state)"
    grep -q "($PF/\*)($PFNA/\*)" /etc/modprobe.d/passthru.conf || fail "modprobe.d: $(cat /etc/modprobe.d/passthru.conf)"
    # passthructl list: the VFs right under their PF, indented.
    passthructl list --no-legend >/tmp/list
    cat /tmp/list
    grep -A2 "^$PF " /tmp/list | tail -n 2 | awk '{ print $1 }' | tr '\n' ' ' >/tmp/under
    assert_eq "$(cat /tmp/under)" "$(vf $PF 0) $(vf $PF 1) " "devices under $PF"
    grep -q "^  $(vf $PF 0) " /tmp/list || fail "VF not indented"
}

testcase_two_vfs_leased_to_two_vms_at_once() {
    a=$(vf $PF 0)
    b=$(vf $PF 1)
    [ "$(dev_prop "$a" IommuGroup)" != "$(dev_prop "$b" IommuGroup)" ] || fail "the VFs share a group"
    [ "$(dev_prop "$a" IommuGroup)" != "$(dev_prop $PF IommuGroup)" ] || fail "VF 0 shares the PF's group"
    hold_vf "$a" vm-a
    A=$HOLDER
    hold_vf "$b" vm-b
    B=$HOLDER
    cat /tmp/hold-vm-a.out /tmp/hold-vm-b.out
    # The stand-in client's VFIO checks, each VM on its own VF, both held now.
    for vm in vm-a vm-b; do
        [ $vm = vm-a ] && v=$a || v=$b
        for check in "container API version" "group .* is viable" "group attached to the container" \
            "device fd for $v: vfio-pci" "config vendor 8086 device 10ca matches sysfs"; do
            grep -q "^ok: $check" /tmp/hold-$vm.out || fail "$vm: no '$check': $(cat /tmp/hold-$vm.out)"
        done
    done
    alive $A && alive $B || fail "a client ended"
    assert_eq "$(dev_prop "$a" Owner) $(dev_prop "$b" Owner)" "vm-a vm-b" "owners"
    assert_driver $PF igb
    # Changing the count now is refused, naming both leases, in or out of maintenance mode.
    expect_error org.passthru1.Error.DeviceBusy call SetNumVFs su $PF 3
    grep -q "$a (VM 'vm-a', pid" /tmp/out && grep -q "$b (VM 'vm-b', pid" /tmp/out ||
        fail "the leases are not named: $(cat /tmp/out)"
    assert_eq "$(cat $SYS/$PF/sriov_numvfs)" 2 "sriov_numvfs"
    # pt-hold and the client it runs.
    kill $(cat /proc/$A/task/$A/children /proc/$B/task/$B/children) $A $B
    wait_available "$a"
    wait_available "$b"
    # Both leases ended: now it works.
    set_num_vfs $PF 3
    assert_eq "$(dev_prop $PF NumVFs)" 3 "NumVFs"
    assert_driver "$(vf $PF 2)" passthru
    wait_available "$(vf $PF 2)"
    assert_no_igbvf
}

testcase_vf_sharing_a_group_with_its_pf_is_refused_naming_the_pf() {
    v=$(vf $PFNA 0)
    assert_driver "$v" passthru
    assert_eq "$(dev_prop "$v" IommuGroup)" "$(dev_prop $PFNA IommuGroup)" "group of $v and its PF"
    assert_eq "$(dev_prop "$v" Viable)" false "Viable"
    expect_error org.passthru1.Error.GroupNotViable as_alice pt-hold "$v" vm-c
    grep -q "$PFNA, the PF of this VF, is held by host driver 'igb'" /tmp/out || fail "the PF is not named: $(cat /tmp/out)"
    passthructl check >/tmp/check || true
    grep -q "its VFs share IOMMU group with the PF" /tmp/check || fail "check: $(grep -A3 "$PFNA" /tmp/check)"
}

testcase_pf_with_vfs_cannot_be_taken_from_its_driver() {
    mgr EnterMaintenanceMode
    expect_error org.passthru1.Error.DeviceBusy call SetPassthrough sba{sv} $PF true Live=true
    grep -q "a PF with 3 VFs" /tmp/out || fail "$(cat /tmp/out)"
    mgr ExitMaintenanceMode
    assert_driver $PF igb
}

# passthrud restarted under a running VM, with a saved count that differs
# from what the PF has: the leased VF is not taken away (writing the count
# would remove it), and the journal says why.
testcase_a_restart_under_a_leased_vf_leaves_the_count_alone() {
    hold_vf "$(vf $PF 0)" vm-a
    kill -9 "$(cat /tmp/passthrud.pid)"
    wait "$(cat /tmp/passthrud.pid)" 2>/dev/null || true
    sed -i "/^\[Device $PF\]/,/^\$/ s/^NumVFs=3\$/NumVFs=4/" /var/lib/passthru/state
    grep -qx 'NumVFs=4' /var/lib/passthru/state || fail "state: $(cat /var/lib/passthru/state)"
    start_daemon
    assert_eq "$(cat $SYS/$PF/sriov_numvfs)" 3 "sriov_numvfs of $PF"
    alive $HOLDER || fail "the VM's client is gone"
    assert_eq "$(dev_prop "$(vf $PF 0)" Owner)" vm-a "Owner after the restart"
    grep -q "$PF has 3 VFs, not the 4 saved, and some are in use ($(vf $PF 0) (VM 'vm-a'" /tmp/passthrud.log ||
        fail "log: $(tail -n 5 /tmp/passthrud.log)"
    kill $(cat /proc/$HOLDER/task/$HOLDER/children) $HOLDER
    wait_available "$(vf $PF 0)"
    sed -i "s/^NumVFs=4\$/NumVFs=3/" /var/lib/passthru/state
}

# A reboot, as far as this VM can have one: the VFs gone, passthru.ko
# loaded anew by modprobe (which reads /etc/modprobe.d/passthru.conf, as
# the initramfs does at boot), passthrud started: the saved counts come
# back before passthrud answers its first call, every VF on passthru.
testcase_vf_count_comes_back_after_module_and_daemon_restart() {
    stop_daemon
    echo 0 >$SYS/$PF/sriov_numvfs
    echo 0 >$SYS/$PFNA/sriov_numvfs
    rmmod passthru
    modprobe passthru
    grep -q "$PF/\*" /sys/module/passthru/parameters/hide || fail "hide=: $(cat /sys/module/passthru/parameters/hide)"
    start_daemon
    # The first answer already has them: made before the bus was served.
    assert_eq "$(dev_prop $PF NumVFs)" 3 "NumVFs of $PF after the restart"
    assert_eq "$(dev_prop $PFNA NumVFs)" 2 "NumVFs of $PFNA after the restart"
    for n in 0 1 2; do
        assert_driver "$(vf $PF $n)" passthru
    done
    assert_driver "$(vf $PFNA 0)" passthru
    assert_driver "$(vf $PFNA 1)" passthru
    assert_no_igbvf
    grep -q "Made 3 VFs on $PF" /tmp/passthrud.log || fail "log: $(tail -n 5 /tmp/passthrud.log)"
    # And 0 takes them away, with their rule.
    set_num_vfs $PFNA 0
    assert_eq "$(cat $SYS/$PFNA/sriov_numvfs)" 0 "sriov_numvfs of $PFNA"
    grep -q "$PFNA/\*" /etc/modprobe.d/passthru.conf && fail "the rule of $PFNA's VFs is still in modprobe.d"
    # passthru.ko dropped the rule too: a VF made by hand now is not claimed.
    echo 1 >$SYS/$PFNA/sriov_numvfs
    assert_eq "$(driver "$(vf $PFNA 0)")" none "driver of a VF made by hand"
    echo 0 >$SYS/$PFNA/sriov_numvfs
}

# A VF another tool moved to vfio-pci (a bind by hand, as libvirt's
# managed='yes' does it) is in use as a leased one is: the count of its PF
# is not changed (removing the VF would wait for that tool's VM), and the
# refusal names it.
testcase_a_vf_on_vfio_pci_without_a_lease_keeps_its_pf_count() {
    local v
    v=$(vf $PF 2)
    wait_available "$v"
    echo vfio-pci >$SYS/$v/driver_override
    echo "$v" >/sys/bus/pci/drivers/passthru/unbind
    echo "$v" >/sys/bus/pci/drivers_probe
    assert_driver "$v" vfio-pci
    wait_state "$v" foreign
    mgr EnterMaintenanceMode
    expect_error org.passthru1.Error.DeviceBusy call SetNumVFs su $PF 2
    grep -q "$v (on vfio-pci without a lease" /tmp/out || fail "the refusal does not name $v: $(cat /tmp/out)"
    mgr ExitMaintenanceMode
    assert_eq "$(cat $SYS/$PF/sriov_numvfs)" 3 "sriov_numvfs of $PF"
    grep -A3 "^\[Device $PF\]" /var/lib/passthru/state | grep -qx 'NumVFs=3' || fail "state: $(cat /var/lib/passthru/state)"
    # Given back: quarantined, then reset.
    echo passthru >$SYS/$v/driver_override
    echo "$v" >/sys/bus/pci/drivers/vfio-pci/unbind
    echo "$v" >/sys/bus/pci/drivers_probe
    wait_state "$v" quarantined
    mgr Reset s "$v"
    wait_state "$v" available
}

# A count the kernel refuses holds nowhere: not in the state file, not in
# modprobe.d, not in passthru.ko.  A PF with no driver is refused by name
# first; one on pci-stub (no sriov_configure) reaches the kernel, which
# says no.
testcase_a_refused_vf_count_changes_nothing_for_the_next_start() {
    cp /var/lib/passthru/state /tmp/state.before
    cp /etc/modprobe.d/passthru.conf /tmp/modprobe.before
    assert_eq "$(cat $SYS/$PFNA/sriov_numvfs)" 0 "sriov_numvfs of $PFNA"
    echo $PFNA >/sys/bus/pci/drivers/igb/unbind
    mgr EnterMaintenanceMode
    expect_error org.freedesktop.DBus.Error.NotSupported call SetNumVFs su $PFNA 2
    grep -q "no driver bound" /tmp/out || fail "the refusal does not say why: $(cat /tmp/out)"
    modprobe pci-stub
    echo pci-stub >$SYS/$PFNA/driver_override
    echo $PFNA >/sys/bus/pci/drivers_probe
    assert_driver $PFNA pci-stub
    expect_error "Cannot set the VF count of $PFNA to 2" call SetNumVFs su $PFNA 2
    mgr ExitMaintenanceMode
    cmp /tmp/state.before /var/lib/passthru/state || fail "state: $(cat /var/lib/passthru/state)"
    cmp /tmp/modprobe.before /etc/modprobe.d/passthru.conf || fail "modprobe.d: $(cat /etc/modprobe.d/passthru.conf)"
    echo >$SYS/$PFNA/driver_override
    echo $PFNA >/sys/bus/pci/drivers/pci-stub/unbind
    echo $PFNA >/sys/bus/pci/drivers_probe
    assert_driver $PFNA igb
    # passthru.ko has no rule for its VFs: one made by hand is not claimed (autoprobe is off on $PFNA).
    echo 1 >$SYS/$PFNA/sriov_numvfs
    assert_eq "$(driver "$(vf $PFNA 0)")" none "driver of a VF made by hand"
    echo 0 >$SYS/$PFNA/sriov_numvfs
}

# The control: without passthru's rule igbvf, loaded all along, takes a VF
# as soon as it appears (autoprobe on), so the cases above could fail.
testcase_without_the_rule_igbvf_takes_a_new_vf() {
    stop_daemon
    ptnl unhide "($PF/*)"
    echo 0 >$SYS/$PF/sriov_numvfs
    echo 1 >$SYS/$PF/sriov_numvfs
    assert_driver "$(vf $PF 0)" igbvf
    echo 0 >$SYS/$PF/sriov_numvfs
}
