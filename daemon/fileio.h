/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files on disk: whole-file reads, atomic writes, and the INI files that
 * passthrud reads with libinih (configuration, state, lease ledger).
 * Functions return 0 (or a positive value) or a negative errno.
 */
#pragma once

#include <dirent.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* read_full_file() refuses anything bigger with -EFBIG. */
#define READ_FULL_FILE_MAX (4U * 1024U * 1024U)

/*
 * Read a whole file into a NUL-terminated malloc()ed buffer; ret_size may be
 * NULL.  Anything but a regular file (a FIFO, a device) is refused with
 * -EBADFD, a directory with -EISDIR.
 */
int read_full_file(const char *path, char **ret, size_t *ret_size);
/* The same, of @name relative to @dirfd (or AT_FDCWD). */
int read_full_file_at(int dirfd, const char *name, char **ret, size_t *ret_size);

/*
 * Replace path atomically: write a temporary file in the same directory,
 * fchmod() it to mode, fsync() it, rename() it over path, fsync() the
 * directory.  The directory must exist (see mkdir_parents()).
 */
int write_file_atomic(const char *path, const char *contents, mode_t mode);
/*
 * The same for @name in the open directory @dirfd; without @durable, no
 * fsync() of the file or the directory: for a directory on a memory file
 * system (fd_on_volatile_fs()), where fsync() keeps nothing that rename()
 * did not, and the contents die with the boot anyway.
 */
int write_file_atomic_at(int dirfd, const char *name, const char *contents, mode_t mode, bool durable);
/*
 * Remove the temporaries that write_file_atomic_at() leaves for @name in
 * @dirfd when its process dies between its open() and its rename()
 * (".NAME.PID.N"); nothing else.  For a start, before the first write.
 * The number removed, or -errno.
 */
int remove_atomic_temporaries_at(int dirfd, const char *name);
/* Is @fd's file system in memory only (tmpfs, ramfs)? */
bool fd_on_volatile_fs(int fd);

/* mkdir -p of the directory that holds path (not path itself). */
int mkdir_parents(const char *path, mode_t mode);
/* The names in directory @path that @keep accepts (all but dot files when
 * NULL), sorted; -ENOENT or -ENOTDIR when it is none. */
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int dir_list(const char *path, bool (*keep)(const char *name), char ***ret);
/* dir + "/" + name in a new string; -ENOMEM (and *ret = NULL) on failure. */
int path_join(const char *dir, const char *name, char **ret);
/*
 * Write @path atomically with what @print writes to the stream it is given
 * (in memory first: a failure leaves the old file as it was); its directory
 * is made with @dir_mode when missing.  The one save pipeline of the
 * daemon's files (ledger, state, modprobe.d).
 */
typedef void (*FilePrinter)(FILE *f, const void *userdata);
int write_file_atomic_printed(const char *path, mode_t dir_mode, mode_t mode, FilePrinter print, const void *userdata);
/* What @print writes, in a new string (free() it). */
int print_to_string(FilePrinter print, const void *userdata, char **ret);
/* The same into @name of the open directory @dirfd (write_file_atomic_at()). */
int write_file_atomic_printed_at(int dirfd, const char *name, mode_t mode, bool durable, FilePrinter print,
                                 const void *userdata);

/* Close an open_memstream() stream; -ENOMEM (and *buf freed) if any write to it failed. */
int memstream_finish(FILE *f, char **buf);

/*
 * INI files, parsed by libinih, with exact line numbers.
 *
 * The handler is called, in file order, for:
 *   - the start of a section:  section set, key and value NULL,
 *                              *line = the section header's line;
 *   - each entry:              section, key and value set, *line = its line;
 *                              a libinih continuation line (leading
 *                              whitespace) repeats the previous key;
 *                              inline comments (" ; ..." and " # ...") are cut;
 *   - the end of the file:     section NULL.
 * It returns 0 to go on, or a negative errno with *reason set to a
 * malloc()ed explanation (NULL is fine on -ENOMEM); it may point *line at
 * another line (for example a section's header when a key is missing).
 * Keys outside of any section, lines longer than libinih's buffer, NUL
 * bytes and syntax errors are refused before the handler sees them.
 */
typedef int (*ini_handler_t)(void *userdata,
                             const char *section, const char *key, const char *value,
                             unsigned *line, char **reason);

/*
 * Parse path.  -ENOENT when it does not exist (*ret_error untouched).
 * Any other failure: a negative errno (-EINVAL for malformed contents) and,
 * unless it is -ENOMEM, *ret_error (if given) = "PATH:LINE: reason" or
 * "PATH: reason" for I/O errors; free() it.
 */
int ini_parse_path(const char *path, ini_handler_t handler, void *userdata, char **ret_error);
/* ini_parse_path() of DIR/NAME, where a missing file parses as empty (0). */
int ini_parse_file_in(const char *dir, const char *name, ini_handler_t handler, void *userdata, char **ret_error);

/* For handlers: *reason = the formatted text; returns -EINVAL (-ENOMEM if that fails). */
int ini_reason(char **reason, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Values: a decimal number without sign, leading or trailing junk; -EINVAL, or -ERANGE above max. */
int parse_uint64(const char *s, uint64_t max, uint64_t *ret);
/* yes/no/true/false/1/0 (any case); -EINVAL otherwise. */
int parse_boolean(const char *s, bool *ret);
static inline const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/*
 * Write "key=w1 w2 ...\n" for a non-empty list, starting a new "key=" line
 * before a line grows past what libinih can read back; readers treat such
 * keys as repeatable.  Nothing for an empty list.
 */
void ini_write_list(FILE *f, const char *key, char * const *words);
