/*
 * ns_coll.c - collections: which list endpoint fills which directory, how a
 * listing becomes entries, and single-resource fetches.
 *
 * Names (docs/SEMANTICS.md "Entry names"): kinds whose names the API keeps unique per
 * directory (spaces; data files per folder) get plain names; the others get
 * "Name (id)".  A plain name already held by another resource falls back to
 * "Name (id)"; new entries are named oldest first (creation time, then id), so
 * the same tenant gives the same names on every mount, and an entry keeps its
 * name until the server renames it (sticky), so the arrival of a duplicate
 * never renames an existing entry.
 *
 * Locks: coll_refresh() and fetch_one() are called with ns->lock held and
 * drop it around the HTTP requests.
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns/core/ns_mut.h"
#include "util/names.h"
#include "res/reswrite.h"
#include "util/url.h"
#include "res/idmap.h"

/* A kind with a file of its own inside its directory (the resource table's
 * self_file) shows as directories, but in a tenant-wide collection that
 * shows it as files (wide_as_files: the flat data-assets/). */
bool coll_kids_are_dirs(const struct node *coll)
{
	return coll->rt->self_file && !(coll->rt->wide_as_files && !coll->id);
}

static const char *last_segment(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int coll_entry_name(const struct node *coll, const struct rtype *rt, const char *sname,
		    const char *id, bool plain, char *out, size_t n)
{
	const char *ext = coll_kids_are_dirs(coll) ? "" : ".json";
	const char *base = rt->folder_flag ? last_segment(sname) : sname;
	ssize_t r = plain ? names_plain(base, id, ext, out, n) : names_with_id(base, id, ext, out, n);
	return r < 0 ? (int)r : 0;
}

/* ---- fetching (no lock held) ---- */

struct plan {
	char *scope, *scope2, *conn;
	char *space; /* keep only the objects of this space (a space's view) */
	const struct rtype *rt;
};

static int listing_push(struct listing *l, struct listing_item it)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 128;
		struct listing_item *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			cache_blob_unref(it.b);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = it;
	return 0;
}

/* The open texts become one block, deflated when that saves an eighth;
 * their items point into it.  0 or -ENOMEM (nothing changed). */
static int listing_seal(struct listing *l)
{
	if (!l->open_len)
		return 0;
	struct cache_blob *b = cache_pack(l->open, l->open_len);
	bool packed = b != NULL;
	if (!b && !(b = cache_blob_new(l->open, l->open_len)))
		return -ENOMEM;
	for (size_t i = l->n; i-- > 0 && !l->v[i].b;) {
		l->v[i].b = cache_blob_ref(b);
		l->v[i].packed = packed;
		l->v[i].blen = (uint32_t)l->open_len;
	}
	if (packed && !l->memo)
		l->memo = calloc(1, sizeof(*l->memo)); /* (without: each read inflates) */
	cache_blob_unref(b);
	l->open_len = 0;
	return 0;
}

int listing_add(struct listing *l, char *text)
{
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	l->bytes += len;
	if (l->bytes <= LISTING_PLAIN || len >= LISTING_BLOCK || len > UINT32_MAX) {
		/* (the open items first: they are the last ones without a blob) */
		int rc = listing_seal(l);
		if (rc) {
			free(text);
			return rc;
		}
		struct cache_blob *b = cache_blob_take(text, len); /* takes text */
		if (!b)
			return -ENOMEM;
		rc = listing_push(l, (struct listing_item){ .b = b, .len = (uint32_t)len });
		if (rc)
			cache_blob_unref(b);
		return rc;
	}
	int rc = 0;
	if (l->open_len + len > LISTING_BLOCK && (rc = listing_seal(l)))
		goto out;
	if (l->open_len + len > l->open_cap) {
		char *o = realloc(l->open, LISTING_BLOCK);
		if (!o) {
			rc = -ENOMEM;
			goto out;
		}
		l->open = o;
		l->open_cap = LISTING_BLOCK;
	}
	rc = listing_push(l, (struct listing_item){ .off = (uint32_t)l->open_len,
						    .len = (uint32_t)len });
	if (!rc) {
		memcpy(l->open + l->open_len, text, len);
		l->open_len += len;
	}
out:
	free(text);
	return rc;
}

/* Item i's text: a blob of its own (the caller unrefs it), or NULL on OOM. */
static struct cache_blob *listing_text(const struct listing *l, size_t i)
{
	const struct listing_item *it = &l->v[i];
	if (!it->b)
		return cache_blob_new(l->open + it->off, it->len);
	struct listing_memo *m = l->memo;
	if (it->packed && m && m->blk != it->b) {
		struct cache_blob *p = cache_unpack(it->b, it->blen);
		if (p) {
			cache_blob_unref(m->blk);
			cache_blob_unref(m->plain);
			m->blk = cache_blob_ref(it->b);
			m->plain = p;
		}
	}
	if (it->packed && m && m->blk == it->b)
		return cache_blob_new(cache_blob_data(m->plain) + it->off, it->len);
	if (it->packed)
		return cache_unpack_slice(it->b, it->off, it->len);
	if (!it->off && cache_blob_len(it->b) == it->len)
		return cache_blob_ref(it->b);
	return cache_blob_new(cache_blob_data(it->b) + it->off, it->len);
}

int listing_add_item(struct listing *l, const struct listing *src, size_t i)
{
	struct listing_item it = src->v[i];
	if (!it.b) { /* (in src's open block: a copy of its own) */
		if (!(it.b = listing_text(src, i)))
			return -ENOMEM;
		it.off = 0;
	} else {
		cache_blob_ref(it.b);
	}
	int rc = listing_push(l, it);
	if (rc)
		cache_blob_unref(it.b);
	return rc;
}

void listing_clear(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		cache_blob_unref(l->v[i].b);
	free(l->v);
	free(l->open);
	if (l->memo) {
		cache_blob_unref(l->memo->blk);
		cache_blob_unref(l->memo->plain);
		free(l->memo);
	}
	memset(l, 0, sizeof(*l));
}

cJSON *listing_obj(const struct listing *l, size_t i)
{
	struct cache_blob *b = listing_text(l, i);
	cJSON *o = b ? cJSON_ParseWithLength(cache_blob_data(b), cache_blob_len(b)) : NULL;
	cache_blob_unref(b);
	return o;
}

/* Drops from l the objects whose spaceId is not space. */
static void keep_space(struct listing *l, const char *space)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *o = listing_obj(l, i);
		const char *s = json_str(o, "spaceId");
		if (s && !strcmp(s, space))
			l->v[k++] = l->v[i];
		else
			cache_blob_unref(l->v[i].b);
		cJSON_Delete(o);
	}
	l->n = k;
}

static int append_item(void *arg, const cJSON *item)
{
	return listing_add(arg, cJSON_PrintUnformatted(item));
}

/* The DataFiles connection of a space, or NULL in *out when it has none. */
static int space_connection(struct qclient *qc, const char *space, char **out, char *err,
			    size_t errn)
{
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/data-files/connections");
	url_query(u, "spaceId", space);
	char *url = url_finish(u);
	cJSON *j = NULL;
	if (!url)
		return -ENOMEM;
	int rc = qclient_get_json(qc, url, &j, err, errn);
	free(url);
	if (rc)
		return rc;
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0);
	const char *id = json_str(first, "id");
	*out = id ? strdup(id) : NULL;
	cJSON_Delete(j);
	return id && !*out ? -ENOMEM : 0;
}

/* The URL of the first page of p's listing: the kind's tenant-wide listing
 * (its row of the resource table), narrowed to a scope where the API lists
 * one (a space's apps, a space's data files through its connection, a
 * store's assets, an asset's sets: list_path's `*` segments and the
 * queries, restab.h). */
static char *list_url(struct qclient *qc, const struct plan *p)
{
	const struct rtype *rt = p->rt;
	struct url_buf *u = url_new(qclient_base(qc));
	const char *subs[2] = { rt->scope_store ? p->scope2 : p->scope,
				rt->scope_store ? p->scope : NULL };
	const char *s = rt->list_path, *star;
	for (int i = 0; (star = strstr(s, "/*")) != NULL; i++) {
		char lit[256];
		size_t n = (size_t)(star - s);
		if (n >= sizeof(lit))
			break;
		memcpy(lit, s, n);
		lit[n] = '\0';
		url_path(u, lit);
		if (i < 2 && subs[i])
			url_seg(u, subs[i]);
		else
			url_path(u, "/*");
		s = star + 2;
	}
	url_path(u, s);
	bool conn = rt->by_connection && p->scope;
	if (rt->list_query[0] && !conn)
		url_query(u, rt->list_query[0], rt->list_query[1]);
	if (rt->scope_query)
		url_query(u, rt->scope_query, p->scope);
	if (conn && strcmp(p->scope, "personal"))
		url_query(u, "connectionId", p->conn);
	if (rt->list_query2[0])
		url_query(u, rt->list_query2[0], rt->list_query2[1]);
	url_query_int(u, "limit", rt->page_limit);
	return url_finish(u);
}

static int fetch_listing(struct qclient *qc, struct plan *p, struct listing *out, char *err,
			 size_t errn)
{
	int rc;
	if (p->rt->by_connection && p->scope && strcmp(p->scope, "personal") && !p->conn) {
		rc = space_connection(qc, p->scope, &p->conn, err, errn);
		if (rc)
			return rc;
		if (!p->conn)
			return 0; /* a space without data files connection holds none */
	}
	char *url = list_url(qc, p);
	if (!url)
		return -ENOMEM;
	long n = qclient_list(qc, url, append_item, out, NULL, err, errn);
	free(url);
	if (n >= 0 && p->space)
		keep_space(out, p->space);
	return n < 0 ? (int)n : 0;
}

/* ---- applying a listing (lock held) ---- */

struct pending {
	const cJSON *obj; /* parsed again when placed */
	char *id;
	int64_t ctime;
	struct node *existing; /* renamed on the server */
	size_t idx;            /* in the listing */
};

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->ctime != y->ctime)
		return x->ctime < y->ctime ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The folder a data file's path puts it in, created as needed; every folder
 * on the way is marked as seen. NULL on OOM. */
static struct node *folder_for(struct ns *ns, struct node *coll, const char *path, bool whole)
{
	struct node *d = coll;
	const char *seg = path;
	for (;;) {
		const char *slash = strchr(seg, '/');
		if (!slash && !whole)
			return d;
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (len > 0) {
			char raw[1024], enc[1024];
			if (len >= sizeof(raw))
				len = sizeof(raw) - 1;
			memcpy(raw, seg, len);
			raw[len] = '\0';
			if (names_encode(raw, enc, sizeof(enc)) < 0)
				return NULL;
			struct node *f = node_kid(d, enc);
			if (f && (f->role != R_FOLDER || f->hidden))
				return NULL; /* a file holds that name: left out */
			if (!f) {
				f = node_new(ns, d, enc, R_FOLDER, true);
				if (!f)
					return NULL;
				if (node_listing_init(f, coll, false)) {
					node_detach(ns, f);
					return NULL;
				}
				f->rt = coll->rt;
			}
			f->mark = ns->gen;
			d = f;
		}
		if (!slash)
			return d;
		seg = slash + 1;
	}
}

static void remove_unmarked(struct ns *ns, struct node *dir, struct node *coll)
{
	for (size_t i = 0; i < dir->nkids;) {
		struct node *k = dir->kidv[i];
		/* memory-only files (temporaries, failed creates, .rejected)
		 * are not in any listing: they stay until deleted */
		bool mem = k->role == R_SCRATCH || k->role == R_NEW;
		if (!k->pinned && !mem && k->mark != ns->gen) {
			if (k->id && strmap_get(cs_of(coll)->by_id, k->id) == k)
				strmap_del(cs_of(coll)->by_id, k->id);
			node_detach(ns, k); /* swaps the last kid into i */
			continue;
		}
		if (k->role == R_FOLDER || k->role == R_QVFDIR)
			remove_unmarked(ns, k, coll);
		i++;
	}
}

static void set_child_ids(struct node *coll, struct node *k, const char *id, const cJSON *obj)
{
	free(k->id);
	k->id = strdup(id);
	if (restab_keeps_place(coll->rt)) { /* a data asset's store */
		const char *place = json_str_at(obj, coll->rt->in_field);
		free(k->store_id);
		k->store_id = place ? strdup(place) : NULL;
	}
}

static void place_child(struct ns *ns, struct node *coll, struct pending *p)
{
	const struct rtype *rt = coll->rt;
	const char *sname = restab_name(rt, p->obj);
	bool dirs = coll_kids_are_dirs(coll);
	struct node *dir = coll;
	char name[512];

	if (!sname)
		sname = "";
	if (rt->folder_flag && !(dir = folder_for(ns, coll, sname, false)))
		return;
	char sid[128]; /* a restored resource shows under its backup's id */
	const char *shown = ns->idmap && idmap_old_id(ns->idmap, rt->kind, p->id, sid, sizeof(sid))
			    ? sid : p->id;
	if (coll_entry_name(coll, rt, sname, shown, rt->unique_names, name, sizeof(name)) < 0)
		return;
	struct node *holder = node_kid(dir, name);
	if (holder && holder != p->existing && !holder->hidden &&
	    coll_entry_name(coll, rt, sname, shown, false, name, sizeof(name)) < 0)
		return;
	holder = node_kid(dir, name);
	if (holder && holder != p->existing && !holder->hidden)
		return; /* cannot happen with ids in names; left out rather than shadowed */

	struct node *k = p->existing;
	if (k) {
		/* (gone: unlinked, and its delayed delete failed: it shows again) */
		if (k->gone || k->parent != dir || strcmp(k->name, name)) {
			node_detach(ns, k);
			if (node_attach(ns, dir, k, name) < 0)
				return;
		}
	} else {
		k = node_new(ns, dir, name, dirs ? R_RESDIR : R_FILE, dirs);
		if (!k)
			return;
		k->rt = rt;
		set_child_ids(coll, k, p->id, p->obj);
		if (dirs)
			node_fixed_kids(ns, k);
		strmap_put(cs_of(coll)->by_id, p->id, k);
	}
	free(k->sname);
	k->sname = strdup(sname);
	k->mark = ns->gen;
	struct node *own = dirs ? node_self(k) : NULL;
	if (own && own->gone) /* unlinked (ns_unlink): the listing shows it again */
		own->gone = false;
	node_set_obj(ns, k, p->obj, NULL);
	ns->hooks.placed(ns, k);
}

void coll_apply_listing(struct ns *ns, struct node *coll, const struct listing *l)
{
	const struct rtype *rt = coll->rt;
	size_t np = 0;
	struct pending *pend = calloc(l->n ? l->n : 1, sizeof(*pend));

	if (!pend)
		return;
	/* the contents of its objects are stored side by side (cache_batch:
	 * a fraction of the memory each takes alone), before the lock drops */
	struct cache_batch *outer = ns->batch, *bt = cache_batch_new(ns->o.cache);
	ns->batch = bt; /* (NULL: each stored alone) */
	ns->gen++;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *obj = listing_obj(l, i);
		if (!obj)
			continue;
		if (rt->folder_flag && json_bool(obj, rt->folder_flag)) {
			const char *path = restab_name(rt, obj);
			struct node *f = path ? folder_for(ns, coll, path, true) : NULL;
			if (f && f != coll) {
				const char *fid = json_str(obj, "id");
				if (fid && (!f->id || strcmp(f->id, fid))) {
					free(f->id);
					f->id = strdup(fid);
				}
				int64_t mt = restab_mtime_ms(rt, obj), ct = restab_ctime_ms(rt, obj);
				if (mt)
					f->mtime_ms = mt;
				if (ct)
					f->ctime_ms = ct;
			}
			cJSON_Delete(obj);
			continue;
		}
		const char *id = restab_id(rt, obj);
		if (!id || defer_hides(ns, rt->kind, id)) {
			/* (rm'd, its delete waiting: gone from every view) */
			cJSON_Delete(obj);
			continue;
		}
		struct node *k = strmap_get(cs_of(coll)->by_id, id);
		const char *sname = restab_name(rt, obj);
		if (k && !k->gone && k->sname && sname && !strcmp(k->sname, sname)) {
			if (rt->folder_flag)
				folder_for(ns, coll, sname, false); /* keep its folders marked */
			k->mark = ns->gen;
			set_child_ids(coll, k, id, obj);
			node_set_obj(ns, k, obj, NULL);
			ns->hooks.placed(ns, k);
			cJSON_Delete(obj);
			continue;
		}
		/* new or renamed: placed below, oldest first */
		char *idc = strdup(id);
		if (idc)
			pend[np++] = (struct pending){ NULL, idc, restab_ctime_ms(rt, obj), k, i };
		cJSON_Delete(obj);
	}
	qsort(pend, np, sizeof(*pend), cmp_pending);
	/* renamed entries first give up their old names */
	for (size_t i = 0; i < np; i++)
		if (pend[i].existing && !pend[i].existing->gone)
			node_detach(ns, pend[i].existing);
	for (size_t i = 0; i < np; i++) {
		cJSON *obj = listing_obj(l, pend[i].idx);
		pend[i].obj = obj;
		if (obj)
			place_child(ns, coll, &pend[i]);
		cJSON_Delete(obj);
		free(pend[i].id);
	}
	remove_unmarked(ns, coll, coll);
	free(pend);
	cache_batch_free(bt);
	ns->batch = outer;
}

static void plan_clear(struct plan *p)
{
	free(p->space);
	free(p->scope);
	free(p->scope2);
	free(p->conn);
}

static int waited_too_long(const char *what, char *err, size_t errn)
{
	errmsg_set(err, errn, "timed out waiting for %s (another caller's request)", what);
	return -EIO; /* as a timeout of our own request: a network failure */
}

/* Waits for the refresh of coll that another caller is doing, within this
 * caller's own deadline, and shares its outcome: its error too, so that
 * waiters neither wait past their deadline nor start fetches of their own
 * after it failed (each with a fresh deadline: 30, 60, 90 s...). */
int coll_join_refresh(struct ns *ns, struct node *coll, char *err, size_t errn)
{
	struct coll_state *cs = coll->cs;
	int rc;
	if (!cs)
		return 0; /* (none under way) */
	if (flight_wait(&cs->listing, &ns->lock, &ns->cv, ns_deadline(ns), &rc))
		return waited_too_long("a listing", err, errn);
	if (rc)
		errmsg_set(err, errn, "%s", cs->refresh_err ? cs->refresh_err : "");
	return rc;
}

int ns_flight_join(struct ns *ns, struct flight *f, int64_t deadline, const char *what, char *err,
		   size_t errn)
{
	int rc = 0;
	while (f->running && !rc)
		if (flight_wait(f, &ns->lock, &ns->cv, deadline, &rc))
			return waited_too_long(what, err, errn);
	if (rc)
		errmsg_set(err, errn, "another caller's request for %s failed: %s", what,
			   strerrordesc_np(-rc));
	return rc;
}

int ns_flight_idle(struct ns *ns, struct flight *f, int64_t deadline, const char *what, char *err,
		   size_t errn)
{
	if (flight_idle(f, &ns->lock, &ns->cv, deadline))
		return waited_too_long(what, err, errn);
	return 0;
}

int coll_refresh(struct ns *ns, struct node *coll, char *err, size_t errn)
{
	struct coll_state *cs = node_cs(coll); /* (a collection's: made with it) */
	if (!cs)
		return -ENOMEM;
	if (cs->listing.running)
		return coll_join_refresh(ns, coll, err, errn);
	if (ns_fresh(ns, cs_of(coll)->listed_at))
		return 0;
	struct plan p = {
		.rt = coll->rt,
		.scope = coll->id ? strdup(coll->id) : NULL,
		.scope2 = coll->store_id ? strdup(coll->store_id) : NULL,
		.conn = cs->conn ? strdup(cs->conn) : NULL,
		.space = cs->space_filter ? strdup(cs->space_filter) : NULL,
	};
	int64_t started = ns_now(ns);
	struct listing arr = { 0 };
	flight_begin(&cs->listing);
	coll->refresh_outdated = false;
	pthread_mutex_unlock(&ns->lock);
	int rc = fetch_listing(ns->o.client, &p, &arr, err, errn);
	pthread_mutex_lock(&ns->lock);
	free(cs->refresh_err);
	cs->refresh_err = rc && err ? strndup(err, errn) : NULL;
	flight_end(&cs->listing, rc, &ns->cv);
	if (!rc) {
		if (p.conn && !cs->conn)
			cs->conn = strdup(p.conn);
		coll_apply_listing(ns, coll, &arr);
		node_set_listed(coll, coll->refresh_outdated ? 0 : (started ? started : 1));
		if (ns->hooks.listed)
			ns->hooks.listed(ns, coll, &arr); /* the views' index (ns_view.c) */
		ns->stats.listings++;
	}
	listing_clear(&arr);
	plan_clear(&p);
	return rc;
}

/* ---- single resources ---- */

int fetch_obj(struct ns *ns, const struct rtype *rt, const char *id, cJSON **root,
	      const cJSON **obj, char *err, size_t errn)
{
	char *idc = id ? strdup(id) : NULL;
	int rc;

	*root = NULL;
	*obj = NULL;
	pthread_mutex_unlock(&ns->lock);
	rc = (id && !idc) ? -ENOMEM : res_get(ns->o.client, rt, idc, root, obj, err, errn);
	free(idc);
	pthread_mutex_lock(&ns->lock);
	if (!rc)
		ns->stats.gets++;
	return rc;
}

int fetch_one(struct ns *ns, struct node *n, struct cache_blob **out, char *err, size_t errn)
{
	int64_t started = ns_now(ns);
	cJSON *root;
	const cJSON *obj;
	int rc = fetch_obj(ns, n->role == R_ME ? NULL : n->rt, n->id, &root, &obj, err, errn);
	if (!rc) {
		rc = node_set_obj(ns, n, obj, out);
		n->fetched_at = started ? started : 1;
	}
	cJSON_Delete(root);
	return rc;
}
