#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dkms add + build of this tree against Debian's 6.1 headers, in a DKMS
# tree of its own: the host's /var/lib/dkms and /usr/src stay untouched.
set -euo pipefail
. "$(dirname "$0")/../vm/common.sh"

kver=$(vm_kver)
version=$(cat "$TOP/VERSION")
make -s -C "$TOP" build/dkms.conf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src/passthru-$version
mkdir -p "$src" "$tmp/dkms"
(cd "$TOP" && cp -r Kbuild Makefile VERSION kmod include "$src/" && cp build/dkms.conf "$src/")
find "$src" \( -name '*.o' -o -name '*.ko' -o -name '*.cmd' -o -name '*.mod*' \) -delete

before=$(ls -A /var/lib/dkms 2>/dev/null | md5sum)
opts=(--sourcetree "$tmp/src" --dkmstree "$tmp/dkms")
# DKMS signs what it builds; keep its key out of /var/lib/dkms as well.
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
dkms add -m passthru -v "$version" "${opts[@]}"
dkms build -m passthru -v "$version" -k "$kver" "${opts[@]}"
ko=$(find "$tmp/dkms/passthru/$version/$kver" -name passthru.ko)
[[ -n $ko ]] || { echo "dkms built no passthru.ko" >&2; exit 1; }
vermagic=$(modinfo -F vermagic "$ko")
echo "built $ko: vermagic $vermagic"
[[ $vermagic == "$kver "* ]] || { echo "wrong vermagic: $vermagic" >&2; exit 1; }
dkms status -m passthru "${opts[@]}"
[[ $(ls -A /var/lib/dkms 2>/dev/null | md5sum) == "$before" ]] || { echo "/var/lib/dkms changed" >&2; exit 1; }
[[ ! -e /var/lib/dkms/passthru ]] || { echo "/var/lib/dkms/passthru exists" >&2; exit 1; }
