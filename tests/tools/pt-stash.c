/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pt-stash: a holder's trick on the system bus, to make dbus-daemon hold
 * an fd of the holder's (its VFIO group) for as long as the holder likes.
 *
 *   pt-stash FD
 *
 * Opens two connections to the system bus, A and B; B never reads.  From A
 * it sends B unicast signals (any unprivileged client may) of 4 KiB each,
 * 1 MiB in all: more than B's socket holds, so that dbus-daemon queues the
 * rest for B.  Then one more signal, carrying FD: dbus-daemon keeps it in
 * that queue, in its own fd table, until B reads.  pt-stash closes its own
 * copy of FD, prints "stashed" and waits, both connections open, until
 * killed (B's end drops the queue, and the fd with it).
 *
 * Exit status: 1 when the bus refuses, 2 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#define STASH_PATH "/org/passthru1/test/stash"
#define STASH_INTERFACE "org.passthru1.test.Stash"
#define PAD_BYTES 4096
#define PAD_SIGNALS 256

static int fail(const char *what, int r) {
        fprintf(stderr, "pt-stash: %s: %s\n", what, strerror(-r));
        return 1;
}

static int send_to(sd_bus *from, const char *to, const char *member, const char *sig, const void *arg) {
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_signal(from, &m, STASH_PATH, STASH_INTERFACE, member);
        if (r >= 0)
                r = sd_bus_message_set_destination(m, to);
        if (r >= 0)
                r = sd_bus_message_append_basic(m, sig[0], arg);
        if (r >= 0)
                r = sd_bus_send(from, m, NULL);
        sd_bus_message_unref(m);
        return r;
}

int main(int argc, char *argv[]) {
        sd_bus *a = NULL, *b = NULL;
        const char *unique = NULL;
        char *pad, *end;
        long fd;
        int r;

        if (argc != 2)
                goto usage;
        errno = 0;
        fd = strtol(argv[1], &end, 10);
        if (errno != 0 || *end || end == argv[1] || fd < 0 || fd > 65535)
                goto usage;
        pad = malloc(PAD_BYTES + 1);
        if (!pad)
                return fail("padding", -ENOMEM);
        memset(pad, 'x', PAD_BYTES);
        pad[PAD_BYTES] = '\0';

        r = sd_bus_open_system(&a);
        if (r < 0)
                return fail("cannot connect to the system bus", r);
        r = sd_bus_open_system(&b);
        if (r >= 0)
                r = sd_bus_get_unique_name(b, &unique);
        if (r < 0)
                return fail("cannot connect to the system bus again", r);
        for (int i = 0; i < PAD_SIGNALS; i++) {
                r = send_to(a, unique, "Pad", "s", pad);
                if (r >= 0)
                        r = sd_bus_flush(a);
                if (r < 0)
                        return fail("cannot send B a signal", r);
        }
        r = send_to(a, unique, "Fd", "h", &(int) { (int) fd });
        if (r >= 0)
                r = sd_bus_flush(a);
        if (r < 0)
                return fail("cannot send B the fd", r);
        close((int) fd);
        printf("stashed\n");
        fflush(stdout);
        for (;;)
                pause();

usage:
        fprintf(stderr, "usage: pt-stash FD\n");
        return 2;
}
