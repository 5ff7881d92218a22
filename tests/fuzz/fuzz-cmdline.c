/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's kernel command line reader (daemon/cmdline.c), held to what
 * it promises: to read passthru.hide= as passthru.ko does.
 *
 * Input: a first line "DDDD:BB:SS.F VVVV:DDDD" (the device; 0000:01:00.0
 * 1234:11e8 when it does not read as one), then the command line.
 *   1. cmdline_hide_covers() on the command line as it is, into rule
 *      buffers of every small size, must not crash, and must write a
 *      terminated string when it says yes.
 *   2. When the rest has no '"' (so that it is one value), it is given as
 *      passthru.hide="REST", and the answer and the rule text must be what
 *      kmod/hide.c's parser says: the first token that claims the device,
 *      as pt_rule_format() writes it.
 */
#include <stdbool.h>
#include <stdio.h>

#include "cmdline.h"
#include "fuzz-util.h"
#include "hide.h"

#include <uapi/linux/passthru.h>

/* What passthru.ko does with the hide= value @value for device @id. */
static bool module_covers(const char *value, const struct pt_devid *id, char *rule, size_t size) {
        const char *p = value, *reason;
        struct pt_token tok;
        struct pt_rule r;
        int ret;

        while ((ret = pt_hide_next(&p, &r, &tok, &reason)) != -ENOENT)
                if (ret == 0 && pt_rule_check(&r, id) == PT_MATCH) {
                        pt_rule_format(&r, rule, size);
                        return true;
                }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned domain = 0, bus = 1, slot = 0, func = 0, vendor = 0x1234, device = 0x11e8;
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
                if (sscanf(first, "%4x:%2x:%2x.%1x %4x:%4x", &domain, &bus, &slot, &func, &vendor, &device) != 6 ||
                    slot >= 0x20 || func >= 8) {
                        domain = slot = func = 0;
                        bus = 1;
                        vendor = 0x1234;
                        device = 0x11e8;
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
