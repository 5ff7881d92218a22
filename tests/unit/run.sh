#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run unit test binaries (cmocka, TAP output) and turn their TAP lines into
# "PASS|FAIL unit.BINARY.CASE" lines; exit non-zero if any failed.
set -uo pipefail
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
rc=0
for t in "$@"; do
    name=$(basename "$t")
    out=$("$t" 2>&1)
    status=$?
    echo "$out" | sed -n 's/^\(not \)\{0,1\}ok [0-9]* - \(.*\)$/\1\2/p' | while read -r line; do
        case $line in
        not\ *) echo "FAIL unit.$name.${line#not }" ;;
        *) echo "PASS unit.$name.$line" ;;
        esac
    done
    if [[ $status -ne 0 ]]; then
        echo "$out" | grep -vE '^(ok|not ok|1\.\.|# )' | tail -n 30 >&2
        echo "FAIL unit.$name (exit $status)"
        rc=1
    fi
done
exit $rc
