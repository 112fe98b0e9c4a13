/*
 * ns_restore.h - a backup copied back into the mount (docs/SEMANTICS.md
 * "Restore"): which new resource a backup's old id stands for, references
 * rewritten to the restored objects, writes held until what they refer to
 * exists, and the report of what could not come back.
 *
 * All functions run with ns->lock held; the ones that send requests drop it
 * meanwhile.  Without a state directory there is no restore map: a file
 * named after an old id is created as any new file is.
 */
#ifndef QLIKFS_NS_RESTORE_H
#define QLIKFS_NS_RESTORE_H

#include "ns/core/ns_internal.h"
#include "res/reswrite.h"

/* Opens <state_dir>/restore (the map and the report).  0 or -errno (the
 * mount goes on without restore bookkeeping, and says so in the log). */
int restore_open(struct ns *ns);
void restore_free(struct ns *ns);

/* The resource of this tenant an id in a name stands for: the one restored
 * from that backup id, else the id itself.  Returns id or buf.  (Listings
 * show a restored resource under its backup id: ns_coll.c reads the map.) */
const char *restore_real_id(struct ns *ns, enum rkind k, const char *id, char *buf, size_t n);

/* A new file of collection c that is a backup's ("Sales (OLD).json" holding
 * the object whose id is OLD): an update of the object restored from OLD
 * (or of OLD itself, in the tenant it came from), or a create whose
 * references doc now holds rewritten.  Returns 1 when the caller creates
 * (a plain new file, or a backup's to create: then restore_created after
 * it), 0 when done (held included: n stays, with its content, until what
 * it refers to is restored), or -errno with why in err. */
int restore_create(struct ns *ns, struct node *n, struct node *c, cJSON *doc, char *err,
		   size_t errn);

/* After the create (by the caller) of a file restore_create returned 1 for:
 * the map records it, and what the create could not send (an owner) is
 * sent.  Does nothing for a file that is not a backup's. */
void restore_created(struct ns *ns, struct node *n, struct node *c, const cJSON *doc,
		     const cJSON *now);

/* Before an update of resource rn from `edited` (base: what it was made
 * from; a reference equal to base's is left as it is, with no request):
 * references rewritten,
 * the backup's own id (when it is not this object's and not in the tenant)
 * recorded as standing for rn.  Returns 0, 1 when the update is held until
 * a reference is restored (nothing to send now), or -errno. */
int restore_before_update(struct ns *ns, struct node *rn, cJSON *edited, const cJSON *base,
			  char *err, size_t errn);

/* An app's .qvf written to a name carrying a backup's id (old); name: the
 * app's name when the caller would import it (an intent is recorded, and an
 * import an interrupted restore made is adopted), NULL when it would not.  Returns 1
 * when the caller imports as usual (and then calls restore_imported with
 * note), 0
 * when nothing is to be sent (the same export was imported before) or the
 * import was done here, or -errno (why in err). */
int restore_qvf(struct ns *ns, struct node *c, const char *old, const char *name, int fd,
		uint64_t size, char *note, size_t noten, char *err, size_t errn);
/* note: what restore_qvf put in note (the export's sha256). */
void restore_imported(struct ns *ns, const char *old, const char *new_id, const char *note);

/* Is the app restored from backup id old one its JSON made (no content
 * yet), which a .qvf written over its export replaces? */
bool restore_app_is_empty(struct ns *ns, const char *old);

/* Data files: true when bytes equal to what the mount last uploaded to data
 * file id, which has not changed since, are written again (nothing to send). */
bool restore_same_bytes(struct ns *ns, const char *id, int64_t mtime_ms, int fd);
void restore_uploaded(struct ns *ns, const cJSON *now, int fd);

/* old (a resource's id before it was deleted: the trash's undo) now stands
 * for new_id: recorded, and shown under the old id's name again. */
void restore_record(struct ns *ns, enum rkind k, const char *old, const char *new_id,
		    const char *note);

/* Does mkdir of name in d make a pending directory (d a collection of data
 * stores or data assets and name a backup's "Name (OLD)" not restored, or d
 * itself pending)? */
bool restore_pending_wanted(struct ns *ns, struct node *d, const char *name);
/* The name of a resource directory's own file for kind k ("data-store.json"). */
const char *restore_own_file(enum rkind k);

/* One line of the report (<state_dir>/restore/report.jsonl). */
void restore_report(struct ns *ns, const char *action, const struct node *n, const char *kind,
		    const char *old, const char *new_id, const char *why);

#endif
