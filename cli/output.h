/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What passthructl prints: colour (only on a terminal, never with NO_COLOR)
 * and the JSON of --json.
 */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#include "client.h"

bool use_color(void);
/* The escape that colours a device state, and the one that ends it; "" without colour. */
const char *state_color(const char *state);
/* The escape of @state's tone (passthru-names.h), colour on or off; "" for PLAIN or an unknown state. */
const char *state_escape(const char *state);
const char *color_off(void);

/* A list of strings as a JSON array. */
json_object *json_strv(char **l);
/* A device as --json prints it. */
json_object *device_json(const DeviceInfo *d);
/* Print @o on stdout, and drop it. */
void print_json(json_object *o);
