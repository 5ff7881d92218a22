# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# make bench's second VM: the test bed without bench.sh's 128 extra
# devices (tests/bench/run.sh boots it after bench.sh's).  What one lease
# costs is judged here: the floor, the grant over passthrud's socket and
# over the bus alternated (ABBA), their ratios and the return's, and the
# race of 8 clients.  Among 128 extra devices, each config write of a
# reset that changes the device's BAR decoding costs QEMU 40-66 ms (the
# memory map of every device is rebuilt, bench.sh says more): the return
# and the race there measure the emulator, and the floor's return as much
# as passthrud's.  bench.sh keeps what needs the 128: the scale figures,
# and the race among them as a figure.

# shellcheck source=bench.sh disable=SC1091
. /tests/bench.sh

RACE_P99_LIMIT_US=100000

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

# floor_once ROUND [FILE]: one floor round trip, only while passthrud has
# no lease on the device, its figures appended to FILE ($BENCH_DIR/floor).
# passthrud sees the floor's moves as another tool's (foreign), and the
# device come back without its reset as quarantined: root's Reset, untimed,
# makes it available for the next round.
floor_once() {
    local i st
    wait_state $EDU available
    sleep 0.05
    pt-bench-floor $EDU >>"${2:-$BENCH_DIR/floor}" || fail "the floor failed in round $1"
    # Up to 3 s for passthrud to say so (events it saw coalesced may leave it available).
    for i in $(seq 1 30); do
        st=$(dev_prop $EDU State)
        [ "$st" = quarantined ] && break
        sleep 0.1
    done
    if [ "$st" = quarantined ]; then
        mgr Reset s $EDU >/dev/null
    fi
    wait_state $EDU available
}

# daemon_once ROUND KIND [SUFFIX]: one lease round trip through passthrud
# (pt-bench waits for available), KIND direct (the holder on passthrud's
# socket) or bus, its figures appended to $BENCH_DIR/KIND[SUFFIX].
daemon_once() {
    sleep 0.05
    if [ "$2" = direct ]; then
        pt-bench cycle -D $EDU >>"$BENCH_DIR/direct${3:-}"
    else
        pt-bench cycle $EDU >>"$BENCH_DIR/bus${3:-}"
    fi || fail "the $2 lease round trip failed in round $1: $(tail -n 3 /tmp/passthrud.log)"
}

have_figures() {
    [ -s "$BENCH_DIR/floor" ] && [ -s "$BENCH_DIR/direct" ] && [ -s "$BENCH_DIR/bus" ] ||
        fail "no figures: the alternating case failed"
}

# The default (StageIdleGroups=yes, docs/DESIGN.md "Staged groups"):
# between two leases the group stays on vfio-pci, reset, its node held by
# passthrud, so a grant moves and opens nothing and a return only resets.
# Alternated (ABBA) with the floor's rounds: before a floor round root's
# Reset takes the group off its stage, and before passthrud's an untimed
# lease stages it again (neither is counted).
unstage_edu() {
    if [ "$(driver $EDU)" = vfio-pci ]; then
        mgr Reset s $EDU >/dev/null
    fi
    assert_driver $EDU passthru
}

stage_edu() {
    if [ "$(driver $EDU)" = passthru ]; then
        wait_state $EDU available
        pt-bench cycle $EDU >/dev/null || fail "the staging lease failed: $(tail -n 3 /tmp/passthrud.log)"
    fi
    assert_driver $EDU vfio-pci
}

# staged_once ROUND KIND: daemon_once, which must leave the group staged
# again (reset on vfio-pci): each round's second cycle is a staged grant too.
staged_once() {
    daemon_once "$1" "$2"
    [ "$(driver $EDU)" = vfio-pci ] || fail "round $1: the $2 round trip's return did not stage the group"
}

# print_rounds SUFFIX: the rounds of $BENCH_DIR/{floor,direct,bus}SUFFIX on
# the console, and as benchround lines for the plot.
print_rounds() {
    local kind
    {
        echo "floor$1: grant us, return us, reset method, holder exit us"
        cat "$BENCH_DIR/floor$1"
        echo "passthrud over its socket$1: grant us, return us, holder exit us, Ping us"
        cat "$BENCH_DIR/direct$1"
        echo "passthrud over the bus$1: grant us, return us, holder exit us, Ping us"
        cat "$BENCH_DIR/bus$1"
    } >/dev/console
    for kind in floor direct bus; do
        assert_eq "$(wc -l <"$BENCH_DIR/$kind$1")" "$(bench_n)" "$kind$1 rounds"
        while read -r grant ret rest; do
            say "benchround: $kind$1 $grant $ret"
        done <"$BENCH_DIR/$kind$1"
    done
}

testcase_alternate_floor_direct_and_bus() {
    local n round=1 kind
    n=$(bench_n)
    rm -f /etc/passthru/passthru.conf
    # A warm-up round of each, not counted.
    unstage_edu
    floor_once 0 /dev/null
    stage_edu
    staged_once 0 direct
    staged_once 0 bus
    for kind in floor direct bus; do
        : >"$BENCH_DIR/$kind"
    done
    while [ $round -le "$n" ]; do
        if [ $((round % 2)) -eq 1 ]; then
            unstage_edu
            floor_once $round
            stage_edu
            staged_once $round direct
            staged_once $round bus
        else
            stage_edu
            staged_once $round bus
            staged_once $round direct
            unstage_edu
            floor_once $round
        fi
        round=$((round + 1))
    done
    wait_state $EDU available
    print_rounds ""
    say "bench: $n round trips each, alternated (ABBA), $(grep -c '^processor' /proc/cpuinfo) vCPUs;" \
        "reset method: $(awk 'NR == 1 { print $3 }' "$BENCH_DIR/floor")"
}

# miss KEYPART MESSAGE: a goal missed fails the case for the default's
# rounds (KEYPART ""); StageIdleGroups=no's ("_unstaged") are figures beside.
miss() {
    [ -n "$1" ] || fail "$2"
    say "bench: not a goal (StageIdleGroups=no), missed: $2"
}

# judge_grant_direct SUFFIX KEYPART: the figures of the rounds in
# $BENCH_DIR/{floor,direct,bus}SUFFIX, their keys named with KEYPART
# ("" or "_unstaged") before their unit.
judge_grant_direct() {
    local s=$1 k=$2 f d b p r
    f=$(col "$BENCH_DIR/floor$s" 1 | median)
    d=$(col "$BENCH_DIR/direct$s" 1 | median)
    b=$(col "$BENCH_DIR/bus$s" 1 | median)
    p=$(col "$BENCH_DIR/bus$s" 4 | median)
    key "grant_floor${k}_ms" "$(msv "$f")"
    key "grant_direct${k}_ms" "$(msv "$d")"
    key "grant_bus${k}_ms" "$(msv "$b")"
    key "ping_bus${k}_ms" "$(msv "$p")"
    key "ping_direct${k}_ms" "$(msv "$(col "$BENCH_DIR/direct$s" 4 | median)")"
    r=$(ratio "$d" "$f")
    key "grant_direct${k}_ratio" "$r"
    say "bench: grant over the socket${k:+ (StageIdleGroups=no)}: median $(ms "$d") (range $(col "$BENCH_DIR/direct$s" 1 | spread) us)," \
        "floor median $(ms "$f") (range $(col "$BENCH_DIR/floor$s" 1 | spread) us), ratio ${r}x, goal <= 1.3x;" \
        "a Ping on the holder's fresh socket: median $(ms "$(col "$BENCH_DIR/direct$s" 4 | median)")"
    le "$r" 1.3 || miss "$k" "grant_direct${k}_ratio: passthrud over its socket $(ms "$d") is ${r}x the floor's $(ms "$f"), goal <= 1.3x"
}

# The bus's own round trip (a Ping on the holder's fresh connection) is
# the part no daemon can remove: the goal is on what is left.
judge_grant_bus() {
    local s=$1 k=$2 f b p r
    f=$(col "$BENCH_DIR/floor$s" 1 | median)
    b=$(col "$BENCH_DIR/bus$s" 1 | median)
    p=$(col "$BENCH_DIR/bus$s" 4 | median)
    r=$(awk -v b="$b" -v f="$f" -v p="$p" 'BEGIN { printf "%.2f", (b - f - p) / f }')
    key "grant_bus${k}_overhead_ratio" "$r"
    say "bench: grant over the bus${k:+ (StageIdleGroups=no)}: median $(ms "$b") (range $(col "$BENCH_DIR/bus$s" 1 | spread) us)," \
        "$(ratio "$b" "$f")x the floor; a bus round trip (Ping): median $(ms "$p");" \
        "(grant - floor - Ping) / floor = $r, goal <= 0.3"
    le "$r" 0.3 || miss "$k" "grant_bus${k}_overhead_ratio $r: over the bus $(ms "$b") against the floor's $(ms "$f") and a Ping of $(ms "$p"), goal <= 0.3"
}

# The return from the holder's signal to exit until the device is back
# (available, for passthrud): the floor's holder is a process that exits
# too, and both say when its exit was seen (the floor's fourth column,
# pt-bench's third).  What is left past that (the return as a program
# that held the group itself would do it) is a figure beside.
judge_return() {
    local s=$1 k=$2 f d r fe de fp dp
    f=$(col "$BENCH_DIR/floor$s" 2 | median)
    d=$(cat "$BENCH_DIR/direct$s" "$BENCH_DIR/bus$s" | awk '{ print $2 }' | median)
    fe=$(col "$BENCH_DIR/floor$s" 4 | median)
    de=$(cat "$BENCH_DIR/direct$s" "$BENCH_DIR/bus$s" | awk '{ print $3 }' | median)
    fp=$(awk '{ print $2 - $4 }' "$BENCH_DIR/floor$s" | median)
    dp=$(cat "$BENCH_DIR/direct$s" "$BENCH_DIR/bus$s" | awk '{ print $2 - $3 }' | median)
    r=$(ratio "$d" "$f")
    key "return${k}_ratio" "$r"
    key "return_floor${k}_ms" "$(msv "$f")"
    key "return${k}_ms" "$(msv "$d")"
    key "return_floor_exit${k}_ms" "$(msv "$fe")"
    key "return_exit${k}_ms" "$(msv "$de")"
    key "return_past_exit${k}_ratio" "$(ratio "$dp" "$fp")"
    say "bench: return${k:+ (StageIdleGroups=no)}: passthrud median $(ms "$d") (both transports' rounds), floor median $(ms "$f")" \
        "(range $(col "$BENCH_DIR/floor$s" 2 | spread) us), ratio ${r}x, goal <= 1.25x; of it the holder's exit:" \
        "passthrud's $(ms "$de"), the floor's $(ms "$fe"); past the exit: passthrud $(ms "$dp")," \
        "the floor $(ms "$fp"), $(ratio "$dp" "$fp")x"
    le "$r" 1.25 || miss "$k" "return${k}_ratio: passthrud $(ms "$d") is ${r}x the floor's $(ms "$f"), goal <= 1.25x"
}

testcase_grant_over_the_socket_within_1_3x_of_the_floor() {
    have_figures
    judge_grant_direct "" ""
}

testcase_grant_over_the_bus_within_0_3_of_the_floor_past_one_round_trip() {
    have_figures
    judge_grant_bus "" ""
}

testcase_return_within_1_25x_of_the_floor() {
    have_figures
    judge_return "" ""
}

testcase_race_of_8_clients_refused_within_100ms() {
    local grants rate refused p50 p99 max overlaps odd
    race race
    say "bench: the race, 8 clients on one device for 10 s: $(race_said); goal p99 <= $(ms $RACE_P99_LIMIT_US)"
    [ "$p99" -le $RACE_P99_LIMIT_US ] || fail "race: refusals p99 $(ms "$p99"), goal <= $(ms $RACE_P99_LIMIT_US)"
}

# The same over passthrud's own socket, where no dbus-daemon relays each
# call and answer: a figure beside the bus's, and the same rule.
testcase_race_of_8_clients_over_the_direct_socket() {
    local grants rate refused p50 p99 max overlaps odd
    race race_direct -D
    say "bench: the race over passthrud's socket: $(race_said)"
}

# StageIdleGroups=no: every return puts the group back on passthru, and
# every grant moves it to vfio-pci and opens its node.  The same rounds,
# alternated (ABBA) with a floor of their own, after a warm-up round of
# each; their figures beside the goals, keys with _unstaged.
testcase_alternate_floor_direct_and_bus_without_staging() {
    local n round=1 kind
    n=$(bench_n)
    printf '[Daemon]\nStageIdleGroups=no\n' >/etc/passthru/passthru.conf
    stop_daemon
    start_daemon
    wait_state $EDU available
    assert_driver $EDU passthru
    floor_once 0 /dev/null
    daemon_once 0 direct -unstaged
    daemon_once 0 bus -unstaged
    for kind in floor direct bus; do
        : >"$BENCH_DIR/$kind-unstaged"
    done
    while [ $round -le "$n" ]; do
        if [ $((round % 2)) -eq 1 ]; then
            floor_once $round "$BENCH_DIR/floor-unstaged"
            daemon_once $round direct -unstaged
            daemon_once $round bus -unstaged
        else
            daemon_once $round bus -unstaged
            daemon_once $round direct -unstaged
            floor_once $round "$BENCH_DIR/floor-unstaged"
        fi
        round=$((round + 1))
    done
    assert_driver $EDU passthru
    rm /etc/passthru/passthru.conf
    stop_daemon
    start_daemon
    wait_state $EDU available
    print_rounds -unstaged
}

have_unstaged_figures() {
    [ -s "$BENCH_DIR/floor-unstaged" ] && [ -s "$BENCH_DIR/direct-unstaged" ] && [ -s "$BENCH_DIR/bus-unstaged" ] ||
        fail "no StageIdleGroups=no figures: the alternating case failed"
}

testcase_without_staging_grant_over_the_socket_figure() {
    have_unstaged_figures
    judge_grant_direct -unstaged _unstaged
}

testcase_without_staging_grant_over_the_bus_figure() {
    have_unstaged_figures
    judge_grant_bus -unstaged _unstaged
}

testcase_without_staging_return_figure() {
    have_unstaged_figures
    judge_return -unstaged _unstaged
}
