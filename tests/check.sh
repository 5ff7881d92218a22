#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make check: every test of the tree.  Each stage leaves a results file of
# "PASS|FAIL|SKIP NAME [MESSAGE]" lines in build/results/STAGE/; the last
# line printed counts them all: "N passed, N failed, N skipped".
set -uo pipefail
. "$(dirname "$0")/vm/common.sh"
cd "$TOP"

RESULTS=$BUILD/results
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# case STAGE NAME COMMAND...: one result from one command's exit status.
case_() {
    local stage=$1 name=$2 log
    shift 2
    mkdir -p "$RESULTS/$stage"
    log=$RESULTS/$stage/$name.log
    echo "--- $stage.$name"
    if "$@" >"$log" 2>&1; then
        echo "PASS $stage.$name" | tee -a "$RESULTS/$stage/results"
    else
        tail -n 20 "$log"
        echo "FAIL $stage.$name (log: $log)" | tee -a "$RESULTS/$stage/results"
    fi
}

# The module builds for Debian's 6.1 kernel with W=1 and without a warning.
build_w1_clean() {
    local kver out
    kver=$(vm_kver) || return 1
    out=$(make -C "$TOP" KVER="$kver" module 2>&1) || { echo "$out"; return 1; }
    echo "$out"
    ! grep -E 'warning:|error:' <<<"$out"
}

case_ build module_builds_with_w1_and_no_warning build_w1_clean
case_ build userspace_tools_build make -C "$TOP" tools
case_ style checkpatch_and_sparse_are_clean make -C "$TOP" KVER="$(vm_kver)" style
case_ dkms build_in_isolated_tree "$TOP/tests/dkms/build.sh"

echo "--- vm: module suite"
"$TOP/tests/vm/run.sh" module 'passthru.hide=(01:00.0)(02:00.0)'

passed=$(cat "$RESULTS"/*/results 2>/dev/null | grep -c '^PASS')
failed=$(cat "$RESULTS"/*/results 2>/dev/null | grep -c '^FAIL')
skipped=$(cat "$RESULTS"/*/results 2>/dev/null | grep -c '^SKIP')
echo
grep -h '^FAIL' "$RESULTS"/*/results
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 && $passed -gt 0 ]]
