/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        if (l)
                for (char **i = l; *i; i++)
                        free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

bool strv_contains(char * const *l, const char *s) {
        return strv_index(l, s) >= 0;
}

int strv_index(char * const *l, const char *s) {
        for (size_t i = 0; l && l[i] && i < INT_MAX; i++)
                if (strcmp(l[i], s) == 0)
                        return (int) i;
        return -1;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **m, *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        m = reallocarray(*l, n + 2, sizeof(char *));
        if (!m) {
                free(c);
                return -ENOMEM;
        }
        m[n] = c;
        m[n + 1] = NULL;
        *l = m;
        return 0;
}

bool strv_remove(char **l, const char *s) {
        bool found = false;
        size_t j = 0;

        if (!l)
                return false;
        for (size_t i = 0; l[i]; i++) {
                if (strcmp(l[i], s) == 0) {
                        free(l[i]);
                        found = true;
                } else
                        l[j++] = l[i];
        }
        l[j] = NULL;
        return found;
}

char **strv_copy(char * const *l) {
        char **c = calloc(1, sizeof(char *));

        if (!c)
                return NULL;
        for (size_t i = 0; l && l[i]; i++)
                if (strv_extend(&c, l[i]) < 0)
                        return strv_free(c);
        return c;
}

/* isspace()'s set in the C locale: a file from another system's editor ("\r\n") splits the same. */
#define STRV_BLANKS " \t\n\r\v\f"

char **strv_split(const char *s) {
        char **l = calloc(1, sizeof(char *));
        const char *w = s;

        if (!l)
                return NULL;
        while (w && *w) {
                size_t n;
                char *word;
                int r;

                w += strspn(w, STRV_BLANKS);
                n = strcspn(w, STRV_BLANKS);
                if (n == 0)
                        break;
                word = strndup(w, n);
                if (!word)
                        return strv_free(l);
                r = strv_extend(&l, word);
                free(word);
                if (r < 0)
                        return strv_free(l);
                w += n;
        }
        return l;
}

char *strv_join(char * const *l, const char *sep) {
        size_t len = 1, k = strlen(sep);
        char *s, *p;

        for (size_t i = 0; l && l[i]; i++)
                len += strlen(l[i]) + (i ? k : 0);
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; l && l[i]; i++) {
                if (i)
                        p = stpcpy(p, sep);
                p = stpcpy(p, l[i]);
        }
        return s;
}
