/*
 * ns_scripts.c - load scripts as files (docs/SEMANTICS.md "Load scripts"):
 * scripts/ at the root and in every space (and @personal) holds one
 * "NAME.qvs" per app of its sibling apps/ directory, named like the app's
 * JSON entry with .qvs for .json; scripts/.history/ (hidden) holds the older
 * versions (ns_scripts_hist.c).
 *
 * Where things come from (actions/scripts.c):
 *  - the entries: the sibling apps/ listing (no request of their own);
 *  - a script's bytes, size and mtime: the app's script history (the newest
 *    version's id and modifiedTime) and that version's text: two requests
 *    per app, kept for the mount's TTL.  Listing scripts/ fetches nothing
 *    and makes no node (scr_list_lazy): a stale script is listed without
 *    attributes, gets its node when looked up (scr_lookup_lazy) and is
 *    fetched then; a walk that listed the directory reads ahead
 *    (ns_ext.c ext_readahead -> scr_prefetch, SCR_PARALLEL side by side),
 *    so ls -l, tar and grep -r cost two requests per app, no more.
 *
 * Writing: a handle opened for writing edits a private copy of the script
 * it opened (its base version).  Its close sends a new version when the
 * bytes differ from the current text (an unchanged write sends nothing),
 * after checking that the app's newest version is still the base (else
 * ESTALE: the content is kept as NAME.qvs.rejected).  The version message
 * is the user.qlik.message attribute set on the file before (else
 * SCR_DEFAULT_MSG).  Temporary files of tools live in memory (R_SCRATCH);
 * renaming one onto NAME.qvs saves it (sed -i); renaming NAME.qvs to a
 * temporary name copies it (vim's backup); removing NAME.qvs only hides the
 * entry until the next listing of apps/, so that a tool that removes and
 * recreates a file (git checkout, vim) saves a new version.
 *
 * Invariants: an xscript is never freed while the namespace lives (a
 * pointer stays valid across a dropped lock); one fetch or save per app at
 * a time (its flights `fetch` and `save`, util/flight.h: waiters sleep on
 * ns->cv, bounded by ns_deadline; readers share a fetch's outcome, a
 * failure too; a save waits for the fetch or save under way and runs its
 * own, which readers wait for, then read what it left).  An
 * X_QVS node's id is its app's id; a scripts/ directory's by_id maps app
 * ids to its X_QVS nodes and coll_root is its apps/ collection.
 *
 * Locks: ns->lock held on entry everywhere but scr_read, scr_write and
 * scr_release (which take it); dropped around every request.
 */
#include "ns/kinds/ns_scripts.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/scripts.h"
#include "client/errmap.h"
#include "ns/core/ns_mut.h"
#include "util/names.h"
#include "util/par.h"

#define SCR_PARALLEL 8 /* scripts fetched side by side by a listing */

/* ---- the registry of scripts ---- */

struct xscript *xs_get(struct ns *ns, const char *app)
{
	struct xscripts *x = scr_state(ns);
	struct xscript *s = x && app ? strmap_get(x->scripts, app) : NULL;
	if (s || !x || !app || strlen(app) > SCRIPTS_ID_MAX)
		return s;
	if (x->nsall == x->capsall) {
		size_t cap = x->capsall ? x->capsall * 2 : 64;
		struct xscript **v = realloc(x->sall, cap * sizeof(*v));
		if (!v)
			return NULL;
		x->sall = v;
		x->capsall = cap;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	snprintf(s->app, sizeof(s->app), "%s", app);
	if (strmap_put(x->scripts, s->app, s) < 0) {
		free(s);
		return NULL;
	}
	x->sall[x->nsall++] = s;
	return s;
}

struct xscript *scr_of(struct ns *ns, const struct node *n)
{
	return scr_state(ns) && n->id ? strmap_get(scr_state(ns)->scripts, n->id) : NULL;
}

void scr_free_all(struct xscripts *x)
{
	for (size_t i = 0; i < x->nsall; i++) {
		free(x->sall[i]->text); /* (its history: scr_hist_free, ns_ext.c) */
		free(x->sall[i]->msg);
		free(x->sall[i]);
	}
	free(x->sall);
	x->sall = NULL;
	x->nsall = x->capsall = 0;
}

void scr_drop_caches(struct xscripts *x)
{
	for (size_t i = 0; i < x->nsall; i++)
		x->sall[i]->at = 0;
}

static void xs_inval(struct ns *ns, struct xscript *s)
{
	for (size_t i = 0; i < 4; i++)
		if (s->nodes[i] && !s->nodes[i]->gone && s->nodes[i]->reported)
			ns_inval_inode(ns, s->nodes[i]);
}

void scr_note_changed(struct ns *ns, const char *app)
{
	struct xscript *s = scr_state(ns) ? strmap_get(scr_state(ns)->scripts, app) : NULL;
	if (s) {
		s->at = 0; /* (its history: scr_hist_stale, ns_ext.c) */
		xs_inval(ns, s);
	}
}

void scr_forget_node(struct ns *ns, struct node *n)
{
	struct xscript *s = n->id ? scr_of(ns, n) : NULL;
	for (size_t i = 0; s && i < 4; i++)
		if (s->nodes[i] == n)
			s->nodes[i] = NULL;
}

void xs_note_node(struct xscript *s, struct node *n)
{
	size_t k = 0;
	for (size_t i = 0; i < 4; i++) {
		if (s->nodes[i] == n)
			return;
		if (!s->nodes[i] || s->nodes[i]->gone)
			k = i;
	}
	s->nodes[k] = n;
}


/* Takes text (owned) as s's current version ver, fetched at `at`. */
void xs_apply(struct ns *ns, struct xscript *s, const struct script_ver *ver, char *text,
		     size_t len, int64_t at)
{
	bool changed = strcmp(s->ver.id, ver->id) || s->len != len || s->ver.mtime_ms != ver->mtime_ms;
	s->ver = *ver;
	free(s->text);
	s->text = text;
	s->len = len;
	s->at = at ? at : 1;
	for (size_t i = 0; i < 4; i++)
		if (s->nodes[i] && ver->mtime_ms)
			s->nodes[i]->mtime_ms = ver->mtime_ms;
	if (changed)
		xs_inval(ns, s);
}

bool xs_fresh(struct ns *ns, const struct xscript *s)
{
	return s->ver.id[0] && ns_fresh(ns, s->at);
}

int xs_wait(struct ns *ns, struct xscript *s, char *err, size_t errn)
{
	const int64_t deadline = ns_deadline(ns);
	while (s->fetch.running || s->save.running) {
		int rc = ns_flight_idle(ns, s->save.running ? &s->save : &s->fetch, deadline,
					"the same app's script", err, errn);
		if (rc)
			return rc;
	}
	return 0;
}

/* Makes s fresh: one fetch (two requests) when stale, the lock dropped. */
int scr_fetch(struct ns *ns, struct xscript *s, char *err, size_t errn)
{
	const int64_t deadline = ns_deadline(ns);
	int rc = 0;
	while (!rc && (s->fetch.running || s->save.running))
		rc = s->save.running
			     ? ns_flight_idle(ns, &s->save, deadline, "the same app's script", err, errn)
			     : ns_flight_join(ns, &s->fetch, deadline, "the same app's script", err,
					      errn);
	if (rc || xs_fresh(ns, s))
		return rc;
	char app[sizeof(s->app)];
	memcpy(app, s->app, sizeof(app));
	int64_t started = ns_now(ns);
	flight_begin(&s->fetch);
	pthread_mutex_unlock(&ns->lock);
	struct script_ver ver;
	char *text = NULL;
	size_t len = 0;
	rc = scripts_current(ns->o.client, app, &ver, &text, &len, err, errn);
	pthread_mutex_lock(&ns->lock);
	flight_end(&s->fetch, rc, &ns->cv);
	if (rc)
		return rc;
	ns->stats.gets += 2;
	xs_apply(ns, s, &ver, text, len, started);
	return 0;
}

/* ---- fetching many side by side ---- */

struct pf_item {
	struct xscript *s;
	char app[SCRIPTS_ID_MAX + 1];
	struct script_ver ver;
	char *text;
	size_t len;
	int rc;
};

struct pf_job {
	struct qclient *qc;
	struct pf_item *v;
};

static void pf_one(void *arg, size_t i)
{
	struct pf_job *j = arg;
	struct pf_item *it = &j->v[i];
	it->rc = scripts_current(j->qc, it->app, &it->ver, &it->text, &it->len, NULL, 0);
}

/* A walk's readahead (ns_ext.c ext_readahead): fetches first's script and
 * up to max - 1 other stale scripts of scripts/ directory d (its apps/
 * order from first's app on, then those before), SCR_PARALLEL at a time (the lock
 * dropped meanwhile).  Failures are left for the lookup of each entry to
 * report. */
void scr_prefetch(struct ns *ns, struct node *d, struct node *first, size_t max)
{
	struct node *apps = cs_of(d)->coll_root;
	struct pf_item *v = calloc(max ? max : 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return;
	size_t from = node_kid_pos(apps, first->id);
	for (size_t j = 0; j < apps->nkids && n < max; j++) {
		struct node *k = apps->kidv[(from + j) % apps->nkids], *q;
		struct xscript *s = k->role == R_FILE && !k->gone && k->id ? xs_get(ns, k->id) : NULL;
		if (!s || s->fetch.running || s->save.running || xs_fresh(ns, s) ||
		    ((q = strmap_get(cs_of(d)->by_id, k->id)) && q->mem_dirty))
			continue;
		flight_begin(&s->fetch);
		v[n].s = s;
		memcpy(v[n].app, s->app, sizeof(v[n].app));
		n++;
	}
	if (!n) {
		free(v);
		return;
	}
	struct pf_job j = { .qc = ns->o.client, .v = v };
	int64_t started = ns_now(ns);
	pthread_mutex_unlock(&ns->lock);
	par_run(n, SCR_PARALLEL, pf_one, &j);
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < n; i++) {
		flight_end(&v[i].s->fetch, v[i].rc, &ns->cv);
		if (v[i].rc)
			continue;
		ns->stats.gets += 2;
		xs_apply(ns, v[i].s, &v[i].ver, v[i].text, v[i].len, started);
	}
	free(v);
}

/* ---- the tree ---- */

/* "NAME.json" -> "NAME.qvs" into out; false when not an app file's name. */
bool qvs_name(const char *json_name, char *out, size_t n)
{
	return names_swap_ext(json_name, ".json", ".qvs", out, n);
}

struct node *qvs_node_new(struct ns *ns, struct node *d, const char *name, const char *app)
{
	struct xscript *s = xs_get(ns, app);
	struct node *n = s ? node_new_of(ns, d, name, scr_kind(ns), false) : NULL;
	if (!n)
		return NULL;
	n->xk = X_QVS;
	n->id = strdup(app);
	if (!n->id || strmap_put(cs_of(d)->by_id, app, n) < 0) {
		node_detach(ns, n);
		return NULL;
	}
	if (s->ver.mtime_ms)
		n->mtime_ms = s->ver.mtime_ms;
	xs_note_node(s, n);
	return n;
}

void scr_add_dir(struct ns *ns, struct node *parent)
{
	struct node *apps = node_kid(parent, "apps");
	if (!scr_state(ns) || ns->o.no_scripts || !apps || apps->role != R_COLL ||
	    node_kid(parent, SCRIPTS_DIR))
		return;
	struct node *d = node_new_of(ns, parent, SCRIPTS_DIR, scr_kind(ns), true);
	if (!d)
		return;
	d->pinned = true;
	d->xk = X_SCRDIR;
	if (node_listing_init(d, apps, true))
		d->gone = true;
	struct node *h = node_new_of(ns, NULL, HISTORY_DIR, scr_kind(ns), true);
	if (h) {
		h->pinned = h->hidden = true;
		h->xk = X_HISTROOT;
		if (node_listing_init(h, d, true) || node_attach(ns, d, h, HISTORY_DIR) < 0)
			h->gone = true;
	}
}

/* The app whose script `name` names in scripts/ directory d, or NULL. */
const char *scr_app_for_name(struct node *d, const char *name)
{
	struct node *apps = cs_of(d)->coll_root;
	char q[NAMES_MAX + 8], id[SCRIPTS_ID_MAX + 1];
	for (size_t i = 0; apps && i < apps->nkids; i++) {
		struct node *k = apps->kidv[i];
		if (k->role == R_FILE && !k->gone && k->id && qvs_name(k->name, q, sizeof(q)) &&
		    !strcmp(q, name))
			return k->id;
	}
	if (apps && names_parse_id(name, ".qvs", id, sizeof(id)) > 0) {
		struct node *k = strmap_get(cs_of(apps)->by_id, id);
		if (k && !k->gone && k->role == R_FILE)
			return k->id;
	}
	return NULL;
}

/* Makes d's nodes follow its apps/ listing (the lock may be dropped):
 * renamed with their app, removed with it.  A script gets a node only when
 * looked up (scr_lookup_lazy): a find of the tree makes none. */
int scr_sync(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct node *apps = cs_of(d)->coll_root;
	int rc = coll_listed(ns, apps, err, errn);
	if (rc || (cs_of(d)->listed_at && cs_of(d)->listed_at == cs_of(apps)->listed_at))
		return rc;
	char q[NAMES_MAX + 8];
	for (size_t i = d->nkids; i > 0; i--) {
		struct node *n = d->kidv[i - 1], *k, *o;
		if (!node_is(ns, n, scr_kind(ns)) || n->xk != X_QVS)
			continue;
		k = n->id ? strmap_get(cs_of(apps)->by_id, n->id) : NULL;
		if (!k || k->role != R_FILE || k->gone || !qvs_name(k->name, q, sizeof(q))) {
			if (strmap_get(cs_of(d)->by_id, n->id) == n)
				strmap_del(cs_of(d)->by_id, n->id);
			node_detach(ns, n);
			continue;
		}
		if (!strcmp(n->name, q))
			continue;
		if ((o = node_kid(d, q)) && o->role == R_SCRATCH)
			mut_mem_node_remove(ns, o);
		else if (o)
			continue; /* two apps whose names collide here: the first keeps it */
		node_detach(ns, n);
		if (node_attach(ns, d, n, q) < 0)
			strmap_del(cs_of(d)->by_id, n->id);
	}
	for (size_t i = 0; i < apps->nkids; i++) { /* a tool's file where a script now is */
		struct node *k = apps->kidv[i], *n, *o;
		if (k->role == R_FILE && !k->gone && k->id && qvs_name(k->name, q, sizeof(q)) &&
		    (!(n = strmap_get(cs_of(d)->by_id, k->id)) || n->gone) &&
		    (o = node_kid(d, q)) && o->role == R_SCRATCH)
			mut_mem_node_remove(ns, o);
	}
	node_set_listed(d, cs_of(apps)->listed_at);
	return 0;
}

/* The app file of apps/ whose script d lists as `name` without a node yet
 * (NULL: none, or removed through the mount and still hidden). */
static struct node *lazy_app(struct ns *ns, struct node *d, struct node *k, char *q, size_t qn)
{
	struct node *n;
	struct xscript *s;
	if (!k || k->role != R_FILE || k->gone || !k->id || k->hidden || !qvs_name(k->name, q, qn) ||
	    ((n = strmap_get(cs_of(d)->by_id, k->id)) && !n->gone) || node_kid(d, q))
		return NULL;
	s = scr_of(ns, k);
	return s && s->hidden_until > ns_now(ns) ? NULL : k;
}

size_t scr_list_lazy(struct ns *ns, struct node *d, struct ns_dir *dir)
{
	struct node *apps = cs_of(d)->coll_root;
	char q[NAMES_MAX + 8];
	if (!dir)
		return apps->nkids;
	for (size_t i = 0; i < apps->nkids; i++)
		if (lazy_app(ns, d, apps->kidv[i], q, sizeof(q)))
			ns_dir_add_lazy(ns, dir, q);
	return 0;
}

struct node *scr_lookup_lazy(struct ns *ns, struct node *d, const char *name)
{
	char j[NAMES_MAX + 8], q[NAMES_MAX + 8];
	if (!names_swap_ext(name, ".qvs", ".json", j, sizeof(j)))
		return NULL;
	struct node *k = lazy_app(ns, d, node_kid(cs_of(d)->coll_root, j), q, sizeof(q));
	return k && !strcmp(q, name) ? qvs_node_new(ns, d, q, k->id) : NULL;
}

int scr_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	switch (d->xk) {
	case X_SCRDIR:
		return scr_sync(ns, d, err, errn); /* a walk's lookups fetch ahead: scr_prefetch */
	default: /* (.history/: ns_scripts_hist.c, reached from ns_ext.c) */
		return 0;
	}
}

int scr_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct xscript *s;
	switch (n->xk) {
	case X_QVS:
		s = scr_of(ns, n);
		if (!s || n->mem_dirty)
			return 0; /* recreated: its content is being written */
		return scr_fetch(ns, s, err, errn);
	default:
		return 0;
	}
}

bool scr_attrs_need_fetch(struct ns *ns, struct node *n)
{
	struct xscript *s = n->xk == X_QVS ? scr_of(ns, n) : NULL;
	return s && !n->mem_dirty && !xs_fresh(ns, s);
}

void scr_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	struct xscript *s = n->xk == X_QVS ? scr_of(ns, n) : NULL;
	if (!s)
		return;
	if (n->mem_dirty) { /* recreated, not saved yet: the writer's size */
		a->size = n->reported_size = body_of(n)->wsize;
		a->transient = true;
		return;
	}
	a->size = n->reported_size = s->len;
	if (s->ver.mtime_ms)
		a->mtime_ms = n->mtime_ms = s->ver.mtime_ms;
}

/* ---- open, read, write ---- */

int scr_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	     size_t errn)
{
	struct xscript *s = scr_of(ns, n);
	uint64_t reported = n->reported_size;
	int rc;
	if (n->xk != X_QVS)
		return -EISDIR;
	if (!s)
		return -ENOENT;
	bool recreated = n->mem_dirty;
	if ((!recreated || !s->ver.id[0]) && (rc = scr_fetch(ns, s, err, errn)))
		return rc;
	if (n->gone)
		return -ENOENT;
	if (!f->writable) {
		if (!(f->blob = cache_blob_new(s->text ? s->text : "", s->len)))
			return -ENOMEM;
		*size_changed = s->len != reported;
		return 0;
	}
	struct xqvs_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->h.kind = X_QVS;
	memcpy(h->base, s->ver.id, sizeof(h->base));
	if (recreated || (f->flags & O_TRUNC)) {
		h->written = recreated; /* a new file is saved even when left empty */
	} else if (s->len) {
		if (!(h->buf = malloc(s->len))) {
			free(h);
			return -ENOMEM;
		}
		memcpy(h->buf, s->text, s->len);
		h->len = h->cap = s->len;
	}
	f->ext = h;
	*size_changed = true;
	return 0;
}

ssize_t scr_read(struct ns_file *f, char *buf, size_t size, off_t off)
{
	const struct xqvs_handle *h = f->ext;
	ssize_t rc = 0;
	pthread_mutex_lock(&f->ns->lock);
	if ((size_t)off < h->len) {
		if (size > h->len - (size_t)off)
			size = h->len - (size_t)off;
		memcpy(buf, h->buf + off, size);
		rc = (ssize_t)size;
	}
	pthread_mutex_unlock(&f->ns->lock);
	return rc;
}

static int h_reserve(struct xqvs_handle *h, size_t len)
{
	if (len > SCRIPTS_TEXT_MAX)
		return -EFBIG;
	if (len <= h->cap)
		return 0;
	size_t cap = h->cap ? h->cap : 4096;
	while (cap < len)
		cap *= 2;
	char *b = realloc(h->buf, cap);
	if (!b)
		return -ENOMEM;
	h->buf = b;
	h->cap = cap;
	return 0;
}

/* Where the writer's size is kept for the attributes (the node's wsize;
 * its body is made now): 0 with *out (NULL: no such node), or -ENOMEM. */
static int h_size_at(struct ns *ns, struct ns_file *f, struct node_body **out)
{
	struct node *n = ns_node(ns, f->ino);
	*out = n ? node_body(n) : NULL;
	return n && !*out ? -ENOMEM : 0;
}

ssize_t scr_write(struct ns_file *f, const char *data, size_t size, off_t off)
{
	struct xqvs_handle *h = f->ext;
	ssize_t rc;
	pthread_mutex_lock(&f->ns->lock);
	if (f->append)
		off = (off_t)h->len;
	size_t end = (size_t)off + size;
	struct node_body *nb;
	if (!(rc = h_size_at(f->ns, f, &nb)) && !(rc = h_reserve(h, end))) {
		if ((size_t)off > h->len)
			memset(h->buf + h->len, 0, (size_t)off - h->len);
		memcpy(h->buf + off, data, size);
		if (end > h->len)
			h->len = end;
		h->written = true;
		if (nb)
			nb->wsize = h->len;
		rc = (ssize_t)size;
	}
	pthread_mutex_unlock(&f->ns->lock);
	return rc;
}

int scr_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	struct xqvs_handle *h = f && f->ext && f->writable ? f->ext : NULL;
	struct xscript *s = scr_of(ns, n);
	if (n->xk != X_QVS)
		return -EACCES;
	if (!h) /* truncate(2) without a handle: only to the size it has */
		return s && s->ver.id[0] && size == s->len ? 0 : -EPERM;
	struct node_body *nb;
	int rc = h_size_at(ns, f, &nb);
	if (!rc)
		rc = h_reserve(h, (size_t)size);
	if (rc)
		return rc;
	if (size > h->len)
		memset(h->buf + h->len, 0, (size_t)size - h->len);
	h->len = (size_t)size;
	h->written = true;
	if (nb)
		nb->wsize = h->len;
	return 0;
}

void scr_release(struct ns_file *f)
{
	struct xqvs_handle *h = f->ext;
	free(h->buf);
	free(h);
}

