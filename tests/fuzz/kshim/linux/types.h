/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-ins for the few kernel headers that kmod/hide.c includes,
 * so that the fuzzers build that very file (no copy) with clang: this
 * directory comes first in their include path.  Only what hide.c uses.
 */
#ifndef PASSTHRU_KSHIM_TYPES_H
#define PASSTHRU_KSHIM_TYPES_H

#include_next <linux/types.h>	/* __u8 ... for the UAPI headers */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#endif
