/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel command line's passthru.hide= rules, compared in passthru.ko's
 * canonical text ("(0000:01:00.0)", "(0000:01:00.0=1234:11e8)"): the rules
 * passthrud cannot drop, since the next boot brings them back.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * The canonical text of one exact hide= token ("(1:0.0)" -> "(0000:01:00.0)")
 * in @buf; -EINVAL for a token that is not one device's address (wildcards,
 * bad syntax, fields out of range), -ENOBUFS when @buf is too small.
 */
int hide_token_canonical(const char *token, size_t len, char *buf, size_t size);

/* Does a passthru.hide= word of @cmdline hold the exact rule @canonical? */
bool cmdline_hides_rule(const char *cmdline, const char *canonical);
