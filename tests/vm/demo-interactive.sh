#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make demo INTERACTIVE=1 as a newcomer meets it, on a pseudo-terminal
# (script(1)): after the story, a shell prompt inside the VM where
# passthructl answers; "exit" powers the VM off and make demo ends.
set -uo pipefail
. "$(dirname "$0")/common.sh"
out=$BUILD/demo-interactive
rm -rf "$out"
mkdir -p "$out"
log=$out/terminal.log
mkfifo "$out/keys"
script -qfc "make -C '$TOP' demo INTERACTIVE=1" "$log" <"$out/keys" >/dev/null 2>&1 &
term=$!
exec 5>"$out/keys"

# wait_for TEXT SECONDS: TEXT appeared on the terminal.
wait_for() {
    for _ in $(seq 1 $(($2 * 10))); do
        grep -aq -- "$1" "$log" 2>/dev/null && return 0
        kill -0 $term 2>/dev/null || break
        sleep 0.1
    done
    echo "'$1' did not appear on the terminal; its last lines:" >&2
    tail -n 20 "$log" >&2
    return 1
}

rc=0
wait_for "passthru-demo#" 600 || rc=1
if [[ $rc -eq 0 ]]; then
    printf 'passthructl list --no-legend\r' >&5
    printf 'echo SHELL-OK-$((6*7))\r' >&5
    wait_for "SHELL-OK-42" 60 || rc=1
    printf 'exit\r' >&5
fi
exec 5>&-
for _ in $(seq 1 600); do
    kill -0 $term 2>/dev/null || break
    sleep 0.1
done
if kill -0 $term 2>/dev/null; then
    echo "make demo did not end after 'exit'" >&2
    kill $term
    rc=1
fi
wait $term || { echo "make demo INTERACTIVE=1 failed" >&2; rc=1; }
grep -a '^0000:01:00\.0 \+1234:11e8' "$log" | grep -aq 'available.*passthru' ||
    { echo "passthructl list in the VM's shell did not show 01:00.0 available" >&2; rc=1; }
grep -aq 'demo: 6 passed, 0 failed' "$log" || { echo "the demo's story did not pass" >&2; rc=1; }
exit $rc
