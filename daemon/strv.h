/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NULL-terminated string arrays, as sd-bus reads and writes them ("as"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

char **strv_free(char **l);
size_t strv_length(char * const *l);
bool strv_contains(char * const *l, const char *s);
/* The index of the first copy of s, -1 when there is none. */
int strv_index(char * const *l, const char *s);
/* Append a copy of s; -ENOMEM on failure (l unchanged). */
int strv_extend(char ***l, const char *s);
/* Remove every copy of s; returns whether any was there. */
bool strv_remove(char **l, const char *s);
char **strv_copy(char * const *l);
/* Split at whitespace; NULL on ENOMEM. */
char **strv_split(const char *s);
/* Join with a separator; NULL on ENOMEM. */
char *strv_join(char * const *l, const char *sep);

static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))
