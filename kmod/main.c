// SPDX-License-Identifier: GPL-2.0
/*
 * passthru.ko: hide PCI devices from host drivers and keep them for
 * passthrough to virtual machines.
 *
 *	passthru.hide=(01:00.0)(0000:03:00.*)(02:00.0=8086:10d3)
 *	passthru.ids=1234:11e8,8086:10d3
 *
 * on the kernel command line (or "options passthru hide=..." in
 * modprobe.d, with passthru.ko in the initramfs) make this driver claim
 * those devices before any host driver can.  Claimed devices are reset,
 * quiesced and kept until passthrud hands them to vfio-pci for a VM.  A bad
 * token is reported and skipped; the others still apply.  The generic
 * netlink family "passthru" lists, hides and unhides devices at run time.
 */
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringify.h>

#include "netlink.h"
#include "stub.h"

/*
 * hide= and ids= may each be given more than once: on the kernel command
 * line and in modprobe.d (where passthrud writes its marks), say.  Every
 * value adds its tokens; none replaces the others, as a charp would.
 */
struct pt_param_list {
	char *str;	/* the values so far, joined by @sep */
	char sep;
};

static int pt_param_add(const char *val, const struct kernel_param *kp)
{
	struct pt_param_list *l = kp->arg;
	size_t old = l->str ? strlen(l->str) : 0;
	size_t n = val ? strlen(val) : 0;
	char *s;

	if (!n)
		return 0;
	s = krealloc(l->str, old + n + 2, GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	if (old)
		s[old++] = l->sep;
	memcpy(s + old, val, n + 1);
	l->str = s;
	return 0;
}

static int pt_param_get(char *buffer, const struct kernel_param *kp)
{
	const struct pt_param_list *l = kp->arg;

	return scnprintf(buffer, PAGE_SIZE, "%s\n", l->str ? l->str : "");
}

static void pt_param_free(void *arg)
{
	struct pt_param_list *l = arg;

	kfree(l->str);
	l->str = NULL;
}

static const struct kernel_param_ops pt_param_list_ops = {
	.set = pt_param_add,
	.get = pt_param_get,
	.free = pt_param_free,
};

static struct pt_param_list hide = { .sep = ' ' };
module_param_cb(hide, &pt_param_list_ops, &hide, 0444);
MODULE_PARM_DESC(hide, "Devices to claim: (dddd:bb:ss.f[=vvvv:dddd]) tokens; ss.* and *.* wildcards; ss.f/* the VFs of a PF; repeatable");

static struct pt_param_list ids = { .sep = ',' };
module_param_cb(ids, &pt_param_list_ops, &ids, 0444);
MODULE_PARM_DESC(ids, "Ids to claim: vendor:device[:subvendor[:subdevice[:class[:class_mask]]]], comma separated; repeatable");

/*
 * Bad tokens named in the log, per parameter; the others are only counted,
 * so that a huge bad value cannot flood the console.
 */
#define PT_BAD_TOKENS_SHOWN	20

typedef int (*pt_next_fn)(const char **pos, struct pt_rule *rule,
			  struct pt_token *tok, const char **reason);

static const char *pt_add_error(int ret)
{
	switch (ret) {
	case -EEXIST:
		return "duplicate rule";
	case -ENOSPC:
		return "too many rules (at most " __stringify(PT_RULES_MAX) ")";
	default:
		return "out of memory";
	}
}

static void pt_add_rules(const char *param, const char *str, pt_next_fn next)
{
	unsigned int bad = 0;
	struct pt_token tok;
	struct pt_rule rule;
	const char *reason;
	int ret;

	if (!str)
		return;
	for (;;) {
		ret = next(&str, &rule, &tok, &reason);
		if (ret == -ENOENT)
			break;
		if (!ret) {
			ret = pt_stub_add_rule(&rule);
			reason = pt_add_error(ret);
		}
		if (ret && ++bad <= PT_BAD_TOKENS_SHOWN)
			pr_warn("%s=: ignoring \"%.*s%s\": %s\n", param,
				(int)min_t(size_t, tok.len, PASSTHRU_RULE_MAX),
				tok.text, tok.len > PASSTHRU_RULE_MAX ? "..." : "",
				reason);
	}
	if (bad > PT_BAD_TOKENS_SHOWN)
		pr_warn("%s=: ignoring %u more tokens, not named\n", param,
			bad - PT_BAD_TOKENS_SHOWN);
}

static int __init passthru_init(void)
{
	int ret;

	ret = pt_netlink_init();
	if (ret)
		return ret;

	pt_add_rules("hide", hide.str, pt_hide_next);
	pt_add_rules("ids", ids.str, pt_ids_next);
	/* Frees the rules itself when it fails. */
	ret = pt_stub_init();
	if (ret)
		goto err_netlink;
	return 0;

err_netlink:
	pt_netlink_exit();
	return ret;
}

static void __exit passthru_exit(void)
{
	pt_stub_exit();
	pt_netlink_exit();
}

module_init(passthru_init);
module_exit(passthru_exit);

MODULE_DESCRIPTION("Stub PCI driver that keeps devices for passthrough");
MODULE_AUTHOR("The passthru developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(PASSTHRU_VERSION);
