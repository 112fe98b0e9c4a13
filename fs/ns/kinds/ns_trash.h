/*
 * ns_trash.h - the trash (docs/SEMANTICS.md "Trash"), shared by its two
 * files: ns_trash_keep.c keeps what a delete through the mount needs to be
 * undone (the store in <state dir>/trash: entries written, grouped, swept,
 * removed) and ns_trash.c shows the store as .trash/ and restores an entry
 * moved out of it.  ns_trash.c uses ns_trash_keep.c, never the reverse.
 *
 * Locks: struct ns_trash's fields are set once by trash_init (with
 * ns->lock held, at ns_new) and read-only after, but for the sweeper's
 * (mu, cv, stopping).  The store on disk is shared with the sweeper thread,
 * which takes no ns->lock: each side tolerates an entry vanishing under it.
 */
#ifndef QLIKFS_NS_TRASH_H
#define QLIKFS_NS_TRASH_H

#include <pthread.h>

#include "ns/core/ns_internal.h"
#include "util/names.h"
#include "util/trashent.h"

#define TRASH_NAME ".trash" /* at the root: not listed, reachable by name */

struct ns_trash {
	char *dir;         /* <state dir>/trash (absolute) */
	int64_t keep_ms;
	uint64_t qvf_max;
	bool required;
	unsigned seq;      /* temporary names (GUARDED_BY ns->lock) */
	/* the sweeper: every sweep_ms, the expired entries go */
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping, thr_on;
	int64_t sweep_ms;
};

/* ns_trash_keep.c */
/* dir + "/" + name into out: 0, or -ENAMETOOLONG. */
int trash_path(char *out, size_t n, const char *dir, const char *name);
/* Makes ns->trash (with the state directory and trash_keep_ms > 0), sweeps
 * the expired entries and starts the sweeper.  Lock held. */
void trash_init(struct ns *ns);
void trash_fini(struct ns *ns);
/* Removes the expired entries of the store and what an interrupted write
 * left (no lock needed).  Returns how many entries went. */
int trash_sweep(struct ns_trash *t);
/* The entries of a store directory: the directories in dir whose names do
 * not start with '.' (at most 4096).  Returns the count; *v is malloc'd (free it with
 * trash_names_free). */
size_t trash_names(const char *dir, char ***v);
void trash_names_free(char **v, size_t n);
/* Removes the directory dir/name and everything in it (no links followed). */
int trash_rm_rf(const char *dir, const char *name);
/* Reads dir/name/trash.json into m (trashent_parse's results, -ENOENT...). */
int trash_read_meta(const char *dir, const char *name, struct trash_meta *m);
/* Moves entry `name` of directory `from` to the top of the store under a
 * free name (the members of a space that stay in the trash).  Returns 0
 * with that name in out, or -errno. */
int trash_lift(struct ns_trash *t, const char *from, const char *name, char *out, size_t outn);
/* The hooks of struct ns_hooks (set by ns_new). */
int trash_keep(struct ns *ns, struct node *n, void **kept, char *err, size_t errn);
void trash_done(struct ns *ns, void *kept, int rc);

/* ns_trash.c: the kind of .trash/ and what is in it (its nodes: node_new_of). */
extern const struct ns_kind ns_trash_kind;

#endif
