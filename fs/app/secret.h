/*
 * secret.h - reading a credential (API key, OAuth client secret) from the
 * places qlikfs accepts one: a file that only its owner can read, standard
 * input, or an environment variable (wiped after reading).  Never argv.
 */
#ifndef QLIKFS_SECRET_H
#define QLIKFS_SECRET_H

#include <stddef.h>

#define SECRET_MAX 16384

/*
 * Reads a secret: from path when path is set ("-" = standard input, without
 * echo on a terminal), else from the environment variable env (then zeroed in
 * place, so /proc/PID/environ no longer shows it, and unset).  The value is
 * the first line without surrounding blanks.  `what` names the source in
 * messages ("api_key_file").
 * Returns 0 with a malloc'd secret in *out (release with secret_free()), or:
 *   -ENOENT  path is NULL and env is unset or empty;
 *   -EPERM   the file may be read by group or others;
 *   -ENODATA the secret is empty;
 *   another -errno (open/read failure).
 * On failure err (n bytes) says why, naming the file but never its content.
 */
int secret_read(const char *path, const char *env, const char *what, char **out, char *err,
		size_t n);

/* Returns 0 when the open file fd may be read by its owner only, else -EPERM
 * with err saying how to fix the mode of path. */
int secret_check_mode(int fd, const char *path, const char *what, char *err, size_t n);

/* Zeroes and frees a secret.  NULL-safe. */
void secret_free(char *s);

#endif
