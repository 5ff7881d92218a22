#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/vm/vmrun.py's watch for QEMU's timer stall, on console files: the
guest kernel's report of a timer that never fired is found (also when the
console grows in pieces that split it), and other RCU stall reports, which
the code under test may cause, are not taken for it."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm"))
import vmrun  # noqa: E402

failed = 0

TIMER = ("[ 1267.417546] rcu: \trcu_preempt kthread timer wakeup didn't happen for 26001 jiffies! "
         "g761685 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x402\n"
         "[ 1267.417546] rcu: \tPossible timer handling issue on cpu=0 timer-softirq=99295\n")
OURS = ("[  501.250937] rcu: INFO: rcu_preempt self-detected stall on CPU\n"
        "[  501.254890] rcu: \t1-....: (21002 ticks this GP) idle=7f0/1/0x4000000000000000\n"
        "[  501.254890] RIP: 0010:passthru_hide+0x40/0x90 [passthru]\n")


def result(ok, name, msg=""):
    global failed
    failed += not ok
    print("%s unit.vmrun.%s%s" % ("PASS" if ok else "FAIL", name, ("  " + msg) if msg and not ok else ""))


def feed(pieces, deadline=None, age=0):
    """The watch's answers after each piece is appended to a console file;
    with @deadline (s), the watch made @age seconds ago."""
    with tempfile.TemporaryDirectory() as tmp:
        console = os.path.join(tmp, "console.log")
        watch, answers = vmrun.StallWatch(console, deadline), [vmrun.StallWatch(console).check()]
        watch.started -= age
        for piece in pieces:
            with open(console, "a") as f:
                f.write(piece)
            answers.append(watch.check())
        return answers


a = feed(["[    1.0] Linux version 6.1\n", "[    2.0] ok\n" * 1000, TIMER])
result(a[:3] == [None, None, None] and a[3] and "timer wakeup didn't happen" in a[3],
       "the_kernels_timer_stall_report_is_found", repr(a[-2:]))

line = TIMER.splitlines(True)[1]
cut = line.index("timer handling") + 5
a = feed(["[    1.0] boot\n", line[:cut], line[cut:]])
result(a[:3] == [None, None, None] and a[3] and "Possible timer handling issue on cpu=0" in a[3],
       "a_report_split_between_two_reads_is_found", repr(a))

a = feed(["[    1.0] boot\n", OURS, "[  600.0] more\n"])
result(a == [None, None, None, None], "a_stall_of_the_code_under_test_is_not_taken_for_qemus", repr(a))

a = feed([])
result(a == [None], "a_missing_console_is_no_stall", repr(a))

EARLY = ("[    1.552297] cblist_init_generic: Setting shift to 1 and lim to 1 rcu_task_cpu_ids=2.\n"
         "[    1.553948] Running RCU-tasks wait API self tests\n")
a = feed([EARLY], deadline=180, age=181)
result(a[0] is None and a[1] and "no /init 180 s" in a[1] and "RCU-tasks wait API self tests" in a[1],
       "a_boot_that_never_reached_init_by_the_deadline_is_a_stall", repr(a))

a = feed([EARLY], deadline=180, age=100)
result(a == [None, None], "a_boot_still_short_of_its_deadline_is_not", repr(a))

a = feed([EARLY, "[    3.0] Run /init as init process\n"], deadline=180, age=100)
later = feed([EARLY + "[    3.0] Run /init as init process\n", "[  900.0] a long suite\n"], deadline=180, age=900)
result(a == [None, None, None] and later == [None, None, None],
       "a_boot_that_reached_init_is_never_taken_for_one", repr((a, later)))

a = feed([EARLY], deadline=None, age=10000)
result(a == [None, None], "without_a_deadline_a_slow_boot_is_not_a_stall", repr(a))


def quiet(pieces, silent, deadline=180):
    """The watch's answer after @pieces were read and then @silent s passed
    without a new line (the boot itself well short of @deadline)."""
    with tempfile.TemporaryDirectory() as tmp:
        console = os.path.join(tmp, "console.log")
        watch = vmrun.StallWatch(console, deadline)
        with open(console, "a") as f:
            f.write("".join(pieces))
        first = watch.check()
        if watch.grew is not None:
            watch.grew -= silent
        watch.started -= silent
        return first, watch.check()


q = vmrun.BOOT_QUIET
a, b, c = quiet([EARLY], q + 1), quiet([EARLY], q - 5), quiet([], q + 1)
# Before its first line (firmware, the kernel's decompression) only the deadline counts.
result(a[0] is None and a[1] and "silent for %d s before /init" % q in a[1] and "RCU-tasks wait API" in a[1]
       and b == (None, None) and c == (None, None),
       "a_console_silent_before_init_is_a_stall_sooner_than_the_deadline", repr((a, b, c)))

a = quiet([EARLY, "[    3.0] Run /init as init process\n"], 10000)
b = quiet([EARLY], 10000, deadline=None)
result(a == (None, None) and b == (None, None),
       "silence_after_init_or_without_a_deadline_is_not_a_stall", repr((a, b)))

with tempfile.TemporaryDirectory() as tmp:
    console = os.path.join(tmp, "console.log")
    seen = [vmrun.reached_init(console)]
    with open(console, "w") as f:
        f.write(EARLY)
    seen.append(vmrun.reached_init(console))
    with open(console, "a") as f:
        f.write("[    3.0] Run /init as init process\n" + TIMER)
    seen.append(vmrun.reached_init(console))
# A stall before /init is booted again on its own budget; one after it runs the suite again.
result(seen == [False, False, True], "a_boot_is_told_stalled_before_or_after_init", repr(seen))

# The monitor's "info registers -a", taken from QEMU 7.2 (the lines that
# matter): a guest idle at a shell prompt, and one that panicked (CPU 0
# spins in panic(), CPU 1 was stopped with interrupts off).
IDLE = ("CPU#0\nRIP=ffffffff93a592eb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n"
        "ES =0000 0000000000000000 00000000 00000000\n"
        "CPU#1\nRIP=ffffffff93a592eb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n")
PANIC = ("CPU#0\nRIP=ffffffff881f77a3 RFL=00000283 [--S---C] CPL=0 II=0 A20=1 SMM=0 HLT=0\n"
         "CPU#1\nRIP=ffffffff8783fc9b RFL=00000093 [--S-A-C] CPL=0 II=0 A20=1 SMM=0 HLT=1\n")
seen = (vmrun.vcpus_waiting(IDLE), vmrun.vcpus_waiting(PANIC), vmrun.vcpus_waiting(""),
        vmrun.vcpus_waiting(IDLE.replace("HLT=1", "HLT=0", 1)),
        vmrun.vcpus_waiting(IDLE.replace("RFL=00000246", "RFL=00000046", 1)))
result(seen == (True, False, False, False, False),
       "only_vcpus_all_halted_with_interrupts_on_are_taken_for_waiting", repr(seen))

beat = vmrun.Heartbeat(lost=120)
t = beat.last
seen = [beat.silent(t + 1000)]              # no "alive" yet: a boot, a suite of old
beat.note("alive", t + 1000)
seen += [beat.silent(t + 1100), beat.silent(t + 1121)]
beat.note("result PASS x.y", t + 1121)      # any line counts
seen += [beat.silent(t + 1200), beat.silent(t + 1242)]
result(seen == [False, False, True, False, True],
       "a_guest_is_silent_only_after_its_first_heartbeat_and_lost_seconds_without_a_line", repr(seen))

# The whole loop, on a QEMU held paused (-S) so that its guest never
# reaches /init: booted 1 + BOOT_STALL_RETRIES times, then failed as a
# stall, not taken for the code under test.
kernels = sorted(glob.glob("/boot/vmlinuz-*"))
if not kernels or not shutil.which("qemu-system-x86_64"):
    print("SKIP unit.vmrun.a_boot_that_never_reaches_init_is_booted_again_then_failed (no /boot/vmlinuz-* or QEMU)")
else:
    with tempfile.TemporaryDirectory() as tmp:
        vmrun_py = os.path.join(os.path.dirname(os.path.abspath(vmrun.__file__)), "vmrun.py")
        initrd = os.path.join(tmp, "initrd")
        with open(initrd, "wb") as f:
            f.write(b"\0" * 512)
        out = os.path.join(tmp, "out")
        run = subprocess.run([sys.executable, vmrun_py, "--kernel", kernels[-1], "--initrd", initrd,
                              "--suite", "paused", "--out", out, "--boot-deadline", "2", "--stall-retries", "0",
                              "--timeout", "120", "--qemu-arg=-S"], capture_output=True, text=True, timeout=300)
        kept = sorted(n for n in os.listdir(out) if n.startswith("console-timer-stall-"))
        with open(os.path.join(out, "results")) as f:
            res = f.read()
        result(run.stdout.count("stalled before /init") == vmrun.BOOT_STALL_RETRIES
               and len(kept) == vmrun.BOOT_STALL_RETRIES + 1
               and res.startswith("FAIL paused.vm QEMU's timer stall") and "no /init 2 s" in res,
               "a_boot_that_never_reaches_init_is_booted_again_then_failed", repr((run.stdout, kept, res)))

sys.exit(1 if failed else 0)
