/*
 * reloads_reg.h - the reloads a mount started, remembered in the state
 * directory (<state dir>/reloads.json) so that a later mount still shows
 * them: the API lists a tenant's reloads to a tenant admin only, and any
 * other caller must name the app.
 *
 * The file: {"version":1,"reloads":[{"id","appId","created" (RFC 3339)}...]},
 * oldest first, mode 0600, replaced atomically (statedir_write_atomic) under
 * an exclusive flock() on <state dir>/reloads.lock, as every mount of the
 * tenant with the same state directory writes it.  It keeps the reloads
 * created in the last RELOADS_REG_DAYS days, at most the newest
 * RELOADS_REG_KEEP: older ones are dropped when it is read and written.
 *
 * Parsing, rendering and the bound are pure; load and add do file I/O.
 * Nothing here logs.  Every function returns 0 or -errno.
 */
#ifndef QLIKFS_RELOADS_REG_H
#define QLIKFS_RELOADS_REG_H

#include <stddef.h>
#include <stdint.h>

#include "actions/reloads.h"

#define RELOADS_REG_FILE "reloads.json"
#define RELOADS_REG_LOCK "reloads.lock"
#define RELOADS_REG_KEEP 1000 /* at most the newest 1,000 */
#define RELOADS_REG_DAYS 30   /* created in the last 30 days */

struct reload_mark {
	char id[RELOADS_ID_MAX + 1];
	char app[RELOADS_ID_MAX + 1];
	int64_t created_ms; /* ms since the epoch */
};

/* The marks of a registry document (malloc'd, may be NULL when *n == 0), in
 * the file's order; entries without a valid id or creation time are
 * skipped, a repeated id keeps its first entry.  -EINVAL: not such a
 * document; -EFBIG: more than 4 * RELOADS_REG_KEEP entries. */
int reloads_reg_parse(const char *text, size_t len, struct reload_mark **out, size_t *n);

/* The document for v[0..n) (malloc'd, *len its length), or NULL. */
char *reloads_reg_render(const struct reload_mark *v, size_t n, size_t *len);

/* Sorts v oldest first and keeps those created after now_ms minus
 * RELOADS_REG_DAYS days (and not more than a day ahead of now_ms), at most
 * the newest RELOADS_REG_KEEP.  Returns the number kept (at the front). */
size_t reloads_reg_bound(struct reload_mark *v, size_t n, int64_t now_ms);

/* Reads <state_dir>/reloads.json and bounds it at now_ms: *out (malloc'd,
 * may be NULL) and *n, oldest first.  A missing file is no marks. */
int reloads_reg_load(const char *state_dir, int64_t now_ms, struct reload_mark **out, size_t *n);

/* Adds m to <state_dir>/reloads.json (starting from its current content,
 * under the lock) and rewrites it bounded at now_ms.  A file that is not a
 * registry is left untouched (-EINVAL).  err says why on failure. */
int reloads_reg_add(const char *state_dir, const struct reload_mark *m, int64_t now_ms, char *err,
		    size_t errn);

#endif
