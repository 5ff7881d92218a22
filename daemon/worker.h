/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocking work off the event loop.  Unbinding vfio-pci sleeps until every
 * copy of the group fd is closed; such writes run here, each job in a
 * thread of its own while it runs (a blocked job never holds up the next),
 * and the result comes back to the loop through a pipe.  A thread whose job
 * is done waits for the next one while fewer than WORKER_IDLE_MAX others
 * do: a return trip does not start a thread (half a millisecond under
 * emulation, on the way back of every lease).
 */
#pragma once

#include <systemd/sd-event.h>

/* How much nicer than the loop's thread a job's thread runs (worker.c says why). */
#define WORKER_NICE_DELTA 5
/* The loop hears of a finished job before the requests and events waiting with it. */
#define WORKER_DONE_PRIORITY (SD_EVENT_PRIORITY_NORMAL - 20)
/* Threads kept waiting for a job. */
#define WORKER_IDLE_MAX 1

typedef struct Worker Worker;

/* Runs in the job's thread; returns a result for done(). */
typedef int (*WorkerRunFn)(void *userdata);
/* Runs on the loop afterwards, with run()'s result. */
typedef void (*WorkerDoneFn)(int result, void *userdata);

int worker_new(sd_event *event, Worker **ret);
Worker *worker_free(Worker *w);
static inline void worker_freep(Worker **w) {
        worker_free(*w);
}
/* Start a job; userdata must live until done() was called. */
int worker_submit(Worker *w, WorkerRunFn run, WorkerDoneFn done, void *userdata);
/* Jobs started and not finished yet. */
unsigned worker_pending(Worker *w);

/*
 * A job the loop's thread waits for itself, with no done() on the loop:
 * work that overlaps what the loop's thread does meanwhile (a grant's
 * ledger write while the group moves).  worker_start() runs run(userdata)
 * in a thread of the pool; worker_join() waits until it has returned, frees
 * the job and gives its result.  Every started job must be joined, before
 * the loop runs again and before its userdata goes.
 */
typedef struct WorkerJob WorkerJob;
int worker_start(Worker *w, WorkerRunFn run, void *userdata, WorkerJob **ret);
int worker_join(WorkerJob *job);
