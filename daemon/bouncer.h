/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may call what, in one table: properties and introspection are for
 * anyone, Acquire and Release for root and the configured group, the rest
 * for root; the same on the system bus and on passthrud's own socket.
 * Credentials come from the transport (dbus-daemon, or the socket), never
 * from /proc.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;

/*
 * Who is calling, as the transport vouches for it: the bus (dbus-daemon's
 * record of the connection, cached per unique name) or passthrud's own
 * socket (SO_PEERCRED, SO_PEERGROUPS and the peer's pidfd, taken when the
 * connection was accepted; direct.h).  The pointers are the cache's or the
 * connection's and live as long as the call.
 */
typedef struct Caller {
        uid_t euid;
        pid_t pid;
        bool gid_known;                 /* gid vouched for (not read from /proc) */
        gid_t gid;
        const gid_t *gids;              /* supplementary groups vouched for ... */
        int n_gids;                     /* ... their number, or -1: not known */
        int pidfd;                      /* direct: the caller pinned at connect time; else -EBADF */
        uint64_t start_time;            /* the pinned caller's start time; 0: not read (bouncer_pin() reads it) */
        uint64_t connected;             /* when its connection appeared (CLOCK_BOOTTIME, usec) */
        bool direct;
} Caller;

/*
 * 0 and *ret filled when the sender of @msg may call its method; else
 * AccessDenied.  One set of rules for both transports: bouncer_identify()
 * says who, bouncer_authorize() decides.
 */
int bouncer_check(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error);
int bouncer_identify(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error);
int bouncer_authorize(Manager *m, const char *member, const Caller *c, sd_bus_error *error);

/*
 * The caller of Acquire pinned: a pidfd of the process that made the
 * calling connection.  On the direct socket that is the pidfd taken at
 * accept, still alive.  On the bus, the bus records the pid once, when the
 * connection authenticates; if that process died and its pid went to a new
 * process while the connection lived on (its socket passed to another
 * process), the pid now names an impostor.  A process cannot be younger
 * than a connection it made: the daemon learns when each connection
 * appeared (NameOwnerChanged, see bouncer_watch_peers()) and refuses a
 * process that started after it (process_pin()).  A connection older than
 * the daemon's watch is bounded by the watch's own start.  Returns the
 * pidfd, or a negative errno with @error set (AccessDenied); the start time
 * read with it goes to @caller (the lease records it).
 */
int bouncer_pin(Manager *m, sd_bus_message *msg, Caller *caller, sd_bus_error *error);

/*
 * Is the caller of @msg the process @pid that started at @start_time (a
 * lease's holder)?  The pid alone proves nothing: a connection outlives a
 * process that passes it on, and the pid can go to another process.  The
 * caller is pinned as for Acquire (bouncer_pin()) and its start time
 * compared; a caller that cannot be pinned is not the holder.
 */
bool bouncer_is_process(Manager *m, sd_bus_message *msg, Caller *caller, pid_t pid, uint64_t start_time);

/* Follow connections appearing and leaving on @bus (synchronous AddMatch). */
int bouncer_watch_peers(Manager *m, sd_bus *bus);

/*
 * The connections seen: unique name and when it appeared (CLOCK_BOOTTIME,
 * usec), and once it called, what the bus vouched for about it: a
 * connection's credentials cannot change while it lives, and a unique name
 * is never reused, so they are asked once and forgotten when it leaves.
 */
typedef struct BusPeer {
        char *name;
        uint64_t appeared;
        bool creds_known;
        uid_t euid;
        pid_t pid;
        bool gid_known;
        gid_t gid;
        gid_t *gids;
        int n_gids;                     /* -1: the bus did not say */
} BusPeer;

typedef struct BusPeers {
        BusPeer *peers;
        size_t n;
        uint64_t watch_started;         /* connections before this are unknown */
        BusPeer scratch;                /* a caller on a bus without the watch, for one call */
        unsigned prefetching;           /* GetConnectionCredentials asked and not answered yet */
        sd_bus_slot *slot;
} BusPeers;

void bus_peers_done(BusPeers *p);
/* Record @name's appearance at @when, or forget it (@when == 0). */
int bus_peers_note(BusPeers *p, const char *name, uint64_t when);
/* The entry of @name, added (appeared: the start of the watch) when not seen; NULL on ENOMEM. */
BusPeer *bus_peers_get(BusPeers *p, const char *name);
/*
 * Fill @name's credentials from dbus-daemon's answer to
 * GetConnectionCredentials (@reply), asked when it appeared: UnixUserID,
 * ProcessID, UnixGroupIDs.  0 when there is nothing to fill (the name left,
 * or a call asked already), 1 when filled, a negative errno when the answer
 * does not say uid and pid (the first call then asks for itself).
 */
int bus_peers_fill(BusPeers *p, const char *name, sd_bus_message *reply);
#define BUS_PREFETCH_MAX 32

/* When @name appeared; for one not seen, the start of the watch. */
uint64_t bus_peers_appeared(const BusPeers *p, const char *name);
