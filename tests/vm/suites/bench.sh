# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# make bench: passthrud against the floor, in one VM run.  Booted with
# passthru.hide=(01:00.0) and 64 extra edu devices (tests/bench/run.sh).
#
# The floor (pt-bench-floor) does a lease's sysfs moves, reset and open()
# bare; pt-bench does the same through passthrud.  They alternate, in
# ABBA order, while passthrud runs throughout: medians move 2x between VM
# runs, so only figures from the same run are compared.  Goals:
#   grant  (Acquire until the client holds a working fd) <= 1.3x the floor's
#   return (holder exit until State is available again)  <= 1.5x the floor's
#   ListDevices with 64+ devices: median under 5 ms
#   passthrud's RssAnon under 4 MiB with 64+ devices
# Each figure is said to the host as a "bench: ..." line; a goal missed
# fails its case with the numbers.

EDU=0000:01:00.0
BENCH_DIR=/tmp/bench
RSS_LIMIT_KIB=4096
LIST_LIMIT_US=5000
LIST_CALLS=50

# Round trips of each kind: pt.bench_n= on the kernel command line, or 30.
bench_n() {
    local n=30 word
    for word in $(cat /proc/cmdline); do
        case $word in
        pt.bench_n=*) n=${word#pt.bench_n=} ;;
        esac
    done
    echo "$n"
}

# RssAnon of passthrud, in KiB.
rss_kib() {
    awk '/^RssAnon:/ { print $2 }' "/proc/$(cat /tmp/passthrud.pid)/status"
}

# median < NUMBERS: the median of one number a line (integers).
median() {
    sort -n | awk '{ a[NR] = $1 }
        END { if (NR == 0) exit 1
              if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

# spread < NUMBERS: "min-max".
spread() {
    sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'
}

ms() {
    awk -v us="$1" 'BEGIN { printf "%.3f ms", us / 1000 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

# le A B: is the decimal A at most B?
le() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

suite_setup() {
    modprobe vfio-pci
    mkdir -p "$BENCH_DIR"
    daemon_setup $EDU
    wait_state $EDU available
    rss_kib >"$BENCH_DIR/rss.startup"
    echo "reset methods of $EDU: $(cat $SYS/$EDU/reset_method)"
}

testcase_list_devices_under_5ms() {
    local n med
    n=$(pt-bench list -n 1 | awk '{ print $2 }')
    [ "$n" -ge 64 ] || fail "ListDevices lists $n devices, fewer than 64: boot with --extra-edu 64"
    pt-bench list -n $LIST_CALLS >"$BENCH_DIR/list"
    rss_kib >"$BENCH_DIR/rss.list"
    { echo "ListDevices us, devices, Ping us:"; cat "$BENCH_DIR/list"; } >/dev/console
    med=$(awk '{ print $1 }' "$BENCH_DIR/list" | median)
    say "bench: ListDevices, $n devices: median $(ms "$med") over $LIST_CALLS calls" \
        "(range $(awk '{ print $1 }' "$BENCH_DIR/list" | spread) us), goal < $(ms $LIST_LIMIT_US);" \
        "a Ping to passthrud between them: median $(ms "$(awk '{ print $3 }' "$BENCH_DIR/list" | median)")"
    [ "$med" -lt $LIST_LIMIT_US ] || fail "ListDevices median $(ms "$med"), goal < $(ms $LIST_LIMIT_US)"
}

# One floor round trip, only while passthrud has no lease on the device.
floor_once() {
    wait_state $EDU available
    sleep 0.05
    pt-bench-floor $EDU >>"$BENCH_DIR/floor" || fail "the floor failed in round $1"
}

# One lease round trip through passthrud (pt-bench waits for available).
daemon_once() {
    sleep 0.05
    pt-bench cycle $EDU >>"$BENCH_DIR/daemon" || fail "the lease round trip failed in round $1: $(tail -n 3 /tmp/passthrud.log)"
}

testcase_alternate_floor_and_daemon() {
    local n round=1
    n=$(bench_n)
    : >"$BENCH_DIR/floor"
    : >"$BENCH_DIR/daemon"
    # A warm-up round of each, not counted.
    floor_once 0
    daemon_once 0
    : >"$BENCH_DIR/floor"
    : >"$BENCH_DIR/daemon"
    while [ $round -le "$n" ]; do
        if [ $((round % 2)) -eq 1 ]; then
            floor_once $round
            daemon_once $round
        else
            daemon_once $round
            floor_once $round
        fi
        round=$((round + 1))
    done
    wait_state $EDU available
    rss_kib >"$BENCH_DIR/rss.leases"
    {
        echo "floor: grant us, return us, reset method"
        cat "$BENCH_DIR/floor"
        echo "passthrud: grant us, return us, holder exit us, Ping us"
        cat "$BENCH_DIR/daemon"
    } >/dev/console
    assert_eq "$(wc -l <"$BENCH_DIR/floor")" "$n" "floor rounds"
    assert_eq "$(wc -l <"$BENCH_DIR/daemon")" "$n" "daemon rounds"
    say "bench: $n round trips each, alternated (ABBA), $(grep -c '^processor' /proc/cpuinfo) vCPUs;" \
        "reset method: $(awk 'NR == 1 { print $3 }' "$BENCH_DIR/floor")"
}

# compare COLUMN NAME GOAL: the daemon's median against the floor's.
compare() {
    local col=$1 name=$2 goal=$3 f d r
    [ -s "$BENCH_DIR/floor" ] && [ -s "$BENCH_DIR/daemon" ] || fail "no figures: the alternating case failed"
    f=$(awk -v c="$col" '{ print $c }' "$BENCH_DIR/floor" | median)
    d=$(awk -v c="$col" '{ print $c }' "$BENCH_DIR/daemon" | median)
    r=$(ratio "$d" "$f")
    say "bench: $name: passthrud median $(ms "$d") (range $(awk -v c="$col" '{ print $c }' "$BENCH_DIR/daemon" | spread) us)," \
        "floor median $(ms "$f") (range $(awk -v c="$col" '{ print $c }' "$BENCH_DIR/floor" | spread) us)," \
        "ratio ${r}x, goal <= ${goal}x"
    le "$r" "$goal" || fail "$name: passthrud $(ms "$d") is ${r}x the floor's $(ms "$f"), goal <= ${goal}x"
}

testcase_grant_within_1_3x_of_the_floor() {
    compare 1 grant 1.3
}

testcase_return_within_1_5x_of_the_floor() {
    compare 2 return 1.5
}

# Not a goal: what the bus alone costs a fresh client, the part of the
# grant no daemon can remove (the floor has no bus to cross).
testcase_bus_round_trip_share_of_the_grant() {
    local p g f
    [ -s "$BENCH_DIR/daemon" ] || fail "no figures: the alternating case failed"
    p=$(awk '{ print $4 }' "$BENCH_DIR/daemon" | median)
    g=$(awk '{ print $1 }' "$BENCH_DIR/daemon" | median)
    f=$(awk '{ print $1 }' "$BENCH_DIR/floor" | median)
    say "bench: a Ping on the holder's fresh connection just before Acquire: median $(ms "$p")" \
        "($(ratio "$p" "$f")x the floor's grant by itself); the grant less one such round trip:" \
        "$(ms $((g - p))), $(ratio $((g - p)) "$f")x the floor (information, no goal)"
}

# Not a goal: how much of passthrud's return is the holder process exiting.
testcase_holder_exit_share_of_the_return() {
    [ -s "$BENCH_DIR/daemon" ] || fail "no figures: the alternating case failed"
    say "bench: of passthrud's return, the holder's exit (until its pidfd fired): median" \
        "$(ms "$(awk '{ print $3 }' "$BENCH_DIR/daemon" | median)") (information, no goal)"
}

testcase_daemon_rss_under_4mib() {
    local now max=0 v
    now=$(rss_kib)
    echo "$now" >"$BENCH_DIR/rss.end"
    for v in $(cat "$BENCH_DIR"/rss.startup "$BENCH_DIR"/rss.list "$BENCH_DIR"/rss.leases "$BENCH_DIR"/rss.end 2>/dev/null); do
        [ "$v" -gt "$max" ] && max=$v
    done
    say "bench: passthrud RssAnon: $(cat "$BENCH_DIR/rss.startup") KiB after start," \
        "$(cat "$BENCH_DIR/rss.list" 2>/dev/null || echo ?) KiB after $LIST_CALLS ListDevices," \
        "$(cat "$BENCH_DIR/rss.leases" 2>/dev/null || echo ?) KiB after the round trips," \
        "$now KiB at the end; goal < $RSS_LIMIT_KIB KiB"
    [ "$max" -lt $RSS_LIMIT_KIB ] || fail "passthrud RssAnon reached $max KiB, goal < $RSS_LIMIT_KIB KiB"
}

suite_teardown() {
    cat /tmp/passthrud.log >/dev/console
}
