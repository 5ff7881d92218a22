#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the test VM's initramfs from host binaries and Debian's modules.
#
#   mkinitramfs.sh -k KVER -o OUT.cpio.gz [-d MODROOT] [-m passthru.ko]
#                  [-b BINARY]... [-B PATH]... [-M MODULE]... [-f SRC:DEST]...
#
# -b puts a binary in /usr/bin, -B a binary or a loadable library at its
# own path (QEMU's TCG module); both with the libraries ldd names.
# MODROOT holds lib/modules/KVER (default /); -M names modules to include
# with their dependencies (built-in ones are fine).
#
# dash is /bin/sh, kmod provides modprobe & co (busybox's ignores
# module.param= words on the kernel command line), busybox-static fills in
# the small utilities.  Binaries are copied with the libraries ldd names.
set -euo pipefail

kver= out= ko= modroot=
bins=() inplace=() mods=() files=()
while getopts "k:o:d:m:b:B:M:f:" opt; do
    case $opt in
    k) kver=$OPTARG ;;
    o) out=$OPTARG ;;
    d) modroot=$OPTARG ;;
    m) ko=$OPTARG ;;
    b) bins+=("$OPTARG") ;;
    B) inplace+=("$OPTARG") ;;
    M) mods+=("$OPTARG") ;;
    f) files+=("$OPTARG") ;;
    *) exit 2 ;;
    esac
done
[[ -n $kver && -n $out ]] || { echo "usage: $0 -k KVER -o OUT [...]" >&2; exit 2; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules/"$kver",tests,usr/bin}
ln -s lib "$root/lib64"

copy_with_libs() {
    local bin=$1 dest=$2 lib
    install -D -m 0755 "$bin" "$root$dest"
    ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
        [[ -e $root$lib ]] || install -D -m 0755 "$lib" "$root$lib"
    done
}

# The shell and the small utilities.
copy_with_libs /usr/bin/dash /bin/sh
install -m 0755 /bin/busybox "$root/bin/busybox"
skip=" sh modprobe insmod rmmod lsmod depmod modinfo setpriv "
for applet in $(/bin/busybox --list); do
    [[ $skip == *" $applet "* || -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
copy_with_libs /usr/bin/kmod /sbin/kmod
for tool in modprobe insmod rmmod lsmod depmod modinfo; do
    ln -s kmod "$root/sbin/$tool"
done
copy_with_libs /usr/bin/setpriv /usr/bin/setpriv

for b in "${bins[@]}"; do
    copy_with_libs "$b" "/usr/bin/$(basename "$b")"
done
for b in "${inplace[@]}"; do
    copy_with_libs "$b" "$b"
done

# Modules: the closure of what the tests load, from the host's tree.
moddir=/lib/modules/$kver
for m in "${mods[@]}"; do
    if ! deps=$(modprobe ${modroot:+-d "$modroot"} -S "$kver" --show-depends "$m" 2>/dev/null); then
        echo "mkinitramfs: $kver has no module $m, skipping it" >&2
        continue
    fi
    awk '$1 == "insmod" { print $2 }' <<<"$deps"
done | sort -u | while read -r path; do
    install -D -m 0644 "$path" "$root${path#"$modroot"}"
done
cp "$modroot$moddir"/modules.{order,builtin,builtin.modinfo} "$root$moddir/"
for k in $ko; do
    install -D -m 0644 "$k" "$root$moddir/extra/$(basename "$k")"
done
depmod -b "$root" "$kver"

for f in "${files[@]}"; do
    install -D -m 0755 "${f%%:*}" "$root${f#*:}"
done

# Users of the tests: alice may lease devices (group passthru), bob may not.
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101::/nonexistent:/bin/false
alice:x:1000:1000::/tmp:/bin/sh
bob:x:1001:1001::/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
messagebus:x:101:
alice:x:1000:
bob:x:1001:
passthru:x:990:alice
nogroup:x:65534:
GROUP

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$out"
