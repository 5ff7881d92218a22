// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of passthru.ko's pure parts: the hide= and ids= parsers, rule
 * matching, device states and the validation of netlink requests.  The
 * units under test are compiled into this module, so that their static
 * helpers need no export.
 */
#include <kunit/test.h>
#include <linux/mod_devicetable.h>
#include <linux/pci.h>

#include "../../kmod/attrs.c"
#include "../../kmod/hide.c"

/* ------------------------------------------------------------------ */
/* hide=: good tokens                                                 */

struct hide_good {
	const char *in;
	const char *canonical;	/* pt_rule_format() of the one rule */
};

static void expect_one_rule(struct kunit *test, const struct hide_good *v)
{
	char buf[PT_RULE_TEXT_LEN];
	const char *p = v->in, *reason = NULL;
	struct pt_token tok;
	struct pt_rule rule;

	KUNIT_ASSERT_EQ_MSG(test, pt_hide_next(&p, &rule, &tok, &reason), 0,
			    "input \"%s\" refused: %s", v->in, reason);
	pt_rule_format(&rule, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ_MSG(test, buf, v->canonical, "input \"%s\"", v->in);
	KUNIT_EXPECT_EQ_MSG(test, pt_hide_next(&p, &rule, &tok, &reason),
			    -ENOENT, "input \"%s\" has more", v->in);
}

static void hide_accepts_xen_pciback_forms(struct kunit *test)
{
	static const struct hide_good v[] = {
		{ "(01:00.0)", "(0000:01:00.0)" },
		{ "(0000:01:00.0)", "(0000:01:00.0)" },
		{ "(1:0.0)", "(0000:01:00.0)" },
		{ "(0001:02:1f.7)", "(0001:02:1f.7)" },
		{ "(ffff:ff:1f.7)", "(ffff:ff:1f.7)" },
		{ "(0:0.0)", "(0000:00:00.0)" },
		{ "(0000:0000000a:01.0)", "(0000:0a:01.0)" },
		{ "(AB:1F.3)", "(0000:ab:1f.3)" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_one_rule(test, &v[i]);
}

static void hide_accepts_wildcards(struct kunit *test)
{
	static const struct hide_good v[] = {
		{ "(01:00.*)", "(0000:01:00.*)" },
		{ "(0002:03:1f.*)", "(0002:03:1f.*)" },
		{ "(04:*.*)", "(0000:04:*.*)" },
		{ "(0001:04:*.*)", "(0001:04:*.*)" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_one_rule(test, &v[i]);
}

static void hide_accepts_0x_prefixes(struct kunit *test)
{
	static const struct hide_good v[] = {
		{ "(0x1:0x2.0x3)", "(0000:01:02.3)" },
		{ "(0X0001:0x02:0x03.0x4)", "(0001:02:03.4)" },
		{ "(01:00.0=0x1234:0X11e8)", "(0000:01:00.0=1234:11e8)" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_one_rule(test, &v[i]);
}

static void hide_accepts_id_pins(struct kunit *test)
{
	static const struct hide_good v[] = {
		{ "(01:00.0=1234:11e8)", "(0000:01:00.0=1234:11e8)" },
		{ "(0000:02:00.0=8086:10D3)", "(0000:02:00.0=8086:10d3)" },
		{ "(03:00.*=ffff:0)", "(0000:03:00.*=ffff:0000)" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_one_rule(test, &v[i]);
}

/* Parse a whole string; return the canonical rules, space separated. */
static int parse_all(const char *in, char *out, size_t size, int *bad)
{
	char buf[PT_RULE_TEXT_LEN];
	const char *p = in, *reason;
	struct pt_token tok;
	struct pt_rule rule;
	int n = 0, ret;

	*out = '\0';
	*bad = 0;
	while ((ret = pt_hide_next(&p, &rule, &tok, &reason)) != -ENOENT) {
		if (ret) {
			(*bad)++;
			continue;
		}
		pt_rule_format(&rule, buf, sizeof(buf));
		if (n++)
			strlcat(out, " ", size);
		strlcat(out, buf, size);
	}
	return n;
}

static void hide_takes_whitespace_between_tokens(struct kunit *test)
{
	char out[256];
	int bad;

	KUNIT_EXPECT_EQ(test, parse_all(" (01:00.0)\t(02:00.0)\n (03:00.*) ",
					out, sizeof(out), &bad), 3);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_STREQ(test, out,
			   "(0000:01:00.0) (0000:02:00.0) (0000:03:00.*)");
	KUNIT_EXPECT_EQ(test, parse_all("(01:00.0)(02:00.0)", out,
					sizeof(out), &bad), 2);
	KUNIT_EXPECT_EQ(test, bad, 0);
}

static void hide_empty_input_has_no_token(struct kunit *test)
{
	static const char * const v[] = { "", " ", "\t\n  " };
	const char *p, *reason;
	struct pt_token tok;
	struct pt_rule rule;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		p = v[i];
		KUNIT_EXPECT_EQ(test, pt_hide_next(&p, &rule, &tok, &reason),
				-ENOENT);
	}
}

/* ------------------------------------------------------------------ */
/* hide=: bad tokens, each with its reason and its text               */

struct hide_bad {
	const char *in;
	const char *text;	/* the token as reported */
	const char *reason;	/* a part of the reason */
};

static void expect_bad(struct kunit *test, const struct hide_bad *v)
{
	const char *p = v->in, *reason = NULL;
	struct pt_token tok;
	struct pt_rule rule;

	KUNIT_ASSERT_EQ_MSG(test, pt_hide_next(&p, &rule, &tok, &reason),
			    -EINVAL, "input \"%s\" accepted", v->in);
	KUNIT_ASSERT_NOT_NULL(test, reason);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(reason, v->reason),
				  "input \"%s\": reason \"%s\", wanted \"%s\"",
				  v->in, reason, v->reason);
	KUNIT_EXPECT_EQ_MSG(test, tok.len, strlen(v->text), "input \"%s\"",
			    v->in);
	KUNIT_EXPECT_EQ_MSG(test, strncmp(tok.text, v->text, tok.len), 0,
			    "input \"%s\"", v->in);
}

static void hide_accepts_vfs_of_a_pf(struct kunit *test)
{
	static const struct hide_good v[] = {
		{ "(06:00.0/*)", "(0000:06:00.0/*)" },
		{ "(0001:06:00.1/1)", "(0001:06:00.1/1)" },
		{ "(6:0.0/0x1f)", "(0000:06:00.0/1f)" },
		{ "(06:00.0/ffff)", "(0000:06:00.0/ffff)" },
		{ "(06:00.0/*=8086:10ca)", "(0000:06:00.0/*=8086:10ca)" },
		{ "(06:00.0/2=8086:10CA)", "(0000:06:00.0/2=8086:10ca)" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_one_rule(test, &v[i]);
}

static void hide_rejects_bad_vf_forms(struct kunit *test)
{
	static const struct hide_bad v[] = {
		{ "(06:00.0/)", "(06:00.0/)", "bad VF number" },
		{ "(06:00.0/x)", "(06:00.0/x)", "bad VF number" },
		{ "(06:00.0/10000)", "(06:00.0/10000)", "VF number out of range" },
		{ "(06:00.0/1*)", "(06:00.0/1*)", "after the VF number" },
		{ "(06:00.0/**)", "(06:00.0/**)", "bad VF number" },
		{ "(06:00.*/*)", "(06:00.*/*)", "not a wildcard" },
		{ "(06:*.*/0)", "(06:*.*/0)", "not a wildcard" },
		{ "(06:00.0/1/2)", "(06:00.0/1/2)", "after the VF number" },
		{ "(/*)", "(/*)", "expected [domain:]bus:slot.function" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_bad(test, &v[i]);
}

static void hide_rejects_fields_out_of_range(struct kunit *test)
{
	static const struct hide_bad v[] = {
		{ "(10000:01:00.0)", "(10000:01:00.0)", "domain out of range" },
		{ "(100:00.0)", "(100:00.0)", "bus out of range" },
		{ "(01:20.0)", "(01:20.0)", "slot out of range" },
		{ "(0000:82.0.0)", "(0000:82.0.0)", "slot out of range" },
		{ "(1:0.8)", "(1:0.8)", "function out of range" },
		{ "(01:00.0=10000:0)", "(01:00.0=10000:0)", "vendor id out of range" },
		{ "(01:00.0=1234:10000)", "(01:00.0=1234:10000)", "device id out of range" },
		{ "(fffffffff:0.0)", "(fffffffff:0.0)", "bad bus number" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_bad(test, &v[i]);
}

static void hide_rejects_malformed_tokens(struct kunit *test)
{
	static const struct hide_bad v[] = {
		{ "01:00.0", "01:00.0", "not in parentheses" },
		{ ",(01:00.0)", ",", "not separated by commas" },
		{ "()", "()", "empty token" },
		{ "(01)", "(01)", "expected [domain:]bus:slot.function" },
		{ "(0:1:2:3.4)", "(0:1:2:3.4)", "expected [domain:]bus:slot.function" },
		{ "(01:00)", "(01:00)", "expected '.' after the slot" },
		{ "(01:00.)", "(01:00.)", "bad function number" },
		{ "(:00.0)", "(:00.0)", "bad bus number" },
		{ "(01:.0)", "(01:.0)", "bad slot number" },
		{ "(zz:00.0)", "(zz:00.0)", "bad bus number" },
		{ "(01:00.0x)", "(01:00.0x)", "unexpected text after the function" },
		{ "(01:*.0)", "(01:*.0)", "wildcard slot must be written" },
		{ "(01:*)", "(01:*)", "wildcard slot must be written" },
		{ "(01:00.0=)", "(01:00.0=)", "bad vendor id" },
		{ "(01:00.0=1234)", "(01:00.0=1234)", "expected vendor:device" },
		{ "(01:00.0=1234:)", "(01:00.0=1234:)", "bad device id" },
		{ "(01:00.0=1234:11e8:0)", "(01:00.0=1234:11e8:0)", "after the device id" },
		{ "( 01:00.0)", "( 01:00.0)", "bad bus number" },
		{ "(0x:00.0)", "(0x:00.0)", "expected ':' after the bus" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_bad(test, &v[i]);
}

static void hide_rejects_truncated_tokens(struct kunit *test)
{
	static const struct hide_bad v[] = {
		{ "(01:00.0", "(01:00.0", "missing ')'" },
		{ "(", "(", "missing ')'" },
		{ "(01:00.0 (02:00.0)", "(01:00.0 ", "missing ')'" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_bad(test, &v[i]);
}

static void hide_rejects_overlong_tokens(struct kunit *test)
{
	static const struct hide_bad v[] = {
		{ "(0000:01:00.0=1234:11e8000000000000000000000000000000000000000000000000000)",
		  "(0000:01:00.0=1234:11e8000000000000000000000000000000000000000000000000000)",
		  "too long" },
		{ "(00000000000000000000000000000000000000000000000000000000000000001:0.0)",
		  "(00000000000000000000000000000000000000000000000000000000000000001:0.0)",
		  "too long" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		expect_bad(test, &v[i]);
}

static void hide_bad_token_does_not_sink_the_others(struct kunit *test)
{
	char out[256];
	int bad;

	static const char in[] = "(0:82.0.0) 1:0.0 (1:0.8) (01:00.0),(02:00.0) (04:*.*) (05:00.0";

	KUNIT_EXPECT_EQ(test, parse_all(in, out, sizeof(out), &bad), 3);
	KUNIT_EXPECT_EQ(test, bad, 5);
	KUNIT_EXPECT_STREQ(test, out,
			   "(0000:01:00.0) (0000:02:00.0) (0000:04:*.*)");
}

static void rule_parse_takes_exactly_one_token(struct kunit *test)
{
	struct pt_rule rule;
	const char *reason;

	KUNIT_EXPECT_EQ(test, pt_rule_parse(" (01:00.0) ", &rule, &reason), 0);
	KUNIT_EXPECT_EQ(test, pt_rule_parse("(01:00.0)(02:00.0)", &rule,
					    &reason), -EINVAL);
	KUNIT_EXPECT_STREQ(test, reason, "more than one token");
	KUNIT_EXPECT_EQ(test, pt_rule_parse("", &rule, &reason), -EINVAL);
	KUNIT_EXPECT_STREQ(test, reason, "empty rule");
	KUNIT_EXPECT_EQ(test, pt_rule_parse("(01:00.9)", &rule, &reason),
			-EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(reason, "function out of range"));
}

static void rule_equal_spots_duplicates(struct kunit *test)
{
	struct pt_rule a, b;
	const char *reason;

	KUNIT_ASSERT_EQ(test, pt_rule_parse("(01:00.0)", &a, &reason), 0);
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(0000:1:0x0.0)", &b, &reason), 0);
	KUNIT_EXPECT_TRUE(test, pt_rule_equal(&a, &b));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(01:00.0=1234:11e8)", &b,
					    &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_equal(&a, &b));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(01:00.*)", &b, &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_equal(&a, &b));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(01:*.*)", &a, &reason), 0);
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(1:*.*)", &b, &reason), 0);
	KUNIT_EXPECT_TRUE(test, pt_rule_equal(&a, &b));
	/* The VFs of a PF are not the PF; one VF is not every VF. */
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(06:00.0)", &a, &reason), 0);
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(06:00.0/*)", &b, &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_equal(&a, &b));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(6:0.0/0)", &a, &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_equal(&a, &b));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(06:00.0/1)", &b, &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_equal(&a, &b));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(06:00.0/0)", &b, &reason), 0);
	KUNIT_EXPECT_TRUE(test, pt_rule_equal(&a, &b));
}

/* ------------------------------------------------------------------ */
/* ids=                                                               */

/* Class bits outside the mask claim nothing: such rules are duplicates. */
static void ids_rules_equal_under_the_class_mask(struct kunit *test)
{
	const char *p = "1234:11e8,1234:11e8:ffffffff:ffffffff:3,1234:11e8:ffffffff:ffffffff:ff:ff";
	struct pt_rule a, b, c;
	struct pt_token tok;
	const char *reason;

	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &a, &tok, &reason), 0);
	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &b, &tok, &reason), 0);
	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &c, &tok, &reason), 0);
	KUNIT_EXPECT_TRUE(test, pt_rule_equal(&a, &b));
	KUNIT_EXPECT_FALSE(test, pt_rule_equal(&a, &c));
}

static void ids_accepts_pci_stub_forms(struct kunit *test)
{
	const char *p = "1234:11e8,8086:10d3:ffffffff:1234,1:2:3:4:20000:ff0000";
	char buf[PT_RULE_TEXT_LEN];
	struct pt_token tok;
	struct pt_rule r;
	const char *reason;

	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), 0);
	KUNIT_EXPECT_EQ(test, r.kind, PT_RULE_IDS);
	KUNIT_EXPECT_EQ(test, r.vendor, 0x1234U);
	KUNIT_EXPECT_EQ(test, r.device, 0x11e8U);
	KUNIT_EXPECT_EQ(test, r.subvendor, (u32)PCI_ANY_ID);
	KUNIT_EXPECT_EQ(test, r.subdevice, (u32)PCI_ANY_ID);
	KUNIT_EXPECT_EQ(test, r.class_mask, 0U);
	pt_rule_format(&r, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "ids 1234:11e8");

	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), 0);
	KUNIT_EXPECT_EQ(test, r.subvendor, (u32)PCI_ANY_ID);
	KUNIT_EXPECT_EQ(test, r.subdevice, 0x1234U);

	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), 0);
	KUNIT_EXPECT_EQ(test, r.class, 0x20000U);
	KUNIT_EXPECT_EQ(test, r.class_mask, 0xff0000U);
	KUNIT_EXPECT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), -ENOENT);
}

static void ids_rejects_bad_entries_and_keeps_going(struct kunit *test)
{
	static const struct {
		const char *text;
		const char *reason;
	} bad[] = {
		{ "zz:1", "bad vendor id" },
		{ "8086", "expected vendor:device" },
		{ "", "empty entry" },
		{ "1:2:3:4:5:6:7", "too many fields" },
		{ "10000:1", "id out of range" },
		{ "1:2:3:4:1000000", "class out of range" },
		{ "1;2", "expected ':' between fields" },
	};
	const char *p = "zz:1,8086,,1:2:3:4:5:6:7,10000:1,1:2:3:4:1000000,1;2,1234:11e8";
	struct pt_token tok;
	struct pt_rule r;
	const char *reason;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_ASSERT_EQ_MSG(test, pt_ids_next(&p, &r, &tok, &reason),
				    -EINVAL, "entry \"%s\"", bad[i].text);
		KUNIT_EXPECT_EQ(test, tok.len, strlen(bad[i].text));
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(reason, bad[i].reason),
					  "entry \"%s\": %s", bad[i].text,
					  reason);
	}
	KUNIT_EXPECT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), 0);
	KUNIT_EXPECT_EQ(test, r.vendor, 0x1234U);
}

/* ------------------------------------------------------------------ */
/* Rule matching                                                      */

static const struct pt_devid edu_01 = {
	.domain = 0, .bus = 1, .devfn = PCI_DEVFN(0, 0),
	.vendor = 0x1234, .device = 0x11e8,
	.subvendor = 0x1af4, .subdevice = 0x1100, .class = 0x00ff00,
};

static enum pt_verdict check(struct kunit *test, const char *text,
			     const struct pt_devid *d)
{
	struct pt_rule rule;
	const char *reason = NULL;

	KUNIT_EXPECT_EQ_MSG(test, pt_rule_parse(text, &rule, &reason), 0,
			    "%s: %s", text, reason);
	return pt_rule_check(&rule, d);
}

static void match_exact_address(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check(test, "(01:00.0)", &edu_01), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(0000:01:00.0)", &edu_01), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(0001:01:00.0)", &edu_01), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(02:00.0)", &edu_01), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:01.0)", &edu_01), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:00.1)", &edu_01), PT_NO_MATCH);
}

static void match_wildcards(struct kunit *test)
{
	struct pt_devid d = edu_01;

	d.devfn = PCI_DEVFN(0x1f, 7);
	KUNIT_EXPECT_EQ(test, check(test, "(01:1f.*)", &d), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:1e.*)", &d), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:*.*)", &d), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(02:*.*)", &d), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(0001:01:*.*)", &d), PT_NO_MATCH);
}

static void match_pins_report_mismatch(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check(test, "(01:00.0=1234:11e8)", &edu_01), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:00.0=8086:10d3)", &edu_01), PT_MISMATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:00.0=1234:11e9)", &edu_01), PT_MISMATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:*.*=8086:10d3)", &edu_01), PT_MISMATCH);
	/* A pin at another address does not concern the device at all. */
	KUNIT_EXPECT_EQ(test, check(test, "(02:00.0=8086:10d3)", &edu_01), PT_NO_MATCH);
}

/* VF 1 of the PF 06:00.0, at 06:10.2 (ARI, stride 2), as igb makes them. */
static const struct pt_devid igbvf_1 = {
	.domain = 0, .bus = 6, .devfn = PCI_DEVFN(0x10, 2),
	.vendor = 0x8086, .device = 0x10ca,
	.subvendor = 0x8086, .subdevice = 0x0000, .class = 0x020000,
	.is_vf = true, .pf_domain = 0, .pf_bus = 6,
	.pf_devfn = PCI_DEVFN(0, 0), .vf = 1,
};

static const struct pt_devid igb_pf = {
	.domain = 0, .bus = 6, .devfn = PCI_DEVFN(0, 0),
	.vendor = 0x8086, .device = 0x10c9,
	.subvendor = 0x8086, .subdevice = 0x0000, .class = 0x020000,
};

static void match_vfs_of_a_pf(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/*)", &igbvf_1), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/1)", &igbvf_1), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/0)", &igbvf_1), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(07:00.0/*)", &igbvf_1), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.1/*)", &igbvf_1), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(0001:06:00.0/*)", &igbvf_1),
			PT_NO_MATCH);
	/* Never the PF itself, nor a device at the PF's address. */
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/*)", &igb_pf), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/0)", &igb_pf), PT_NO_MATCH);
	/* A VF's own address or ids still name it. */
	KUNIT_EXPECT_EQ(test, check(test, "(06:10.2)", &igbvf_1), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:10.*)", &igbvf_1), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0)", &igbvf_1), PT_NO_MATCH);
	/* A pin concerns the VF's ids, not the PF's. */
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/*=8086:10ca)", &igbvf_1),
			PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/*=8086:10c9)", &igbvf_1),
			PT_MISMATCH);
}

/*
 * Intel VMD numbers its domains from 10000: the NVMe behind it may be
 * 10000:01:00.0.  No rule names a domain above ffff, so none concerns it,
 * whether by address, wildcard, ids or as a VF of its PF.
 */
static void match_no_domain_beyond_ffff(struct kunit *test)
{
	static const char * const rules[] = {
		"(01:00.0)", "(0000:01:00.0)", "(01:*.*)", "(01:00.*)",
		"(01:00.0=1234:11e8)", "(01:00.0=8086:10d3)",
	};
	struct pt_devid d = edu_01, vf = igbvf_1;
	const char *p, *reason;
	struct pt_token tok;
	struct pt_rule r;
	unsigned int i;

	d.domain = 0x10000;
	KUNIT_EXPECT_FALSE(test, pt_devid_nameable(&d));
	for (i = 0; i < ARRAY_SIZE(rules); i++)
		KUNIT_EXPECT_EQ_MSG(test, check(test, rules[i], &d),
				    PT_NO_MATCH, "rule %s", rules[i]);
	p = "1234:11e8";
	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), 0);
	KUNIT_EXPECT_EQ(test, pt_rule_check(&r, &d), PT_NO_MATCH);

	vf.domain = 0x10000;
	vf.pf_domain = 0x10000;
	KUNIT_EXPECT_FALSE(test, pt_devid_nameable(&vf));
	KUNIT_EXPECT_EQ(test, check(test, "(06:00.0/*)", &vf), PT_NO_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(06:10.2)", &vf), PT_NO_MATCH);

	/* The last domain a rule can name still matches, and only itself. */
	d.domain = PT_DOMAIN_MAX;
	KUNIT_EXPECT_TRUE(test, pt_devid_nameable(&d));
	KUNIT_EXPECT_EQ(test, check(test, "(ffff:01:00.0)", &d), PT_MATCH);
	KUNIT_EXPECT_EQ(test, check(test, "(01:00.0)", &d), PT_NO_MATCH);
	KUNIT_EXPECT_TRUE(test, pt_devid_nameable(&edu_01));
}

/* Whatever the rules say, a bridge stays where it is: vfio-pci refuses it. */
static void match_never_claims_a_bridge(struct kunit *test)
{
	KUNIT_EXPECT_NULL(test, pt_unclaimable(PCI_HEADER_TYPE_NORMAL));
	KUNIT_EXPECT_STREQ(test, pt_unclaimable(PCI_HEADER_TYPE_BRIDGE),
			   "a bridge: vfio-pci cannot take it");
	KUNIT_EXPECT_NOT_NULL(test, pt_unclaimable(PCI_HEADER_TYPE_CARDBUS));
}

static void match_ids_rules(struct kunit *test)
{
	static const struct {
		const char *ids;
		enum pt_verdict want;
	} v[] = {
		{ "1234:11e8", PT_MATCH },
		{ "1234:ffffffff", PT_MATCH },
		{ "8086:10d3", PT_NO_MATCH },
		{ "1234:11e8:1af4:1100", PT_MATCH },
		{ "1234:11e8:1af4:1101", PT_NO_MATCH },
		{ "1234:11e8:ffffffff:ffffffff:00ff00:ffffff", PT_MATCH },
		{ "1234:11e8:ffffffff:ffffffff:020000:ff0000", PT_NO_MATCH },
	};
	struct pt_token tok;
	struct pt_rule r;
	const char *p, *reason;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		p = v[i].ids;
		KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), 0);
		KUNIT_EXPECT_EQ_MSG(test, pt_rule_check(&r, &edu_01), v[i].want,
				    "ids=%s", v[i].ids);
	}
}

static void rule_exact_only_for_single_addresses(struct kunit *test)
{
	struct pt_rule r;
	const char *reason, *p = "1234:11e8";
	struct pt_token tok;

	KUNIT_ASSERT_EQ(test, pt_rule_parse("(01:00.0=1234:11e8)", &r, &reason), 0);
	KUNIT_EXPECT_TRUE(test, pt_rule_exact(&r));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(01:00.*)", &r, &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_exact(&r));
	KUNIT_ASSERT_EQ(test, pt_rule_parse("(06:00.0/0)", &r, &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_exact(&r));
	KUNIT_ASSERT_EQ(test, pt_ids_next(&p, &r, &tok, &reason), 0);
	KUNIT_EXPECT_FALSE(test, pt_rule_exact(&r));
}

/* ------------------------------------------------------------------ */
/* Device states                                                      */

static void state_follows_rules_and_driver(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, pt_state(false, PT_MATCH, false, false),
			PASSTHRU_STATE_ABSENT);
	KUNIT_EXPECT_EQ(test, pt_state(true, PT_MISMATCH, false, true),
			PASSTHRU_STATE_MISMATCH);
	KUNIT_EXPECT_EQ(test, pt_state(true, PT_MATCH, true, true),
			PASSTHRU_STATE_CLAIMED);
	KUNIT_EXPECT_EQ(test, pt_state(true, PT_MATCH, false, true),
			PASSTHRU_STATE_HELD);
	KUNIT_EXPECT_EQ(test, pt_state(true, PT_MATCH, false, false),
			PASSTHRU_STATE_UNBOUND);
}

/* ------------------------------------------------------------------ */
/* Netlink request validation                                         */

/* Build attributes into @buf; return their length. */
static int put_attr(u8 *buf, int off, u16 type, const void *data, u16 len)
{
	struct nlattr *nla = (struct nlattr *)(buf + off);

	nla->nla_type = type;
	nla->nla_len = nla_attr_size(len);
	memcpy(nla_data(nla), data, len);
	return off + nla_total_size(len);
}

static int validate(struct kunit *test, const u8 *buf, int len,
		    struct pt_rule *rule, const char **msg)
{
	struct nlattr *tb[PASSTHRU_A_MAX + 1];
	struct netlink_ext_ack extack = {};
	int ret;

	ret = nla_parse(tb, PASSTHRU_A_MAX, (const struct nlattr *)buf, len,
			pt_nl_policy, &extack);
	if (!ret)
		ret = pt_attrs_one_rule((const struct nlattr *)buf, len, &extack);
	if (!ret)
		ret = pt_attrs_to_rule(tb, rule, &extack);
	*msg = extack._msg;
	return ret;
}

static void netlink_accepts_one_rule(struct kunit *test)
{
	u8 buf[128] = {};
	struct pt_rule rule;
	const char *msg;
	int len;

	len = put_attr(buf, 0, PASSTHRU_A_RULE, "(04:01.0)", 10);
	KUNIT_EXPECT_EQ(test, validate(test, buf, len, &rule, &msg), 0);
	KUNIT_EXPECT_EQ(test, rule.bus, 4);
	KUNIT_EXPECT_EQ(test, rule.slot, 1);
}

static void netlink_refuses_bad_requests(struct kunit *test)
{
	static const char long_rule[] =
		"(000000000000000000000000000000000000000000000000000000000001:0.0)";
	u8 buf[256] = {};
	struct pt_rule rule;
	const char *msg;
	u16 v = 0x1234;
	int len;

	/* no attribute at all */
	KUNIT_EXPECT_EQ(test, validate(test, buf, 0, &rule, &msg), -EINVAL);
	KUNIT_EXPECT_STREQ(test, msg, "missing the rule attribute");

	/* an output-only attribute */
	len = put_attr(buf, 0, PASSTHRU_A_VENDOR, &v, sizeof(v));
	KUNIT_EXPECT_EQ(test, validate(test, buf, len, &rule, &msg), -EINVAL);

	/* an attribute beyond the family's maximum */
	len = put_attr(buf, 0, PASSTHRU_A_MAX + 1, &v, sizeof(v));
	KUNIT_EXPECT_LT(test, validate(test, buf, len, &rule, &msg), 0);

	/* a rule without its NUL */
	len = put_attr(buf, 0, PASSTHRU_A_RULE, "(01:00.0)", 9);
	KUNIT_EXPECT_EQ(test, validate(test, buf, len, &rule, &msg), -EINVAL);

	/* a rule longer than PASSTHRU_RULE_MAX */
	len = put_attr(buf, 0, PASSTHRU_A_RULE, long_rule, sizeof(long_rule));
	KUNIT_EXPECT_LT(test, validate(test, buf, len, &rule, &msg), 0);

	/* a rule that does not parse names its reason */
	len = put_attr(buf, 0, PASSTHRU_A_RULE, "(01:00.8)", 10);
	KUNIT_EXPECT_EQ(test, validate(test, buf, len, &rule, &msg), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(msg, "function out of range"));

	/* two rules */
	len = put_attr(buf, 0, PASSTHRU_A_RULE, "(1:0.0)(2:0.0)", 15);
	KUNIT_EXPECT_EQ(test, validate(test, buf, len, &rule, &msg), -EINVAL);
	KUNIT_EXPECT_STREQ(test, msg, "more than one token");

	/* two rule attributes: nla_parse() alone keeps the last */
	len = put_attr(buf, 0, PASSTHRU_A_RULE, "(01:00.0)", 10);
	len = put_attr(buf, len, PASSTHRU_A_RULE, "(02:00.0)", 10);
	KUNIT_EXPECT_EQ(test, validate(test, buf, len, &rule, &msg), -EINVAL);
	KUNIT_EXPECT_STREQ(test, msg, "more than one rule attribute: one rule per request");
}

/* What follows the rule's NUL would be dropped unseen: refused instead. */
static void netlink_refuses_bytes_after_the_nul(struct kunit *test)
{
	static const char * const v[] = {
		"(01:00.0)\0(02:00.0)", "(01:00.0)\0\0", "\0(01:00.0)",
	};
	static const size_t size[] = { 20, 11, 11 };
	struct nlattr *tb[PASSTHRU_A_MAX + 1];
	struct netlink_ext_ack extack;
	struct pt_rule rule;
	u8 buf[128];
	unsigned int i;
	int len;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		memset(buf, 0, sizeof(buf));
		memset(&extack, 0, sizeof(extack));
		len = put_attr(buf, 0, PASSTHRU_A_RULE, v[i], size[i]);
		KUNIT_ASSERT_EQ(test, nla_parse(tb, PASSTHRU_A_MAX,
						(const struct nlattr *)buf, len,
						pt_nl_policy, &extack), 0);
		KUNIT_EXPECT_EQ_MSG(test, pt_attrs_to_rule(tb, &rule, &extack),
				    -EINVAL, "case %u", i);
		KUNIT_EXPECT_STREQ_MSG(test, extack._msg,
				       "trailing bytes after the rule's NUL",
				       "case %u", i);
		KUNIT_EXPECT_PTR_EQ_MSG(test, extack.bad_attr,
					(const struct nlattr *)buf, "case %u", i);
	}
}

static struct kunit_case passthru_hide_cases[] = {
	KUNIT_CASE(hide_accepts_xen_pciback_forms),
	KUNIT_CASE(hide_accepts_wildcards),
	KUNIT_CASE(hide_accepts_0x_prefixes),
	KUNIT_CASE(hide_accepts_id_pins),
	KUNIT_CASE(hide_accepts_vfs_of_a_pf),
	KUNIT_CASE(hide_rejects_bad_vf_forms),
	KUNIT_CASE(hide_takes_whitespace_between_tokens),
	KUNIT_CASE(hide_empty_input_has_no_token),
	KUNIT_CASE(hide_rejects_fields_out_of_range),
	KUNIT_CASE(hide_rejects_malformed_tokens),
	KUNIT_CASE(hide_rejects_truncated_tokens),
	KUNIT_CASE(hide_rejects_overlong_tokens),
	KUNIT_CASE(hide_bad_token_does_not_sink_the_others),
	KUNIT_CASE(rule_parse_takes_exactly_one_token),
	KUNIT_CASE(rule_equal_spots_duplicates),
	{}
};

static struct kunit_case passthru_ids_cases[] = {
	KUNIT_CASE(ids_rules_equal_under_the_class_mask),
	KUNIT_CASE(ids_accepts_pci_stub_forms),
	KUNIT_CASE(ids_rejects_bad_entries_and_keeps_going),
	{}
};

static struct kunit_case passthru_match_cases[] = {
	KUNIT_CASE(match_exact_address),
	KUNIT_CASE(match_wildcards),
	KUNIT_CASE(match_pins_report_mismatch),
	KUNIT_CASE(match_vfs_of_a_pf),
	KUNIT_CASE(match_no_domain_beyond_ffff),
	KUNIT_CASE(match_never_claims_a_bridge),
	KUNIT_CASE(match_ids_rules),
	KUNIT_CASE(rule_exact_only_for_single_addresses),
	KUNIT_CASE(state_follows_rules_and_driver),
	{}
};

static struct kunit_case passthru_netlink_cases[] = {
	KUNIT_CASE(netlink_accepts_one_rule),
	KUNIT_CASE(netlink_refuses_bad_requests),
	KUNIT_CASE(netlink_refuses_bytes_after_the_nul),
	{}
};

static struct kunit_suite passthru_hide_suite = {
	.name = "passthru_hide",
	.test_cases = passthru_hide_cases,
};

static struct kunit_suite passthru_ids_suite = {
	.name = "passthru_ids",
	.test_cases = passthru_ids_cases,
};

static struct kunit_suite passthru_match_suite = {
	.name = "passthru_match",
	.test_cases = passthru_match_cases,
};

static struct kunit_suite passthru_netlink_suite = {
	.name = "passthru_netlink",
	.test_cases = passthru_netlink_cases,
};

kunit_test_suites(&passthru_hide_suite, &passthru_ids_suite,
		  &passthru_match_suite, &passthru_netlink_suite);

MODULE_DESCRIPTION("KUnit tests of passthru.ko");
MODULE_LICENSE("GPL");
