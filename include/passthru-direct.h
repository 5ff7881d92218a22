/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A client's connection to passthrud's own socket (docs/direct.md), as
 * passthructl and the test tools open it.
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-bus.h>

#include "passthru-names.h"

/* The socket: $PASSTHRU_SOCKET when set (set and empty: none, NULL), else PT_DIRECT_SOCKET. */
static inline const char *pt_direct_socket_path(void) {
        const char *p = getenv("PASSTHRU_SOCKET");

        if (!p)
                return PT_DIRECT_SOCKET;
        return *p ? p : NULL;
}

/* A peer-to-peer connection to the socket at @path, started: no Hello, authentication under way. */
static inline int pt_direct_open(const char *path, sd_bus **ret) {
        char address[sizeof("unix:path=") + 108];
        sd_bus *bus = NULL;
        int r;

        if (!path)
                return -ENOENT;
        if ((size_t) snprintf(address, sizeof(address), "unix:path=%s", path) >= sizeof(address))
                return -ENAMETOOLONG;
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}
