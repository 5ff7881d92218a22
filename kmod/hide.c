// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers for passthru's hide= and ids= parameters, and rule matching.
 *
 * hide= follows xen-pciback: a sequence of parenthesised tokens with
 * optional whitespace between them,
 *
 *	(01:00.0) (0000:03:00.*) (0001:05:*.*) (02:00.0=8086:10d3)
 *
 * passthru's own form "/" after an address names the virtual functions
 * (SR-IOV) of the physical function there instead of the function itself:
 * a '*' after it means every VF of that PF, a hex number one of them
 * ((06:00.0/1) is the second VF of 06:00.0); the PF is left to its host
 * driver.  VFs are devices like any other, and a rule
 * may also name one by its own address or ids.
 *
 * Fields are hex, with or without a 0x prefix and leading zeros.  Unlike
 * xen-pciback, a bad token does not spoil the others: the parser says
 * where it is and why it is wrong, skips it and goes on with the next.
 *
 * ids= follows pci-stub: comma-separated
 * vendor:device[:subvendor[:subdevice[:class[:class_mask]]]].
 */
#include <linux/ctype.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/mod_devicetable.h>
#include <linux/pci_regs.h>
#include <linux/string.h>

#include <uapi/linux/passthru.h>

#include "hide.h"

/*
 * Read one hex field of at most 8 digits, with an optional 0x prefix,
 * from [*p, end).  Returns 0 and advances *p, or -EINVAL.
 */
static int read_hex(const char **p, const char *end, u32 *val)
{
	const char *s = *p;
	unsigned int digits = 0;
	u32 v = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    isxdigit(s[2]))
		s += 2;
	while (s < end && isxdigit(*s)) {
		if (++digits > 8)
			return -EINVAL;
		v = (v << 4) | hex_to_bin(*s);
		s++;
	}
	if (!digits)
		return -EINVAL;
	*val = v;
	*p = s;
	return 0;
}

/* Read a hex field that must lie in [0, max]; name it in the reason. */
static int read_field(const char **p, const char *end, u32 max, u32 *val,
		      const char *bad, const char *range, const char **reason)
{
	if (read_hex(p, end, val)) {
		*reason = bad;
		return -EINVAL;
	}
	if (*val > max) {
		*reason = range;
		return -EINVAL;
	}
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* "[dddd:]bb:ss.f", "[dddd:]bb:ss.*" or "[dddd:]bb:*.*" */
static int parse_slot(const char *s, const char *end, struct pt_rule *rule,
		      const char **reason)
{
	unsigned int colons = 0;
	const char *c;
	u32 v;

	for (c = s; c < end; c++)
		if (*c == ':')
			colons++;
	if (colons < 1 || colons > 2) {
		*reason = "expected [domain:]bus:slot.function";
		return -EINVAL;
	}

	if (colons == 2) {
		if (read_field(&s, end, 0xffff, &v, "bad domain number",
			       "domain out of range (at most ffff)", reason))
			return -EINVAL;
		if (expect(&s, end, ':')) {
			*reason = "expected ':' after the domain";
			return -EINVAL;
		}
		rule->domain = v;
	}

	if (read_field(&s, end, 0xff, &v, "bad bus number",
		       "bus out of range (at most ff)", reason))
		return -EINVAL;
	rule->bus = v;
	if (expect(&s, end, ':')) {
		*reason = "expected ':' after the bus";
		return -EINVAL;
	}

	if (s < end && *s == '*') {
		s++;
		if (expect(&s, end, '.') || expect(&s, end, '*') || s != end) {
			*reason = "a wildcard slot must be written '*.*'";
			return -EINVAL;
		}
		rule->flags |= PT_RULE_ANY_SLOT | PT_RULE_ANY_FUNC;
		return 0;
	}

	if (read_field(&s, end, 0x1f, &v, "bad slot number",
		       "slot out of range (at most 1f)", reason))
		return -EINVAL;
	rule->slot = v;
	if (expect(&s, end, '.')) {
		*reason = "expected '.' after the slot";
		return -EINVAL;
	}

	if (s < end && *s == '*') {
		s++;
		rule->flags |= PT_RULE_ANY_FUNC;
	} else {
		if (read_field(&s, end, 7, &v, "bad function number",
			       "function out of range (at most 7)", reason))
			return -EINVAL;
		rule->func = v;
	}
	if (s != end) {
		*reason = "unexpected text after the function";
		return -EINVAL;
	}
	return 0;
}

/* "*" or a VF number (hex, at most ffff) after the '/' of a VF token */
static int parse_vf(const char *s, const char *end, struct pt_rule *rule,
		    const char **reason)
{
	u32 v;

	if (rule->flags & (PT_RULE_ANY_SLOT | PT_RULE_ANY_FUNC)) {
		*reason = "the VFs of a PF: name one function, not a wildcard";
		return -EINVAL;
	}
	rule->flags |= PT_RULE_VFS;
	if (end - s == 1 && *s == '*') {
		rule->flags |= PT_RULE_ANY_VF;
		return 0;
	}
	if (read_field(&s, end, 0xffff, &v, "bad VF number (expected '*' or a hex number)",
		       "VF number out of range (at most ffff)", reason))
		return -EINVAL;
	if (s != end) {
		*reason = "unexpected text after the VF number";
		return -EINVAL;
	}
	rule->vf = v;
	return 0;
}

/* "vvvv:dddd" after the '=' of a pinned token */
static int parse_pin(const char *s, const char *end, struct pt_rule *rule,
		     const char **reason)
{
	if (read_field(&s, end, 0xffff, &rule->vendor, "bad vendor id",
		       "vendor id out of range (at most ffff)", reason))
		return -EINVAL;
	if (expect(&s, end, ':')) {
		*reason = "expected vendor:device after '='";
		return -EINVAL;
	}
	if (read_field(&s, end, 0xffff, &rule->device, "bad device id",
		       "device id out of range (at most ffff)", reason))
		return -EINVAL;
	if (s != end) {
		*reason = "unexpected text after the device id";
		return -EINVAL;
	}
	rule->flags |= PT_RULE_PIN_IDS;
	return 0;
}

/* The text between the parentheses of one token. */
static int parse_inner(const char *s, const char *end, struct pt_rule *rule,
		       const char **reason)
{
	const char *eq = memchr(s, '=', end - s);
	const char *addr_end = eq ? eq : end;
	const char *slash = memchr(s, '/', addr_end - s);

	memset(rule, 0, sizeof(*rule));
	rule->kind = PT_RULE_ADDR;
	if (s == end) {
		*reason = "empty token";
		return -EINVAL;
	}
	if (parse_slot(s, slash ? slash : addr_end, rule, reason))
		return -EINVAL;
	if (slash && parse_vf(slash + 1, addr_end, rule, reason))
		return -EINVAL;
	if (eq)
		return parse_pin(eq + 1, end, rule, reason);
	return 0;
}

/**
 * pt_hide_next() - parse the next token of a hide= string
 * @pos: where to start; on return, just past what was consumed
 * @rule: the rule, when 0 is returned
 * @tok: the token's text, for messages (set unless -ENOENT)
 * @reason: why the token is bad, when -EINVAL is returned
 *
 * Return: 0 for a good token, -EINVAL for a bad one (the caller may go on
 * with the next), -ENOENT when nothing but whitespace is left.
 */
int pt_hide_next(const char **pos, struct pt_rule *rule,
		 struct pt_token *tok, const char **reason)
{
	const char *p = skip_spaces(*pos);
	const char *end;

	if (!*p)
		return -ENOENT;
	tok->text = p;

	if (*p != '(') {
		end = p;
		while (*end && *end != '(' && !isspace(*end))
			end++;
		tok->len = end - p;
		*pos = end;
		*reason = *p == ',' ? "tokens are not separated by commas"
				    : "not in parentheses";
		return -EINVAL;
	}

	/* A token ends at its ')'; a '(' before that starts the next one. */
	end = p + 1;
	while (*end && *end != ')' && *end != '(')
		end++;
	if (*end != ')') {
		tok->len = end - p;
		*pos = end;
		*reason = "missing ')'";
		return -EINVAL;
	}
	tok->len = end + 1 - p;
	*pos = end + 1;
	if (tok->len > PASSTHRU_RULE_MAX) {
		*reason = "token too long";
		return -EINVAL;
	}
	return parse_inner(p + 1, end, rule, reason);
}

/**
 * pt_rule_parse() - parse text that must hold exactly one hide= token
 * @text: NUL-terminated, surrounding whitespace allowed
 * @rule: the rule, when 0 is returned
 * @reason: why the text is refused, when -EINVAL is returned
 */
int pt_rule_parse(const char *text, struct pt_rule *rule, const char **reason)
{
	struct pt_token tok;
	const char *p = text;
	int ret;

	ret = pt_hide_next(&p, rule, &tok, reason);
	if (ret == -ENOENT) {
		*reason = "empty rule";
		return -EINVAL;
	}
	if (ret)
		return ret;
	if (*skip_spaces(p)) {
		*reason = "more than one token";
		return -EINVAL;
	}
	return 0;
}

/* One ids= field: a 16-bit id or PCI_ANY_ID (ffffffff). */
static int read_id(const char **p, const char *end, u32 *val,
		   const char *bad, const char **reason)
{
	if (read_hex(p, end, val)) {
		*reason = bad;
		return -EINVAL;
	}
	if (*val > 0xffff && *val != PCI_ANY_ID) {
		*reason = "id out of range (at most ffff, or ffffffff for any)";
		return -EINVAL;
	}
	return 0;
}

static int parse_ids(const char *s, const char *end, struct pt_rule *rule,
		     const char **reason)
{
	static const char * const bad[] = {
		"bad vendor id", "bad device id", "bad subvendor id",
		"bad subdevice id", "bad class", "bad class mask",
	};
	u32 *field[] = {
		&rule->vendor, &rule->device, &rule->subvendor,
		&rule->subdevice, &rule->class, &rule->class_mask,
	};
	unsigned int i;

	memset(rule, 0, sizeof(*rule));
	rule->kind = PT_RULE_IDS;
	rule->subvendor = PCI_ANY_ID;
	rule->subdevice = PCI_ANY_ID;
	if (s == end) {
		*reason = "empty entry";
		return -EINVAL;
	}

	for (i = 0; i < ARRAY_SIZE(field); i++) {
		if (i > 0) {
			if (s == end)
				break;
			if (expect(&s, end, ':')) {
				*reason = "expected ':' between fields";
				return -EINVAL;
			}
		}
		if (i < 4) {
			if (read_id(&s, end, field[i], bad[i], reason))
				return -EINVAL;
		} else if (read_field(&s, end, 0xffffff, field[i], bad[i],
				      "class out of range (at most ffffff)",
				      reason)) {
			return -EINVAL;
		}
		if (i == 0 && s == end) {
			*reason = "expected vendor:device";
			return -EINVAL;
		}
	}
	if (s != end) {
		*reason = "too many fields";
		return -EINVAL;
	}
	return 0;
}

/**
 * pt_ids_next() - parse the next entry of an ids= string
 * @pos: where to start; on return, just past the entry and its comma
 * @rule: the rule, when 0 is returned
 * @tok: the entry's text, for messages (set unless -ENOENT)
 * @reason: why the entry is bad, when -EINVAL is returned
 *
 * Return: as pt_hide_next(); entries are separated by commas.
 */
int pt_ids_next(const char **pos, struct pt_rule *rule,
		struct pt_token *tok, const char **reason)
{
	const char *p = *pos;
	const char *end;

	if (!*p)
		return -ENOENT;
	end = strchrnul(p, ',');
	tok->text = p;
	tok->len = end - p;
	*pos = *end ? end + 1 : end;
	if (tok->len > PASSTHRU_RULE_MAX) {
		*reason = "entry too long";
		return -EINVAL;
	}
	return parse_ids(p, end, rule, reason);
}

/**
 * pt_rule_format() - the canonical text of a rule
 * @r: the rule
 * @buf: where to write it
 * @size: the size of @buf
 *
 * Return: the length written, as snprintf() counts it.
 */
int pt_rule_format(const struct pt_rule *r, char *buf, size_t size)
{
	char slot[16];
	int n;

	if (r->kind == PT_RULE_IDS) {
		n = scnprintf(buf, size, "ids %04x:%04x", r->vendor, r->device);
		if (r->subvendor != PCI_ANY_ID || r->subdevice != PCI_ANY_ID ||
		    r->class_mask)
			n += scnprintf(buf + n, size - n, ":%x:%x:%x:%x",
				       r->subvendor, r->subdevice, r->class,
				       r->class_mask);
		return n;
	}

	if (r->flags & PT_RULE_ANY_SLOT)
		strscpy(slot, "*.*", sizeof(slot));
	else if (r->flags & PT_RULE_ANY_FUNC)
		snprintf(slot, sizeof(slot), "%02x.*", r->slot);
	else if (r->flags & PT_RULE_ANY_VF)
		snprintf(slot, sizeof(slot), "%02x.%x/*", r->slot, r->func);
	else if (r->flags & PT_RULE_VFS)
		snprintf(slot, sizeof(slot), "%02x.%x/%x", r->slot, r->func,
			 r->vf);
	else
		snprintf(slot, sizeof(slot), "%02x.%x", r->slot, r->func);

	if (r->flags & PT_RULE_PIN_IDS)
		return scnprintf(buf, size, "(%04x:%02x:%s=%04x:%04x)",
				 r->domain, r->bus, slot, r->vendor, r->device);
	return scnprintf(buf, size, "(%04x:%02x:%s)", r->domain, r->bus, slot);
}

/* Two rules that claim exactly the same devices in the same way. */
bool pt_rule_equal(const struct pt_rule *a, const struct pt_rule *b)
{
	if (a->kind != b->kind || a->flags != b->flags)
		return false;
	if (a->kind == PT_RULE_IDS)
		return a->vendor == b->vendor && a->device == b->device &&
		       a->subvendor == b->subvendor &&
		       a->subdevice == b->subdevice &&
		       a->class_mask == b->class_mask &&
		       !((a->class ^ b->class) & a->class_mask);
	if (a->domain != b->domain || a->bus != b->bus)
		return false;
	if (!(a->flags & PT_RULE_ANY_SLOT) && a->slot != b->slot)
		return false;
	if (!(a->flags & PT_RULE_ANY_FUNC) && a->func != b->func)
		return false;
	if ((a->flags & PT_RULE_VFS) && !(a->flags & PT_RULE_ANY_VF) &&
	    a->vf != b->vf)
		return false;
	if ((a->flags & PT_RULE_PIN_IDS) &&
	    (a->vendor != b->vendor || a->device != b->device))
		return false;
	return true;
}

/* A rule that names one address, so that its absence can be reported. */
bool pt_rule_exact(const struct pt_rule *r)
{
	return r->kind == PT_RULE_ADDR &&
	       !(r->flags & (PT_RULE_ANY_SLOT | PT_RULE_ANY_FUNC | PT_RULE_VFS));
}

/**
 * pt_devid_nameable() - whether a rule could name the device at all
 * @d: the device's address and ids
 *
 * Return: false for a device in a domain above PT_DOMAIN_MAX (or a VF of
 * a PF there), which no rule concerns: cut to 16 bits, its domain would
 * pass for another, and (01:00.0) would claim 10000:01:00.0.
 */
bool pt_devid_nameable(const struct pt_devid *d)
{
	return d->domain <= PT_DOMAIN_MAX &&
	       (!d->is_vf || d->pf_domain <= PT_DOMAIN_MAX);
}

/**
 * pt_unclaimable() - why passthru never takes a device, whatever the rules
 * @hdr_type: its PCI header type, without the multi-function bit
 *
 * A bridge (any header type but a normal one) is no use to a VM: vfio-pci
 * refuses it.  Claiming it would reset it and turn its bus mastering off,
 * cutting off DMA and MSIs of the devices behind it.
 *
 * Return: the reason, a static string, or NULL when it may be claimed.
 */
const char *pt_unclaimable(u8 hdr_type)
{
	if (hdr_type != PCI_HEADER_TYPE_NORMAL)
		return "a bridge: vfio-pci cannot take it";
	return NULL;
}

static bool id_ok(u32 want, u16 have)
{
	return want == PCI_ANY_ID || want == have;
}

/**
 * pt_rule_check() - what a rule says about a device
 * @r: the rule
 * @d: the device's address and ids
 *
 * Return: whether @r claims the device, does not concern it, or names its
 * address but pins other ids.  No rule concerns a device that
 * pt_devid_nameable() refuses.
 */
enum pt_verdict pt_rule_check(const struct pt_rule *r,
			      const struct pt_devid *d)
{
	if (!pt_devid_nameable(d))
		return PT_NO_MATCH;
	if (r->kind == PT_RULE_IDS) {
		if (id_ok(r->vendor, d->vendor) &&
		    id_ok(r->device, d->device) &&
		    id_ok(r->subvendor, d->subvendor) &&
		    id_ok(r->subdevice, d->subdevice) &&
		    !((r->class ^ d->class) & r->class_mask))
			return PT_MATCH;
		return PT_NO_MATCH;
	}

	if (r->flags & PT_RULE_VFS) {
		/* The VFs of one PF, never the PF itself. */
		if (!d->is_vf || r->domain != d->pf_domain ||
		    r->bus != d->pf_bus ||
		    r->slot != (d->pf_devfn >> 3) || r->func != (d->pf_devfn & 7))
			return PT_NO_MATCH;
		if (!(r->flags & PT_RULE_ANY_VF) && r->vf != d->vf)
			return PT_NO_MATCH;
	} else {
		if (r->domain != d->domain || r->bus != d->bus)
			return PT_NO_MATCH;
		if (!(r->flags & PT_RULE_ANY_SLOT) &&
		    r->slot != (d->devfn >> 3))
			return PT_NO_MATCH;
		if (!(r->flags & PT_RULE_ANY_FUNC) &&
		    r->func != (d->devfn & 7))
			return PT_NO_MATCH;
	}
	if ((r->flags & PT_RULE_PIN_IDS) &&
	    (r->vendor != d->vendor || r->device != d->device))
		return PT_MISMATCH;
	return PT_MATCH;
}

/**
 * pt_state() - the state GET reports for a device
 * @present: the device exists
 * @verdict: what the first rule concerning it says
 * @ours: passthru is bound to it
 * @bound: some driver is bound to it
 *
 * Return: an enum passthru_state.
 */
u8 pt_state(bool present, enum pt_verdict verdict, bool ours, bool bound)
{
	if (!present)
		return PASSTHRU_STATE_ABSENT;
	if (verdict == PT_MISMATCH)
		return PASSTHRU_STATE_MISMATCH;
	if (ours)
		return PASSTHRU_STATE_CLAIMED;
	if (bound)
		return PASSTHRU_STATE_HELD;
	return PASSTHRU_STATE_UNBOUND;
}
