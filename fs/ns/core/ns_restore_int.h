/*
 * ns_restore_int.h - what ns_restore.c (the map, references, holds,
 * creates) shares with ns_restore_content.c (apps' .qvf, data files'
 * bytes).  Private to those two files.  Locks: as ns_restore.h.
 */
#ifndef QLIKFS_NS_RESTORE_INT_H
#define QLIKFS_NS_RESTORE_INT_H

#include "ns/core/ns_restore.h"
#include "res/idmap.h"

#define NOTE_JSON "json" /* an app made from its JSON: no content yet */
#define NOTE_QVF "qvf "  /* an app imported from a .qvf: "qvf <sha256>" */

struct hold {
	uint64_t ino;       /* a held create: the new file's node; 0: an update */
	enum rkind kind;    /* what it waits for */
	char id[128];
	enum rkind tkind;   /* a held update: its resource and content */
	char tid[128];
	char *doc;
};

/* An owner left out of a restored object (its user not in the tenant yet):
 * set when a user of the tenant is matched to it later in the same mount. */
struct owner_fix {
	enum rkind kind;
	char obj[128];   /* the object's backup id */
	char owner[128]; /* the backup's user id */
};

struct restore {
	struct idmap *map;     /* backup id -> restored id */
	struct idmap *bytes;   /* data file id -> sha256 of its last upload (note: mtime) */
	char *report;          /* report.jsonl */
	struct strmap *absent; /* "type:id" known not to be in the tenant */
	struct strmap *told;   /* what the report said once a mount ("owner:id") */
	struct hold *held;
	size_t nheld, capheld;
	struct owner_fix *fixes;
	size_t nfix, capfix;
};

/* Is id of kind k in the tenant?  1 yes, 0 no, or -errno (may drop the lock). */
int rs_in_tenant(struct ns *ns, enum rkind k, const char *id, char *err, size_t errn);
/* Records old -> new_id (note) and lets go what waited for old. */
void rs_mapped(struct ns *ns, enum rkind k, const char *old, const char *new_id,
	       const char *note);
/* Sends the writable fields of doc that differ from resource id now. */
int rs_converge(struct ns *ns, const struct rtype *rt, const char *id, const cJSON *doc,
		bool *changed, char *err, size_t errn);
/* The object named name made in c after intent (an interrupted create). */
bool rs_adopt(struct ns *ns, struct node *c, const struct idmap_rec *intent, const char *name,
	      char *out, size_t len);

#endif
