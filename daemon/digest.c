/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include <gcrypt.h>

#include "digest.h"

/*
 * libgcrypt wants gcry_check_version() before anything else: it sets the
 * library up (and says whether the one loaded is recent enough).  Only a
 * hash is used: no secure memory, nothing else to set up.
 */
static int gcrypt_ready(void) {
        if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
                return 0;
        if (!gcry_check_version(GCRYPT_VERSION))
                return -EIO;
        (void) gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
        (void) gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
        return 0;
}

int sha256_hex(const void *data, size_t size, char out[static SHA256_HEX_SIZE]) {
        unsigned char digest[32];
        int r;

        r = gcrypt_ready();
        if (r < 0)
                return r;
        gcry_md_hash_buffer(GCRY_MD_SHA256, digest, data, size);
        for (size_t i = 0; i < sizeof(digest); i++)
                snprintf(out + 2 * i, 3, "%02x", digest[i]);
        return 0;
}
