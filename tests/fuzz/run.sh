#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make fuzz: build the libFuzzer targets (tests/fuzz/fuzz-*.c) and run each
# for FUZZ_SECONDS (default 600), one at a time, on its seed corpus
# (tests/fuzz/corpus/TARGET, read only) and its working corpus
# (build/fuzz/corpus/TARGET, where new inputs go and stay for the next run).
# A crash, a leak, a timeout (10 s for one input) or 2 GiB of memory fails
# the target; its reproducer stays in build/fuzz/crashes/TARGET/ and its log
# in build/fuzz/logs/TARGET.log.  Prints "PASS|FAIL fuzz.TARGET N runs" per
# target; exits non-zero if any failed.
#
#   tests/fuzz/run.sh [TARGET...]        (TARGET: hide, config, ...)
#
# To replay a reproducer: build/fuzz/fuzz-TARGET build/fuzz/crashes/TARGET/crash-...
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$TOP/build
FUZZ=$BUILD/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-600}
cd "$TOP"

mkdir -p "$FUZZ/logs"
if ! make -s -C "$TOP" fuzz-build >"$FUZZ/logs/build.log" 2>&1; then
    tail -n 30 "$FUZZ/logs/build.log" >&2
    echo "FAIL fuzz.build (log: $FUZZ/logs/build.log)"
    exit 1
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for src in tests/fuzz/fuzz-*.c; do
        t=${src#tests/fuzz/fuzz-}
        targets+=("${t%.c}")
    done
fi

# The loaders' scratch files: tmpfs when there is one, so that fsync() is free.
scratch=$(mktemp -d -p "$([[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")" \
          passthru-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$scratch"' EXIT

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
rc=0
for t in "${targets[@]}"; do
    bin=$FUZZ/fuzz-$t seeds=tests/fuzz/corpus/$t work=$FUZZ/corpus/$t crashes=$FUZZ/crashes/$t
    log=$FUZZ/logs/$t.log
    if [[ ! -x $bin || ! -d $seeds ]]; then
        echo "FAIL fuzz.$t 0 runs (no target $bin or no seeds in $seeds)"
        rc=1
        continue
    fi
    rm -rf "$crashes"
    mkdir -p "$work" "$crashes" "$scratch/$t"

    args=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1
          -print_final_stats=1 -artifact_prefix="$crashes/")
    # Targets of one grammar share its dictionary: tests/fuzz/TARGET.dict.
    [[ -f tests/fuzz/$t.dict ]] && args+=(-dict="tests/fuzz/$t.dict")
    # A target's own libFuzzer options: tests/fuzz/TARGET.options (words).
    [[ -f tests/fuzz/$t.options ]] && read -ra extra <<<"$(sed 's/#.*//' "tests/fuzz/$t.options" | tr '\n' ' ')" &&
        args+=("${extra[@]}")

    # A run that hangs outside of one input (libFuzzer's -timeout) is stopped too.
    TMPDIR=$scratch/$t timeout --kill-after=10 $((SECONDS_EACH + 120)) \
        "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
    status=$?

    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [[ -n $runs ]] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    runs=${runs:-0}
    rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    reproducer=$(find "$crashes" -type f | head -n 1)

    if [[ $status -eq 0 && -z $reproducer ]]; then
        echo "PASS fuzz.$t $runs runs"
    else
        what=$(grep -m 1 -oE 'ERROR: (Address|Leak)Sanitizer: [a-z -]+|ERROR: libFuzzer: [a-z -]+|runtime error: .*|^fuzz: .*' \
               "$log" | sed -E 's/ on (unknown )?address ?$//; s/ +$//')
        [[ $status -eq 124 || $status -eq 137 ]] && what="the run did not stop"
        echo "FAIL fuzz.$t $runs runs (${what:-exit $status}; reproducer: ${reproducer:-none}; log: $log)"
        rc=1
    fi
    echo "fuzz.$t: $runs runs in ${SECONDS_EACH} s, ${rate:-?} exec/s, corpus $(find "$work" -type f | wc -l)" \
         "(seeds $(find "$seeds" -type f | wc -l))" >&2
done
exit $rc
