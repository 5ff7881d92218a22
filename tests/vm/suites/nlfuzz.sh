# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# The passthru netlink family under a fuzzer, on the debug kernel (KASAN,
# lockdep, kmemleak, failslab).  Booted with passthru.hide=(01:00.0)(02:00.0)
# in the topology of tests/vm/vmrun.py.  ptnl-fuzz (tests/tools/ptnl-fuzz.c)
# sends mutated requests and garbage; run_suite fails a case on any kernel
# report and, at the end, unloads the module and scans kmemleak.
#
# On the kernel command line: pt.nlfuzz.messages=N (default 100000) for
# the root run, a fifth of it for each of the others; pt.nlfuzz.seconds=T
# (default 60; 0: none) stops the root run after T seconds whatever it sent,
# the others after T/3; pt.nlfuzz.seed=S (default: new each boot, printed;
# the runs use S, S+1, ...).  Measured on 2 cores shared with other VMs:
# 680 messages/s as root at load 2, 176/s at load 6, so make check's 60 s
# send 10000-40000.  A long run, as make fuzz would have it: a million
# messages as root (25 min to 1.5 h, then 600000 more for the others),
#   KERNEL_FLAVOUR=debug VMRUN_ARGS="--timeout 14400" tests/vm/run.sh nlfuzz \
#       'passthru.hide=(01:00.0)(02:00.0) pt.nlfuzz.messages=1000000 pt.nlfuzz.seconds=0'
# or a time budget whatever the count (here FUZZ_SECONDS=600):
#   KERNEL_FLAVOUR=debug VMRUN_ARGS="--timeout 2400" tests/vm/run.sh nlfuzz \
#       'passthru.hide=(01:00.0)(02:00.0) pt.nlfuzz.messages=1000000 pt.nlfuzz.seconds=600'

EDU=0000:01:00.0
NIC=0000:02:00.0
FS=/sys/kernel/debug/failslab

MESSAGES=100000
SECONDS_CAP=60
SEED=
for word in $(cat /proc/cmdline); do
    case $word in
    pt.nlfuzz.messages=*) MESSAGES=${word#*=} ;;
    pt.nlfuzz.seconds=*) SECONDS_CAP=${word#*=} ;;
    pt.nlfuzz.seed=*) SEED=${word#*=} ;;
    esac
done
[ -n "$SEED" ] || SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
echo "nlfuzz: $MESSAGES messages, at most ${SECONDS_CAP}s (0: no limit), seed $SEED" >/dev/console

# run_fuzzer N SECONDS ARG...: ptnl-fuzz -n N -t SECONDS ARG...
run_fuzzer() {
    local n=$1 t=$2
    shift 2
    fuzz "$@" -n "$n" -t "$t"
    assert_sent "$n" "$t"
}

# fuzz ARG...: ptnl-fuzz, its report kept in /tmp/fuzz.out and shown.
fuzz() {
    local t0 rc=0
    t0=$(date +%s)
    "$@" >/tmp/fuzz.out 2>&1 || rc=$?
    cat /tmp/fuzz.out
    echo "ptnl-fuzz ran $(( $(date +%s) - t0 )) s (guest clock)"
    [ $rc -eq 0 ] || fail "ptnl-fuzz exited with $rc"
}

# figure KEY: the number after KEY in the report ("HIDE=", "EPERM ").
figure() {
    local n
    n=$(grep -o "$1[0-9]*" /tmp/fuzz.out | head -n 1 | sed "s/^$1//")
    echo "${n:-0}"
}

# errno NAME: how many replies carried that error.
errno_count() {
    local n
    n=$(grep 'errors by errno:' /tmp/fuzz.out | grep -o "$1 [0-9]*" | head -n 1 | cut -d' ' -f2)
    echo "${n:-0}"
}

# assert_sent N SECONDS: all N sent, or as many as SECONDS allowed.
assert_sent() {
    local sent
    sent=$(figure 'sent ')
    if [ "$2" = 0 ]; then
        assert_eq "$sent" "$1" "messages sent"
    else
        if [ "$sent" -eq 0 ] || [ "$sent" -gt "$1" ]; then
            fail "sent $sent messages of $1"
        fi
        [ "$sent" -eq "$1" ] || echo "the ${2}s limit stopped the run at $sent messages of $1"
    fi
}

# What the module says must agree with the driver core: a device passthru
# pinned is one a rule still names, a device bound to passthru is pinned.
# The boot's rules come back if a fuzzed UNHIDE took them.
assert_consistent() {
    local d a
    ptnl hide '(01:00.0)' 2>/dev/null || true
    ptnl hide '(02:00.0)' 2>/dev/null || true
    ptnl get >/tmp/get.out
    assert_driver $EDU passthru
    assert_driver $NIC passthru
    for d in "$SYS"/*; do
        a=${d##*/}
        if [ "$(override "$a")" = passthru ]; then
            grep -q "^$a " /tmp/get.out || fail "$a pinned to passthru, but no rule names it: $(cat /tmp/get.out)"
        fi
        if [ "$(driver "$a")" = passthru ]; then
            assert_eq "$(override "$a")" passthru "driver_override of $a, bound to passthru"
        fi
    done
    echo "rules and devices after the run:"
    cat /tmp/get.out
}

# warn_alloc()'s report of a failed allocation ("vmalloc error", "page
# allocation failure": vmalloc() prints one when failslab fails its own
# kmalloc, under netlink_sendmsg() or a kvmalloc()) is what failslab asks
# for, not a bug.  Its lines leave the kernel log before run_suite reads it;
# every other line stays, and any other report fails the case.
drop_allocation_failure_reports() {
    local kept trouble
    dmesg -c >/tmp/fault.dmesg
    kept=$(awk '
        / (page allocation failure|vmalloc error): / { block = 1; n++; next }
        block && /<\/TASK>/ { block = 0; next }
        block && /(CPU: |Hardware name: |Call Trace:|<TASK>|RIP: |Code: |RSP: |RAX: |RDX: |RBP: |R10: |R13: )/ { next }
        block && /^\[ *[0-9.]+\]  (\? )?[A-Za-z0-9_.]+\+0x/ { next }
        { print }
        END { print n + 0 " allocation failure reports" > "/dev/stderr" }' /tmp/fault.dmesg 2>/tmp/fault.count)
    cat /tmp/fault.count
    trouble=$(echo "$kept" | grep -E "$TROUBLE" || true)
    cat /tmp/fault.dmesg >>/tmp/kernel.log
    [ -z "$trouble" ] || fail "kernel: $(echo "$trouble" | head -n 3 | tr '\n' '|')"
}

failslab_off() {
    echo 0 > $FS/probability
    echo 0 > $FS/times
}

# Regression: HIDE bound devices and UNHIDE released them under pt_lock,
# and binding and unbinding run the PCI bus notifier chain, whose
# passthru callback takes pt_lock when a device comes or goes: lockdep saw
# pt_lock -> bus_notifier.rwsem and bus_notifier.rwsem -> pt_lock (a
# deadlock once someone registers a PCI bus notifier in between).  Found
# by the fuzzer while devices came and went.  First, while lockdep is on.
testcase_hide_unhide_and_hot_remove_take_locks_in_one_order() {
    ptnl hide '(04:01.0)'
    assert_driver 0000:04:01.0 passthru
    ptnl unhide '(04:01.0)'
    assert_driver 0000:04:01.0 none
    echo 1 > $SYS/0000:04:02.0/remove
    echo 1 > /sys/bus/pci/rescan
    [ -e $SYS/0000:04:02.0 ] || fail "0000:04:02.0 did not come back"
}

# Regression: a HIDE whose pinning ran out of memory (the pin, or the
# driver_override string) said yes and left the device to host drivers
# with its rule in force, and hiding it again said EEXIST.  Each
# allocation of HIDE (04:01.0) fails in turn: every HIDE must be done (the
# edu pinned to passthru) or refused (no pin, no rule), never half.  Early,
# while only the boot's rules are in force.
testcase_hide_is_done_or_refused_never_half_done() {
    [ -d $FS ] || fail "this kernel has no failslab"
    echo N > $FS/ignore-gfp-wait
    echo 0 > $FS/verbose
    failslab_off
    fuzz ptnl-fuzz -F -c hide-claims-edu
    drop_allocation_failure_reports
    assert_driver 0000:04:01.0 none
}

testcase_root_fuzzing_leaves_the_kernel_clean() {
    run_fuzzer "$MESSAGES" "$SECONDS_CAP" ptnl-fuzz -s "$SEED"
    [ "$(figure 'GET=')" -gt 0 ] || fail "no GET dump got through: the fuzzer missed the family"
    [ "$(figure 'HIDE=')" -gt 0 ] || fail "no HIDE got through"
    [ "$(errno_count EINVAL)" -gt 0 ] || fail "nothing was refused as invalid: the mutations did not happen"
    assert_consistent
}

# CAP_NET_ADMIN guards HIDE and UNHIDE: as bob, every one is refused and
# the rules stay as they were; GET still works.
testcase_unprivileged_fuzzing_changes_nothing() {
    ptnl get >/tmp/before
    run_fuzzer $((MESSAGES / 5)) $((SECONDS_CAP / 3)) \
        setpriv --reuid=1001 --regid=1001 --clear-groups ptnl-fuzz -s $((SEED + 1))
    assert_eq "$(figure 'HIDE=')" 0 "HIDEs accepted from uid 1001"
    assert_eq "$(figure 'UNHIDE=')" 0 "UNHIDEs accepted from uid 1001"
    [ "$(errno_count EPERM)" -gt 0 ] || fail "no request was refused with EPERM"
    [ "$(figure 'GET=')" -gt 0 ] || fail "no GET dump got through for uid 1001"
    ptnl get >/tmp/after
    cmp -s /tmp/before /tmp/after || fail "the rules changed: $(diff /tmp/before /tmp/after | tr '\n' '|')"
    echo "EPERM $(errno_count EPERM), rules unchanged"
}

# failslab fails 10% of the slab allocations made for the fuzzer's
# requests only: its task filter, with make-it-fail set by ptnl-fuzz around
# each sendmsg and the reads of its replies (never over its own exec or
# page faults).  "times" counts the failures injected.
testcase_fuzzing_with_failslab_at_10_percent() {
    local budget=1000000000 injected
    [ -d $FS ] || fail "this kernel has no failslab"
    echo Y > $FS/task-filter
    echo N > $FS/ignore-gfp-wait
    echo N > $FS/cache-filter
    echo 0 > $FS/verbose
    echo 0 > $FS/space
    echo 1 > $FS/interval
    echo $budget > $FS/times
    echo 10 > $FS/probability
    run_fuzzer $((MESSAGES / 5)) $((SECONDS_CAP / 3)) ptnl-fuzz -f -s $((SEED + 2))
    injected=$((budget - $(cat $FS/times)))
    failslab_off
    drop_allocation_failure_reports
    echo "failslab: $injected allocations failed"
    [ "$injected" -gt 0 ] || fail "failslab injected nothing"
    [ "$(errno_count ENOMEM)" -gt 0 ] || fail "no request came back with ENOMEM"
    assert_consistent
}

# Devices leave and come back while the fuzzer runs: the edu behind the
# PCI bridge removed and found again by a rescan, the claimed edu unbound
# from passthru and bound again.  The bus notifier, probe and remove, and
# GET's device_trylock() meet HIDE, UNHIDE and dumps.
churn() {
    local i=0
    while [ ! -e /tmp/churn.stop ]; do
        echo 1 > $SYS/0000:04:01.0/remove 2>/dev/null || true
        echo 1 > /sys/bus/pci/rescan 2>/dev/null || true
        echo $EDU > /sys/bus/pci/drivers/passthru/unbind 2>/dev/null || true
        echo $EDU > /sys/bus/pci/drivers/passthru/bind 2>/dev/null || true
        i=$((i + 1))
    done
    echo "$i" >/tmp/churn.count
}

testcase_fuzzing_while_devices_come_and_go() {
    local pid rc=0 n=$((MESSAGES / 5)) t=$((SECONDS_CAP / 3))
    rm -f /tmp/churn.stop /tmp/churn.count
    churn &
    pid=$!
    ptnl-fuzz -s $((SEED + 3)) -n $n -t $t >/tmp/fuzz.out 2>&1 || rc=$?
    touch /tmp/churn.stop
    wait $pid
    cat /tmp/fuzz.out
    [ $rc -eq 0 ] || fail "ptnl-fuzz exited with $rc"
    assert_sent $n $t
    echo "devices removed, rescanned, unbound and bound $(cat /tmp/churn.count) times"
    [ "$(cat /tmp/churn.count)" -gt 0 ] || fail "the devices never moved"
    [ -e $SYS/0000:04:01.0 ] || fail "0000:04:01.0 did not come back"
    assert_consistent
}

# Systematic: each allocation of GET, HIDE and UNHIDE (absent devices, the
# edu behind the PCI bridge, its whole bus), of a refused rule and of
# nlctrl's look at the family, failed once in turn (fail-nth); after each
# the GET dump is what it was.
testcase_every_allocation_of_each_request_fails_in_turn() {
    [ -d $FS ] || fail "this kernel has no failslab"
    echo N > $FS/ignore-gfp-wait
    echo 0 > $FS/verbose
    failslab_off
    # from the boot's rules, whatever the runs before left
    unload_passthru
    modprobe passthru
    fuzz ptnl-fuzz -F
    drop_allocation_failure_reports
    assert_consistent
}

testcase_rmmod_after_fuzzing() {
    local d
    rmmod passthru || fail "rmmod failed after fuzzing"
    for d in "$SYS"/*; do
        assert_eq "$(override "${d##*/}")" "(null)" "driver_override of ${d##*/} after rmmod"
    done
    [ ! -d /sys/module/passthru ] || fail "passthru still loaded"
}
