/*
 * trashent.h - the trash's on-disk entries (docs/SEMANTICS.md "Trash"):
 * the entry's description file, the entry's name, when it expires.  Pure:
 * no I/O, no locks, no globals.
 *
 * An entry is a directory <state dir>/trash/<name>/ holding
 *   trash.json     this description (TRASH_META)
 *   resource.json  the resource's JSON as the mount showed it (TRASH_JSON)
 *   app.qvf        an app's export, when it was kept (TRASH_QVF)
 *   <name>/        a space's entry: the entries of the apps and data files
 *                  that were in it (each one an entry of its own)
 *
 * trash.json (format 1), written by trashent_format, read by trashent_parse:
 *   {
 *     "format": 1,
 *     "type": "app",                   the resource kind (user.qlik.type)
 *     "id": "f0714ca7-...",            its id then
 *     "name": "Sales",                 its name then (may be absent)
 *     "path": "spaces/Finance/apps/Sales (f0714ca7-...).json",
 *     "spaceId": "...",                apps, data files: their space ("" or
 *                                      absent: none, or personal)
 *     "deletedAt": "2024-05-01T10:22:03.123Z",
 *     "qvf": true, "qvfSize": 312345,  apps: app.qvf holds the export
 *     "notKept": "why ..."             what could not be kept (absent: all)
 *   }
 * Unknown fields are ignored; a missing or malformed required field
 * (format 1, type, id, path, deletedAt) makes the entry invalid.
 */
#ifndef QLIKFS_TRASHENT_H
#define QLIKFS_TRASHENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TRASH_DIR "trash"          /* under the state directory */
#define TRASH_META "trash.json"
#define TRASH_JSON "resource.json"
#define TRASH_QVF "app.qvf"
#define TRASH_FORMAT 1
#define TRASH_META_MAX (64u << 10) /* bytes of a trash.json read back */
#define TRASH_ID_MAX 128
#define TRASH_TYPE_MAX 31

struct trash_meta {
	char type[TRASH_TYPE_MAX + 1];
	char id[TRASH_ID_MAX + 1];
	char space_id[TRASH_ID_MAX + 1]; /* "" when none */
	char *name;                      /* NULL when unknown */
	char *path;                      /* never NULL once parsed */
	int64_t deleted_ms;              /* wall clock, ms since the epoch */
	bool qvf;                        /* app.qvf is there */
	uint64_t qvf_size;
	char *not_kept;                  /* NULL: everything was kept */
};

/* Renders m as a JSON text (malloc'd, with a final newline) in *out and its
 * length in *len.  Returns 0, -EINVAL (a required field empty or too long,
 * a time outside years 0..9999) or -ENOMEM. */
int trashent_format(const struct trash_meta *m, char **out, size_t *len);

/* Parses a trash.json text of len bytes (no NUL needed) into m, which is
 * cleared first (free it with trashent_clear).  Returns 0, -EINVAL (not
 * format 1, a required field missing, a string where a number belongs...,
 * with m cleared) or -ENOMEM. */
int trashent_parse(const char *data, size_t len, struct trash_meta *m);

void trashent_clear(struct trash_meta *m);

/* The name of an entry: "<time> <path>", time in UTC as
 * "YYYY-MM-DDTHHMMSSZ" and path the original path with a final ".json"
 * dropped and every '/' shown as names.c shows it (U+FF0F, reversible by
 * names_decode).  A name over NAMES_MAX bytes keeps the end of the path
 * after "…".  nth > 1 adds " #nth" (a second entry of the same second).
 * Returns the length, or -EINVAL (empty path, time outside 0..9999) or
 * -ENAMETOOLONG (out too small). */
ssize_t trashent_name(int64_t deleted_ms, const char *path, unsigned nth, char *out, size_t n);

/* Has an entry deleted at deleted_ms outlived keep_ms at now_ms? */
bool trashent_expired(int64_t deleted_ms, int64_t now_ms, int64_t keep_ms);

#endif
