/*
 * ns_ext.c - the hooks of ns_ext.h: which module answers for an R_EXT node
 * (reports: ns_reports.c and ns_reports_mut.c; the api control file:
 * ns_api.c), and the answers that are the same for all of them.
 *
 * Locks: see ns_ext.h.
 */
#include "ns/kinds/ns_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns/core/ns_mut.h"

void ext_add_root_kids(struct ns *ns, struct node *root)
{
	ops_add_root_kids(ns, root); /* .status.json, .errors: with or without a state dir */
	if (!ns->o.state_dir || ns->ext)
		return;
	struct ns_ext *x = calloc(1, sizeof(*x));
	if (!x || !(x->reps = strmap_new()) ||
	    asprintf(&x->rdir, "%s/%s", ns->o.state_dir, REPORTS_DIR) < 0) {
		if (x)
			strmap_free(x->reps);
		free(x);
		return;
	}
	ns->ext = x;
	struct node *api = node_new(ns, root, API_NAME, R_EXT, false);
	if (api) {
		api->pinned = true;
		api->xk = X_API;
	}
	struct node *rep = node_new(ns, root, REPORTS_DIR, R_EXT, true);
	if (rep) {
		rep->pinned = true;
		rep->xk = X_REPORTS;
	}
}

void ext_free(struct ns *ns)
{
	ops_free(ns);
	struct ns_ext *x = ns->ext;
	if (!x)
		return;
	rep_free_all(x);
	strmap_free(x->reps);
	free(x->rdir);
	free(x);
	ns->ext = NULL;
}

void ext_drop_caches(struct ns *ns)
{
	if (ns->ext)
		rep_drop_caches(ns->ext);
}

/* n and its ancestors are still in the tree (as ensure_node_fresh ends). */
static int still_there(const struct node *n)
{
	for (const struct node *a = n; a && a->ino != NS_ROOT_INO; a = a->parent)
		if (a->gone)
			return -ENOENT;
	return 0;
}

int ext_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	int rc = d->xk == X_API || ops_owns(d) ? 0 : rep_listed(ns, d, err, errn);
	return rc ? rc : still_there(d);
}

int ext_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	int rc = n->xk == X_API || ops_owns(n) ? 0 : rep_fresh(ns, n, err, errn);
	return rc ? rc : still_there(n);
}

void ext_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	if (n->xk == X_API) {
		a->size = n->reported_size = 0;
		return;
	}
	if (ops_owns(n)) {
		ops_fill_attr(ns, n, a);
		return;
	}
	rep_fill_attr(ns, n, a);
}

bool ext_writable(const struct node *n)
{
	return n->xk == X_API || n->xk == X_NEW;
}

const char *ext_xattr(const struct node *n, const char *name)
{
	if (!strcmp(name, "user.qlik.error"))
		return n->errmsg;
	if (n->xk == X_API || n->xk == X_REPORTS || n->xk == X_NEW || ops_owns(n))
		return NULL;
	if (!strcmp(name, "user.qlik.id"))
		return n->id;
	if (!strcmp(name, "user.qlik.type"))
		return n->xk == X_REPORT ? "report" : n->xk == X_OUTPUT ? "report-output" : NULL;
	return NULL;
}

int ext_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	     size_t errn)
{
	if (n->xk == X_API) {
		*size_changed = true;
		return api_open(ns, n, f);
	}
	if (ops_owns(n))
		return ops_open(ns, n, f, size_changed);
	return rep_open(ns, n, f, size_changed, err, errn);
}

ssize_t ext_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err, size_t errn)
{
	const struct xhandle *h = f->ext;
	if (h->kind == X_API)
		return api_read(f, buf, size, err, errn); /* a stream: offsets are ignored */
	if (h->kind == X_OPSTATUS || h->kind == X_ERRORS)
		return ops_read(f, buf, size, off);
	return rep_read(f, buf, size, off);
}

ssize_t ext_write(struct ns_file *f, const char *data, size_t size, off_t off)
{
	const struct xhandle *h = f->ext;
	(void)off; /* a stream: every write appends to the request */
	return h->kind == X_API ? api_write(f, data, size) : -EBADF;
}

void ext_release(struct ns_file *f)
{
	const struct xhandle *h = f->ext;
	if (h->kind == X_API)
		api_release(f);
	else if (h->kind == X_OPSTATUS || h->kind == X_ERRORS)
		ops_release(f);
	else
		rep_release(f);
	f->ext = NULL;
}

int ext_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	(void)f;
	/* the api performs a request at the first read, never at a close */
	return n->xk == X_NEW ? rep_flush(ns, n, err, errn) : 0;
}

int ext_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	(void)f;
	if (n->xk == X_NEW)
		return rep_truncate(ns, n, size);
	if (n->xk == X_API)
		return 0; /* `> api`: nothing to truncate, each open is a new session */
	return -EACCES;
}

int ext_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn)
{
	if (d->xk == X_REPORTS)
		return rep_create(ns, d, name, out, err, errn);
	errmsg_set(err, errn, "files are created in reports/ only (a report request NAME.json)");
	return -EPERM;
}

int ext_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	switch (n->xk) {
	case X_NEW:
		mut_mem_node_remove(ns, n);
		return 0;
	case X_STATUS:
	case X_REQUEST:
	case X_OUTPUT:
		/* these go with their report (rmdir of its directory forgets it);
		 * removing one alone is accepted and changes nothing, so that
		 * rm -r of the report's directory works */
		ns_inval_entry(ns, d, n->name);
		return 0;
	default:
		errmsg_set(err, errn, ops_owns(n) ? "the operations files cannot be removed"
						  : "the raw-request control file cannot be removed");
		return -EPERM;
	}
}

int ext_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	switch (n->xk) {
	case X_REPORT:
		return rep_forget(ns, n, err, errn);
	case X_OUTDIR:
		ns_inval_entry(ns, d, n->name); /* goes with its report, as above */
		return 0;
	default:
		errmsg_set(err, errn, "reports/ cannot be removed (rmdir a report's directory "
				      "to forget that report)");
		return -EPERM;
	}
}

int ext_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
	       const char *newname, char *err, size_t errn)
{
	if (d == nd && d->role == R_EXT && d->xk == X_REPORTS)
		return rep_rename(ns, n, t, d, nd, newname, err, errn);
	errmsg_set(err, errn, "reports, the api control file and the operations files cannot "
			      "be renamed or moved");
	return -EPERM;
}

/* ---- public (ns.h) ---- */

bool ext_opened(struct ns_file *f, uid_t caller)
{
	const struct xhandle *h = f->ext;
	if (!h || h->kind != X_API)
		return false;
	api_set_caller(f, caller);
	return true;
}

/* The R_EXT family (api, reports/, .status.json, .errors) as one kind: the
 * dispatcher reaches it only through this table (ns_life.c registers it). */
const struct ns_kind ns_ext_kind = {
	.name = "ext",
	.root_kids = ext_add_root_kids,
	.drop_caches = ext_drop_caches,
	.free = ext_free,
	.fresh = ext_fresh,
	.listed = ext_listed,
	.fill_attr = ext_fill_attr,
	.writable = ext_writable,
	.xattr = ext_xattr,
	.open = ext_open,
	.read = ext_read,
	.write = ext_write,
	.release = ext_release,
	.opened = ext_opened,
	.flush = ext_flush,
	.truncate = ext_truncate,
	.create = ext_create,
	.unlink = ext_unlink,
	.rmdir = ext_rmdir,
	.rename = ext_rename,
};
