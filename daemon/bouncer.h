/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may call what, in one table: properties and introspection are for
 * anyone, Acquire and Release for root and the configured group, the rest
 * for root.  Credentials come from the bus (dbus-daemon), never from /proc.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
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
 * DESIGN.md's "then checked again": the caller's pid pinned with a pidfd,
 * then asked of the bus once more.  The question goes out on a connection
 * of the checks' own (Manager.check_bus), so that its answer arrives while
 * Acquire moves the devices; bouncer_pin_finish() collects it.
 */
typedef struct CallerPin {
        pid_t pid;
        int pidfd;
        sd_bus_slot *slot;
        bool answered;
        pid_t again;            /* the bus's answer; 0 when it had none */
} CallerPin;

#define CALLER_PIN_NULL ((CallerPin) { .pidfd = -EBADF })

int bouncer_pin_start(Manager *m, sd_bus_message *msg, pid_t pid, CallerPin *p, sd_bus_error *error);
/* The pidfd (taken from @p) when the sender is still @p->pid; else AccessDenied. */
int bouncer_pin_finish(Manager *m, CallerPin *p, sd_bus_error *error);
void bouncer_pin_done(CallerPin *p);
