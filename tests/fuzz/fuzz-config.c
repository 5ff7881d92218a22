/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/passthru/passthru.conf through config_load(), as passthrud reads it
 * at start and on reload: the input is the file.  Beyond not crashing or
 * leaking: a refused file leaves the old settings exactly as they were and
 * says why ("PATH:LINE: reason"); an accepted one holds only what
 * config.h allows.
 */
#include "config.h"
#include "fuzz-util.h"
#include "macro.h"
#include "strv.h"

static bool config_same(const Config *a, const Config *b) {
        return a->group == b->group && a->max_devices_per_vm == b->max_devices_per_vm &&
                a->max_active_devices == b->max_active_devices && a->revoke_grace_usec == b->revoke_grace_usec &&
                a->allow_unsafe_interrupts == b->allow_unsafe_interrupts &&
                a->max_memory_bytes == b->max_memory_bytes && a->reset_pins == b->reset_pins &&
                a->n_reset_pins == b->n_reset_pins && a->trusts == b->trusts && a->n_trusts == b->n_trusts;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_done) Config c = {};
        char path[4200], *error = NULL;
        Config before;
        int r;

        fuzz_write(fuzz_dir(), "passthru.conf", data, size);
        snprintf(path, sizeof(path), "%s/passthru.conf", fuzz_dir());

        if (config_init(&c) < 0)
                abort();
        before = c;
        r = config_load(&c, path, &error);
        if (r < 0) {
                fuzz_assert(r == -EINVAL || r == -ENOMEM, "config_load() failed with %d", r);
                fuzz_assert(r == -ENOMEM || (error && strncmp(error, path, strlen(path)) == 0 &&
                                             error[strlen(path)] == ':'),
                            "refused without saying where: '%s'", error ?: "(null)");
                fuzz_assert(config_same(&c, &before), "a refused file changed the settings");
                free(error);
                return 0;
        }
        fuzz_assert(!error, "accepted, with an error: '%s'", error);

        fuzz_assert(c.group && group_name_valid(c.group), "Group '%s'", c.group ?: "(null)");
        fuzz_assert(c.revoke_grace_usec <= CONFIG_REVOKE_GRACE_SEC_MAX * UINT64_C(1000000), "RevokeGraceSec %llu us",
                    (unsigned long long) c.revoke_grace_usec);
        (void) config_max_memory_bytes(&c);
        for (size_t i = 0; i < c.n_reset_pins; i++) {
                const ConfigResetPin *p = &c.reset_pins[i];

                fuzz_assert(p->method && *p->method && strspn(p->method, "abcdefghijklmnopqrstuvwxyz_") ==
                                                                strlen(p->method),
                            "[Reset] method '%s'", p->method ?: "(null)");
                for (size_t j = 0; j < i; j++)
                        fuzz_assert(c.reset_pins[j].vendor != p->vendor || c.reset_pins[j].device != p->device,
                                    "[Reset] %04x:%04x twice", p->vendor, p->device);
                fuzz_assert(config_reset_method(&c, p->vendor, p->device) == p->method, "[Reset] lookup");
        }
        for (size_t i = 0; i < c.n_trusts; i++) {
                const ConfigTrust *t = &c.trusts[i];

                fuzz_assert(t->methods && t->methods[0], "[Trust] %04x:%04x without methods", t->vendor, t->device);
                for (char **m = t->methods; *m; m++) {
                        fuzz_assert(strv_contains((char **) config_known_reset_methods, *m), "[Trust] method '%s'",
                                    *m);
                        fuzz_assert(config_reset_trusted(&c, t->vendor, t->device, *m), "[Trust] %s not trusted",
                                    *m);
                }
                for (size_t j = 0; j < i; j++)
                        fuzz_assert(c.trusts[j].vendor != t->vendor || c.trusts[j].device != t->device,
                                    "[Trust] %04x:%04x twice", t->vendor, t->device);
        }
        return 0;
}
