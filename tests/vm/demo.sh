#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make demo: build everything, boot a VM that hides an edu device and an
# e1000e NIC on the kernel command line, and tell the whole story
# (tests/vm/suites/demo.sh): the boot claims, passthrud, a real QEMU as an
# unprivileged user, a second VM refused, the device back reset.
# INTERACTIVE=1 (make demo INTERACTIVE=1) leaves you in a shell in that VM
# with everything running.
set -euo pipefail
. "$(dirname "$0")/common.sh"
# QEMU inside the VM: its binary, its TCG module and the firmware it loads.
qemu=/usr/bin/qemu-system-x86_64
tcg=$(ls /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so 2>/dev/null || true)
export INITRAMFS_EXTRA="-B $qemu ${tcg:+-B $tcg} -f /usr/share/seabios/bios-256k.bin:/usr/share/seabios/bios-256k.bin
    -f /usr/share/qemu/kvmvapic.bin:/usr/share/qemu/kvmvapic.bin"
args="--quiet"
if [[ ${INTERACTIVE:-0} == 1 ]]; then
    [[ -t 0 && -t 1 ]] || { echo "make demo INTERACTIVE=1 needs a terminal" >&2; exit 2; }
    args="--quiet --interactive"
fi
echo "Building passthru.ko, passthrud and the test VM, then booting it (QEMU, about a minute)..."
VMRUN_ARGS="$args" "$TOP/tests/vm/run.sh" demo 'passthru.hide=(01:00.0)(02:00.0)'
