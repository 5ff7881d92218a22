/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What passthru.ko sends, as passthrud reads it (daemon/netlink.c): the
 * first byte picks the reader, the rest is what one read of its socket
 * returned, given to libnl's nl_recvmsgs() with the daemon's own callbacks
 * and loop (ptnl_parse_reply(), ptnl_parse_events()):
 *   0  the reply to GET (a dump: devices, then NLMSG_DONE)
 *   1  the reply to HIDE or UNHIDE (an ACK, or an error with the kernel's
 *      explanation)
 *   2  the "events" multicast group
 * Beyond not crashing or leaking: every device handed on has terminated
 * strings, a failure hands on no device, and no reader returns a positive
 * value.
 */
#include "fuzz-util.h"
#include "netlink.h"

static void check_device(const PtNlDevice *d) {
        fuzz_assert(memchr(d->address, '\0', sizeof(d->address)), "address not terminated");
        fuzz_assert(memchr(d->rule, '\0', sizeof(d->rule)), "rule not terminated");
        fuzz_assert(memchr(d->driver, '\0', sizeof(d->driver)), "driver not terminated");
        fuzz_assert(memchr(d->reason, '\0', sizeof(d->reason)), "reason not terminated");
        fuzz_assert(ptnl_state_to_string(d->state), "no state name");
        fuzz_assert(ptnl_event_to_string(d->event), "no event name");
}

static void on_event(const PtNlDevice *ev, void *userdata) {
        check_device(ev);
        (*(size_t *) userdata)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PtNlDevice *devices = NULL;
        size_t n = 0, events = 0;
        char *msg = NULL;
        int r;

        if (size < 1)
                return 0;

        switch (data[0] % 3) {
        case 0:
        case 1:
                r = ptnl_parse_reply(data + 1, size - 1, data[0] % 3 == 0, &devices, &n, &msg);
                if (r < 0) {
                        /* Any negative value: the kernel's errno is passed on as it is. */
                        fuzz_assert(!devices && n == 0, "devices on failure");
                        if (msg)
                                fuzz_assert(strlen(msg) < size, "a message longer than the input");
                        free(msg);
                        break;
                }
                fuzz_assert(r == 0 && !msg, "returned %d, message '%s'", r, msg ?: "");
                fuzz_assert(n <= size / 16, "%zu devices from %zu bytes", n, size);
                for (size_t i = 0; i < n; i++)
                        check_device(&devices[i]);
                free(devices);
                break;
        default:
                r = ptnl_parse_events(data + 1, size - 1, on_event, &events);
                fuzz_assert(r <= 0, "returned %d", r);
                fuzz_assert(events <= size / 16, "%zu events from %zu bytes", events, size);
        }
        return 0;
}
