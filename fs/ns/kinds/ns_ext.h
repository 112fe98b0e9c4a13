/*
 * Layer ns/kinds/: a kind includes its own header, this one, ns/core/ and
 * below; never the dispatcher or another kind.
 *
 * ns_ext.h - what the kinds that are not resources of a collection share.
 * Each is a kind of its own (its own role, table and state on the
 * namespace: ns_kind_add, ns_kstate), registered in ns_new, and numbers its
 * nodes' sub-kinds (node->xk) itself, comparing only its own nodes':
 *
 *   api            ns_api.c            the raw-request control file
 *   reports/       ns_reports*.c       requested reports (ns_reports.h)
 *   .status.json,  ns_ops.c            the operations files (hidden)
 *   .errors
 *   scripts/       ns_scripts*.c       load scripts (ns_scripts.h)
 *   reloads/       ns_reloads*.c       reloads (ns_reloads.h)
 *   data-model/,   ns_appdata.c        an app's data model and lineage
 *   lineage/
 *
 * Shared here: the answers that are the same for several of them
 * (ns_ext.c, which names none of them), a walk's readahead, the head of
 * their handles, and the tables of the one-file kinds.
 *
 * Locks: as the rest of the namespace.  Every operation of these kinds runs
 * with ns->lock held (except read, write and release, which take what they
 * need); one that sends a request drops the lock meanwhile and says so.
 */
#ifndef QLIKFS_NS_EXT_H
#define QLIKFS_NS_EXT_H

#include "ns/core/ns_internal.h"

/* ---- the one-file kinds (each its own role, registered in ns_new) ---- */
extern const struct ns_kind ns_api_kind;     /* defined in ns_api.c */
extern const struct ns_kind ns_ops_kind;     /* in ns_ops.c */
extern const struct ns_kind ns_appdata_kind; /* in ns_appdata.c */

/* ---- shared answers (ns_ext.c): a kind's table names them where they are
 * its answer ---- */
/* n and its ancestors are still in the tree (0), else -ENOENT. */
int ext_still_there(const struct node *n);
/* fresh / listed of a node with nothing to fetch */
int ext_fresh_none(struct ns *ns, struct node *n, char *err, size_t errn);
/* attrs_need_fetch: never (attributes are known without a request) */
bool ext_attrs_known(struct ns *ns, struct node *n);
/* xattr: user.qlik.error (why its last change failed), nothing else */
const char *ext_xattr_error(struct ns *ns, const struct node *n, const char *name);
ssize_t ext_no_write(struct ns_file *f, const char *data, size_t size, off_t off); /* -EBADF */
int ext_flush_none(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn);
int ext_no_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size); /* -EACCES */
int ext_no_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
		  size_t errn); /* -EPERM, saying where files are created */
int ext_no_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
int ext_no_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
		  const char *newname, char *err, size_t errn);
/* A walk's readahead in a kind's directory (scripts/, data-model/,
 * lineage/): a kind keeps one ext_ra; stale: n's attributes take a request;
 * prefetch fetches first and up to max-1 stale entries after it. */
struct ext_ra {
	uint64_t dir;
	unsigned walk, run;
};
void ext_readahead(struct ns *ns, struct ext_ra *ra, struct node *n, bool stale,
		   void (*prefetch)(struct ns *ns, struct node *d, struct node *first, size_t max));

/* Handles with state of their own (f->ext) start with this. */
struct xhandle {
	unsigned kind; /* the node's xk at the open */
};

#endif
