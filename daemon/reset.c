/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "reset.h"
#include "strv.h"
#include "sysfs.h"

/* Tried last, after the device's other methods; first come config_trusted_reset_methods, in their order. */
#define WEAKEST "pm"

static int chain_add(ResetChain *c, const Config *config, const char *method, bool listed) {
        ResetStep *steps;
        char *m;

        for (size_t i = 0; i < c->n_steps; i++)
                if (strcmp(c->steps[i].method, method) == 0)
                        return 0;       /* a device that lists one twice */
        m = strdup(method);
        if (!m)
                return -ENOMEM;
        steps = reallocarray(c->steps, c->n_steps + 1, sizeof(ResetStep));
        if (!steps) {
                free(m);
                return -ENOMEM;
        }
        c->steps = steps;
        c->steps[c->n_steps++] = (ResetStep) {
                .method = m,
                .trusted = config_reset_trusted(config, c->vendor, c->device, method),
                .listed = listed,
        };
        return 0;
}

int reset_chain_init(ResetChain *c, char * const *methods, const Config *config, uint16_t vendor, uint16_t device) {
        _cleanup_reset_chain_ ResetChain new = { .vendor = vendor, .device = device };
        const char *pinned = config_reset_method(config, vendor, device);
        int r;

        if (pinned) {
                bool listed = strv_contains(methods, pinned);

                r = chain_add(&new, config, pinned, listed);
                if (r < 0)
                        return r;
                if (listed)
                        goto done;      /* the administrator's choice: that one alone */
        }

        for (const char *const *k = config_trusted_reset_methods; *k; k++)
                if (strv_contains(methods, *k)) {
                        r = chain_add(&new, config, *k, true);
                        if (r < 0)
                                return r;
                }
        for (size_t i = 0; methods && methods[i]; i++)
                if (strcmp(methods[i], WEAKEST) != 0 && !strv_contains((char **) config_trusted_reset_methods, methods[i])) {
                        r = chain_add(&new, config, methods[i], true);
                        if (r < 0)
                                return r;
                }
        if (strv_contains(methods, WEAKEST)) {
                r = chain_add(&new, config, WEAKEST, true);
                if (r < 0)
                        return r;
        }
done:
        *c = new;
        new = (ResetChain) {};
        return 0;
}

void reset_chain_done(ResetChain *c) {
        for (size_t i = 0; i < c->n_steps; i++)
                free(c->steps[i].method);
        free(c->steps);
        *c = (ResetChain) {};
}

static int default_reset(const char *root, const char *address, const char *method, void *userdata) {
        (void) userdata;
        return sysfs_reset(root, address, method);
}

/* Is a trusted method still to come after step i? */
static bool trusted_after(const ResetChain *c, size_t i) {
        for (size_t k = i + 1; k < c->n_steps; k++)
                if (c->steps[k].listed && c->steps[k].trusted)
                        return true;
        return false;
}

int reset_chain_run(ResetChain *c, const char *root, const char *address, ResetFunc fn, void *userdata) {
        int first = 0;
        bool untrusted_ok = false, any = false;

        if (!fn)
                fn = default_reset;
        for (size_t i = 0; i < c->n_steps; i++) {
                ResetStep *s = &c->steps[i];

                s->tried = true;
                if (!s->listed) {
                        s->result = -EOPNOTSUPP;
                        continue;
                }
                any = true;
                s->result = fn(root, address, s->method, userdata);
                if (s->result > 0)
                        s->result = 0;
                if (s->result == -ENODEV)
                        return -ENODEV;
                if (s->result == 0 && s->trusted)
                        return 0;
                if (s->result == 0) {
                        untrusted_ok = true;
                        /* Worked, but not enough: go on only if something trusted may still work. */
                        if (!trusted_after(c, i))
                                break;
                } else if (first == 0)
                        first = s->result;
        }
        if (!any)
                return -ENOTTY;
        if (untrusted_ok)
                return -EPERM;
        /* -ENOTTY says "no method" to the caller; a method's own ENOTTY is in its result. */
        return first == -ENOTTY ? -EIO : first;
}

int reset_chain_results(const ResetChain *c, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_steps; i++) {
                const ResetStep *s = &c->steps[i];
                _cleanup_free_ char *line = NULL;
                int r;

                if (!s->tried)
                        continue;
                if (!s->listed)
                        r = asprintf(&line, "%s: pinned in [Reset], but not offered by the device", s->method);
                else if (s->result == 0)
                        r = asprintf(&line, "%s: ok%s", s->method, s->trusted ? "" : " (not trusted to clear state)");
                else if (s->result == -ENOTTY)
                        /* The kernel's word for "not this way", also when the device did not come back in time. */
                        r = asprintf(&line, "%s: failed (ENOTTY: unsupported, or the device did not come back; "
                                     "see dmesg)", s->method);
                else
                        r = asprintf(&line, "%s: %s", s->method, strerror(-s->result));
                if (r < 0)
                        return -ENOMEM;
                r = strv_extend(&l, line);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool step_worked(const ResetStep *s) {
        return s->tried && s->listed && s->result == 0;
}

int reset_chain_trust_line(const ResetChain *c, char **ret) {
        const ResetStep *weak = NULL;
        char *line = NULL;

        for (size_t i = 0; i < c->n_steps; i++) {
                const ResetStep *s = &c->steps[i];

                if (!step_worked(s))
                        continue;
                if (s->trusted) {
                        *ret = NULL;    /* enough as it is */
                        return 0;
                }
                if (!weak)
                        weak = s;
        }
        if (weak && asprintf(&line, "[Trust] %04x:%04x=%s", c->vendor, c->device, weak->method) < 0)
                return -ENOMEM;
        *ret = line;
        return 0;
}
