/*
 * errmap.h - the one table from HTTP status and Qlik error codes to errno.
 * docs/SEMANTICS.md's errno table ("Errors") is this table; keep them in step.
 */
#ifndef QLIKFS_ERRMAP_H
#define QLIKFS_ERRMAP_H

#include <stddef.h>

/* QOP_RENAME: an update that changes a name (409 = the name is taken). */
enum qop { QOP_READ, QOP_CREATE, QOP_UPDATE, QOP_DELETE, QOP_RENAME };

/* Returns the negative errno for a failed HTTP status (status >= 300) of an
 * operation of kind op; code is the first Qlik error code of the body or NULL. */
int errmap_http(long status, const char *code, enum qop op);

/* Returns the negative errno reported for a transport failure (the transport's
 * own negative errno, e.g. -ETIMEDOUT): every network failure becomes -EIO,
 * except -ENOMEM. */
int errmap_transport(int err);

/* Formats a one-line explanation into err[0..n) (nothing when err is NULL
 * or n is 0): how every module below the FUSE glue reports why it failed. */
void errmsg_set(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
