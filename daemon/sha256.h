/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 (FIPS 180-4) of a buffer, as sha256sum prints it: for what
 * shell scripts record with sha256sum (passthru-refresh-initramfs's
 * initramfs-marks) and passthructl compares.  Not for secrets.
 */
#pragma once

#include <stddef.h>

/* 64 lower-case hex digits and a NUL. */
#define SHA256_HEX_SIZE 65

void sha256_hex(const void *data, size_t size, char out[static SHA256_HEX_SIZE]);
