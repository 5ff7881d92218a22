/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What passthructl prints: see output.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

bool use_color(void) {
        static int cached = -1;

        if (cached < 0)
                cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
                         !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
        return cached;
}

const char *state_color(const char *state) {
        if (!use_color())
                return "";
        if (strcmp(state, "available") == 0)
                return "\033[32m";
        if (strcmp(state, "leased") == 0 || strcmp(state, "releasing") == 0)
                return "\033[33m";
        if (strcmp(state, "quarantined") == 0 || strcmp(state, "mismatch") == 0 ||
            strcmp(state, "pending-reboot") == 0 || strcmp(state, "foreign") == 0)
                return "\033[31m";
        return "";
}

const char *color_off(void) {
        return use_color() ? "\033[0m" : "";
}

static json_object *json_strv(char **l) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; l && l[i]; i++)
                json_object_array_add(a, json_object_new_string(l[i]));
        return a;
}

json_object *device_json(const DeviceInfo *d) {
        json_object *o = json_object_new_object();
        char ids[16];

        snprintf(ids, sizeof(ids), "%04x:%04x", d->vendor, d->device);
        json_object_object_add(o, "address", json_object_new_string(d->address ?: ""));
        json_object_object_add(o, "ids", json_object_new_string(ids));
        json_object_object_add(o, "name", json_object_new_string(d->name ?: ""));
        json_object_object_add(o, "class", json_object_new_int64(d->class));
        json_object_object_add(o, "state", json_object_new_string(d->state ?: ""));
        json_object_object_add(o, "driver", json_object_new_string(d->driver ?: ""));
        json_object_object_add(o, "passthrough", json_object_new_boolean(d->passthrough));
        json_object_object_add(o, "iommu_group", json_object_new_int(d->group));
        json_object_object_add(o, "group_devices", json_strv(d->group_devices));
        json_object_object_add(o, "viable", json_object_new_boolean(d->viable));
        json_object_object_add(o, "owner", json_object_new_string(d->owner ?: ""));
        json_object_object_add(o, "owner_pid", json_object_new_int64(d->owner_pid));
        json_object_object_add(o, "assignments", json_strv(d->assignments));
        json_object_object_add(o, "reset_methods", json_strv(d->reset_methods));
        json_object_object_add(o, "reset_results", json_strv(d->reset_results));
        json_object_object_add(o, "reset_hint", json_object_new_string(d->reset_hint ?: ""));
        json_object_object_add(o, "pcie", json_object_new_boolean(d->pcie));
        json_object_object_add(o, "msi", json_object_new_boolean(d->msi));
        json_object_object_add(o, "msix", json_object_new_boolean(d->msix));
        return o;
}

void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}
