# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# passthrud under faults (issue 12), with the real module, dbus-daemon,
# kernel and VFIO.  Booted like the daemon suite, with
# passthru.hide=(01:00.0)(04:*.*)(05:00.0):
#   01:00.0 edu, kept by passthru (its "bus" reset is trusted)
#   02:00.0 e1000e, held by e1000e
#   04:01.0 edu + 04:02.0 e1000, one IOMMU group, kept by passthru
#   05:00.0 empty hot-plug port (rphp)
# alice (uid 1000) is in group passthru (990).
#
# The daemon is killed at each named fault point of the grant and return
# paths (build/passthrud-faults, daemon/faultpoint.h); /var/lib/passthru
# fills up or turns read-only under configuration changes; holders ignore
# the device request while the device is unplugged or revoked; and 4
# clients lease and return a device for minutes while the daemon's and the
# kernel's memory are watched.  Every figure goes to the case's output
# (build/results/daemon-faults/console.log), and a summary to the host.
#
# Tunables on the kernel command line (tests/vm/run.sh daemon-faults APPEND):
# pt.rounds=N kills per point (20), pt.cycles=N soak cycles (2000),
# pt.soak_seconds=N the soak's time budget (1200; the case fails when it
# ends short of pt.cycles).  Measured under TCG on the 2-core CI machine:
# alone, 20 rounds of a point in 21-35 s and the whole suite 438 s (with
# the shell's soak driver, 130 ms a cycle); beside make check's other
# lane's VM (2026-12-01, cold CI), 20 rounds in 76-108 s, the soak with
# pt-bench cycle 183 ms a cycle (2,000 in 367 s; the shell's had taken
# 406-456 ms there), the suite 879 s.

EDU=0000:01:00.0
NIC=0000:02:00.0
BR1=0000:04:01.0
BR2=0000:04:02.0
HP=0000:05:00.0
LEDGER=/run/passthru/leases
STATE_DIR=/var/lib/passthru
MODPROBE=/etc/modprobe.d/passthru.conf

ROUNDS=20
CYCLES=2000
# Set while passthrud runs with StageIdleGroups=yes (the default): a group may stay on vfio-pci, held by passthrud.
STAGED=yes
SOAK_SECONDS=1200
for word in $(cat /proc/cmdline); do
    case $word in
    pt.rounds=*) ROUNDS=${word#pt.rounds=} ;;
    pt.cycles=*) CYCLES=${word#pt.cycles=} ;;
    pt.soak_seconds=*) SOAK_SECONDS=${word#pt.soak_seconds=} ;;
    esac
done
# The soak runs up to SOAK_SECONDS; no other case comes near run_suite's
# 900 s (110 s at most in CI).
LIMIT_testcase_soak_of_grant_return_cycles_leaks_nothing=$((SOAK_SECONDS + 300))

# A figure of the run: in the case's output, and on the host's terminal.
figure() {
    echo "figure: $*"
    say "daemon-faults: $*"
}

# now: $NOW, milliseconds since boot (10 ms steps), without a fork.
now() {
    local up
    read -r up _ </proc/uptime
    NOW=$(( ${up%.*}${up#*.} * 10 ))
}

# The device is on passthru in the kernel's view.
on_passthru() {
    [ -e /sys/bus/pci/drivers/passthru/$1 ]
}

# wait_back DEV MS: DEV back (on passthru, available) within MS ms of $T0
# (set by the caller); the time it took in $BACK_MS.
wait_back() {
    while :; do
        now
        BACK_MS=$((NOW - T0))
        if { on_passthru "$1" || { [ -n "$STAGED" ] && [ -e /sys/bus/pci/drivers/vfio-pci/$1 ]; }; } &&
            [ "$(dev_prop "$1" State)" = available ]; then
            [ $BACK_MS -le "$2" ] || fail "$1 back only after $BACK_MS ms, limit $2 ms: $(tail -n 5 /tmp/passthrud.log)"
            return 0
        fi
        [ $BACK_MS -le "$2" ] || fail "$1 not back after $BACK_MS ms: driver $(driver "$1"), state $(dev_prop "$1" State): $(tail -n 5 /tmp/passthrud.log)"
        sleep 0.05
    done
}

# start_faulty [POINT]: the test build of passthrud, armed at POINT.
start_faulty() {
    PASSTHRU_FAULT_POINT=${1:-} start_daemon passthrud-faults
}

# died_at POINT: the daemon killed itself there, within 10 s.
died_at() {
    local pid
    pid=$(cat /tmp/passthrud.pid)
    for i in $(seq 1 100); do
        alive "$pid" || break
        sleep 0.1
    done
    ! alive "$pid" || fail "passthrud did not reach fault point $1: $(tail -n 5 /tmp/passthrud.log)"
    wait "$pid" 2>/dev/null || true
    tail -n 3 /tmp/passthrud.log | grep -q "fault point $1: SIGKILL" ||
        fail "passthrud died, but not at $1: $(tail -n 5 /tmp/passthrud.log)"
}

# ledger_view: "GROUP PID DEVICE..." for each lease in the ledger.
ledger_view() {
    [ -e $LEDGER ] || return 0
    awk '/^\[Lease / { if (g != "") print g, pid, devs; g = $2; sub(/\]/, "", g); pid = ""; devs = ""; next }
         /^\[/ { if (g != "") print g, pid, devs; g = "" }
         /^Pid=/ { pid = substr($0, 5) }
         /^Devices=/ { devs = devs " " substr($0, 9) }
         END { if (g != "") print g, pid, devs }' $LEDGER
}

# group_holders: "PID GROUP" for every process with /dev/vfio/GROUP open.
group_holders() {
    ls -l /proc/[0-9]*/fd 2>/dev/null | awk '
        /^\/proc\/[0-9]+\/fd:$/ { split($0, a, "/"); pid = a[3]; next }
        / -> \/dev\/vfio\/[0-9]+$/ { g = $NF; sub(/.*\//, "", g); print pid, g }' | sort -u
}

# fast_driver DEV: passthru, vfio-pci or other, without a fork per test.
fast_driver() {
    if [ -e /sys/bus/pci/drivers/passthru/$1 ]; then
        echo passthru
    elif [ -e /sys/bus/pci/drivers/vfio-pci/$1 ]; then
        echo vfio-pci
    else
        driver "$1"
    fi
}

# books_match_kernel: the ledger, the daemon's answers and the kernel agree.
# A device is on vfio-pci exactly when a lease in the ledger names it; that
# lease's holder lives, holds the group and is the device's OwnerPid; and
# nobody holds a group the ledger does not give them (passthrud included).
books_match_kernel() {
    local dev drv state lease group pid
    ledger_view >/tmp/ledger.view
    group_holders >/tmp/holders
    mgr ListDevices | awk '{ for (i = 3; i + 4 <= NF; i += 5) print $i, $(i + 1) }' | tr -d '"' >/tmp/list
    for dev in $EDU $BR1 $BR2; do
        drv=$(fast_driver $dev)
        state=$(awk -v d=$dev '$1 == d { print $2 }' /tmp/list)
        lease=$(awk -v d=$dev '{ for (i = 3; i <= NF; i++) if ($i == d) print $1, $2 }' /tmp/ledger.view)
        if [ -n "$lease" ]; then
            group=${lease% *}
            pid=${lease#* }
            [ "$drv" = vfio-pci ] || fail "$dev is leased in the ledger (group $group, pid $pid) but on driver $drv"
            alive "$pid" || fail "$dev's holder in the ledger, pid $pid, is dead"
            grep -q "^$pid $group$" /tmp/holders || fail "$dev's holder $pid does not hold /dev/vfio/$group: $(cat /tmp/holders)"
            assert_eq "$state" leased "state of $dev, leased in the ledger"
            assert_eq "$(dev_prop $dev OwnerPid)" "$pid" "OwnerPid of $dev"
        elif [ -n "$STAGED" ] && [ "$drv" = vfio-pci ]; then
            # StageIdleGroups=yes: reset and kept on vfio-pci, its node held by passthrud alone.
            assert_eq "$state" available "state of $dev, staged"
            group=$(basename "$(readlink $SYS/$dev/iommu_group)")
            assert_eq "$(awk -v g="$group" '$2 == g { print $1 }' /tmp/holders)" "$(cat /tmp/passthrud.pid)" \
                "who holds /dev/vfio/$group, staged"
        else
            [ "$drv" = passthru ] || fail "$dev is on $drv, and no lease in the ledger names it"
            case $state in
            available|quarantined) ;;
            *) fail "$dev is on passthru, in no lease, but its state is $state" ;;
            esac
        fi
    done
    while read -r pid group; do
        [ -n "$STAGED" ] && [ "$pid" = "$(cat /tmp/passthrud.pid)" ] && continue
        grep -q "^$group $pid " /tmp/ledger.view ||
            fail "pid $pid ($(cat /proc/"$pid"/comm 2>/dev/null)) holds /dev/vfio/$group, which no lease gives it: $(cat /tmp/ledger.view)"
    done </tmp/holders
}

# stats < NUMBERS: "median M ms, max X ms".
stats() {
    sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "median %d ms, max %d ms", a[int((NR + 1) / 2)], a[NR] }'
}

start_watch() {
    : >/tmp/watch.out
    pt-hold -W >/tmp/watch.out 2>&1 &
    WATCH=$!
}

# stop_watch: the /proc scan's figures in $WATCHED; fails on two holders.
stop_watch() {
    kill -TERM $WATCH
    wait $WATCH || true
    WATCHED=$(tail -n 1 /tmp/watch.out)
    grep -q "two-holders 0 " /tmp/watch.out || fail "two holders at once: $(head -n 5 /tmp/watch.out)"
}

# settle: what a failed case may have left: the state directory's mount,
# maintenance mode.
settle() {
    if grep -q " $STATE_DIR " /proc/mounts; then
        umount $STATE_DIR
    fi
    if [ "$(busctl get-property $BUS MaintenanceMode)" = "b true" ]; then
        mgr ExitMaintenanceMode
    fi
}

suite_setup() {
    modprobe vfio-pci
    modprobe e1000e
    echo $NIC > /sys/bus/pci/drivers_probe
    echo "rounds per fault point $ROUNDS, soak $CYCLES cycles or $SOAK_SECONDS s; reset methods of $EDU: $(cat $SYS/$EDU/reset_method)"
    daemon_setup $EDU $BR1 $BR2 $HP
    wait_state $EDU available
}

# ---- kill -9 at each fault point ----

# mode_for ROUND MODES: the passthru.conf of a round, and $STAGED: with
# MODES "both", StageIdleGroups=no in odd rounds and the default (staged
# groups) in even ones; "no" or "yes" in every round.
mode_for() {
    if [ "$2" = no ] || { [ "$2" = both ] && [ $(($1 % 2)) -eq 1 ]; }; then
        printf '[Daemon]\nStageIdleGroups=no\n' >/etc/passthru/passthru.conf
        STAGED=
    else
        rm -f /etc/passthru/passthru.conf
        STAGED=yes
    fi
}

# kill_round POINT ROUND MODES: a grant (or, for return-*, a return) that
# passthrud dies in at POINT; the holder dies meanwhile (after acquire-sent:
# in half the rounds of each mode it lives on); then a restart of the
# shipped passthrud.  In a staged round (mode_for) of acquire-pinned,
# -recorded and -sent, a first lease of the faulty daemon (the point's
# first hit) stages the group, so that the grant killed at -recorded or
# -sent is a staged one (its stage taken), and at -pinned (before the grant
# looks at the stage) passthrud dies holding a stage; acquire-moved's grant
# moves the group from passthru, as a first grant does.  Afterwards the
# device is back, reset, within 5 s of the restarted daemon being on the
# bus (or of the living holder's end), staged again in a staged round (on
# passthru in one round a point at most: kill_at), and the books match
# the kernel.  (From the restart's exec, its start adds
# 0.3-2.5 s under TCG on a loaded host: that figure is printed too.)
kill_round() {
    local point=$1 round=$2 holder alive=no lines texec armed=$1 back_on
    mode_for "$round" "$3"
    stop_daemon
    case $STAGED/$point in
    yes/acquire-pinned|yes/acquire-recorded|yes/acquire-sent)
        armed=$point:2
        ;;
    esac
    start_faulty "$armed"
    if [ "$armed" != "$point" ]; then
        $ALICE pt-hold $EDU vm-stage >/tmp/hold.out 2>&1 || fail "round $round: the lease before: $(cat /tmp/hold.out)"
        # A return announces available once its stage is made.
        wait_state $EDU available
        assert_staged $EDU
    fi
    : >/tmp/hold.out
    $ALICE pt-hold -H $EDU vm-$round >/tmp/hold.out 2>&1 &
    holder=$!
    case $point in
    return-*)
        for i in $(seq 1 100); do
            grep -q acquired /tmp/hold.out && break
            sleep 0.1
        done
        grep -q acquired /tmp/hold.out || fail "round $round: no lease to return: $(cat /tmp/hold.out)"
        kill -9 $holder
        ;;
    esac
    died_at "$point"
    case $point in
    acquire-sent)
        # The reply left before the kill: the holder has the group.
        for i in $(seq 1 30); do
            grep -q acquired /tmp/hold.out && break
            alive $holder || break
            sleep 0.1
        done
        grep -q acquired /tmp/hold.out && echo "$round" >>/tmp/got-fd
        # Alive in rounds 1, 4, 5, 8, ...: both modes, with and without.
        if grep -q acquired /tmp/hold.out && [ $(((round / 2) % 2)) -eq 0 ]; then
            alive=yes
            echo "$round" >>/tmp/alive
        else
            kill -9 $holder 2>/dev/null || true
        fi
        ;;
    acquire-*)
        # The call failed with the daemon: no fd reached the caller.
        ! grep -q acquired /tmp/hold.out || fail "round $round: the caller got a group fd from a grant that died at $point"
        ;;
    esac
    [ $alive = yes ] || wait $holder 2>/dev/null || true
    if [ "$point" = acquire-pinned ]; then
        # Nothing moved yet (a staged group stays on vfio-pci, its node gone with passthrud).
        if [ -n "$STAGED" ]; then assert_driver $EDU vfio-pci; else assert_driver $EDU passthru; fi
        [ -z "$(ledger_view)" ] || fail "round $round: a lease in the ledger before anything moved: $(ledger_view)"
    fi
    lines=$(wc -l </tmp/passthrud.log)
    now
    texec=$NOW
    start_daemon
    now
    T0=$NOW
    if [ $alive = yes ]; then
        books_match_kernel
        assert_eq "$(dev_prop $EDU OwnerPid)" "$holder" "OwnerPid after the restart"
        expect_error org.passthru1.Error.DeviceBusy as_alice pt-hold $EDU vm-other >/dev/null
        now
        T0=$NOW
        kill -9 $holder
        wait $holder 2>/dev/null || true
    fi
    wait_back $EDU 5000
    # Staged again by the restart's return (a take-back's or the ledger's),
    # as its log says.  On passthru instead is safe (reset, nobody's), and
    # was seen once in about 80 staged rounds (2026-12-04, acquire-pinned):
    # counted, with the restart's log, and more than one a point fails.
    back_on=$(driver $EDU)
    if [ -n "$STAGED" ] && [ "$back_on" != vfio-pci ]; then
        echo "$round" >>/tmp/unstaged
        echo "round $round: back on $back_on, not staged, after the restart:"
        tail -n +"$lines" /tmp/passthrud.log | head -n 40
    elif [ -n "$STAGED" ]; then
        assert_staged $EDU
    fi
    echo "$BACK_MS" >>/tmp/back.ms
    [ $alive = yes ] || echo $((NOW - texec)) >>/tmp/back-exec.ms
    # Reset by the restarted daemon on the way back (acquire-pinned: it never left).
    if [ "$point" != acquire-pinned ] && [ "$(dev_prop $EDU ResetResults | cut -d' ' -f1)" -lt 1 ]; then
        fail "round $round: $EDU came back without a reset: $(tail -n +"$lines" /tmp/passthrud.log | head -n 10)"
    fi
    books_match_kernel
    # A write the kill cut short (the ledger's is written while the group moves) left nothing behind.
    for f in ${LEDGER%/*}/.leases.*; do
        [ ! -e "$f" ] || fail "round $round: a temporary file of the ledger survived the restart: $f"
    done
    echo "round $round: back after $BACK_MS ms, $((NOW - texec)) ms after the restart's exec (holder alive across the restart: $alive; staged groups: ${STAGED:-no})"
}

# kill_at POINT [ROUNDS [MODES]]: kill_round POINT, ROUNDS ($ROUNDS) times,
# in MODES (mode_for; both by default); then the default again.
kill_at() {
    local point=$1 rounds=${2:-$ROUNDS} modes=${3:-both} t0 extra= unstaged
    settle
    : >/tmp/back.ms
    : >/tmp/back-exec.ms
    : >/tmp/got-fd
    : >/tmp/alive
    : >/tmp/unstaged
    now
    t0=$NOW
    start_watch
    for round in $(seq 1 "$rounds"); do
        kill_round "$point" "$round" "$modes"
    done
    stop_watch
    now
    if [ "$point" = acquire-sent ]; then
        extra=" (the fd reached the holder in $(wc -l </tmp/got-fd); it lived across the restart in $(wc -l </tmp/alive))"
    fi
    unstaged=$(wc -l </tmp/unstaged)
    figure "kill -9 at $point: $rounds rounds ($modes)$extra in $(( (NOW - t0) / 1000 )) s, back after $(stats </tmp/back.ms) once passthrud was on the bus again (limit 5000 ms), $(stats </tmp/back-exec.ms) after its exec; staged rounds back on passthru instead: $unstaged; /proc watch: $WATCHED"
    [ "$unstaged" -le 1 ] ||
        fail "$point: $unstaged staged rounds came back on passthru, not staged (rounds $(echo $(cat /tmp/unstaged)))"
    mode_for 0 yes
    stop_daemon
    start_daemon
}

testcase_kill_after_the_caller_is_pinned() {
    kill_at acquire-pinned
}

testcase_kill_after_the_first_device_moved() {
    kill_at acquire-moved
}

testcase_kill_after_the_ledger_was_written() {
    kill_at acquire-recorded
}

testcase_kill_after_the_fd_was_sent() {
    kill_at acquire-sent
}

# StageIdleGroups=no: the group off vfio-pci, not reset yet.
testcase_kill_in_the_middle_of_a_return() {
    kill_at return-unbound "$ROUNDS" no
}

# The default: killed after the return reset the group on vfio-pci,
# before it was staged.  The restart finds the lease's holder dead and the
# group on vfio-pci: it returns it again (a second reset) and stages it,
# its node held by passthrud alone.
testcase_kill_in_the_middle_of_a_staged_return() {
    kill_at return-staged 8 yes
    wait_state $EDU available
    assert_driver $EDU passthru
}

# ---- the disk: /var/lib/passthru full or read-only ----

# break_disk full|ro: a small tmpfs over /var/lib/passthru, holding the
# state file and filled up; or a read-only bind mount of it.
break_disk() {
    case $1 in
    full)
        mount -t tmpfs -o size=64k,mode=0755 passthru-full $STATE_DIR
        cp /tmp/state.before $STATE_DIR/state
        dd if=/dev/zero of=$STATE_DIR/filler bs=4096 2>/dev/null || true
        ;;
    ro)
        mount --bind $STATE_DIR $STATE_DIR
        mount -o remount,ro,bind $STATE_DIR
        ;;
    esac
    if echo x >$STATE_DIR/probe 2>/dev/null; then
        fail "$STATE_DIR still takes writes ($1)"
    fi
    rm -f $STATE_DIR/probe 2>/dev/null || true
}

mend_disk() {
    umount $STATE_DIR
}

# failed_save MODE TEXT COMMAND...: the call fails, saying what it could
# not save and why.
failed_save() {
    local why=$1 text=$2
    shift 2
    [ "$why" = full ] && why="No space left on device" || why="Read-only file system"
    if "$@" >/tmp/out 2>&1; then
        fail "'$*' succeeded on a broken disk"
    fi
    grep -q "$text: $why" /tmp/out || fail "'$*': expected '$text: $why', got: $(cat /tmp/out)"
    echo "refused: $* -> $(cat /tmp/out)"
}

# Nothing half-written: the files as they were, no temporary file left.
untouched() {
    cmp -s $STATE_DIR/state /tmp/state.before || fail "the state file changed: $(cat $STATE_DIR/state)"
    cmp -s $MODPROBE /tmp/modprobe.before || fail "$MODPROBE changed: $(cat $MODPROBE)"
    for f in $STATE_DIR/.state.* /etc/modprobe.d/.passthru.conf.*; do
        [ ! -e "$f" ] || fail "a temporary file was left: $f"
    done
}

# The old state in force: maintenance mode on, $EDU assigned to vm-old
# only, the NIC not marked.
old_state_in_force() {
    assert_eq "$(busctl get-property $BUS MaintenanceMode)" "b true" "MaintenanceMode ($1)"
    assert_eq "$(dev_prop $EDU Assignments)" "1 vm-old" "Assignments of $EDU ($1)"
    assert_eq "$(dev_prop $NIC Passthrough)" false "Passthrough of $NIC ($1)"
    assert_driver $NIC e1000e
}

disk_case() {
    local mode=$1
    settle
    # The starting point, written while the disk is fine.
    mgr EnterMaintenanceMode
    mgr SetPassthrough "sba{sv}" $EDU true 0 >/dev/null
    mgr Assign ss $EDU vm-old
    mgr ExitMaintenanceMode
    cp $STATE_DIR/state /tmp/state.before
    cp $MODPROBE /tmp/modprobe.before
    break_disk "$mode"
    failed_save "$mode" "Cannot save the state" call EnterMaintenanceMode ""
    assert_eq "$(busctl get-property $BUS MaintenanceMode)" "b false" "MaintenanceMode after a failed enter"
    untouched
    mend_disk
    # Changes need maintenance mode: entered while the disk is fine.
    mgr EnterMaintenanceMode
    cp $STATE_DIR/state /tmp/state.before
    break_disk "$mode"
    failed_save "$mode" "Cannot save the assignments" call Assign ss $EDU vm-new
    assert_eq "$(dev_prop $EDU Assignments)" "1 vm-old" "Assignments after a failed Assign"
    failed_save "$mode" "Cannot save the assignments" call Unassign ss $EDU vm-old
    assert_eq "$(dev_prop $EDU Assignments)" "1 vm-old" "Assignments after a failed Unassign"
    failed_save "$mode" "Cannot save the passthrough configuration" call SetPassthrough "sba{sv}" $NIC true
    failed_save "$mode" "Cannot save the passthrough configuration" call SetPassthrough "sba{sv}" $NIC true Live=true Force=true
    failed_save "$mode" "Cannot save the state" call ExitMaintenanceMode ""
    old_state_in_force "after the failed calls"
    untouched
    # The old state after a restart, the disk still broken, then mended.
    stop_daemon
    start_daemon
    old_state_in_force "after a restart on the broken disk"
    untouched
    mend_disk
    untouched
    stop_daemon
    start_daemon
    old_state_in_force "after a restart on the mended disk"
    mgr Unassign ss $EDU vm-old
    mgr ExitMaintenanceMode
    figure "disk $mode: EnterMaintenanceMode, Assign, Unassign, SetPassthrough (twice) and ExitMaintenanceMode refused, files untouched, the old state in force after 2 restarts"
}

testcase_state_dir_full_refuses_changes_and_keeps_the_old_state() {
    disk_case full
}

testcase_state_dir_read_only_refuses_changes_and_keeps_the_old_state() {
    disk_case ro
}

# ---- what a killed daemon's writes leave ----

# A daemon killed between a file's open() and its rename() leaves
# ".NAME.PID.N" beside it: the next start removes those (for the ledger,
# the quarantine list, the state file and modprobe.d's file), and nothing
# else that only looks like one.
testcase_temporaries_left_by_a_killed_daemon_are_swept_at_start() {
    local run=${LEDGER%/*}
    settle
    stop_daemon
    mkdir -p $run /etc/modprobe.d
    for f in $run/.leases.4242.0 $run/.quarantine.4242.7 $STATE_DIR/.state.4242.1 /etc/modprobe.d/.passthru.conf.4242.3 \
        $run/.leases.keep $STATE_DIR/.state.x.1; do
        echo half >"$f"
    done
    start_daemon
    for f in $run/.leases.4242.0 $run/.quarantine.4242.7 $STATE_DIR/.state.4242.1 /etc/modprobe.d/.passthru.conf.4242.3; do
        [ ! -e "$f" ] || fail "$f survived the start"
    done
    for f in $run/.leases.keep $STATE_DIR/.state.x.1; do
        [ -e "$f" ] || fail "$f, not a temporary of passthrud's, was removed"
        rm "$f"
    done
    grep -q "Removed 1 temporary file(s) of $run/leases" /tmp/passthrud.log || fail "no word of the ledger's temporary"
    $ALICE timeout 30 pt-hold $EDU vm-swept -- true || fail "no grant after the sweep"
    wait_state $EDU available
    figure "temporaries of a killed writer: 4 removed at start (ledger, quarantine list, state, modprobe.d), 2 look-alikes kept"
}

# ---- the ledger: /run/passthru full ----

# A grant whose ledger cannot be written (a full /run/passthru: the file is
# written by a worker's thread while the group moves) is refused, naming
# why; the group goes back to passthru, nothing is left in the ledger or
# held, and the next grant on a mended directory works.
testcase_runtime_dir_full_refuses_a_grant_and_keeps_the_books() {
    local run=${LEDGER%/*} holder i
    settle
    stop_daemon
    mkdir -p $run
    mount -t tmpfs -o size=64k,mode=0700 passthru-run-full $run
    dd if=/dev/zero of=$run/filler bs=4096 2>/dev/null || true
    if echo x >$run/probe 2>/dev/null; then
        fail "$run still takes writes"
    fi
    start_daemon
    wait_state $EDU available
    if $ALICE timeout 30 pt-hold $EDU vm-full -- true >/tmp/out 2>&1; then
        fail "a grant with a full $run: $(cat /tmp/out)"
    fi
    grep -q "Cannot record the lease in $run: No space left on device" /tmp/out ||
        fail "expected 'Cannot record the lease in $run: No space left on device', got: $(cat /tmp/out)"
    echo "refused: $(cat /tmp/out)"
    wait_state $EDU available
    assert_driver $EDU passthru
    [ -z "$(ledger_view)" ] || fail "a lease in the ledger after a refused grant: $(ledger_view)"
    assert_eq "$(dev_prop $EDU OwnerPid)" 0 "OwnerPid after a refused grant"
    [ -z "$(group_holders)" ] || fail "the group is held after a refused grant: $(group_holders)"
    for f in $run/.leases.*; do
        [ ! -e "$f" ] || fail "a temporary file was left: $f"
    done
    books_match_kernel
    # Mended: the next grant is recorded and works.
    rm $run/filler
    $ALICE pt-hold -H $EDU vm-mended >/tmp/hold.out 2>&1 &
    holder=$!
    for i in $(seq 1 100); do
        grep -q acquired /tmp/hold.out && break
        sleep 0.1
    done
    grep -q acquired /tmp/hold.out || fail "no grant once $run had room again: $(cat /tmp/hold.out)"
    ledger_view | grep -q "^[0-9]* $holder  *$EDU" || fail "the lease of pid $holder is not in the ledger: $(ledger_view)"
    books_match_kernel
    kill $holder
    wait $holder 2>/dev/null || true
    wait_state $EDU available
    [ -z "$(ledger_view)" ] || fail "the ledger after the lease ended: $(ledger_view)"
    books_match_kernel
    stop_daemon
    umount $run
    start_daemon
    figure "ledger full: Acquire refused naming it, $EDU back on passthru with nothing held or recorded; granted once mended"
}

# ---- an uncooperative holder: the device request ignored ----

# latency_idle: ListDevices every 10 ms, 300 times, with nothing else
# going on: how fast this machine answers at all.  The limit below is
# 100 ms, or three times this idle run's slowest call when that is more.
# On a loaded host (make check runs a second VM beside this one) a TCG
# guest's vCPUs wait for the host's, and the fault's own work in the guest
# (the holder's kill, the kernel's release of its group, the reset, udev)
# competes with dbus-daemon and the caller for them at those moments.
# Traced with ftrace in the guest beside two busy loops on the host
# (2026-12-03): in the slow calls passthrud slept, and dbus-daemon or the
# caller waited for a vCPU.  Two cold CIs of that day, with idle medians of
# 9-12 ms against 2-4 ms quiet: idle slowest 56 and 54 ms, idle p99 41 and
# 39 ms, and in the revoke's window (60-80 calls, whose p99 is their
# slowest) 104 and 124 ms, at the Release or the grace's end.  Quiet, the
# idle slowest is 15-20 ms and the limit 100 ms; a loop that waited for
# the grace (1 s) or walked /proc on a host of thousands of processes
# fails under either.
latency_idle() {
    pt-hold -i 10 -L 300 >/tmp/lat.out 2>/tmp/lat.err || fail "the bus did not answer: $(cat /tmp/lat.out /tmp/lat.err)"
    IDLE=$(cat /tmp/lat.out)
    LIMIT=$(awk '{ print (3 * $2 > 100 ? 3 * $2 : 100) }' /tmp/lat.out)
    echo "idle: $IDLE"
    cat /tmp/lat.err
}

# latency_start / latency_stop: ListDevices every 10 ms from the fault to
# its end; the figures in $LATENCY, failing on a p99 above $LIMIT ms.  A
# p99 above it is measured against the machine once more: an idle run
# right after the window (the other VM of make check may have started
# something heavy since the first), and the larger of the two limits.
latency_start() {
    pt-hold -i 10 -L 100000 >/tmp/lat.out 2>/tmp/lat.err &
    LAT=$!
}

latency_stop() {
    kill -TERM $LAT
    wait $LAT || fail "the bus did not answer: $(cat /tmp/lat.out /tmp/lat.err)"
    LATENCY=$(cat /tmp/lat.out)
    cat /tmp/lat.err
    local p99 before=$IDLE limit=$LIMIT
    p99=$(echo "$LATENCY" | awk '{ print $5 }')
    [ "$p99" -gt "$LIMIT" ] || return 0
    latency_idle
    IDLE="$before; after the window: $IDLE"
    [ "$limit" -le "$LIMIT" ] || LIMIT=$limit
    [ "$p99" -le "$LIMIT" ] || fail "the bus loop stalled: $LATENCY (limit p99 $LIMIT ms; idle: $IDLE)"
}

# uncooperative DEV: alice's VMM stand-in holds DEV's group and device fd,
# registers no device-request channel, and never lets go; its pid in $HOLDER.
uncooperative() {
    : >/tmp/hold.out
    $ALICE pt-hold $1 vm-u -- vfio-check --fd @FD@ --hold $1 >/tmp/hold.out 2>&1 &
    HOLDER=$!
    for i in $(seq 1 100); do
        grep -q "^holding" /tmp/hold.out && return 0
        sleep 0.1
    done
    fail "the holder did not take $1: $(cat /tmp/hold.out)"
}

grace_1s() {
    printf '[Daemon]\nRevokeGraceSec=1\n' >/etc/passthru/passthru.conf
    stop_daemon
    start_daemon
}

testcase_revoked_uncooperative_holder_is_back_within_grace_plus_2s() {
    settle
    grace_1s
    latency_idle
    uncooperative $EDU
    latency_start
    now
    T0=$NOW
    mgr Release s $EDU
    wait_back $EDU 3000
    latency_stop
    ! alive $HOLDER || fail "the holder survived"
    books_match_kernel
    figure "revoke, uncooperative holder: back after $BACK_MS ms (limit grace 1 s + 2 s); ListDevices meanwhile: $LATENCY (limit p99 $LIMIT ms; idle: $IDLE)"
}

testcase_unplugged_uncooperative_holders_device_is_gone_within_grace_plus_2s() {
    local gone
    settle
    grace_1s
    latency_idle
    qmp '{"execute":"device_add","arguments":{"driver":"edu","bus":"rphp","id":"hpf"}}' >/dev/null
    for i in $(seq 1 100); do
        on_passthru $HP && break
        sleep 0.1
    done
    wait_state $HP available
    uncooperative $HP
    latency_start
    qmp '{"execute":"device_del","arguments":{"id":"hpf"}}' >/dev/null
    # The kernel asks the holder (only the holder: passthrud cannot see the
    # request) and waits; the holder ignores it.
    sleep 2
    [ -d $SYS/$HP ] || fail "$HP went away while its holder had it open"
    assert_eq "$(dev_prop $HP State)" leased "State of $HP while its removal waits"
    echo "kernel: $(dmesg | grep -m 1 "$HP.*request" || echo "no device-request message")"
    # Root takes it back: grace, SIGKILL, and the removal completes.
    now
    T0=$NOW
    mgr Release s $HP
    gone=
    while [ -z "$gone" ]; do
        now
        if [ ! -d $SYS/$HP ] && ! mgr ListDevices | grep -q "$HP"; then
            gone=$((NOW - T0))
        fi
        [ $((NOW - T0)) -le 30000 ] || fail "$HP not gone $((NOW - T0)) ms after the revocation: $(tail -n 5 /tmp/passthrud.log)"
        sleep 0.05
    done
    latency_stop
    [ "$gone" -le 3000 ] || fail "$HP gone only $gone ms after the revocation (bus: $LATENCY): $(grep -A 10 "Lease revoked: device $HP" /tmp/passthrud.log)"
    ! alive $HOLDER || fail "the holder survived"
    kill -0 "$(cat /tmp/passthrud.pid)" || fail "passthrud died"
    grep "device $HP, VM 'vm-u'" /tmp/passthrud.log | tail -n 2
    figure "unplug, uncooperative holder: removal blocked 2 s, then gone $gone ms after root's Release (limit grace 1 s + 2 s); ListDevices meanwhile: $LATENCY (limit p99 $LIMIT ms; idle: $IDLE)"
    rm /etc/passthru/passthru.conf
    stop_daemon
    start_daemon
}

# ---- soak: grant and return, 4 clients in turn ----

rss_anon() {
    awk '/^RssAnon:/ { print $2 }' /proc/"$1"/status
}

fd_count() {
    ls /proc/"$1"/fd | wc -l
}

slab_kib() {
    echo 3 >/proc/sys/vm/drop_caches
    awk '/^Slab:/ { print $2 }' /proc/meminfo
}

# The soak's driver is pt-bench cycle (a C client; the shell's setpriv +
# pt-hold exec per cycle cost more than the daemon's own work): as alice,
# each round trip a new holder process on a fresh connection, VM names
# vm-0 .. vm-3 in turn; it waits for State "available" before each
# Acquire, and the holder exits holding the group (the return is the
# daemon's take-back of a dead holder's device).  One line per cycle.
soak_cycles() {
    as_alice pt-bench cycle -q -m vm -c 4 -n "$1" -t "$2" $EDU
}

# median_ms COLUMN FILE: the median of a column of microseconds, in ms.
median_ms() {
    awk -v c="$1" '{ print $c }' "$2" | sort -n |
        awk '{ a[NR] = $1 } END { if (NR) print int(a[int((NR + 1) / 2)] / 1000); else print "-" }'
}

testcase_soak_of_grant_return_cycles_leaks_nothing() {
    local pid rss0 rss1 fd0 fd1 slab0 slab1 n t0 ms rc=0
    settle
    stop_daemon
    start_daemon
    pid=$(cat /tmp/passthrud.pid)
    # Warm up: the worker threads' stacks and arenas, sd-bus's caches.
    soak_cycles 20 "$SOAK_SECONDS" >/dev/null 2>/tmp/soak.err || fail "warm-up: $(cat /tmp/soak.err)"
    wait_back_quiet
    rss0=$(rss_anon "$pid")
    fd0=$(fd_count "$pid")
    slab0=$(slab_kib)
    now
    t0=$NOW
    soak_cycles "$CYCLES" "$SOAK_SECONDS" >/tmp/soak.out 2>/tmp/soak.err || rc=$?
    now
    ms=$((NOW - t0))
    n=$(wc -l </tmp/soak.out)
    [ "$rc" -eq 0 ] || fail "cycle $((n + 1)) failed: $(cat /tmp/soak.err; tail -n 5 /tmp/passthrud.log)"
    wait_back_quiet
    rss1=$(rss_anon "$pid")
    fd1=$(fd_count "$pid")
    slab1=$(slab_kib)
    figure "soak: $n of $CYCLES cycles in $((ms / 1000)) s ($((ms / (n > 0 ? n : 1))) ms a cycle;" \
        "grant median $(median_ms 1 /tmp/soak.out) ms, return median $(median_ms 2 /tmp/soak.out) ms), 4 clients in turn;" \
        "passthrud RssAnon $rss0 -> $rss1 KiB ($((rss1 - rss0)), limit < 256), fds $fd0 -> $fd1," \
        "kernel Slab $slab0 -> $slab1 KiB ($((slab1 - slab0)), limit < 1024)"
    [ "$n" -ge "$CYCLES" ] || fail "only $n of $CYCLES cycles in the soak's $SOAK_SECONDS s"
    [ $((rss1 - rss0)) -lt 256 ] || fail "passthrud's RssAnon grew by $((rss1 - rss0)) KiB"
    assert_eq "$fd1" "$fd0" "passthrud's fd count"
    [ $((slab1 - slab0)) -lt 1024 ] || fail "the kernel's slab grew by $((slab1 - slab0)) KiB"
    books_match_kernel
}

# After the last cycle: $EDU back, and the daemon idle.
wait_back_quiet() {
    now
    T0=$NOW
    wait_back $EDU 10000
}

suite_teardown() {
    cat /tmp/passthrud.log >/dev/console
}
