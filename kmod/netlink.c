// SPDX-License-Identifier: GPL-2.0
/*
 * The "passthru" generic netlink family: GET dumps what the stub knows,
 * HIDE and UNHIDE change the rules at run time, and the "events" multicast
 * group announces claims, releases, arrivals and departures.  The ABI is
 * described in include/uapi/linux/passthru.h.
 */
#include <linux/pci.h>
#include <linux/slab.h>
#include <net/genetlink.h>

#include "attrs.h"
#include "netlink.h"
#include "stub.h"

static struct genl_family pt_family;

enum pt_mcgrp {
	PT_MCGRP_EVENTS,
};

static const struct genl_multicast_group pt_mcgrps[] = {
	[PT_MCGRP_EVENTS] = { .name = PASSTHRU_GENL_MCGRP_EVENTS },
};

/* cb->args of a GET dump */
enum {
	PT_DUMP_ENTRIES,
	PT_DUMP_COUNT,
	PT_DUMP_NEXT,
};

static int pt_fill_entry(struct sk_buff *skb, const struct pt_entry *e)
{
	if (nla_put_string(skb, PASSTHRU_A_ADDRESS, e->address) ||
	    nla_put_u8(skb, PASSTHRU_A_STATE, e->state) ||
	    nla_put_string(skb, PASSTHRU_A_RULE, e->rule))
		return -EMSGSIZE;
	if (e->present &&
	    (nla_put_u16(skb, PASSTHRU_A_VENDOR, e->vendor) ||
	     nla_put_u16(skb, PASSTHRU_A_DEVICE, e->device)))
		return -EMSGSIZE;
	if (e->driver[0] && nla_put_string(skb, PASSTHRU_A_DRIVER, e->driver))
		return -EMSGSIZE;
	if (e->reason[0] && nla_put_string(skb, PASSTHRU_A_REASON, e->reason))
		return -EMSGSIZE;
	return 0;
}

static int pt_get_start(struct netlink_callback *cb)
{
	struct pt_entry *entries;
	size_t count;
	int ret;

	ret = pt_stub_snapshot(&entries, &count);
	if (ret)
		return ret;
	cb->args[PT_DUMP_ENTRIES] = (long)entries;
	cb->args[PT_DUMP_COUNT] = count;
	cb->args[PT_DUMP_NEXT] = 0;
	return 0;
}

static int pt_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct pt_entry *entries = (void *)cb->args[PT_DUMP_ENTRIES];
	size_t count = cb->args[PT_DUMP_COUNT];
	size_t i = cb->args[PT_DUMP_NEXT];
	void *hdr;

	for (; i < count; i++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &pt_family, NLM_F_MULTI,
				  PASSTHRU_CMD_GET);
		if (!hdr)
			break;
		if (pt_fill_entry(skb, &entries[i])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	/* Not even one entry fits: say so rather than loop forever. */
	if (i == cb->args[PT_DUMP_NEXT] && i < count)
		return -EMSGSIZE;
	cb->args[PT_DUMP_NEXT] = i;
	return skb->len;
}

static int pt_get_done(struct netlink_callback *cb)
{
	kvfree((void *)cb->args[PT_DUMP_ENTRIES]);
	return 0;
}

static int pt_hide_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pt_rule rule;
	int ret;

	ret = pt_attrs_one_rule(genlmsg_data(info->genlhdr),
				genlmsg_len(info->genlhdr), info->extack);
	if (!ret)
		ret = pt_attrs_to_rule(info->attrs, &rule, info->extack);
	if (ret)
		return ret;
	return pt_stub_hide(&rule, info->extack);
}

static int pt_unhide_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pt_rule rule;
	int ret;

	ret = pt_attrs_one_rule(genlmsg_data(info->genlhdr),
				genlmsg_len(info->genlhdr), info->extack);
	if (!ret)
		ret = pt_attrs_to_rule(info->attrs, &rule, info->extack);
	if (ret)
		return ret;
	return pt_stub_unhide(&rule, info->extack);
}

static const struct genl_ops pt_ops[] = {
	{
		.cmd = PASSTHRU_CMD_GET,
		.start = pt_get_start,
		.dumpit = pt_get_dumpit,
		.done = pt_get_done,
	},
	{
		.cmd = PASSTHRU_CMD_HIDE,
		.doit = pt_hide_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PASSTHRU_CMD_UNHIDE,
		.doit = pt_unhide_doit,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family pt_family __ro_after_init = {
	.name = PASSTHRU_GENL_NAME,
	.version = PASSTHRU_GENL_VERSION,
	.maxattr = PASSTHRU_A_MAX,
	.policy = pt_nl_policy,
	.module = THIS_MODULE,
	/*
	 * Not under the kernel-wide genl_mutex: HIDE and UNHIDE bind and
	 * reset devices (up to a minute each for one slow to come back),
	 * which would stall every other family without parallel_ops.  The
	 * stub serializes them itself (pt_change_lock).
	 */
	.parallel_ops = true,
	.ops = pt_ops,
	.n_ops = ARRAY_SIZE(pt_ops),
	.mcgrps = pt_mcgrps,
	.n_mcgrps = ARRAY_SIZE(pt_mcgrps),
};

/**
 * pt_netlink_event() - tell the "events" group about a device
 * @event: enum passthru_event
 * @pdev: the device
 * @rule: the rule involved, or NULL
 *
 * Best effort: nobody listening, or no memory, only loses the event.
 */
void pt_netlink_event(u8 event, struct pci_dev *pdev, const char *rule)
{
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&pt_family, &init_net, PT_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &pt_family, 0, PASSTHRU_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u8(skb, PASSTHRU_A_EVENT, event) ||
	    nla_put_string(skb, PASSTHRU_A_ADDRESS, pci_name(pdev)) ||
	    nla_put_u16(skb, PASSTHRU_A_VENDOR, pdev->vendor) ||
	    nla_put_u16(skb, PASSTHRU_A_DEVICE, pdev->device) ||
	    (rule && nla_put_string(skb, PASSTHRU_A_RULE, rule)))
		goto err;
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&pt_family, skb, 0, PT_MCGRP_EVENTS, GFP_KERNEL);
	return;
err:
	nlmsg_free(skb);
}

int __init pt_netlink_init(void)
{
	return genl_register_family(&pt_family);
}

void pt_netlink_exit(void)
{
	genl_unregister_family(&pt_family);
}
