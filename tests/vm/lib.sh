# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# Helpers for VM test suites.  A suite is a file of testcase_* functions;
# run_suite runs each in a subshell with `set -e`, then fails it too if the
# kernel logged a warning, a BUG, an oops or a sanitizer report meanwhile.
# Results go to the host over fd 3 (the "ctl" port), one line per case.

KO=/lib/modules/$(uname -r)/extra/passthru.ko
SYS=/sys/bus/pci/devices

ctl() {
    printf '%s\n' "$*" >&3
}

# Run a QMP command on the host's QEMU; prints its JSON answer.
qmp() {
    local reply
    ctl "qmp $1"
    read -r reply <&3
    printf '%s\n' "$reply"
    case $reply in
    *'"error"'*) return 1 ;;
    esac
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

assert_eq() {
    [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

# driver DEV: the name of the driver bound to DEV, or "none".
driver() {
    if [ -e "$SYS/$1/driver" ]; then
        basename "$(readlink "$SYS/$1/driver")"
    else
        echo none
    fi
}

assert_driver() {
    assert_eq "$(driver "$1")" "$2" "driver of $1"
}

# move_by_hand DEV FROM TO: what another tool (or root by hand) does:
# DEV's driver_override set to TO, unbound from FROM, probed.
move_by_hand() {
    echo "$3" >"$SYS/$1/driver_override"
    echo "$1" >"/sys/bus/pci/drivers/$2/unbind"
    echo "$1" >/sys/bus/pci/drivers_probe
}

# override DEV: the device's driver_override, "(null)" when unset.
override() {
    cat "$SYS/$1/driver_override"
}

# load_passthru [PARAM...]: a fresh passthru.ko with these parameters only
# (insmod, unlike modprobe, ignores the kernel command line).
load_passthru() {
    if [ -d /sys/module/passthru ]; then
        rmmod passthru
    fi
    insmod "$KO" "$@"
}

unload_passthru() {
    if [ -d /sys/module/passthru ]; then
        rmmod passthru
    fi
}

# nl_state DEV: the state GET reports for DEV, or "unlisted".
nl_state() {
    ptnl get | awk -v a="$1" '$1 == a { print $2; found = 1 } END { if (!found) print "unlisted" }'
}

TROUBLE='WARNING:|BUG:|Oops|general protection|Call Trace:|UBSAN:|KASAN:|kmemleak: .*suspected memory leak|possible circular locking|possible recursive locking|INFO: task .* blocked|sleeping function called from invalid context'

# The time on the kernel log's clock from which passthru can be involved:
# its first line (the module's load), else now.  Reports before it are the
# boot's, not passthru's.
passthru_since() {
    dmesg | awk '{ ts = $0; sub(/^\[ */, "", ts); sub(/\].*/, "", ts) }
        /^\[ *[0-9.]+\] passthru[:_ ]/ { print ts; found = 1; exit }
        { last = ts }
        END { if (!found) print (last == "" ? 0 : last) }'
}

# kernel_trouble [before|since] T: the kernel log lines that fail a case,
# among those logged before or since T (default: every line since the
# module could be involved; the log is cleared after each case).
kernel_trouble() {
    local when=${1:-since} t=${2:-$PASSTHRU_SINCE}
    dmesg | awk -v when="$when" -v t="$t" '
        /^\[ *[0-9]+\.[0-9]+\]/ { ts = $0; sub(/^\[ */, "", ts); sub(/\].*/, "", ts)
            keep = (when == "before") ? (ts + 0 < t + 0) : (ts + 0 >= t + 0) }
        keep' | grep -E "$TROUBLE" || true
}

# A report the kernel made before passthru could be involved fails this
# case, with its text, and no case of the suite.
check_boot_log() {
    local trouble
    PASSTHRU_SINCE=$(passthru_since)
    trouble=$(kernel_trouble before "$PASSTHRU_SINCE")
    if [ -z "$trouble" ]; then
        ctl "result PASS $1.kernel_boot_is_clean"
    else
        dmesg >/dev/console
        ctl "result FAIL $1.kernel_boot_is_clean before passthru (${PASSTHRU_SINCE}s): $(echo "$trouble" | head -n 3 | tr '\n' '|')"
    fi
}

# CASE_LIMIT: the seconds a case may run before it is taken for hung (a
# suite may set its own, and LIMIT_testcase_NAME for one case).  Its tasks
# are then shown on the console, what it started is killed (passthrud
# excepted: later cases use it) and the case fails, so that the suite goes
# on.
CASE_LIMIT=${CASE_LIMIT:-900}

# show_tasks PID: every process but the kernel's threads (pid, parent,
# state, wchan, command line); the kernel stacks of the threads of
# passthrud, of PID (the hung case) and the processes under it, and of any
# task in D state.
show_tasks() {
    local d stat pid ppid state comm under
    under=" $1 $(descendants "$1" | tr '\n' ' ') "
    echo "--- tasks (pid ppid state wchan command):"
    for d in /proc/[0-9]*; do
        read -r stat <"$d/stat" 2>/dev/null || continue
        pid=${stat%% *}
        comm=${stat#*(}
        comm=${comm%)*}
        stat=${stat##*) }
        state=${stat%% *}
        stat=${stat#* }
        ppid=${stat%% *}
        [ "$ppid" != 2 ] && [ "$pid" != 2 ] || continue
        echo "$pid $ppid $state $(cat "$d/wchan" 2>/dev/null) $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-120) [$comm]"
        case "$comm:$state:$under" in
        passthrud*|*:D:*|*" $pid "*) thread_stacks "$pid" ;;
        esac
    done
}

# thread_stacks PID: each thread of PID, its wchan and its kernel stack.
thread_stacks() {
    local t
    for t in /proc/"$1"/task/*; do
        echo "  thread ${t##*/} ($(cat "$t/comm" 2>/dev/null)), $(cat "$t/wchan" 2>/dev/null):"
        sed 's/^/    /' "$t/stack" 2>/dev/null
    done
}

# descendants PID: the pids of PID's children, theirs, and so on.
descendants() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        { line = $0; sub(/.*\) /, "", line); split(line, f, " "); parent[$1] = f[2] }
        END { n = 1; keep[root] = 1
              while (n) { n = 0
                  for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; n = 1 } }
              for (p in keep) if (p != root) print p }'
}

# case_watchdog NAME LIMIT: once the case running in the foreground has
# written its pid to /tmp/case.pid and run LIMIT s, the tasks on the console,
# then the case and what it started killed (passthrud spared), and
# /tmp/case.hung for run_suite.  run_suite kills the watchdog when the case
# ends first.
case_watchdog() {
    local up t0 p pid=
    read -r t0 _ </proc/uptime
    while :; do
        sleep 2
        [ -n "$pid" ] || read -r pid 2>/dev/null </tmp/case.pid || continue
        kill -0 "$pid" 2>/dev/null || exit 0
        read -r up _ </proc/uptime
        [ "${up%.*}" -lt $(( ${t0%.*} + $2 )) ] || break
    done
    {
        echo "=== $1: still running after $2 s (its limit): taken for hung"
        echo "--- its output so far:"
        tail -n 40 /tmp/case.log
        show_tasks "$pid"
    } >/dev/console 2>&1
    : >/tmp/case.hung
    for p in $(descendants "$pid") "$pid"; do
        case $(cat /proc/"$p"/comm 2>/dev/null) in
        passthrud*) ;;
        *) kill -9 "$p" 2>/dev/null || true ;;
        esac
    done
}

# heartbeat: "alive" to the host every 10 s (tests/vm/vmrun.py HEARTBEAT),
# which takes a guest silent for long, every vCPU idle, for QEMU's stall.
heartbeat() {
    while sleep 10; do
        ctl alive
    done
}

run_suite() {
    local file=$1 suite name rc trouble msg t0 took cases watchdog beat limit
    heartbeat &
    beat=$!
    suite=$(basename "$file" .sh)
    . "$file"
    check_boot_log "$suite"
    if command -v suite_setup >/dev/null; then
        if ! (set -e; suite_setup) >/tmp/setup.log 2>&1; then
            cat /tmp/setup.log >/dev/console
            ctl "result FAIL $suite.setup $(tail -n 4 /tmp/setup.log | tr '\n' '|')"
            kill "$beat" 2>/dev/null || true
            return
        fi
    fi
    # pt.cases=ERE on the kernel command line: only the cases it matches
    # (the AMD-Vi run of the daemon suite: its lease cases; ONLY= of
    # tests/install/run.sh: a developer's run of one case).
    cases=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^pt\.cases=//p')
    for name in $(sed -n 's/^\(testcase_[A-Za-z0-9_]*\)().*/\1/p' "$file" | grep -E "${cases:-.}"); do
        echo "=== $suite.$name" >/dev/console
        t0=$(cut -d' ' -f1 /proc/uptime)
        # The case in the foreground (a background job would ignore SIGINT,
        # and so would all it starts); it tells the watchdog its pid.
        rm -f /tmp/case.pid /tmp/case.hung
        eval "limit=\${LIMIT_$name:-$CASE_LIMIT}"
        case_watchdog "$suite.$name" "$limit" &
        watchdog=$!
        (read -r case_pid _ </proc/self/stat; echo "$case_pid" >/tmp/case.pid; set -e; "$name") >/tmp/case.log 2>&1
        rc=$?
        kill "$watchdog" 2>/dev/null || true
        wait "$watchdog" 2>/dev/null || true
        [ ! -e /tmp/case.hung ] || rc=124
        took=$(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime)
        trouble=$(kernel_trouble)
        cat /tmp/case.log >/dev/console
        # Where a stage's time goes: grep '^=== .* took' console.log.
        echo "=== $suite.$name took $took s" >/dev/console
        dmesg -c >>/tmp/kernel.log
        if [ $rc -eq 0 ] && [ -z "$trouble" ]; then
            ctl "result PASS $suite.$name"
        elif [ $rc -eq 77 ] && [ -z "$trouble" ]; then
            # known_defect: an open defect, named in an issue, reported as SKIP.
            ctl "result SKIP $suite.$name $(tail -n 2 /tmp/case.log | tr '\n' '|')"
        else
            if [ -n "$trouble" ]; then
                msg="kernel: $(echo "$trouble" | head -n 3 | tr '\n' '|')"
                echo "$trouble" >/dev/console
            elif [ $rc -eq 124 ]; then
                msg="hung: still running after $limit s, killed (its tasks and stacks on the console)"
            else
                msg=$(tail -n 4 /tmp/case.log | tr '\n' '|')
            fi
            ctl "result FAIL $suite.$name $msg"
        fi
    done
    if command -v suite_teardown >/dev/null; then
        suite_teardown || true
    fi
    check_kmemleak "$suite"
    kill "$beat" 2>/dev/null || true
}

# On a kernel with kmemleak: unload passthru, scan, and fail on any report.
check_kmemleak() {
    local leaks=/sys/kernel/debug/kmemleak report
    [ -e $leaks ] || return 0
    for m in passthru_kunit passthru; do
        [ -d /sys/module/$m ] && rmmod $m
    done
    echo scan > $leaks
    echo scan > $leaks
    report=$(cat $leaks)
    if [ -z "$report" ]; then
        ctl "result PASS $1.kmemleak_after_unload"
    else
        echo "$report" >/dev/console
        ctl "result FAIL $1.kmemleak_after_unload $( (echo "$report" | grep -m 2 -E 'unreferenced|comm';
            echo "$report" | grep -m 3 -E '\[<') | tr -s ' ' | tr '\n' '|')"
    fi
}

# known_defect TEXT: the case met a defect that an open issue names; it
# is reported as SKIP with TEXT (not PASS, not hidden), and the case ends.
known_defect() {
    echo "known open defect: $*"
    exit 77
}

# Print a line on the host's terminal (make demo).
say() {
    ctl "say $*"
}

# alive PID: a process, not a zombie (a killed child of this shell stays
# in /proc until it is waited for).
alive() {
    local stat
    read -r stat 2>/dev/null </proc/"$1"/stat || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# ---- passthrud in the VM (daemon, daemon-faults, reset and bench suites) ----

BUS="org.passthru1 /org/passthru1 org.passthru1.Manager"

# Alice is in the group passthru (990); $ALICE, not a function, for a
# background job whose $! must be the command's own pid.
ALICE="setpriv --reuid=1000 --regid=1000 --groups=990"

as_alice() {
    $ALICE "$@"
}

mgr() {
    busctl call $BUS "$@"
}

# call METHOD SIGNATURE ARGS...: like mgr, but failures name their D-Bus error.
call() {
    pt-hold -X "$@"
}

# expect_error NAME COMMAND...: the command fails with this D-Bus error.
expect_error() {
    local name=$1
    shift
    if "$@" >/tmp/out 2>&1; then
        fail "'$*' succeeded, expected $name"
    fi
    grep -q "$name" /tmp/out || fail "'$*': expected $name, got: $(cat /tmp/out)"
    cat /tmp/out
}

# The object path, as sd_bus_path_encode() escapes it (a leading digit too).
dev_path() {
    echo "/org/passthru1/device/_3$(echo "$1" | cut -c1)$(echo "$1" | cut -c2- | sed 's/:/_3a/g; s/\./_2e/g')"
}

dev_prop() {
    busctl get-property org.passthru1 "$(dev_path "$1")" org.passthru1.Device "$2" | cut -d' ' -f2- | tr -d '"'
}

# start_daemon [BINARY]: passthrud (or its test build), started once the
# last instance's name is gone and ready once the name is its own; its pid
# in /tmp/passthrud.pid.
start_daemon() {
    local pid
    # As systemd restarts a unit: once the last instance is gone, which a
    # kill -9 does not wait for (its name goes when its connection closes).
    for i in $(seq 1 100); do
        [ "$(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
            NameHasOwner s org.passthru1 2>/dev/null)" = "b false" ] && break
        sleep 0.1
    done
    "${1:-passthrud}" 2>>/tmp/passthrud.log &
    pid=$!
    echo $pid >/tmp/passthrud.pid
    # Ready when the name is this process's: right after a kill -9 the old
    # daemon's connection may hold it a little longer.
    for i in $(seq 1 100); do
        [ "$(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
            GetConnectionUnixProcessID s org.passthru1 2>/dev/null)" = "u $pid" ] && return 0
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    fail "${1:-passthrud} did not come up: $(tail -n 5 /tmp/passthrud.log)"
}

# daemon_setup [DEV...]: passthrud as the daemon, daemon-faults, reset,
# bench and demo suites start it: its directories; a state file that marks
# each DEV for passthrough (with no DEV none is written, and the kernel's
# passthru.hide= marks); a system dbus-daemon; then passthrud (start_daemon).
daemon_setup() {
    local dev first=yes
    mkdir -p /var/lib/passthru /run/dbus /etc/passthru
    if [ $# -gt 0 ]; then
        for dev in "$@"; do
            [ $first = yes ] || echo
            printf '[Device %s]\nPassthrough=yes\n' "$dev"
            first=no
        done >/var/lib/passthru/state
    fi
    dbus-daemon --system --fork --nopidfile
    start_daemon
}

stop_daemon() {
    local pid
    pid=$(cat /tmp/passthrud.pid)
    kill "$pid" 2>/dev/null || true
    # SIGTERM ends the loop at its next turn: a daemon still there after
    # 10 s is stuck, and says where (its threads' kernel stacks).
    for i in $(seq 1 100); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        thread_stacks "$pid"
        kill -9 "$pid"
        wait "$pid" 2>/dev/null || true
        fail "passthrud did not exit within 10 s of SIGTERM (its threads above): $(tail -n 5 /tmp/passthrud.log)"
    fi
    wait "$pid" 2>/dev/null || true
}

# wait_state DEV STATE: up to 10 s for the daemon to report it.
wait_state() {
    for i in $(seq 1 100); do
        [ "$(dev_prop "$1" State)" = "$2" ] && return 0
        sleep 0.1
    done
    fail "$1: state $(dev_prop "$1" State), expected $2"
}

# wait_available DEV: up to 10 s for DEV to be back, available.
wait_available() {
    wait_state "$1" available
}

# passthrud's pid: the one start_daemon started, or systemd's (the install guest).
daemon_pid() {
    if [ -e /tmp/passthrud.pid ]; then
        cat /tmp/passthrud.pid
    else
        systemctl show -p MainPID --value passthrud
    fi
}

# Processes with a VFIO group or device open, passthrud's staged groups (its own nodes) aside.
vfio_holders() {
    local daemon
    daemon=$(daemon_pid)
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" != "$daemon" ] || continue
        ls -l "$p/fd" 2>/dev/null | grep -qE 'vfio-device|/dev/vfio/[0-9]' && echo "${p#/proc/}"
    done
    true
}

# How many fds passthrud has open on /dev/vfio/GROUP of DEV.
daemon_node_fds() {
    local group
    group=$(basename "$(readlink "$SYS/$1/iommu_group")")
    ls -l "/proc/$(daemon_pid)/fd" 2>/dev/null | grep -c " -> /dev/vfio/$group\$" || true
}

# assert_staged DEV: DEV as a return that reset it leaves it by default
# (StageIdleGroups=yes, docs/DESIGN.md "Staged groups"): available, on
# vfio-pci, and its group's node held open by passthrud (once).
assert_staged() {
    assert_eq "$(dev_prop "$1" State)" available "State of $1"
    assert_driver "$1" vfio-pci
    assert_eq "$(daemon_node_fds "$1")" 1 "passthrud's fds on the node of $1"
}
