#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make style: checkpatch (from Debian's linux-source tarball) and sparse on
# the kernel side of the tree.  Usage: tests/style.sh KDIR
set -euo pipefail
. "$(dirname "$0")/vm/common.sh"
kdir=$1

# checkpatch.pl and its data files, extracted once.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/passthru/checkpatch
if [[ ! -x $cache/scripts/checkpatch.pl ]]; then
    tarball=$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
    [[ -n $tarball ]] || { echo "No linux-source tarball: run 'make deps'" >&2; exit 1; }
    top=$(basename "$tarball" .tar.xz)
    mkdir -p "$cache"
    tar -xJf "$tarball" -C "$cache" --strip-components=1 \
        "$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" "$top/scripts/const_structs.checkpatch"
fi

files=$(cd "$TOP" && find kmod include/uapi $(ls -d tests/kunit 2>/dev/null) -name "*.[ch]" ! -name "*.mod.c" | sort)
echo "checkpatch: $files" | tr '\n' ' '; echo
(cd "$TOP" && "$cache/scripts/checkpatch.pl" --no-tree --strict --quiet --show-types \
    --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $files)

# sparse: rebuild everything with C=2, fail on any report.
dir=$BUILD/sparse
rm -rf "$dir"; mkdir -p "$dir"
cp -r "$TOP/Kbuild" "$TOP/VERSION" "$TOP/kmod" "$TOP/include" "$dir/"
out=$(make -C "$kdir" M="$dir" C=2 CHECK="sparse -Wsparse-error" W=1 modules 2>&1) || { echo "$out"; exit 1; }
echo "$out"
if grep -E 'warning:|error:' <<<"$out"; then
    exit 1
fi
echo "style: clean"
