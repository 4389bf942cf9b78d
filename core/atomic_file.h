/* atomic_file.h — replace a small file so that a crash leaves either the
 * old or the new contents, never a torn mix: write a temp file beside it,
 * fsync it, rename over the target, fsync the directory. */
#ifndef SL_ATOMIC_FILE_H
#define SL_ATOMIC_FILE_H

#include <stddef.h>

#include "err.h"

int sl_write_file_atomic(const char *path, const void *data, size_t len, sl_err *err);
/* Reads a whole file; *out is NUL-terminated and malloc'd. Missing file:
 * returns 0 with *out = NULL. */
int sl_read_file(const char *path, char **out, size_t *len, sl_err *err);
/* The same, refusing a file of more than max bytes (errno EFBIG) without
 * reading past the bound: /dev/zero or a huge file fails fast. A failed
 * open or read leaves its errno. */
int sl_read_file_max(const char *path, size_t max, char **out, size_t *len, sl_err *err);

#endif
