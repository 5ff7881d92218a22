#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run a VM suite:  [KERNEL_FLAVOUR=stock|debug] tests/vm/run.sh SUITE [APPEND]
# Results land in build/results/SUITE[-debug]; the exit status says whether
# all passed.
set -euo pipefail
. "$(dirname "$0")/common.sh"

suite=$1
append=${2:-}
kernel=${KERNEL_FLAVOUR:-stock}
select_kernel "$kernel"
mkdir -p "$BUILD/results"
initrd=$BUILD/initramfs-$KVER.cpio.gz
build_initramfs "$initrd"
out=$BUILD/results/$suite
[[ $kernel == stock ]] || out+=-$kernel
rm -rf "$out"
python3 "$TOP/tests/vm/vmrun.py" --kernel "$KERNEL" --initrd "$initrd" --tag "$kernel" \
    --suite "$suite" --out "$out" --append "$append" ${VMRUN_ARGS:-}
