/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /var/lib/passthru/state through state_load(), as passthrud reads it at
 * start: the input is the file.  Beyond not crashing or leaking: a refused
 * file leaves *ret untouched and says why ("PATH:LINE: reason"); an
 * accepted one holds only valid names, each device once, and state_save()
 * writes it back to a file that state_load() reads as the same state.
 */
#include "fuzz-util.h"
#include "state.h"
#include "strv.h"

static bool state_equal(const PersistentState *a, const PersistentState *b) {
        if (a->maintenance != b->maintenance || a->n_devices != b->n_devices)
                return false;
        for (size_t i = 0; i < a->n_devices; i++) {
                const StateDevice *x = &a->devices[i], *y = &b->devices[i];

                if (strcmp(x->address, y->address) != 0 || x->passthrough != y->passthrough || x->num_vfs != y->num_vfs ||
                    strv_length(x->assignments) != strv_length(y->assignments))
                        return false;
                for (size_t j = 0; x->assignments && x->assignments[j]; j++)
                        if (strcmp(x->assignments[j], y->assignments[j]) != 0)
                                return false;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PersistentState s, back, untouched;
        char again[4200], *error = NULL;
        const char *dir = fuzz_dir();
        int r;

        fuzz_write(dir, STATE_FILE_NAME, data, size);

        memset(&s, 0x5a, sizeof(s));
        untouched = s;
        r = state_load(dir, &s, &error);
        if (r < 0) {
                fuzz_assert(r == -EINVAL || r == -ENOMEM, "state_load() failed with %d", r);
                fuzz_assert(r == -ENOMEM || (error && strncmp(error, dir, strlen(dir)) == 0),
                            "refused without saying where: '%s'", error ?: "(null)");
                fuzz_assert(memcmp(&s, &untouched, sizeof(s)) == 0, "a refused file changed *ret");
                free(error);
                return 0;
        }
        fuzz_assert(!error, "accepted, with an error: '%s'", error);

        for (size_t i = 0; i < s.n_devices; i++) {
                const StateDevice *d = &s.devices[i];

                fuzz_assert(pci_address_valid(d->address), "device '%s'", d->address);
                for (size_t j = 0; j < i; j++)
                        fuzz_assert(strcmp(s.devices[j].address, d->address) != 0, "%s twice", d->address);
                for (char **a = d->assignments; a && *a; a++) {
                        fuzz_assert(vm_name_valid(*a), "%s: VM '%s'", d->address, *a);
                        for (char **b = d->assignments; b < a; b++)
                                fuzz_assert(strcmp(*a, *b) != 0, "%s: VM %s twice", d->address, *a);
                }
                fuzz_assert(state_find_device(&s, d->address) == d, "%s: lookup", d->address);
        }

        /* What passthrud writes, it reads back as the same. */
        snprintf(again, sizeof(again), "%s/again", dir);
        r = state_save(again, &s);
        fuzz_assert(r == 0, "state_save() of an accepted state failed: %d", r);
        r = state_load(again, &back, &error);
        fuzz_assert(r == 0, "the saved state does not load back: %s", error ?: "(null)");
        fuzz_assert(state_equal(&s, &back), "the saved state loads back as another");

        state_done(&back);
        state_done(&s);
        return 0;
}
