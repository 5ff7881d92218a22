/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocking work off the loop (daemon/worker.c): a job runs in a thread of
 * its own while it runs (a blocked one holds up no other), nicer than the
 * loop's by WORKER_NICE_DELTA; a thread waits for the next job; the result
 * comes back to the loop's thread, or, for a joined job, to worker_join().
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

/* A job that waits until its gate (a pipe) has a byte, or its end is closed. */
typedef struct Gated {
        int gate[2];
        pid_t tid;
        int nice;               /* a joined job's thread's nice value, as it ran */
        bool done;
} Gated;

static int gated_run(void *userdata) {
        Gated *g = userdata;
        char c;

        g->tid = tid();
        while (read(g->gate[0], &c, 1) < 0 && errno == EINTR)
                ;
        return 0;
}

static void gated_done(int result, void *userdata) {
        Gated *g = userdata;

        (void) result;
        g->done = true;
}

/* Two gated jobs, a loop and a Worker on it: the fixture of the tests below that use them. */
typedef struct Gates {
        Gated a, b;
        sd_event *e;
        Worker *w;
} Gates;

static int gates_setup(void **state) {
        Gates *g = calloc(1, sizeof(*g));

        assert_non_null(g);
        assert_int_equal(pipe(g->a.gate), 0);
        assert_int_equal(pipe(g->b.gate), 0);
        assert_int_equal(sd_event_new(&g->e), 0);
        assert_int_equal(worker_new(g->e, &g->w), 0);
        *state = g;
        return 0;
}

static int gates_teardown(void **state) {
        Gates *g = *state;

        worker_free(g->w);
        sd_event_unref(g->e);
        for (int i = 0; i < 2; i++) {
                close(g->a.gate[i]);
                close(g->b.gate[i]);
        }
        free(g);
        return 0;
}

static void run_until(sd_event *e, const bool *flag) {
        while (!*flag)
                assert_true(sd_event_run(e, UINT64_MAX) >= 0);
}

/* A job that blocks holds its thread only: the next runs in another, and finishes first. */
static void blocked_job_does_not_hold_up_the_next(void **state) {
        Gates *g = *state;

        assert_int_equal(worker_submit(g->w, gated_run, gated_done, &g->a), 0);
        assert_int_equal(worker_submit(g->w, gated_run, gated_done, &g->b), 0);
        assert_int_equal(worker_pending(g->w), 2);
        assert_int_equal(write(g->b.gate[1], "x", 1), 1);
        run_until(g->e, &g->b.done);
        assert_false(g->a.done);
        assert_int_equal(worker_pending(g->w), 1);
        assert_int_equal(write(g->a.gate[1], "x", 1), 1);
        run_until(g->e, &g->a.done);
        assert_int_not_equal(g->a.tid, g->b.tid);
        assert_int_equal(worker_pending(g->w), 0);
}

/* One job after another: the second runs in the thread the first left waiting, not a new one. */
static void thread_waits_for_the_next_job(void **state) {
        Gates *g = *state;

        assert_int_equal(write(g->a.gate[1], "x", 1), 1);
        assert_int_equal(write(g->b.gate[1], "x", 1), 1);
        assert_int_equal(worker_submit(g->w, gated_run, gated_done, &g->a), 0);
        run_until(g->e, &g->a.done);
        assert_int_equal(worker_submit(g->w, gated_run, gated_done, &g->b), 0);
        run_until(g->e, &g->b.done);
        assert_int_equal(g->a.tid, g->b.tid);
}

/*
 * A joined job runs in a thread of the pool while the caller goes on: it
 * waits on its gate, which the caller opens only after worker_start()
 * returned (run in the caller's thread, it would wait there for good);
 * worker_join() gives its result, and nothing comes back to the loop.
 */
static int joined_run(void *userdata) {
        Gated *g = userdata;
        char c;
        ssize_t k;

        g->tid = tid();
        errno = 0;
        g->nice = getpriority(PRIO_PROCESS, 0);
        assert_int_equal(errno, 0);
        do
                k = read(g->gate[0], &c, 1);
        while (k < 0 && errno == EINTR);
        return k == 1 ? 7 : -EIO;
}

static void joined_job_overlaps_its_caller_and_gives_its_result(void **state) {
        Gates *g = *state;
        WorkerJob *job = NULL;

        assert_int_equal(worker_start(g->w, joined_run, &g->a, &job), 0);
        assert_non_null(job);
        assert_int_equal(worker_pending(g->w), 0);
        assert_int_equal(write(g->a.gate[1], "x", 1), 1);
        assert_int_equal(worker_join(job), 7);
        assert_int_not_equal(g->a.tid, 0);
        assert_int_not_equal(g->a.tid, tid());
        /* The loop has no done() to run for it. */
        assert_int_equal(sd_event_run(g->e, 0), 0);
        assert_false(g->a.done);
}

/* A joined job behind a blocked one still gets a thread; the blocked one reports to the loop later. */
static void joined_job_is_not_held_up_by_a_blocked_job(void **state) {
        Gates *g = *state;
        WorkerJob *job = NULL;

        assert_int_equal(worker_submit(g->w, gated_run, gated_done, &g->a), 0);
        assert_int_equal(worker_start(g->w, joined_run, &g->b, &job), 0);
        assert_int_equal(write(g->b.gate[1], "x", 1), 1);
        assert_int_equal(worker_join(job), 7);
        assert_int_not_equal(g->a.tid, g->b.tid);
        assert_false(g->a.done);
        assert_int_equal(worker_pending(g->w), 1);
        assert_int_equal(write(g->a.gate[1], "x", 1), 1);
        run_until(g->e, &g->a.done);
        assert_int_equal(worker_pending(g->w), 0);
}

/*
 * The loop waits for a joined job: it runs at the loop's priority (root may
 * raise it back), and the thread is nicer again for the next job.
 */
static void joined_job_runs_at_the_loops_priority(void **state) {
        Gates *g = *state;
        WorkerJob *job = NULL;
        Probe p = {};
        int loop_nice;

        errno = 0;
        loop_nice = getpriority(PRIO_PROCESS, 0);
        assert_int_equal(errno, 0);
        assert_int_equal(write(g->a.gate[1], "x", 1), 1);
        assert_int_equal(worker_start(g->w, joined_run, &g->a, &job), 0);
        assert_int_equal(worker_join(job), 7);
        if (geteuid() == 0)
                assert_int_equal(g->a.nice, loop_nice);
        /* The same thread, waiting, takes the next job: nicer than the loop again. */
        p.event = g->e;
        assert_int_equal(worker_submit(g->w, probe_run, probe_done, &p), 0);
        assert_int_equal(sd_event_loop(g->e), 0);
        assert_int_equal(p.tid, g->a.tid);
        assert_int_equal(p.nice, loop_nice + WORKER_NICE_DELTA < 19 ? loop_nice + WORKER_NICE_DELTA : 19);
}

/* A job reported to the loop needs its done(). */
static void submit_without_done_is_refused(void **state) {
        sd_event *e = NULL;
        Worker *w = NULL;

        (void) state;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(worker_new(e, &w), 0);
        assert_int_equal(worker_submit(w, probe_run, NULL, NULL), -EINVAL);
        assert_int_equal(worker_pending(w), 0);
        worker_free(w);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(job_runs_in_its_own_thread_and_reports_to_the_loop),
                cmocka_unit_test_setup_teardown(blocked_job_does_not_hold_up_the_next, gates_setup, gates_teardown),
                cmocka_unit_test_setup_teardown(thread_waits_for_the_next_job, gates_setup, gates_teardown),
                cmocka_unit_test(job_runs_nicer_than_the_loop),
                cmocka_unit_test_setup_teardown(joined_job_overlaps_its_caller_and_gives_its_result, gates_setup, gates_teardown),
                cmocka_unit_test_setup_teardown(joined_job_is_not_held_up_by_a_blocked_job, gates_setup, gates_teardown),
                cmocka_unit_test_setup_teardown(joined_job_runs_at_the_loops_priority, gates_setup, gates_teardown),
                cmocka_unit_test(submit_without_done_is_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
