/*
 * ns_res.c - a resource's entries: its JSON file (R_FILE: users/NAME.json,
 * apps/NAME.json, a space's space.json ...) and, for the kinds shown as
 * directories (spaces, data stores, data assets), its directory (R_RESDIR).
 * Their attributes and content come from the listings (ns/core/ns_coll.c)
 * or one GET; writes are the dispatcher's (ns_file.c: a private copy sent
 * at close, ns/core/ns_mut.c).  What this kind says: which files are
 * writable (the resource table's update verb), what rm, rmdir and mv do,
 * and what a resource's directory holds.
 *
 * Locks: ns->lock held by every caller.
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ns/core/ns_mut.h"

static bool res_writable(const struct node *n)
{
	return n->rt && n->rt->upd != UPD_NONE;
}

/* rm of a resource's file: its DELETE, sent delete_delay later unless the
 * name is created again meanwhile (what mv from another filesystem does). */
static int res_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	if (n->self) {
		/* A resource dir's own file goes with its dir (rmdir); removing
		 * it alone is accepted and changes nothing on the server, so
		 * that rm -r of the dir works.  The name is free until the next
		 * listing of the dir's collection: a file created by that name
		 * meanwhile is this one, its content an update (tar x unlinks
		 * and creates with O_EXCL). */
		n->gone = true;
		ns_inval_entry(ns, d, n->name);
		return 0;
	}
	if (defer_enabled(ns) && n->rt && n->id && !n->busy)
		return defer_delete(ns, n); /* sent later, unless created again */
	return mut_delete_resource(ns, n, err, errn);
}

/* The fixed entries of a resource's directory: its own file (space.json,
 * data-store.json, data-asset.json) and the collections the resource table
 * puts in it (a space's apps/, data-files/, data-stores/; a store's
 * data-assets/; an asset's data-sets/: the rows whose in_kind is its kind),
 * views of the tenant-wide listings (ns/core/ns_view.c), and the kinds' own
 * (a space's scripts/). */
static void resdir_fixed_kids(struct ns *ns, struct node *n)
{
	for (int k = 0; k < RK_COUNT; k++) {
		const struct rtype *rt = restab_get((enum rkind)k);
		if (!rt->in || rt->in_kind != n->rt->kind || (rt->wide_only && !n->id))
			continue;
		/* wide_only: the objects of the tenant-wide listing that live in
		 * the resource (the API counts a space's data stores as its
		 * content: a space holding one cannot be deleted), no request of
		 * its own */
		struct node *c = node_add_coll(ns, n, rt->dir, rt->kind, rt->wide_only ? NULL : n->id,
					       rt->scope_store ? n->store_id : NULL);
		if (c && rt->wide_only)
			c->cs->space_filter = strdup(n->id); /* (R_COLL: made with it) */
		if (c && n->id)
			view_setup(ns, c, rt->dir, n->id);
	}
	if (n->rt->kind == RK_SPACE) {
		const struct ns_kind *kd;
		FOR_EACH_KIND(ns, kd) /* the kinds' own (scripts/) */
			if (kd->space_kids)
				kd->space_kids(ns, n);
	}
	if (n->rt->self_file) {
		struct node *f = node_new(ns, n, n->rt->self_file, R_FILE, false);
		if (f) {
			f->pinned = true;
			f->self = true;
			f->rt = n->rt;
			f->id = n->id ? strdup(n->id) : NULL;
		}
	}
}

/* rmdir of a space, data store or data asset: its DELETE; ENOTEMPTY while
 * it holds content. */
static int resdir_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)d;
	int rc = mut_delete_resource(ns, n, err, errn);
	return rc == -EBUSY ? -ENOTEMPTY : rc;
}

#define TARGET_EXISTS                                                                   \
	"the target exists: remove it first (qlikfs never replaces a resource by renaming " \
	"another onto it)"

/* mv of a resource's file: a rename or move through the API; to a tool's
 * temporary name (an editor's backup), a copy that is never sent. */
static int res_move(struct ns *ns, struct node *n, struct node *t, struct node *d,
		    struct node *nd, const char *newname, char *err, size_t errn)
{
	bool to_scratch = mut_name_is_scratch(nd, newname);
	if (to_scratch && (!n->self || nd == d)) {
		if (!n->self && t && t->role != R_SCRATCH) {
			errmsg_set(err, errn, MUT_NO_REPLACE);
			return -EPERM;
		}
		return mut_rename_to_scratch(ns, n, nd, newname, err, errn);
	}
	if (n->self) {
		errmsg_set(err, errn, MUT_NO_MOVE);
		return -EPERM;
	}
	if (t) {
		errmsg_set(err, errn, TARGET_EXISTS);
		return -EPERM;
	}
	return mut_rename_resource(ns, n, nd, newname, err, errn);
}

/* mv of a space, data store or data asset directory: a rename. */
static int resdir_move(struct ns *ns, struct node *n, struct node *t, struct node *d,
		       struct node *nd, const char *newname, char *err, size_t errn)
{
	(void)d;
	if (t) {
		errmsg_set(err, errn, TARGET_EXISTS);
		return -EPERM;
	}
	return mut_rename_resource(ns, n, nd, newname, err, errn);
}

const struct ns_kind ns_res_kind = {
	.name = "resource",
	.writable = res_writable,
	.unlink = res_unlink,
	.move = res_move,
};

const struct ns_kind ns_resdir_kind = {
	.name = "resource directory",
	.fixed_kids = resdir_fixed_kids,
	.rmdir = resdir_rmdir,
	.move = resdir_move,
};
