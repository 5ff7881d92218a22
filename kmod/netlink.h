/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PASSTHRU_NETLINK_H
#define PASSTHRU_NETLINK_H

#include <linux/types.h>

struct pci_dev;

int pt_netlink_init(void);
void pt_netlink_exit(void);
void pt_netlink_event(u8 event, struct pci_dev *pdev, const char *rule);

#endif /* PASSTHRU_NETLINK_H */
