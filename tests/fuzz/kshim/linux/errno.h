/* SPDX-License-Identifier: GPL-2.0 */
/* See types.h: the errno values hide.c returns. */
#ifndef PASSTHRU_KSHIM_ERRNO_H
#define PASSTHRU_KSHIM_ERRNO_H

#include_next <linux/errno.h>	/* the UAPI one: the values */

#endif
