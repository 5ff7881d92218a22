/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers for cleanup-attribute C, in the spirit of systemd's macro.h. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _unused_ __attribute__((unused))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Take ownership of a pointer: return it and leave NULL behind. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) *_pp = &(p);      \
                __typeof__(p) _p = *_pp;        \
                *_pp = NULL;                    \
                _p;                             \
        })

#define TAKE_FD(fd)                             \
        ({                                      \
                int *_fdp = &(fd);              \
                int _fd = *_fdp;                \
                *_fdp = -EBADF;                 \
                _fd;                            \
        })

/* type_freep(): the cleanup function of a type with a type_free() that returns NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/*
 * How much of a caller's string an answer quotes: all of it up to
 * QUOTE_MAX bytes, else QUOTE_MAX less the bytes of a UTF-8 character cut
 * in two (a D-Bus string must stay UTF-8).  For "'%.*s'%s", with
 * quote_cut() " (cut)" or "".
 */
#define QUOTE_MAX 64
static inline int quote_len(const char *s) {
        size_t n = strnlen(s, QUOTE_MAX + 1);

        if (n <= QUOTE_MAX)
                return (int) n;
        for (n = QUOTE_MAX; n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80; n--)
                ;
        return (int) n;
}
static inline const char *quote_cut(const char *s) {
        return strnlen(s, QUOTE_MAX + 1) > QUOTE_MAX ? " (cut)" : "";
}
