/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The attribute policy of the passthru netlink family and the validation
 * of HIDE/UNHIDE requests: pure, so that KUnit can feed it any message.
 */
#ifndef PASSTHRU_ATTRS_H
#define PASSTHRU_ATTRS_H

#include <net/netlink.h>
#include <uapi/linux/passthru.h>

#include "hide.h"

extern const struct nla_policy pt_nl_policy[PASSTHRU_A_MAX + 1];

int pt_attrs_to_rule(struct nlattr **attrs, struct pt_rule *rule,
		     struct netlink_ext_ack *extack);
int pt_attrs_one_rule(const struct nlattr *head, int len,
		      struct netlink_ext_ack *extack);

#endif /* PASSTHRU_ATTRS_H */
