/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What passthructl prints: see output.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "passthru-names.h"

bool use_color(void) {
        static int cached = -1;

        if (cached < 0)
                cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
                         !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
        return cached;
}

/* The colour of each tone of passthru-names.h's PT_DEVICE_STATES. */
#define TONE_GOOD "\033[32m"
#define TONE_BUSY "\033[33m"
#define TONE_BAD "\033[31m"
#define TONE_PLAIN ""

const char *state_escape(const char *state) {
        static const struct {
                const char *name;
                const char *color;
        } tones[] = {
#define STATE_TONE_(id, name, tone) { PT_DEVICE_STATE_##id, TONE_##tone },
                PT_DEVICE_STATES(STATE_TONE_)
#undef STATE_TONE_
        };

        for (size_t i = 0; state && i < sizeof(tones) / sizeof(tones[0]); i++)
                if (strcmp(state, tones[i].name) == 0)
                        return tones[i].color;
        return "";      /* a state this passthructl does not know */
}

const char *state_color(const char *state) {
        return use_color() ? state_escape(state) : "";
}

const char *color_off(void) {
        return use_color() ? "\033[0m" : "";
}

json_object *json_strv(char **l) {
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
        json_object_object_add(o, "physical_function", json_object_new_string(d->physical_function ?: ""));
        json_object_object_add(o, "virtual_functions", json_strv(d->virtual_functions));
        json_object_object_add(o, "total_vfs", json_object_new_int64(d->total_vfs));
        json_object_object_add(o, "num_vfs", json_object_new_int64(d->num_vfs));
        return o;
}

void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}
