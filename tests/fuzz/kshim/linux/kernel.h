/* SPDX-License-Identifier: GPL-2.0 */
/* See types.h: BIT(), ARRAY_SIZE(), hex_to_bin() and scnprintf(). */
#ifndef PASSTHRU_KSHIM_KERNEL_H
#define PASSTHRU_KSHIM_KERNEL_H

#include <stdarg.h>
#include <stdio.h>

#include_next <linux/kernel.h>	/* the UAPI one */
#include <linux/types.h>

#define BIT(nr)		(1UL << (nr))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static inline int hex_to_bin(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* What was written, without the NUL: at most size - 1, 0 when size is 0. */
static inline __attribute__((format(printf, 3, 4)))
int scnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || size == 0)
		return 0;
	return (size_t)n < size ? n : (int)(size - 1);
}

#endif
