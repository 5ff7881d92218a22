/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's kernel command line reader (daemon/cmdline.c), held to what
 * it promises: to read passthru.hide= as passthru.ko does.
 *
 * Input: a first line "DDDD:BB:SS.F VVVV:DDDD [SVVV:SDDD CCCCCC]" (the
 * device; 0000:01:00.0 1234:11e8 when it does not read as one; subsystem
 * ids 1af4:1100 and class 00ff00 when not given or out of their fields'
 * range), then the command line.
 *   1. cmdline_hide_covers() on the command line as it is, into rule
 *      buffers of every small size, must not crash, and must write a
 *      terminated string when it says yes.
 *   2. When the rest has no '"' (so that it is one value), it is given as
 *      passthru.hide="REST", and the answer and the rule text must be what
 *      kmod/hide.c's parser says: the first token that claims the device,
 *      as pt_rule_format() writes it.
 *   3. The rest as a passthru.ids= value: cmdline_ids_value_covers() must
 *      say what kmod/hide.c's ids= parser and rule check say, naming the
 *      same entry.
 */
#include <stdbool.h>
#include <stdio.h>

#include "cmdline.h"
#include "fuzz-util.h"
#include "hide.h"

#include <uapi/linux/passthru.h>

typedef int (*NextRule)(const char **pos, struct pt_rule *rule, struct pt_token *tok, const char **reason);

/*
 * What passthru.ko does with the hide= or ids= value @value (@next its
 * parser) for device @id: the first rule that claims it, in @r and @tok.
 */
static bool module_claims(NextRule next, const char *value, const struct pt_devid *id, struct pt_rule *r,
                          struct pt_token *tok) {
        const char *p = value, *reason;
        int ret;

        while ((ret = next(&p, r, tok, &reason)) != -ENOENT)
                if (ret == 0 && pt_rule_check(r, id) == PT_MATCH)
                        return true;
        return false;
}

/* hide=: the rule in its canonical text, in @rule. */
static bool module_covers(const char *value, const struct pt_devid *id, char *rule, size_t size) {
        struct pt_token tok;
        struct pt_rule r;

        if (!module_claims(pt_hide_next, value, id, &r, &tok))
                return false;
        pt_rule_format(&r, rule, size);
        return true;
}

/* ids=: the claiming entry's text, in @rule. */
static bool module_ids_cover(const char *value, const struct pt_devid *id, char *rule, size_t size) {
        struct pt_token tok;
        struct pt_rule r;

        if (!module_claims(pt_ids_next, value, id, &r, &tok))
                return false;
        snprintf(rule, size, "ids=%.*s", (int) tok.len, tok.text);
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned domain = 0, bus = 1, slot = 0, func = 0, vendor = 0x1234, device = 0x11e8;
        unsigned subvendor = 0x1af4, subdevice = 0x1100, class = 0x00ff00;
        char want_ids[PASSTHRU_RULE_MAX + 8], got_ids[PASSTHRU_RULE_MAX + 8];
        CmdlineIds ids;
        char address[16], first[64] = "", want[PT_RULE_TEXT_LEN], got[PASSTHRU_RULE_MAX + 8];
        const uint8_t *nl = memchr(data, '\n', size);
        size_t first_len = nl ? (size_t) (nl - data) : 0, rest_len;
        struct pt_devid id = {};
        const char *rest;
        char *s, *cmdline;
        bool covered;

        if (first_len < sizeof(first)) {
                memcpy(first, data, first_len);
                first[first_len] = '\0';
                int k = sscanf(first, "%4x:%2x:%2x.%1x %4x:%4x %4x:%4x %6x", &domain, &bus, &slot, &func, &vendor,
                               &device, &subvendor, &subdevice, &class);

                /* sscanf()'s %x takes a sign: "-1" reads as 0xffffffff, no bus a device has. */
                if (k < 6 || domain > 0xffff || bus > 0xff || slot >= 0x20 || func >= 8 || vendor > 0xffff ||
                    device > 0xffff) {
                        domain = slot = func = 0;
                        bus = 1;
                        vendor = 0x1234;
                        device = 0x11e8;
                }
                if (k < 9 || subvendor > 0xffff || subdevice > 0xffff || class > 0xffffff) {
                        subvendor = 0x1af4;
                        subdevice = 0x1100;
                        class = 0x00ff00;
                }
        }
        snprintf(address, sizeof(address), "%04x:%02x:%02x.%x", domain, bus, slot, func);

        s = fuzz_string(data, size);
        rest = nl ? s + first_len + 1 : s;
        rest_len = strlen(rest);

        /* 1: as it is, into exactly sized buffers (a rule is at most 24 characters). */
        for (size_t n = 0; n <= 26; n++) {
                char *buf = malloc(n ?: 1);

                if (!buf)
                        abort();
                if (cmdline_hide_covers(rest, address, vendor, device, buf, n))
                        fuzz_assert(n > 0 && memchr(buf, '\0', n), "a rule that does not fit in %zu bytes", n);
                free(buf);
        }
        /* ... and with the first line as the address, however it reads. */
        (void) cmdline_hide_covers(rest, first, vendor, device, got, sizeof(got));

        /* 3: as a passthru.ids= value, beside passthru.ko's reading of it. */
        id = (struct pt_devid) {
                .domain = (u16) domain,
                .bus = (u8) bus,
                .devfn = (u8) (slot << 3 | func),
                .vendor = (u16) vendor,
                .device = (u16) device,
                .subvendor = (u16) subvendor,
                .subdevice = (u16) subdevice,
                .class = class,
        };
        ids = (CmdlineIds) { .domain = domain, .vendor = vendor, .device = device, .subvendor = subvendor,
                             .subdevice = subdevice, .class = class };
        want_ids[0] = got_ids[0] = '\0';
        covered = module_ids_cover(rest, &id, want_ids, sizeof(want_ids));
        fuzz_assert(cmdline_ids_value_covers(rest, rest + rest_len, &ids, got_ids, sizeof(got_ids)) == covered,
                    "passthru.ko's ids= %s %04x:%04x (%04x:%04x class %06x) by '%s', the hook says it does%s "
                    "(by '%s')", covered ? "claims" : "does not claim", vendor, device, subvendor, subdevice, class,
                    want_ids, covered ? " not" : "", got_ids);
        fuzz_assert(strcmp(want_ids, got_ids) == 0, "passthru.ko's ids= entry is '%s', the hook's '%s'", want_ids,
                    got_ids);

        /* 2: as one passthru.hide= value, beside passthru.ko's reading of it. */
        if (memchr(rest, '"', rest_len)) {
                free(s);
                return 0;
        }
        cmdline = malloc(rest_len + 32);
        if (!cmdline)
                abort();
        snprintf(cmdline, rest_len + 32, "quiet passthru.hide=\"%s\" ro", rest);

        id = (struct pt_devid) {
                .domain = (u16) domain,
                .bus = (u8) bus,
                .devfn = (u8) (slot << 3 | func),
                .vendor = (u16) vendor,
                .device = (u16) device,
        };
        want[0] = got[0] = '\0';
        covered = module_covers(rest, &id, want, sizeof(want));
        fuzz_assert(cmdline_hide_covers(cmdline, address, vendor, device, got, sizeof(got)) == covered,
                    "passthru.ko %s %s %04x:%04x by '%s', passthrud says it does%s (by '%s')",
                    covered ? "claims" : "does not claim", address, vendor, device, want, covered ? " not" : "",
                    got);
        fuzz_assert(strcmp(want, got) == 0, "passthru.ko's rule is '%s', passthrud's '%s'", want, got);

        free(cmdline);
        free(s);
        return 0;
}
