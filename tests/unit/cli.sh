#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# passthructl's command line, before it talks to anyone: each verb takes its
# own options and refuses the others (exit 2, naming the option), --version.
# Prints "PASS|FAIL unit.cli.NAME [why]".
set -uo pipefail
ctl=${PASSTHRUCTL:-$(dirname "$0")/../../build/passthructl}
rc=0

# expect NAME STATUS PATTERN ARGS...: exit status and a line of its output.
expect() {
    local name=$1 status=$2 pattern=$3 out got
    shift 3
    out=$("$ctl" "$@" 2>&1)
    got=$?
    if [[ $got -eq $status ]] && grep -qE -- "$pattern" <<<"$out"; then
        echo "PASS unit.cli.$name"
    else
        echo "FAIL unit.cli.$name passthructl $*: exit $got, '$out'"
        rc=1
    fi
}

expect live_is_not_for_list 2 "--live does not apply to 'list'" list --live
expect json_is_not_for_hide 2 "--json does not apply to 'hide'" --json hide 01:00.0
expect device_is_only_for_run 2 "--device does not apply to 'show'" show 01:00.0 --device 01:00.0
expect vm_is_only_for_run 2 "--vm does not apply to 'release'" release 01:00.0 --vm a
expect memory_is_only_for_run 2 "--memory does not apply to 'list'" list -m 1G
expect no_legend_is_only_for_list 2 "--no-legend does not apply to 'check'" check --no-legend
expect force_needs_live 2 "--force goes with --live" hide --force 01:00.0
expect unknown_verb_is_named 2 "unknown command 'frobnicate'" frobnicate
expect missing_argument_shows_usage 2 "usage: passthructl show DEVICE" show
expect bad_memory_size_is_named 2 "bad --memory 'lots'" run --memory lots --vm a --device 1:0.0 -- true
expect version_is_printed 0 "^passthructl $(cat "$(dirname "$0")/../../VERSION")$" --version
expect help_names_every_verb 0 "run --device D" --help
exit $rc
