/*
 * ns_appdata.c - data-model/ and lineage/ at the root (docs/SEMANTICS.md
 * "Data model and lineage"): one read-only JSON file per app of apps/,
 * named like the app's entry there, holding GET /api/v1/apps/{id}/data/
 * metadata (data-model/) or .../data/lineage (lineage/), rendered as jq
 * prints it.  Both describe the app's last reload.
 *
 * Costs: the entries come from the apps/ listing; listing either directory
 * fetches every stale file, 8 side by side (one request per app), so that
 * sizes are exact before the first read and grep -r or jq over the
 * directory costs nothing more within the TTL.  A file that could not be
 * fetched is listed without attributes and looked up alone.
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
#define AD_DIR_MODEL "data-model"
#define AD_DIR_LINEAGE "lineage"

struct xadata {
	char key[96]; /* "<kind>:<app id>" */
	char *text;
	size_t len;
	int64_t mtime_ms;
	int64_t at;
	bool busy;
};

static enum appdata_kind kind_of(const struct node *n)
{
	return n->sname && !strcmp(n->sname, "lineage") ? APPDATA_LINEAGE : APPDATA_METADATA;
}

static struct xadata *ad_get(struct ns *ns, enum appdata_kind k, const char *app)
{
	struct ns_ext *x = ns->ext;
	char key[96];
	if (!app || snprintf(key, sizeof(key), "%s:%s", appdata_name(k), app) >= (int)sizeof(key))
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
	memcpy(a->key, key, sizeof(key));
	if (strmap_put(x->adata, a->key, a) < 0) {
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

void ad_free_all(struct ns_ext *x)
{
	for (size_t i = 0; i < x->nadall; i++) {
		free(x->adall[i]->text);
		free(x->adall[i]);
	}
	free(x->adall);
	x->adall = NULL;
	x->nadall = x->capadall = 0;
}

void ad_drop_caches(struct ns_ext *x)
{
	for (size_t i = 0; i < x->nadall; i++)
		x->adall[i]->at = 0;
}

void ad_note_changed(struct ns *ns, const char *app)
{
	char key[96];
	struct xadata *a;
	for (int k = APPDATA_METADATA; k <= APPDATA_LINEAGE; k++)
		if (snprintf(key, sizeof(key), "%s:%s", appdata_name((enum appdata_kind)k), app) <
			    (int)sizeof(key) &&
		    (a = strmap_get(ns->ext->adata, key)))
			a->at = 0; /* (only those seen: nothing is made here) */
}

static void add_dir(struct ns *ns, struct node *root, struct node *apps, const char *name,
		    const char *kind)
{
	struct node *d = node_new(ns, root, name, R_EXT, true);
	if (!d)
		return;
	d->pinned = true;
	d->xk = X_ADDIR;
	d->coll_root = apps;
	d->sname = strdup(kind);
	d->by_id = strmap_new();
}

void ad_add_root(struct ns *ns, struct node *root)
{
	struct node *apps = strmap_get(root->kids, "apps");
	if (!apps || apps->role != R_COLL || ns->o.no_scripts)
		return;
	add_dir(ns, root, apps, AD_DIR_MODEL, "metadata");
	add_dir(ns, root, apps, AD_DIR_LINEAGE, "lineage");
}

/* Takes a fetched document (owned) as a's content. */
static void ad_apply(struct ns *ns, struct xadata *a, struct node *n, char *text, size_t len,
		     int64_t at)
{
	bool changed = !a->text || a->len != len || memcmp(a->text, text, len);
	free(a->text);
	a->text = text;
	a->len = len;
	a->at = at ? at : 1;
	if (changed) {
		a->mtime_ms = ns_wall_ms();
		if (n && n->reported)
			ns_inval_inode(ns, n);
	}
}

static bool ad_fresh(struct ns *ns, const struct xadata *a)
{
	return a->text && ns_fresh(ns, a->at);
}

/* The app's document rendered (owned), or NULL with rc. */
static char *fetch_text(struct qclient *qc, const char *app, enum appdata_kind k, size_t *len,
			int *rc, char *err, size_t errn)
{
	cJSON *doc = NULL;
	char *txt = NULL;
	*rc = appdata_get(qc, app, k, &doc, err, errn);
	if (!*rc && !(txt = jsonfmt_pretty(doc, len)))
		*rc = -ENOMEM;
	cJSON_Delete(doc);
	return txt;
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
	size_t len = 0;
	a->busy = true;
	pthread_mutex_unlock(&ns->lock);
	char *txt = fetch_text(ns->o.client, app, k, &len, &rc, err, errn);
	pthread_mutex_lock(&ns->lock);
	a->busy = false;
	pthread_cond_broadcast(&ns->cv);
	if (rc)
		return rc;
	ns->stats.gets++;
	ad_apply(ns, a, n, txt, len, started);
	return 0;
}

/* ---- listing: every stale file fetched side by side ---- */

struct ad_item {
	struct xadata *a;
	struct node *n;
	char app[80];
	char *text;
	size_t len;
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
	it->text = fetch_text(j->qc, it->app, j->k, &it->len, &it->rc, NULL, 0);
}

void ad_prefetch(struct ns *ns, struct node *d)
{
	struct ad_item *v = calloc(d->nkids ? d->nkids : 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return;
	for (size_t i = 0; i < d->nkids; i++) {
		struct node *k = d->kidv[i];
		struct xadata *a = k->gone ? NULL : ad_of(ns, k);
		if (!a || a->busy || ad_fresh(ns, a))
			continue;
		a->busy = true;
		v[n].a = a;
		v[n].n = k;
		snprintf(v[n].app, sizeof(v[n].app), "%s", k->id);
		n++;
	}
	if (n) {
		struct ad_job j = { ns->o.client, kind_of(d), v };
		int64_t started = ns_now(ns);
		pthread_mutex_unlock(&ns->lock);
		par_run(n, AD_PARALLEL, ad_one, &j);
		pthread_mutex_lock(&ns->lock);
		for (size_t i = 0; i < n; i++) {
			v[i].a->busy = false;
			if (!v[i].rc) {
				ns->stats.gets++;
				ad_apply(ns, v[i].a, v[i].n, v[i].text, v[i].len, started);
			}
		}
		pthread_cond_broadcast(&ns->cv);
	}
	free(v);
}

/* Makes d's entries follow the apps/ listing (the lock may be dropped). */
static int ad_sync(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct node *apps = d->coll_root;
	int rc = coll_listed(ns, apps, err, errn);
	if (rc || (d->listed_at && d->listed_at == apps->listed_at))
		return rc;
	unsigned gen = ++d->refresh_gen;
	for (size_t i = 0; i < apps->nkids; i++) {
		struct node *k = apps->kidv[i], *n;
		if (k->role != R_FILE || k->gone || !k->id)
			continue;
		n = strmap_get(d->by_id, k->id);
		if (n && !n->gone && strcmp(n->name, k->name)) {
			node_detach(ns, n);
			if (node_attach(ns, d, n, k->name) < 0)
				continue;
		} else if (!n || n->gone) {
			if (strmap_get(d->kids, k->name) || !(n = node_new(ns, d, k->name, R_EXT, false)))
				continue;
			n->xk = X_ADFILE;
			n->id = strdup(k->id);
			n->sname = strdup(d->sname);
			if (!n->id || !n->sname || strmap_put(d->by_id, k->id, n) < 0) {
				node_detach(ns, n);
				continue;
			}
		}
		n->mark = gen;
	}
	for (size_t i = d->nkids; i > 0; i--) {
		struct node *n = d->kidv[i - 1];
		if (n->mark != gen) {
			if (strmap_get(d->by_id, n->id) == n)
				strmap_del(d->by_id, n->id);
			node_detach(ns, n);
		}
	}
	d->listed_at = apps->listed_at;
	return 0;
}

int ad_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	return d->xk == X_ADDIR ? ad_sync(ns, d, err, errn) : 0; /* opendir: ad_prefetch */
}

int ad_fresh_node(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct xadata *a = ad_of(ns, n);
	return a ? ad_fetch(ns, n, a, err, errn) : 0;
}

bool ad_attrs_need_fetch(struct ns *ns, struct node *n)
{
	struct xadata *a = ad_of(ns, n);
	return a && !ad_fresh(ns, a);
}

void ad_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	struct xadata *x = ad_of(ns, n);
	if (!x || !x->text)
		return;
	a->size = n->reported_size = x->len;
	a->mtime_ms = n->mtime_ms = x->mtime_ms;
}

int ad_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	    size_t errn)
{
	struct xadata *a = ad_of(ns, n);
	int rc;
	if (!a)
		return n->dir ? -EISDIR : -ENOENT;
	if ((rc = ad_fetch(ns, n, a, err, errn)))
		return rc;
	if (!(f->blob = cache_blob_new(a->text, a->len)))
		return -ENOMEM;
	*size_changed = a->len != n->reported_size;
	return 0;
}
