#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build (once) the test kernel from Debian's linux-source-6.1 with
# tests/kernel/debug.config, and print the directory that holds it:
#   DIR/bzImage, DIR/build (KDIR for out-of-tree modules), DIR/root/lib/modules/KVER
#
# The build is cached outside the tree, keyed by the fragment and the source
# tarball, under $PASSTHRU_CACHE (default ~/.cache/passthru); ccache makes a
# rebuild with a changed fragment cheap.  Cold: ~15 min on 2 cores alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/debug.config

tarball=$(ls -1 /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
[[ -n $tarball ]] || { echo "No /usr/src/linux-source-6.1.tar.xz: run 'make deps'" >&2; exit 1; }

cache=${PASSTHRU_CACHE:-$HOME/.cache/passthru}
key=$( (cat "$fragment"; stat -c '%s %Y' "$tarball"; dpkg-query -W -f='${Version}' linux-source-6.1) | sha256sum | cut -c1-16)
dir=$cache/kernel-$key
if [[ -f $dir/done ]]; then
    echo "$dir"
    exit 0
fi

# One build at a time: a second caller (make check's other lane) waits for
# the first one's kernel instead of starting over in the same directory.
mkdir -p "$cache"
exec {lock}>"$cache/kernel-$key.lock"
flock "$lock"
if [[ -f $dir/done ]]; then
    echo "$dir"
    exit 0
fi

log=$cache/kernel-$key.log
echo "Building the test kernel into $dir (log: $log); ~15 min the first time" >&2
{
    src=$cache/src-$(dpkg-query -W -f='${Version}' linux-source-6.1)
    if [[ ! -f $src/.extracted ]]; then
        rm -rf "$src"
        mkdir -p "$src"
        tar -xJf "$tarball" -C "$src" --strip-components=1
        touch "$src/.extracted"
    fi
    rm -rf "$dir"
    mkdir -p "$dir/build"
    export CCACHE_DIR=$cache/ccache
    mk=(make -C "$src" O="$dir/build" CC="ccache gcc" -j"$(nproc)")
    "${mk[@]}" KCONFIG_ALLCONFIG="$fragment" allnoconfig
    # Every line of the fragment must have survived (an option whose
    # dependencies are off is dropped without a word).
    bad=0
    while IFS= read -r line; do
        [[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
        opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
        if [[ $want == n ]]; then
            grep -q "^$opt=" "$dir/build/.config" && { echo "$opt is set, wanted off"; bad=1; }
        else
            grep -qx "$opt=$want" "$dir/build/.config" || { echo "$opt: wanted $want, got $(grep "^$opt=" "$dir/build/.config" || echo unset)"; bad=1; }
        fi
    done <"$fragment"
    [[ $bad -eq 0 ]]
    "${mk[@]}" bzImage modules
    "${mk[@]}" INSTALL_MOD_PATH="$dir/root" modules_install
    cp "$dir/build/arch/x86/boot/bzImage" "$dir/bzImage"
    make -s -C "$src" O="$dir/build" kernelrelease >"$dir/kver"
    touch "$dir/done"
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "Test kernel build failed (log: $log)" >&2; exit 1; }
echo "$dir"
