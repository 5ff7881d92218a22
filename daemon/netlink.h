/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one wrapper around libnl-3: talks to passthru.ko's generic netlink
 * family.  Functions return 0 or a negative errno; libnl's NLE_* codes do
 * not leave this file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/passthru.h>

typedef struct PtNetlink PtNetlink;

typedef struct PtNlDevice {
        char address[PASSTHRU_ADDRESS_LEN];
        bool present;           /* vendor and device are valid */
        uint16_t vendor;
        uint16_t device;
        uint8_t state;          /* enum passthru_state */
        char rule[PASSTHRU_RULE_MAX + 8];
        char driver[32];
        char reason[96];
        uint8_t event;          /* enum passthru_event, events only */
} PtNlDevice;

/* Open a socket and resolve the family; -ENOENT when the module is not loaded. */
int ptnl_open(PtNetlink **ret);
PtNetlink *ptnl_close(PtNetlink *nl);

/* Dump every device the module knows into a malloc()ed array. */
int ptnl_get(PtNetlink *nl, PtNlDevice **ret, size_t *ret_n);

/*
 * Add or drop a rule ("(01:00.0)").  On failure, *ret_msg (if given) gets
 * the kernel's explanation, or NULL; free() it.
 */
int ptnl_hide(PtNetlink *nl, const char *rule, char **ret_msg);
int ptnl_unhide(PtNetlink *nl, const char *rule, char **ret_msg);

/* Join the "events" group; then poll ptnl_event_fd() and call ptnl_read_events(). */
int ptnl_subscribe(PtNetlink *nl);
int ptnl_event_fd(PtNetlink *nl);
typedef void (*PtNlEventFn)(const PtNlDevice *ev, void *userdata);
int ptnl_read_events(PtNetlink *nl, PtNlEventFn fn, void *userdata);

/*
 * The receive path without the kernel, for tests/fuzz/fuzz-netlink.c: @data
 * as what one read of the socket returned, through the callbacks and the
 * loop of ptnl_get() (@dump) or ptnl_hide(), or of ptnl_read_events().
 * libnl does not check sequence numbers here.  ptnl_parse_reply() returns
 * what ptnl_get() would, and the kernel's explanation of an error in
 * *ret_msg (NULL if none; free() it).
 */
int ptnl_parse_reply(const void *data, size_t size, bool dump, PtNlDevice **ret, size_t *ret_n, char **ret_msg);
int ptnl_parse_events(const void *data, size_t size, PtNlEventFn fn, void *userdata);

const char *ptnl_state_to_string(uint8_t state);
const char *ptnl_event_to_string(uint8_t event);

static inline void ptnl_closep(PtNetlink **nl) {
        ptnl_close(*nl);
}
