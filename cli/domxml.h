/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The PCI host devices of a libvirt domain's XML, as libvirt hands it to
 * its hooks, read with libxml2: each /domain/devices/hostdev with
 * mode='subsystem' type='pci', and each /domain/devices/interface with
 * type='hostdev' (an SR-IOV network function given the same way), with the
 * address of its <source> and whether it is managed='yes'.  Elements
 * anywhere else (<metadata>, comments, CDATA) are not devices.
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
 * it).  -EINVAL for XML that does not parse or a <source> address that is
 * missing or out of range (a domain libvirt would not have accepted),
 * -ENOMEM.
 */
int domain_pci_hostdevs(const char *xml, DomainHostdev **ret, size_t *ret_n);
