#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make demo: build everything, boot a VM that hides an edu device and an
# e1000e NIC on the kernel command line, and show what passthru did.
set -euo pipefail
. "$(dirname "$0")/common.sh"
echo "Building passthru.ko and the test VM, then booting it (QEMU, ~20 s)..."
VMRUN_ARGS="--quiet" "$TOP/tests/vm/run.sh" demo 'passthru.hide=(01:00.0)(02:00.0)'
