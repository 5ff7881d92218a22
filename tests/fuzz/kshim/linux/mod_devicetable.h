/* SPDX-License-Identifier: GPL-2.0 */
/* See types.h: the wildcard id of ids=. */
#ifndef PASSTHRU_KSHIM_MOD_DEVICETABLE_H
#define PASSTHRU_KSHIM_MOD_DEVICETABLE_H

#define PCI_ANY_ID (~0)

#endif
