/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the fuzz targets share: a scratch directory, files in it, failing loudly, and reading the input byte by byte. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A broken promise of the code under test: print it and abort(), which libFuzzer reports as a crash. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        fputs("fuzz: ", stderr);
        vfprintf(stderr, format, ap);
        fputc('\n', stderr);
        va_end(ap);
        abort();
}

#define fuzz_assert(expr, ...)                  \
        do {                                    \
                if (!(expr))                    \
                        fuzz_fail(__VA_ARGS__); \
        } while (0)

/* A copy of data that ends in a NUL, in a block of exactly that size (so that ASan sees any overrun). */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* The scratch directory, made once in $TMPDIR (tests/fuzz/run.sh points it to tmpfs) and removed at exit. */
static char fuzz_dir_path[4096];

static inline int fuzz_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        (void) remove(path);
        return 0;
}

static inline void fuzz_dir_remove(void) {
        if (fuzz_dir_path[0])
                (void) nftw(fuzz_dir_path, fuzz_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *fuzz_dir(void) {
        const char *tmp;

        if (fuzz_dir_path[0])
                return fuzz_dir_path;
        tmp = getenv("TMPDIR");
        snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/passthru-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fuzz_dir_path)) {
                perror("fuzz: mkdtemp");
                abort();
        }
        atexit(fuzz_dir_remove);
        return fuzz_dir_path;
}

/* Write DIR/NAME (DIR made if need be) with exactly these bytes. */
static inline void fuzz_write(const char *dir, const char *name, const uint8_t *data, size_t size) {
        char path[4200];
        int fd;

        (void) mkdir(dir, 0700);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size) || close(fd) < 0) {
                perror("fuzz: writing the input");
                abort();
        }
}

/* The input, read from the front: take() a byte at a time, 0 once it is used up. */
typedef struct Cursor {
        const uint8_t *p;
        size_t left;
} Cursor;

static inline unsigned take(Cursor *c) {
        if (c->left == 0)
                return 0;
        c->left--;
        return *c->p++;
}
