#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install the Debian packages that the build, the tests and the demo need.
# As root, with apt-get; otherwise print the command to run.
set -euo pipefail

# One list, read by this script and checked against the test scripts by
# tests/unit/deps.py: the first word of each line of tests/deps.list.
mapfile -t packages < <(sed -e 's/#.*//' "$(dirname "$0")/deps.list" | awk 'NF { print $1 }')

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
