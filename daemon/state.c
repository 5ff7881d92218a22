/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "state.h"
#include "strv.h"

bool vm_name_valid(const char *s) {
        size_t n = strlen(s);

        return n >= 1 && n <= VM_NAME_MAX &&
                strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void state_device_done(StateDevice *d) {
        free(d->address);
        strv_free(d->assignments);
}

void state_done(PersistentState *s) {
        for (size_t i = 0; i < s->n_devices; i++)
                state_device_done(&s->devices[i]);
        free(s->devices);
        free(s->order);
        *s = (PersistentState) {};
}

/* Where @address is in s->order, or where it would go (*found false). */
static size_t order_index(const PersistentState *s, const char *address, bool *found) {
        size_t lo = 0, hi = s->n_devices;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(s->devices[s->order[mid]].address, address) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < s->n_devices && strcmp(s->devices[s->order[lo]].address, address) == 0;
        return lo;
}

StateDevice *state_find_device(PersistentState *s, const char *address) {
        bool found;
        size_t i = order_index(s, address, &found);

        return found ? &s->devices[s->order[i]] : NULL;
}

int state_ensure_device(PersistentState *s, const char *address, StateDevice **ret) {
        StateDevice *d, *devices;
        size_t *order, at;
        bool found;
        char *a;

        d = state_find_device(s, address);
        if (d) {
                if (ret)
                        *ret = d;
                return 0;
        }

        if (!pci_address_valid(address))
                return -EINVAL;
        a = strdup(address);
        if (!a)
                return -ENOMEM;
        order = reallocarray(s->order, s->n_devices + 1, sizeof(size_t));
        if (!order) {
                free(a);
                return -ENOMEM;
        }
        s->order = order;
        devices = reallocarray(s->devices, s->n_devices + 1, sizeof(StateDevice));
        if (!devices) {
                free(a);
                return -ENOMEM;
        }
        s->devices = devices;
        at = order_index(s, address, &found);
        memmove(s->order + at + 1, s->order + at, (s->n_devices - at) * sizeof(size_t));
        s->order[at] = s->n_devices;
        d = &s->devices[s->n_devices++];
        *d = (StateDevice) { .address = a };
        if (ret)
                *ret = d;
        return 1;
}

enum {
        STATE_KEY_MAINTENANCE = 1 << 0,
        STATE_KEY_PASSTHROUGH = 1 << 1,
        STATE_KEY_NUM_VFS = 1 << 2,
};

typedef struct StateParse {
        PersistentState state;
        StateDevice *device;            /* the current [Device], NULL in [Manager] */
        bool seen_manager;
        unsigned keys;                  /* the keys seen in the current section */
} StateParse;

static const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);

        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static int state_parse_section(StateParse *p, const char *section, char **reason) {
        const char *address;
        int r;

        p->keys = 0;
        p->device = NULL;

        if (strcmp(section, "Manager") == 0) {
                if (p->seen_manager)
                        return ini_reason(reason, "duplicate section [Manager]");
                p->seen_manager = true;
                return 0;
        }

        address = startswith(section, "Device ");
        if (!address)
                return ini_reason(reason, "unknown section [%s]", section);
        if (!pci_address_valid(address))
                return ini_reason(reason, "[%s]: not a valid PCI address (expected DDDD:BB:SS.F in lowercase hex)",
                                  section);
        if (state_find_device(&p->state, address))
                return ini_reason(reason, "duplicate section [%s]", section);

        r = state_ensure_device(&p->state, address, &p->device);
        return r < 0 ? r : 0;
}

static int state_parse_bool(StateParse *p, unsigned key_bit, const char *key, const char *value,
                            bool *ret, char **reason) {
        if (p->keys & key_bit)
                return ini_reason(reason, "duplicate key '%s'", key);
        p->keys |= key_bit;
        if (parse_boolean(value, ret) < 0)
                return ini_reason(reason, "%s: not a boolean (yes or no): '%s'", key, value);
        return 0;
}

static int state_parse_num_vfs(StateParse *p, const char *value, char **reason) {
        unsigned long v;
        char *end;

        if (p->keys & STATE_KEY_NUM_VFS)
                return ini_reason(reason, "duplicate key 'NumVFs'");
        p->keys |= STATE_KEY_NUM_VFS;
        errno = 0;
        v = strtoul(value, &end, 10);
        if (!*value || *value < '0' || *value > '9' || *end || errno != 0 || v > STATE_NUM_VFS_MAX)
                return ini_reason(reason, "NumVFs: not a number of VFs (0 to %u): '%s'", STATE_NUM_VFS_MAX, value);
        p->device->num_vfs = v;
        return 0;
}

static int state_parse_assignments(StateDevice *d, const char *value, char **reason) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        words = strv_split(value);
        if (!words)
                return -ENOMEM;
        for (char **w = words; *w; w++) {
                if (!vm_name_valid(*w))
                        return ini_reason(reason, "Assignments: not a valid VM name: '%s'", *w);
                if (strv_contains(d->assignments, *w))
                        continue;
                r = strv_extend(&d->assignments, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int state_entry(void *userdata, const char *section, const char *key, const char *value,
                       _unused_ unsigned *line, char **reason) {
        StateParse *p = userdata;

        if (!section)
                return 0;
        if (!key)
                return state_parse_section(p, section, reason);

        if (!p->device) {
                if (strcmp(key, "MaintenanceMode") == 0)
                        return state_parse_bool(p, STATE_KEY_MAINTENANCE, key, value,
                                                &p->state.maintenance, reason);
                return ini_reason(reason, "unknown key '%s' in [Manager]", key);
        }

        if (strcmp(key, "Passthrough") == 0)
                return state_parse_bool(p, STATE_KEY_PASSTHROUGH, key, value,
                                        &p->device->passthrough, reason);
        if (strcmp(key, "Assignments") == 0)
                return state_parse_assignments(p->device, value, reason);
        if (strcmp(key, "NumVFs") == 0)
                return state_parse_num_vfs(p, value, reason);
        return ini_reason(reason, "unknown key '%s' in [%s]", key, section);
}

int state_load(const char *dir, PersistentState *ret, char **ret_error) {
        StateParse p = {};
        int r;

        r = ini_parse_file_in(dir, STATE_FILE_NAME, state_entry, &p, ret_error);
        if (r < 0) {
                state_done(&p.state);
                return r;
        }

        *ret = p.state;
        return 0;
}

static bool state_valid(const PersistentState *s) {
        for (size_t i = 0; i < s->n_devices; i++) {
                if (!s->devices[i].address || !pci_address_valid(s->devices[i].address) ||
                    s->devices[i].num_vfs > STATE_NUM_VFS_MAX)
                        return false;
                for (char **a = s->devices[i].assignments; a && *a; a++)
                        if (!vm_name_valid(*a))
                                return false;
        }
        return true;
}

static void state_print(FILE *f, const void *userdata) {
        const PersistentState *s = userdata;

        fprintf(f, "# Written by passthrud; changed through its D-Bus API.\n"
                "[Manager]\n"
                "MaintenanceMode=%s\n", yes_no(s->maintenance));
        for (size_t i = 0; i < s->n_devices; i++) {
                fprintf(f, "\n[Device %s]\nPassthrough=%s\n",
                        s->devices[i].address, yes_no(s->devices[i].passthrough));
                ini_write_list(f, "Assignments", s->devices[i].assignments);
                if (s->devices[i].num_vfs > 0)
                        fprintf(f, "NumVFs=%u\n", s->devices[i].num_vfs);
        }
}

int state_save(const char *dir, const PersistentState *s) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!state_valid(s))
                return -EINVAL;
        r = path_join(dir, STATE_FILE_NAME, &path);
        if (r < 0)
                return r;
        return write_file_atomic_printed(path, 0755, 0644, state_print, s);
}

static void modprobe_conf_print(FILE *f, const void *userdata) {
        char * const *addresses = userdata;

        fputs(MODPROBE_CONF_MARK ": devices marked for passthrough.\n", f);
        if (addresses && addresses[0]) {
                fputs("options passthru hide=", f);
                for (size_t i = 0; addresses[i]; i++)
                        fprintf(f, "(%s)", addresses[i]);
                fputc('\n', f);
        }
}

/* "DDDD:BB:SS.F", or that and a slash and a star: the VFs of the PF there */
static bool modprobe_entry_valid(const char *s) {
        char address[PCI_ADDRESS_LEN];
        size_t n = strlen(s);

        if (n == PCI_ADDRESS_LEN - 1)
                return pci_address_valid(s);
        if (n != PCI_ADDRESS_LEN + 1 || strcmp(s + PCI_ADDRESS_LEN - 1, "/*") != 0)
                return false;
        memcpy(address, s, PCI_ADDRESS_LEN - 1);
        address[PCI_ADDRESS_LEN - 1] = '\0';
        return pci_address_valid(address);
}

int modprobe_conf_owned(const char *path) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file(path, &text, NULL);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return r;
        /* The mark, whole, at the very start; an empty file is nobody's. */
        return strncmp(text, MODPROBE_CONF_MARK, strlen(MODPROBE_CONF_MARK)) == 0;
}

int modprobe_conf_write(const char *path, char * const *addresses) {
        int r;

        for (size_t i = 0; addresses && addresses[i]; i++)
                if (!modprobe_entry_valid(addresses[i]))
                        return -EINVAL;
        r = modprobe_conf_owned(path);
        if (r < 0)
                return r;
        if (r == 0)
                return -EEXIST;
        return write_file_atomic_printed(path, 0755, 0644, modprobe_conf_print, addresses);
}
