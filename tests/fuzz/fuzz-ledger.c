/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lease ledger (/run/passthru/leases) through ledger_load(), as
 * passthrud reads it at start to find the leases it granted before a
 * restart: the input is the file.  Beyond not crashing or leaking: a
 * refused file leaves *ret untouched and says why ("PATH:LINE: reason"); an
 * accepted one holds only valid leases, no group or device twice, and
 * ledger_save() writes it back to a file that ledger_load() reads as the
 * same ledger.
 */
#include "fuzz-util.h"
#include "ledger.h"
#include "state.h"
#include "strv.h"

static bool ledger_equal(const Ledger *a, const Ledger *b) {
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++) {
                const LedgerEntry *x = &a->entries[i], *y = &b->entries[i];

                if (x->group != y->group || strcmp(x->vm, y->vm) != 0 || x->pid != y->pid ||
                    x->start_time != y->start_time || x->uid != y->uid || x->node_owner != y->node_owner ||
                    x->returning != y->returning ||
                    strv_length(x->devices) != strv_length(y->devices))
                        return false;
                for (size_t j = 0; x->devices[j]; j++)
                        if (strcmp(x->devices[j], y->devices[j]) != 0)
                                return false;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Ledger l, back, untouched;
        char again[4200], *error = NULL;
        const char *dir = fuzz_dir();
        int r;

        fuzz_write(dir, LEDGER_FILE_NAME, data, size);

        memset(&l, 0x5a, sizeof(l));
        untouched = l;
        r = ledger_load(dir, &l, &error);
        if (r < 0) {
                fuzz_assert(r == -EINVAL || r == -ENOMEM, "ledger_load() failed with %d", r);
                fuzz_assert(r == -ENOMEM || (error && strncmp(error, dir, strlen(dir)) == 0),
                            "refused without saying where: '%s'", error ?: "(null)");
                fuzz_assert(memcmp(&l, &untouched, sizeof(l)) == 0, "a refused file changed *ret");
                free(error);
                return 0;
        }
        fuzz_assert(!error, "accepted, with an error: '%s'", error);

        for (size_t i = 0; i < l.n; i++) {
                LedgerEntry *e = &l.entries[i];

                fuzz_assert(e->group >= 0 && e->pid > 0 && e->uid != LEDGER_NO_UID, "[Lease %d]: pid %d, uid %u",
                            e->group, (int) e->pid, (unsigned) e->uid);
                fuzz_assert(e->vm && vm_name_valid(e->vm), "[Lease %d]: VM '%s'", e->group, e->vm ?: "(null)");
                fuzz_assert(e->devices && e->devices[0], "[Lease %d]: no device", e->group);
                fuzz_assert(ledger_find_group(&l, e->group) == e, "[Lease %d] twice", e->group);
                for (char **d = e->devices; *d; d++) {
                        fuzz_assert(pci_address_valid(*d), "[Lease %d]: device '%s'", e->group, *d);
                        fuzz_assert(ledger_find_device(&l, *d) == e, "[Lease %d]: %s in another lease", e->group,
                                    *d);
                        for (char **o = e->devices; o < d; o++)
                                fuzz_assert(strcmp(*o, *d) != 0, "[Lease %d]: %s twice", e->group, *d);
                }
        }

        /* What passthrud writes, it reads back as the same. */
        snprintf(again, sizeof(again), "%s/again", dir);
        r = ledger_save(again, &l);
        fuzz_assert(r == 0, "ledger_save() of an accepted ledger failed: %d", r);
        r = ledger_load(again, &back, &error);
        fuzz_assert(r == 0, "the saved ledger does not load back: %s", error ?: "(null)");
        fuzz_assert(ledger_equal(&l, &back), "the saved ledger loads back as another");

        /* Dropping the leases one by one, from the middle, empties it. */
        while (back.n > 0)
                fuzz_assert(ledger_remove(&back, back.entries[back.n / 2].group), "ledger_remove()");
        ledger_done(&back);
        ledger_done(&l);
        return 0;
}
