#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make bench: boot one VM with 128 extra edu devices and run the bench suite
# (tests/vm/suites/bench.sh): ListDevices, GetManagedObjects, the daemon's
# start, a udev storm and its memory, with 128+ devices; then a second VM,
# the test bed without the extra devices, for what one lease costs
# (tests/vm/suites/bench-testbed.sh): passthrud's grant over its own socket
# and over the system bus, and its return, against a bare sysfs floor
# alternated with them, and the race of 8 clients.  Prints the figures and
# writes build/results/bench/:
#   summary     "key value" lines (grant_floor_ms, grant_direct_ms, ...)
#   report      the figures in words, and each goal's verdict
#   rounds.svg  the per-round distributions (gnuplot), also copied to
#               docs/bench.svg
# Exits non-zero when a goal is missed, naming it.  Not part of make check.
#
#   [BENCH_N=30] [VMRUN_ARGS=...] tests/bench/run.sh
set -uo pipefail
. "$(dirname "$0")/../vm/common.sh"

n=${BENCH_N:-30}
out=$BUILD/results/bench
log=$(mktemp)
trap 'rm -f "$log"' EXIT

started=$(date +%s)
# The figures depend on the host: say how busy it was.
host="$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
others=$(pgrep -c -f '^qemu-system-x86_64 ' || true)
VMRUN_ARGS="--extra-edu 128 --timeout 1200 ${VMRUN_ARGS:-}" "$TOP/tests/vm/run.sh" bench \
    "passthru.hide=(01:00.0)" | tee "$log"
rc=${PIPESTATUS[0]}
# One lease's costs in the test bed without the extra devices (bench-testbed.sh says why).
VMRUN_ARGS="--timeout 1200 ${VMRUN_ARGS:-}" "$TOP/tests/vm/run.sh" bench-testbed \
    "passthru.hide=(01:00.0) pt.bench_n=$n" | tee -a "$log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
mkdir -p "$out"

# The key figures, one "key value" a line.
grep -o 'benchkey: .*' "$log" | sed 's/^benchkey: //' >"$out/summary"

# The per-round figures and their plot.
for kind in floor direct bus floor-unstaged direct-unstaged bus-unstaged; do
    grep -o "benchround: $kind .*" "$log" | awk '{ print $3 / 1000, $4 / 1000 }' >"$out/rounds-$kind.dat"
done
if [[ -s $out/rounds-floor.dat ]]; then
    gnuplot -e "dir='$out'; rounds=$n; day='$(date -u '+%Y-%m-%d')'" "$TOP/tests/bench/rounds.gp" ||
        echo "make bench: gnuplot failed; the figures are in $out/rounds-*.dat" >&2
    [[ -s $out/rounds.svg ]] && cp "$out/rounds.svg" "$TOP/docs/bench.svg"
fi

{
    echo
    echo "== make bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - started)) s on the host =="
    echo "  host: $host, $(cut -d' ' -f1-3 /proc/loadavg) at the end; other QEMUs running at the start: $others"
    grep -o 'bench: .*' "$log" | sed 's/^bench: /  /'
    echo
    sed 's/^/  /' "$out/summary"
    echo
    grep -E '^(PASS|FAIL) ' "$log" | sed 's/^/  /'
    if [[ $rc -eq 0 ]]; then
        echo "  every goal met"
    else
        echo "  a goal was missed or the run failed (the FAIL lines above; consoles: $out/console.log, $BUILD/results/bench-testbed/console.log)"
    fi
} | tee "$out/report" 2>/dev/null || true
exit "$rc"
