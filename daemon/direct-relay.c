/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The relay of a direct connection: see direct-relay.h. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "direct-relay.h"
#include "macro.h"

/* The kernel's limit of fds in one SCM_RIGHTS message (SCM_MAX_FD): all of them are taken, and closed. */
#define RELAY_FDS_MAX 253
/* A message's fixed header (the D-Bus specification): what its size is read from. */
#define RELAY_HEADER_SIZE 16

typedef enum RelayPhase {
        RELAY_NUL,              /* the byte before the first SASL line */
        RELAY_SASL,             /* SASL lines, up to the first "BEGIN" */
        RELAY_BEGUN,            /* that BEGIN went to sd-bus: nothing more until sd-bus runs */
        RELAY_MESSAGES,
} RelayPhase;

struct Relay {
        int client_fd;                  /* a dup of the connection's socket: read here */
        int pair_fd;                    /* our end of the pair: sd-bus reads the other */
        sd_event_source *in;            /* client_fd readable (or hung up) */
        sd_event_source *out;           /* pair_fd writable: on only while sd-bus has not taken what it may */
        sd_bus *bus;
        relay_stopped_t stopped;
        void *userdata;
        RelayPhase phase;
        char line[6];                   /* the first bytes of the current SASL line */
        size_t line_len;                /* its length so far, at most sizeof(line) + 1 */
        uint8_t last;                   /* its last byte */
        uint64_t left;                  /* bytes of the current message not looked at yet */
        bool eof;                       /* the client shut its side: ours of the pair follows once all went */
        bool shut;                      /* ... and it did */
        bool over;                      /* stopped: reads and writes nothing more */
        bool gated;                     /* a message waits until sd-bus has taken and answered the last */
        /* buf[start, checked): may go to sd-bus; [checked, end): read, not looked at yet (or held). */
        size_t start, checked, end;
        uint8_t buf[RELAY_BUFFER_SIZE];
};

Relay *relay_free(Relay *r) {
        if (!r)
                return NULL;
        sd_event_source_disable_unref(r->in);
        sd_event_source_disable_unref(r->out);
        safe_close(r->client_fd);
        safe_close(r->pair_fd);
        free(r);
        return NULL;
}

static void relay_stop(Relay *r, const char *why) {
        if (r->over)
                return;
        r->over = true;
        (void) sd_event_source_set_enabled(r->in, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(r->out, SD_EVENT_OFF);
        r->stopped(r->userdata, why);
}

/* Held at the BEGIN: until sd-bus is past it (see direct-relay.h); relay_check() goes on then. */
static bool relay_holding(const Relay *r) {
        return r->phase == RELAY_BEGUN && sd_bus_is_ready(r->bus) <= 0;
}

/*
 * One byte of the SASL phase; whether it ended a line that is "BEGIN".  As
 * sd-bus's server (bus_socket_auth_verify_server()): a line ends at the
 * first "\r\n" after its start, and is BEGIN when exactly that comes before.
 */
static bool relay_sasl_byte(Relay *r, uint8_t c) {
        bool begin;

        if (c == '\n' && r->line_len > 0 && r->last == '\r') {
                begin = r->line_len == 6 && memcmp(r->line, "BEGIN\r", 6) == 0;
                r->line_len = 0;
                return begin;
        }
        if (r->line_len < sizeof(r->line))
                r->line[r->line_len] = (char) c;
        if (r->line_len <= sizeof(r->line))
                r->line_len++;
        r->last = c;
        return false;
}

/*
 * The next message may go to sd-bus: sd-bus has read all that went before
 * (the pair's queue is empty) and written all its answers (its own queue is
 * empty), and none is checked and waiting to go in this turn.  One call at
 * a time, then, while the client does not read: what sd-bus holds for it is
 * an answer or two and the signals it was sent (direct.h).
 */
static bool relay_gate_open(const Relay *r) {
        uint64_t queued = 0;
        int unread = 0;

        if (r->checked > r->start)
                return false;
        if (ioctl(r->pair_fd, SIOCOUTQ, &unread) < 0 || unread > 0)
                return false;
        return sd_bus_get_n_queued_write(r->bus, &queued) >= 0 && queued == 0;
}

/*
 * A message's fixed header: endianness ('l' or 'B'), type, flags, version
 * (1), the body's length, the serial, the length of the header fields'
 * array.  The message is the header, the fields padded to 8 and the body:
 * the size sd-bus reads (bus_socket_read_message_need()), into @ret_size.
 * NULL when it may go to sd-bus, else why not (into @why).
 */
static const char *relay_header(const uint8_t *h, uint64_t *ret_size, char *why, size_t why_size) {
        uint32_t body, fields;
        uint64_t size;

        memcpy(&body, h + 4, sizeof(body));
        memcpy(&fields, h + 12, sizeof(fields));
        if (h[0] == 'l') {
                body = le32toh(body);
                fields = le32toh(fields);
        } else if (h[0] == 'B') {
                body = be32toh(body);
                fields = be32toh(fields);
        } else
                return "it sent something that is not a D-Bus message";
        if (h[3] != 1)
                return "it sent a message of a D-Bus version other than 1";
        /* In 64 bits: sd-bus's 32-bit padding of a length near 4 GiB wraps, this one is refused. */
        size = RELAY_HEADER_SIZE + (((uint64_t) fields + 7) & ~UINT64_C(7)) + body;
        if (size > RELAY_MESSAGE_MAX) {
                snprintf(why, why_size, "it sent a message of %" PRIu64 " bytes, more than any call needs (%u)",
                         size, (unsigned) RELAY_MESSAGE_MAX);
                return why;
        }
        *ret_size = size;
        return NULL;
}

/* Looks at what was read and not looked at yet: how far sd-bus may have it.  False: refused (stopped). */
static bool relay_check(Relay *r) {
        char why[128];
        const char *refused;

        r->gated = false;
        while (r->checked < r->end) {
                size_t avail = r->end - r->checked;

                switch (r->phase) {
                case RELAY_NUL:
                        /* sd-bus's server wants a NUL; it checks it and closes for anything else. */
                        r->checked++;
                        r->phase = RELAY_SASL;
                        break;
                case RELAY_SASL:
                        if (relay_sasl_byte(r, r->buf[r->checked++]))
                                r->phase = RELAY_BEGUN;
                        break;
                case RELAY_BEGUN:
                        if (relay_holding(r))
                                return true;
                        r->phase = RELAY_MESSAGES;
                        break;
                case RELAY_MESSAGES:
                        if (r->left > 0) {
                                size_t n = r->left < avail ? (size_t) r->left : avail;

                                r->checked += n;
                                r->left -= n;
                                break;
                        }
                        if (avail < RELAY_HEADER_SIZE)
                                return true;
                        r->gated = !relay_gate_open(r);
                        if (r->gated)
                                return true;
                        refused = relay_header(r->buf + r->checked, &r->left, why, sizeof(why));
                        if (refused) {
                                relay_stop(r, refused);
                                return false;
                        }
                        break;
                }
        }
        return true;
}

/* Gives sd-bus what it may have.  > 0: all went; 0: the pair is full; < 0: sd-bus closed its end. */
static int relay_forward(Relay *r) {
        while (r->start < r->checked) {
                ssize_t k = send(r->pair_fd, r->buf + r->start, r->checked - r->start, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return -errno;
                }
                r->start += (size_t) k;
        }
        /* All that may go went: what stays (part of a header, or held) moves to the front. */
        if (r->start > 0) {
                memmove(r->buf, r->buf + r->start, r->end - r->start);
                r->checked -= r->start;
                r->end -= r->start;
                r->start = 0;
        }
        return 1;
}

/* What to wait for: the pair when it is full, else the client while there is room. */
static void relay_listen(Relay *r) {
        bool blocked = r->start < r->checked;

        if (r->over)
                return;
        (void) sd_event_source_set_enabled(r->out, blocked ? SD_EVENT_ON : SD_EVENT_OFF);
        if (r->eof || blocked || r->end >= sizeof(r->buf)) {
                /* sd-bus's taking what it may (the pair's writable event) brings us back. */
                (void) sd_event_source_set_enabled(r->in, SD_EVENT_OFF);
                return;
        }
        /*
         * Held at BEGIN: not read, but a hang-up is still heard (epoll says it
         * unasked), as sd-bus, which writes to the socket and does not read it,
         * would not see one: the client is gone.
         */
        (void) sd_event_source_set_io_events(r->in, relay_holding(r) ? 0 : EPOLLIN);
        (void) sd_event_source_set_enabled(r->in, SD_EVENT_ON);
}

static void relay_pump(Relay *r) {
        int q;

        if (r->over || !relay_check(r))
                return;
        q = relay_forward(r);
        if (q < 0) {
                /* sd-bus closed the connection: it says so itself (Disconnected). */
                relay_stop(r, NULL);
                return;
        }
        /* The client is done: once all of it that may went, sd-bus reads the end (and disconnects). */
        if (q > 0 && r->eof && !r->shut && !r->gated && !relay_holding(r)) {
                (void) shutdown(r->pair_fd, SHUT_WR);
                r->shut = true;
        }
        relay_listen(r);
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * RELAY_FDS_MAX)];
        } control;
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        Relay *r = userdata;
        struct cmsghdr *c;
        bool fds;
        ssize_t k;

        (void) s;
        if (!(revents & EPOLLIN)) {
                /* Held at BEGIN (not reading), and the client hung up. */
                if (revents & (EPOLLHUP | EPOLLERR))
                        relay_stop(r, NULL);
                return 0;
        }
        if (r->end >= sizeof(r->buf)) {
                /* Full (a read of nothing would look like the end): sd-bus takes some first. */
                relay_listen(r);
                return 0;
        }
        iov = (struct iovec) { .iov_base = r->buf + r->end, .iov_len = sizeof(r->buf) - r->end };
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        k = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (k < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        relay_stop(r, NULL);    /* its socket failed (reset): sd-bus's writes fail too */
                return 0;
        }
        /* Fds came, whether all of them fitted or not (MSG_CTRUNC): closed, and so is the connection. */
        fds = mh.msg_flags & MSG_CTRUNC;
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
                                safe_close(((int *) CMSG_DATA(c))[i]);
                        fds = true;
                }
        if (fds) {
                relay_stop(r, "it sent fds, which no method takes");
                return 0;
        }
        if (k == 0)
                r->eof = true;
        r->end += (size_t) k;
        relay_pump(r);
        return 0;
}

static int on_pair(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) s;
        (void) fd;
        (void) revents;
        relay_pump(userdata);
        return 0;
}

void relay_poke(Relay *r) {
        if (!r || r->over)
                return;
        if ((r->phase == RELAY_BEGUN && !relay_holding(r)) || (r->gated && relay_gate_open(r)))
                relay_pump(r);
}

int relay_new(sd_event *e, int client_fd, int pair_fd, sd_bus *bus, relay_stopped_t stopped, void *userdata,
              Relay **ret) {
        Relay *r = calloc(1, sizeof(*r));
        int q;

        if (!r) {
                safe_close(client_fd);
                safe_close(pair_fd);
                return -ENOMEM;
        }
        r->client_fd = client_fd;
        r->pair_fd = pair_fd;
        r->bus = bus;
        r->stopped = stopped;
        r->userdata = userdata;
        q = sd_event_add_io(e, &r->in, client_fd, EPOLLIN, on_client, r);
        if (q >= 0)
                q = sd_event_add_io(e, &r->out, pair_fd, EPOLLOUT, on_pair, r);
        if (q >= 0)
                q = sd_event_source_set_enabled(r->out, SD_EVENT_OFF);
        if (q < 0) {
                relay_free(r);
                return q;
        }
        *ret = r;
        return 0;
}
