/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may call what, in one table: properties and introspection are for
 * anyone, Acquire and Release for root and the configured group, the rest
 * for root.  Credentials come from the bus (dbus-daemon), never from /proc.
 */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;

typedef struct Caller {
        uid_t euid;
        pid_t pid;
} Caller;

/* 0 and *ret filled when the sender of @msg may call its method; else AccessDenied. */
int bouncer_check(Manager *m, sd_bus_message *msg, Caller *ret, sd_bus_error *error);
