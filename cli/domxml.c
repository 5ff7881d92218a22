/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domxml.h"
#include "macro.h"

/* The devices libvirt passes through as PCI functions: <hostdev> and the hostdev kind of <interface>. */
#define PCI_HOSTDEVS                                                            \
        "/domain/devices/hostdev[@mode='subsystem' and @type='pci'] | "          \
        "/domain/devices/interface[@type='hostdev']"

static inline void xml_freep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}
#define _cleanup_xml_ __attribute__((cleanup(xml_freep)))

static inline void doc_freep(xmlDocPtr *p) {
        if (*p)
                xmlFreeDoc(*p);
}

static inline void xpath_context_freep(xmlXPathContextPtr *p) {
        if (*p)
                xmlXPathFreeContext(*p);
}

static inline void xpath_object_freep(xmlXPathObjectPtr *p) {
        if (*p)
                xmlXPathFreeObject(*p);
}

/* A number of the address as libvirt writes it (0x-prefixed hex, or decimal), at most @max. */
static int address_field(xmlNodePtr address, const char *name, unsigned long max, unsigned long *ret) {
        _cleanup_xml_ xmlChar *value = xmlGetProp(address, BAD_CAST name);
        char *end;

        if (!value)
                return strcmp(name, "domain") == 0 ? (*ret = 0, 0) : -EINVAL;  /* the domain defaults to 0 */
        errno = 0;
        *ret = strtoul((const char *) value, &end, 0);
        if (errno || end == (char *) value || *end || *ret > max)
                return -EINVAL;
        return 0;
}

/*
 * The <source><address> of @dev as DDDD:BB:SS.F; 1 (nothing written) for one
 * in a PCI domain above ffff (a VMD's, which libvirt accepts): no device of
 * passthru's, whose addresses have four digits of domain.
 */
static int source_address(xmlXPathContextPtr ctx, xmlNodePtr dev, char *buf, size_t size) {
        __attribute__((cleanup(xpath_object_freep))) xmlXPathObjectPtr found = NULL;
        unsigned long domain, bus, slot, function;
        xmlNodePtr address;

        found = xmlXPathNodeEval(dev, BAD_CAST "source/address", ctx);
        if (!found)
                return -ENOMEM;
        if (!found->nodesetval || found->nodesetval->nodeNr != 1)
                return -EINVAL;
        address = found->nodesetval->nodeTab[0];
        if (address_field(address, "domain", 0xffffffff, &domain) < 0 || address_field(address, "bus", 0xff, &bus) < 0 ||
            address_field(address, "slot", 0x1f, &slot) < 0 || address_field(address, "function", 7, &function) < 0)
                return -EINVAL;
        if (domain > 0xffff)
                return 1;
        snprintf(buf, size, "%04lx:%02lx:%02lx.%lx", domain, bus, slot, function);
        return 0;
}

int domain_pci_hostdevs(const char *xml, DomainHostdev **ret, size_t *ret_n) {
        __attribute__((cleanup(doc_freep))) xmlDocPtr doc = NULL;
        __attribute__((cleanup(xpath_context_freep))) xmlXPathContextPtr ctx = NULL;
        __attribute__((cleanup(xpath_object_freep))) xmlXPathObjectPtr found = NULL;
        _cleanup_free_ DomainHostdev *list = NULL;
        size_t n = 0;
        int r;

        /* No network, no entities substituted, no error printed by libxml2 itself. */
        doc = xmlReadMemory(xml, (int) strnlen(xml, INT32_MAX), "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return -EINVAL;
        ctx = xmlXPathNewContext(doc);
        if (!ctx)
                return -ENOMEM;
        found = xmlXPathEvalExpression(BAD_CAST PCI_HOSTDEVS, ctx);
        if (!found)
                return -ENOMEM;
        if (found->nodesetval && found->nodesetval->nodeNr > 0) {
                list = calloc(found->nodesetval->nodeNr, sizeof(*list));
                if (!list)
                        return -ENOMEM;
                for (int i = 0; i < found->nodesetval->nodeNr; i++) {
                        xmlNodePtr dev = found->nodesetval->nodeTab[i];
                        _cleanup_xml_ xmlChar *managed = xmlGetProp(dev, BAD_CAST "managed");

                        r = source_address(ctx, dev, list[n].address, sizeof(list[n].address));
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;       /* beyond passthru's addresses: libvirt's own */
                        list[n++].managed = managed && xmlStrcmp(managed, BAD_CAST "yes") == 0;
                }
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}
