/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel command line's passthru.hide= rules, read as passthru.ko reads
 * them and printed in its canonical text ("(0000:01:00.0)",
 * "(0000:04:*.*)", "(0000:01:00.0=1234:11e8)", "(0000:06:00.0/1)"): rules
 * passthrud cannot drop, since the next boot brings them back.  And its
 * passthru.ids= entries (pci-stub's form), read as passthru.ko reads them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Does a passthru.hide= argument of @cmdline cover the device at @address
 * (DDDD:BB:SS.F) with ids @vendor:@device?  Arguments are split as the
 * kernel splits them (quotes around the whole argument or its value keep
 * blanks in it; passthru.hide= inside another argument's value does not
 * count) and every one counts, those after "--" too: modprobe, which gives
 * passthru.ko its parameters, reads them all.  Exact tokens and wildcards
 * count; a token that pins other ids does not.  The first such token, in
 * canonical text, goes to @rule.  For a device that is no VF: a VF rule
 * ((PF/N), and PF/ followed by a star) covers none.
 */
bool cmdline_hide_covers(const char *cmdline, const char *address, unsigned vendor, unsigned device, char *rule,
                         size_t size);
/*
 * The same for a device that may be a VF: VF number @vf (from 0; -1 when
 * unknown, which only a star after the slash covers) of the PF at @physfn
 * ("" or NULL for no VF), as passthru.ko's (PF/N) and its star form name it.
 */
bool cmdline_hide_covers_vf(const char *cmdline, const char *address, unsigned vendor, unsigned device,
                            const char *physfn, int vf, char *rule, size_t size);
/*
 * The value of the next @name= argument of @cmdline from *@p on, split as
 * above: [*ret_value, +*ret_len), *@p moved past it; false when there is
 * none.  Start with *@p at the command line's beginning.
 */
bool cmdline_next_value(const char **p, const char *name, const char **ret_value, size_t *ret_len);

/*
 * A device as an ids= entry names it: its ids and class, and its PCI
 * domain (for a VF, the larger of its own and its PF's): passthru.ko's
 * rules concern no device in a domain above ffff, whose domain cut to 16
 * bits would pass for another.
 */
typedef struct CmdlineIds {
        unsigned domain, vendor, device, subvendor, subdevice, class;
} CmdlineIds;

/*
 * Does an entry of the ids= value [@value, @end) cover the device @d, as
 * passthru.ko matches it?  Entries are comma separated, each
 * vendor:device[:subvendor[:subdevice[:class[:class_mask]]]] in hex (an
 * optional 0x, 1-8 digits; ffffffff: any id), at most PASSTHRU_RULE_MAX
 * characters; a bad entry is skipped, as the module skips it.  The first
 * covering entry goes to @rule as "ids=ENTRY" (cut short when @size is too
 * small: the device is covered all the same).
 */
bool cmdline_ids_value_covers(const char *value, const char *end, const CmdlineIds *d, char *rule, size_t size);

/* The same for every passthru.ids= value of @cmdline, split as cmdline_hide_covers() splits it. */
bool cmdline_ids_cover(const char *cmdline, const CmdlineIds *d, char *rule, size_t size);
