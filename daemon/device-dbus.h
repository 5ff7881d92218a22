/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.passthru1.Device: one object per tracked device. */
#pragma once

typedef struct Device Device;
typedef struct Manager Manager;

int device_bus_setup(Manager *m);
/* PropertiesChanged for ResetResults and ResetHint (device_note_reset()). */
void device_send_reset_changed(Manager *m, Device *d);
