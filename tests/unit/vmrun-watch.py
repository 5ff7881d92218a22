#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/vm/vmrun.py's stall watch, on real processes: a process that takes
no CPU time and writes nothing is stopped and continued once, then given up;
one that computes, or whose console grows, is left alone."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm"))
import vmrun  # noqa: E402

WINDOW = 0.5
failed = 0


class FakeQmp:
    def __init__(self):
        self.sent = []

    def command(self, cmd):
        self.sent.append(cmd["execute"])
        return {"return": {}}


def result(ok, name, msg=""):
    global failed
    failed += not ok
    print("%s unit.vmrun.%s%s" % ("PASS" if ok else "FAIL", name, ("  " + msg) if msg and not ok else ""))


def watch_for(proc, console, seconds):
    """check() every 0.1 s for SECONDS; the commands sent and the reason given, if any."""
    qmp, watch = FakeQmp(), vmrun.StallWatch(proc.pid, console, WINDOW)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        reason = watch.check(qmp, "test")
        if reason:
            return qmp.sent, reason
        time.sleep(0.1)
    return qmp.sent, None


with tempfile.TemporaryDirectory() as tmp:
    console = os.path.join(tmp, "console.log")
    open(console, "w").close()

    idle = subprocess.Popen(["sleep", "30"])
    sent, reason = watch_for(idle, console, 5 * WINDOW)
    idle.kill()
    idle.wait()
    result(sent == ["stop", "cont"] and reason and "even after" in reason,
           "an_idle_silent_guest_is_kicked_once_then_given_up", "sent %s, reason %r" % (sent, reason))

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    sent, reason = watch_for(busy, console, 4 * WINDOW)
    busy.kill()
    busy.wait()
    result(sent == [] and reason is None, "a_guest_taking_cpu_time_is_left_alone",
           "sent %s, reason %r" % (sent, reason))

    talker = subprocess.Popen(["sh", "-c", "while :; do echo tick >>'%s'; sleep 0.2; done" % console])
    # The shell itself takes CPU; only the console's growth may count here,
    # so the watch is pointed at an idle process with this console.
    idle = subprocess.Popen(["sleep", "30"])
    sent, reason = watch_for(idle, console, 4 * WINDOW)
    for p in (talker, idle):
        p.kill()
        p.wait()
    result(sent == [] and reason is None, "a_guest_whose_console_grows_is_left_alone",
           "sent %s, reason %r" % (sent, reason))

    gone = subprocess.Popen(["true"])
    gone.wait()
    sent, reason = watch_for(gone, console, 3 * WINDOW)
    result(sent == [] and reason is None, "a_qemu_that_has_exited_is_not_judged",
           "sent %s, reason %r" % (sent, reason))

sys.exit(1 if failed else 0)
