/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.passthru1.Manager on the bus (manager-dbus.c): its setup, and the one
 * typed sender of each of its signals and property changes.  The object
 * layer (manager.c, lease.c) reaches the bus through these only; members and
 * signatures are spelled beside the vtable that declares them.
 */
#pragma once

#include <sys/types.h>

#include <systemd/sd-bus.h>

typedef struct Lease Lease;
typedef struct Manager Manager;

/* passthru-names.h's PT_ERRORS as sd-bus's error map (each name and its errno); manager_bus_setup() registers it. */
extern const sd_bus_error_map pt_error_map[];

/* Connect, publish the objects, follow the bus's connections, take the name. */
int manager_bus_setup(Manager *m);
/* Only publish the Manager and Device objects on @bus, attached to m->event
 * (manager_bus_setup's middle; tests/fuzz/fuzz-bus.c uses a peer-to-peer bus). */
int manager_bus_publish(Manager *m, sd_bus *bus);

/* The Manager and Device objects on @bus: the system bus's, and each direct connection's (direct.c). */
int manager_bus_add_objects(Manager *m, sd_bus *bus);

/*
 * Every connection the objects are served on, which each signal and
 * property change goes to: the system bus, then each direct connection;
 * NULL past the end.
 */
sd_bus *manager_bus_nth(Manager *m, size_t i);
#define MANAGER_FOREACH_BUS(m, b, i) for (size_t i = 0; ((b) = manager_bus_nth((m), i)); i++)

/* PropertiesChanged for one Manager property (MaintenanceMode, RebootRequired, ActiveLeases). */
void manager_send_changed(Manager *m, const char *property);

/* LeaseAcquired(device, vm, pid): once per lease, the device given to Acquire. */
void manager_send_lease_acquired(Manager *m, const Lease *l);
/* LeaseRevoked(device, vm, pid): root's Release, the grace period starts. */
void manager_send_lease_revoked(Manager *m, const Lease *l);
/* LeaseReleased(device, vm, reason): once for each device of the group, when it is back. */
void manager_send_lease_released(Manager *m, const char *device, const char *vm, const char *reason);
