/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocking work off the loop (daemon/worker.c): a job runs in a thread of
 * its own, nicer than the loop's by WORKER_NICE_DELTA, and its result comes
 * back to the loop's thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "worker.h"

typedef struct Probe {
        sd_event *event;
        pid_t loop_tid;
        pid_t tid;              /* the job's thread */
        int nice;               /* the job's thread's nice value, as it ran */
        int result;             /* what done() was given */
        pid_t done_tid;         /* where done() ran */
        unsigned done;
} Probe;

static pid_t tid(void) {
        return (pid_t) syscall(SYS_gettid);
}

static int probe_run(void *userdata) {
        Probe *p = userdata;

        p->tid = tid();
        errno = 0;
        p->nice = getpriority(PRIO_PROCESS, 0);
        assert_int_equal(errno, 0);
        return 42;
}

static void probe_done(int result, void *userdata) {
        Probe *p = userdata;

        p->result = result;
        p->done_tid = tid();
        p->done++;
        (void) sd_event_exit(p->event, 0);
}

/* Submit probe_run() on a loop of its own and run it until its done() came back. */
static void run_probe(Probe *p) {
        Worker *w = NULL;

        p->loop_tid = tid();
        assert_int_equal(sd_event_new(&p->event), 0);
        assert_int_equal(worker_new(p->event, &w), 0);
        assert_int_equal(worker_submit(w, probe_run, probe_done, p), 0);
        assert_int_equal(worker_pending(w), 1);
        assert_int_equal(sd_event_loop(p->event), 0);
        assert_int_equal(worker_pending(w), 0);
        worker_free(w);
        p->event = sd_event_unref(p->event);
}

static void job_runs_in_its_own_thread_and_reports_to_the_loop(void **state) {
        Probe p = {};

        (void) state;
        run_probe(&p);
        assert_int_equal(p.done, 1);
        assert_int_equal(p.result, 42);
        assert_int_not_equal(p.tid, p.loop_tid);
        assert_int_equal(p.done_tid, p.loop_tid);
}

/* A job's thread is nicer than the loop's, which keeps its own nice value; 19 is the floor. */
static void job_runs_nicer_than_the_loop(void **state) {
        Probe p = {};
        int loop_nice;

        (void) state;
        errno = 0;
        loop_nice = getpriority(PRIO_PROCESS, 0);
        assert_int_equal(errno, 0);
        run_probe(&p);
        assert_int_equal(p.nice, loop_nice + WORKER_NICE_DELTA < 19 ? loop_nice + WORKER_NICE_DELTA : 19);
        assert_true(p.nice > loop_nice || loop_nice == 19);
        errno = 0;
        assert_int_equal(getpriority(PRIO_PROCESS, 0), loop_nice);

        /* From a loop already at 17, the job is at 19. */
        assert_int_equal(setpriority(PRIO_PROCESS, 0, 17), 0);
        p.done = 0;
        run_probe(&p);
        assert_int_equal(p.nice, 19);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(job_runs_in_its_own_thread_and_reports_to_the_loop),
                cmocka_unit_test(job_runs_nicer_than_the_loop),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
