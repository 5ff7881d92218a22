# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash
#
# No case of its own: a boot whose only result is run_suite's
# kernel_boot_is_clean (tests/kernel/boot-clean.sh boots it many times).
