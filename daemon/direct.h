/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * passthrud's own socket (PT_DIRECT_SOCKET, docs/direct.md): the objects of
 * the system bus, served as peer-to-peer D-Bus to each process that
 * connects, as systemd's PID 1 serves /run/systemd/private.  No broker sits
 * between: the caller's uid, groups and process come from the socket
 * (SO_PEERCRED, SO_PEERGROUPS, and the peer's pidfd: SO_PEERPIDFD where the
 * kernel has it, else pidfd_open() of the SO_PEERCRED pid, proved to be
 * the process that connected), read once when the connection is accepted.
 * bouncer.c applies the same rules to them as to bus callers.
 *
 * Connections are capped in total and per uid (passthru.conf's
 * MaxConnections= and MaxConnectionsPerUser=): one over the cap is closed at
 * once.  What one connection can make passthrud hold is bounded: passthrud
 * reads each connection itself and hands sd-bus only messages of at most
 * RELAY_MESSAGE_MAX bytes (direct-relay.h; one that declares more is
 * dropped at its header, before sd-bus allocates for it), and sd-bus writes
 * the answers to the socket itself.  The relay hands sd-bus a call only once
 * sd-bus has written every answer before it to the socket: a client that
 * does not read makes passthrud hold one answer or two beyond the kernel's
 * send buffer (set back to about DIRECT_SNDBUF, direct.c), however many
 * calls it writes.  Signals go to every connection: a connection whose
 * outgoing queue passes DIRECT_QUEUE_MAX messages, or has not moved for
 * DIRECT_STALL_USEC, is dropped; its leases, which belong to its process
 * and not to the connection, stay.  No method takes an fd: the socket refuses
 * them where the kernel can (SO_PASSRIGHTS), and elsewhere the relay drops
 * a connection that sends one, as sd-bus would keep every fd sent with a
 * message until the message is whole.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "direct-relay.h"

typedef struct Manager Manager;

/* Messages sd-bus may hold for one connection beyond what its socket buffer took. */
#define DIRECT_QUEUE_MAX 256
/* How long a connection's answers and signals may wait for it to read before it is dropped. */
#define DIRECT_STALL_USEC (5 * 1000000ULL)

typedef struct DirectPeer {
        sd_bus *bus;
        uid_t uid;                      /* SO_PEERCRED: at connect(), effective ids */
        gid_t gid;
        pid_t pid;
        gid_t *gids;                    /* SO_PEERGROUPS */
        int n_gids;                     /* -1: the kernel did not say */
        int pidfd;                      /* the process that connected */
        uint64_t start_time;            /* its start time (proc_start_time()), read with its pidfd */
        uint64_t accepted;              /* CLOCK_BOOTTIME usec: no later than its connect() */
        uint64_t stalled_since;         /* CLOCK_MONOTONIC usec since which its queue has not been empty, or 0 */
        bool dead;                      /* disconnected or dropped: freed by the police */
        struct Direct *owner;
        Relay *relay;                   /* reads the connection, hands sd-bus bounded messages */
} DirectPeer;

typedef struct Direct {
        int listen_fd;
        char *bound;                    /* the path passthrud bound itself (unlinked at exit), or NULL */
        sd_event_source *listen_source;
        sd_event_source *accept_pause;  /* accept() ran out of fds: listening again after it (a timer) */
        sd_event_source *police;        /* after each event: drop the dead, the overflowing and the stalled */
        sd_event_source *stall_timer;   /* when the first stalled connection's time is up (police() follows) */
        sd_id128_t server_id;
        DirectPeer **peers;
        size_t n_peers;
        uint64_t last_refusal_logged;
        unsigned refusals_unlogged;
        bool fds_passable;              /* tests: no SO_PASSRIGHTS, as before Linux 6.16 */
} Direct;

/*
 * Serve the socket: the one systemd passes (passthrud.socket), else bind
 * @path (mode 0660, group @group when it exists); NULL @path: none.  A
 * failure is logged and leaves passthrud on the bus alone.
 */
int direct_start(Manager *m, const char *path, const char *group);
void direct_done(Direct *d);

/* The connection @bus is, or NULL when it is not one of the socket's. */
const DirectPeer *direct_peer_of(const Direct *d, sd_bus *bus);
/* The bus of the @i-th live connection, or NULL past the end. */
sd_bus *direct_bus_nth(const Direct *d, size_t i);
