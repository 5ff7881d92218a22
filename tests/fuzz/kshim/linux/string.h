/* SPDX-License-Identifier: GPL-2.0 */
/* See types.h: the C library's string.h, and skip_spaces() and strscpy(). */
#ifndef PASSTHRU_KSHIM_STRING_H
#define PASSTHRU_KSHIM_STRING_H

#include <string.h>
#include <sys/types.h>

#include <linux/ctype.h>
#include <linux/errno.h>

static inline char *skip_spaces(const char *s)
{
	while (isspace(*s))
		s++;
	return (char *)s;
}

/* The length copied, or -E2BIG when src was cut; dst is always terminated. */
static inline ssize_t strscpy(char *dst, const char *src, size_t count)
{
	size_t n = strnlen(src, count);

	if (count == 0)
		return -E2BIG;
	if (n == count) {
		memcpy(dst, src, count - 1);
		dst[count - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, n + 1);
	return n;
}

#endif
