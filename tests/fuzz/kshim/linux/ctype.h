/* SPDX-License-Identifier: GPL-2.0 */
/*
 * See types.h.  The kernel's classes (lib/ctype.c), not the C library's:
 * isspace() also takes 0xa0, and a char with the high bit set is looked
 * up as unsigned, as the kernel's __ismask() does.
 */
#ifndef PASSTHRU_KSHIM_CTYPE_H
#define PASSTHRU_KSHIM_CTYPE_H

#undef isspace
#undef isxdigit

static inline int kshim_isspace(unsigned char c)
{
	return (c >= '\t' && c <= '\r') || c == ' ' || c == 0xa0;
}

static inline int kshim_isxdigit(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

#define isspace(c)	kshim_isspace((unsigned char)(c))
#define isxdigit(c)	kshim_isxdigit((unsigned char)(c))

#endif
