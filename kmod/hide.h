/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hide= and ids= grammars and rule matching.  Pure functions: no
 * locking, no allocation, no device access, so that KUnit can test every
 * corner of them.
 */
#ifndef PASSTHRU_HIDE_H
#define PASSTHRU_HIDE_H

#include <linux/types.h>

/* A rule's canonical text: "(0000:01:00.0=1234:11e8)" or "ids 1234:11e8" */
#define PT_RULE_TEXT_LEN	72

enum pt_rule_kind {
	PT_RULE_ADDR,		/* from hide=: an address, maybe wildcards */
	PT_RULE_IDS,		/* from ids=: vendor, device, ... */
};

#define PT_RULE_ANY_SLOT	BIT(0)	/* bb:*.* */
#define PT_RULE_ANY_FUNC	BIT(1)	/* bb:ss.* */
#define PT_RULE_PIN_IDS		BIT(2)	/* =vvvv:dddd */
#define PT_RULE_VFS		BIT(3)	/* bb:ss.f/n: the VFs of the PF there */
#define PT_RULE_ANY_VF		BIT(4)	/* '*' after the '/': every VF of it */

struct pt_rule {
	u8 kind;
	u8 flags;
	u16 domain;
	u8 bus;
	u8 slot;
	u8 func;
	/* PT_RULE_VFS without PT_RULE_ANY_VF: the VF's number (0 is the first) */
	u16 vf;
	/* PT_RULE_ADDR with PT_RULE_PIN_IDS: vendor and device */
	u32 vendor;
	u32 device;
	/* PT_RULE_IDS only; PCI_ANY_ID (~0) matches anything */
	u32 subvendor;
	u32 subdevice;
	u32 class;
	u32 class_mask;
};

/* Where a bad token starts in the input and how long it is. */
struct pt_token {
	const char *text;
	size_t len;
};

/*
 * The largest PCI domain the grammar and the netlink ABI can name.  Some
 * hosts have more (Intel VMD numbers its domains from 10000): no rule
 * concerns a device there.
 */
#define PT_DOMAIN_MAX		0xffff

/* What a device looks like to a rule. */
struct pt_devid {
	u32 domain;		/* pci_domain_nr(), whole */
	u8 bus;
	u8 devfn;
	u16 vendor;
	u16 device;
	u16 subvendor;
	u16 subdevice;
	u32 class;
	/* A virtual function (SR-IOV): its PF's address and its number. */
	bool is_vf;
	u32 pf_domain;
	u8 pf_bus;
	u8 pf_devfn;
	u16 vf;
};

enum pt_verdict {
	PT_NO_MATCH,		/* the rule does not concern this device */
	PT_MATCH,		/* the rule claims this device */
	PT_MISMATCH,		/* the address matches, the pinned ids do not */
};

/* What a device's state is, from what the rules and the driver core say. */
u8 pt_state(bool present, enum pt_verdict verdict, bool ours, bool bound);

int pt_hide_next(const char **pos, struct pt_rule *rule,
		 struct pt_token *tok, const char **reason);
int pt_ids_next(const char **pos, struct pt_rule *rule,
		struct pt_token *tok, const char **reason);
int pt_rule_parse(const char *text, struct pt_rule *rule,
		  const char **reason);
int pt_rule_format(const struct pt_rule *rule, char *buf, size_t size);
bool pt_rule_equal(const struct pt_rule *a, const struct pt_rule *b);
bool pt_rule_exact(const struct pt_rule *rule);
bool pt_devid_nameable(const struct pt_devid *id);
const char *pt_unclaimable(u8 hdr_type);
enum pt_verdict pt_rule_check(const struct pt_rule *rule,
			      const struct pt_devid *id);

#endif /* PASSTHRU_HIDE_H */
