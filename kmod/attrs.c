// SPDX-License-Identifier: GPL-2.0
/*
 * What the passthru family accepts from userspace: only PASSTHRU_A_RULE, a
 * NUL-terminated string of at most PASSTHRU_RULE_MAX characters that holds
 * exactly one hide= token.  Everything else a request might carry is
 * refused by the policy, with strict validation (no resv_start_op).
 */
#include "attrs.h"

const struct nla_policy pt_nl_policy[PASSTHRU_A_MAX + 1] = {
	[PASSTHRU_A_ADDRESS]	= { .type = NLA_REJECT },
	[PASSTHRU_A_VENDOR]	= { .type = NLA_REJECT },
	[PASSTHRU_A_DEVICE]	= { .type = NLA_REJECT },
	[PASSTHRU_A_STATE]	= { .type = NLA_REJECT },
	[PASSTHRU_A_RULE]	= { .type = NLA_NUL_STRING,
				    .len = PASSTHRU_RULE_MAX },
	[PASSTHRU_A_DRIVER]	= { .type = NLA_REJECT },
	[PASSTHRU_A_REASON]	= { .type = NLA_REJECT },
	[PASSTHRU_A_EVENT]	= { .type = NLA_REJECT },
};

/**
 * pt_attrs_to_rule() - the rule of a validated HIDE or UNHIDE request
 * @attrs: the request's attributes, already checked against pt_nl_policy
 * @rule: the rule, when 0 is returned
 * @extack: where to say what is wrong
 *
 * Return: 0, or -EINVAL with an explanation in @extack.
 */
int pt_attrs_to_rule(struct nlattr **attrs, struct pt_rule *rule,
		     struct netlink_ext_ack *extack)
{
	struct nlattr *attr = attrs[PASSTHRU_A_RULE];
	const char *reason;

	if (!attr) {
		NL_SET_ERR_MSG(extack, "missing the rule attribute");
		return -EINVAL;
	}
	/* The policy wants a NUL somewhere; what follows it would be lost. */
	if (strnlen(nla_data(attr), nla_len(attr)) + 1 != nla_len(attr)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "trailing bytes after the rule's NUL");
		return -EINVAL;
	}
	if (pt_rule_parse(nla_data(attr), rule, &reason)) {
		/* reason is a static string, as extack requires */
		if (extack) {
			extack->_msg = reason;
			extack->bad_attr = attr;
		}
		return -EINVAL;
	}
	return 0;
}

int pt_attrs_one_rule(const struct nlattr *head, int len,
		      struct netlink_ext_ack *extack)
{
	const struct nlattr *attr;
	int rem, n = 0;

	/* nla_parse() keeps the last of several: the others would be lost unsaid. */
	nla_for_each_attr(attr, head, len, rem) {
		if (nla_type(attr) == PASSTHRU_A_RULE && ++n > 1) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "more than one rule attribute: one rule per request");
			return -EINVAL;
		}
	}
	return 0;
}
