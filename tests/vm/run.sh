#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run VM suites:  tests/vm/run.sh SUITE [APPEND]
# Results land in build/results/SUITE; the exit status says whether all passed.
set -euo pipefail
. "$(dirname "$0")/common.sh"

suite=$1
append=${2:-}
kver=$(vm_kver)
mkdir -p "$BUILD/results"
initrd=$BUILD/initramfs-$kver.cpio.gz
build_initramfs "$kver" "$initrd"
out=$BUILD/results/$suite
rm -rf "$out"
python3 "$TOP/tests/vm/vmrun.py" --kernel "/boot/vmlinuz-$kver" --initrd "$initrd" \
    --suite "$suite" --out "$out" --append "$append" ${VMRUN_ARGS:-}
