#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# data/install.sh (make install, make uninstall) into a scratch DESTDIR,
# with stand-ins for the binaries: what uninstall takes away and what it
# must leave.  Prints "PASS|FAIL unit.install.CASE" lines; exits non-zero
# on a failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/build"
for b in passthrud passthructl; do
    printf '#!/bin/sh\n' >"$dir/build/$b"
done

# result NAME WHY: PASS when WHY is empty.
result() {
    if [[ -z $2 ]]; then
        echo "PASS unit.install.$1"
    else
        echo "FAIL unit.install.$1: $2"
        rc=1
    fi
}

# run install|uninstall into $dest.
run() {
    DESTDIR=$dest BUILD=$dir/build "$top/data/install.sh" "$1" >"$dir/out" 2>&1 || { cat "$dir/out"; return 1; }
}

# A destination laid out as a Debian 12 host's: shared directories that
# exist, empty, before passthru comes (/usr/local/sbin is shipped empty).
fresh() {
    dest=$dir/dest-$1
    mkdir -p "$dest"/usr/local/{sbin,bin,share/man/man1,lib} "$dest"/etc/{udev/rules.d,dbus-1/system.d,modprobe.d} \
        "$dest"/usr/share/initramfs-tools/hooks "$dest"/usr/lib/modprobe.d
    (cd "$dest" && find . -type d | sort) >"$dir/dirs-before"
}

# What uninstall leaves of passthru's files: none of install's list.
leftovers() {
    local f
    while read -r f; do
        [[ ! -e $dest$f ]] || echo "$f"
    done < <(BUILD=$dir/build "$top/data/install.sh" list)
}

fresh keep
why=""
run install || why="install failed"
install -d -m 0700 "$dest/run/passthru" "$dest/var/lib/passthru"
echo 0000:02:00.0 >"$dest/run/passthru/quarantine"
echo "1234 5 0000:01:00.0 vm" >"$dest/run/passthru/leases"
echo "[Device 0000:01:00.0]" >"$dest/var/lib/passthru/state"
run uninstall || why="uninstall failed"
[[ -s $dest/run/passthru/quarantine && -s $dest/run/passthru/leases ]] ||
    why="the quarantine list or the lease ledger went (a passthrud installed again in this boot hands a quarantined device out unreset)"
[[ ! -e $dest/var/lib/passthru ]] || why="${why:-/var/lib/passthru is left}"
left=$(leftovers)
[[ -z $left ]] || why="${why:-files left: $left}"
result uninstall_keeps_the_quarantine_and_the_ledger_of_this_boot "$why"

fresh shared
why=""
run install && run uninstall || why="install or uninstall failed"
missing=$(cd "$dest" && comm -23 "$dir/dirs-before" <(find . -type d | sort))
[[ -z $missing ]] || why="directories passthru did not make are gone: $(echo $missing)"
extra=$(cd "$dest" && comm -13 "$dir/dirs-before" <(find . -type d | sort) | grep passthru)
[[ -z $extra ]] || why="${why:-directories of passthru are left: $(echo $extra)}"
result uninstall_leaves_directories_it_did_not_make "$why"

fresh conf
why=""
run install || why="install failed"
printf '# Written by passthrud; changes are overwritten.\noptions passthru hide=(01:00.0)\n' \
    >"$dest/etc/modprobe.d/passthru.conf"
run uninstall || why="uninstall failed"
[[ ! -e $dest/etc/modprobe.d/passthru.conf ]] || why="passthrud's marks file is left"
run install
printf 'options passthru hide=(03:00.0)\n' >"$dest/etc/modprobe.d/passthru.conf"
run uninstall || why="uninstall failed"
[[ -e $dest/etc/modprobe.d/passthru.conf ]] || why="${why:-the passthru.conf of an administrator went}"
result uninstall_takes_passthruds_marks_and_leaves_an_administrators "$why"
exit $rc
