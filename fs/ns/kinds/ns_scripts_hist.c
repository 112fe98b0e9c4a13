/*
 * ns_scripts_hist.c - scripts/.history/ (hidden: reached by name, so that
 * grep -r, cp -r and git over scripts/ do not read every version):
 *
 *   scripts/.history/NAME/              X_HISTDIR  one per script of scripts/
 *     <modifiedTime>.qvs                X_HISTVER  a version, read-only
 *
 * A directory's listing is the app's script history (one request, kept for
 * the mount's TTL) and the text of every version not read before (one
 * request each; versions never change, so each is fetched once per mount).
 * A version's file is named by its modifiedTime (RFC 3339, UTC, ms), its
 * mtime is that time, its user.qlik.message attribute is its version
 * message and user.qlik.id its scriptId.  cp of one over NAME.qvs restores
 * it as a new version.
 *
 * Locks: ns->lock held on entry; dropped around the requests.
 */
#include "ns/kinds/ns_scripts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/errmap.h"
#include "util/names.h"
#include "util/qtime.h"

#define HIST_MAX 1000 /* versions shown per app (the newest) */

struct xver {
	struct script_ver ver;
	char *msg;
	char *text;
	size_t len;
	struct node *node;
};

struct xhist {
	struct xver **v;
	size_t n, cap;
	int64_t at;
	struct flight fetch; /* the fetch in flight: its waiters share its outcome */
};

void scr_hist_free(struct xscript *s)
{
	struct xhist *h = s->hist;
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i]->msg);
		free(h->v[i]->text);
		free(h->v[i]);
	}
	free(h->v);
	free(h);
	s->hist = NULL;
}

void scr_hist_stale(struct xscript *s)
{
	s->hist->at = 0;
}

static struct xver *ver_find(const struct xhist *h, const char *id)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (!strcmp(h->v[i]->ver.id, id))
			return h->v[i];
	return NULL;
}

/* .history/: one directory per app of its scripts/ directory's apps/
 * (named like the app's entry without ".json"). */
static int root_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct node *sd = cs_of(d)->coll_root, *apps = cs_of(sd)->coll_root;
	int rc = scr_sync(ns, sd, err, errn);
	if (rc)
		return rc;
	unsigned gen = node_next_gen(d);
	for (size_t i = 0; i < apps->nkids; i++) {
		struct node *q = apps->kidv[i], *h;
		char name[NAMES_MAX + 1];
		if (q->role != R_FILE || q->gone || !q->id || q->hidden ||
		    !names_swap_ext(q->name, ".json", "", name, sizeof(name)))
			continue;
		h = strmap_get(cs_of(d)->by_id, q->id);
		if (h && !h->gone && strcmp(h->name, name)) {
			node_detach(ns, h);
			if (node_attach(ns, d, h, name) < 0)
				continue;
		} else if (!h || h->gone) {
			if (!(h = node_new_of(ns, d, name, scr_kind(ns), true)))
				continue;
			h->xk = X_HISTDIR;
			h->id = strdup(q->id);
			if (!h->id || strmap_put(cs_of(d)->by_id, q->id, h) < 0) {
				node_detach(ns, h);
				continue;
			}
		}
		h->mark = gen;
	}
	for (size_t i = d->nkids; i > 0; i--) {
		struct node *h = d->kidv[i - 1];
		if (h->xk == X_HISTDIR && h->mark != gen) {
			if (strmap_get(cs_of(d)->by_id, h->id) == h)
				strmap_del(cs_of(d)->by_id, h->id);
			node_detach(ns, h);
		}
	}
	return 0;
}

static int hist_add(struct xhist *h, const cJSON *e)
{
	struct script_ver v;
	if (!scripts_ver_parse(e, &v) || ver_find(h, v.id) || h->n >= HIST_MAX)
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;
		struct xver **nv = realloc(h->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		h->v = nv;
		h->cap = cap;
	}
	struct xver *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->ver = v;
	h->v[h->n++] = x;
	return 0;
}

/* The file name of version x: its time, or its id when the time is taken. */
static void ver_name(struct node *d, const struct xver *x, char *out, size_t n)
{
	char ts[SCRIPTS_ID_MAX + 8];
	if (x->ver.mtime_ms <= 0 || qtime_format_ms(x->ver.mtime_ms, ts, sizeof(ts)) < 0)
		memcpy(ts, x->ver.id, sizeof(x->ver.id));
	snprintf(out, n, "%s.qvs", ts);
	struct node *o = node_kid(d, out);
	if (o && o != x->node)
		snprintf(out, n, "%s (%s).qvs", ts, x->ver.id);
}

/* Fetches the history of s and the texts not read yet (lock dropped). */
static int hist_fetch(struct ns *ns, struct xscript *s, char *err, size_t errn)
{
	struct xhist *h = s->hist;
	int rc = ns_flight_join(ns, &h->fetch, ns_deadline(ns), "the same app's script history",
				err, errn);
	if (rc || ns_fresh(ns, h->at))
		return rc;
	char app[sizeof(s->app)];
	memcpy(app, s->app, sizeof(app));
	int64_t started = ns_now(ns);
	flight_begin(&h->fetch);
	pthread_mutex_unlock(&ns->lock);
	cJSON *arr = NULL, *e;
	rc = scripts_history(ns->o.client, app, &arr, err, errn);
	pthread_mutex_lock(&ns->lock);
	cJSON_ArrayForEach(e, arr)
		if (!rc)
			rc = hist_add(h, e);
	cJSON_Delete(arr);
	for (size_t i = 0; !rc && i < h->n; i++) {
		struct xver *x = h->v[i];
		char id[sizeof(x->ver.id)], *text = NULL, *msg = NULL;
		size_t len = 0;
		if (x->text)
			continue;
		memcpy(id, x->ver.id, sizeof(id));
		pthread_mutex_unlock(&ns->lock);
		rc = scripts_get(ns->o.client, app, id, &text, &len, &msg, err, errn);
		pthread_mutex_lock(&ns->lock);
		if (!rc) {
			x->text = text;
			x->len = len;
			x->msg = msg;
		}
	}
	flight_end(&h->fetch, rc, &ns->cv);
	if (!rc)
		h->at = started ? started : 1;
	return rc;
}

static int dir_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct xscript *s = xs_get(ns, d->id);
	if (!s)
		return -ENOMEM;
	if (!s->hist && !(s->hist = calloc(1, sizeof(*s->hist))))
		return -ENOMEM;
	int rc = hist_fetch(ns, s, err, errn);
	if (rc)
		return rc;
	char name[NAMES_MAX + 1];
	for (size_t i = 0; i < s->hist->n; i++) {
		struct xver *x = s->hist->v[i];
		if (!x->text || (x->node && !x->node->gone && x->node->parent == d))
			continue;
		ver_name(d, x, name, sizeof(name));
		struct node *n = node_new_of(ns, d, name, scr_kind(ns), false);
		if (!n)
			continue;
		n->xk = X_HISTVER;
		n->pinned = true;
		n->id = strdup(s->app);
		n->sname = strdup(x->ver.id);
		n->mtime_ms = n->ctime_ms = x->ver.mtime_ms ? x->ver.mtime_ms : n->mtime_ms;
		n->size = x->len;
		x->node = n;
	}
	return 0;
}

int scr_hist_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	return d->xk == X_HISTROOT ? root_listed(ns, d, err, errn) : dir_listed(ns, d, err, errn);
}

static struct xver *ver_of(struct ns *ns, const struct node *n)
{
	struct xscript *s = n->id && n->sname ? scr_of(ns, n) : NULL;
	return s ? ver_find(s->hist, n->sname) : NULL;
}

int scr_hist_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	(void)err, (void)errn;
	return ver_of(ns, n) ? 0 : -ENOENT; /* a version never changes */
}

void scr_hist_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	struct xver *x = ver_of(ns, n);
	if (x)
		a->size = n->reported_size = x->len;
}

int scr_hist_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		  char *err, size_t errn)
{
	struct xver *x = ver_of(ns, n);
	(void)err, (void)errn;
	if (!x || !x->text)
		return -ENOENT;
	if (!(f->blob = cache_blob_new(x->text, x->len)))
		return -ENOMEM;
	*size_changed = x->len != n->reported_size;
	return 0;
}

const char *scr_hist_xattr(struct ns *ns, const struct node *n, const char *name)
{
	struct xver *x = ver_of(ns, n);
	if (!x)
		return NULL;
	if (!strcmp(name, "user.qlik.message"))
		return x->msg;
	if (!strcmp(name, "user.qlik.id"))
		return x->ver.id;
	return NULL;
}
