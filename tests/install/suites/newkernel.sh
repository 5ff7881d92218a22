# SPDX-License-Identifier: LGPL-2.1-or-later
# Stage between install and verify: booted into the newer kernel (6.12)
# that stage 1 installed after passthru, with passthru.hide=(01:00.0)(02:00.0):
# DKMS's build for it claims the devices, and a lease works.

EDU=0000:01:00.0
NIC=0000:02:00.0

testcase_booted_the_new_kernel_with_dkms_build() {
    local kver file
    kver=$(cat /root/new-kernel/kver)
    [ "$(uname -r)" = "$kver" ] || fail "running $(uname -r), not $kver"
    file=$(modinfo -F filename passthru)
    echo "passthru: $file"
    case $file in
    /lib/modules/$kver/updates/dkms/*) ;;
    *) fail "passthru is $file, not DKMS's build for $kver" ;;
    esac
}

testcase_hidden_devices_are_claimed() {
    assert_driver $EDU passthru
    assert_driver $NIC passthru
    [ ! -e $SYS/$NIC/net ] || fail "e1000e made a network interface of $NIC"
    [ "$(cat $SYS/$EDU/driver_override)" = passthru ] || fail "driver_override of $EDU: $(cat $SYS/$EDU/driver_override)"
}

# The pins come off with the module and back with it.
testcase_unload_and_reload_moves_the_pins() {
    systemctl stop passthrud 2>/dev/null || :
    modprobe -r passthru || fail "modprobe -r passthru failed"
    [ "$(cat $SYS/$EDU/driver_override)" = "(null)" ] ||
        fail "driver_override of $EDU after unload: $(cat $SYS/$EDU/driver_override)"
    modprobe passthru || fail "modprobe passthru failed"
    assert_driver $EDU passthru
}

testcase_a_lease_moves_the_device_to_vfio_and_back() {
    modprobe vfio-pci
    passthructl run --device $EDU --vm newkernel -- sh -c "readlink $SYS/$EDU/driver" >/tmp/run.out 2>&1 ||
        fail "passthructl run: $(cat /tmp/run.out)"
    grep -q "vfio-pci$" /tmp/run.out || fail "during the lease $EDU was on $(cat /tmp/run.out)"
    wait_state $EDU available
    # Debian's 6.12 is built without VFIO device cdevs (no vfio-dev/vfioN
    # with a device number): the return stages the group as on 6.1, and
    # while it is staged nobody else, root included, can open the group.
    ! grep -q '^CONFIG_VFIO_DEVICE_CDEV=y' "/boot/config-$(uname -r)" ||
        fail "this $(uname -r) is built with VFIO device cdevs"
    ! ls $SYS/$EDU/vfio-dev/*/dev >/dev/null 2>&1 || fail "$EDU has a VFIO device cdev"
    assert_staged $EDU
    local node err
    node=/dev/vfio/$(basename "$(readlink $SYS/$EDU/iommu_group)")
    if err=$( (exec 9<>"$node") 2>&1); then
        fail "root opened the staged group's node $node beside passthrud"
    fi
    case $err in
    *"busy"*) ;;
    *) fail "opening the staged $node failed, but not as busy: $err" ;;
    esac
}
