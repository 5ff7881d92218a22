#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# QEMU 10 from Debian's bookworm-backports, for the sriov VM suite: it
# emulates igb (82576), a NIC with SR-IOV, which bookworm's QEMU 7.2 does
# not.  The .debs (qemu-system-x86, its data and common files, and the
# seabios QEMU 10 needs) are fetched with apt-get download through an apt
# setup of their own, which leaves the system's sources and its QEMU 7.2
# alone, and unpacked with dpkg -x into a cache directory outside the
# tree, once.  Prints that directory: it holds "qemu" (a wrapper that
# runs the unpacked QEMU with its firmware) and "version".
set -euo pipefail
cache=${PASSTHRU_CACHE:-$HOME/.cache/passthru}
pkgs="qemu-system-x86 qemu-system-data qemu-system-common seabios"

apt_dir=$cache/apt-bookworm-backports
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/etc"
echo "deb http://deb.debian.org/debian bookworm-backports main" >"$apt_dir/etc/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Cache::Archives=$apt_dir/archives")
mkdir -p "$apt_dir/cache"

# The version bookworm-backports has (the system's lists are not read;
# what dpkg has installed is not from there).
version() {
    { apt-cache "${apt_opts[@]}" madison "$1" 2>/dev/null || true; } |
        awk -F' *[|] *' '$3 ~ /bookworm-backports/ { print $2; exit }'
}
ver=$(version qemu-system-x86)
if [[ -z $ver ]]; then
    apt-get "${apt_opts[@]}" -q update >&2
    ver=$(version qemu-system-x86)
fi
if [[ -z $ver ]]; then
    echo "qemu10: bookworm-backports has no qemu-system-x86" >&2
    exit 1
fi
dir=$cache/qemu-$(echo "$ver" | tr ':~+' '___')
if [[ ! -x $dir/qemu ]]; then
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
    (cd "$dir.tmp/debs" && apt-get "${apt_opts[@]}" download -q \
        $(for p in $pkgs; do echo "$p=$(version "$p")"; done) >&2)
    for deb in "$dir.tmp"/debs/*.deb; do
        dpkg -x "$deb" "$dir.tmp/root"
    done
    # Every library it links must come from bookworm.
    if ldd "$dir.tmp/root/usr/bin/qemu-system-x86_64" | grep -q 'not found'; then
        echo "qemu10: libraries missing for QEMU $ver:" >&2
        ldd "$dir.tmp/root/usr/bin/qemu-system-x86_64" | grep 'not found' >&2
        exit 1
    fi
    cat >"$dir.tmp/qemu" <<EOF
#!/bin/sh
# QEMU $ver from bookworm-backports, with its own firmware (tests/vm/qemu10.sh).
# Its modules (TCG's among them) from its own tree, not the system's.
root=\$(dirname "\$0")/root
QEMU_MODULE_DIR=\$root/usr/lib/x86_64-linux-gnu/qemu exec "\$root/usr/bin/qemu-system-x86_64" -L "\$root/usr/share/qemu" -L "\$root/usr/share/seabios" \\
    -L /usr/lib/ipxe/qemu "\$@"
EOF
    chmod 0755 "$dir.tmp/qemu"
    echo "$ver" >"$dir.tmp/version"
    rm -rf "$dir.tmp/debs" "$dir"
    mv "$dir.tmp" "$dir"
fi
echo "$dir"
