/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lease ledger (/run/passthru/leases): which process holds which IOMMU
 * group for which VM.  It outlives a daemon restart, not a reboot.
 *
 *   [Lease 12]                          the IOMMU group
 *   Devices=0000:04:01.0 0000:04:02.0
 *   Vm=vm-a
 *   Pid=1234
 *   StartTime=123456                    /proc/PID/stat field 22
 *   Uid=1000
 *   NodeOwner=1000                      optional
 *   Returning=released                  optional: the lease ended (a
 *                                       LeaseReleased reason) while its
 *                                       holder lived, and the group is on
 *                                       its way back; "revoked" from the
 *                                       start of root's revoke, before its
 *                                       grace period
 *
 * Devices= may be repeated (each adds to the list); any other key given
 * twice in one section is refused, and so are a group or a device listed
 * in two sections.  Every key but NodeOwner= and Returning= is required.
 */
#pragma once

#include "process.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LEDGER_FILE_NAME "leases"
#define LEDGER_NO_UID ((uid_t) -1)

typedef struct LedgerEntry {
        int group;                      /* IOMMU group number, 0..INT_MAX */
        char **devices;                 /* NULL-terminated, at least one */
        char *vm;
        pid_t pid;
        uint64_t start_time;            /* of pid, in clock ticks since boot */
        uid_t uid;
        uid_t node_owner;               /* LEDGER_NO_UID when none */
        const char *returning;          /* a PT_LEASE_REASON_*, or NULL: not on its way back */
} LedgerEntry;

typedef struct Ledger {
        LedgerEntry *entries;
        size_t n;
} Ledger;

/*
 * Read DIR/leases into *ret (which need not be initialized); a missing file
 * is an empty ledger.  On failure *ret is untouched, and *ret_error (if
 * given) says why, "PATH:LINE: reason" (NULL on -ENOMEM); free() it.
 */
int ledger_load(const char *dir, Ledger *ret, char **ret_error);
/* The same into the open directory @dirfd; without @durable no fsync() (write_file_atomic_at()). */
int ledger_save_at(int dirfd, const Ledger *l, bool durable);
/* What the two write, in a new string (free() it); -EINVAL if an entry is invalid. */
int ledger_format(const Ledger *l, char **ret);
/* ledger_format()'s @text into the open directory @dirfd, as ledger_save_at() writes it. */
int ledger_write_at(int dirfd, const char *text, bool durable);
/* Write DIR/leases atomically (mode 0600), creating DIR (0700); -EINVAL if an entry is invalid. */
int ledger_save(const char *dir, const Ledger *l);
void ledger_done(Ledger *l);

/*
 * Append a deep copy of e.  -EEXIST if its group is there already, -EBUSY
 * if one of its devices is in another lease, -EINVAL if e is invalid
 * (group < 0, no devices, a bad address or VM name, pid <= 0).  Adding
 * moves the array: earlier LedgerEntry pointers are no longer valid.
 */
int ledger_add(Ledger *l, const LedgerEntry *e);
/* Drop the group's lease; whether there was one.  Keeps the order of the others. */
bool ledger_remove(Ledger *l, int group);
LedgerEntry *ledger_find_group(Ledger *l, int group);
LedgerEntry *ledger_find_device(Ledger *l, const char *address);
/* The PT_LEASE_REASON_* named @name, or NULL. */
const char *ledger_reason_from_string(const char *name);

