/* SPDX-License-Identifier: GPL-2.0 */
/*
 * passthru.ko's hide= and ids= parsers (kmod/hide.c, built as it is over
 * tests/fuzz/kshim/): every input goes through the hide= loop of
 * kmod/main.c, the ids= loop, and pt_rule_parse() (a HIDE or UNHIDE
 * request's rule).  Beyond not crashing, they must keep their promises:
 * each step consumes input and stays inside it, a bad token says why, a
 * good one is within range, its canonical text fits PT_RULE_TEXT_LEN and
 * parses back to an equal rule, and the rule claims the device it names
 * (a VF rule: a VF of the PF it names, never that PF).
 */
/* As hide.c sees them: BIT(), PCI_ANY_ID, isspace() and skip_spaces(). */
#include <linux/kernel.h>
#include <linux/mod_devicetable.h>
#include <linux/string.h>

#include "fuzz-util.h"
#include "hide.h"

#include <uapi/linux/passthru.h>

typedef int (*next_fn)(const char **pos, struct pt_rule *rule, struct pt_token *tok, const char **reason);

/* A device that @r names: its address and ids, any where the rule takes any. */
static struct pt_devid devid_of(const struct pt_rule *r) {
        struct pt_devid d = {
                .vendor = 0x1234, .device = 0x11e8, .subvendor = 0x8086, .subdevice = 0x0001, .class = 0x020000,
        };

        if (r->kind == PT_RULE_IDS) {
                if (r->vendor != (u32)PCI_ANY_ID)
                        d.vendor = r->vendor;
                if (r->device != (u32)PCI_ANY_ID)
                        d.device = r->device;
                if (r->subvendor != (u32)PCI_ANY_ID)
                        d.subvendor = r->subvendor;
                if (r->subdevice != (u32)PCI_ANY_ID)
                        d.subdevice = r->subdevice;
                d.class = r->class;
                return d;
        }
        d.domain = r->domain;
        d.bus = r->bus;
        d.devfn = (u8)(r->slot << 3 | r->func);
        if (r->flags & PT_RULE_VFS) {
                /* A VF of the PF the rule names, at some address of its own. */
                d.is_vf = true;
                d.pf_domain = r->domain;
                d.pf_bus = r->bus;
                d.pf_devfn = d.devfn;
                d.bus = (u8)(r->bus + 1);
                d.vf = (r->flags & PT_RULE_ANY_VF) ? 3 : r->vf;
        }
        if (r->flags & PT_RULE_PIN_IDS) {
                d.vendor = r->vendor;
                d.device = r->device;
        }
        return d;
}

static void check_rule(const struct pt_rule *r, const struct pt_token *tok) {
        char text[PT_RULE_TEXT_LEN], again[PT_RULE_TEXT_LEN];
        struct pt_rule back;
        struct pt_devid d;
        const char *reason = NULL, *p;
        int n, ret;

        fuzz_assert(tok->len <= PASSTHRU_RULE_MAX, "a good token of %zu characters", tok->len);
        if (r->kind == PT_RULE_ADDR) {
                fuzz_assert(r->slot < 0x20 && r->func < 8, "slot %x, function %x", r->slot, r->func);
                fuzz_assert(!(r->flags & ~(PT_RULE_ANY_SLOT | PT_RULE_ANY_FUNC | PT_RULE_PIN_IDS | PT_RULE_VFS |
                                           PT_RULE_ANY_VF)),
                            "flags %x", r->flags);
                fuzz_assert(!(r->flags & PT_RULE_ANY_SLOT) || (r->flags & PT_RULE_ANY_FUNC), "*.* without .*");
                fuzz_assert(!(r->flags & PT_RULE_ANY_VF) || (r->flags & PT_RULE_VFS), "/* without a VF rule");
                fuzz_assert(!(r->flags & PT_RULE_VFS) || !(r->flags & PT_RULE_ANY_FUNC),
                            "the VFs of a wildcard");
                fuzz_assert(r->vendor <= 0xffff && r->device <= 0xffff, "pinned ids %x:%x", r->vendor,
                            r->device);
        } else {
                fuzz_assert(r->kind == PT_RULE_IDS, "rule kind %u", r->kind);
                fuzz_assert(r->class <= 0xffffff && r->class_mask <= 0xffffff, "class %x, mask %x", r->class,
                            r->class_mask);
        }

        /* The canonical text fits, and reads back as the same rule, and is a fixed point. */
        n = pt_rule_format(r, text, sizeof(text));
        fuzz_assert(n >= 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n,
                    "pt_rule_format() returned %d for '%s'", n, text);
        if (r->kind == PT_RULE_ADDR) {
                ret = pt_rule_parse(text, &back, &reason);
        } else {
                fuzz_assert(strncmp(text, "ids ", 4) == 0, "ids rule formatted as '%s'", text);
                p = text + 4;
                ret = pt_ids_next(&p, &back, &(struct pt_token){}, &reason);
        }
        fuzz_assert(ret == 0, "'%s' does not parse back: %s", text, reason ?: "?");
        fuzz_assert(pt_rule_equal(r, &back) && pt_rule_equal(&back, r), "'%s' parses back as another rule", text);
        pt_rule_format(&back, again, sizeof(again));
        fuzz_assert(strcmp(text, again) == 0, "'%s' formats back as '%s'", text, again);

        /* It claims what it names; a pin refuses other ids. */
        d = devid_of(r);
        fuzz_assert(pt_rule_check(r, &d) == PT_MATCH, "'%s' does not claim the device it names", text);
        if (r->kind == PT_RULE_ADDR && (r->flags & PT_RULE_PIN_IDS)) {
                d.device ^= 1;
                fuzz_assert(pt_rule_check(r, &d) == PT_MISMATCH, "'%s' claims other ids", text);
                d.device ^= 1;
        }
        /* A VF rule never claims the PF, nor another PF's VFs. */
        if (r->flags & PT_RULE_VFS) {
                struct pt_devid pf = d;

                pf.is_vf = false;
                pf.bus = r->bus;
                fuzz_assert(pt_rule_check(r, &pf) == PT_NO_MATCH, "'%s' claims its PF", text);
                d.pf_devfn ^= 1;
                fuzz_assert(pt_rule_check(r, &d) == PT_NO_MATCH, "'%s' claims another PF's VF", text);
        }
        fuzz_assert(pt_rule_exact(r) == (r->kind == PT_RULE_ADDR && !(r->flags & (PT_RULE_ANY_FUNC | PT_RULE_VFS))),
                    "pt_rule_exact('%s')", text);
}

/* The loop of kmod/main.c's pt_add_rules(), with every step checked. */
static void parse_all(const char *s, size_t size, next_fn next, bool hide) {
        const char *pos = s, *end = s + size, *before, *reason;
        struct pt_token tok;
        struct pt_rule rule;
        size_t steps = 0;
        int ret;

        for (;;) {
                before = pos;
                reason = NULL;
                memset(&tok, 0xa5, sizeof(tok));
                ret = next(&pos, &rule, &tok, &reason);
                if (ret == -ENOENT) {
                        fuzz_assert(pos == before, "-ENOENT moved the position");
                        fuzz_assert(!*(hide ? skip_spaces(pos) : pos), "-ENOENT with '%s' left", pos);
                        return;
                }
                fuzz_assert(ret == 0 || ret == -EINVAL, "returned %d", ret);
                fuzz_assert(pos > before && pos <= end, "no progress, or past the end (%td of %zu)", pos - s, size);
                fuzz_assert(++steps <= size, "more steps than characters");
                fuzz_assert(tok.text >= before && tok.len <= (size_t)(end - tok.text),
                            "the token lies outside the input");
                fuzz_assert(!hide || tok.len > 0, "an empty hide= token");
                if (ret == 0)
                        check_rule(&rule, &tok);
                else
                        fuzz_assert(reason && *reason, "a bad token without a reason");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct pt_rule rule;
        const char *reason;
        char *s;
        size_t n;

        /* Module parameters and netlink strings end at the first NUL. */
        s = fuzz_string(data, size);
        n = strlen(s);

        parse_all(s, n, pt_hide_next, true);
        parse_all(s, n, pt_ids_next, false);

        reason = NULL;
        if (pt_rule_parse(s, &rule, &reason) == 0) {
                const char *p = skip_spaces(s);
                size_t len = strlen(p);

                /* One token, maybe with whitespace after it. */
                while (len > 0 && isspace(p[len - 1]))
                        len--;
                check_rule(&rule, &(struct pt_token){ .text = p, .len = len });
        } else {
                fuzz_assert(reason && *reason, "pt_rule_parse() refused '%s' without a reason", s);
        }

        free(s);
        return 0;
}
