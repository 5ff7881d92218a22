#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A Debian 12 root file system for the real-install test, made with
# debootstrap once and cached (as a tarball) outside the tree, keyed by the
# package list.  Prints the tarball's path.  Cold: ~5 min, ~250 MB download.
set -euo pipefail
packages=(
    systemd systemd-sysv dbus udev kmod util-linux procps
    linux-image-amd64 linux-headers-amd64 initramfs-tools zstd dracut-core dkms pahole bash-completion
    gcc make libc6-dev pkg-config
    libsystemd-dev libudev-dev libpci-dev libnl-3-dev libnl-genl-3-dev libinih-dev libjson-c-dev pci.ids
    qemu-system-x86
    libvirt-daemon-system libvirt-clients cockpit dbus-user-session libpam-systemd sudo
)
cache=${PASSTHRU_CACHE:-$HOME/.cache/passthru}
key=$(printf '%s\n' "${packages[@]}" bookworm | sha256sum | cut -c1-16)
tarball=$cache/rootfs-bookworm-$key.tar
if [[ -f $tarball ]]; then
    echo "$tarball"
    exit 0
fi
mkdir -p "$cache"
dir=$(mktemp -d "$cache/rootfs.XXXXXX")
trap 'rm -rf "$dir"' EXIT
log=$cache/rootfs-bookworm-$key.log
echo "debootstrap: a Debian 12 root file system for the install test (log: $log), ~5 min the first time" >&2
if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
    bookworm "$dir" http://deb.debian.org/debian >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    exit 1
fi
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar -C "$dir" -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "$tarball"
