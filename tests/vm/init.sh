#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the test VM.  Loads passthru first (modprobe hands it
# passthru.hide= from the kernel command line), before any host driver,
# then runs the suite named by pt.suite= and reports each case to the host
# over the virtio-serial port "ctl".
export PATH=/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t debugfs debugfs /sys/kernel/debug

suite=
for word in $(cat /proc/cmdline); do
    case $word in
    pt.suite=*) suite=${word#pt.suite=} ;;
    esac
done

# passthru before anything else; then the port to the host.
if grep -q 'passthru\.' /proc/cmdline; then
    modprobe passthru || echo "init: modprobe passthru failed" >/dev/console
fi
modprobe virtio_pci
modprobe virtio_console

ctl=
for port in /sys/class/virtio-ports/*; do
    [ "$(cat "$port/name" 2>/dev/null)" = ctl ] && ctl=/dev/${port##*/}
done
if [ -z "$ctl" ]; then
    echo "init: no ctl port" >/dev/console
    poweroff -f
fi
exec 3<>"$ctl"

dmesg > /tmp/boot.dmesg
. /tests/lib.sh
run_suite "/tests/$suite.sh"
printf 'done\n' >&3
# make demo INTERACTIVE=1: a shell on the console, everything still running.
if grep -qw 'pt.shell=1' /proc/cmdline; then
    # A child, not PID 1 itself: busybox's setsid forks (and returns) for a
    # process group leader.  cttyhack opens the console's tty on 0, 1, 2.
    # busybox's sh prefers its own applets: "as-alice" is util-linux's setpriv.
    printf '%s\n' "PS1='passthru-demo# '" \
        "alias as-alice='/usr/bin/setpriv --reuid=1000 --regid=1000 --groups=990'" >/tmp/demo.shrc
    (ENV=/tmp/demo.shrc exec setsid cttyhack sh -i) &
    wait $!
fi
sync
poweroff -f
