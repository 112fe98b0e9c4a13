/*
 * errlog.h - the content of the errors file (.errors at the mount root): one
 * line per change the mount could not make, so that a script that cannot
 * see close's status (a shell's `>`) can still find out:
 *
 *   TIME<TAB>OP<TAB>PATH<TAB>ERRNO<TAB>REASON<LF>
 *
 * TIME is UTC ISO 8601 with milliseconds, OP the operation (close, fsync,
 * create, rename...), PATH the file's path in the mount, ERRNO the errno's
 * name (EACCES), REASON the explanation (the tenant's error text when it gave
 * one).  Control characters in PATH and REASON are shown as '?'.
 *
 * Bounded: when the text would pass max_bytes, the oldest lines are dropped
 * down to half of it (readers following with `tail -f` see a truncation).
 * Thread-safe (one mutex).
 */
#ifndef QLIKFS_ERRLOG_H
#define QLIKFS_ERRLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct errlog;

struct errlog *errlog_new(size_t max_bytes); /* NULL on OOM */
void errlog_free(struct errlog *e);          /* NULL-safe */

/* Appends one line (err: a positive or negative errno).  Returns 0 or -ENOMEM. */
int errlog_add(struct errlog *e, const char *op, const char *path, int err, const char *reason);
uint64_t errlog_size(struct errlog *e);
uint64_t errlog_count(struct errlog *e); /* lines ever added */
/* Copies up to size bytes from offset off.  Returns the count (0 at the end). */
ssize_t errlog_read(struct errlog *e, char *buf, size_t size, off_t off);

#endif
