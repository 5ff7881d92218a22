/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Processes, as the daemon finds them: pidfds, and what /proc says of who
 * descends from whom, who has a file open and which cgroup a process is in.
 * Library code: no logging.  @proc is the procfs root ("/proc").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int pidfd_open(pid_t pid);
int pidfd_send_signal(int pidfd, int sig);
/* Is the process of @pidfd still running: not gone, and not a zombie either? */
bool pidfd_running(int pidfd);

typedef struct PidSet {
        pid_t *pids;
        size_t n;
} PidSet;

void pid_set_done(PidSet *s);
bool pid_set_contains(const PidSet *s, pid_t pid);
int pid_set_add(PidSet *s, pid_t pid);

/* The start time of @pid (clock ticks since boot, /proc/PID/stat's field 22): with the pid, a process's identity. */
int proc_start_time(pid_t pid, uint64_t *ret);

/*
 * Pin @pid as the process that made a connection no later than
 * @not_after (CLOCK_BOOTTIME, usec): a pidfd, taken before its start time
 * is read and checked while it still lives, so that both are of one
 * process.  A process cannot be younger than a connection it made: one
 * that started after @not_after holds a recycled pid.  Returns the pidfd
 * (and, when @ret_start_time is not NULL, the start time read), -ESRCH
 * when the process is gone, -ESTALE when it is too young.
 */
int process_pin(pid_t pid, uint64_t not_after, uint64_t *ret_start_time);
/* The start time of @pid, whose pidfd @pidfd is, read while it lives; -ESRCH once it is gone. */
int pidfd_start_time(int pidfd, pid_t pid, uint64_t *ret);
/*
 * Is @pid exiting now, its exit not done?  Its files have left /proc/PID/fd
 * before the kernel has closed them (exit_files() comes before the work
 * that releases them); once its pidfd is readable they are closed.  @pid is
 * read in /proc of this pid namespace, whatever @proc.
 */
bool proc_exiting(const char *proc, pid_t pid);
/* CLOCK_BOOTTIME in usec: the clock of process_pin()'s @not_after. */
uint64_t boottime_usec(void);

/*
 * Add every living descendant of @pid (not @pid itself) to @s: down the
 * tree from @pid through each thread's children file (CONFIG_PROC_CHILDREN,
 * a few reads for a VMM), else by the parent of every process in @proc.
 */
int proc_add_descendants(const char *proc, pid_t pid, PidSet *s);
/* The same by the parent of every process in @proc, whatever the kernel offers (its tests compare both). */
int proc_add_descendants_by_parent(const char *proc, pid_t pid, PidSet *s);
/*
 * Add every process with an fd of @target to @s: an fd whose link reads
 * exactly @target, or, when @target is a path, an fd of the same file (of
 * the same device, for a device node: opened in another mount namespace
 * its link reads otherwise).
 */
int proc_add_fd_holders(const char *proc, const char *target, PidSet *s);
/* Has @pid an fd of @target, as proc_add_fd_holders() counts them? */
bool proc_has_fd(const char *proc, pid_t pid, const char *target);
/* @pid's real and saved uids, from /proc/PID/status's "Uid:" line. */
int proc_uids(const char *proc, pid_t pid, uid_t *ret_real, uid_t *ret_saved);
/*
 * Whether @pid lives in a user namespace that @uid made (or in one below
 * such a namespace), short of ours: there @uid holds every capability, as
 * a rootless container's processes are their user's to signal whatever
 * uid they run as.  1, 0, or -errno.
 */
int proc_userns_owned_by(const char *proc, pid_t pid, uid_t uid);
/* The cgroup v2 path of @pid ("/user.slice/..."), from /proc/PID/cgroup. */
int proc_cgroup(const char *proc, pid_t pid, char **ret);
/*
 * The command name (/proc/PID/comm), "?" when unknown; never fails.  Any
 * process names itself (prctl(PR_SET_NAME)) with any bytes: what is not
 * printable ASCII comes out as \xNN (comm_escape()), so that it can go into
 * a D-Bus string (UTF-8 only) and onto root's terminal.  PROC_COMM_MAX
 * holds the longest.
 */
#define PROC_COMM_MAX (15 * 4 + 1)
void proc_comm(const char *proc, pid_t pid, char *buf, size_t size);
/* @comm into @buf (@size >= 1): printable ASCII as it is, any other byte and a backslash as \xNN, cut whole. */
void comm_escape(const char *comm, char *buf, size_t size);
/* SIGKILL @pid through a pidfd (no recycled pid is hit); 0, or -ESRCH when gone. */
int process_kill(pid_t pid);

/*
 * Write @text to the file @path (one write(), as sysfs wants it) from a
 * child process of its own that shares the daemon's memory but not its
 * fds (clone(CLONE_VM | CLONE_VFORK), the child closing every fd before it
 * opens @path), and wait for it.  For writes the kernel may hold
 * uninterruptibly for as long as some other process likes (vfio-pci's
 * unbind, once the waiting thread has a signal): a thread of the daemon
 * stuck so would keep a dying daemon, its bus name and its fds alive, and
 * no successor could start; the child holds nothing but itself.  0, or the
 * negative errno of the open() or write().
 */
int process_write_apart(const char *path, const char *text);

