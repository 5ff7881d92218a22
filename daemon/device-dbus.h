/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.passthru1.Device: one object per tracked device. */
#pragma once

typedef struct Manager Manager;

int device_bus_setup(Manager *m);
