/*
 * ns_ext.c - the hooks of ns_ext.h: which module answers for an R_EXT node
 * (reports: ns_reports.c and ns_reports_mut.c; the api control file:
 * ns_api.c; load scripts: ns_scripts*.c; reloads: ns_reloads.c), and the
 * answers that are the same for all of them.
 *
 * Locks: see ns_ext.h.
 */
#include "ns/kinds/ns_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns/core/ns_mut.h"
#include "ns/kinds/ns_scripts.h"

void ext_add_root_kids(struct ns *ns, struct node *root)
{
	ops_add_root_kids(ns, root); /* .status.json, .errors: with or without a state dir */
	if (ns->ext)
		return;
	struct ns_ext *x = calloc(1, sizeof(*x));
	if (!x || !(x->reps = strmap_new()) || !(x->scripts = strmap_new()) ||
	    !(x->adata = strmap_new())) {
		if (x) {
			strmap_free(x->reps);
			strmap_free(x->scripts);
			strmap_free(x->adata);
		}
		free(x);
		return;
	}
	ns->ext = x;
	char *rdir = NULL;
	if (ns->o.state_dir && asprintf(&rdir, "%s/%s", ns->o.state_dir, REPORTS_DIR) >= 0) {
		x->rdir = rdir;
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
	scr_add_dir(ns, root);
	struct node *sp = node_kid(root, "spaces");
	struct node *pers = sp ? node_kid(sp, "@personal") : NULL;
	if (pers)
		scr_add_dir(ns, pers);
	rl_add_root(ns, root);
	ad_add_root(ns, root);
}

void ext_add_space_kids(struct ns *ns, struct node *space)
{
	scr_add_dir(ns, space);
}

void ext_free(struct ns *ns)
{
	ops_free(ns);
	struct ns_ext *x = ns->ext;
	if (!x)
		return;
	rep_free_all(x);
	for (size_t i = 0; i < x->nsall; i++)
		scr_hist_free(x->sall[i]);
	scr_free_all(x);
	rl_free(x);
	ad_free_all(x);
	strmap_free(x->reps);
	strmap_free(x->scripts);
	strmap_free(x->adata);
	free(x->rdir);
	free(x);
	ns->ext = NULL;
}

void ext_drop_caches(struct ns *ns)
{
	if (!ns->ext)
		return;
	rep_drop_caches(ns->ext);
	scr_drop_caches(ns->ext);
	rl_drop_caches(ns->ext);
	ad_drop_caches(ns->ext);
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
	int rc = d->xk == X_API || ops_owns(d)  ? 0
		 : X_IS_HISTORY(d->xk)		? scr_hist_listed(ns, d, err, errn)
		 : X_IS_SCRIPTS(d->xk)		? scr_listed(ns, d, err, errn)
		 : X_IS_RELOADS(d->xk)		? rl_listed(ns, d, err, errn)
		 : X_IS_APPDATA(d->xk)		? ad_listed(ns, d, err, errn)
						: rep_listed(ns, d, err, errn);
	return rc ? rc : still_there(d);
}

/* Readahead for a walk (docs/SEMANTICS.md "Load scripts", "Data model and
 * lineage"): a listing of scripts/, data-model/ or lineage/ fetches nothing
 * (find needs no sizes), and its stale entries are listed without
 * attributes.  When a stale entry n is looked up or opened in a walk that
 * listed its directory (ls -l, tar, rsync, grep -r), this fetches n with the
 * next stale entries side by side: 1 at the first miss, then 8, 16, 32 and
 * 64 at each further miss in the same directory and walk, so a walk costs
 * one request per file (no more) with the latency of a side-by-side fetch,
 * and a single cat after an ls costs one. */
#define RA_MAX 64
static void ext_readahead(struct ns *ns, struct node *n)
{
	struct node *d = n->parent;
	struct ns_ext *x = ns->ext;
	if (!d || !x || d->walk_id != ns->walk_id || !(d->walk_ops & WALK_OPENDIR) ||
	    !ext_attrs_need_fetch(ns, n))
		return;
	if (x->ra_dir == d->ino && x->ra_walk == d->walk_id) {
		x->ra_run++;
	} else {
		x->ra_dir = d->ino;
		x->ra_walk = d->walk_id;
		x->ra_run = 1;
	}
	if (x->ra_run < 2)
		return; /* a lone lookup fetches its own file */
	size_t max = x->ra_run >= 5 ? RA_MAX : (size_t)8 << (x->ra_run - 2); /* 8, 16, 32 */
	if (n->xk == X_QVS)
		scr_prefetch(ns, d, n, max);
	else
		ad_prefetch(ns, d, n, max);
}

int ext_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	if (n->xk == X_QVS || n->xk == X_ADFILE)
		ext_readahead(ns, n);
	int rc = n->xk == X_API || ops_owns(n)  ? 0
		 : n->xk == X_HISTVER		? scr_hist_fresh(ns, n, err, errn)
		 : X_IS_SCRIPTS(n->xk)		? scr_fresh(ns, n, err, errn)
		 : X_IS_RELOADS(n->xk)		? rl_fresh(ns, n, err, errn)
		 : X_IS_APPDATA(n->xk)		? ad_fresh_node(ns, n, err, errn)
						: rep_fresh(ns, n, err, errn);
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
	if (n->xk == X_HISTVER) {
		scr_hist_fill_attr(ns, n, a);
		return;
	}
	if (X_IS_SCRIPTS(n->xk)) {
		scr_fill_attr(ns, n, a);
		return;
	}
	if (X_IS_RELOADS(n->xk)) {
		rl_fill_attr(ns, n, a);
		return;
	}
	if (X_IS_APPDATA(n->xk)) {
		ad_fill_attr(ns, n, a);
		return;
	}
	rep_fill_attr(ns, n, a);
}

void ext_note_changed(struct ns *ns, enum rkind kind, const char *const *ids, size_t n)
{
	for (size_t i = 0; ns->ext && kind == RK_APP && i < n; i++) {
		scr_note_changed(ns, ids[i]);
		struct xscript *s = strmap_get(ns->ext->scripts, ids[i]);
		if (s && s->hist)
			scr_hist_stale(s); /* listed again at next use */
		ad_note_changed(ns, ids[i]);
	}
}

static size_t ext_list_lazy(struct ns *ns, struct node *d, struct ns_dir *dir)
{
	return d->xk == X_SCRDIR ? scr_list_lazy(ns, d, dir)
	       : d->xk == X_ADDIR ? ad_list_lazy(ns, d, dir)
				  : 0;
}

static struct node *ext_lookup_lazy(struct ns *ns, struct node *d, const char *name)
{
	return d->xk == X_SCRDIR ? scr_lookup_lazy(ns, d, name)
	       : d->xk == X_ADDIR ? ad_lookup_lazy(ns, d, name)
				  : NULL;
}

/* A script's or data document's node the kernel forgot: its content stays
 * with the app (xscript, xadata); the node goes. */
static bool ext_reclaim(struct ns *ns, struct node *n)
{
	if (n->xk != X_QVS && n->xk != X_ADFILE)
		return false;
	if (n->xk == X_QVS)
		scr_forget_node(ns, n);
	struct node *d = n->parent;
	if (d && d->by_id && n->id && strmap_get(d->by_id, n->id) == n)
		strmap_del(d->by_id, n->id);
	return true;
}

bool ext_attrs_need_fetch(struct ns *ns, struct node *n)
{
	return (n->xk == X_QVS && scr_attrs_need_fetch(ns, n)) ||
	       (n->xk == X_ADFILE && ad_attrs_need_fetch(ns, n));
}

bool ext_writable(const struct node *n)
{
	return n->xk == X_API || n->xk == X_NEW || n->xk == X_QVS || n->xk == X_RLNEW ||
	       n->xk == X_RLCANCEL;
}

const char *ext_xattr(struct ns *ns, const struct node *n, const char *name)
{
	if (!strcmp(name, "user.qlik.error"))
		return n->errmsg;
	if (n->xk == X_QVS && !strcmp(name, "user.qlik.message"))
		return scr_message(ns, n);
	if (n->xk == X_HISTVER)
		return scr_hist_xattr(ns, n, name);
	if (X_IS_RELOADS(n->xk))
		return rl_xattr(ns, n, name);
	if (X_IS_APPDATA(n->xk))
		return !strcmp(name, "user.qlik.id") ? n->id : NULL;
	if (n->xk == X_QVS || n->xk == X_SCRDIR || n->xk == X_HISTROOT || n->xk == X_HISTDIR)
		return !strcmp(name, "user.qlik.id") && n->xk != X_SCRDIR && n->xk != X_HISTROOT
			       ? n->id
			       : NULL;
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
	if (n->xk == X_HISTVER)
		return scr_hist_open(ns, n, f, size_changed, err, errn);
	if (X_IS_SCRIPTS(n->xk))
		return scr_open(ns, n, f, size_changed, err, errn);
	if (X_IS_RELOADS(n->xk))
		return rl_open(ns, n, f, size_changed, err, errn);
	if (X_IS_APPDATA(n->xk))
		return ad_open(ns, n, f, size_changed, err, errn);
	return rep_open(ns, n, f, size_changed, err, errn);
}

ssize_t ext_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err, size_t errn)
{
	const struct xhandle *h = f->ext;
	if (h->kind == X_API)
		return api_read(f, buf, size, err, errn); /* a stream: offsets are ignored */
	if (h->kind == X_OPSTATUS || h->kind == X_ERRORS)
		return ops_read(f, buf, size, off);
	if (h->kind == X_QVS)
		return scr_read(f, buf, size, off);
	if (X_IS_RELOADS(h->kind))
		return rl_read(f, buf, size, off, err, errn);
	return rep_read(f, buf, size, off);
}

ssize_t ext_write(struct ns_file *f, const char *data, size_t size, off_t off)
{
	const struct xhandle *h = f->ext;
	if (h->kind == X_QVS)
		return scr_write(f, data, size, off);
	if (X_IS_RELOADS(h->kind))
		return rl_write(f, data, size, off);
	/* the api: a stream, every write appends to the request */
	return h->kind == X_API ? api_write(f, data, size) : -EBADF;
}

void ext_release(struct ns_file *f)
{
	const struct xhandle *h = f->ext;
	if (h->kind == X_API)
		api_release(f);
	else if (h->kind == X_OPSTATUS || h->kind == X_ERRORS)
		ops_release(f);
	else if (h->kind == X_QVS)
		scr_release(f);
	else if (X_IS_RELOADS(h->kind))
		rl_release(f);
	else
		rep_release(f);
	f->ext = NULL;
}

int ext_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	/* the api performs a request at the first read, never at a close */
	if (n->xk == X_QVS)
		return scr_flush(ns, n, f, err, errn);
	if (X_IS_RELOADS(n->xk))
		return rl_flush(ns, n, f, err, errn);
	return n->xk == X_NEW ? rep_flush(ns, n, err, errn) : 0;
}

int ext_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	if (n->xk == X_NEW)
		return rep_truncate(ns, n, size);
	if (n->xk == X_QVS)
		return scr_truncate(ns, n, f, size);
	if (n->xk == X_RLNEW || n->xk == X_RLCANCEL)
		return 0; /* `> reloads/new`: each open is a new request */
	if (n->xk == X_API)
		return 0; /* `> api`: nothing to truncate, each open is a new session */
	return -EACCES;
}

int ext_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn)
{
	if (d->xk == X_REPORTS)
		return rep_create(ns, d, name, out, err, errn);
	if (X_IS_SCRIPTS(d->xk))
		return scr_create(ns, d, name, out, err, errn);
	errmsg_set(err, errn, "files are created in reports/ (a report request NAME.json) and "
			      "scripts/ only");
	return -EPERM;
}

int ext_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	if (X_IS_SCRIPTS(n->xk))
		return scr_unlink(ns, d, n, err, errn);
	if (X_IS_RELOADS(n->xk))
		return rl_unlink(ns, d, n, err, errn);
	if (X_IS_APPDATA(n->xk)) {
		errmsg_set(err, errn, "an app's data model and lineage are read-only");
		return -EACCES;
	}
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
	if (X_IS_RELOADS(n->xk))
		return rl_rmdir(ns, d, n, err, errn);
	if (X_IS_APPDATA(n->xk)) {
		errmsg_set(err, errn, "data-model/ and lineage/ cannot be removed");
		return -EPERM;
	}
	switch (n->xk) {
	case X_REPORT:
		return rep_forget(ns, n, err, errn);
	case X_OUTDIR:
	case X_SCRDIR:
		/* goes with its report (its space), as above: rm -r works */
		ns_inval_entry(ns, d, n->name);
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
	if ((d->role == R_EXT && d->xk == X_SCRDIR) || (nd->role == R_EXT && nd->xk == X_SCRDIR))
		return scr_rename(ns, n, t, d, nd, newname, err, errn);
	errmsg_set(err, errn, "reports, the api control file and the operations files cannot "
			      "be renamed or moved");
	return -EPERM;
}

/* ---- public (ns.h) ---- */

bool ext_opened(struct ns_file *f, uid_t caller)
{
	const struct xhandle *h = f->ext;
	if (h && (h->kind == X_RLNEW || h->kind == X_RLWAIT))
		return true; /* streams: the answer of a write, the end of a reload */
	if (!h || h->kind != X_API)
		return false;
	api_set_caller(f, caller);
	return true;
}

/* user.qlik.message of a load script: the version message of its next
 * save (ns_setxattr; lock held). */
static int ext_setxattr(struct ns *ns, struct node *n, const char *name, const char *value,
			size_t size)
{
	if (strcmp(name, "user.qlik.message"))
		return -ENOTSUP;
	if (n->xk != X_QVS)
		return -ENOTSUP; /* a version message belongs to a script */
	return scr_set_message(ns, n, value, size);
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
	.space_kids = ext_add_space_kids,
	.attrs_need_fetch = ext_attrs_need_fetch,
	.list_lazy = ext_list_lazy,
	.lookup_lazy = ext_lookup_lazy,
	.reclaim = ext_reclaim,
	.note_changed = ext_note_changed,
	.setxattr = ext_setxattr,
};
