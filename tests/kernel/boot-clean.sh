#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot the debug kernel N times (default 30) and count the boots whose log
# has a kernel report before passthru could be involved (the suites' case
# kernel_boot_is_clean).  Not part of make check: ~20 s a boot.
#
#   tests/kernel/boot-clean.sh [N] [QEMU -cpu model]
#
# Issue 9: with "-cpu max" (5-level paging offered under TCG) the KASAN
# kernel reported a wild-memory-access in early boot in about one boot of
# two; the test VMs use "max,la57=off" (tests/vm/vmrun.py).
set -euo pipefail
. "$(dirname "$0")/../vm/common.sh"
n=${1:-30}
cpu=${2:-}
select_kernel debug
initrd=$BUILD/initramfs-$KVER.cpio.gz
build_initramfs "$initrd"
clean=0 dirty=0
for i in $(seq 1 "$n"); do
    out=$BUILD/results/boot-clean/$i
    mkdir -p "$(dirname "$out")"
    rm -rf "$out"
    python3 "$TOP/tests/vm/vmrun.py" --kernel "$KERNEL" --initrd "$initrd" --tag debug --suite boot \
        --out "$out" --quiet ${cpu:+--cpu "$cpu"} >"$out.log" 2>&1 || true
    if grep -q "^PASS .*kernel_boot_is_clean" "$out/results" 2>/dev/null; then
        clean=$((clean + 1))
    else
        dirty=$((dirty + 1))
        echo "boot $i: $(cat "$out/results" "$out.log" 2>/dev/null | grep -m1 -E "kernel_boot_is_clean|vmrun" || echo "no result")"
    fi
done
echo "boot-clean: ${cpu:-default cpu}: $clean of $n boots clean, $dirty with a report or no result"
[[ $dirty -eq 0 ]]
