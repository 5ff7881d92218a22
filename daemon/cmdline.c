/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/passthru.h>

#include "cmdline.h"

typedef struct HideToken {
        unsigned domain, bus, slot, func, vendor, device;
        bool any_slot, any_func, ids;
        bool vfs, any_vf;       /* (PF/N), or a star for N: VFs of the PF at domain:bus:slot.func */
        unsigned vf;
} HideToken;

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

static bool skip(const char **p, const char *end, const char *s) {
        size_t n = strlen(s);

        if ((size_t) (end - *p) < n || strncmp(*p, s, n) != 0)
                return false;
        *p += n;
        return true;
}

/* "(" [DDDD:]BB:SS.F ["/" N-or-star] | [DDDD:]BB:SS.* | [DDDD:]BB:*.* [=VVVV:DDDD] ")" */
static int parse_token(const char *token, size_t len, HideToken *t) {
        const char *p = token, *end = token + len;
        unsigned a, b;

        *t = (HideToken) {};
        if (!skip(&p, end, "(") || parse_hex(&p, end, 0xffff, &a) < 0 || !skip(&p, end, ":"))
                return -EINVAL;
        if (skip(&p, end, "*.*")) {             /* BB:*.* */
                if (a > 0xff)
                        return -EINVAL;
                t->bus = a;
                t->any_slot = true;
        } else {
                if (parse_hex(&p, end, 0xff, &b) < 0)
                        return -EINVAL;
                if (skip(&p, end, ":")) {       /* DDDD:BB:... */
                        t->domain = a;
                        t->bus = b;
                        if (skip(&p, end, "*.*"))
                                t->any_slot = true;
                        else if (parse_hex(&p, end, 0x1f, &t->slot) < 0)
                                return -EINVAL;
                } else {                        /* BB:SS... */
                        if (a > 0xff || b > 0x1f)
                                return -EINVAL;
                        t->bus = a;
                        t->slot = b;
                }
                if (!t->any_slot) {
                        if (!skip(&p, end, "."))
                                return -EINVAL;
                        if (skip(&p, end, "*"))
                                t->any_func = true;
                        else if (parse_hex(&p, end, 0x7, &t->func) < 0)
                                return -EINVAL;
                }
        }
        /* The VFs of one PF: one function, never a wildcard. */
        if (skip(&p, end, "/")) {
                if (t->any_slot || t->any_func)
                        return -EINVAL;
                t->vfs = true;
                if (skip(&p, end, "*"))
                        t->any_vf = true;
                else if (parse_hex(&p, end, 0xffff, &t->vf) < 0)
                        return -EINVAL;
        }
        if (skip(&p, end, "=")) {
                if (parse_hex(&p, end, 0xffff, &t->vendor) < 0 || !skip(&p, end, ":") ||
                    parse_hex(&p, end, 0xffff, &t->device) < 0)
                        return -EINVAL;
                t->ids = true;
        }
        if (!skip(&p, end, ")") || p != end)
                return -EINVAL;
        return 0;
}

/* The token as passthru.ko prints its rules. */
static int format_token(const HideToken *t, char *buf, size_t size) {
        char slot[16];
        int n;

        if (t->any_slot)
                snprintf(slot, sizeof(slot), "*.*");
        else if (t->any_func)
                snprintf(slot, sizeof(slot), "%02x.*", t->slot);
        else if (t->any_vf)
                snprintf(slot, sizeof(slot), "%02x.%x/*", t->slot, t->func);
        else if (t->vfs)
                snprintf(slot, sizeof(slot), "%02x.%x/%x", t->slot, t->func, t->vf);
        else
                snprintf(slot, sizeof(slot), "%02x.%x", t->slot, t->func);
        if (t->ids)
                n = snprintf(buf, size, "(%04x:%02x:%s=%04x:%04x)", t->domain, t->bus, slot, t->vendor, t->device);
        else
                n = snprintf(buf, size, "(%04x:%02x:%s)", t->domain, t->bus, slot);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

/* Would passthru.ko claim the device at @address with these ids (VF number @vf of @physfn, or no VF) by @t? */
static bool token_covers(const HideToken *t, const char *address, unsigned vendor, unsigned device,
                         const char *physfn, int vf) {
        unsigned domain, bus, slot, func;

        /* A VF rule names the VF by its PF's address (never the PF itself), and by its number. */
        if (t->vfs) {
                if (!physfn || !*physfn || (!t->any_vf && (vf < 0 || (unsigned) vf != t->vf)))
                        return false;
                address = physfn;
        }
        if (sscanf(address, "%4x:%2x:%2x.%1x", &domain, &bus, &slot, &func) != 4)
                return false;
        if (t->domain != domain || t->bus != bus)
                return false;
        if (!t->any_slot && (t->slot != slot || (!t->any_func && t->func != func)))
                return false;
        return !t->ids || (t->vendor == vendor && t->device == device);
}

/* The first token of the hide= value [v, end) that covers the device; its text in @rule. */
static bool value_covers(const char *v, const char *end, const char *address, unsigned vendor, unsigned device,
                         const char *physfn, int vf, char *rule, size_t size) {
        while (v < end) {
                const char *close;
                HideToken t;

                if (*v != '(') {
                        v++;    /* whitespace between tokens, or junk the module refused */
                        continue;
                }
                /* As passthru.ko reads it: a '(' before the ')' starts the next token. */
                close = v + 1;
                while (close < end && *close != ')' && *close != '(')
                        close++;
                if (close == end || *close == '(') {
                        v = close;
                        continue;
                }
                /* ... and refuses a token longer than PASSTHRU_RULE_MAX characters. */
                if (close + 1 - v <= PASSTHRU_RULE_MAX && parse_token(v, (size_t) (close + 1 - v), &t) == 0 &&
                    token_covers(&t, address, vendor, device, physfn, vf) &&
                    format_token(&t, rule, size) == 0)
                        return true;
                v = close + 1;
        }
        return false;
}

/* The blanks that end an argument: the kernel's and kmod's, ASCII only (kmod does not split at a Latin-1 NBSP). */
static bool is_blank(char c) {
        return c && strchr(" \t\n\v\f\r", c);
}

typedef struct CmdlineArg {
        const char *param, *value;      /* value NULL: no '=' */
        size_t param_len, value_len;
} CmdlineArg;

/*
 * The argument at @p (no leading blanks) as the kernel's next_arg()
 * (lib/cmdline.c) splits it: a '"' toggles quoting, and a blank ends the
 * argument only outside quotes; the first '=' ends the name; a '"' that
 * opens the whole argument, or its value, is dropped with a '"' that ends
 * it.  Returns the start of the next argument.
 */
static const char *next_arg(const char *p, CmdlineArg *ret) {
        bool in_quote = false, quoted = false;
        size_t i, equals = 0, stop;

        if (*p == '"') {
                p++;
                in_quote = quoted = true;
        }
        for (i = 0; p[i]; i++) {
                if (is_blank(p[i]) && !in_quote)
                        break;
                if (equals == 0 && p[i] == '=')
                        equals = i;
                if (p[i] == '"')
                        in_quote = !in_quote;
        }
        stop = i;
        if (stop > 0 && p[stop - 1] == '"' && (quoted || (equals > 0 && p[equals + 1] == '"')))
                stop--;

        *ret = (CmdlineArg) { .param = p, .param_len = equals > 0 ? equals : stop };
        if (equals > 0) {
                size_t start = equals + 1 + (p[equals + 1] == '"');

                ret->value = p + start;
                ret->value_len = stop > start ? stop - start : 0;
        }
        for (p += i; is_blank(*p); p++)
                ;
        return p;
}

bool cmdline_next_value(const char **p, const char *name, const char **ret_value, size_t *ret_len) {
        while (is_blank(**p))
                (*p)++;
        /*
         * Every argument, also those after "--": the kernel hands these to
         * init, but passthru.ko is a loadable module and its parameters
         * come from modprobe, and kmod reads the whole of /proc/cmdline.
         */
        while (**p) {
                CmdlineArg a;

                *p = next_arg(*p, &a);
                if (a.value && a.param_len == strlen(name) && strncmp(a.param, name, a.param_len) == 0) {
                        *ret_value = a.value;
                        *ret_len = a.value_len;
                        return true;
                }
        }
        return false;
}

bool cmdline_hide_covers_vf(const char *cmdline, const char *address, unsigned vendor, unsigned device,
                            const char *physfn, int vf, char *rule, size_t size) {
        const char *p = cmdline, *v;
        size_t n;

        while (cmdline_next_value(&p, "passthru.hide", &v, &n))
                if (value_covers(v, v + n, address, vendor, device, physfn, vf, rule, size))
                        return true;
        return false;
}

bool cmdline_hide_covers(const char *cmdline, const char *address, unsigned vendor, unsigned device, char *rule,
                         size_t size) {
        return cmdline_hide_covers_vf(cmdline, address, vendor, device, NULL, -1, rule, size);
}

/* Field @n of an ids= entry: a 16-bit id or ffffffff (any) for the first four, at most ffffff for the class and its mask. */
static bool ids_field(const char **p, const char *end, size_t n, unsigned *ret) {
        if (parse_hex(p, end, 0xffffffffu, ret) < 0)
                return false;
        return n < 4 ? *ret <= 0xffff || *ret == 0xffffffffu : *ret <= 0xffffff;
}

/* The entry [v, e) as passthru.ko's ids= parser reads it: true with its fields in @f. */
static bool ids_entry_parse(const char *v, const char *e, unsigned f[static 6]) {
        const char *p = v;
        size_t n = 0;

        if (e - v > PASSTHRU_RULE_MAX)
                return false;
        f[0] = f[1] = f[4] = f[5] = 0;
        f[2] = f[3] = 0xffffffffu;
        while (p < e && n < 6) {
                if (n > 0 && *p++ != ':')
                        return false;
                if (!ids_field(&p, e, n, &f[n]))
                        return false;
                n++;
        }
        return n >= 2 && p == e;
}

bool cmdline_ids_value_covers(const char *value, const char *end, const CmdlineIds *d, char *rule, size_t size) {
        const unsigned have[4] = { d->vendor, d->device, d->subvendor, d->subdevice };

        if (d->domain > 0xffff)
                return false;
        for (const char *v = value; v < end;) {
                const char *e = memchr(v, ',', (size_t) (end - v)) ?: end;
                unsigned f[6];
                bool match;

                match = ids_entry_parse(v, e, f);
                for (size_t i = 0; match && i < 4; i++)
                        match = f[i] == 0xffffffffu || f[i] == have[i];
                if (match && !((f[4] ^ d->class) & f[5])) {
                        /* Covered whatever @rule can hold: its text cut short at worst. */
                        if (size > 0)
                                snprintf(rule, size, "ids=%.*s", (int) (e - v), v);
                        return true;
                }
                v = e + 1;
        }
        return false;
}

bool cmdline_ids_cover(const char *cmdline, const CmdlineIds *d, char *rule, size_t size) {
        const char *p = cmdline, *v;
        size_t n;

        while (cmdline_next_value(&p, "passthru.ids", &v, &n))
                if (cmdline_ids_value_covers(v, v + n, d, rule, size))
                        return true;
        return false;
}
