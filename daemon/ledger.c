/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "ledger.h"
#include "macro.h"
#include "passthru-names.h"
#include "state.h"
#include "strv.h"

static void ledger_entry_done(LedgerEntry *e) {
        strv_free(e->devices);
        free(e->vm);
}

void ledger_done(Ledger *l) {
        for (size_t i = 0; i < l->n; i++)
                ledger_entry_done(&l->entries[i]);
        free(l->entries);
        *l = (Ledger) {};
}

LedgerEntry *ledger_find_group(Ledger *l, int group) {
        for (size_t i = 0; i < l->n; i++)
                if (l->entries[i].group == group)
                        return &l->entries[i];
        return NULL;
}

LedgerEntry *ledger_find_device(Ledger *l, const char *address) {
        for (size_t i = 0; i < l->n; i++)
                if (strv_contains(l->entries[i].devices, address))
                        return &l->entries[i];
        return NULL;
}

static bool ledger_entry_valid(const LedgerEntry *e) {
        if (e->group < 0 || e->pid <= 0 || e->uid == LEDGER_NO_UID)
                return false;
        if (!e->vm || !vm_name_valid(e->vm))
                return false;
        if (!e->devices || !e->devices[0])
                return false;
        for (size_t i = 0; e->devices[i]; i++) {
                if (!pci_address_valid(e->devices[i]))
                        return false;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(e->devices[i], e->devices[j]) == 0)
                                return false;
        }
        return true;
}

int ledger_add(Ledger *l, const LedgerEntry *e) {
        _cleanup_strv_free_ char **devices = NULL;
        _cleanup_free_ char *vm = NULL;
        LedgerEntry *entries;

        if (!ledger_entry_valid(e))
                return -EINVAL;
        if (ledger_find_group(l, e->group))
                return -EEXIST;
        for (size_t i = 0; e->devices[i]; i++)
                if (ledger_find_device(l, e->devices[i]))
                        return -EBUSY;

        devices = strv_copy(e->devices);
        vm = strdup(e->vm);
        if (!devices || !vm)
                return -ENOMEM;
        entries = reallocarray(l->entries, l->n + 1, sizeof(LedgerEntry));
        if (!entries)
                return -ENOMEM;
        l->entries = entries;
        l->entries[l->n++] = (LedgerEntry) {
                .group = e->group,
                .devices = TAKE_PTR(devices),
                .vm = TAKE_PTR(vm),
                .pid = e->pid,
                .start_time = e->start_time,
                .uid = e->uid,
                .node_owner = e->node_owner,
                .returning = e->returning,
        };
        return 0;
}

const char *ledger_reason_from_string(const char *name) {
#define PT_LEASE_REASON_MATCH_(id, text) \
        if (strcmp(name, text) == 0)     \
                return PT_LEASE_REASON_##id;
        PT_LEASE_REASONS(PT_LEASE_REASON_MATCH_)
#undef PT_LEASE_REASON_MATCH_
        return NULL;
}

bool ledger_remove(Ledger *l, int group) {
        LedgerEntry *e = ledger_find_group(l, group);
        size_t i;

        if (!e)
                return false;
        i = (size_t) (e - l->entries);
        ledger_entry_done(e);
        memmove(e, e + 1, (l->n - i - 1) * sizeof(LedgerEntry));
        l->n--;
        return true;
}

enum {
        LEDGER_KEY_DEVICES    = 1 << 0,
        LEDGER_KEY_VM         = 1 << 1,
        LEDGER_KEY_PID        = 1 << 2,
        LEDGER_KEY_START_TIME = 1 << 3,
        LEDGER_KEY_UID        = 1 << 4,
        LEDGER_KEY_NODE_OWNER = 1 << 5,
        LEDGER_KEY_RETURNING  = 1 << 6,
};

static const struct {
        unsigned bit;
        const char *key;
} ledger_required[] = {
        { LEDGER_KEY_DEVICES,    "Devices" },
        { LEDGER_KEY_VM,         "Vm" },
        { LEDGER_KEY_PID,        "Pid" },
        { LEDGER_KEY_START_TIME, "StartTime" },
        { LEDGER_KEY_UID,        "Uid" },
};

typedef struct LedgerParse {
        Ledger ledger;
        bool in_lease;                  /* the last entry is the current section */
        unsigned keys;                  /* the keys seen in it */
        unsigned section_line;          /* and its header's line */
} LedgerParse;

static LedgerEntry *ledger_parse_current(LedgerParse *p) {
        return p->in_lease ? &p->ledger.entries[p->ledger.n - 1] : NULL;
}

/* The section that just ended must have every required key. */
static int ledger_parse_finish(LedgerParse *p, unsigned *line, char **reason) {
        LedgerEntry *e = ledger_parse_current(p);

        if (!e)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(ledger_required); i++)
                if (!(p->keys & ledger_required[i].bit)) {
                        *line = p->section_line;
                        return ini_reason(reason, "[Lease %d]: no %s=", e->group, ledger_required[i].key);
                }
        if (!e->devices || !e->devices[0]) {
                *line = p->section_line;
                return ini_reason(reason, "[Lease %d]: Devices= lists no device", e->group);
        }
        return 0;
}

static int ledger_parse_section(LedgerParse *p, const char *section, unsigned *line, char **reason) {
        LedgerEntry *entries;
        const char *number;
        uint64_t group;
        int r;

        r = ledger_parse_finish(p, line, reason);
        if (r < 0)
                return r;
        p->in_lease = false;
        p->keys = 0;
        p->section_line = *line;

        if (strncmp(section, "Lease ", 6) != 0)
                return ini_reason(reason, "unknown section [%s]", section);
        number = section + 6;
        r = parse_uint64(number, INT_MAX, &group);
        if (r < 0)
                return ini_reason(reason, "[%s]: not an IOMMU group number (0..%d)", section, INT_MAX);
        if (ledger_find_group(&p->ledger, (int) group))
                return ini_reason(reason, "duplicate section for group %d: [%s]", (int) group, section);

        entries = reallocarray(p->ledger.entries, p->ledger.n + 1, sizeof(LedgerEntry));
        if (!entries)
                return -ENOMEM;
        p->ledger.entries = entries;
        p->ledger.entries[p->ledger.n++] = (LedgerEntry) {
                .group = (int) group,
                .uid = LEDGER_NO_UID,
                .node_owner = LEDGER_NO_UID,
        };
        p->in_lease = true;
        return 0;
}

static int ledger_parse_devices(LedgerParse *p, LedgerEntry *e, const char *value, char **reason) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        words = strv_split(value);
        if (!words)
                return -ENOMEM;
        for (char **w = words; *w; w++) {
                LedgerEntry *other;

                if (!pci_address_valid(*w))
                        return ini_reason(reason, "Devices: not a valid PCI address: '%s'", *w);
                other = ledger_find_device(&p->ledger, *w);
                if (other == e)
                        return ini_reason(reason, "Devices: %s listed twice", *w);
                if (other)
                        return ini_reason(reason, "Devices: %s is also in [Lease %d]", *w, other->group);
                r = strv_extend(&e->devices, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int ledger_parse_number(const char *key, const char *value, uint64_t min, uint64_t max,
                               uint64_t *ret, char **reason) {
        int r;

        r = parse_uint64(value, max, ret);
        if (r == -EINVAL)
                return ini_reason(reason, "%s: not a number: '%s'", key, value);
        if (r < 0 || *ret < min)
                return ini_reason(reason, "%s: out of range (%" PRIu64 "..%" PRIu64 "): '%s'",
                                  key, min, max, value);
        return 0;
}

static int ledger_entry(void *userdata, const char *section, const char *key, const char *value,
                        unsigned *line, char **reason) {
        LedgerParse *p = userdata;
        LedgerEntry *e;
        unsigned bit;
        uint64_t v;
        int r;

        if (!section)
                return ledger_parse_finish(p, line, reason);
        if (!key)
                return ledger_parse_section(p, section, line, reason);

        e = ledger_parse_current(p);
        if (!e)
                return -EINVAL;         /* not reached: a failed section stops the parse */

        if (strcmp(key, "Devices") == 0) {
                p->keys |= LEDGER_KEY_DEVICES;
                return ledger_parse_devices(p, e, value, reason);
        }

        if (strcmp(key, "Vm") == 0)
                bit = LEDGER_KEY_VM;
        else if (strcmp(key, "Pid") == 0)
                bit = LEDGER_KEY_PID;
        else if (strcmp(key, "StartTime") == 0)
                bit = LEDGER_KEY_START_TIME;
        else if (strcmp(key, "Uid") == 0)
                bit = LEDGER_KEY_UID;
        else if (strcmp(key, "NodeOwner") == 0)
                bit = LEDGER_KEY_NODE_OWNER;
        else if (strcmp(key, "Returning") == 0)
                bit = LEDGER_KEY_RETURNING;
        else
                return ini_reason(reason, "unknown key '%s' in [%s]", key, section);

        if (p->keys & bit)
                return ini_reason(reason, "duplicate key '%s'", key);
        p->keys |= bit;

        switch (bit) {
        case LEDGER_KEY_VM:
                if (!vm_name_valid(value))
                        return ini_reason(reason, "Vm: not a valid VM name: '%s'", value);
                e->vm = strdup(value);
                return e->vm ? 0 : -ENOMEM;

        case LEDGER_KEY_PID:
                r = ledger_parse_number(key, value, 1, INT_MAX, &v, reason);
                if (r < 0)
                        return r;
                e->pid = (pid_t) v;
                return 0;

        case LEDGER_KEY_START_TIME:
                return ledger_parse_number(key, value, 0, UINT64_MAX, &e->start_time, reason);

        case LEDGER_KEY_RETURNING:
                e->returning = ledger_reason_from_string(value);
                if (!e->returning)
                        return ini_reason(reason, "Returning: not a reason a lease ends for: '%s'", value);
                return 0;

        default:
                /* Uid, NodeOwner: (uid_t) -1 means "none" and is no uid. */
                r = ledger_parse_number(key, value, 0, (uid_t) -2, &v, reason);
                if (r < 0)
                        return r;
                if (bit == LEDGER_KEY_UID)
                        e->uid = (uid_t) v;
                else
                        e->node_owner = (uid_t) v;
                return 0;
        }
}

int ledger_load(const char *dir, Ledger *ret, char **ret_error) {
        LedgerParse p = {};
        int r;

        r = ini_parse_file_in(dir, LEDGER_FILE_NAME, ledger_entry, &p, ret_error);
        if (r < 0) {
                ledger_done(&p.ledger);
                return r;
        }

        *ret = p.ledger;
        return 0;
}

static bool ledger_valid(const Ledger *l) {
        for (size_t i = 0; i < l->n; i++) {
                if (!ledger_entry_valid(&l->entries[i]))
                        return false;
                for (size_t j = 0; j < i; j++) {
                        if (l->entries[i].group == l->entries[j].group)
                                return false;
                        for (char **d = l->entries[i].devices; *d; d++)
                                if (strv_contains(l->entries[j].devices, *d))
                                        return false;
                }
        }
        return true;
}

static void ledger_print(FILE *f, const void *userdata) {
        const Ledger *l = userdata;

        fputs("# Written by passthrud: the active leases, and those on their way back.\n", f);
        for (size_t i = 0; i < l->n; i++) {
                const LedgerEntry *e = &l->entries[i];

                fprintf(f, "\n[Lease %d]\n", e->group);
                ini_write_list(f, "Devices", e->devices);
                fprintf(f, "Vm=%s\nPid=%d\nStartTime=%" PRIu64 "\nUid=%u\n",
                        e->vm, (int) e->pid, e->start_time, (unsigned) e->uid);
                if (e->node_owner != LEDGER_NO_UID)
                        fprintf(f, "NodeOwner=%u\n", (unsigned) e->node_owner);
                if (e->returning)
                        fprintf(f, "Returning=%s\n", e->returning);
        }
}

int ledger_format(const Ledger *l, char **ret) {
        if (!ledger_valid(l))
                return -EINVAL;
        return print_to_string(ledger_print, l, ret);
}

int ledger_write_at(int dirfd, const char *text, bool durable) {
        return write_file_atomic_at(dirfd, LEDGER_FILE_NAME, text, 0600, durable);
}

int ledger_save_at(int dirfd, const Ledger *l, bool durable) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = ledger_format(l, &text);
        if (r < 0)
                return r;
        return ledger_write_at(dirfd, text, durable);
}

int ledger_save(const char *dir, const Ledger *l) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!ledger_valid(l))
                return -EINVAL;
        r = path_join(dir, LEDGER_FILE_NAME, &path);
        if (r < 0)
                return r;
        return write_file_atomic_printed(path, 0700, 0600, ledger_print, l);
}
