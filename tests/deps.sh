#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install the Debian packages that the build, the tests and the demo need.
# As root, with apt-get; otherwise print the command to run.
set -euo pipefail

packages=(
    # build
    gcc make pkg-config libc6-dev linux-headers-amd64
    libnl-3-dev libnl-genl-3-dev libudev-dev libpci-dev libsystemd-dev
    libinih-dev libcmocka-dev libjson-c-dev pci.ids
    # style
    sparse linux-source-6.1 xz-utils
    # the VM test bed
    qemu-system-x86 linux-image-amd64 busybox-static dash kmod cpio
    util-linux python3 gzip dbus systemd
    # the debug kernel
    bc flex bison libelf-dev libssl-dev ccache rsync
    # DKMS
    dkms
    # the bash completion's test: bash-completion's own helpers
    bash-completion
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "Missing packages. Run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
$cmd
