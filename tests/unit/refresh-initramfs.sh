#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# data/passthru-refresh-initramfs on files of a scratch directory
# (PASSTHRU_MODPROBE_CONF, PASSTHRU_INITRAMFS_MARKS), with a stand-in
# update-initramfs on PATH: each rebuild copies the marks' file into a fake
# image (or "absent"), counts itself, and may then change the file the way
# passthrud does (by rename), as a `passthructl hide` during a rebuild would.
# Prints "PASS|FAIL unit.refresh-initramfs.CASE" lines; exits non-zero on a failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/bin"
export PASSTHRU_MODPROBE_CONF=$dir/passthru.conf PASSTHRU_INITRAMFS_MARKS=$dir/marks
export IMAGE=$dir/image COUNT=$dir/count CHANGE=none
cat >"$dir/bin/update-initramfs" <<'STANDIN'
#!/bin/bash
# update-initramfs -u -k all: the image gets the marks as they are now.
set -e
[[ "$*" == "-u -k all" ]] || { echo "update-initramfs stand-in: unexpected '$*'" >&2; exit 2; }
n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 ))
echo $n >"$COUNT"
cat "$PASSTHRU_MODPROBE_CONF" >"$IMAGE" 2>/dev/null || echo absent >"$IMAGE"
# write TEXT: as passthrud writes, a new file renamed over the old one.
write() { echo "$1" >"$PASSTHRU_MODPROBE_CONF.tmp" && mv "$PASSTHRU_MODPROBE_CONF.tmp" "$PASSTHRU_MODPROBE_CONF"; }
case $CHANGE in
once) [[ $n -gt 1 ]] || write "options passthru hide=(01:00.0)(02:00.0)" ;;
# B then A again: the same sha256, a new inode or ctime (a jiffy apart at least).
back) [[ $n -gt 1 ]] || { write "options passthru hide=(02:00.0)"; sleep 0.05; write "options passthru hide=(01:00.0)"; } ;;
always) write "options passthru hide=(0$n:00.0)" ;;
esac
STANDIN
chmod +x "$dir/bin/update-initramfs"
PATH=$dir/bin:$PATH

# setup CONF RECORD: the marks' file ("" for none) and the record ("" for none).
setup() {
    rm -f "$PASSTHRU_MODPROBE_CONF" "$PASSTHRU_INITRAMFS_MARKS" "$IMAGE" "$COUNT"
    [[ -z $1 ]] || echo "$1" >"$PASSTHRU_MODPROBE_CONF"
    [[ -z $2 ]] || echo "$2" >"$PASSTHRU_INITRAMFS_MARKS"
}

# sha TEXT: the sha256 of a file that holds TEXT and a newline.
sha() { echo "$1" | sha256sum | cut -d' ' -f1; }

# check NAME STATUS ROUNDS IMAGE RECORD [STDERR]: after a run of the script,
# its exit status, how many rebuilds, what the image and the record hold,
# and a pattern its standard error matches.
check() {
    local name=$1 status=$2 rounds=$3 image=$4 record=$5 stderr=${6:-^$} got err why=
    err=$("$top/data/passthru-refresh-initramfs" 2>&1 >/dev/null)
    got=$?
    [[ $got -eq $status ]] || why+=" exit $got, not $status;"
    [[ $(cat "$COUNT" 2>/dev/null || echo 0) -eq $rounds ]] || why+=" $(cat "$COUNT" 2>/dev/null || echo 0) rebuilds, not $rounds;"
    [[ $(cat "$IMAGE" 2>/dev/null) == "$image" ]] || why+=" the image holds '$(cat "$IMAGE" 2>/dev/null)', not '$image';"
    [[ $(cat "$PASSTHRU_INITRAMFS_MARKS" 2>/dev/null) == "$record" ]] ||
        why+=" the record holds '$(cat "$PASSTHRU_INITRAMFS_MARKS" 2>/dev/null)', not '$record';"
    grep -qE -- "$stderr" <<<"$err" || why+=" stderr '$err' does not match '$stderr';"
    if [[ -z $why ]]; then
        echo "PASS unit.refresh-initramfs.$name"
    else
        echo "FAIL unit.refresh-initramfs.$name:$why"
        rc=1
    fi
}

a="options passthru hide=(01:00.0)" ab="options passthru hide=(01:00.0)(02:00.0)"
setup "$a" "$(sha "$a")"
CHANGE=none check nothing_changed_nothing_rebuilt 0 0 "" "$(sha "$a")"

setup "$a" "absent"
CHANGE=none check a_change_is_rebuilt_once 0 1 "$a" "$(sha "$a")"

setup "$a" "absent"
CHANGE=once check a_change_during_the_rebuild_is_rebuilt_again 0 2 "$ab" "$(sha "$ab")"

setup "$a" "absent"
CHANGE=back check a_change_undone_during_the_rebuild_is_rebuilt_again 0 2 "$a" "$(sha "$a")"

setup "$a" "old"
CHANGE=always check a_file_that_keeps_changing_is_given_up_after_ten_rounds 1 10 "options passthru hide=(09:00.0)" \
    "old" "passthru.conf changed during each of 10 initramfs rebuilds"

setup "" "$(sha "$a")"
CHANGE=none check no_marks_file_is_recorded_absent 0 1 "absent" "absent"

setup "" ""
CHANGE=none check no_marks_file_and_no_record_nothing_rebuilt 0 0 "" ""
exit $rc
