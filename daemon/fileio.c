/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <ini.h>

#include "fileio.h"
#include "macro.h"
#include "strv.h"

int read_full_file(const char *path, char **ret, size_t *ret_size) {
        return read_full_file_at(AT_FDCWD, path, ret, ret_size);
}

int read_full_file_at(int dirfd, const char *name, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;
        struct stat st;

        /* O_NONBLOCK: a FIFO put in a file's place must not hang the daemon in open(). */
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (S_ISREG(st.st_mode) && st.st_size > (off_t) READ_FULL_FILE_MAX)
                return -EFBIG;

        /* st_size is only a hint: /proc files say 0, and files change. */
        allocated = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t) st.st_size + 1 : 4096;
        for (;;) {
                ssize_t n;

                if (size + 1 >= allocated || !buf) {
                        size_t want = buf ? allocated * 2 : allocated;
                        char *p;

                        if (want > READ_FULL_FILE_MAX + 2)
                                want = READ_FULL_FILE_MAX + 2;
                        p = realloc(buf, want);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = want;
                }

                n = read(fd, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > READ_FULL_FILE_MAX)
                        return -EFBIG;
        }

        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

bool fd_on_volatile_fs(int fd) {
        struct statfs sf;

        return fstatfs(fd, &sf) >= 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC);
}

int write_file_atomic_at(int dirfd, const char *name, const char *contents, mode_t mode, bool durable) {
        static unsigned counter;
        _cleanup_close_ int fd = -EBADF;
        char tmp[NAME_MAX + 1];
        int r;

        if (!name || !*name || strchr(name, '/'))
                return -EINVAL;
        /* A hidden name in the same directory: rename() must not cross file systems. */
        for (int attempt = 0; fd < 0; attempt++) {
                unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

                if ((size_t) snprintf(tmp, sizeof(tmp), ".%s.%d.%u", name, (int) getpid(), n) >= sizeof(tmp))
                        return -ENAMETOOLONG;
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 && (errno != EEXIST || attempt >= 100))
                        return -errno;
        }

        r = write_all(fd, contents, strlen(contents));
        /* Made 0600 (the ledger's mode: no call more); a wider mode is set whatever the umask took. */
        if (r >= 0 && (mode & 07777) != 0600 && fchmod(fd, mode & 07777) < 0)
                r = -errno;
        if (r >= 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        if (durable && fsync(dirfd) < 0)
                return -errno;
        return 0;
}

/* ".NAME." followed by digits, a dot and digits: write_file_atomic_at()'s temporary for @name. */
static bool is_atomic_temporary(const char *entry, const char *name) {
        size_t n = strlen(name);
        const char *p;

        if (entry[0] != '.' || strncmp(entry + 1, name, n) != 0 || entry[n + 1] != '.')
                return false;
        p = entry + n + 2;
        if (!isdigit((unsigned char) *p))
                return false;
        while (isdigit((unsigned char) *p))
                p++;
        if (*p++ != '.' || !isdigit((unsigned char) *p))
                return false;
        while (isdigit((unsigned char) *p))
                p++;
        return *p == '\0';
}

int remove_atomic_temporaries_at(int dirfd, const char *name) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *e;
        int fd, n = 0;

        if (!name || !*name || strchr(name, '/'))
                return -EINVAL;
        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((errno = 0, e = readdir(d))) {
                if (!is_atomic_temporary(e->d_name, name))
                        continue;
                if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT)
                        return -errno;
                n++;
        }
        if (errno != 0)
                return -errno;
        return n;
}

int write_file_atomic(const char *path, const char *contents, mode_t mode) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF;
        const char *base;

        if (!path || !*path || path[strlen(path) - 1] == '/')
                return -EINVAL;
        base = strrchr(path, '/');
        if (!base)
                dir = strdup(".");
        else if (base == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t) (base - path));
        if (!dir)
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return write_file_atomic_at(dfd, base ? base + 1 : path, contents, mode, true);
}

int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        slash = strrchr(p, '/');
        if (!slash)
                return 0;               /* the current directory */
        *slash = '\0';

        for (char *s = p; ; ) {
                struct stat st;
                char saved;

                /* Skip to the end of the next component. */
                s += strspn(s, "/");
                if (!*s)
                        break;
                s += strcspn(s, "/");
                saved = *s;
                *s = '\0';

                if (mkdir(p, mode) < 0) {
                        if (errno != EEXIST)
                                return -errno;
                        if (stat(p, &st) < 0)
                                return -errno;
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                }

                *s = saved;
                if (!saved)
                        break;
        }
        return 0;
}

int ini_reason(char **reason, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(reason, format, ap);
        va_end(ap);
        if (r < 0) {
                *reason = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

typedef struct IniParse {
        const char *data, *pos, *end;
        unsigned line;                  /* lines handed to libinih so far */
        unsigned section_line;          /* the latest line that opens with '[' */
        bool new_section;               /* a header was read since the last event */
        char *section;                  /* the section of the last event */
        ini_handler_t handler;
        void *userdata;

        int error;                      /* the first failure, 0 if none */
        unsigned error_line;
        char *error_reason;
} IniParse;

/* reason NULL with -EINVAL means that formatting it failed. */
static void ini_parse_fail(IniParse *p, int r, unsigned line, char *reason) {
        if (r == -EINVAL && !reason)
                r = -ENOMEM;
        if (p->error) {
                free(reason);
                return;
        }
        p->error = r;
        p->error_line = line;
        p->error_reason = reason;
}

/* libinih's fgets(): one call per line of the file, so its line numbers are ours. */
static char *ini_read_line(char *str, int num, void *stream) {
        IniParse *p = stream;
        const char *s, *nl, *t;
        size_t len;

        if (p->error || p->pos >= p->end || num < 3)
                return NULL;

        s = p->pos;
        nl = memchr(s, '\n', (size_t) (p->end - s));
        len = (size_t) ((nl ? nl : p->end) - s);
        p->pos = nl ? nl + 1 : p->end;
        p->line++;

        for (t = s; t < s + len && (*t == ' ' || *t == '\t'); t++)
                ;
        if (t < s + len && *t == '[') {
                p->section_line = p->line;
                p->new_section = true;
        }

        if (memchr(s, '\0', len)) {
                ini_parse_fail(p, -EINVAL, p->line, strdup("NUL byte in line"));
                strcpy(str, "!\n");     /* a syntax error for libinih too */
                return str;
        }
        /* A line's end is '\n' (or "\r\n"): a '\r' before that would hide what follows it from libinih. */
        for (const char *cr = memchr(s, '\r', len); cr; cr = memchr(cr + 1, '\r', (size_t) (s + len - cr - 1)))
                if (cr != s + len - 1) {
                        ini_parse_fail(p, -EINVAL, p->line,
                                       strdup("carriage return inside a line (lines must end with '\\n')"));
                        strcpy(str, "!\n");
                        return str;
                }
        /* libinih drops what follows a header's ']': "[Daemon] Key=1" would lose the key. */
        if (t < s + len && *t == '[') {
                const char *close = memchr(t, ']', (size_t) (s + len - t)), *after;

                for (after = close ? close + 1 : NULL; after && after < s + len && isspace((unsigned char) *after);
                     after++)
                        ;
                if (after && after < s + len && *after != '#' && *after != ';') {
                        ini_parse_fail(p, -EINVAL, p->line, strdup("text after the section header's ']'"));
                        strcpy(str, "!\n");
                        return str;
                }
        }

        if (len + 2 > (size_t) num) {
                if (t < s + len && (*t == '#' || *t == ';')) {
                        strcpy(str, "#\n");     /* a long comment is still a comment */
                        return str;
                }
                char *reason;

                if (asprintf(&reason, "line too long (more than %d characters)", num - 2) < 0)
                        reason = NULL;
                ini_parse_fail(p, -EINVAL, p->line, reason);
                strcpy(str, "!\n");
                return str;
        }

        memcpy(str, s, len);
        str[len] = '\n';
        str[len + 1] = '\0';
        return str;
}

static int ini_call(IniParse *p, const char *section, const char *key, const char *value, unsigned line) {
        char *reason = NULL;
        int r;

        r = p->handler(p->userdata, section, key, value, &line, &reason);
        if (r < 0) {
                ini_parse_fail(p, r, line, reason);
                return 0;
        }
        free(reason);
        return 1;
}

static int ini_entry(void *userdata, const char *section, const char *name, const char *value) {
        IniParse *p = userdata;
        _cleanup_free_ char *v = NULL;
        char *hash;

        if (p->error)
                return 0;

        if (!*section) {
                char *reason = NULL;

                if (asprintf(&reason, "'%s' outside of any section", name) < 0)
                        reason = NULL;
                ini_parse_fail(p, -EINVAL, p->line, reason);
                return 0;
        }

        /* A header starts a section even when it repeats the last one's name: the handler refuses it. */
        if (p->new_section || !p->section || strcmp(p->section, section) != 0) {
                p->new_section = false;
                free(p->section);
                p->section = strdup(section);
                if (!p->section) {
                        ini_parse_fail(p, -ENOMEM, p->line, NULL);
                        return 0;
                }
                if (!ini_call(p, section, NULL, NULL, p->section_line ? p->section_line : p->line))
                        return 0;
        }

        /* libinih cuts " ; comment"; cut " # comment" too. */
        v = strdup(value);
        if (!v) {
                ini_parse_fail(p, -ENOMEM, p->line, NULL);
                return 0;
        }
        for (hash = strchr(v, '#'); hash; hash = strchr(hash + 1, '#'))
                if (hash == v || hash[-1] == ' ' || hash[-1] == '\t') {
                        *hash = '\0';
                        break;
                }
        for (size_t n = strlen(v); n > 0 && isspace((unsigned char) v[n - 1]); n--)
                v[n - 1] = '\0';

        return ini_call(p, section, name, v, p->line);
}

/* The first line of text, for a syntax error that libinih found on it. */
static const char *ini_syntax_reason(const IniParse *p, unsigned line) {
        const char *s = p->data;

        for (unsigned i = 1; i < line && s < p->end; i++) {
                const char *nl = memchr(s, '\n', (size_t) (p->end - s));
                s = nl ? nl + 1 : p->end;
        }
        while (s < p->end && (*s == ' ' || *s == '\t'))
                s++;
        if (s < p->end && *s == '[')
                return "section header without closing ']'";
        return "expected 'Key=Value', '[Section]' or a comment";
}

int print_to_string(FilePrinter print, const void *userdata, char **ret) {
        size_t size;
        FILE *f;

        *ret = NULL;
        f = open_memstream(ret, &size);
        if (!f)
                return -ENOMEM;
        print(f, userdata);
        return memstream_finish(f, ret);
}

int write_file_atomic_printed(const char *path, mode_t dir_mode, mode_t mode, FilePrinter print, const void *userdata) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = print_to_string(print, userdata, &text);
        if (r < 0)
                return r;
        r = mkdir_parents(path, dir_mode);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, mode);
}

int write_file_atomic_printed_at(int dirfd, const char *name, mode_t mode, bool durable, FilePrinter print,
                                 const void *userdata) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = print_to_string(print, userdata, &text);
        if (r < 0)
                return r;
        return write_file_atomic_at(dirfd, name, text, mode, durable);
}

int memstream_finish(FILE *f, char **buf) {
        bool failed = ferror(f);

        if (fclose(f) != 0 || failed) {
                free(*buf);
                *buf = NULL;
                return -ENOMEM;
        }
        return 0;
}

int ini_parse_file_in(const char *dir, const char *name, ini_handler_t handler, void *userdata, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = path_join(dir, name, &path);
        if (r < 0) {
                if (ret_error)
                        *ret_error = NULL;
                return r;
        }
        r = ini_parse_path(path, handler, userdata, ret_error);
        return r == -ENOENT ? 0 : r;
}

int ini_parse_path(const char *path, ini_handler_t handler, void *userdata, char **ret_error) {
        _cleanup_free_ char *data = NULL;
        IniParse p = {
                .handler = handler,
                .userdata = userdata,
        };
        size_t size;
        int r;

        r = read_full_file(path, &data, &size);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                errno = -r;
                if (ret_error && (r == -ENOMEM ||
                                  (r == -EFBIG    ? asprintf(ret_error, "%s: file too large", path)
                                   : r == -EBADFD ? asprintf(ret_error, "%s: not a regular file", path)
                                                  : asprintf(ret_error, "%s: %m", path)) < 0))
                        *ret_error = NULL;
                return r;
        }

        p.data = p.pos = data;
        p.end = data + size;

        r = ini_parse_stream(ini_read_line, &p, ini_entry, &p);
        if (r == -2)
                ini_parse_fail(&p, -ENOMEM, 0, NULL);
        else if (r > 0 && (!p.error || (unsigned) r < p.error_line)) {
                free(p.error_reason);
                p.error = 0;
                ini_parse_fail(&p, -EINVAL, (unsigned) r, strdup(ini_syntax_reason(&p, (unsigned) r)));
        }
        if (!p.error)
                (void) ini_call(&p, NULL, NULL, NULL, p.line);
        free(p.section);

        if (!p.error)
                return 0;
        if (ret_error) {
                *ret_error = NULL;
                if (p.error_reason &&
                    asprintf(ret_error, "%s:%u: %s", path, p.error_line, p.error_reason) < 0) {
                        *ret_error = NULL;
                        p.error = -ENOMEM;
                }
        }
        free(p.error_reason);
        return p.error;
}

int parse_uint64(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *c = s; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*c - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*c - '0');
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_boolean(const char *s, bool *ret) {
        static const char * const yes[] = { "yes", "true", "1" };
        static const char * const no[] = { "no", "false", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* libinih reads lines of up to INI_MAX_LINE - 2 characters; stay well below. */
#define INI_WRITE_LINE_MAX 120

void ini_write_list(FILE *f, const char *key, char * const *words) {
        size_t col = 0;

        for (size_t i = 0; words && words[i]; i++) {
                size_t n = strlen(words[i]);

                if (col > 0 && col + 1 + n > INI_WRITE_LINE_MAX) {
                        fputc('\n', f);
                        col = 0;
                }
                if (col == 0) {
                        fprintf(f, "%s=%s", key, words[i]);
                        col = strlen(key) + 1 + n;
                } else {
                        fprintf(f, " %s", words[i]);
                        col += 1 + n;
                }
        }
        if (col > 0)
                fputc('\n', f);
}

int path_join(const char *dir, const char *name, char **ret) {
        if (asprintf(ret, "%s/%s", dir, name) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int dir_list(const char *path, bool (*keep)(const char *name), char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, allocated = 8;
        struct dirent *de;

        d = opendir(path);
        if (!d)
                return -errno;
        l = calloc(allocated, sizeof(char *));
        if (!l)
                return -ENOMEM;
        errno = 0;
        while ((de = readdir(d))) {
                if (keep ? keep(de->d_name) : de->d_name[0] != '.') {
                        /* Doubling, not strv_extend(): a directory of n entries costs O(n), not O(n^2). */
                        if (n + 2 > allocated) {
                                char **a = reallocarray(l, allocated * 2, sizeof(char *));

                                if (!a)
                                        return -ENOMEM;
                                memset(a + allocated, 0, allocated * sizeof(char *));
                                l = a;
                                allocated *= 2;
                        }
                        l[n] = strdup(de->d_name);
                        if (!l[n])
                                return -ENOMEM;
                        n++;
                }
                errno = 0;
        }
        if (errno != 0)
                return -errno;
        qsort(l, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}
