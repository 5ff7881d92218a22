#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run a VM suite:  [KERNEL_FLAVOUR=stock|debug] [VM_IOMMU=intel|amd] tests/vm/run.sh SUITE [APPEND]
# Results land in build/results/SUITE[-debug][-amd]; the exit status says
# whether all passed.  VM_IOMMU=amd: AMD-Vi (QEMU's amd-iommu) instead of
# VT-d; its results are named amd:SUITE.CASE.
set -euo pipefail
. "$(dirname "$0")/common.sh"

suite=$1
append=${2:-}
kernel=${KERNEL_FLAVOUR:-stock}
select_kernel "$kernel"
mkdir -p "$BUILD/results"
initrd=$BUILD/initramfs-$KVER.cpio.gz
build_initramfs "$initrd"
# The sriov suite's NICs (igb) need QEMU 10, from bookworm-backports.
# Under TCG its guest once stalled in early boot, before /init (an RCU
# stall, no timer ticks on vCPU 1): vmrun.py boots such a guest again, as
# any other.
qemu=()
if [[ $suite == sriov ]]; then
    qemu=(--qemu "$("$TOP/tests/vm/qemu10.sh")/qemu" --igb)
fi
out=$BUILD/results/$suite
[[ $kernel == stock ]] || out+=-$kernel
iommu=${VM_IOMMU:-intel}
tag=$kernel
if [[ $iommu != intel ]]; then
    out+=-$iommu
    [[ $kernel == stock ]] && tag=$iommu || tag=$kernel-$iommu
fi
rm -rf "$out"
python3 "$TOP/tests/vm/vmrun.py" --kernel "$KERNEL" --initrd "$initrd" --tag "$tag" --iommu "$iommu" \
    --suite "$suite" --out "$out" --append "$append" "${qemu[@]}" ${VMRUN_ARGS:-}
