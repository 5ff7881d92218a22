/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reset between two owners: a chain of the methods a device lists in
 * sysfs reset_method, strongest first, tried one after the other until one
 * that the configuration trusts to clear the device's state succeeds.  A
 * reset that "worked" is not a scrub (e1000e's receive address survives
 * pm), so a device is handed on only after a trusted method worked.
 *
 *   order    flr, af_flr, bus, the device's other methods in its own
 *            order, pm last; a method pinned in [Reset] is the only one
 *            (tried first and alone when the device lists it; when it does
 *            not, that is recorded and the chain runs as usual)
 *   trusted  flr, af_flr and bus; any other only when [Trust] names it
 *            for the device's vendor:device (config_reset_trusted())
 *
 * reset_chain_init() reads the configuration (on the bus loop);
 * reset_chain_run() writes sysfs and can take seconds (in a worker); the
 * rest reads what it did.  Library style: no logging, negative errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct ResetStep {
        char *method;
        bool trusted;           /* clears the device's state when it works */
        bool listed;            /* the device lists it (a pin may name one it does not) */
        bool tried;
        int result;             /* 0, or the reset's negative errno; when tried */
} ResetStep;

typedef struct ResetChain {
        uint16_t vendor, device;
        ResetStep *steps;
        size_t n_steps;
} ResetChain;

/* One reset with one method, as sysfs_reset() does it (tests pass their own). */
typedef int (*ResetFunc)(const char *root, const char *address, const char *method, void *userdata);

/* The chain for a device that lists @methods (NULL: none), with ids vendor:device. */
int reset_chain_init(ResetChain *c, char * const *methods, const Config *config, uint16_t vendor, uint16_t device);
/* Free everything; c is then zeroed (and safe to reset_chain_done() again). */
void reset_chain_done(ResetChain *c);

/*
 * Try the methods in order (with @fn, NULL: sysfs_reset()) until a trusted
 * one works; every attempt's result is kept.  Returns 0 when a trusted
 * method worked; -ENOTTY when the device lists no method; -ENODEV when it
 * went away; -EPERM when methods worked but none of them is trusted;
 * else the error of the first method tried (-EIO when that was ENOTTY,
 * which the kernel gives when a method does not work out).
 */
int reset_chain_run(ResetChain *c, const char *root, const char *address, ResetFunc fn, void *userdata);

/*
 * One line per method tried, in order: "bus: Input/output error",
 * "pm: ok (not trusted to clear state)", "flr: ok"; for the kernel's
 * ENOTTY (e1000e's bus reset in the test VM: the link was not back within
 * a second) "bus: failed (ENOTTY: unsupported, or the device did not come
 * back; see dmesg)"; for a pin the device does not list "pm: pinned in
 * [Reset], but not offered by the device".  An empty list when nothing was
 * tried.
 */
int reset_chain_results(const ResetChain *c, char ***ret);

/*
 * The configuration line that would have made this run enough:
 * "[Trust] 8086:10d3=pm", naming the first untrusted method that worked;
 * *ret is NULL when none did (or a trusted one worked).
 */
int reset_chain_trust_line(const ResetChain *c, char **ret);

static inline void reset_chain_donep(ResetChain *c) {
        reset_chain_done(c);
}
#define _cleanup_reset_chain_ __attribute__((cleanup(reset_chain_donep)))
