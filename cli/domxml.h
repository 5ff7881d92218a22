/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The PCI host devices of a libvirt domain's XML, as libvirt hands it to
 * its hooks: each <hostdev mode='subsystem' type='pci'> with the address
 * of its <source> and whether it is managed='yes'.  A reader of that one
 * shape, not of XML in general: comments, processing instructions and
 * every other element are skipped.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct DomainHostdev {
        char address[13];       /* DDDD:BB:SS.F */
        bool managed;
} DomainHostdev;

/*
 * Every PCI hostdev of @xml, in document order, in a new array (free()
 * it).  -EINVAL for a tag left open or a <source> address out of range
 * (a domain libvirt would not have accepted), -ENOMEM.
 */
int domain_pci_hostdevs(const char *xml, DomainHostdev **ret, size_t *ret_n);
