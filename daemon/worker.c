/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "macro.h"
#include "worker.h"

struct Worker {
        sd_event_source *source;
        int pipe[2];
        unsigned pending;
};

typedef struct Job {
        int done_fd;            /* the pipe's end, kept open while a job runs: the Worker may be freed first */
        WorkerRunFn run;
        WorkerDoneFn done;
        void *userdata;
        int result;
} Job;

/*
 * Below the loop: a job (a reset, vfio-pci's unbind and the probes after
 * it) spends seconds of CPU in the kernel under emulation, and on a host
 * whose CPUs are busy it would take them from the thread that answers the
 * bus.  Linux gives each thread its own nice value (PRIO_PROCESS, 0: this
 * thread), inherited from the loop's.  Failing to lower it changes nothing.
 */
static void job_lower_priority(void) {
        int nice;

        errno = 0;
        nice = getpriority(PRIO_PROCESS, 0);
        if (nice == -1 && errno != 0)
                return;
        (void) setpriority(PRIO_PROCESS, 0, nice + WORKER_NICE_DELTA < 19 ? nice + WORKER_NICE_DELTA : 19);
}

static void *job_thread(void *p) {
        Job *job = p;

        job_lower_priority();
        job->result = job->run(job->userdata);
        /* A pointer is written atomically into a pipe (< PIPE_BUF). */
        while (write(job->done_fd, &job, sizeof(job)) < 0 && errno == EINTR)
                ;
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
        if (pipe2(w->pipe, O_CLOEXEC) < 0)
                return -errno;
        r = sd_event_add_io(event, &w->source, w->pipe[0], EPOLLIN, on_job_done, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->source, "worker");
        *ret = TAKE_PTR(w);
        return 0;
}

Worker *worker_free(Worker *w) {
        if (!w)
                return NULL;
        /* Threads still blocked in the kernel are left to the process's exit. */
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

int worker_submit(Worker *w, WorkerRunFn run, WorkerDoneFn done, void *userdata) {
        pthread_attr_t attr;
        pthread_t thread;
        sigset_t all, saved;
        Job *job;
        int r;

        job = malloc(sizeof(*job));
        if (!job)
                return -ENOMEM;
        *job = (Job) { .done_fd = w->pipe[1], .run = run, .done = done, .userdata = userdata };

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* Signals stay with the loop's thread (sd-event uses signalfd). */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&thread, &attr, job_thread, job);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        pthread_attr_destroy(&attr);
        if (r < 0) {
                free(job);
                return r;
        }
        w->pending++;
        return 0;
}

unsigned worker_pending(Worker *w) {
        return w->pending;
}
