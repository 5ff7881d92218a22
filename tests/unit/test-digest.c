/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 (daemon/digest.c, libgcrypt's): FIPS 180-4's examples written
 * out as sha256sum writes them, and the digest sha256sum gives
 * passthru.conf (passthru-refresh-initramfs records that one).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "digest.h"

static void assert_sha256(const void *data, size_t size, const char *expected) {
        char hex[SHA256_HEX_SIZE];

        memset(hex, 'z', sizeof(hex));
        assert_int_equal(sha256_hex(data, size, hex), 0);
        assert_string_equal(hex, expected);
}

static void fips_examples(void **state) {
        static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        _cleanup_free_ char *million = malloc(1000000);

        (void) state;
        assert_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_sha256(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_sha256(two_blocks, strlen(two_blocks), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        assert_non_null(million);
        memset(million, 'a', 1000000);
        assert_sha256(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void passthru_conf_as_sha256sum_prints_it(void **state) {
        static const char conf[] = "# Written by passthrud: devices marked for passthrough.\n"
                                   "options passthru hide=(0000:02:00.0)\n";

        (void) state;
        assert_sha256(conf, strlen(conf), "3d33798bbd64247109799552d5fcdd8a4206b99833214abf631688628329e945");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fips_examples),
                cmocka_unit_test(passthru_conf_as_sha256sum_prints_it),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
