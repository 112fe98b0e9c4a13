/*
 * ns_appdata.c - data-model/ and lineage/ at the root (docs/SEMANTICS.md
 * "Data model and lineage"): one read-only JSON file per app of apps/,
 * named like the app's entry there, holding GET /api/v1/apps/{id}/data/
 * metadata (data-model/) or .../data/lineage (lineage/), rendered as jq
 * prints it.  Both describe the app's last reload.
 *
 * Costs: the entries come from the apps/ listing and get a node only when
 * looked up (ad_list_lazy, ad_lookup_lazy): listing either directory costs
 * nothing.  A stale file is listed without attributes and fetched at its
 * lookup; in a walk that listed the directory, ns_ext.c's readahead fetches
 * the next stale ones side by side (ad_prefetch), so ls -l, tar or grep -r
 * cost one request per app and nothing more within the TTL.
 *
 * A kind of its own (ns_appdata_kind, at the end), its state on the
 * namespace (struct xadatas, ns_kstate).
 *
 * Invariants: an xadata is never freed while the namespace lives; one
 * fetch per file at a time (busy, waiters on ns->cv, bounded).  An X_ADDIR
 * node's coll_root is the apps collection, its sname "metadata" or
 * "lineage"; an X_ADFILE's id is the app's id and its sname the kind.
 * Locks: ns->lock held on entry; dropped around every request.
 */
#include "ns/kinds/ns_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/appdata.h"
#include "client/errmap.h"
#include "util/jsonfmt.h"
#include "util/par.h"

#define AD_PARALLEL 8
/* its nodes' xk: a directory (sname "metadata" or "lineage"), an app's file */
enum adkind { X_ADDIR = 1, X_ADFILE };
#define AD_DIR_MODEL "data-model"
#define AD_DIR_LINEAGE "lineage"

/* The document is kept deflated when that saves an eighth (cache_pack: a
 * data model of a few KB packs to a fifth), plain otherwise. */
struct xadata { /* (in x->adata under "<kind>:<app id>": the map keeps the key) */
	struct cache_blob *b; /* NULL before the first fetch */
	size_t len;           /* the document's length */
	uint64_t sum;         /* its FNV-1a hash: has it changed? */
	bool packed;          /* b holds it deflated */
	int64_t mtime_ms;
	int64_t at;
	bool busy;
};

/* The kind's state: every xadata, by "<kind>:<app id>" and in a vector
 * (freed with the namespace), and a walk's readahead. */
struct xadatas {
	struct strmap *adata;
	struct xadata **adall;
	size_t nadall, capadall;
	struct ext_ra ra;
};

static struct xadatas *ad_state(const struct ns *ns)
{
	return ns_kstate(ns, &ns_appdata_kind);
}

static enum appdata_kind kind_of(const struct node *n)
{
	return n->sname && !strcmp(n->sname, "lineage") ? APPDATA_LINEAGE : APPDATA_METADATA;
}

static struct xadata *ad_get(struct ns *ns, enum appdata_kind k, const char *app)
{
	struct xadatas *x = ad_state(ns);
	char key[96];
	if (!x || !app || snprintf(key, sizeof(key), "%s:%s", appdata_name(k), app) >= (int)sizeof(key))
		return NULL;
	struct xadata *a = strmap_get(x->adata, key);
	if (a)
		return a;
	if (x->nadall == x->capadall) {
		size_t cap = x->capadall ? x->capadall * 2 : 64;
		struct xadata **v = realloc(x->adall, cap * sizeof(*v));
		if (!v)
			return NULL;
		x->adall = v;
		x->capadall = cap;
	}
	if (!(a = calloc(1, sizeof(*a))))
		return NULL;
	if (strmap_put(x->adata, key, a) < 0) {
		free(a);
		return NULL;
	}
	x->adall[x->nadall++] = a;
	return a;
}

static struct xadata *ad_of(struct ns *ns, const struct node *n)
{
	return n->xk == X_ADFILE ? ad_get(ns, kind_of(n), n->id) : NULL;
}

static void ad_free_all(struct ns *ns)
{
	struct xadatas *x = ad_state(ns);
	if (!x)
		return;
	for (size_t i = 0; i < x->nadall; i++) {
		cache_blob_unref(x->adall[i]->b);
		free(x->adall[i]);
	}
	free(x->adall);
	strmap_free(x->adata);
	free(x);
	ns_kstate_set(ns, &ns_appdata_kind, NULL);
}

static void ad_drop_caches(struct ns *ns)
{
	struct xadatas *x = ad_state(ns);
	for (size_t i = 0; x && i < x->nadall; i++)
		x->adall[i]->at = 0;
}

/* apps changed behind the mount's back: their documents are fetched again
 * at next use */
static void ad_note_changed(struct ns *ns, enum rkind kind, const char *const *ids, size_t n)
{
	char key[96];
	struct xadata *a;
	struct xadatas *x = ad_state(ns);
	for (size_t i = 0; x && kind == RK_APP && i < n; i++)
		for (int k = APPDATA_METADATA; k <= APPDATA_LINEAGE; k++)
			if (snprintf(key, sizeof(key), "%s:%s",
				     appdata_name((enum appdata_kind)k), ids[i]) < (int)sizeof(key) &&
			    (a = strmap_get(x->adata, key)))
				a->at = 0; /* (only those seen: nothing is made here) */
}

static void add_dir(struct ns *ns, struct node *root, struct node *apps, const char *name,
		    const char *kind)
{
	struct node *d = node_new_of(ns, root, name, &ns_appdata_kind, true);
	if (!d)
		return;
	d->pinned = true;
	d->xk = X_ADDIR;
	d->sname = strdup(kind);
	if (node_listing_init(d, apps, true))
		d->gone = true;
}

static void ad_add_root(struct ns *ns, struct node *root)
{
	struct node *apps = node_kid(root, "apps");
	if (!apps || apps->role != R_COLL || ns->o.no_scripts || ad_state(ns))
		return;
	struct xadatas *x = calloc(1, sizeof(*x));
	if (!x || !(x->adata = strmap_new())) {
		free(x);
		return;
	}
	ns_kstate_set(ns, &ns_appdata_kind, x);
	add_dir(ns, root, apps, AD_DIR_MODEL, "metadata");
	add_dir(ns, root, apps, AD_DIR_LINEAGE, "lineage");
}

/* A fetched document, ready to keep: hashed and packed by the thread that
 * fetched it, without ns->lock. */
struct ad_doc {
	struct cache_blob *b;
	size_t len;
	uint64_t sum;
	bool packed;
};

/* Takes d's blob as a's content (the lock held). */
static void ad_apply(struct ns *ns, struct xadata *a, struct node *n, struct ad_doc *d,
		     int64_t at)
{
	bool changed = !a->b || a->len != d->len || a->sum != d->sum;
	cache_blob_unref(a->b);
	a->b = d->b;
	d->b = NULL;
	a->packed = d->packed;
	a->len = d->len;
	a->sum = d->sum;
	a->at = at ? at : 1;
	if (changed) {
		a->mtime_ms = ns_wall_ms();
		if (n && n->reported)
			ns_inval_inode(ns, n);
	}
}

static bool ad_fresh(struct ns *ns, const struct xadata *a)
{
	return a->b && ns_fresh(ns, a->at);
}

/* The app's document, rendered, hashed and packed into *d (no lock held):
 * 0 or -errno. */
static int fetch_doc(struct qclient *qc, const char *app, enum appdata_kind k, struct ad_doc *d,
		     char *err, size_t errn)
{
	cJSON *doc = NULL;
	char *txt = NULL;
	int rc = appdata_get(qc, app, k, &doc, err, errn);
	if (!rc && !(txt = jsonfmt_pretty(doc, &d->len)))
		rc = -ENOMEM;
	cJSON_Delete(doc);
	if (rc)
		return rc;
	d->sum = strmap_hash_n(txt, d->len);
	d->b = cache_pack(txt, d->len);
	d->packed = d->b != NULL;
	if (d->b)
		free(txt);
	else if (!(d->b = cache_blob_take(txt, d->len)))
		return -ENOMEM;
	return 0;
}

static int ad_fetch(struct ns *ns, struct node *n, struct xadata *a, char *err, size_t errn)
{
	const int64_t deadline = ns_deadline(ns);
	int rc;
	while (a->busy)
		if ((rc = ns_wait(ns, deadline, "the same app's data", err, errn)))
			return rc;
	if (ad_fresh(ns, a))
		return 0;
	char app[80];
	snprintf(app, sizeof(app), "%s", n->id);
	enum appdata_kind k = kind_of(n);
	int64_t started = ns_now(ns);
	struct ad_doc d = { 0 };
	a->busy = true;
	pthread_mutex_unlock(&ns->lock);
	rc = fetch_doc(ns->o.client, app, k, &d, err, errn);
	pthread_mutex_lock(&ns->lock);
	a->busy = false;
	pthread_cond_broadcast(&ns->cv);
	if (rc)
		return rc;
	ns->stats.gets++;
	ad_apply(ns, a, n, &d, started);
	return 0;
}

/* ---- a walk's readahead: stale files fetched side by side ---- */

struct ad_item {
	struct xadata *a;
	char app[80];
	struct ad_doc d;
	int rc;
};

struct ad_job {
	struct qclient *qc;
	enum appdata_kind k;
	struct ad_item *v;
};

static void ad_one(void *arg, size_t i)
{
	struct ad_job *j = arg;
	struct ad_item *it = &j->v[i];
	it->rc = fetch_doc(j->qc, it->app, j->k, &it->d, NULL, 0);
}

/* A walk's readahead (ns_ext.c ext_readahead): fetches first's file and up
 * to max - 1 other stale files of d (in its apps/ order from first's app on,
 * then those before), AD_PARALLEL side by side, the lock dropped meanwhile. */
static void ad_prefetch(struct ns *ns, struct node *d, struct node *first, size_t max)
{
	struct node *apps = cs_of(d)->coll_root;
	struct ad_item *v = calloc(max ? max : 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return;
	enum appdata_kind kd = kind_of(d);
	size_t from = node_kid_pos(apps, first->id);
	for (size_t j = 0; j < apps->nkids && n < max; j++) {
		struct node *k = apps->kidv[(from + j) % apps->nkids];
		struct xadata *a = k->role == R_FILE && !k->gone && k->id ? ad_get(ns, kd, k->id) : NULL;
		if (!a || a->busy || ad_fresh(ns, a))
			continue;
		a->busy = true;
		v[n].a = a;
		snprintf(v[n].app, sizeof(v[n].app), "%s", k->id);
		n++;
	}
	if (n) {
		struct ad_job j = { ns->o.client, kd, v };
		int64_t started = ns_now(ns);
		pthread_mutex_unlock(&ns->lock);
		par_run(n, AD_PARALLEL, ad_one, &j);
		pthread_mutex_lock(&ns->lock);
		for (size_t i = 0; i < n; i++) {
			v[i].a->busy = false;
			if (!v[i].rc) {
				ns->stats.gets++;
				/* (its node looked up again: one may have been freed
				 * or made while the lock was dropped) */
				ad_apply(ns, v[i].a, strmap_get(cs_of(d)->by_id, v[i].app), &v[i].d,
					 started);
			}
		}
		pthread_cond_broadcast(&ns->cv);
	}
	free(v);
}

/* Makes d's nodes follow the apps/ listing (the lock may be dropped):
 * renamed with their app, removed with it.  Entries get a node only when
 * looked up (ad_lookup_lazy): a find of the tree makes none. */
static int ad_sync(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct node *apps = cs_of(d)->coll_root;
	int rc = coll_listed(ns, apps, err, errn);
	if (rc || (cs_of(d)->listed_at && cs_of(d)->listed_at == cs_of(apps)->listed_at))
		return rc;
	for (size_t i = d->nkids; i > 0; i--) {
		struct node *n = d->kidv[i - 1];
		struct node *k = n->id ? strmap_get(cs_of(apps)->by_id, n->id) : NULL;
		if (k && k->role == R_FILE && !k->gone && !n->gone && !strcmp(n->name, k->name))
			continue;
		node_detach(ns, n);
		if (k && k->role == R_FILE && !k->gone && !node_kid(d, k->name) &&
		    node_attach(ns, d, n, k->name) == 0)
			continue;
		if (n->id && strmap_get(cs_of(d)->by_id, n->id) == n)
			strmap_del(cs_of(d)->by_id, n->id);
	}
	node_set_listed(d, cs_of(apps)->listed_at);
	return 0;
}

static size_t ad_list_lazy(struct ns *ns, struct node *d, struct ns_dir *dir)
{
	struct node *apps = cs_of(d)->coll_root;
	if (!dir)
		return apps->nkids;
	for (size_t i = 0; i < apps->nkids; i++) {
		struct node *k = apps->kidv[i], *n;
		if (k->role != R_FILE || k->gone || !k->id || k->hidden)
			continue;
		if ((n = strmap_get(cs_of(d)->by_id, k->id)) && !n->gone)
			continue; /* listed with its node */
		if (!node_kid(d, k->name))
			ns_dir_add_lazy(ns, dir, k->name);
	}
	return 0;
}

static struct node *ad_lookup_lazy(struct ns *ns, struct node *d, const char *name)
{
	struct node *k = node_kid(cs_of(d)->coll_root, name), *n;
	if (!k || k->role != R_FILE || k->gone || !k->id || k->hidden ||
	    ((n = strmap_get(cs_of(d)->by_id, k->id)) && !n->gone))
		return NULL;
	if (!(n = node_new_of(ns, d, k->name, &ns_appdata_kind, false)))
		return NULL;
	n->xk = X_ADFILE;
	n->id = strdup(k->id);
	n->sname = strdup(d->sname);
	if (!n->id || !n->sname || strmap_put(cs_of(d)->by_id, k->id, n) < 0) {
		node_detach(ns, n);
		return NULL;
	}
	return n;
}

static int ad_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	int rc = d->xk == X_ADDIR ? ad_sync(ns, d, err, errn) : 0; /* a walk fetches ahead */
	return rc ? rc : ext_still_there(d);
}

static bool ad_attrs_need_fetch(struct ns *ns, struct node *n);

static int ad_fresh_node(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct xadatas *x = ad_state(ns);
	if (n->xk == X_ADFILE && x)
		ext_readahead(ns, &x->ra, n, ad_attrs_need_fetch(ns, n), ad_prefetch);
	struct xadata *a = ad_of(ns, n);
	int rc = a ? ad_fetch(ns, n, a, err, errn) : 0;
	return rc ? rc : ext_still_there(n);
}

static bool ad_attrs_need_fetch(struct ns *ns, struct node *n)
{
	struct xadata *a = ad_of(ns, n);
	return a && !ad_fresh(ns, a);
}

static void ad_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	struct xadata *x = ad_of(ns, n);
	if (!x || !x->b)
		return;
	a->size = n->reported_size = x->len;
	a->mtime_ms = n->mtime_ms = x->mtime_ms;
}

static int ad_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		   char *err, size_t errn)
{
	struct xadata *a = ad_of(ns, n);
	int rc;
	if (!a)
		return n->dir ? -EISDIR : -ENOENT;
	if ((rc = ad_fetch(ns, n, a, err, errn)))
		return rc;
	if (!(f->blob = a->packed ? cache_unpack(a->b, a->len) : cache_blob_ref(a->b)))
		return -ENOMEM;
	*size_changed = a->len != n->reported_size;
	return 0;
}

static const char *ad_xattr(struct ns *ns, const struct node *n, const char *name)
{
	(void)ns;
	if (!strcmp(name, "user.qlik.error"))
		return n->errmsg;
	return !strcmp(name, "user.qlik.id") ? n->id : NULL;
}

static int ad_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)ns, (void)d, (void)n;
	errmsg_set(err, errn, "an app's data model and lineage are read-only");
	return -EACCES;
}

static int ad_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)ns, (void)d, (void)n;
	errmsg_set(err, errn, "data-model/ and lineage/ cannot be removed");
	return -EPERM;
}

/* A document's node the kernel forgot: the document stays with the app
 * (xadata); the node goes. */
static bool ad_reclaim(struct ns *ns, struct node *n)
{
	(void)ns;
	if (n->xk != X_ADFILE)
		return false;
	struct node *d = n->parent;
	if (d && cs_of(d)->by_id && n->id && strmap_get(cs_of(d)->by_id, n->id) == n)
		strmap_del(cs_of(d)->by_id, n->id);
	return true;
}

/* data-model/ and lineage/ at the root, and their files */
const struct ns_kind ns_appdata_kind = {
	.name = "appdata",
	.root_kids = ad_add_root,
	.drop_caches = ad_drop_caches,
	.free = ad_free_all,
	.fresh = ad_fresh_node,
	.listed = ad_listed,
	.fill_attr = ad_fill_attr,
	.xattr = ad_xattr,
	.open = ad_open,
	.write = ext_no_write,
	.flush = ext_flush_none,
	.truncate = ext_no_truncate,
	.create = ext_no_create,
	.unlink = ad_unlink,
	.rmdir = ad_rmdir,
	.rename = ext_no_rename,
	.attrs_need_fetch = ad_attrs_need_fetch,
	.list_lazy = ad_list_lazy,
	.lookup_lazy = ad_lookup_lazy,
	.reclaim = ad_reclaim,
	.note_changed = ad_note_changed,
};
