/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leases: one IOMMU group, one holder process, one VM.  Acquire checks the
 * rules in a fixed order, moves the group to vfio-pci (or takes its stage,
 * stage.h) and hands out the group fd; the end of the holder (pidfd),
 * Release or a revocation bring the group back, reset: staged, or on
 * passthru.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bouncer.h"
#include "process.h"

typedef struct Device Device;
typedef struct Manager Manager;
typedef struct StuckJob StuckJob;

typedef enum LeaseState {
        LEASE_ACTIVE,
        LEASE_REVOKING,         /* LeaseRevoked sent, grace period running */
        LEASE_RELEASING,        /* on its way back, reset (worker) */
} LeaseState;

typedef struct Lease {
        Manager *manager;
        int group;
        char *device;           /* the device named in Acquire */
        char **devices;         /* every endpoint of the group, on vfio-pci */
        char *vm;
        pid_t pid;
        uint64_t start_time;
        uid_t uid;
        uid_t node_owner;       /* (uid_t) -1: none */
        int pidfd;
        sd_event_source *pidfd_source;
        sd_event_source *grace_timer;
        LeaseState state;
        const char *reason;     /* why it ends: a PT_LEASE_REASON_* (passthru-names.h) */
        int *reset_results;     /* per device, from the return job */
        char *cgroup;           /* the holder's, at the grant: where its VMM lives */
        PidSet family;          /* the holder's descendants, as seen so far */
        uint64_t family_seen;   /* when (CLOCK_BOOTTIME, usec) the family was last checked */
        bool holder_exited;     /* its pidfd said so: its children went to a reaper as it exited */
        bool killed;            /* revocation has sent SIGKILL */
        sd_event_source *stuck_timer;
        sd_event_source *return_timer;  /* the return job could not start: try again */
        char *stuck;            /* who still holds the group after the kill, or NULL */
        StuckJob *stuck_job;    /* the stuck check's walk, running in a worker */
        struct Holders *return_openers; /* the running return job's: told of a kill */
        bool memlock_raised;    /* old_memlock is the holder's, to put back */
        uint64_t memory_bytes;  /* MemoryBytes asked for (0: none) */
        bool announce_pending;  /* granted, not announced yet (lease_announce_later()) */
        struct rlimit old_memlock;
} Lease;

typedef struct AcquireOptions {
        uint64_t memory_bytes;  /* 0: leave RLIMIT_MEMLOCK */
        uid_t node_owner;       /* (uid_t) -1: none */
} AcquireOptions;

/*
 * The checks of Acquire, in docs/DESIGN.md's order ("Acquire's rules"),
 * without side effects but one: a device of the group whose udev event is
 * queued is re-read first (manager_refresh_queued()).  On refusal, returns a negative errno and fills
 * @error with the named error.
 * @memory_bytes is Acquire's MemoryBytes (0: none), checked against
 * MaxMemoryBytes= with the other limits (rule 5).
 * On success the group's endpoints (the devices that move) are in
 * *ret_endpoints when it is not NULL.
 */
int lease_check(Manager *m, Device *d, const char *vm, uint64_t memory_bytes, char ***ret_endpoints,
                sd_bus_error *error);

/*
 * RLIMIT_MEMLOCK of @l's holder raised to @bytes for the lease (a grant's
 * MemoryBytes).  One process can hold several leases: the limit it had
 * before the first of them is what comes back, when the last of them ends
 * (lease_restore_memlock()); until then it keeps what the largest live one
 * asked for.  Failures are logged and change nothing.
 */
void lease_raise_memlock(Lease *l, uint64_t bytes);
void lease_restore_memlock(Lease *l);

/*
 * Move, open, record, after lease_check() said yes: the group fd in
 * *ret_fd (the caller sends and closes it), the lease in *ret.  @endpoints
 * (from lease_check()) and @pidfd (the holder @pid pinned by bouncer_pin(),
 * which read its @start_time; 0: read it here) are taken over, also on
 * failure.  Nothing is announced yet: the caller replies first, then
 * calls lease_note_cgroup() and lease_announce_later().
 */
int lease_acquire(Manager *m, Device *d, const char *vm, char **endpoints, pid_t pid, int pidfd,
                  uint64_t start_time, uid_t uid, const AcquireOptions *opts, Lease **ret, int *ret_fd,
                  sd_bus_error *error);
/*
 * The holder's cgroup, read right after the grant's reply left (off the
 * caller's wait; nothing runs in between): a revocation ends what the
 * holder left there.  Without cgroup v2, the process tree and the node only.
 */
void lease_note_cgroup(Lease *l);
/*
 * LeaseAcquired, the devices' new state, the journal, once the bus's
 * callers waiting now are answered (a defer
 * source below their priority, as udev's events are): the next Acquire
 * does not wait for this grant's signals.  A lease that ends first is
 * announced before its end is (lease_end()).
 */
void lease_announce_later(Lease *l);

/* Start ending a lease (holder's Release, process exit, device removal) for @reason, a PT_LEASE_REASON_*. */
void lease_end(Lease *l, const char *reason);
/*
 * Root's Release: LeaseRevoked, the grace period, then SIGKILL for every
 * process found holding the group (the holder, its descendants, whoever
 * has /dev/vfio/N open, and VFIO device holders in the holder's own
 * cgroup), and the return trip.  Also for a lease already on its way back
 * (a holder that released but kept a device fd).  What still holds the
 * group after that is named in the device's Stuck property.
 */
void lease_revoke(Lease *l);

/* Re-establish the leases of the ledger after a restart. */
int lease_reconcile(Manager *m);

Lease *lease_free(Lease *l);

