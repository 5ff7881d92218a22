#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# data/passthru-refresh-initramfs on files of a scratch directory
# (PASSTHRU_MODPROBE_CONF, PASSTHRU_INITRAMFS_MARKS), with a stand-in
# update-initramfs on PATH: each rebuild copies the marks' file into a fake
# image (or "absent"), counts itself, and may then change the file the way
# passthrud does (by rename), as a `passthructl hide` during a rebuild would.
#
# Then what makes the images: the initramfs-tools hook (with the real
# hook-functions) and the dracut module (with stand-ins for dracut's
# instmods and dwarn), each for a kernel that has a passthru.ko (a scratch
# module tree that the real modprobe reads: MODPROBE_OPTIONS=-d) and for
# one that has none (DKMS built nothing for it), in a mount namespace of
# the test's own where /etc/modprobe.d, /usr/lib/modprobe.d and
# /proc/cmdline hold the case's marks: without passthru.ko and with marks,
# a warning naming the kernel and the fix, and never a failure.
# Prints "PASS|FAIL|SKIP unit.refresh-initramfs.CASE" lines; exits non-zero on a failure.
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

# The hooks.  Linux 9.9.9-passthru has a passthru.ko (an object with a
# .modinfo, which depmod and modinfo read), 9.9.9-without has no modules.
if [[ $(id -u) -ne 0 ]] || ! unshare --mount --propagation private true 2>/dev/null; then
    echo "SKIP unit.refresh-initramfs.hooks (no mount namespace here)"
    exit $rc
fi
if [[ ! -f /usr/share/initramfs-tools/hook-functions ]]; then
    echo "SKIP unit.refresh-initramfs.hooks (no /usr/share/initramfs-tools/hook-functions: initramfs-tools is not installed)"
    exit $rc
fi
mods=$dir/root/lib/modules/9.9.9-passthru
mkdir -p "$mods/updates/dkms" "$dir/modprobe.d" "$dir/empty"
printf 'static const char m[] __attribute__((section(".modinfo"), used)) = "license=GPL\\0name=passthru";\n' >"$dir/m.c"
cc -c -o "$mods/updates/dkms/passthru.ko" "$dir/m.c" && depmod -b "$dir/root" 9.9.9-passthru 2>/dev/null || exit 1
export MODPROBE_OPTIONS="-d $dir/root"

# hook TOOL KERNEL CONF CMDLINE: the initramfs-tools hook or the dracut
# module's installkernel for KERNEL, with CONF as /etc/modprobe.d/passthru.conf
# ("" for none) and CMDLINE as /proc/cmdline; its image in $dir/image, its
# standard error in $dir/hook.err, its exit status returned.
hook() {
    local tool=$1 kernel=$2 conf=$3 cmdline=$4
    rm -rf "$dir/image" "$dir/modprobe.d/"*
    mkdir "$dir/image"
    [[ -z $conf ]] || echo "$conf" >"$dir/modprobe.d/passthru.conf"
    echo "$cmdline" >"$dir/cmdline"
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare --mount --propagation private bash -c '
        mount --bind "$1/modprobe.d" /etc/modprobe.d && mount --bind "$1/empty" /usr/lib/modprobe.d &&
            mount --bind "$1/cmdline" /proc/cmdline || exit 99
        if [[ $2 == initramfs-tools ]]; then
            DESTDIR=$1/image version=$3 exec dash "$4/data/initramfs-tools/hook"  # /bin/sh on Debian
        fi
        # dracut: instmods puts in what modprobe finds and passes over the rest.
        instmods() {
            local m f
            for m; do
                f=$(modprobe --set-version="$kernel" --show-depends "$m" 2>/dev/null | awk "\$1 == \"insmod\" { print \$2 }")
                [[ -z $f ]] || cp "$f" "$initdir/"
            done
        }
        dwarn() { echo "dracut[W]: $*" >&2; }
        initdir=$1/image kernel=$3
        . "$4/data/dracut/module-setup.sh"
        installkernel' sh "$dir" "$tool" "$kernel" "$top" 2>"$dir/hook.err"
}

# verdict NAME WHY: PASS when WHY is empty.
verdict() {
    if [[ -z $2 ]]; then
        echo "PASS unit.refresh-initramfs.$1"
    else
        echo "FAIL unit.refresh-initramfs.$1:$2"
        rc=1
    fi
}

# hook_check NAME STATUS MODULE STDERR TOOL KERNEL CONF CMDLINE: after hook
# TOOL KERNEL CONF CMDLINE, its exit status, whether the image has
# passthru.ko (yes or no), and a pattern a line of its standard error
# matches ("^$": it is empty).
hook_check() {
    local name=$1 status=$2 module=$3 stderr=$4 got has=no why=
    shift 4
    hook "$@"
    got=$?
    [[ -z $(find "$dir/image" -name 'passthru.ko*') ]] || has=yes
    [[ $got -eq $status ]] || why+=" exit $got, not $status;"
    [[ $has == "$module" ]] || why+=" passthru.ko in the image: $has, not $module;"
    grep -qE -- "$stderr" <<<"$(cat "$dir/hook.err")" || why+=" stderr '$(cat "$dir/hook.err")' does not match '$stderr';"
    verdict "$name" "$why"
}

# stderr_has NAME PATTERN: a line of the last hook's standard error matches.
stderr_has() {
    verdict "$1" "$(grep -qE -- "$2" "$dir/hook.err" || echo " stderr '$(cat "$dir/hook.err")' does not match '$2'")"
}

unmarked="# Written by passthrud: devices marked for passthrough."
marked=$unmarked$'\n'"options passthru hide=(0000:02:00.0)"
warned="passthru: no passthru.ko for Linux 9.9.9-without: booted with this initramfs, it does not hide the devices marked"
fix="passthru: install linux-headers-9.9.9-without so that DKMS builds passthru for it \(dkms status passthru\), then run:"
hook_check initramfs_tools_hook_puts_in_passthru_ko_and_the_marks_and_says_nothing 0 yes "^$" \
    initramfs-tools 9.9.9-passthru "$marked" "quiet"
verdict initramfs_tools_hook_copies_the_marks \
    "$(cmp -s "$dir/image/etc/modprobe.d/passthru.conf" "$dir/modprobe.d/passthru.conf" || echo " not in the image")"
hook_check initramfs_tools_hook_warns_of_a_kernel_without_passthru_ko_when_devices_are_marked 0 no \
    "^W: $warned for passthrough \(hide=\(0000:02:00.0\)\) before host drivers bind them$" \
    initramfs-tools 9.9.9-without "$marked" "quiet"
stderr_has initramfs_tools_hook_says_how_to_mend_it "^W: $fix update-initramfs -u -k 9.9.9-without$"
hook_check initramfs_tools_hook_warns_of_marks_on_the_command_line 0 no \
    "^W: $warned for passthrough \(hide=\(03:00.0\) ids=8086:10d3\) before" \
    initramfs-tools 9.9.9-without "" "quiet passthru.hide=(03:00.0) passthru.ids=8086:10d3 passthru.other=1"
hook_check initramfs_tools_hook_says_nothing_without_marks 0 no "^$" \
    initramfs-tools 9.9.9-without "$unmarked" "quiet hide=(03:00.0)"
hook_check dracut_module_puts_in_passthru_ko_and_says_nothing 0 yes "^$" \
    dracut 9.9.9-passthru "$marked" "quiet"
hook_check dracut_module_warns_of_a_kernel_without_passthru_ko_when_devices_are_marked 0 no \
    "^dracut\[W\]: $warned for passthrough \(hide=\(0000:02:00.0\)\) before host drivers bind them$" \
    dracut 9.9.9-without "$marked" "quiet"
stderr_has dracut_module_says_how_to_mend_it "^dracut\[W\]: $fix dracut --force --kver 9.9.9-without$"
hook_check dracut_module_says_nothing_without_marks 0 no "^$" \
    dracut 9.9.9-without "" "quiet passthru.other=1"
exit $rc
