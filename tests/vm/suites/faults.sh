# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# Fault injection, on the debug kernel: one slab allocation fails, at a
# different place each time, in the processes that load passthru.ko, HIDE,
# dump and UNHIDE.  Every failure
# must come back as an error; the module must never crash, leak or refuse
# to unload.  (fail_page_alloc is left off: it also fails the page faults of
# the test's own processes, and the OOM reports that follow are noise.)

FS=/sys/kernel/debug/failslab

# fail_with N COMMAND...: run COMMAND with one of its slab allocations
# failing, about the N-th (failslab's counter runs on across commands).
fail_with() {
    echo "$1" > $FS/interval
    echo 1 > $FS/times
    shift
    sh -c 'echo 1 > /proc/self/make-it-fail && exec "$@"' sh "$@"
}

# The command failed: it must have said why on stderr.
expect_error_said() {
    [ -s /tmp/err ] || fail "$1 failed without a word"
}

testcase_allocation_failures_are_errors_not_crashes() {
    local i n loaded=0 failed=0
    [ -d $FS ] || fail "this kernel has no failslab"
    unload_passthru
    echo N > $FS/ignore-gfp-wait
    echo Y > $FS/task-filter
    echo 0 > $FS/verbose
    echo 100 > $FS/probability
    for i in $(seq 1 80); do
        n=$(( i * 37 % 300 + 1 ))
        if fail_with $n insmod "$KO" "hide=(01:00.0)(04:01.0)(04:02.0) ids=8086:10d3" 2>/tmp/err; then
            loaded=$((loaded + 1))
        else
            failed=$((failed + 1))
            expect_error_said insmod
            [ ! -d /sys/module/passthru ] || fail "insmod failed but the module is loaded"
            continue
        fi
        fail_with $((n % 40 + 1)) ptnl hide '(04:*.*)' 2>/tmp/err || expect_error_said "ptnl hide"
        fail_with $((n % 30 + 1)) ptnl get >/dev/null 2>/tmp/err || expect_error_said "ptnl get"
        fail_with $((n % 20 + 1)) ptnl unhide '(04:01.0)' 2>/tmp/err || expect_error_said "ptnl unhide"
        ptnl get >/dev/null
        rmmod passthru || fail "rmmod failed after cycle $i"
        for d in $SYS/*; do
            [ "$(cat "$d/driver_override")" = "(null)" ] || fail "cycle $i: leftover driver_override on $d"
        done
    done
    echo 0 > $FS/times
    echo "loaded $loaded times, insmod failed $failed times"
    [ $loaded -gt 0 ] || fail "the module never loaded: the test proved nothing"
    [ $failed -gt 0 ] || fail "no load ever failed: the faults were not injected"
    # Whatever happened, a clean load still claims the devices.
    insmod "$KO" "hide=(01:00.0)"
    assert_driver 0000:01:00.0 passthru
    rmmod passthru
}
