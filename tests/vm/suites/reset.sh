# shellcheck shell=dash
# TEMPORARY measurement
NIC=0000:02:00.0
EDU=0000:01:00.0

to_vfio() {
    echo vfio-pci > $SYS/$1/driver_override
    [ -e $SYS/$1/driver ] && echo $1 > $SYS/$1/driver/unbind
    echo $1 > /sys/bus/pci/drivers_probe
}
unbind() {
    [ -e $SYS/$1/driver ] && echo $1 > $SYS/$1/driver/unbind
    true
}
to_stub() {
    echo passthru > $SYS/$1/driver_override
    unbind $1
    echo $1 > /sys/bus/pci/drivers_probe
}
try_reset() { # DEV METHOD
    local before rc
    before=$(cat $SYS/$1/reset_method)
    echo "reset_method before: '$before' power_state=$(cat $SYS/$1/power_state 2>/dev/null) driver=$(driver $1)"
    if [ -n "$2" ]; then echo "$2" > $SYS/$1/reset_method || echo "cannot pin $2"; fi
    if echo 1 > $SYS/$1/reset; then rc=0; else rc=$?; fi
    echo "reset $2 -> rc $rc"
    echo "reset_method now: '$(cat $SYS/$1/reset_method)'"
    echo "$before" > $SYS/$1/reset_method || echo "restore failed"
    echo "reset_method restored: '$(cat $SYS/$1/reset_method)'"
    dmesg -c | tail -n 8
}
peek() {
    vfio-check --quiet --peek 0x5400 $NIC
}

testcase_measure() {
    modprobe vfio-pci
    dmesg -c >/dev/null
    echo "NIC driver $(driver $NIC), methods '$(cat $SYS/$NIC/reset_method)'"
    echo "EDU methods '$(cat $SYS/$EDU/reset_method)'"
    to_vfio $NIC
    echo "== fresh: peek"; peek
    echo "== poke then peek in same open"; vfio-check --quiet --poke 0x5400=0x12345678 --peek 0x5400 $NIC
    echo "== reopen (vfio-pci open/close reset only)"; peek
    echo "== A: unbound after vfio-pci, bus"; unbind $NIC; try_reset $NIC bus; to_vfio $NIC; peek
    vfio-check --quiet --poke 0x5400=0x12345678 $NIC
    echo "== B: unbound after vfio-pci, pm"; unbind $NIC; try_reset $NIC pm; to_vfio $NIC; peek
    vfio-check --quiet --poke 0x5400=0x12345678 $NIC
    echo "== C: unbound after vfio-pci, bus again, then pm"; unbind $NIC; try_reset $NIC bus; try_reset $NIC pm; to_vfio $NIC; peek
    vfio-check --quiet --poke 0x5400=0x12345678 $NIC
    echo "== D: on passthru stub after vfio-pci, bus"; to_stub $NIC; dmesg -c | tail -3; try_reset $NIC bus; to_vfio $NIC; peek
    vfio-check --quiet --poke 0x5400=0x12345678 $NIC
    echo "== E: on passthru, pm"; to_stub $NIC; try_reset $NIC pm; to_vfio $NIC; peek
    vfio-check --quiet --poke 0x5400=0x12345678 $NIC
    echo "== F: unbound, set power D0 via config? check power state, then default reset"; unbind $NIC; try_reset $NIC ""; to_vfio $NIC; peek
    echo "== G: EDU unbound after vfio-pci, bus"; to_vfio $EDU; vfio-check --quiet $EDU; unbind $EDU; try_reset $EDU bus
    false
}
