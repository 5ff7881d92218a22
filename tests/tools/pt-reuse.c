/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-reuse: a bus connection that outlives the process that made it, for
 * the test that a recycled pid cannot become a lease holder.
 *
 *   pt-reuse DEVICE VM
 *
 * The process connects to the system bus (the bus records its pid), forks a
 * child that keeps a copy of the socket, prints "connected PID NAME" and
 * exits.  The child waits for a line on stdin (meanwhile the test starts a
 * new process with the old pid), then sends Acquire(DEVICE, VM, {}) on the
 * inherited connection, marshalled by hand (sd-bus refuses to be used across
 * fork), and prints the answer: "granted" or "error NAME: MESSAGE".
 * Exit status: 0 granted, 1 refused, 2 usage or I/O trouble.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "passthru-names.h"

typedef struct Buf {
        uint8_t data[4096];
        size_t n;
} Buf;

static void pad(Buf *b, size_t align) {
        while (b->n % align)
                b->data[b->n++] = 0;
}

static void put_u8(Buf *b, uint8_t v) {
        b->data[b->n++] = v;
}

static void put_u32(Buf *b, uint32_t v) {
        pad(b, 4);
        memcpy(b->data + b->n, &v, 4);      /* little endian on x86 */
        b->n += 4;
}

static void put_string(Buf *b, const char *s) {
        put_u32(b, (uint32_t) strlen(s));
        memcpy(b->data + b->n, s, strlen(s) + 1);
        b->n += strlen(s) + 1;
}

static void put_signature(Buf *b, const char *s) {
        put_u8(b, (uint8_t) strlen(s));
        memcpy(b->data + b->n, s, strlen(s) + 1);
        b->n += strlen(s) + 1;
}

/* A header field: (BYTE code, VARIANT value) with a string-like value. */
static void put_field(Buf *b, uint8_t code, char type, const char *value) {
        char sig[2] = { type, 0 };

        pad(b, 8);
        put_u8(b, code);
        put_signature(b, sig);
        if (type == 'g')
                put_signature(b, value);
        else
                put_string(b, value);
}

#define SERIAL 4242

static size_t build_call(uint8_t *out, const char *device, const char *vm) {
        Buf body = {}, fields = {}, msg = {};

        put_string(&body, device);
        put_string(&body, vm);
        put_u32(&body, 0);              /* a{sv}: empty, */
        pad(&body, 8);                  /* padded to its element's alignment all the same */

        /* Fields are laid out as if they followed the 16-byte fixed header. */
        fields.n = 16;
        put_field(&fields, 1, 'o', PT_MANAGER_PATH);
        put_field(&fields, 2, 's', PT_MANAGER_INTERFACE);
        put_field(&fields, 3, 's', "Acquire");
        put_field(&fields, 6, 's', PT_BUS_NAME);
        put_field(&fields, 8, 'g', "ssa{sv}");

        put_u8(&msg, 'l');
        put_u8(&msg, 1);                /* METHOD_CALL */
        put_u8(&msg, 0);
        put_u8(&msg, 1);
        put_u32(&msg, (uint32_t) body.n);
        put_u32(&msg, SERIAL);
        put_u32(&msg, (uint32_t) (fields.n - 16));
        memcpy(msg.data + msg.n, fields.data + 16, fields.n - 16);
        msg.n += fields.n - 16;
        pad(&msg, 8);
        memcpy(msg.data + msg.n, body.data, body.n);
        msg.n += body.n;
        memcpy(out, msg.data, msg.n);
        return msg.n;
}

static uint32_t get_u32(const uint8_t *p) {
        uint32_t v;

        memcpy(&v, p, 4);
        return v;
}

/* Read messages until the answer to SERIAL; print it.  0 granted, 1 error, 2 trouble. */
static int read_answer(int fd) {
        static uint8_t in[65536];
        size_t have = 0;

        for (;;) {
                char cmsg[CMSG_SPACE(sizeof(int) * 16)];
                struct iovec iov = { in + have, sizeof(in) - have };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cmsg,
                                     .msg_controllen = sizeof(cmsg) };
                struct pollfd pfd = { fd, POLLIN, 0 };
                ssize_t k;

                if (poll(&pfd, 1, 10000) <= 0) {
                        fprintf(stderr, "pt-reuse: no answer\n");
                        return 2;
                }
                k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
                if (k <= 0) {
                        fprintf(stderr, "pt-reuse: connection closed\n");
                        return 2;
                }
                have += (size_t) k;
                while (have >= 16) {
                        uint32_t body_len = get_u32(in + 4), fields_len = get_u32(in + 12);
                        size_t header = 16 + fields_len, total;
                        uint32_t reply_serial = 0;
                        const char *error_name = NULL;

                        header = (header + 7) & ~(size_t) 7;
                        total = header + body_len;
                        if (total > sizeof(in)) {
                                fprintf(stderr, "pt-reuse: message too big\n");
                                return 2;
                        }
                        if (have < total)
                                break;
                        /* Walk the header fields for REPLY_SERIAL (5) and ERROR_NAME (4). */
                        for (size_t off = 16; off < 16 + fields_len;) {
                                uint8_t code = in[off], siglen = in[off + 1];
                                char type = (char) in[off + 2];

                                off += 3 + siglen;
                                if (type == 'u' || type == 's' || type == 'o') {
                                        off = (off + 3) & ~(size_t) 3;
                                        if (code == 5)
                                                reply_serial = get_u32(in + off);
                                        if (code == 4)
                                                error_name = (const char *) in + off + 4;
                                        off += type == 'u' ? 4 : 4 + get_u32(in + off) + 1;
                                } else if (type == 'g') {
                                        off += 1 + in[off] + 1;
                                } else
                                        break;
                                off = (off + 7) & ~(size_t) 7;
                        }
                        if (reply_serial == SERIAL && in[1] == 2) {
                                printf("granted\n");
                                return 0;
                        }
                        if (reply_serial == SERIAL && in[1] == 3) {
                                const char *text = body_len > 4 ? (const char *) in + header + 4 : "";

                                printf("error %s: %s\n", error_name ?: "?", text);
                                return 1;
                        }
                        memmove(in, in + total, have - total);
                        have -= total;
                }
        }
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        const char *name = NULL;
        uint8_t call[4096];
        char line[64];
        size_t n;
        pid_t child;
        int r, fd;

        if (argc != 3) {
                fprintf(stderr, "usage: pt-reuse DEVICE VM\n");
                return 2;
        }
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_get_unique_name(bus, &name);
        if (r < 0) {
                fprintf(stderr, "pt-reuse: cannot connect to the system bus: %s\n", strerror(-r));
                return 2;
        }
        fd = sd_bus_get_fd(bus);
        n = build_call(call, argv[1], argv[2]);
        child = fork();
        if (child < 0)
                return 2;
        if (child > 0) {
                /* The bus's record of this connection names this pid: now it goes. */
                printf("connected %d %s\n", (int) getpid(), name);
                fflush(stdout);
                _exit(0);
        }
        if (!fgets(line, sizeof(line), stdin))
                return 2;
        if (write(fd, call, n) != (ssize_t) n) {
                fprintf(stderr, "pt-reuse: write: %m\n");
                return 2;
        }
        return read_answer(fd);
}
