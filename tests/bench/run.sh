#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make bench: boot one VM with 64 extra edu devices and run the bench suite
# (tests/vm/suites/bench.sh): passthrud's grant and return against a bare
# sysfs floor alternated with it, ListDevices, and passthrud's memory.
# Prints the figures, the ratios and a summary; exits non-zero when a goal
# is missed.  Not part of make check.
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
VMRUN_ARGS="--extra-edu 64 --timeout 300 ${VMRUN_ARGS:-}" "$TOP/tests/vm/run.sh" bench \
    "passthru.hide=(01:00.0) pt.bench_n=$n" | tee "$log"
rc=${PIPESTATUS[0]}

{
    echo
    echo "== make bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - started)) s on the host =="
    echo "  host: $host, $(cut -d' ' -f1-3 /proc/loadavg) at the end; other QEMUs running at the start: $others"
    grep '^bench: ' "$log" | sed 's/^bench: /  /'
    grep -E '^(PASS|FAIL) ' "$log" | sed 's/^/  /'
    if [[ $rc -eq 0 ]]; then
        echo "  every goal met"
    else
        echo "  a goal was missed or the run failed (console: $out/console.log)"
    fi
} | tee "$out/summary" 2>/dev/null || true
exit "$rc"
