/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-flood: a hostile client of passthrud's direct socket, that calls and
 * never reads an answer.
 *
 *   pt-flood SOCKET [COUNT]
 *   pt-flood --fds SOCKET [COUNT]
 *
 * Connects to SOCKET, authenticates (SASL EXTERNAL), then writes COUNT
 * (default 100000) ListDevices calls without reading a byte back, blocking
 * when the socket is full.  A client library would read the answers while
 * it writes (sd-bus does, in sd_bus_flush()), so this one marshals its calls
 * itself.  Prints "ready" once authenticated, then "hung up after N calls"
 * when passthrud closes the connection (EPIPE, ECONNRESET) or "sent N
 * calls"; then it waits, connection open, until killed.
 *
 * With --fds it parks fds in the daemon instead: a call whose header says
 * 1 MiB of body follows, sent with its first byte and 253 fds, then more
 * parts of one byte and 253 fds each, COUNT (40) in all, 100 ms apart (no
 * method takes an fd; a D-Bus library keeps each until its message is
 * whole).  It says "hung up after N parts" or "sent N parts".
 *
 * Exit status: 1 when it cannot connect or authenticate, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Align @off to @a, zero-filling. */
static size_t pad(uint8_t *buf, size_t off, size_t a) {
        while (off % a)
                buf[off++] = 0;
        return off;
}

static size_t put_u32(uint8_t *buf, size_t off, uint32_t v) {
        off = pad(buf, off, 4);
        memcpy(buf + off, &v, 4);       /* little-endian: the header says 'l' on x86 */
        return off + 4;
}

/* One header field: (code, variant of signature @sig holding string @val). */
static size_t put_field(uint8_t *buf, size_t off, uint8_t code, char sig, const char *val) {
        size_t n = strlen(val);

        off = pad(buf, off, 8);
        buf[off++] = code;
        buf[off++] = 1;
        buf[off++] = (uint8_t) sig;
        buf[off++] = 0;
        off = put_u32(buf, off, (uint32_t) n);
        memcpy(buf + off, val, n + 1);
        return off + n + 1;
}

/* A method call of org.passthru1.Manager.ListDevices with no body; its length. */
static size_t marshal_call(uint8_t *buf, uint32_t serial) {
        size_t off, start;

        buf[0] = 'l';   /* little-endian */
        buf[1] = 1;     /* method call */
        buf[2] = 0;
        buf[3] = 1;     /* protocol version */
        off = put_u32(buf, 4, 0);               /* body length */
        off = put_u32(buf, off, serial);
        off = put_u32(buf, off, 0);             /* the fields' length, filled below */
        start = pad(buf, off, 8);
        off = put_field(buf, start, 1, 'o', "/org/passthru1");
        off = put_field(buf, off, 2, 's', "org.passthru1.Manager");
        off = put_field(buf, off, 3, 's', "ListDevices");
        off = put_field(buf, off, 6, 's', "org.passthru1");
        (void) put_u32(buf, 12, (uint32_t) (off - start));
        return pad(buf, off, 8);
}

/* With @fds, fd passing is agreed on first, as a D-Bus library does. */
static int authenticate(int fd, bool fds) {
        char line[256], hex[32] = "", uid[16];
        ssize_t n;

        snprintf(uid, sizeof(uid), "%u", (unsigned) geteuid());
        for (size_t i = 0; uid[i]; i++)
                snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", (unsigned char) uid[i]);
        n = snprintf(line, sizeof(line), "%cAUTH EXTERNAL %s\r\n", 0, hex);
        if (write(fd, line, (size_t) n) != n)
                return -1;
        n = read(fd, line, sizeof(line) - 1);
        if (n < 3 || strncmp(line, "OK ", 3) != 0)
                return -1;
        if (fds) {
                if (write(fd, "NEGOTIATE_UNIX_FD\r\n", 19) != 19)
                        return -1;
                n = read(fd, line, sizeof(line) - 1);
                if (n < 13 || strncmp(line, "AGREE_UNIX_FD", 13) != 0)
                        return -1;
        }
        return write(fd, "BEGIN\r\n", 7) == 7 ? 0 : -1;
}

#define PARK_FDS 253     /* the most one SCM_RIGHTS message carries */

/* Part @k of the fds' flood: the first carries a call's header (1 MiB of body to come). */
static int send_part(int fd, const int *fds, unsigned long k) {
        static const uint8_t header[16] = { 'l', 1, 0, 1, 0, 0, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * PARK_FDS)];
        } control = {};
        char x = 0;
        struct iovec iov[2] = { { .iov_base = (void *) header, .iov_len = k == 0 ? sizeof(header) : 0 },
                                { .iov_base = &x, .iov_len = 1 } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * PARK_FDS);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * PARK_FDS);
        return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static void park_fds(int fd, unsigned long count) {
        unsigned long sent = 0;
        int fds[PARK_FDS];
        uint8_t msg[256];
        size_t n;

        /*
         * A call answered first: the daemon is past the authentication, where
         * fds end the connection anyway.  Not in the same read as BEGIN: with
         * fds agreed on, sd-bus closed such a connection.
         */
        usleep(200000);
        n = marshal_call(msg, 1);
        if (write(fd, msg, n) != (ssize_t) n || read(fd, msg, sizeof(msg)) <= 0) {
                fprintf(stderr, "pt-flood: no answer to a first call: %m\n");
                exit(1);
        }

        for (size_t i = 0; i < PARK_FDS; i++)
                if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
                        fprintf(stderr, "pt-flood: /dev/null: %m\n");
                        exit(1);
                }
        while (sent < count && send_part(fd, fds, sent) == 0) {
                sent++;
                usleep(100000);
        }
        if (sent < count)
                printf("hung up after %lu parts\n", sent);
        else
                printf("sent %lu parts\n", sent);
}

int main(int argc, char *argv[]) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        unsigned long count = 100000, sent = 0;
        bool fds = argc > 1 && strcmp(argv[1], "--fds") == 0;
        uint8_t msg[256];
        int fd;

        if (fds) {
                argc--;
                argv++;
                count = 40;
        }
        if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: pt-flood [--fds] SOCKET [COUNT]\n");
                return 2;
        }
        if (argc == 3)
                count = strtoul(argv[2], NULL, 10);
        signal(SIGPIPE, SIG_IGN);
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || authenticate(fd, fds) < 0) {
                fprintf(stderr, "pt-flood: cannot connect to %s and authenticate: %m\n", argv[1]);
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        if (fds) {
                park_fds(fd, count);
                fflush(stdout);
                for (;;)
                        pause();
        }
        while (sent < count) {
                size_t n = marshal_call(msg, (uint32_t) sent + 1);

                if (write(fd, msg, n) != (ssize_t) n)
                        break;
                sent++;
        }
        if (sent < count)
                printf("hung up after %lu calls\n", sent);
        else
                printf("sent %lu calls\n", sent);
        fflush(stdout);
        for (;;)
                pause();
}
