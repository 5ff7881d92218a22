/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/nsfs.h>

#include "fileio.h"
#include "macro.h"
#include "process.h"

int pidfd_open(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

int pidfd_send_signal(int pidfd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

bool pidfd_running(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        if (pidfd < 0 || pidfd_send_signal(pidfd, 0) < 0)
                return false;
        /* A zombie still takes a signal; its pidfd is readable once it has exited. */
        return poll(&p, 1, 0) == 0;
}

void pid_set_done(PidSet *s) {
        free(s->pids);
        *s = (PidSet) {};
}

bool pid_set_contains(const PidSet *s, pid_t pid) {
        for (size_t i = 0; i < s->n; i++)
                if (s->pids[i] == pid)
                        return true;
        return false;
}

int pid_set_add(PidSet *s, pid_t pid) {
        pid_t *a;

        if (pid <= 0 || pid_set_contains(s, pid))
                return 0;
        a = reallocarray(s->pids, s->n + 1, sizeof(pid_t));
        if (!a)
                return -ENOMEM;
        s->pids = a;
        s->pids[s->n++] = pid;
        return 1;
}

static bool parse_pid(const char *s, pid_t *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v <= 0 || v > INT_MAX)
                return false;
        *ret = (pid_t) v;
        return true;
}


/* /proc/PID/@name, whole, into *@ret: read_full_file()'s result. */
static int proc_read(const char *proc, pid_t pid, const char *name, char **ret) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%d/%s", proc, (int) pid, name) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        return read_full_file(path, ret, NULL);
}
/* Field @field (1-based, as proc(5) counts; 3 or more) of /proc/PID/stat. */
static int proc_stat_field(const char *proc, pid_t pid, int field, char *buf, size_t size) {
        _cleanup_free_ char *stat = NULL;
        const char *p;
        size_t n;
        int r;

        if (pid <= 0)
                return -EINVAL;
        r = proc_read(proc, pid, "stat", &stat);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        /* "PID (COMM) STATE ...": COMM may hold anything, ')' included. */
        p = strrchr(stat, ')');
        if (!p)
                return -EBADMSG;
        p++;
        for (int f = 3; f < field; f++) {
                p += strspn(p, " ");
                if (!*p)
                        return -EBADMSG;
                p += strcspn(p, " ");
        }
        p += strspn(p, " ");
        n = strcspn(p, " \n");
        if (n == 0 || n >= size)
                return -EBADMSG;
        memcpy(buf, p, n);
        buf[n] = '\0';
        return 0;
}

/* PF_EXITING of include/linux/sched.h: stable kernel ABI of /proc/PID/stat's flags. */
#define PROC_PF_EXITING 0x4

bool proc_exiting(const char *proc, pid_t pid) {
        _cleanup_close_ int pidfd = -EBADF;
        struct pollfd p = { .events = POLLIN };
        char state[8], flags[32];
        unsigned long f;
        char *end;

        if (proc_stat_field(proc, pid, 3, state, sizeof(state)) < 0 ||
            proc_stat_field(proc, pid, 9, flags, sizeof(flags)) < 0)
                return false;
        errno = 0;
        f = strtoul(flags, &end, 10);
        /* A zombie leader may wait for its other threads' exits, and their files are its own. */
        if (state[0] != 'Z' && !(errno == 0 && *end == '\0' && (f & PROC_PF_EXITING)))
                return false;
        /* Done once its pidfd is readable: the whole thread group has exited. */
        pidfd = pidfd_open(pid);
        if (pidfd < 0)
                return false;
        p.fd = pidfd;
        return poll(&p, 1, 0) == 0;
}

int proc_start_time(pid_t pid, uint64_t *ret) {
        char digits[24];
        uint64_t v;
        int r;

        r = proc_stat_field("/proc", pid, 22, digits, sizeof(digits));
        if (r < 0)
                return r;
        if (parse_uint64(digits, UINT64_MAX, &v) < 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

uint64_t boottime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

int pidfd_start_time(int pidfd, pid_t pid, uint64_t *ret) {
        /* Read after the pidfd was taken, and the process still alive: both are of one process. */
        if (proc_start_time(pid, ret) < 0 || pidfd_send_signal(pidfd, 0) < 0)
                return -ESRCH;
        return 0;
}

int process_pin(pid_t pid, uint64_t not_after, uint64_t *ret_start_time) {
        _cleanup_close_ int pidfd = -EBADF;
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t ticks;
        int r;

        if (pid <= 0 || hz <= 0)
                return -EINVAL;
        pidfd = pidfd_open(pid);
        if (pidfd < 0)
                return -errno;
        r = pidfd_start_time(pidfd, pid, &ticks);
        if (r < 0)
                return r;
        /* /proc's start time is in clock ticks since boot, rounded down. */
        if (ticks * (1000000ULL / (uint64_t) hz) > not_after)
                return -ESTALE;
        if (ret_start_time)
                *ret_start_time = ticks;
        return TAKE_FD(pidfd);
}

/* The parent of @pid; 0 when unknown. */
static pid_t proc_parent(const char *proc, pid_t pid) {
        char digits[16];
        pid_t ppid;

        if (proc_stat_field(proc, pid, 4, digits, sizeof(digits)) < 0 || !parse_pid(digits, &ppid))
                return 0;
        return ppid;
}

/* Every pid in @proc now. */
static int proc_all_pids(const char *proc, PidSet *ret) {
        _cleanup_(closedirp) DIR *d = opendir(proc);
        struct dirent *de;
        int r;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                pid_t p;

                if (parse_pid(de->d_name, &p) && (r = pid_set_add(ret, p)) < 0)
                        return r;
        }
        return 0;
}

/*
 * The children of every thread of @pid into @s (each new one also in
 * @queue, to be walked in turn).  -ENOENT when @pid is gone, -EOPNOTSUPP
 * when its thread has no children file (no CONFIG_PROC_CHILDREN).
 */
static int add_children(const char *proc, pid_t pid, PidSet *s, PidSet *queue) {
        _cleanup_free_ char *tasks = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        bool any = false;

        if (asprintf(&tasks, "%s/%d/task", proc, (int) pid) < 0)
                return -ENOMEM;
        d = opendir(tasks);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                char *save = NULL;
                pid_t tid;
                int r;

                if (!parse_pid(de->d_name, &tid))
                        continue;
                if (asprintf(&path, "%s/%s/children", tasks, de->d_name) < 0)
                        return -ENOMEM;
                r = read_full_file(path, &text, NULL);
                /* The leader listed, yet no children file: the kernel has none (or it ended: walked the long way). */
                if (r == -ENOENT && !any && tid == pid)
                        return -EOPNOTSUPP;
                if (r < 0)
                        continue;       /* the thread ended under us */
                any = true;
                /* strtok_r: a worker's thread walks too (the stuck check). */
                for (char *w = strtok_r(text, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                        pid_t child;

                        if (!parse_pid(w, &child) || pid_set_contains(s, child))
                                continue;
                        r = pid_set_add(s, child);
                        if (r >= 0)
                                r = pid_set_add(queue, child);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int proc_add_descendants(const char *proc, pid_t pid, PidSet *s) {
        PidSet queue = {};
        int r;

        r = add_children(proc, pid, s, &queue);
        if (r == -EOPNOTSUPP)
                return proc_add_descendants_by_parent(proc, pid, s);
        if (r == -ENOENT)
                r = 0;          /* gone: no descendants to find through it */
        /* Breadth first: the queue grows as children are found. */
        for (size_t i = 0; r >= 0 && i < queue.n; i++) {
                r = add_children(proc, queue.pids[i], s, &queue);
                if (r == -ENOENT || r == -EOPNOTSUPP)
                        r = 0;  /* ended under us */
        }
        pid_set_done(&queue);
        return r < 0 ? r : 0;
}

int proc_add_descendants_by_parent(const char *proc, pid_t pid, PidSet *s) {
        PidSet all = {};
        pid_t *parent = NULL;
        bool grew = true;
        int r;

        r = proc_all_pids(proc, &all);
        if (r < 0)
                goto out;
        parent = calloc(all.n ?: 1, sizeof(pid_t));
        if (!parent) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < all.n; i++)
                parent[i] = proc_parent(proc, all.pids[i]);
        /* Until nothing new: a child's child may come before its parent. */
        while (grew) {
                grew = false;
                for (size_t i = 0; i < all.n; i++) {
                        if (pid_set_contains(s, all.pids[i]) || all.pids[i] == pid)
                                continue;
                        if (parent[i] == pid || (parent[i] > 0 && pid_set_contains(s, parent[i]))) {
                                r = pid_set_add(s, all.pids[i]);
                                if (r < 0)
                                        goto out;
                                grew = true;
                        }
                }
        }
        r = 0;
out:
        free(parent);
        pid_set_done(&all);
        return r;
}

/*
 * What an fd must be to count as @target's: the same link text, or, when
 * @target is a file, the same file, and for a character device any node of
 * the same device.  A QEMU that libvirt runs opens /dev/vfio/N in a mount
 * namespace of its own, on a /dev of its own: its fd's link then reads
 * "/vfio/N" from here, but it is the same device.
 */
typedef struct FdTarget {
        const char *text;
        bool have_stat;
        struct stat st;
} FdTarget;

static void fd_target_init(FdTarget *t, const char *target) {
        *t = (FdTarget) { .text = target };
        t->have_stat = target[0] == '/' && stat(target, &t->st) >= 0;
}

static bool fd_target_has(const FdTarget *t, const char *dir, const char *name) {
        char link[PATH_MAX + 300], buf[PATH_MAX];
        struct stat st;
        ssize_t k;

        snprintf(link, sizeof(link), "%s/%s", dir, name);
        k = readlink(link, buf, sizeof(buf) - 1);
        if (k < 0)
                return false;
        buf[k] = '\0';
        /*
         * A path is compared by what it is, never by its name alone: in a
         * mount namespace of its own, any user can give a file of theirs the
         * name /dev/vfio/N, and a QEMU that libvirt runs opens the real group
         * on a /dev of its own.  Names without a file ("socket:[...]",
         * "anon_inode:[vfio-device]") are compared as text.
         */
        if (!t->have_stat || buf[0] != '/')
                return strcmp(buf, t->text) == 0;
        if (stat(link, &st) < 0)
                return false;
        if (S_ISCHR(t->st.st_mode))
                return S_ISCHR(st.st_mode) && st.st_rdev == t->st.st_rdev;
        return st.st_dev == t->st.st_dev && st.st_ino == t->st.st_ino;
}

static bool proc_has_fd_target(const char *proc, pid_t pid, const FdTarget *t) {
        char dir[PATH_MAX];
        struct dirent *de;
        bool found = false;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/%d/fd", proc, (int) pid);
        d = opendir(dir);
        if (!d)
                return false;
        while (!found && (de = readdir(d)))
                found = de->d_name[0] != '.' && fd_target_has(t, dir, de->d_name);
        closedir(d);
        return found;
}

bool proc_has_fd(const char *proc, pid_t pid, const char *target) {
        FdTarget t;

        fd_target_init(&t, target);
        return proc_has_fd_target(proc, pid, &t);
}

int proc_add_fd_holders(const char *proc, const char *target, PidSet *s) {
        _cleanup_(pid_set_done) PidSet all = {};
        FdTarget t;
        int r;

        fd_target_init(&t, target);
        r = proc_all_pids(proc, &all);
        if (r < 0)
                return r;
        for (size_t i = 0; i < all.n; i++)
                if (proc_has_fd_target(proc, all.pids[i], &t) && (r = pid_set_add(s, all.pids[i])) < 0)
                        return r;
        return 0;
}

int proc_uids(const char *proc, pid_t pid, uid_t *ret_real, uid_t *ret_saved) {
        _cleanup_free_ char *text = NULL;
        unsigned long real, effective, saved;
        const char *line;
        int r;

        r = proc_read(proc, pid, "status", &text);
        if (r < 0)
                return r;
        /* "Uid:\treal\teffective\tsaved\tfilesystem" */
        line = strstr(text, "\nUid:");
        if (!line || sscanf(line + 5, "%lu %lu %lu", &real, &effective, &saved) != 3 || real > UINT32_MAX ||
            saved > UINT32_MAX)
                return -EBADMSG;
        *ret_real = (uid_t) real;
        *ret_saved = (uid_t) saved;
        return 0;
}

int proc_userns_owned_by(const char *proc, pid_t pid, uid_t uid) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat ours, st;

        if (stat("/proc/self/ns/user", &ours) < 0)
                return -errno;
        if (asprintf(&path, "%s/%d/ns/user", proc, (int) pid) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (int depth = 0; depth < 33; depth++) {     /* the kernel nests 32 at most */
                uid_t owner;
                int parent;

                if (fstat(fd, &st) < 0)
                        return -errno;
                if (st.st_dev == ours.st_dev && st.st_ino == ours.st_ino)
                        return 0;
                if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0)
                        return -errno;
                if (owner == uid)
                        return 1;
                parent = ioctl(fd, NS_GET_PARENT);
                if (parent < 0)
                        return errno == EPERM ? 0 : -errno;     /* above ours: none of it is */
                safe_close(fd);
                fd = parent;
        }
        return 0;
}

int proc_cgroup(const char *proc, pid_t pid, char **ret) {
        _cleanup_free_ char *text = NULL;
        char *line, *save = NULL;
        int r;

        r = proc_read(proc, pid, "cgroup", &text);
        if (r < 0)
                return r;
        /* cgroup v2's line is "0::PATH". */
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strncmp(line, "0::", 3) == 0) {
                        char *c = strdup(line + 3);

                        if (!c)
                                return -ENOMEM;
                        *ret = c;
                        return 0;
                }
        return -ENODATA;
}

void comm_escape(const char *comm, char *buf, size_t size) {
        size_t n = 0;

        assert(size >= 1);
        for (const unsigned char *c = (const unsigned char *) comm; *c; c++) {
                bool plain = *c >= 0x20 && *c < 0x7f && *c != '\\';

                if (n + (plain ? 1 : 4) >= size)
                        break;
                if (plain)
                        buf[n++] = (char) *c;
                else
                        n += (size_t) snprintf(buf + n, size - n, "\\x%02x", *c);
        }
        buf[n] = '\0';
}

void proc_comm(const char *proc, pid_t pid, char *buf, size_t size) {
        _cleanup_free_ char *text = NULL;

        snprintf(buf, size, "?");
        if (proc_read(proc, pid, "comm", &text) < 0)
                return;
        text[strcspn(text, "\n")] = '\0';
        comm_escape(text, buf, size);
}

int process_kill(pid_t pid) {
        _cleanup_close_ int fd = pidfd_open(pid);

        if (fd < 0)
                return -errno;
        if (pidfd_send_signal(fd, SIGKILL) < 0)
                return -errno;
        return 0;
}

typedef struct WriteApart {
        const char *path;
        const char *text;
} WriteApart;

/*
 * The child of process_write_apart(), on a stack of its own in the
 * parent's memory while the parent waits (CLONE_VFORK): raw system calls
 * only, so that nothing it runs keeps state of the parent's (the
 * sanitizers' neither).  Its exit status is the errno, 0 when written.
 */
__attribute__((no_sanitize("address", "undefined")))
static int write_apart_child(void *userdata) {
        const WriteApart *w = userdata;
        size_t len = 0;
        long fd, k;

        while (w->text[len])
                len++;
        (void) syscall(SYS_close_range, 3U, ~0U, 0U);
        fd = syscall(SYS_openat, AT_FDCWD, w->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                syscall(SYS_exit_group, errno & 0xff);
        k = syscall(SYS_write, fd, w->text, len);
        if (k < 0)
                syscall(SYS_exit_group, errno & 0xff);
        syscall(SYS_exit_group, (size_t) k == len ? 0 : EIO);
        return 0;
}

#define WRITE_APART_STACK (64 * 1024)

int process_write_apart(const char *path, const char *text) {
        WriteApart w = { .path = path, .text = text };
        _cleanup_free_ void *stack = NULL;
        int status = 0;
        pid_t pid;

        stack = malloc(WRITE_APART_STACK);
        if (!stack)
                return -ENOMEM;
        pid = clone(write_apart_child, (char *) stack + WRITE_APART_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &w);
        if (pid < 0)
                return -errno;
        while (waitpid(pid, &status, __WALL) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status))
                return -EIO;
        return -WEXITSTATUS(status);
}

