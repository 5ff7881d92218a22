/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Digests, through libgcrypt (the one place it is called): SHA-256 of a
 * buffer, as sha256sum prints it, for what shell scripts record with
 * sha256sum (passthru-refresh-initramfs's initramfs-marks) and passthructl
 * compares.  libgcrypt is what libsystemd itself links on Debian: no new
 * library on a host.  Not for secrets.
 */
#pragma once

#include <stddef.h>

/* 64 lower-case hex digits and a NUL. */
#define SHA256_HEX_SIZE 65

/* 0, or -EIO when the libgcrypt loaded is older than the one built against. */
int sha256_hex(const void *data, size_t size, char out[static SHA256_HEX_SIZE]);
