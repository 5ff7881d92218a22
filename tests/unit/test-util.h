/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scratch directories for unit tests: made in /tmp, removed with their contents. */
#pragma once

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

/* _cleanup_(rm_rf_tmp) char *dir = make_tmpdir(); */
static inline void rm_rf_tmp(char **dir) {
        if (*dir)
                assert_int_equal(nftw(*dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(*dir);
}

static inline char *make_tmpdir(void) {
        char *d;

        assert_true(asprintf(&d, "/tmp/%s.XXXXXX", program_invocation_short_name) > 0);
        assert_non_null(mkdtemp(d));
        return d;
}

static inline char *path_in(const char *dir, const char *name) {
        char *p;

        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}
