/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who holds a lease's group, and their kill (daemon/holders.c), with real
 * processes and the real /proc.  The group's node and the VFIO device fd
 * are stood in for by files of a scratch directory (a holder is found by
 * its fd's target either way).  The pid recycling the kill must not hit is
 * made by giving the copy a holder pid that is not its pidfd's process:
 * exactly what the copy sees once the holder died and its pid was reused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "holders.h"
#include "macro.h"
#include "process.h"
#include "test-spawn.h"
#include "test-util.h"

/* Reaped as whose end?  SIGKILL's, or 0 when it was still alive (then it is killed now). */
static int end_of(pid_t pid) {
        int status;

        for (int i = 0; i < 200; i++) {
                pid_t r = waitpid(pid, &status, WNOHANG);

                assert_true(r >= 0);
                if (r == pid)
                        return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
                usleep(10000);
        }
        (void) kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return 0;
}

/* Alive, not a zombie (a grandchild's parent does not reap it)? */
static bool alive(pid_t pid) {
        char path[64], buf[256], *p;
        FILE *f;
        bool r = false;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
                r = p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
        fclose(f);
        return r;
}

/* Still alive after the kill had its chance?  Killed (and reaped, when ours) afterwards either way. */
static bool survived(pid_t pid) {
        bool r;

        usleep(50000);
        r = alive(pid);
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        return r;
}

typedef struct Fx {
        char *dir, *node, *other_node, *device_fd;
} Fx;

static int fx_setup(void **state) {
        Fx *fx = calloc(1, sizeof(*fx));

        assert_non_null(fx);
        /* Orphaned grandchildren come to us, to be reaped and looked at. */
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        fx->dir = make_tmpdir();
        fx->node = path_in(fx->dir, "vfio-7");
        fx->other_node = path_in(fx->dir, "vfio-8");
        fx->device_fd = path_in(fx->dir, "vfio-device");
        for (const char *const *p = (const char *const[]) { fx->node, fx->other_node, fx->device_fd, NULL }; *p; p++)
                close(open(*p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        *state = fx;
        return 0;
}

static int fx_teardown(void **state) {
        Fx *fx = *state;

        free(fx->node);
        free(fx->other_node);
        free(fx->device_fd);
        rm_rf_tmp(&fx->dir);
        free(fx);
        return 0;
}

static Holders *fx_holders(Fx *fx, const char *cgroup) {
        Holders *h = holders_new("/proc", fx->node, 7, "vm1", cgroup);

        assert_non_null(h);
        h->device_fd = fx->device_fd;
        return h;
}

static int pidfd_of(pid_t pid) {
        int fd = pidfd_open(pid);

        assert_true(fd >= 0);
        return fd;
}

static void kill_ends_the_holder_and_its_descendants(void **state) {
        _cleanup_(holders_freep) Holders *h = fx_holders(*state, NULL);
        _cleanup_close_ int pidfd = -EBADF;
        pid_t holder, grandchild;

        holder = spawn(true, &grandchild);
        pidfd = pidfd_of(holder);
        assert_int_equal(holders_set_holder(h, holder, pidfd, NULL, boottime_usec()), 0);
        holders_kill(h);
        assert_int_equal(end_of(holder), SIGKILL);
        assert_int_equal(end_of(grandchild), SIGKILL);
}

/*
 * The holder was alive when the loop made the copy, then died and its pid
 * went to another process (here: the copy's pid names an unrelated one,
 * with a child of its own).  Neither may be touched: the pidfd says the
 * holder is gone.  Killing by pid, as the kill did before, fails this.
 */
static void a_dead_holders_pid_reused_since_is_not_touched(void **state) {
        _cleanup_(holders_freep) Holders *h = fx_holders(*state, NULL);
        _cleanup_(pid_set_done) PidSet victims = {};
        _cleanup_close_ int pidfd = -EBADF;
        pid_t holder, stranger, strangers_child;

        holder = spawn(false, NULL);
        stranger = spawn(true, &strangers_child);
        pidfd = pidfd_of(holder);
        assert_int_equal(holders_set_holder(h, holder, pidfd, NULL, boottime_usec()), 0);
        h->holder = stranger;   /* the holder's pid, as reused */
        assert_int_equal(kill(holder, SIGKILL), 0);
        assert_int_equal(end_of(holder), SIGKILL);

        assert_int_equal(holders_victims(h, &victims, NULL), 0);
        assert_false(pid_set_contains(&victims, stranger));
        assert_false(pid_set_contains(&victims, strangers_child));
        holders_kill(h);
        assert_true(survived(strangers_child));
        assert_true(survived(stranger));
}

/* A copy made after the holder died has no holder at all. */
static void a_holder_dead_at_the_copy_is_no_holder(void **state) {
        _cleanup_(holders_freep) Holders *h = fx_holders(*state, NULL);
        _cleanup_close_ int pidfd = -EBADF;
        pid_t holder = spawn(false, NULL);

        pidfd = pidfd_of(holder);
        assert_int_equal(kill(holder, SIGKILL), 0);
        assert_int_equal(end_of(holder), SIGKILL);
        assert_int_equal(holders_set_holder(h, holder, pidfd, NULL, boottime_usec()), 0);
        assert_int_equal(h->holder, 0);
        assert_true(h->holder_pidfd < 0);
}

/* A descendant seen before (orphaned since) is killed; a pid of the family that started after it was seen is not. */
static void remembered_family_is_killed_unless_its_pid_is_younger(void **state) {
        _cleanup_(holders_freep) Holders *h = fx_holders(*state, NULL);
        _cleanup_(pid_set_done) PidSet family = {}, victims = {};
        pid_t orphan, younger;
        uint64_t seen;

        orphan = spawn(false, NULL);
        seen = boottime_usec();
        usleep(50000);          /* /proc's start times are in clock ticks (10 ms) */
        younger = spawn(false, NULL);
        assert_true(pid_set_add(&family, orphan) >= 0);
        assert_true(pid_set_add(&family, younger) >= 0);
        assert_int_equal(holders_set_holder(h, 0, -EBADF, &family, seen), 0);

        assert_int_equal(holders_victims(h, &victims, NULL), 0);
        assert_true(pid_set_contains(&victims, orphan));
        assert_false(pid_set_contains(&victims, younger));
        holders_kill(h);
        assert_int_equal(end_of(orphan), SIGKILL);
        assert_true(survived(younger));
}

/* Whoever has the node open is a victim and a suspect; the daemon itself and pid 1 never are. */
static void node_holders_are_victims_never_self_or_init(void **state) {
        Fx *fx = *state;
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, NULL);
        _cleanup_(pid_set_done) PidSet family = {}, victims = {}, suspects = {};
        _cleanup_close_ int fd = open(fx->node, O_RDONLY | O_CLOEXEC);
        pid_t opener;

        assert_true(fd >= 0);
        opener = spawn(false, NULL);    /* the node's fd is inherited (exec would close it; fork does not) */
        assert_true(pid_set_add(&family, getpid()) >= 0);
        assert_true(pid_set_add(&family, 1) >= 0);
        assert_int_equal(holders_set_holder(h, 0, -EBADF, &family, boottime_usec()), 0);

        assert_int_equal(holders_victims(h, &victims, NULL), 0);
        assert_true(pid_set_contains(&victims, opener));
        assert_false(pid_set_contains(&victims, getpid()));     /* it has the node open too */
        assert_false(pid_set_contains(&victims, 1));
        assert_int_equal(holders_suspects(h, &suspects), 0);
        assert_true(pid_set_contains(&suspects, opener));
        assert_false(pid_set_contains(&suspects, getpid()));
        holders_kill(h);
        assert_int_equal(end_of(opener), SIGKILL);
}

/* A child that waits as @uid (real, effective and saved), with every fd the test has open now. */
static pid_t spawn_as(uid_t uid) {
        int p[2];
        char ok = 0;
        pid_t pid;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                /* The death signal after the uid change, which clears it: none outlives a failed case. */
                if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0 ||
                    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(3);
                (void) !write(p[1], "y", 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        assert_int_equal(read(p[0], &ok, 1), 1);
        close(p[0]);
        return pid;
}

/*
 * A holder that is not root has killed for it only what it could kill
 * itself: a process of another uid that has the node open (handed it over
 * SCM_RIGHTS: a bus daemon with the fd in a queued message, say) is spared,
 * named, and still a suspect; one of the holder's uid is killed.  A root
 * holder's revocation kills both.
 */
static void a_users_revocation_kills_only_what_that_user_could(void **state) {
        Fx *fx = *state;
        _cleanup_(pid_set_done) PidSet victims = {}, spared = {}, suspects = {}, root_victims = {};
        _cleanup_close_ int fd = -EBADF;
        pid_t own, stranger;

        if (geteuid() != 0) {
                skip();
                return;
        }
        fd = open(fx->node, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        own = spawn_as(1000);
        stranger = spawn_as(65534);

        {
                _cleanup_(holders_freep) Holders *root = fx_holders(fx, NULL);

                assert_int_equal(holders_victims(root, &root_victims, NULL), 0);
                assert_true(pid_set_contains(&root_victims, own));
                assert_true(pid_set_contains(&root_victims, stranger));
        }
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, NULL);
        h->uid = 1000;
        assert_int_equal(holders_victims(h, &victims, &spared), 0);
        assert_true(pid_set_contains(&victims, own));
        assert_false(pid_set_contains(&victims, stranger));
        assert_true(pid_set_contains(&spared, stranger));
        assert_false(pid_set_contains(&victims, getpid()));     /* root, and the daemon */
        assert_int_equal(holders_suspects(h, &suspects), 0);
        assert_true(pid_set_contains(&suspects, stranger));
        holders_kill(h);
        assert_int_equal(end_of(own), SIGKILL);
        assert_true(survived(stranger));
}

/*
 * A rootless container's process: uid 1000 makes a user namespace, root
 * maps its uid 0 to 100000, and it becomes that uid 0, with every fd the
 * test had open (the node's).  Its pid, or 0 when this kernel lets no user
 * make a namespace.
 */
static pid_t spawn_in_users_namespace(void) {
        int up[2], down[2];
        char c = 0, path[64];
        pid_t pid;
        FILE *f;

        assert_int_equal(pipe(up), 0);
        assert_int_equal(pipe(down), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(up[0]);
                close(down[1]);
                if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0 ||
                    unshare(CLONE_NEWUSER) < 0)
                        _exit(3);
                (void) !write(up[1], "u", 1);
                if (read(down[0], &c, 1) != 1 || setresuid(0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(4);
                (void) !write(up[1], "y", 1);
                for (;;)
                        pause();
        }
        close(up[1]);
        close(down[0]);
        if (read(up[0], &c, 1) != 1) {          /* no user namespace for users here */
                close(up[0]);
                close(down[1]);
                (void) waitpid(pid, NULL, 0);
                return 0;
        }
        snprintf(path, sizeof(path), "/proc/%d/uid_map", (int) pid);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fprintf(f, "0 100000 1\n") > 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(write(down[1], "g", 1), 1);
        assert_int_equal(read(up[0], &c, 1), 1);
        close(up[0]);
        close(down[1]);
        return pid;
}

/*
 * kill(2)'s other rule: a user may signal what runs in a user namespace it
 * made, whatever uid (100000 here) that runs as: rootless podman's QEMU.
 * Its revocation kills it; another user's spares it.
 */
static void a_users_revocation_kills_its_rootless_containers_process(void **state) {
        Fx *fx = *state;
        _cleanup_(pid_set_done) PidSet victims = {}, spared = {}, others = {}, others_spared = {};
        _cleanup_close_ int fd = -EBADF;
        uid_t real = 0, saved = 0;
        pid_t contained;

        if (geteuid() != 0) {
                skip();
                return;
        }
        fd = open(fx->node, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        contained = spawn_in_users_namespace();
        if (contained == 0) {
                skip();
                return;
        }
        assert_int_equal(proc_uids("/proc", contained, &real, &saved), 0);
        assert_int_equal(real, 100000);
        {
                _cleanup_(holders_freep) Holders *other = fx_holders(fx, NULL);

                other->uid = 1001;
                assert_int_equal(holders_victims(other, &others, &others_spared), 0);
                assert_false(pid_set_contains(&others, contained));
                assert_true(pid_set_contains(&others_spared, contained));
        }
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, NULL);
        h->uid = 1000;
        assert_int_equal(holders_victims(h, &victims, &spared), 0);
        assert_true(pid_set_contains(&victims, contained));
        assert_false(pid_set_contains(&spared, contained));
        holders_kill(h);
        assert_int_equal(end_of(contained), SIGKILL);
}

/*
 * A VFIO device fd says no device: one is a suspect unless another lease
 * accounts for its process (that lease's holder, family, or a holder of
 * that lease's node); a victim only in the holder's own cgroup.
 */
static void device_fds_of_other_leases_are_theirs(void **state) {
        Fx *fx = *state;
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, "/not-this.slice/vm1.scope");
        _cleanup_(pid_set_done) PidSet other_family = {}, victims = {}, suspects = {};
        pid_t others_holder, others_opener, others_child, loose;
        int dev, other;

        dev = open(fx->device_fd, O_RDONLY | O_CLOEXEC);
        assert_true(dev >= 0);
        loose = spawn(false, NULL);                     /* a device fd, nobody's */
        others_holder = spawn(true, &others_child);     /* another lease's holder, and a child of it */
        other = open(fx->other_node, O_RDONLY | O_CLOEXEC);
        assert_true(other >= 0);
        others_opener = spawn(false, NULL);             /* has the other lease's node open */
        close(other);
        close(dev);
        assert_int_equal(holders_set_holder(h, 0, -EBADF, NULL, boottime_usec()), 0);
        assert_int_equal(holders_add_other(h, fx->other_node, others_holder, &other_family), 0);

        assert_int_equal(holders_suspects(h, &suspects), 0);
        assert_true(pid_set_contains(&suspects, loose));
        assert_false(pid_set_contains(&suspects, others_holder));
        assert_false(pid_set_contains(&suspects, others_child));        /* a descendant, walked now */
        assert_false(pid_set_contains(&suspects, others_opener));
        assert_true(holders_belong_elsewhere(h, others_child));
        assert_false(holders_belong_elsewhere(h, loose));
        /* Not in the holder's cgroup: no victim. */
        assert_int_equal(holders_victims(h, &victims, NULL), 0);
        assert_int_equal(victims.n, 0);
        holders_kill(h);
        assert_true(survived(loose));
        assert_true(survived(others_opener));
        assert_true(survived(others_child));
        assert_true(survived(others_holder));
}

/* Where cgroup v2 is mounted, or NULL. */
static char *cgroup2_mount(void) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        char *found = NULL;
        FILE *f = fopen("/proc/self/mountinfo", "re");

        if (!f)
                return NULL;
        while (!found && getline(&line, &size, f) > 0) {
                char mnt[256];

                /* id parent major:minor root mount-point options [optional...] - fstype source ... */
                if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1)
                        found = strdup(mnt);
        }
        fclose(f);
        return found;
}

/*
 * In the holder's own cgroup (a VM's scope: here one made for the test,
 * the device fd's holder moved into it), an unaccounted device fd is a
 * victim; the same process is none for a holder of another cgroup.
 */
static void device_fds_in_the_holders_cgroup_are_victims(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *mnt = cgroup2_mount(), *dir = NULL, *procs = NULL, *cgroup = NULL, *seen = NULL;
        _cleanup_(pid_set_done) PidSet victims = {};
        Holders *h, *elsewhere;
        pid_t loose;
        FILE *f;
        int dev;

        if (!mnt || geteuid() != 0)
                skip();
        assert_true(asprintf(&cgroup, "/test-holders-%d", (int) getpid()) > 0);
        assert_true(asprintf(&dir, "%s%s", mnt, cgroup) > 0);
        assert_true(asprintf(&procs, "%s/cgroup.procs", dir) > 0);
        if (mkdir(dir, 0755) < 0)
                skip();         /* a cgroup v2 tree we may not write (a container's) */
        dev = open(fx->device_fd, O_RDONLY | O_CLOEXEC);
        assert_true(dev >= 0);
        loose = spawn(false, NULL);
        close(dev);
        f = fopen(procs, "we");
        assert_non_null(f);
        fprintf(f, "%d\n", (int) loose);
        assert_int_equal(fclose(f), 0);
        /* Relative to our own cgroup namespace: the root here, so the path is the one made. */
        assert_int_equal(proc_cgroup("/proc", loose, &seen), 0);
        assert_string_equal(seen, cgroup);

        elsewhere = fx_holders(fx, "/machine.slice/other-vm.scope");
        assert_int_equal(holders_victims(elsewhere, &victims, NULL), 0);
        assert_false(pid_set_contains(&victims, loose));
        holders_free(elsewhere);

        h = fx_holders(fx, cgroup);
        assert_int_equal(holders_victims(h, &victims, NULL), 0);
        assert_true(pid_set_contains(&victims, loose));
        holders_kill(h);
        assert_int_equal(end_of(loose), SIGKILL);
        holders_free(h);
        assert_int_equal(rmdir(dir), 0);
}

static void the_root_cgroup_names_no_one(void **state) {
        _cleanup_(holders_freep) Holders *h = fx_holders(*state, "/");

        assert_null(h->cgroup);
}

/*
 * Who the return waits for before it unbinds vfio-pci: the lease's
 * processes with a device fd, and strangers with one while nobody has the
 * node open.  Another lease's holder with one is not waited for (its fds
 * may be its own lease's), unless it has this group's node open too, or
 * this lease was killed (then all it found are dying).
 */
static void openers_are_the_leases_processes_with_a_device_fd(void **state) {
        Fx *fx = *state;
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, NULL);
        _cleanup_(pid_set_done) PidSet family = {}, other_family = {}, openers = {}, killed = {};
        _cleanup_close_ int pidfd = -EBADF;
        pid_t holder, child, stranger, idle, shared, both;
        bool node_held = false;
        int dev, node;

        idle = spawn(false, NULL);                      /* of the family, no device fd */
        dev = open(fx->device_fd, O_RDONLY | O_CLOEXEC);
        assert_true(dev >= 0);
        holder = spawn(true, &child);                   /* the holder, and a child that inherited its device fd */
        stranger = spawn(false, NULL);                  /* no lease's: a device fd handed out of reach */
        shared = spawn(false, NULL);                    /* of the family, and another lease's holder */
        node = open(fx->node, O_RDONLY | O_CLOEXEC);
        assert_true(node >= 0);
        both = spawn(false, NULL);                      /* another lease's holder with this group open */
        close(node);
        close(dev);
        pidfd = pidfd_of(holder);
        assert_true(pid_set_add(&family, idle) >= 0);
        assert_true(pid_set_add(&family, shared) >= 0);
        assert_int_equal(holders_set_holder(h, holder, pidfd, &family, boottime_usec()), 0);
        assert_int_equal(holders_add_other(h, fx->other_node, shared, &other_family), 0);
        assert_int_equal(holders_add_other(h, fx->other_node, both, &other_family), 0);

        assert_int_equal(holders_openers(h, &openers, NULL, &node_held), 0);
        assert_true(node_held);
        assert_true(pid_set_contains(&openers, holder));
        assert_true(pid_set_contains(&openers, child));
        assert_true(pid_set_contains(&openers, both));
        assert_false(pid_set_contains(&openers, shared));
        assert_false(pid_set_contains(&openers, idle));
        assert_false(pid_set_contains(&openers, getpid()));
        /* Somebody has the node: the group is held there, a stranger's device fd is another group's. */
        assert_false(pid_set_contains(&openers, stranger));
        h->killed = true;
        assert_int_equal(holders_openers(h, &killed, NULL, NULL), 0);
        assert_true(pid_set_contains(&killed, shared));
        assert_false(pid_set_contains(&killed, idle));
        /* Nobody has the node: the stranger's device fd may be what holds the group. */
        assert_true(survived(both));
        h->killed = false;
        pid_set_done(&openers);
        assert_int_equal(holders_openers(h, &openers, NULL, &node_held), 0);
        assert_false(node_held);
        assert_true(pid_set_contains(&openers, stranger));
        assert_false(pid_set_contains(&openers, shared));
        for (const pid_t *p = (const pid_t[]) { holder, child, stranger, idle, shared, 0 }; *p; p++)
                assert_true(survived(*p));
}

/* A child whose main thread has exited (a zombie leader) while another thread keeps its fds. */
static void *park(void *arg) {
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

static pid_t spawn_zombie_leader(void) {
        int p[2];
        pid_t pid;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pthread_t t;

                close(p[0]);
                if (pthread_create(&t, NULL, park, NULL) != 0)
                        _exit(1);
                (void) !write(p[1], "x", 1);
                pthread_exit(NULL);
        }
        close(p[1]);
        assert_int_equal(read(p[0], (char[1]) {}, 1), 1);
        close(p[0]);
        return pid;
}

/*
 * A process whose exit has begun: its fds have left /proc/PID/fd, yet a
 * device fd among them is not closed (here: the leader exited, its other
 * thread holds the table; the same as an exit between exit_files() and the
 * work that closes them).  It is an exit in progress until its pidfd says
 * it is done.
 */
static void an_exit_in_progress_is_an_opener(void **state) {
        Fx *fx = *state;
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, NULL);
        _cleanup_(pid_set_done) PidSet family = {}, openers = {}, exiting = {}, after = {}, after_exiting = {};
        pid_t leader;
        int dev;

        dev = open(fx->device_fd, O_RDONLY | O_CLOEXEC);
        assert_true(dev >= 0);
        leader = spawn_zombie_leader();
        close(dev);
        for (int i = 0; i < 200 && !proc_exiting("/proc", leader); i++)
                usleep(10000);
        assert_true(proc_exiting("/proc", leader));
        assert_false(proc_has_fd("/proc", leader, fx->device_fd));      /* what /proc shows of it */
        assert_true(pid_set_add(&family, leader) >= 0);
        assert_int_equal(holders_set_holder(h, 0, -EBADF, &family, boottime_usec()), 0);
        assert_int_equal(holders_openers(h, &openers, &exiting, NULL), 0);
        assert_int_equal(openers.n, 0);
        assert_true(pid_set_contains(&exiting, leader));
        assert_int_equal(kill(leader, SIGKILL), 0);
        assert_int_equal(end_of(leader), SIGKILL);
        assert_false(proc_exiting("/proc", getpid()));
        assert_int_equal(holders_openers(h, &after, &after_exiting, NULL), 0);
        assert_int_equal(after.n, 0);
        assert_int_equal(after_exiting.n, 0);
}

/* A child that SIGKILLs @pid after @usec. */
static pid_t kill_later(pid_t pid, useconds_t usec) {
        pid_t killer = fork();

        assert_true(killer >= 0);
        if (killer == 0) {
                usleep(usec);
                (void) kill(pid, SIGKILL);
                _exit(0);
        }
        return killer;
}

static double now_sec(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * The node does not open (here a directory: EISDIR, as a group open
 * elsewhere says EBUSY): the wait lasts until the last opener has gone,
 * and it hears the exit through the pidfd, long before its next look.
 */
static void the_wait_ends_when_the_last_opener_is_gone(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *dir = path_in(fx->dir, "vfio-dir");
        _cleanup_(holders_freep) Holders *h = NULL;
        _cleanup_(pid_set_done) PidSet family = {};
        pid_t first, second, k1, k2;
        double start;
        int dev;

        assert_int_equal(mkdir(dir, 0700), 0);
        h = holders_new("/proc", dir, 7, "vm1", NULL);
        assert_non_null(h);
        h->device_fd = fx->device_fd;
        dev = open(fx->device_fd, O_RDONLY | O_CLOEXEC);
        assert_true(dev >= 0);
        first = spawn(false, NULL);
        second = spawn(false, NULL);
        close(dev);
        assert_true(pid_set_add(&family, first) >= 0);
        assert_true(pid_set_add(&family, second) >= 0);
        assert_int_equal(holders_set_holder(h, 0, -EBADF, &family, boottime_usec()), 0);

        k1 = kill_later(first, 100000);
        k2 = kill_later(second, 300000);
        start = now_sec();
        /* A directory for a node: it never opens for writing, so the wait ends on the walk's word. */
        assert_int_equal(holders_wait_openers(h, 20 * 1000000ULL, 0), -EBUSY);
        assert_true(now_sec() - start < 10.0);          /* woken by the exits, not by the next look */
        assert_false(alive(first));
        assert_false(alive(second));
        assert_int_equal(end_of(first), SIGKILL);
        assert_int_equal(end_of(second), SIGKILL);
        (void) end_of(k1);
        (void) end_of(k2);
        assert_int_equal(rmdir(dir), 0);
}

/*
 * The node opens: nobody has the group, so no device either; no walk, no
 * wait.  The open node is the caller's: while it holds it nobody can open
 * the group, so the unbind that follows cannot wait.
 */
static void the_wait_ends_at_once_when_the_node_opens(void **state) {
        Fx *fx = *state;
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, NULL);
        _cleanup_(pid_set_done) PidSet family = {};
        pid_t opener, killer;
        struct stat a, b;
        int dev, node;

        dev = open(fx->device_fd, O_RDONLY | O_CLOEXEC);
        assert_true(dev >= 0);
        opener = spawn(false, NULL);
        close(dev);
        assert_true(pid_set_add(&family, opener) >= 0);
        assert_int_equal(holders_set_holder(h, 0, -EBADF, &family, boottime_usec()), 0);
        killer = kill_later(opener, 20000000);          /* a wait that walked would end only then */
        node = holders_wait_openers(h, 1000000ULL, 1000000ULL);
        assert_true(node >= 0);
        assert_int_equal(fstat(node, &a), 0);
        assert_int_equal(stat(h->node, &b), 0);
        assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        assert_int_equal(fcntl(node, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(node);
        assert_true(survived(opener));
        (void) end_of(killer);
}

/* No node: no group left to wait for, nothing to hold. */
static void the_wait_ends_at_once_without_a_node(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *missing = path_in(fx->dir, "vfio-missing");
        _cleanup_(holders_freep) Holders *h = holders_new("/proc", missing, 7, "vm1", NULL);

        assert_non_null(h);
        assert_int_equal(holders_wait_openers(h, 1000000ULL, 1000000ULL), -ENOENT);
}

/* A directory stands in for a busy node: its open for writing fails, as a group open elsewhere does. */
static Holders *fx_busy_holders(Fx *fx, char **ret_dir) {
        Holders *h;

        *ret_dir = path_in(fx->dir, "vfio-busy");
        assert_int_equal(mkdir(*ret_dir, 0700), 0);
        h = holders_new("/proc", *ret_dir, 7, "vm1", NULL);
        assert_non_null(h);
        h->device_fd = fx->device_fd;
        assert_int_equal(holders_set_holder(h, 0, -EBADF, NULL, boottime_usec()), 0);
        return h;
}

/*
 * Somebody has the node open, without a device fd: a group fd alone does
 * not keep the unbind waiting, and a stranger's device fd is then another
 * group's.  No wait.
 */
static void a_group_fd_alone_is_not_waited_for(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *dir = NULL;
        _cleanup_(holders_freep) Holders *h = fx_busy_holders(fx, &dir);
        pid_t opener, stranger, k1, k2;
        int node, dev;

        node = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(node >= 0);
        opener = spawn(false, NULL);
        close(node);
        dev = open(fx->device_fd, O_RDONLY | O_CLOEXEC);
        assert_true(dev >= 0);
        stranger = spawn(false, NULL);
        close(dev);
        k1 = kill_later(opener, 20000000);      /* a wait would end only then */
        k2 = kill_later(stranger, 20000000);
        assert_int_equal(holders_wait_openers(h, 600 * 1000000ULL, 600 * 1000000ULL), -EBUSY);
        assert_true(survived(opener));
        assert_true(survived(stranger));
        (void) end_of(k1);
        (void) end_of(k2);
        assert_int_equal(rmdir(dir), 0);
}

/* Held, yet by no fd any process shows (an exit closing it): waited for, @unseen_usec at most. */
static void a_group_held_unseen_is_waited_for_a_while(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *dir = NULL;
        _cleanup_(holders_freep) Holders *h = fx_busy_holders(fx, &dir);
        double start = now_sec();

        assert_int_equal(holders_wait_openers(h, 1000000ULL, 300000ULL), -EBUSY);
        assert_true(now_sec() - start >= 0.3);
        assert_true(now_sec() - start < 30.0);          /* and then no longer */
        assert_int_equal(rmdir(dir), 0);
}

/*
 * An exit in progress keeps the wait even while somebody has the node open
 * (its device fd may be among the files it is closing), but not for ever:
 * here one that never ends (a zombie leader whose other thread lives on).
 */
static void an_exit_in_progress_is_waited_for_a_while(void **state) {
        Fx *fx = *state;
        _cleanup_free_ char *dir = NULL;
        _cleanup_(holders_freep) Holders *h = fx_busy_holders(fx, &dir);
        _cleanup_(pid_set_done) PidSet family = {};
        pid_t opener, leader;
        double start;
        int node;

        node = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(node >= 0);
        opener = spawn(false, NULL);
        close(node);
        leader = spawn_zombie_leader();
        for (int i = 0; i < 200 && !proc_exiting("/proc", leader); i++)
                usleep(10000);
        assert_true(pid_set_add(&family, leader) >= 0);
        assert_int_equal(holders_set_holder(h, 0, -EBADF, &family, boottime_usec()), 0);
        start = now_sec();
        assert_int_equal(holders_wait_openers(h, 1000000ULL, 300000ULL), -EBUSY);
        assert_true(now_sec() - start >= 0.3);
        assert_true(now_sec() - start < 30.0);
        assert_int_equal(kill(leader, SIGKILL), 0);
        assert_int_equal(end_of(leader), SIGKILL);
        assert_true(survived(opener));
        assert_int_equal(rmdir(dir), 0);
}

/* The journal's list of whom a wait or a stuck group is about: each pid with its name as /proc has it now. */
static void pids_are_named_for_the_journal(void **state) {
        Fx *fx = *state;
        _cleanup_(holders_freep) Holders *h = fx_holders(fx, NULL);
        _cleanup_(pid_set_done) PidSet pids = {};
        _cleanup_free_ char *one = NULL, *two = NULL, *none = NULL, *want = NULL;
        char comm[PROC_COMM_MAX];
        pid_t child = spawn(false, NULL);

        proc_comm("/proc", getpid(), comm, sizeof(comm));
        assert_true(pid_set_add(&pids, getpid()) >= 0);
        one = holders_pids_text(h, &pids);
        assert_non_null(one);
        assert_true(asprintf(&want, "pid %u (%s)", (unsigned) getpid(), comm) > 0);
        assert_string_equal(one, want);
        free(want);
        assert_true(pid_set_add(&pids, child) >= 0);
        two = holders_pids_text(h, &pids);
        assert_non_null(two);
        /* A forked child keeps its parent's name. */
        assert_true(asprintf(&want, "pid %u (%s), pid %u (%s)", (unsigned) pids.pids[0], comm,
                             (unsigned) pids.pids[1], comm) > 0);
        assert_string_equal(two, want);
        pid_set_done(&pids);
        none = holders_pids_text(h, &pids);
        assert_non_null(none);
        assert_string_equal(none, "");
        assert_int_equal(kill(child, SIGKILL), 0);
        assert_int_equal(end_of(child), SIGKILL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(kill_ends_the_holder_and_its_descendants),
                T(a_dead_holders_pid_reused_since_is_not_touched),
                T(a_holder_dead_at_the_copy_is_no_holder),
                T(remembered_family_is_killed_unless_its_pid_is_younger),
                T(node_holders_are_victims_never_self_or_init),
                T(a_users_revocation_kills_only_what_that_user_could),
                T(a_users_revocation_kills_its_rootless_containers_process),
                T(device_fds_of_other_leases_are_theirs),
                T(device_fds_in_the_holders_cgroup_are_victims),
                T(the_root_cgroup_names_no_one),
                T(openers_are_the_leases_processes_with_a_device_fd),
                T(the_wait_ends_when_the_last_opener_is_gone),
                T(the_wait_ends_at_once_when_the_node_opens),
                T(the_wait_ends_at_once_without_a_node),
                T(pids_are_named_for_the_journal),
                T(an_exit_in_progress_is_an_opener),
                T(a_group_fd_alone_is_not_waited_for),
                T(a_group_held_unseen_is_waited_for_a_while),
                T(an_exit_in_progress_is_waited_for_a_while),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
