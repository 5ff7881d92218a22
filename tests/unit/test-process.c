/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Process helpers: start times, descendants, fd holders, cgroups, pidfd kills. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "process.h"
#include "test-spawn.h"

static void reap(pid_t pid) {
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

static void proc_start_time_of_self(void **state) {
        uint64_t a, b, child;
        pid_t pid;
        (void) state;

        assert_int_equal(proc_start_time(getpid(), &a), 0);
        assert_int_equal(proc_start_time(getpid(), &b), 0);
        assert_true(a > 0);
        assert_int_equal(a, b);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        assert_int_equal(proc_start_time(pid, &child), 0);
        assert_true(child >= a);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(proc_start_time(pid, &child), -ESRCH);
}

static void proc_start_time_survives_parentheses_in_comm(void **state) {
        char old[17] = "";
        uint64_t before, after;
        (void) state;

        assert_int_equal(proc_start_time(getpid(), &before), 0);
        assert_int_equal(prctl(PR_GET_NAME, old), 0);
        assert_int_equal(prctl(PR_SET_NAME, "a) 1 2 ) 3 4 5"), 0);
        assert_int_equal(proc_start_time(getpid(), &after), 0);
        assert_int_equal(prctl(PR_SET_NAME, old), 0);
        assert_int_equal(after, before);
}

static void proc_start_time_refuses_bad_pids(void **state) {
        uint64_t t;
        (void) state;

        assert_int_equal(proc_start_time(0, &t), -EINVAL);
        assert_int_equal(proc_start_time(-1, &t), -EINVAL);
        /* Above the kernel's PID_MAX_LIMIT (4194304). */
        assert_int_equal(proc_start_time(INT_MAX, &t), -ESRCH);
}

static void descendants_include_grandchildren_only_below(void **state) {
        _cleanup_(pid_set_done) PidSet s = {};
        pid_t child, grandchild, other;
        (void) state;

        child = spawn(true, &grandchild);
        other = spawn(false, NULL);
        assert_int_equal(proc_add_descendants("/proc", child, &s), 0);
        assert_true(pid_set_contains(&s, grandchild));
        assert_false(pid_set_contains(&s, child));
        assert_false(pid_set_contains(&s, other));
        pid_set_done(&s);
        assert_int_equal(proc_add_descendants("/proc", getpid(), &s), 0);
        assert_true(pid_set_contains(&s, child));
        assert_true(pid_set_contains(&s, grandchild));
        assert_true(pid_set_contains(&s, other));
        assert_false(pid_set_contains(&s, getpid()));
        /* The long way (every process's parent) finds the same. */
        pid_set_done(&s);
        assert_int_equal(proc_add_descendants_by_parent("/proc", child, &s), 0);
        assert_int_equal(s.n, 1);
        assert_true(pid_set_contains(&s, grandchild));
        (void) kill(grandchild, SIGKILL);
        reap(child);
        reap(other);
}

/* A thread other than the leader forks: its child is listed under that thread, and found. */
typedef struct Forker {
        pid_t child;
        int forked[2];          /* the thread says it forked */
        int done[2];            /* then lives until a byte comes here (its child has the pipe too: no EOF) */
} Forker;

static void *fork_from_a_thread(void *userdata) {
        Forker *f = userdata;
        char c;

        f->child = fork();
        if (f->child == 0) {
                pause();
                _exit(0);
        }
        (void) write(f->forked[1], "x", 1);
        (void) read(f->done[0], &c, 1);
        return NULL;
}

static void descendants_forked_by_any_thread_are_found(void **state) {
        _cleanup_(pid_set_done) PidSet s = {};
        Forker f = { .child = -1 };
        pthread_t thread;
        bool found;
        char c;
        (void) state;

        /* The thread stays alive while the walk reads its children file (else its child goes to the leader). */
        assert_int_equal(pipe(f.forked), 0);
        assert_int_equal(pipe(f.done), 0);
        assert_int_equal(pthread_create(&thread, NULL, fork_from_a_thread, &f), 0);
        assert_int_equal(read(f.forked[0], &c, 1), 1);
        assert_true(f.child > 0);
        found = proc_add_descendants("/proc", getpid(), &s) == 0 && pid_set_contains(&s, f.child);
        /* The thread and the child ended before the verdict: a failure must not leave them waiting. */
        assert_int_equal(write(f.done[1], "x", 1), 1);
        assert_int_equal(pthread_join(thread, NULL), 0);
        reap(f.child);
        close(f.done[1]);
        close(f.done[0]);
        close(f.forked[0]);
        close(f.forked[1]);
        assert_true(found);
}

/* A /proc without children files (a kernel without CONFIG_PROC_CHILDREN): the parents tell. */
static void descendants_without_children_files_come_from_the_parents(void **state) {
        _cleanup_(pid_set_done) PidSet s = {};
        char dir[] = "/tmp/pt-proc-XXXXXX", path[PATH_MAX];
        static const struct { int pid, ppid; } tree[] = { { 100, 1 }, { 101, 100 }, { 102, 101 }, { 103, 1 } };
        FILE *f;
        (void) state;

        assert_non_null(mkdtemp(dir));
        for (size_t i = 0; i < ELEMENTSOF(tree); i++) {
                snprintf(path, sizeof(path), "%s/%d", dir, tree[i].pid);
                assert_int_equal(mkdir(path, 0755), 0);
                snprintf(path, sizeof(path), "%s/%d/task", dir, tree[i].pid);
                assert_int_equal(mkdir(path, 0755), 0);
                snprintf(path, sizeof(path), "%s/%d/task/%d", dir, tree[i].pid, tree[i].pid);
                assert_int_equal(mkdir(path, 0755), 0);
                snprintf(path, sizeof(path), "%s/%d/stat", dir, tree[i].pid);
                f = fopen(path, "w");
                assert_non_null(f);
                fprintf(f, "%d (x) S %d 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100\n", tree[i].pid, tree[i].ppid);
                fclose(f);
        }
        assert_int_equal(proc_add_descendants(dir, 100, &s), 0);
        assert_int_equal(s.n, 2);
        assert_true(pid_set_contains(&s, 101));
        assert_true(pid_set_contains(&s, 102));
        /* With the files, they are read instead (and the parents not). */
        snprintf(path, sizeof(path), "%s/100/task/100/children", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("103 ", f);
        fclose(f);
        pid_set_done(&s);
        assert_int_equal(proc_add_descendants(dir, 100, &s), 0);
        assert_int_equal(s.n, 1);
        assert_true(pid_set_contains(&s, 103));
        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        assert_int_equal(system(path), 0);
}

static void fd_holders_are_found_by_link_target(void **state) {
        _cleanup_(pid_set_done) PidSet s = {};
        char path[] = "/tmp/test-process-XXXXXX";
        int fd;
        pid_t child;
        (void) state;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        child = spawn(false, NULL);     /* inherits fd */
        assert_true(proc_has_fd("/proc", child, path));
        assert_false(proc_has_fd("/proc", child, "/nonexistent"));
        assert_int_equal(proc_add_fd_holders("/proc", path, &s), 0);
        assert_true(pid_set_contains(&s, child));
        assert_true(pid_set_contains(&s, getpid()));
        assert_int_equal(s.n, 2);
        reap(child);
        close(fd);
        unlink(path);
}

/*
 * A device node opened by another name (a QEMU that libvirt runs opens
 * /dev/vfio/N on a /dev of its own mount namespace) is the same device;
 * another device, or another file of the same name, is not.
 */
static void fd_holders_of_a_device_are_found_by_any_of_its_nodes(void **state) {
        _cleanup_(pid_set_done) PidSet s = {};
        char dir[] = "/tmp/test-process-dev-XXXXXX", node[64], zero[64];
        struct stat full_st, zero_st;
        int fd;
        pid_t child;
        (void) state;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(stat("/dev/full", &full_st), 0);
        assert_int_equal(stat("/dev/zero", &zero_st), 0);
        snprintf(node, sizeof(node), "%s/full", dir);
        snprintf(zero, sizeof(zero), "%s/zero", dir);
        if (mknod(node, S_IFCHR | 0600, full_st.st_rdev) < 0) {
                rmdir(dir);
                skip();         /* not root: no device node of our own */
        }
        assert_int_equal(mknod(zero, S_IFCHR | 0600, zero_st.st_rdev), 0);
        fd = open(node, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fcntl(fd, F_SETFD, 0), 0);      /* the child keeps it */
        child = spawn(false, NULL);
        assert_true(proc_has_fd("/proc", child, "/dev/full"));  /* its link reads DIR/full; nothing else here has /dev/full open */
        assert_false(proc_has_fd("/proc", child, zero));        /* another device */
        assert_int_equal(proc_add_fd_holders("/proc", "/dev/full", &s), 0);
        assert_true(pid_set_contains(&s, child));
        reap(child);
        close(fd);
        unlink(node);
        unlink(zero);
        rmdir(dir);
}

/*
 * A file that only has the name of the device: a child of its own mount
 * namespace binds a plain file over a node's path and opens it there.  Its
 * fd's link reads the node's path; it is not the device.
 */
static void a_file_named_like_the_device_is_not_it(void **state) {
        char dir[] = "/tmp/test-process-ns-XXXXXX", node[64], plain[64];
        struct stat full_st;
        int p[2], fd;
        pid_t child;
        char ok;
        (void) state;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(stat("/dev/full", &full_st), 0);
        snprintf(node, sizeof(node), "%s/full", dir);
        snprintf(plain, sizeof(plain), "%s/plain", dir);
        fd = open(plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        if (mknod(node, S_IFCHR | 0600, full_st.st_rdev) < 0) {
                unlink(plain);
                rmdir(dir);
                skip();         /* not root: no device node, no mount namespace */
        }
        assert_int_equal(pipe(p), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                alarm(60);      /* gone by itself if a failed assertion leaves it behind */
                ok = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
                     mount(plain, node, NULL, MS_BIND, NULL) == 0 && open(node, O_RDONLY) >= 0;
                (void) !write(p[1], &ok, 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        assert_int_equal(read(p[0], &ok, 1), 1);
        close(p[0]);
        if (!ok) {
                reap(child);
                unlink(node);
                unlink(plain);
                rmdir(dir);
                skip();         /* no mount namespace here (a container without CAP_SYS_ADMIN) */
        }
        assert_false(proc_has_fd("/proc", child, node));        /* same name, a plain file */
        assert_true(proc_has_fd("/proc", child, plain));         /* what it is */
        reap(child);
        unlink(node);
        unlink(plain);
        rmdir(dir);
}

static void cgroup_and_comm_of_self(void **state) {
        _cleanup_free_ char *cg = NULL;
        char comm[32];
        int r;
        (void) state;

        r = proc_cgroup("/proc", getpid(), &cg);
        if (r == -ENODATA)
                skip();         /* cgroup v1 only */
        assert_int_equal(r, 0);
        assert_true(cg[0] == '/');
        proc_comm("/proc", getpid(), comm, sizeof(comm));
        assert_string_equal(comm, "test-process");
        proc_comm("/proc", INT_MAX, comm, sizeof(comm));
        assert_string_equal(comm, "?");
        assert_int_equal(proc_cgroup("/proc", INT_MAX, &cg), -ENOENT);
}

/* A name of any bytes (PR_SET_NAME) comes out printable ASCII: a D-Bus string and a terminal take it. */
static void a_comm_of_any_bytes_is_escaped(void **state) {
        char comm[PROC_COMM_MAX], buf[8];
        pid_t child;
        int fd[2];
        (void) state;

        assert_int_equal(pipe(fd), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                char c;

                close(fd[1]);
                (void) prctl(PR_SET_NAME, "\xff\xfe\x1b]0;x\x07" "a\\b\xc3\xa9z");
                (void) read(fd[0], &c, 1);
                _exit(0);
        }
        close(fd[0]);
        for (int i = 0; i < 1000; i++) {
                proc_comm("/proc", child, comm, sizeof(comm));
                if (strcmp(comm, "test-process") != 0)
                        break;
                usleep(1000);
        }
        /* 15 bytes kept by the kernel, each non-printable one and the backslash as \xNN. */
        assert_string_equal(comm, "\\xff\\xfe\\x1b]0;x\\x07a\\x5cb\\xc3\\xa9z");
        close(fd[1]);
        reap(child);

        /* Cut at a whole escape; the longest name fits PROC_COMM_MAX. */
        comm_escape("ab\xff", buf, 5);
        assert_string_equal(buf, "ab");
        comm_escape("abcdefg", buf, sizeof(buf));
        assert_string_equal(buf, "abcdefg");
        comm_escape("abcdefgh", buf, sizeof(buf));
        assert_string_equal(buf, "abcdefg");
        comm_escape("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", comm, sizeof(comm));
        assert_int_equal(strlen(comm), 60);
        comm_escape("", buf, 1);
        assert_string_equal(buf, "");
}

static void process_kill_ends_a_process_and_reports_gone(void **state) {
        int status;
        pid_t child;
        (void) state;

        child = spawn(false, NULL);
        assert_int_equal(process_kill(child), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_equal(process_kill(child), -ESRCH);
}

static void pid_set_keeps_each_pid_once(void **state) {
        _cleanup_(pid_set_done) PidSet s = {};
        (void) state;

        assert_int_equal(pid_set_add(&s, 5), 1);
        assert_int_equal(pid_set_add(&s, 5), 0);
        assert_int_equal(pid_set_add(&s, 0), 0);
        assert_int_equal(pid_set_add(&s, -3), 0);
        assert_int_equal(pid_set_add(&s, 7), 1);
        assert_int_equal(s.n, 2);
        assert_true(pid_set_contains(&s, 7));
        assert_false(pid_set_contains(&s, 6));
}

/* A process is pinned only when it is no younger than its connection: a recycled pid is. */
static void process_pin_refuses_a_process_younger_than_the_connection(void **state) {
        uint64_t start = 0, ticks = 0;
        pid_t child;
        int fd, status;

        (void) state;
        /* This process started long before now, and after boot's first microsecond. */
        fd = process_pin(getpid(), boottime_usec(), &start);
        assert_true(fd >= 0);
        close(fd);
        /* The start time it read is the process's own. */
        assert_int_equal(proc_start_time(getpid(), &ticks), 0);
        assert_true(start == ticks);
        assert_int_equal(process_pin(getpid(), 1, NULL), -ESTALE);
        /* A process gone is gone. */
        child = fork();
        assert_true(child >= 0);
        if (child == 0)
                _exit(0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_int_equal(process_pin(child, boottime_usec(), NULL), -ESRCH);
        assert_int_equal(process_pin(0, boottime_usec(), NULL), -EINVAL);
}

/*
 * A process that has exited is not running, also while it is a zombie (its
 * parent has not reaped it), though a signal 0 through its pidfd still
 * reaches it: a connection it passed on must not lease in its name.
 */
static void a_zombie_is_not_running(void **state) {
        siginfo_t info = {};
        pid_t child;
        int fd;

        (void) state;
        assert_true(pidfd_running(fd = pidfd_open(getpid())));
        close(fd);
        assert_false(pidfd_running(-EBADF));
        child = fork();
        assert_true(child >= 0);
        if (child == 0)
                _exit(0);
        fd = pidfd_open(child);
        assert_true(fd >= 0);
        /* Exited, not reaped: a zombie. */
        assert_int_equal(waitid(P_PID, (id_t) child, &info, WEXITED | WNOWAIT), 0);
        assert_int_equal(pidfd_send_signal(fd, 0), 0);
        assert_false(pidfd_running(fd));
        assert_int_equal(waitpid(child, NULL, 0), child);
        assert_false(pidfd_running(fd));
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(proc_start_time_of_self),
                cmocka_unit_test(proc_start_time_survives_parentheses_in_comm),
                cmocka_unit_test(proc_start_time_refuses_bad_pids),
                cmocka_unit_test(descendants_include_grandchildren_only_below),
                cmocka_unit_test(descendants_forked_by_any_thread_are_found),
                cmocka_unit_test(descendants_without_children_files_come_from_the_parents),
                cmocka_unit_test(fd_holders_are_found_by_link_target),
                cmocka_unit_test(fd_holders_of_a_device_are_found_by_any_of_its_nodes),
                cmocka_unit_test(a_file_named_like_the_device_is_not_it),
                cmocka_unit_test(cgroup_and_comm_of_self),
                cmocka_unit_test(a_comm_of_any_bytes_is_escaped),
                cmocka_unit_test(process_kill_ends_a_process_and_reports_gone),
                cmocka_unit_test(pid_set_keeps_each_pid_once),
                cmocka_unit_test(process_pin_refuses_a_process_younger_than_the_connection),
                cmocka_unit_test(a_zombie_is_not_running),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
