/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "macro.h"
#include "worker.h"

typedef struct WorkerJob Job;
typedef struct Pool Pool;

struct WorkerJob {
        int done_fd;            /* the pipe's end, kept open while a job runs: the Worker may be freed first */
        WorkerRunFn run;
        WorkerDoneFn done;      /* NULL: joined (worker_join()), not reported to the loop */
        void *userdata;
        int result;
        bool finished;          /* a joined job's: run() has returned (under the pool's lock) */
        Pool *pool;             /* a joined job's, for worker_join() */
        Job *next;              /* in the pool's queue */
};

/*
 * The threads and the jobs queued for them, shared by the Worker and its
 * threads: the last of them to go frees it.  A queued job always has a
 * thread that will take it: idle counts the threads not running a job
 * (waiting, or done with one and about to look for the next), queued the
 * jobs not taken yet, and a submit starts a thread when idle < queued.
 */
struct Pool {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        pthread_cond_t finished;        /* a joined job's run() returned */
        Job *head, *tail;
        unsigned queued;
        unsigned idle;
        unsigned refs;          /* the Worker's, and one a thread */
        bool closing;
};

struct Worker {
        sd_event_source *source;
        int pipe[2];
        unsigned pending;
        Pool *pool;
};

/* Called with the pool locked; unlocks it, and frees it if that was the last reference. */
static void pool_unref_unlock(Pool *p) {
        bool last = --p->refs == 0;

        pthread_mutex_unlock(&p->lock);
        if (!last)
                return;
        pthread_cond_destroy(&p->wake);
        pthread_cond_destroy(&p->finished);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

/*
 * Below the loop: a job (a reset, vfio-pci's unbind and the probes after
 * it) spends seconds of CPU in the kernel under emulation, and on a host
 * whose CPUs are busy it would take them from the thread that answers the
 * bus.  Linux gives each thread its own nice value (PRIO_PROCESS, 0: this
 * thread), inherited from the loop's, which this returns (INT_MIN when it
 * cannot be read).  Failing to lower it changes nothing.
 */
/* This thread's nice value, INT_MIN when it cannot be read (-1 is a value too). */
static int thread_nice(void) {
        int nice;

        errno = 0;
        nice = getpriority(PRIO_PROCESS, 0);
        return nice == -1 && errno != 0 ? INT_MIN : nice;
}

static int job_lower_priority(void) {
        int nice = thread_nice();

        if (nice == INT_MIN)
                return INT_MIN;
        (void) setpriority(PRIO_PROCESS, 0, nice + WORKER_NICE_DELTA < 19 ? nice + WORKER_NICE_DELTA : 19);
        return nice;
}

/*
 * A joined job has the loop's thread waiting for it: it runs at the loop's
 * priority, or the loop would wait behind whatever a busy host runs at 0.
 * Going back up needs CAP_SYS_NICE (passthrud has it); without, it stays.
 */
static void job_run(Job *job, int loop_nice) {
        int nice = !job->done && loop_nice != INT_MIN ? thread_nice() : INT_MIN;
        bool raise = nice != INT_MIN && setpriority(PRIO_PROCESS, 0, loop_nice) >= 0;

        job->result = job->run(job->userdata);
        if (raise)
                (void) setpriority(PRIO_PROCESS, 0, nice);
}

/*
 * A thread takes queued jobs until there are none; then it waits for the
 * next one unless WORKER_IDLE_MAX threads are idle with it, and ends.  A
 * job that blocks (an unbind waiting for a holder) holds its thread only:
 * the next job finds another.  A thread counts as idle again before its
 * result reaches the loop, so that the loop's next job finds it.
 */
static void *job_thread(void *userdata) {
        Pool *p = userdata;
        int loop_nice = job_lower_priority();
        pthread_mutex_lock(&p->lock);
        for (;;) {
                Job *job = p->head;

                if (!job) {
                        if (p->closing || p->idle > WORKER_IDLE_MAX)
                                break;
                        pthread_cond_wait(&p->wake, &p->lock);
                        continue;
                }
                p->head = job->next;
                if (!p->head)
                        p->tail = NULL;
                p->queued--;
                p->idle--;
                pthread_mutex_unlock(&p->lock);

                job_run(job, loop_nice);

                pthread_mutex_lock(&p->lock);
                p->idle++;
                if (!job->done) {
                        /* Joined: the joiner frees it once it sees it finished. */
                        job->finished = true;
                        pthread_cond_broadcast(&p->finished);
                        continue;
                }
                pthread_mutex_unlock(&p->lock);
                /* A pointer is written atomically into a pipe (< PIPE_BUF). */
                while (write(job->done_fd, &job, sizeof(job)) < 0 && errno == EINTR)
                        ;
                pthread_mutex_lock(&p->lock);
        }
        p->idle--;
        pool_unref_unlock(p);
        return NULL;
}

static int on_job_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Worker *w = userdata;
        Job *job;
        ssize_t n;

        (void) s;
        (void) revents;
        n = read(fd, &job, sizeof(job));
        if (n != sizeof(job))
                return 0;
        w->pending--;
        job->done(job->result, job->userdata);
        free(job);
        return 0;
}

int worker_new(sd_event *event, Worker **ret) {
        _cleanup_(worker_freep) Worker *w = NULL;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->pipe[0] = w->pipe[1] = -EBADF;
        w->pool = calloc(1, sizeof(Pool));
        if (!w->pool)
                return -ENOMEM;
        pthread_mutex_init(&w->pool->lock, NULL);
        pthread_cond_init(&w->pool->wake, NULL);
        pthread_cond_init(&w->pool->finished, NULL);
        w->pool->refs = 1;
        if (pipe2(w->pipe, O_CLOEXEC) < 0)
                return -errno;
        r = sd_event_add_io(event, &w->source, w->pipe[0], EPOLLIN, on_job_done, w);
        if (r < 0)
                return r;
        /* A result is news the next request should see (a group back, reset): before the buses' traffic. */
        (void) sd_event_source_set_priority(w->source, WORKER_DONE_PRIORITY);
        (void) sd_event_source_set_description(w->source, "worker");
        *ret = TAKE_PTR(w);
        return 0;
}

Worker *worker_free(Worker *w) {
        if (!w)
                return NULL;
        /* Idle threads end now; threads still blocked in the kernel are left to the process's exit. */
        if (w->pool) {
                pthread_mutex_lock(&w->pool->lock);
                w->pool->closing = true;
                pthread_cond_broadcast(&w->pool->wake);
                pool_unref_unlock(w->pool);
        }
        sd_event_source_disable_unref(w->source);
        if (w->pending == 0) {
                if (w->pipe[0] >= 0)
                        close(w->pipe[0]);
                if (w->pipe[1] >= 0)
                        close(w->pipe[1]);
        }
        free(w);
        return NULL;
}

/* A thread for the pool, its reference taken (the pool locked by the caller). */
static int pool_start_thread(Pool *p) {
        pthread_attr_t attr;
        pthread_t thread;
        sigset_t all, saved;
        int r;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* Signals stay with the loop's thread (sd-event uses signalfd). */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&thread, &attr, job_thread, p);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        pthread_attr_destroy(&attr);
        if (r >= 0) {
                p->refs++;
                p->idle++;      /* until it takes a job */
        }
        return r;
}

/* Queue @job for a thread of the pool, starting one unless an idle thread will take it. */
static int pool_enqueue(Pool *p, Job *job) {
        int r = 0;

        pthread_mutex_lock(&p->lock);
        /* An idle thread for every job queued, this one too?  Else one more. */
        if (p->idle < p->queued + 1)
                r = pool_start_thread(p);
        if (r >= 0) {
                if (p->tail)
                        p->tail->next = job;
                else
                        p->head = job;
                p->tail = job;
                p->queued++;
                pthread_cond_signal(&p->wake);
        }
        pthread_mutex_unlock(&p->lock);
        return r;
}

/* A copy of @tmpl queued for a thread of the pool, in *ret. */
static int job_queue(Worker *w, Job tmpl, Job **ret) {
        Job *job;
        int r;

        job = malloc(sizeof(*job));
        if (!job)
                return -ENOMEM;
        *job = tmpl;
        r = pool_enqueue(w->pool, job);
        if (r < 0) {
                free(job);
                return r;
        }
        *ret = job;
        return 0;
}

int worker_submit(Worker *w, WorkerRunFn run, WorkerDoneFn done, void *userdata) {
        Job *job;
        int r;

        if (!done)
                return -EINVAL;
        r = job_queue(w, (Job) { .done_fd = w->pipe[1], .run = run, .done = done, .userdata = userdata }, &job);
        if (r < 0)
                return r;
        w->pending++;
        return 0;
}

int worker_start(Worker *w, WorkerRunFn run, void *userdata, WorkerJob **ret) {
        return job_queue(w, (Job) { .done_fd = -EBADF, .run = run, .userdata = userdata, .pool = w->pool }, ret);
}

int worker_join(WorkerJob *job) {
        Pool *p = job->pool;
        int result;

        pthread_mutex_lock(&p->lock);
        while (!job->finished)
                pthread_cond_wait(&p->finished, &p->lock);
        pthread_mutex_unlock(&p->lock);
        result = job->result;
        free(job);
        return result;
}

unsigned worker_pending(Worker *w) {
        return w->pending;
}
