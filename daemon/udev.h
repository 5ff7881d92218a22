/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one wrapper around libudev: enumerate PCI devices and hear them change. */
#pragma once

#include <systemd/sd-event.h>

typedef struct PtUdev PtUdev;

/*
 * subsystem "pci": action "add", "remove", "bind", "unbind", "change", ...,
 * name the address ("0000:01:00.0"); subsystem "module": a kernel module
 * loaded ("add") or unloaded ("remove"), name the module's.
 */
typedef void (*PtUdevFn)(const char *subsystem, const char *action, const char *name, void *userdata);

int pt_udev_new(sd_event *event, PtUdevFn fn, void *userdata, PtUdev **ret);
PtUdev *pt_udev_free(PtUdev *u);
static inline void pt_udev_freep(PtUdev **u) {
        pt_udev_free(*u);
}
/* The addresses of every PCI device now present, sorted. */
int pt_udev_enumerate(PtUdev *u, char ***ret);
