/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stub PCI driver: the rule set, the devices it pins with
 * driver_override, and what it tells netlink about them.
 */
#ifndef PASSTHRU_STUB_H
#define PASSTHRU_STUB_H

#include <linux/types.h>
#include <uapi/linux/passthru.h>

#include "hide.h"

/* Rules in force at most: parameters and HIDE beyond that are refused. */
#define PT_RULES_MAX		4096

struct netlink_ext_ack;
struct pci_dev;

/* One line of the GET dump. */
struct pt_entry {
	char address[PASSTHRU_ADDRESS_LEN];
	bool present;
	u16 vendor;
	u16 device;
	u8 state;			/* enum passthru_state */
	char rule[PT_RULE_TEXT_LEN];
	char driver[32];
	char reason[96];
};

int pt_stub_add_rule(const struct pt_rule *rule);
int pt_stub_init(void);
void pt_stub_exit(void);
int pt_stub_hide(const struct pt_rule *rule, struct netlink_ext_ack *extack);
int pt_stub_unhide(const struct pt_rule *rule,
		   struct netlink_ext_ack *extack);
int pt_stub_snapshot(struct pt_entry **entries, size_t *count);

#endif /* PASSTHRU_STUB_H */
