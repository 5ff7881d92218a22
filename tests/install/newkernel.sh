#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A newer kernel for the install test's guest to install after passthru:
# Debian 12's 6.12 series (image, headers, kbuild), the .debs fetched with
# apt-get download once and cached outside the tree.  DKMS must build
# passthru for it by itself when the guest installs it, as it would on a
# user's host after a kernel upgrade.  Prints the cache directory, which
# also holds "kver" (the kernel's release, as uname -r says it).
set -euo pipefail
cache=${PASSTHRU_CACHE:-$HOME/.cache/passthru}
find_abi() {
    apt-cache depends linux-headers-6.12-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-headers-\(6\.12\..*\)-amd64$/\1/p' | head -n 1
}
abi=$(find_abi)
# apt's lists may be missing (make deps updates them only to install):
# as root, fetch them once.
if [[ -z $abi && $(id -u) -eq 0 ]]; then
    apt-get update -q >&2 && abi=$(find_abi)
fi
if [[ -z $abi ]]; then
    echo "newkernel: apt knows no linux-headers-6.12-amd64 (run apt-get update)" >&2
    exit 1
fi
dir=$cache/debs-linux-$abi
if [[ ! -f $dir/kver ]]; then
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && apt-get download -q "linux-image-$abi-amd64" "linux-headers-$abi-amd64" \
        "linux-headers-$abi-common" "linux-kbuild-$abi" >&2)
    echo "$abi-amd64" >"$dir.tmp/kver"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
fi
echo "$dir"
