/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who holds a lease's IOMMU group, and their kill.  The loop copies what it
 * knows of the leases into a Holders (the holder's pidfd, the families seen
 * so far, every other lease's group and processes); the walks of /proc run
 * on that copy, in a worker's thread: they take 20-100 ms under TCG with a
 * few dozen processes, longer on a real host, and the bus would wait.
 * Library code: no Manager, no Lease; logging only in holders_kill() and
 * holders_wait_openers().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "process.h"

/* A VFIO device fd's link; it does not say its device on this kernel. */
#define HOLDERS_VFIO_DEVICE_FD "anon_inode:[vfio-device]"

typedef struct Holders {
        char *proc;                     /* procfs root */
        char *node;                     /* the group's node, /dev/vfio/N */
        int group;
        char *vm;                       /* for the journal */
        char *cgroup;                   /* the holder's own cgroup (not the root), or NULL */
        const char *device_fd;          /* HOLDERS_VFIO_DEVICE_FD */
        pid_t self;                     /* never a victim: the daemon */
        uid_t uid;                      /* the holder's: not root, it has killed for it only what it could kill */
        bool killed;                    /* the lease was killed: whoever was found is dying (atomic: the loop sets it) */
        pid_t holder;                   /* 0: none, or dead when the copy was made */
        int holder_pidfd;               /* its pidfd (a copy); only through it is the holder known alive */
        PidSet family;                  /* the holder's descendants as the loop saw them */
        uint64_t family_seen;           /* when (CLOCK_BOOTTIME, usec): one started later is a recycled pid */
        PidSet others;                  /* every other lease's holder and family */
        PidSet other_holders;           /* whose descendants are others' too */
        char **other_nodes;             /* every other lease's /dev/vfio/N */
        size_t n_other_nodes;
} Holders;

Holders *holders_new(const char *proc, const char *node, int group, const char *vm, const char *cgroup);
Holders *holders_free(Holders *h);
static inline void holders_freep(Holders **h) {
        holders_free(*h);
}
/* The holder, through a copy of @pidfd, when it is alive now; and its descendants seen no later than @family_seen. */
int holders_set_holder(Holders *h, pid_t pid, int pidfd, const PidSet *family, uint64_t family_seen);
/* Another lease: its group's node, its holder (0: an unfinished grant's) and family. */
int holders_add_other(Holders *h, const char *node, pid_t holder, const PidSet *family);

/*
 * Walks of /proc, safe in any thread.
 *
 * holders_victims(): every process besides the holder that holds the group,
 * as far as one can tell: the holder's descendants (walked only while its
 * pidfd says it lives: a dead holder's pid may be someone else's by now),
 * the family seen before, whoever has the node open, and, when the holder
 * lived in a cgroup of its own, that cgroup's processes with a VFIO device
 * fd that no other lease accounts for.  Never self, never pid 1.  Of a
 * holder that is not root (@uid), those outside its family only when it
 * could signal them itself (kill(2)'s rules: their real or saved uid is
 * its uid, or they live in a user namespace it made): the
 * others go to @ret_spared (may be NULL), as a holder could hand the group
 * to any process that takes fds (a bus daemon's queue, say) to have it
 * killed by root's revocation.
 *
 * holders_suspects(): who keeps the group from coming back: the node's
 * holders, and VFIO device fds that no other lease accounts for; pid 1
 * included, never self.
 *
 * Each tries every walk: on an error (the first is returned) the set holds
 * what the others found.
 */
int holders_victims(Holders *h, PidSet *ret, PidSet *ret_spared);
int holders_suspects(Holders *h, PidSet *ret);
/*
 * holders_openers(): who may have one of the group's devices open, so that
 * unbinding vfio-pci would wait for them: of the holder and the processes
 * holders_victims() finds, those with a VFIO device fd that hold the
 * group's node too, or belong to no other lease, or (killed) any of them;
 * and when nobody has the node open, any process with a VFIO device fd
 * that no other lease accounts for.  @ret_exiting: those of them in the
 * middle of their exit, whose fds have left /proc before they are closed.
 * @ret_node_held: whether anybody has the node open.
 */
int holders_openers(Holders *h, PidSet *ret, PidSet *ret_exiting, bool *ret_node_held);
/*
 * Returns once nobody may have one of the group's devices open, as far as
 * one can tell: when the node opens (on Linux 6.1 a group opens once at a
 * time, and each device fd holds that open: no walk then); when
 * holders_openers() finds no opener and no exit in progress, and somebody
 * has the node open (a group fd alone does not keep vfio-pci's unbind
 * waiting); or when for @unseen_usec there has been no opener, only exits
 * in progress or a group held by no file any process shows (one in flight
 * in a socket, KVM's reference).  Looks again as soon as an opener exits,
 * and every @recheck_usec otherwise.  Returns the node's fd when it opened
 * it (the caller's to close: while it is open nobody else can open the
 * group, so no device fd can be made, and vfio-pci's unbind cannot wait),
 * -ENOENT when there is no node, -EBUSY otherwise.
 */
#define HOLDERS_UNSEEN_POLL_MS 20
int holders_wait_openers(Holders *h, uint64_t recheck_usec, uint64_t unseen_usec);
/* Is @pid another lease's: its holder, a descendant, or a holder of its group? (after a walk above) */
bool holders_belong_elsewhere(const Holders *h, pid_t pid);

/* "pid P (comm), pid Q (comm)": each of @pids as /proc names it now, for the journal; NULL without memory. */
char *holders_pids_text(const Holders *h, const PidSet *pids);

/* SIGKILL the holder through its pidfd and every victim through a pidfd of its own, with a line each in the journal. */
void holders_kill(Holders *h);
