#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The bash completion for passthructl (data/passthructl.bash), driven the
# way bash drives it: COMP_WORDS and COMP_CWORD set, the function called,
# COMPREPLY read back, with bash-completion's helpers loaded as they are
# when it is installed.  Device addresses come from `passthructl list`; here
# a stand-in prints a table in its format, so no daemon is needed.  The
# verbs are checked against the real passthructl's --help.
# Prints "PASS|FAIL unit.completion.CASE" lines; exits non-zero on a failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0

help=$("$top/build/passthructl" --help 2>&1)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cat >"$bin/passthructl" <<'STANDIN'
#!/bin/sh
[ "$1" = list ] || exit 2
cat <<'TABLE'
DEVICE       IDS       GROUP STATE          DRIVER     OWNER        NAME
0000:00:1f.2 8086:2922 3     host           ahci       -            SATA controller
0000:01:00.0 1234:11e8 7     available      passthru   -            edu
0000:02:00.0 8086:10d3 8     pending-reboot e1000e     -            82574L Gigabit

3 devices listed.
TABLE
STANDIN
chmod +x "$bin/passthructl"
PATH=$bin:$PATH

# As installed: loaded by bash-completion, whose helpers it uses.
# shellcheck source=/dev/null
. /usr/share/bash-completion/bash_completion
# shellcheck source=/dev/null
. "$top/data/passthructl.bash"

# complete_words WORD...: what a TAB after the last word would put in its
# place.  COMP_WORDS is split the way bash splits it, at ':' too
# (COMP_WORDBREAKS); bash then replaces only the part after the last ':',
# so that part is put back in front of each candidate.
complete_words() {
    local line="$*" w prefix=
    COMP_WORDS=()
    for w in "$@"; do
        while [[ $w == *:* ]]; do
            [[ -n ${w%%:*} ]] && COMP_WORDS+=("${w%%:*}")
            COMP_WORDS+=(":")
            w=${w#*:}
        done
        COMP_WORDS+=("$w")
    done
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _passthructl
    w=${!#}
    [[ $w == *:* ]] && prefix=${w%:*}:
    [[ ${#COMPREPLY[@]} -gt 0 ]] && printf "$prefix%s\n" "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# expect NAME "EXPECTED" WORD...
expect() {
    local name=$1 want=$2 got
    shift 2
    got=$(complete_words "$@")
    if [[ $got == "$want" ]]; then
        echo "PASS unit.completion.$name"
    else
        echo "FAIL unit.completion.$name: '$*' completed to '$got', expected '$want'"
        rc=1
    fi
}

if [[ $(complete -p passthructl 2>/dev/null) == "complete -F _passthructl passthructl" ]]; then
    echo "PASS unit.completion.registered_for_passthructl"
else
    echo "FAIL unit.completion.registered_for_passthructl: $(complete -p passthructl 2>&1)"
    rc=1
fi

# Every verb of passthructl's own help is offered, and nothing else.
verbs=$(echo "$help" | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' |
    sort -u | tr '\n' ' ' | sed 's/ $//')
if [[ -z $verbs ]]; then
    echo "FAIL unit.completion.verbs_match_the_help: no verbs found in passthructl --help"
    rc=1
else
    expect verbs_match_the_help "$verbs" passthructl ""
fi
expect verb_prefix "maintenance monitor" passthructl m
expect maintenance_actions "enter exit status" passthructl maintenance ""
expect nothing_after_maintenance_action "" passthructl maintenance enter ""
expect options_after_a_verb "--json" passthructl list --j
expect device_addresses_for_show "0000:00:1f.2 0000:01:00.0 0000:02:00.0" passthructl show ""
expect device_address_prefix "0000:01:00.0" passthructl hide 0000:01
expect device_address_after_two_colons "0000:01:00.0" passthructl hide 0000:01:0
expect device_address_at_a_colon "0000:00:1f.2 0000:01:00.0 0000:02:00.0" passthructl show 0000:
expect nothing_after_the_device "" passthructl show 0000:01:00.0 ""
expect device_after_run_device "0000:02:00.0" passthructl run --device 0000:02
expect second_device_of_run "0000:00:1f.2 0000:01:00.0 0000:02:00.0" passthructl run --device 0000:01:00.0 -d ""
expect verb_after_a_run_option "" passthructl --device 0000:01:00.0 show 0000:09
expect nothing_after_list "" passthructl list ""
exit $rc
