/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may call what, in one table: properties and introspection are for
 * anyone, Acquire and Release for root and the configured group, the rest
 * for root.  Credentials come from the bus (dbus-daemon), never from /proc.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;

typedef struct Caller {
        uid_t euid;
        pid_t pid;
} Caller;

/* 0 and *ret filled when the sender of @msg may call its method; else AccessDenied. */
int bouncer_check(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error);

/*
 * The caller of Acquire pinned: a pidfd of the process the bus names for the
 * calling connection, proved to be the process that made that connection.
 * The bus records the pid once, when the connection authenticates; if that
 * process died and its pid went to a new process while the connection lived
 * on (its socket passed to another process), the pid now names an impostor.
 * A process cannot be younger than a connection it made: the daemon learns
 * when each connection appeared (NameOwnerChanged, see bouncer_watch_peers())
 * and refuses a process that started after it.  A connection older than the
 * daemon's watch is bounded by the watch's own start.  Returns the pidfd, or
 * a negative errno with @error set (AccessDenied).
 */
int bouncer_pin(Manager *m, sd_bus_message *msg, pid_t pid, sd_bus_error *error);

/* Follow connections appearing and leaving on @bus (synchronous AddMatch). */
int bouncer_watch_peers(Manager *m, sd_bus *bus);

/* The connections seen: unique name and when it appeared (CLOCK_BOOTTIME, usec). */
typedef struct BusPeer {
        char *name;
        uint64_t appeared;
} BusPeer;

typedef struct BusPeers {
        BusPeer *peers;
        size_t n;
        uint64_t watch_started;         /* connections before this are unknown */
        sd_bus_slot *slot;
} BusPeers;

void bus_peers_done(BusPeers *p);
/* Record @name's appearance at @when, or forget it (@when == 0). */
int bus_peers_note(BusPeers *p, const char *name, uint64_t when);
/* When @name appeared; for one not seen, the start of the watch. */
uint64_t bus_peers_appeared(const BusPeers *p, const char *name);
