/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"

/* The end of the tag that @p (just past its '<') opens: its '>', quotes respected; NULL if none. */
static const char *tag_end(const char *p) {
        char quote = 0;

        for (; *p; p++) {
                if (quote) {
                        if (*p == quote)
                                quote = 0;
                } else if (*p == '\'' || *p == '"')
                        quote = *p;
                else if (*p == '>')
                        return p;
        }
        return NULL;
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.' || c == ':';
}

/*
 * The value of attribute @name in the attribute text [@p, @end), into
 * @buf; false when it is not there (or too long for @buf).
 */
static bool attribute(const char *p, const char *end, const char *name, char *buf, size_t size) {
        size_t len = strlen(name);

        while (p < end) {
                const char *n, *ne, *v;
                char quote;

                while (p < end && !is_name_char(*p))
                        p++;
                n = p;
                while (p < end && is_name_char(*p))
                        p++;
                ne = p;
                if (ne == n)
                        break;
                while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                        p++;
                if (p >= end || *p != '=')
                        continue;       /* a name without a value: skip it */
                p++;
                while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                        p++;
                if (p >= end || (*p != '\'' && *p != '"'))
                        return false;
                quote = *p++;
                v = p;
                while (p < end && *p != quote)
                        p++;
                if (p >= end)
                        return false;
                if ((size_t) (ne - n) == len && strncmp(n, name, len) == 0) {
                        if ((size_t) (p - v) >= size)
                                return false;
                        memcpy(buf, v, p - v);
                        buf[p - v] = 0;
                        return true;
                }
                p++;
        }
        return false;
}

static bool attribute_is(const char *p, const char *end, const char *name, const char *value) {
        char buf[32];

        return attribute(p, end, name, buf, sizeof(buf)) && strcmp(buf, value) == 0;
}

/* A number of the address as libvirt writes it (0x-prefixed hex, or decimal), at most @max. */
static int address_field(const char *p, const char *end, const char *name, unsigned long max, unsigned long *ret) {
        char buf[32], *e;

        if (!attribute(p, end, name, buf, sizeof(buf)))
                return name[0] == 'd' ? (*ret = 0, 0) : -EINVAL;        /* domain defaults to 0 */
        errno = 0;
        *ret = strtoul(buf, &e, 0);
        if (errno || e == buf || *e || *ret > max)
                return -EINVAL;
        return 0;
}

int domain_pci_hostdevs(const char *xml, DomainHostdev **ret, size_t *ret_n) {
        DomainHostdev *list = NULL, current = {};
        bool in_hostdev = false, in_source = false, have_address = false;
        size_t n = 0;
        const char *p = xml;

        while ((p = strchr(p, '<'))) {
                const char *name, *name_end, *end;
                bool closing, empty;
                size_t len;

                if (strncmp(p, "<!--", 4) == 0) {
                        p = strstr(p + 4, "-->");
                        if (!p)
                                goto invalid;
                        p += 3;
                        continue;
                }
                end = tag_end(p + 1);
                if (!end)
                        goto invalid;
                if (p[1] == '?' || p[1] == '!') {
                        p = end + 1;
                        continue;
                }
                closing = p[1] == '/';
                name = p + 1 + closing;
                for (name_end = name; is_name_char(*name_end); name_end++)
                        ;
                len = name_end - name;
                empty = end[-1] == '/';
                p = end + 1;

                if (len == 7 && strncmp(name, "hostdev", 7) == 0) {
                        if (!closing) {
                                in_hostdev = !empty && attribute_is(name_end, end, "mode", "subsystem") &&
                                             attribute_is(name_end, end, "type", "pci");
                                current = (DomainHostdev) { .managed = attribute_is(name_end, end, "managed", "yes") };
                                have_address = false;
                                continue;
                        }
                        if (in_hostdev && have_address) {
                                DomainHostdev *a = reallocarray(list, n + 1, sizeof(*list));

                                if (!a) {
                                        free(list);
                                        return -ENOMEM;
                                }
                                list = a;
                                list[n++] = current;
                        }
                        in_hostdev = in_source = false;
                } else if (in_hostdev && len == 6 && strncmp(name, "source", 6) == 0)
                        in_source = !closing && !empty;
                else if (in_source && !closing && len == 7 && strncmp(name, "address", 7) == 0) {
                        unsigned long domain, bus, slot, function;

                        if (address_field(name_end, end, "domain", 0xffff, &domain) < 0 ||
                            address_field(name_end, end, "bus", 0xff, &bus) < 0 ||
                            address_field(name_end, end, "slot", 0x1f, &slot) < 0 ||
                            address_field(name_end, end, "function", 7, &function) < 0)
                                goto invalid;
                        snprintf(current.address, sizeof(current.address), "%04lx:%02lx:%02lx.%lx", domain, bus, slot,
                                 function);
                        have_address = true;
                }
        }
        if (in_hostdev)
                goto invalid;
        *ret = list;
        *ret_n = n;
        return 0;

invalid:
        free(list);
        return -EINVAL;
}
