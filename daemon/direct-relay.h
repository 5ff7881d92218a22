/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The relay of a direct connection (direct.c): passthrud reads what the
 * client sends itself, and gives sd-bus only messages it has seen the size
 * of, over a socket pair.  sd-bus reads the pair's other end and writes to
 * the connection's socket itself (sd_bus_set_fd(bus, pair, socket)): its
 * answers, and the fd an Acquire's answer carries, go straight to the client.
 *
 * sd-bus grows its read buffer to the size a message's header declares (up
 * to 128 MiB) and keeps what came until the message is whole: a client that
 * declared a huge call and sent most of it, then waited, pinned that much of
 * passthrud per connection.  The relay refuses a connection whose next
 * message declares more than RELAY_MESSAGE_MAX, before sd-bus sees its
 * header; it refuses one that sends fds (where the kernel passes them: no
 * method takes one).  What passthrud holds of a connection's input is then
 * at most RELAY_BUFFER_SIZE here, a message in sd-bus, and the pair's
 * socket buffer.
 *
 * The stream is parsed as sd-bus's server parses it: the byte before the
 * first line, then SASL lines (each ends at "\r\n") up to the first one
 * that is "BEGIN", then messages.  The relay gives sd-bus nothing after
 * that BEGIN until sd-bus is past it too (it is running): sd-bus answers a
 * BEGIN before a successful AUTH with ERROR and stays in the SASL phase, and
 * a relay that took the bytes after it for messages would count a stream
 * that sd-bus reads differently.  Such a connection waits, then, until
 * sd-bus's authentication timeout closes it.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/*
 * The most bytes one incoming message may have: header, fields and body.
 * No method of org.passthru1 takes more than a few strings (a device's
 * address, a VM's name, a driver's), far from it; the bound is what sd-bus
 * may allocate for one connection's incoming message (its own is 128 MiB).
 */
#define RELAY_MESSAGE_MAX (1024 * 1024)
/* What the relay reads of a connection at once, and holds while sd-bus has not taken it. */
#define RELAY_BUFFER_SIZE (64 * 1024)

typedef struct Relay Relay;

/*
 * The relay stopped for good: @why says why it refused the connection (for
 * the log), NULL when the client is gone or its socket failed.  Called once;
 * it must not free the relay (the caller frees it later, with its bus).
 */
typedef void (*relay_stopped_t)(void *userdata, const char *why);

/*
 * Relay what the client sends on @client_fd to @pair_fd, whose other end is
 * @bus's input; both fds are taken, also on failure.  @bus must outlive the
 * relay.
 */
int relay_new(sd_event *e, int client_fd, int pair_fd, sd_bus *bus, relay_stopped_t stopped, void *userdata,
              Relay **ret);
Relay *relay_free(Relay *r);

/* After sd-bus ran: the relay goes on past the authentication's BEGIN once sd-bus is past it. */
void relay_poke(Relay *r);
