/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.passthru1.Device: one object per tracked device. */
#pragma once

#include <systemd/sd-bus.h>

typedef struct Device Device;
typedef struct Manager Manager;

/* The Device objects on @bus (manager_bus_add_objects()). */
int device_bus_setup(Manager *m, sd_bus *bus);
/*
 * PropertiesChanged for what may have changed after an event (Driver,
 * State, Passthrough, Owner, OwnerPid, Assignments), only when it did; the
 * group's other members follow when Viable or GroupDevices may have.
 */
void device_send_changed(Manager *m, Device *d);
/* PropertiesChanged for Stuck (lease.c's revocation). */
void device_send_stuck_changed(Manager *m, Device *d);
/* PropertiesChanged for ResetResults and ResetHint (device_note_reset()). */
void device_send_reset_changed(Manager *m, Device *d);
/* PropertiesChanged for Assignments (Assign, Unassign). */
void device_send_assignments_changed(Manager *m, Device *d);
/* InterfacesAdded and InterfacesRemoved: the device appeared, or is about to be dropped. */
void device_send_added(Manager *m, Device *d);
void device_send_removed(Manager *m, Device *d);
