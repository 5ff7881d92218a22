# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# The KUnit suites of tests/kunit, on the debug kernel: load
# passthru-kunit.ko and report every KUnit case to the host as its own
# result, named kunit.SUITE.CASE.

testcase_kunit_suites_ran() {
    local ktap=/tmp/ktap cases
    [ -d /sys/kernel/debug/kunit ] || fail "this kernel has no KUnit"
    dmesg -c >/dev/null
    insmod /lib/modules/$(uname -r)/extra/passthru-kunit.ko
    dmesg | sed 's/^\[[^]]*\] //' >$ktap
    # "    # Subtest: SUITE", then "    ok N [- ]CASE" or "    not ok N [- ]CASE".
    awk '
        /^    # Subtest: / { suite = $3; next }
        /^    (not )?ok [0-9]+ / {
            status = ($1 == "not") ? "FAIL" : "PASS"
            line = $0
            sub(/^    (not )?ok [0-9]+ (- )?/, "", line)
            split(line, w, " ")
            print status, suite "." w[1]
        }' $ktap >/tmp/kunit.results
    cases=$(wc -l </tmp/kunit.results)
    [ "$cases" -gt 0 ] || fail "no KTAP case in the kernel log"
    while read -r status name; do
        if [ "$status" = PASS ]; then
            ctl "result PASS kunit.$name"
        else
            ctl "result FAIL kunit.$name $(grep -E -A6 "# ${name#*.}: (EXPECTATION|ASSERTION) FAILED" $ktap |
                grep -v '^ *$' | tr -s ' ' | tr '\n' '|' | cut -c1-400)"
        fi
    done </tmp/kunit.results
    rmmod passthru_kunit
    ! grep -q "^    not ok" $ktap || fail "some KUnit cases failed"
    echo "$cases KUnit cases"
}
