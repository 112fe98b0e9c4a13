/*
 * ns_view.c - views: a collection scoped to one space, data store or data
 * asset answered from the tenant-wide listing of its kind.
 *
 * The tenant-wide listings carry what scopes each object (items and data
 * files their spaceId, data stores theirs, data assets dataStoreInfo.id, data
 * sets dataAssetInfo.id), so one walk of the tenant-wide list pages can fill
 * every space's apps/ and data-files/, every store's data-assets/ and every
 * asset's data-sets/.  When a tenant-wide collection applies a listing it
 * indexes its objects by that key (view_index_build); a view then takes its
 * objects from the index and the content cache, with no request.
 *
 * The rule (docs/SEMANTICS.md "Caching and consistency"), for a view that is
 * not fresh:
 *  1. the tenant-wide listing is fresh: the view is made from it;
 *  2. it is being listed, or queued to be (prefetch): the view waits for it
 *     (within the caller's deadline) and is made from it;
 *  3. otherwise the view is listed by its own request (one space in a big
 *     tenant, nothing cached: a page or two instead of the whole tenant),
 *     unless the views listed that way since the tenant-wide listing was last
 *     made already cost as many requests as one walk of it would: then the
 *     tenant-wide one is listed and serves them all.
 * A tenant-wide listing is never made from views.  A space's data-stores/
 * has no request of its own: it always comes from the tenant-wide listing.
 *
 * Personal space: its apps are the items without spaceId owned by the caller
 * (needs the caller's id, from the mount's check); its data files the data
 * files without spaceId (the tenant-wide data-files listing holds only the
 * caller's personal files).
 *
 * Locks: ns->lock held by every caller; view_refresh may drop it.
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res/reswrite.h"

#define PERSONAL_KEY "~personal" /* never a Qlik id (they hold no '~') */

struct view_bucket {
	struct node **v; /* the wide collection's entries (files, resource dirs) */
	size_t n, cap;
	struct listing folders; /* data-file folder objects of this scope */
};

struct view_index {
	struct strmap *by_key; /* key -> struct view_bucket * */
	struct view_bucket **all;
	size_t n, cap;
};

void view_index_free(struct view_index *vi)
{
	if (!vi)
		return;
	for (size_t i = 0; i < vi->n; i++) {
		free(vi->all[i]->v);
		listing_clear(&vi->all[i]->folders);
		free(vi->all[i]);
	}
	free(vi->all);
	strmap_free(vi->by_key);
	free(vi);
}

/* The key that scopes obj in a tenant-wide listing of kind rt (the row's
 * in_field; else its personal space's, by owner for personal_by), into buf;
 * NULL when it has none. */
static const char *obj_key(const struct rtype *rt, const cJSON *obj, char *buf, size_t n)
{
	const char *s = rt->in_field ? json_str_at(obj, rt->in_field) : NULL;
	if (s || !rt->in_personal)
		return s;
	if (!rt->personal_by)
		return PERSONAL_KEY;
	if (!(s = json_str(obj, rt->personal_by)))
		return NULL;
	snprintf(buf, n, "%s/%s", PERSONAL_KEY, s);
	return buf;
}

static struct view_bucket *bucket_get(struct view_index *vi, const char *key)
{
	struct view_bucket *b = strmap_get(vi->by_key, key);
	if (b)
		return b;
	if (vi->n == vi->cap) {
		size_t cap = vi->cap ? vi->cap * 2 : 64;
		struct view_bucket **a = realloc(vi->all, cap * sizeof(*a));
		if (!a)
			return NULL;
		vi->all = a;
		vi->cap = cap;
	}
	if (!(b = calloc(1, sizeof(*b))))
		return NULL;
	if (strmap_put(vi->by_key, key, b) < 0) {
		free(b);
		return NULL;
	}
	vi->all[vi->n++] = b;
	return b;
}

static int bucket_add(struct view_bucket *b, struct node *k)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4;
		struct node **v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = k;
	return 0;
}

static bool is_wide(const struct node *c)
{
	if (c->role != R_COLL || c->id || cs_of(c)->space_filter || !c->rt || !c->parent ||
	    c->parent->ino != NS_ROOT_INO)
		return false;
	return c->rt->in; /* (shown inside other resources too: views are made from it) */
}

void view_index_build(struct ns *ns, struct node *wide, const struct listing *l)
{
	(void)ns;
	struct coll_state *cs = wide->cs; /* (a collection's: made with it) */
	if (!is_wide(wide) || !cs)
		return;
	view_index_free(cs->vindex);
	cs->vindex = NULL;
	cs->view_misses = 0;
	struct view_index *vi = calloc(1, sizeof(*vi));
	if (!vi || !(vi->by_key = strmap_new())) {
		free(vi);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		char buf[300];
		cJSON *obj = listing_obj(l, i);
		const char *key = obj_key(wide->rt, obj, buf, sizeof(buf));
		struct view_bucket *b = key ? bucket_get(vi, key) : NULL;
		int rc = 0;
		if (key && !b) {
			rc = -ENOMEM;
		} else if (key && wide->rt->folder_flag && json_bool(obj, wide->rt->folder_flag)) {
			rc = listing_add_item(&b->folders, l, i);
		} else if (key) {
			const char *id = restab_id(wide->rt, obj);
			struct node *n = id ? strmap_get(cs_of(wide)->by_id, id) : NULL;
			if (n && !n->gone && n->mark == ns->gen)
				rc = bucket_add(b, n);
		}
		cJSON_Delete(obj);
		if (rc) {
			view_index_free(vi); /* views then list by their own requests */
			return;
		}
	}
	cs->vindex = vi;
}

void view_setup(struct ns *ns, struct node *c, const char *root_name, const char *key)
{
	struct node *root = ns_node(ns, NS_ROOT_INO);
	struct node *w = root ? node_kid(root, root_name) : NULL;
	char buf[300];
	if (!w || w->role != R_COLL)
		return;
	if (!key) { /* the personal space */
		if (c->rt->personal_by) { /* (apps: the caller's own) */
			if (!ns->me_id)
				return; /* whose personal apps: unknown */
			snprintf(buf, sizeof(buf), "%s/%s", PERSONAL_KEY, ns->me_id);
			key = buf;
		} else {
			key = PERSONAL_KEY;
		}
	}
	struct coll_state *cs = node_cs(c); /* (a collection's: made with it) */
	if (!key || !cs || !(cs->view_key = strdup(key)))
		return;
	cs->view_of = w;
}

/* Pages one walk of w's listing takes, by what it held last time (8 when
 * never listed). */
static unsigned wide_pages(const struct node *w)
{
	size_t n = cs_of(w)->by_id ? strmap_size(cs_of(w)->by_id) : 0;
	unsigned limit = w->rt->page_limit > 0 ? (unsigned)w->rt->page_limit : 100;
	if (!cs_of(w)->listed_at && !n)
		return 8;
	return (unsigned)(n / limit) + 1;
}

/* Makes w fresh by the rule (see the top of this file): 0 fresh, 1 the view
 * lists itself, or -errno. */
static int wide_ready(struct ns *ns, struct node *c, struct node *w, char *err, size_t errn)
{
	if (ns_fresh(ns, cs_of(w)->listed_at))
		return 0;
	struct coll_state *wcs = w->cs; /* (a collection's: made with it) */
	if (!wcs)
		return 1;
	if (wcs->listing.running || w->queued) {
		const int64_t deadline = ns_deadline(ns);
		while (w->queued && !wcs->listing.running) {
			if (ns_wait(ns, deadline, "a listing", err, errn))
				return 1; /* (its own request then) */
		}
		if (wcs->listing.running && coll_join_refresh(ns, w, err, errn))
			return 1;
		return ns_fresh(ns, cs_of(w)->listed_at) ? 0 : 1;
	}
	if (!cs_of(c)->space_filter && wcs->view_misses < wide_pages(w)) {
		wcs->view_misses++; /* the cheaper request: this view's own */
		return 1;
	}
	int rc = coll_refresh(ns, w, err, errn);
	if (rc)
		return cs_of(c)->space_filter ? rc : 1;
	return ns_fresh(ns, cs_of(w)->listed_at) ? 0 : 1;
}

int view_refresh(struct ns *ns, struct node *c, char *err, size_t errn)
{
	struct node *w = cs_of(c)->view_of;
	if (!w)
		return 1;
	int rc = wide_ready(ns, c, w, err, errn);
	if (rc)
		return rc;
	if (!cs_of(w)->vindex)
		return 1;
	struct view_bucket *b = strmap_get(cs_of(w)->vindex->by_key, cs_of(c)->view_key);
	struct listing l = { 0 };
	for (size_t i = 0; b && i < b->n; i++) {
		struct node *k = b->v[i];
		char key[256];
		struct cache_blob *blob = NULL;
		content_key(k, key, sizeof(key));
		if (cache_lookup(ns->o.cache, key, &blob) != 1) {
			listing_clear(&l); /* evicted since: the view lists itself */
			return 1;
		}
		rc = listing_add(&l, strndup(cache_blob_data(blob), cache_blob_len(blob)));
		cache_blob_unref(blob);
		if (rc) {
			listing_clear(&l);
			return rc;
		}
	}
	for (size_t i = 0; b && i < b->folders.n; i++) {
		if ((rc = listing_add_item(&l, &b->folders, i))) {
			listing_clear(&l);
			return rc;
		}
	}
	int64_t at = cs_of(w)->listed_at;
	ns->from_cache = true; /* (its contents stay in the wide listing's blocks) */
	coll_apply_listing(ns, c, &l);
	ns->from_cache = false;
	node_set_listed(c, at ? at : 1);
	listing_clear(&l);
	return 0;
}

int coll_refresh_any(struct ns *ns, struct node *coll, char *err, size_t errn)
{
	if (cs_of(coll)->listing.running)
		return coll_join_refresh(ns, coll, err, errn);
	if (ns_fresh(ns, cs_of(coll)->listed_at))
		return 0;
	if (cs_of(coll)->view_of) {
		/* from the tenant-wide listing when the rule says so */
		int rc = view_refresh(ns, coll, err, errn);
		if (rc <= 0)
			return rc;
		if (cs_of(coll)->listing.running) /* another caller started its own meanwhile */
			return coll_join_refresh(ns, coll, err, errn);
		if (ns_fresh(ns, cs_of(coll)->listed_at))
			return 0;
	}
	return coll_refresh(ns, coll, err, errn);
}

int coll_listed(struct ns *ns, struct node *coll, char *err, size_t errn)
{
	int rc = coll_refresh_any(ns, coll, err, errn);
	if (rc)
		return rc;
	for (struct node *a = coll; a && a->ino != NS_ROOT_INO; a = a->parent)
		if (a->gone)
			return -ENOENT;
	return 0;
}

int node_refresh(struct ns *ns, struct node *n, struct node *src, char *err, size_t errn)
{
	int rc = 0;
	if (src && src->role == R_COLL) {
		if (!ns_fresh(ns, cs_of(src)->listed_at))
			rc = coll_refresh_any(ns, src, err, errn);
	} else if (src && !ns_fresh(ns, src->fetched_at)) {
		rc = fetch_one(ns, src, NULL, err, errn);
	}
	if (rc)
		return rc;
	for (struct node *a = n; a && a->ino != NS_ROOT_INO; a = a->parent)
		if (a->gone)
			return -ENOENT;
	return 0;
}
