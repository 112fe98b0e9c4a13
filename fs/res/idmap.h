/*
 * idmap.h - the restore map: which resource of this tenant a backup's id
 * stands for (docs/SEMANTICS.md "Restore").
 *
 * A backup of the mount names resources by the ids they had where it was
 * made ("Sales (OLD).json"); copied into a mount of another tenant (or back
 * after a delete) each becomes a new resource with a new id.  The map keeps
 * OLD -> NEW per kind, so that the mount shows the new resource under the
 * backup's name (a second rsync finds it and sends nothing) and rewrites the
 * backup's references (an app's spaceId, a data set's data store) to the
 * new objects.
 *
 * On disk: <dir>/ids (0600; dir created 0700 when missing), one record per
 * line, appended and fsync'ed as it is made (the directory too when the
 * file is new), so it survives a crash and a remount:
 *
 *     <type>\t<old id>\t<new id>\t<note>\n
 *
 * type is the resource table's type ("app"); a later record for the same
 * (type, old id) replaces an earlier one; a new id "?" is an intent (a
 * create about to be sent, note "<ms since epoch> <name>"), so that a
 * restore killed between the POST and its record finds the object it made
 * instead of making a second one.  Lines that do not parse (a torn last
 * line) are skipped; a torn last line is cut off before the next record
 * is appended, so that it neither swallows that record nor, cut in its
 * note, becomes one.  Ids and notes never hold tabs or newlines.
 *
 * Thread-safe (an internal leaf mutex).  Layer: res (includes util only).
 */
#ifndef QLIKFS_IDMAP_H
#define QLIKFS_IDMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "res/restab.h"

struct idmap;

struct idmap_rec {
	enum rkind kind;
	char old_id[128];
	char new_id[128]; /* "?" for an intent */
	char note[512];
};

/* Loads (creating it when missing) the map kept in dir; dir NULL: a map in
 * memory only.  Returns 0 with *out, or -errno. */
int idmap_open(const char *dir, struct idmap **out);
void idmap_free(struct idmap *m);

/* The new id OLD stands for (copied into out): true, or false when none
 * (an intent is not a mapping). */
bool idmap_new_id(struct idmap *m, enum rkind k, const char *old_id, char *out, size_t n);
/* The backup id NEW was restored from: true, or false. */
bool idmap_old_id(struct idmap *m, enum rkind k, const char *new_id, char *out, size_t n);
/* The latest record of OLD (mapping or intent): true with *out, or false. */
bool idmap_get(struct idmap *m, enum rkind k, const char *old_id, struct idmap_rec *out);

/* Records OLD -> NEW with note (may be NULL), in memory and on disk
 * (fsync'ed before it returns).  Returns 0, -EINVAL for an id or note that
 * cannot be kept (tab, newline, empty, too long), or -errno of the write. */
int idmap_add(struct idmap *m, enum rkind k, const char *old_id, const char *new_id,
	      const char *note);

/* How many mappings (not intents) the map holds. */
size_t idmap_count(struct idmap *m);

/* Parses one record (without its newline).  Returns 0, or -EINVAL with
 * *out cleared.  Pure;
 * exposed for tests and the fuzz target. */
int idmap_parse_line(const char *line, size_t len, struct idmap_rec *out);
/* Formats rec as a line with its newline into out.  Returns its length, or
 * -EINVAL / -ENAMETOOLONG. */
int idmap_format_line(const struct idmap_rec *rec, char *out, size_t n);

#endif
