/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Named fault points: FAULT_POINT("acquire-moved") marks a place in the
 * grant and return paths where the daemon may die (a crash, kill -9, an
 * OOM kill) and a restart must still find the books and the kernel
 * agreeing.  In passthrud it is nothing at all.  Built with
 * -DPT_FAULT_POINTS (build/passthrud-faults, for the daemon-faults VM
 * suite, never installed), the daemon SIGKILLs itself at the point that
 * $PASSTHRU_FAULT_POINT names: "NAME" at its first hit, "NAME:N" at its
 * N-th.  It says so on stderr first ("fault point NAME: SIGKILL").
 *
 * The points: acquire-pinned (the caller pinned, nothing moved),
 * acquire-moved (after each device of the group moved to vfio-pci),
 * acquire-recorded (the ledger written, the fd not sent), acquire-sent
 * (the reply with the fd sent), return-unbound (a return job's worker,
 * the group off vfio-pci, not reset yet) and return-staged (the same with
 * StageIdleGroups=yes: the group reset on vfio-pci, not staged yet).
 */
#pragma once

#ifdef PT_FAULT_POINTS
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void fault_point(const char *name) {
        static atomic_ulong hits;       /* of the armed point: one name, one file */
        const char *want = getenv("PASSTHRU_FAULT_POINT");
        size_t n = strlen(name);
        unsigned long nth = 1;
        char msg[128];
        int len;

        if (!want || strncmp(want, name, n) != 0 || (want[n] != '\0' && want[n] != ':'))
                return;
        if (want[n] == ':')
                nth = strtoul(want + n + 1, NULL, 10);
        if (atomic_fetch_add(&hits, 1) + 1 != nth)
                return;
        /* One write(2): the return job's point runs in a worker thread. */
        len = snprintf(msg, sizeof(msg), "fault point %s: SIGKILL\n", name);
        if (len > 0 && write(STDERR_FILENO, msg, (size_t) len) < 0) {
                /* dying anyway */
        }
        kill(getpid(), SIGKILL);
}
#define FAULT_POINT(name) fault_point(name)
#else
#define FAULT_POINT(name) do {} while (0)
#endif
