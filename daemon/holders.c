/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "holders.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

Holders *holders_new(const char *proc, const char *node, int group, const char *vm, const char *cgroup) {
        Holders *h = calloc(1, sizeof(*h));

        if (!h)
                return NULL;
        h->holder_pidfd = -EBADF;
        h->group = group;
        h->self = getpid();
        h->device_fd = HOLDERS_VFIO_DEVICE_FD;
        h->proc = strdup(proc);
        h->node = strdup(node);
        h->vm = strdup(vm ?: "");
        if (!h->proc || !h->node || !h->vm)
                return holders_free(h);
        /* The root cgroup says nothing of whose a process is. */
        if (cgroup && strcmp(cgroup, "/") != 0 && !(h->cgroup = strdup(cgroup)))
                return holders_free(h);
        return h;
}

Holders *holders_free(Holders *h) {
        if (!h)
                return NULL;
        safe_close(h->holder_pidfd);
        free(h->proc);
        free(h->node);
        free(h->vm);
        free(h->cgroup);
        pid_set_done(&h->family);
        pid_set_done(&h->others);
        pid_set_done(&h->other_holders);
        for (size_t i = 0; i < h->n_other_nodes; i++)
                free(h->other_nodes[i]);
        free(h->other_nodes);
        free(h);
        return NULL;
}

static int pid_set_merge(PidSet *s, const PidSet *from) {
        int r;

        for (size_t i = 0; from && i < from->n; i++)
                if ((r = pid_set_add(s, from->pids[i])) < 0)
                        return r;
        return 0;
}

int holders_set_holder(Holders *h, pid_t pid, int pidfd, const PidSet *family, uint64_t family_seen) {
        if (pid > 0 && pidfd >= 0 && pidfd_send_signal(pidfd, 0) >= 0) {
                h->holder_pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
                if (h->holder_pidfd < 0)
                        return -errno;
                h->holder = pid;
        }
        h->family_seen = family_seen;
        return pid_set_merge(&h->family, family);
}

int holders_add_other(Holders *h, const char *node, pid_t holder, const PidSet *family) {
        char **nodes = reallocarray(h->other_nodes, h->n_other_nodes + 1, sizeof(char *));
        int r;

        if (!nodes)
                return -ENOMEM;
        h->other_nodes = nodes;
        if (!(nodes[h->n_other_nodes] = strdup(node)))
                return -ENOMEM;
        h->n_other_nodes++;
        if (holder <= 0)
                return 0;       /* an unfinished grant's: no holder */
        if ((r = pid_set_add(&h->others, holder)) < 0 || (r = pid_set_add(&h->other_holders, holder)) < 0)
                return r;
        return pid_set_merge(&h->others, family);
}

/* Is the holder still the process the pidfd pinned?  Only then does its pid name it. */
static bool holder_alive(const Holders *h) {
        return h->holder_pidfd >= 0 && pidfd_send_signal(h->holder_pidfd, 0) >= 0;
}

/* The others' descendants now, once per walk. */
static void walk_others(Holders *h) {
        for (size_t i = 0; i < h->other_holders.n; i++)
                (void) proc_add_descendants(h->proc, h->other_holders.pids[i], &h->others);
}

bool holders_belong_elsewhere(const Holders *h, pid_t pid) {
        if (pid_set_contains(&h->others, pid))
                return true;
        for (size_t i = 0; i < h->n_other_nodes; i++)
                if (proc_has_fd(h->proc, pid, h->other_nodes[i]))
                        return true;
        return false;
}

/* VFIO device fds that no other lease accounts for, of the holder's cgroup only when @cgroup. */
static int add_unaccounted_device_fds(Holders *h, const char *cgroup, PidSet *ret) {
        _cleanup_(pid_set_done) PidSet devfd = {};
        int r;

        r = proc_add_fd_holders(h->proc, h->device_fd, &devfd);
        if (r < 0)
                return r;
        for (size_t i = 0; i < devfd.n; i++) {
                pid_t p = devfd.pids[i];

                if (cgroup) {
                        _cleanup_free_ char *cg = NULL;

                        if (proc_cgroup(h->proc, p, &cg) < 0 || strcmp(cg, cgroup) != 0)
                                continue;
                }
                if (!holders_belong_elsewhere(h, p) && (r = pid_set_add(ret, p)) < 0)
                        return r;
        }
        return 0;
}

/* Never the daemon itself; with @init, never pid 1 either. */
static void drop_untouchable(const Holders *h, PidSet *s, bool init) {
        size_t k = 0;

        for (size_t i = 0; i < s->n; i++)
                if (s->pids[i] != h->self && (!init || s->pids[i] != 1))
                        s->pids[k++] = s->pids[i];
        s->n = k;
}

/* Is @pid still the family member seen?  A pidfd of it then, else a negative errno. */
static int pin_family(const Holders *h, pid_t pid) {
        return process_pin(pid, h->family_seen, NULL);
}

/*
 * Could the holder signal @pid itself?  kill(2)'s rules: the target's real
 * or saved uid is the sender's, or the sender holds CAP_KILL where the
 * target lives (a user namespace it made: a rootless container's).  A
 * root holder could signal any.
 */
static bool holder_may_signal(const Holders *h, pid_t pid) {
        uid_t real, saved;

        if (h->uid == 0)
                return true;
        if (proc_uids(h->proc, pid, &real, &saved) >= 0 && (real == h->uid || saved == h->uid))
                return true;
        return proc_userns_owned_by(h->proc, pid, h->uid) > 0;
}

/*
 * @found (whoever holds the group, not of the family) into @ret: with
 * @spared, only those the holder could signal itself; the rest into @spared.
 */
static int add_attributable(const Holders *h, const PidSet *found, PidSet *ret, PidSet *spared) {
        int r;

        for (size_t i = 0; found && i < found->n; i++) {
                pid_t p = found->pids[i];

                if (pid_set_contains(ret, p))
                        continue;
                r = pid_set_add(!spared || holder_may_signal(h, p) ? ret : spared, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * Every walk is tried; the first error is returned, with what the others
 * found.  @node_holders: who has the node open, when the caller has just
 * walked /proc for them (NULL: walked here).  @spared: see holders_victims()
 * (NULL: every holder of the group, to wait for).
 */
static int victims(Holders *h, const PidSet *node_holders, PidSet *ret, PidSet *spared) {
        _cleanup_(pid_set_done) PidSet node = {}, devfd = {};
        int r = 0, k;

        walk_others(h);
        /* The family seen before, each still the process seen (not a pid reused since). */
        for (size_t i = 0; i < h->family.n; i++) {
                _cleanup_close_ int fd = pin_family(h, h->family.pids[i]);

                if (fd >= 0 && (k = pid_set_add(ret, h->family.pids[i])) < 0 && r == 0)
                        r = k;
        }
        if (holder_alive(h)) {
                _cleanup_(pid_set_done) PidSet now = {};

                (void) proc_add_descendants(h->proc, h->holder, &now);
                if ((k = pid_set_merge(ret, &now)) < 0 && r == 0)
                        r = k;
        }
        k = node_holders ? pid_set_merge(&node, node_holders) : proc_add_fd_holders(h->proc, h->node, &node);
        if (k < 0 && r == 0)
                r = k;
        if (h->cgroup && (k = add_unaccounted_device_fds(h, h->cgroup, &devfd)) < 0 && r == 0)
                r = k;
        drop_untouchable(h, &node, true);
        drop_untouchable(h, &devfd, true);
        if ((k = add_attributable(h, &node, ret, spared)) < 0 && r == 0)
                r = k;
        if ((k = add_attributable(h, &devfd, ret, spared)) < 0 && r == 0)
                r = k;
        drop_untouchable(h, ret, true);
        return r;
}

int holders_victims(Holders *h, PidSet *ret, PidSet *ret_spared) {
        _cleanup_(pid_set_done) PidSet spared = {};

        return victims(h, NULL, ret, ret_spared ?: &spared);
}

int holders_suspects(Holders *h, PidSet *ret) {
        int r = 0, k;

        walk_others(h);
        if ((k = proc_add_fd_holders(h->proc, h->node, ret)) < 0)
                r = k;
        if ((k = add_unaccounted_device_fds(h, NULL, ret)) < 0 && r == 0)
                r = k;
        /* pid 1 may hold a group (an fd in systemd's fd store): a suspect, never a victim. */
        drop_untouchable(h, ret, false);
        return r;
}

int holders_openers(Holders *h, PidSet *ret, PidSet *ret_exiting, bool *ret_node_held) {
        _cleanup_(pid_set_done) PidSet found = {}, node = {};
        int r, k;

        r = proc_add_fd_holders(h->proc, h->node, &node);
        drop_untouchable(h, &node, false);
        if ((k = victims(h, &node, &found, NULL)) < 0 && r == 0)
                r = k;
        if (holder_alive(h) && (k = pid_set_add(&found, h->holder)) < 0 && r == 0)
                r = k;
        /*
         * Nobody has the node open, yet the group is held: by a device fd,
         * maybe one handed to a stranger.  No other lease's, so maybe this one's.
         */
        if (node.n == 0 && (k = add_unaccounted_device_fds(h, NULL, &found)) < 0 && r == 0)
                r = k;
        for (size_t i = 0; i < found.n; i++) {
                pid_t p = found.pids[i];

                if (p == h->self)
                        continue;
                /*
                 * The fds first, then the exit: a process killed between the
                 * two is seen exiting (both change one way only).  An exit in
                 * progress has its fds gone from /proc, not yet closed.
                 */
                if (!proc_has_fd(h->proc, p, h->device_fd)) {
                        if (ret_exiting && proc_exiting(h->proc, p) && (k = pid_set_add(ret_exiting, p)) < 0 &&
                            r == 0)
                                r = k;
                        continue;
                }
                /* Another lease's process may hold that lease's devices only: unless it has this group too. */
                if (!__atomic_load_n(&h->killed, __ATOMIC_RELAXED) && !pid_set_contains(&node, p) &&
                    holders_belong_elsewhere(h, p))
                        continue;
                if ((k = pid_set_add(ret, p)) < 0 && r == 0)
                        r = k;
        }
        if (ret_node_held)
                *ret_node_held = node.n > 0;
        return r;
}

/* Until one of @s exits, or @timeout_ms passed.  One already gone: at once. */
static void wait_for_an_exit(const PidSet *s, int timeout_ms) {
        struct pollfd *p = calloc(s->n ?: 1, sizeof(*p));
        size_t n = 0;

        for (size_t i = 0; p && i < s->n; i++) {
                int fd = pidfd_open(s->pids[i]);

                if (fd < 0 && errno == ESRCH)
                        timeout_ms = 0;         /* gone: look again now */
                else if (fd >= 0)
                        p[n++] = (struct pollfd) { .fd = fd, .events = POLLIN };
        }
        /* No pidfd at all (no memory, no fd left): the timeout alone. */
        (void) poll(p, p ? n : 0, timeout_ms);
        for (size_t i = 0; p && i < n; i++)
                safe_close(p[i].fd);
        free(p);
}

char *holders_pids_text(const Holders *h, const PidSet *pids) {
        char comm[PROC_COMM_MAX], *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < pids->n; i++) {
                proc_comm(h->proc, pids->pids[i], comm, sizeof(comm));
                fprintf(f, "%spid %u (%s)", i ? ", " : "", (unsigned) pids->pids[i], comm);
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* Once per wait: whom it waits for. */
static void log_openers(const Holders *h, const PidSet *openers) {
        _cleanup_free_ char *text = holders_pids_text(h, openers);

        if (text)
                log_info("IOMMU group %d goes back once its devices are closed: VFIO device fds open in %s",
                         h->group, text);
}

int holders_wait_openers(Holders *h, uint64_t recheck_usec, uint64_t unseen_usec) {
        int timeout_ms = recheck_usec / 1000 > INT_MAX ? INT_MAX : (int) (recheck_usec / 1000);
        _cleanup_(pid_set_done) PidSet before = {};
        uint64_t unseen_since = 0, walked = 0;
        bool told = false;

        for (;;) {
                _cleanup_(pid_set_done) PidSet openers = {}, exiting = {};
                int node = open(h->node, O_RDWR | O_CLOEXEC | O_NOCTTY);
                bool node_held = false;
                uint64_t now;

                /* Nobody has the group (no device fd either, and now none can be made), or there is no group left. */
                if (node >= 0)
                        return node;
                if (errno == ENOENT)
                        return -ENOENT;
                now = boottime_usec();
                /* Waiting for what no fd shows: only the node's open is tried again, until the next walk. */
                if (unseen_since > 0 && now - walked < recheck_usec) {
                        if (now - unseen_since >= unseen_usec)
                                return -EBUSY;
                        (void) poll(NULL, 0, HOLDERS_UNSEEN_POLL_MS);
                        continue;
                }
                walked = now;
                /* A walk that failed found what it could: what it missed is waited for by the unbind. */
                (void) holders_openers(h, &openers, &exiting, &node_held);
                /* An opener of the last walk whose exit has begun since: its fds have just left /proc. */
                for (size_t i = 0; i < before.n; i++)
                        if (!pid_set_contains(&openers, before.pids[i]) && proc_exiting(h->proc, before.pids[i]))
                                (void) pid_set_add(&exiting, before.pids[i]);
                pid_set_done(&before);
                if (openers.n > 0) {
                        unseen_since = 0;
                        if (!told)
                                log_openers(h, &openers);
                        told = true;
                        wait_for_an_exit(&openers, timeout_ms);
                        before = openers;
                        openers = (PidSet) {};
                        continue;
                }
                if (exiting.n == 0 && node_held)
                        return -EBUSY;  /* a group fd alone: the unbind does not wait for it */
                /*
                 * Exits closing their files, or a group file in no fd table
                 * (in flight, KVM's): waited for @unseen_usec at most, as an
                 * exit stuck for good (or a zombie leader whose threads live
                 * on) must not keep the group for ever.
                 */
                if (unseen_since == 0)
                        unseen_since = now;
                if (now - unseen_since >= unseen_usec)
                        return -EBUSY;
                before = exiting;
                exiting = (PidSet) {};
                (void) poll(NULL, 0, HOLDERS_UNSEEN_POLL_MS);
        }
}

static void log_kill(const Holders *h, pid_t p, const char *comm, int r) {
        if (r >= 0)
                log_notice("Killed pid %u (%s), which still held IOMMU group %d of VM '%s' after the grace period",
                           (unsigned) p, comm, h->group, h->vm);
        else if (r != -ESRCH)
                log_error_errno(r, "Cannot kill pid %u (%s), which holds IOMMU group %d: %m", (unsigned) p, comm,
                                h->group);
}

void holders_kill(Holders *h) {
        _cleanup_(pid_set_done) PidSet victims = {}, spared = {};
        bool holder_killed = false;
        char comm[PROC_COMM_MAX];
        int r;

        /* The walk first: the holder's children are no longer its own once it is dead. */
        r = holders_victims(h, &victims, &spared);
        if (r < 0)
                log_error_errno(r, "Cannot find every holder of IOMMU group %d, killing those found: %m", h->group);
        for (size_t i = 0; i < spared.n; i++) {
                proc_comm(h->proc, spared.pids[i], comm, sizeof(comm));
                log_warning("Did not kill pid %u (%s), which holds IOMMU group %d of VM '%s': not a process the "
                            "holder (uid %u) could kill itself; the group comes back once it lets go (Stuck names it)",
                            (unsigned) spared.pids[i], comm, h->group, h->vm, (unsigned) h->uid);
        }
        if (holder_alive(h)) {
                proc_comm(h->proc, h->holder, comm, sizeof(comm));
                r = pidfd_send_signal(h->holder_pidfd, SIGKILL) < 0 ? -errno : 0;
                log_kill(h, h->holder, comm, r);
                holder_killed = r >= 0;
        }
        for (size_t i = 0; i < victims.n; i++) {
                pid_t p = victims.pids[i];

                if (p == h->holder && holder_killed)
                        continue;
                proc_comm(h->proc, p, comm, sizeof(comm));
                if (pid_set_contains(&h->family, p)) {
                        /* Signalled through a pidfd pinned now, as the process seen: a pid reused since is skipped. */
                        _cleanup_close_ int fd = pin_family(h, p);

                        if (fd >= 0)
                                log_kill(h, p, comm, pidfd_send_signal(fd, SIGKILL) < 0 ? -errno : 0);
                        else if (proc_has_fd(h->proc, p, h->node))
                                log_kill(h, p, comm, process_kill(p));  /* reused, but holds the group */
                        continue;
                }
                log_kill(h, p, comm, process_kill(p));
        }
}
