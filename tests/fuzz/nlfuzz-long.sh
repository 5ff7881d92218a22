#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make fuzz's kernel part: NLFUZZ_MESSAGES (10^6) messages to passthru's
# netlink family as root on the debug kernel, and a fifth of each boot's
# count for each other run of the nlfuzz suite (unprivileged, failslab,
# devices coming and going), spread over NLFUZZ_BOOTS (5) boots with seeds
# NLFUZZ_SEED+10, +20, ... (printed; random unless given).
#
# Why boots and not one: under TCG one boot of 10^6 takes 25-90 min, and
# QEMU's timer stall (a vCPU halted for good; tests/vm/vmrun.py) struck
# such runs after 20-25 min, again and again; vmrun.py boots a stalled
# suite once more, from its start.  Each boot checks the kernel as a whole
# run does: KASAN, lockdep, kmemleak and WARN clean, rmmod, kmemleak after.
# Results: build/results/nlfuzz-debug-N, one per boot.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
boots=${NLFUZZ_BOOTS:-5}
total=${NLFUZZ_MESSAGES:-1000000}
seed=${NLFUZZ_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
[[ $boots =~ ^[1-9][0-9]*$ && $total =~ ^[1-9][0-9]*$ && $seed =~ ^[0-9]+$ ]] ||
    { echo "nlfuzz-long: NLFUZZ_BOOTS, NLFUZZ_MESSAGES and NLFUZZ_SEED are positive integers" >&2; exit 2; }
per=$(( (total + boots - 1) / boots ))
results=$top/build/results
first=$((seed + 10))
last=$((seed + 10 * boots))
echo "nlfuzz: $total messages as root in $boots boots of $per, seeds $first to $last step 10"
rc=0
for i in $(seq 1 "$boots"); do
    s=$((seed + 10 * i))
    echo "--- nlfuzz boot $i of $boots: $per messages, seed $s"
    KERNEL_FLAVOUR=debug VMRUN_ARGS="--timeout 7200" "$top/tests/vm/run.sh" nlfuzz \
        "passthru.hide=(01:00.0)(02:00.0) pt.nlfuzz.messages=$per pt.nlfuzz.seconds=0 pt.nlfuzz.seed=$s" || rc=1
    rm -rf "$results/nlfuzz-debug-$i"
    mv "$results/nlfuzz-debug" "$results/nlfuzz-debug-$i"
    grep -a -h 'messages' "$results/nlfuzz-debug-$i/console.log" | grep -a -v 'Command line' | tail -n 8 || true
done
all=$(cat "$results"/nlfuzz-debug-[0-9]*/results 2>/dev/null || true)
echo "nlfuzz: $(grep -c '^PASS' <<<"$all") passed, $(grep -c '^FAIL' <<<"$all") failed, $(grep -c '^SKIP' <<<"$all") skipped in all boots"
exit $rc
