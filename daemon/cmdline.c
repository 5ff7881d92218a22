/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmdline.h"

/* One hex field of 1-8 digits with an optional 0x, at most @max, as passthru.ko reads them. */
static int parse_hex(const char **p, const char *end, unsigned max, unsigned *ret) {
        unsigned v = 0;
        int n = 0;

        if (end - *p > 2 && (*p)[0] == '0' && ((*p)[1] == 'x' || (*p)[1] == 'X') && isxdigit((unsigned char) (*p)[2]))
                *p += 2;

        while (*p < end && isxdigit((unsigned char) **p)) {
                if (++n > 8)
                        return -EINVAL;
                v = v * 16 + (unsigned) (isdigit((unsigned char) **p) ? **p - '0' : (tolower(**p) - 'a' + 10));
                (*p)++;
        }
        if (n == 0 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int expect(const char **p, const char *end, char c) {
        if (*p >= end || **p != c)
                return -EINVAL;
        (*p)++;
        return 0;
}

int hide_token_canonical(const char *token, size_t len, char *buf, size_t size) {
        const char *p = token, *end = token + len;
        unsigned a, b, domain = 0, bus, slot, func, vendor = 0, device = 0;
        bool ids = false;
        int n;

        if (expect(&p, end, '(') < 0 || parse_hex(&p, end, 0xffff, &a) < 0 || expect(&p, end, ':') < 0 ||
            parse_hex(&p, end, 0xff, &b) < 0)
                return -EINVAL;
        if (p < end && *p == ':') {
                p++;
                if (a > 0xffff || b > 0xff || parse_hex(&p, end, 0x1f, &slot) < 0)
                        return -EINVAL;
                domain = a;
                bus = b;
        } else {
                if (a > 0xff || b > 0x1f)
                        return -EINVAL;
                bus = a;
                slot = b;
        }
        if (expect(&p, end, '.') < 0 || parse_hex(&p, end, 0x7, &func) < 0)
                return -EINVAL;
        if (p < end && *p == '=') {
                p++;
                if (parse_hex(&p, end, 0xffff, &vendor) < 0 || expect(&p, end, ':') < 0 ||
                    parse_hex(&p, end, 0xffff, &device) < 0)
                        return -EINVAL;
                ids = true;
        }
        if (expect(&p, end, ')') < 0 || p != end)
                return -EINVAL;
        if (ids)
                n = snprintf(buf, size, "(%04x:%02x:%02x.%x=%04x:%04x)", domain, bus, slot, func, vendor, device);
        else
                n = snprintf(buf, size, "(%04x:%02x:%02x.%x)", domain, bus, slot, func);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

/* Does the hide= value [v, end) hold @canonical among its tokens? */
static bool value_holds(const char *v, const char *end, const char *canonical) {
        while (v < end) {
                const char *close;
                char buf[64];

                if (*v != '(') {
                        v++;    /* whitespace between tokens, or junk the module refused */
                        continue;
                }
                close = memchr(v, ')', (size_t) (end - v));
                if (!close)
                        return false;
                if (hide_token_canonical(v, (size_t) (close + 1 - v), buf, sizeof(buf)) == 0 &&
                    strcmp(buf, canonical) == 0)
                        return true;
                v = close + 1;
        }
        return false;
}

bool cmdline_hides_rule(const char *cmdline, const char *canonical) {
        static const char key[] = "passthru.hide=";

        for (const char *p = strstr(cmdline, key); p; p = strstr(p + 1, key)) {
                const char *v = p + strlen(key), *end;

                if (p != cmdline && !isspace((unsigned char) p[-1]))
                        continue;
                if (*v == '"') {
                        end = strchr(++v, '"');
                        if (!end)
                                end = v + strlen(v);
                } else
                        for (end = v; *end && !isspace((unsigned char) *end); end++)
                                ;
                if (value_holds(v, end, canonical))
                        return true;
        }
        return false;
}
