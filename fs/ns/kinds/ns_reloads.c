/*
 * ns_reloads.c - reloads/ (docs/SEMANTICS.md "Reloads"):
 *
 *   reloads/new             write an app (id, file name, or a JSON body
 *                           {appId, partial, variables}): its close (or a
 *                           read on the same descriptor) starts a reload; a
 *                           read then returns the reload's id, and
 *                           user.qlik.id of `new` is the last one started
 *   reloads/<id>/reload.json  the Reload without its log (status, times, error)
 *   reloads/<id>/log        the log so far (grows while it runs)
 *   reloads/<id>/wait       a read blocks until the reload ends and returns
 *                           its final status ("SUCCEEDED\n"...), at most
 *                           reload_wait_ms (then ETIMEDOUT)
 *   reloads/<id>/cancel     a write cancels it; so does rmdir of <id>/
 *   reloads/by-app/         every app's reloads (ns_reloads_app.c)
 *
 * Where things come from (actions/reloads.c): the entries are the reloads
 * this mount started, those remembered in the state directory (started
 * through it by earlier mounts: actions/reloads_reg.c, read at the first
 * use of reloads/), plus one page (the newest RL_LIST_MAX) of the
 * tenant-wide listing GET /api/v1/reloads, fetched once per TTL (a caller
 * that is not a tenant admin is refused that listing: then it is not asked
 * again).  A reload shown in reloads/ and in by-app/ is one xreload: its
 * two directories are views of the same state.  A reload's files come from one GET
 * /api/v1/reloads/{id}, made at most once per RL_POLL_MS while the reload is
 * active, however many readers (single flight, util/flight.h: poll; waiters
 * sleep on ns->cv, bounded by their deadline, and share its outcome, a
 * failure too), and never again once it has ended.  The tenant-wide listing
 * is one flight too (list).
 *
 * Invariants: an xreload is never freed while the namespace lives; its
 * dir (reloads/) is never detached, its bdir (by-app/) is NULL once
 * detached.  Every
 * wait is bounded (ns_deadline, or reload_wait_ms for `wait`).
 * Locks: ns->lock held on entry except in rl_read, rl_write, rl_release;
 * dropped around every request.
 */
#include "ns/kinds/ns_reloads.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/reloads.h"
#include "actions/reloads_reg.h"
#include "client/errmap.h"
#include "ns/core/ns_mut.h"
#include "util/clock.h"
#include "util/jsonfmt.h"
#include "util/names.h"
#include "util/qtime.h"

#define RL_POLL_MS 1000          /* at most one GET per reload per second while active */
#define RL_ATTR_TTL_MS 1000      /* the kernel's copy of an active reload's attributes */
#define RL_LIST_MAX 100          /* reloads of the tenant-wide listing */
#define RL_WAIT_DEFAULT_MS 3600000
#define RL_NEW_MAX 65536
/* Reads of wait blocked at once, mount-wide: each holds one of the FUSE
 * threads (16 by default), so the rest must stay free for other calls. */
#define RL_WAITERS_MAX 8

struct xreload {
	char id[RELOADS_ID_MAX + 1];
	char status[24];
	char *json, *log; /* reload.json (pretty, without the log) and the log */
	size_t jlen, loglen;
	int64_t at;       /* ns_now() of the last GET; 0: never */
	int64_t created_ms;
	struct flight poll; /* the GET in flight */
	struct node *dir, *jnode, *lnode;    /* reloads/<id>/ (NULL: not shown there) */
	struct node *bdir, *bjnode, *blnode; /* reloads/by-app/<app>/<id>/, or NULL */
};

struct xreloads {
	struct strmap *by_id;
	struct xreload **all;
	size_t n, cap;
	int64_t list_at;
	struct flight list; /* the listing in flight */
	bool list_denied;
	bool reg_read; /* the remembered reloads were read (once per mount) */
	unsigned waiting; /* reads of wait blocked now (RL_WAITERS_MAX) */
	char last[RELOADS_ID_MAX + 1]; /* the last reload started through `new` */
	struct node *dir;
};

/* reloads/new, wait and cancel handles */
struct xrl_handle {
	struct xhandle h;
	char *buf; /* new: the request as written; wait: the answer */
	size_t len, cap, pos;
	bool sent, answered;
	int rc;
};

static struct xreloads *RL(struct ns *ns)
{
	return ns_kstate(ns, rl_kind(ns));
}

struct node *rl_setup(struct ns *ns, struct node *root)
{
	struct xreloads *r = calloc(1, sizeof(*r));
	if (!r || !(r->by_id = strmap_new())) {
		free(r);
		return NULL;
	}
	if (RL(ns))
		return NULL;
	struct node *d = node_new_of(ns, root, RELOADS_DIR, rl_kind(ns), true);
	struct node *nw = d ? node_new_of(ns, d, "new", rl_kind(ns), false) : NULL;
	if (!d || !nw) {
		strmap_free(r->by_id);
		free(r);
		return NULL;
	}
	d->pinned = nw->pinned = true;
	d->xk = X_RELOADS;
	nw->xk = X_RLNEW;
	r->dir = d;
	ns_kstate_set(ns, rl_kind(ns), r);
	return d;
}

void rl_free(struct ns *ns)
{
	struct xreloads *r = RL(ns);
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->all[i]->json);
		free(r->all[i]->log);
		free(r->all[i]);
	}
	free(r->all);
	strmap_free(r->by_id);
	free(r);
	ns_kstate_set(ns, rl_kind(ns), NULL);
}

void rl_drop_caches(struct ns *ns)
{
	struct xreloads *r = RL(ns);
	if (!r)
		return;
	r->list_at = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!reloads_final(r->all[i]->status))
			r->all[i]->at = 0;
}

static struct xreload *rl_of(struct ns *ns, const struct node *n)
{
	struct xreloads *r = RL(ns);
	bool mine = n->xk >= X_RELOAD && n->xk <= X_RLCANCEL; /* (not by-app/ nor an app's) */
	return r && mine && n->id ? strmap_get(r->by_id, n->id) : NULL;
}

static struct node *kid(struct ns *ns, struct node *d, const char *name, enum rlkind k,
			const char *id)
{
	struct node *n = node_new_of(ns, d, name, rl_kind(ns), false);
	if (n) {
		n->pinned = true;
		n->xk = k;
		n->id = strdup(id);
		n->mtime_ms = n->ctime_ms = d->ctime_ms;
	}
	return n;
}

/* A reload's directory in d with its four files. */
static struct node *dir_new(struct ns *ns, struct node *d, const char *id, int64_t created_ms,
			    struct node **jn, struct node **ln)
{
	struct node *n = node_new_of(ns, d, id, rl_kind(ns), true);
	if (!n)
		return NULL;
	n->pinned = true;
	n->xk = X_RELOAD;
	n->id = strdup(id);
	n->mtime_ms = n->ctime_ms = created_ms ? created_ms : ns_wall_ms();
	*jn = kid(ns, n, "reload.json", X_RLJSON, id);
	*ln = kid(ns, n, "log", X_RLLOG, id);
	kid(ns, n, "wait", X_RLWAIT, id);
	kid(ns, n, "cancel", X_RLCANCEL, id);
	ns_inval_entry(ns, d, id); /* a negative entry the kernel may hold */
	return n;
}

struct xreload *rl_entry(struct ns *ns, const char *id)
{
	struct xreloads *r = RL(ns);
	struct xreload *x = r && id ? strmap_get(r->by_id, id) : NULL;
	if (x || !r || !id || !*id || strlen(id) > RELOADS_ID_MAX || strchr(id, '/') ||
	    names_is_scratch(id) || !strcmp(id, "new") || !strcmp(id, RL_BYAPP) || id[0] == '.')
		return x;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct xreload **v = realloc(r->all, cap * sizeof(*v));
		if (!v)
			return NULL;
		r->all = v;
		r->cap = cap;
	}
	if (!(x = calloc(1, sizeof(*x))))
		return NULL;
	snprintf(x->id, sizeof(x->id), "%s", id);
	if (strmap_put(r->by_id, x->id, x) < 0) {
		free(x);
		return NULL;
	}
	r->all[r->n++] = x;
	return x;
}

/* The reload id's entry, shown in reloads/ (made with its files when new),
 * or NULL. */
static struct xreload *rl_get(struct ns *ns, const char *id, int64_t created_ms)
{
	struct xreload *x = rl_entry(ns, id);
	if (x && !x->created_ms)
		x->created_ms = created_ms;
	if (x && !x->dir)
		x->dir = dir_new(ns, RL(ns)->dir, x->id, x->created_ms, &x->jnode, &x->lnode);
	return x && x->dir ? x : NULL;
}

struct node *rl_view(struct ns *ns, struct node *d, struct xreload *x, int64_t created_ms)
{
	struct node *n = node_kid(d, x->id);
	if (n && !n->gone && n->xk == X_RELOAD)
		return n;
	if (!x->created_ms)
		x->created_ms = created_ms;
	struct node *jn = NULL, *ln = NULL;
	if (!(n = dir_new(ns, d, x->id, x->created_ms, &jn, &ln)))
		return NULL;
	x->bdir = n;
	x->bjnode = jn;
	x->blnode = ln;
	return n;
}

void rl_view_gone(struct ns *ns, struct node *n)
{
	struct xreload *x = rl_of(ns, n);
	if (x && x->bdir == n)
		x->bdir = x->bjnode = x->blnode = NULL;
}

int64_t rl_time_of(const cJSON *o, const char *k)
{
	int64_t ms = 0;
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s && !qtime_parse_ms(s, &ms) ? ms : 0;
}

/* A file of the reload changed (at mt, when known): the kernel is told. */
static void touched(struct ns *ns, struct node *n, int64_t mt)
{
	if (!n)
		return;
	n->mtime_ms = mt ? mt : n->mtime_ms;
	if (n->reported)
		ns_inval_inode(ns, n);
}

/* Takes what a Reload object says (with its log when full). */
static void rl_apply(struct ns *ns, struct xreload *x, cJSON *obj, bool full)
{
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "status"));
	cJSON *log = cJSON_DetachItemFromObjectCaseSensitive(obj, "log");
	size_t jlen = 0;
	char *json = jsonfmt_pretty(obj, &jlen);
	int64_t end = rl_time_of(obj, "endTime"), start = rl_time_of(obj, "startTime");
	int64_t mt = end ? end : start ? start : rl_time_of(obj, "creationTime");
	snprintf(x->status, sizeof(x->status), "%s", st ? st : "UNKNOWN");
	if (json && (!x->json || x->jlen != jlen || memcmp(x->json, json, jlen))) {
		free(x->json);
		x->json = json;
		x->jlen = jlen;
		json = NULL;
		touched(ns, x->jnode, mt);
		touched(ns, x->bjnode, mt);
	}
	free(json);
	const char *lt = cJSON_GetStringValue(log);
	if (full && lt && (!x->log || strlen(lt) != x->loglen || strcmp(lt, x->log))) {
		char *l = strdup(lt);
		if (l) {
			free(x->log);
			x->log = l;
			x->loglen = strlen(l);
			touched(ns, x->lnode, mt);
			touched(ns, x->blnode, mt);
		}
	}
	cJSON_Delete(log);
}

void rl_take_listed(struct ns *ns, struct xreload *x, cJSON *e)
{
	if (!reloads_final(x->status))
		rl_apply(ns, x, e, false); /* no log in a listing: its GET brings it */
}

static bool rl_fresh_now(struct ns *ns, const struct xreload *x)
{
	if (!x->at)
		return false;
	if (reloads_final(x->status))
		return true; /* an ended reload never changes */
	return ns_now(ns) - x->at < RL_POLL_MS;
}

/* Makes x fresh: one GET when stale (lock dropped). */
static int rl_fetch(struct ns *ns, struct xreload *x, int64_t deadline, char *err, size_t errn)
{
	int rc = ns_flight_join(ns, &x->poll, deadline, "the same reload's state", err, errn);
	if (rc || rl_fresh_now(ns, x))
		return rc;
	char id[sizeof(x->id)];
	memcpy(id, x->id, sizeof(id));
	int64_t started = ns_now(ns);
	flight_begin(&x->poll);
	pthread_mutex_unlock(&ns->lock);
	cJSON *obj = NULL;
	rc = reloads_get(ns->o.client, id, &obj, err, errn);
	pthread_mutex_lock(&ns->lock);
	flight_end(&x->poll, rc, &ns->cv);
	if (rc)
		return rc;
	ns->stats.gets++;
	rl_apply(ns, x, obj, true);
	cJSON_Delete(obj);
	x->at = started ? started : 1;
	return 0;
}

/* The reloads started through this state directory (reloads_reg.h): shown
 * in reloads/ from the first use of it on.  A registry that cannot be read
 * leaves them out; why is reloads/'s user.qlik.error. */
static void rl_remembered(struct ns *ns, struct xreloads *r)
{
	struct reload_mark *v = NULL;
	size_t n = 0;
	char err[512] = "";
	if (r->reg_read || !ns->o.state_dir)
		return;
	r->reg_read = true;
	int rc = reloads_reg_load(ns->o.state_dir, ns_wall_ms(), &v, &n);
	if (rc)
		snprintf(err, sizeof(err), "%s/%s: %s", ns->o.state_dir, RELOADS_REG_FILE,
			 rc == -EINVAL ? "not a registry of reloads (left untouched)"
				       : strerror(-rc));
	mut_node_set_errmsg(r->dir, rc ? err : NULL);
	for (size_t i = 0; i < n; i++)
		rl_get(ns, v[i].id, v[i].created_ms);
	free(v);
}

/* reloads/: the remembered reloads, then the tenant-wide listing, once per
 * TTL (refused for a caller who is not a tenant admin: then only this
 * mount's reloads and the remembered ones). */
static int rl_list(struct ns *ns, char *err, size_t errn)
{
	struct xreloads *r = RL(ns);
	rl_remembered(ns, r);
	int rc = ns_flight_join(ns, &r->list, ns_deadline(ns), "the listing of reloads", err, errn);
	if (rc && !r->list_denied)
		return rc;
	if (r->list_denied || ns_fresh(ns, r->list_at))
		return 0;
	int64_t started = ns_now(ns);
	flight_begin(&r->list);
	pthread_mutex_unlock(&ns->lock);
	cJSON *arr = NULL, *e;
	rc = reloads_list(ns->o.client, NULL, RL_LIST_MAX, &arr, err, errn);
	pthread_mutex_lock(&ns->lock);
	flight_end(&r->list, rc, &ns->cv);
	if (rc == -EINVAL || rc == -EACCES) {
		r->list_denied = true; /* appId is required for this caller */
		return 0;
	}
	if (rc)
		return rc;
	ns->stats.listings++;
	cJSON_ArrayForEach(e, arr)
	{
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id"));
		struct xreload *x = id ? rl_get(ns, id, rl_time_of(e, "creationTime")) : NULL;
		if (x)
			rl_take_listed(ns, x, e);
	}
	cJSON_Delete(arr);
	r->list_at = started ? started : 1;
	return 0;
}

int rl_listed_own(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct xreload *x;
	switch (d->xk) {
	case X_RELOADS:
		return rl_list(ns, err, errn);
	case X_RELOAD:
		/* reload.json's and log's sizes go out with the listing */
		x = rl_of(ns, d);
		return x ? rl_fetch(ns, x, ns_deadline(ns), err, errn) : 0;
	default:
		return 0;
	}
}

int rl_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct xreload *x = rl_of(ns, n);
	if (x && (n->xk == X_RLJSON || n->xk == X_RLLOG))
		return rl_fetch(ns, x, ns_deadline(ns), err, errn);
	return 0;
}

void rl_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	struct xreload *x = rl_of(ns, n);
	if (n->xk == X_RLNEW || n->xk == X_RLWAIT || n->xk == X_RLCANCEL) {
		a->size = n->reported_size = 0; /* control files: what a read returns depends */
		return;
	}
	if (!x)
		return;
	if (!reloads_final(x->status))
		a->attr_ttl_ms = RL_ATTR_TTL_MS;
	if (n->xk == X_RLJSON)
		a->size = n->reported_size = x->jlen;
	else if (n->xk == X_RLLOG)
		a->size = n->reported_size = x->loglen;
}

int rl_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	    size_t errn)
{
	struct xreload *x = rl_of(ns, n);
	int rc;
	if (n->dir)
		return -EISDIR;
	if (n->xk == X_RLJSON || n->xk == X_RLLOG) {
		if (!x)
			return -ENOENT;
		if ((rc = rl_fetch(ns, x, ns_deadline(ns), err, errn)))
			return rc;
		bool j = n->xk == X_RLJSON;
		const char *data = j ? x->json : x->log;
		size_t len = j ? x->jlen : x->loglen;
		if (!(f->blob = cache_blob_new(data ? data : "", len)))
			return -ENOMEM;
		*size_changed = len != n->reported_size;
		return 0;
	}
	struct xrl_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->h.kind = n->xk;
	f->ext = h;
	*size_changed = true;
	return 0;
}

/* ---- new: starting a reload ---- */

/* The app id that `tok` names: an id, or an app's entry name in apps/
 * (NAME.json, "NAME (id).json", NAME.qvs, with or without a path). */
static int app_of(struct ns *ns, const char *tok, char *id, size_t n)
{
	const char *base = strrchr(tok, '/') ? strrchr(tok, '/') + 1 : tok;
	if (names_parse_id(base, ".json", id, n) > 0 || names_parse_id(base, ".qvs", id, n) > 0)
		return 0;
	struct node *root = ns_node(ns, NS_ROOT_INO);
	struct node *apps = root ? node_kid(root, "apps") : NULL;
	char want[NAMES_MAX + 8];
	size_t l = strlen(base);
	if (!names_swap_ext(base, ".qvs", ".json", want, sizeof(want))) {
		if (l < sizeof(want)) /* (a script's name, else the app's as given) */
			memcpy(want, base, l + 1);
		else
			want[0] = 0;
	}
	struct node *k = apps ? node_kid(apps, want) : NULL;
	if (!k && apps && strlen(want) + 6 < sizeof(want)) {
		strcat(want, ".json");
		k = node_kid(apps, want);
	}
	if (k && k->id && k->role == R_FILE) {
		snprintf(id, n, "%s", k->id);
		return 0;
	}
	snprintf(id, n, "%s", base); /* an app id: the tenant says whether it exists */
	return 0;
}

/* The body of POST /reloads for what was written (owned), or NULL. */
static char *request_body(struct ns *ns, const char *buf, size_t len, char *err, size_t errn)
{
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	while (len && isspace((unsigned char)*buf))
		buf++, len--;
	if (len && buf[0] == '{')
		return strndup(buf, len);
	char tok[NAMES_MAX + 64], id[RELOADS_ID_MAX + 1];
	if (!len || len >= sizeof(tok) || memchr(buf, '\n', len)) {
		errmsg_set(err, errn, "write one app (its id, or its file name in apps/) or a JSON "
				      "body {\"appId\", \"partial\", \"variables\"} to reloads/new");
		return NULL;
	}
	memcpy(tok, buf, len);
	tok[len] = 0;
	app_of(ns, tok, id, sizeof(id));
	cJSON *o = cJSON_CreateObject();
	char *body = o && cJSON_AddStringToObject(o, "appId", id) ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return body;
}

/* Remembers a reload just started in the state directory, for later mounts
 * (lock not held).  A failure is reported (logged, .errors): the reload
 * runs anyway. */
static void remember(struct ns *ns, const cJSON *obj, uint64_t ino)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "id"));
	const char *app = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "appId"));
	struct reload_mark m = { .created_ms = rl_time_of(obj, "creationTime") };
	char err[600] = "", why[512] = "";
	if (!ns->o.state_dir || !id || strlen(id) > RELOADS_ID_MAX ||
	    (app && strlen(app) > RELOADS_ID_MAX))
		return;
	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(m.app, sizeof(m.app), "%s", app ? app : "");
	int64_t now = ns_wall_ms();
	if (!m.created_ms)
		m.created_ms = now;
	int rc = reloads_reg_add(ns->o.state_dir, &m, now, why, sizeof(why));
	if (rc) {
		snprintf(err, sizeof(err),
			 "reload %s started, but a later mount will not show it: %s", id,
			 why[0] ? why : strerror(-rc));
		ns->hooks.report(ns, "reload", ino, NULL, rc, err);
	}
}

/* Sends what h holds (once): the new reload's id becomes its answer. */
static int rl_start(struct ns *ns, struct node *n, struct xrl_handle *h, char *err, size_t errn)
{
	if (h->sent)
		return h->rc;
	h->sent = true;
	char *body = request_body(ns, h->buf ? h->buf : "", h->len, err, errn);
	if (!body) {
		mut_node_set_errmsg(n, err);
		return h->rc = -EINVAL;
	}
	uint64_t ino = n->ino;
	pthread_mutex_unlock(&ns->lock);
	cJSON *obj = NULL;
	int rc = reloads_create(ns->o.client, body, strlen(body), &obj, err, errn);
	if (!rc)
		remember(ns, obj, ino);
	pthread_mutex_lock(&ns->lock);
	free(body);
	const char *id = rc ? NULL : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "id"));
	struct xreload *x = id ? rl_get(ns, id, rl_time_of(obj, "creationTime")) : NULL;
	if (!rc && x) {
		rl_apply(ns, x, obj, false);
		snprintf(RL(ns)->last, sizeof(RL(ns)->last), "%s", id);
		free(h->buf);
		h->buf = NULL;
		h->len = h->cap = 0;
		if (asprintf(&h->buf, "%s\n", id) < 0)
			h->buf = NULL;
		h->len = h->buf ? strlen(h->buf) : 0;
		h->answered = true;
		if (n->reported)
			ns_inval_inode(ns, n);
	} else if (!rc) {
		rc = -ENOMEM;
	}
	cJSON_Delete(obj);
	mut_node_set_errmsg(n, rc ? err : NULL);
	return h->rc = rc;
}

/* ---- wait ---- */

static int rl_wait(struct ns *ns, struct xreload *x, struct xrl_handle *h, char *err, size_t errn)
{
	struct xreloads *r = RL(ns);
	long bound = ns->o.reload_wait_ms > 0 ? ns->o.reload_wait_ms : RL_WAIT_DEFAULT_MS;
	const int64_t end = clock_mono_ms() + bound;
	int rc = 0;
	if (!reloads_final(x->status) && r->waiting >= RL_WAITERS_MAX) {
		errmsg_set(err, errn, "%d reads of wait files are blocked already (the rest of the "
				      "mount needs its threads): try again later", RL_WAITERS_MAX);
		return -EBUSY;
	}
	r->waiting++;
	for (;;) {
		/* one GET per RL_POLL_MS at most, shared by every waiter */
		if ((rc = rl_fetch(ns, x, end, err, errn)) || reloads_final(x->status))
			break;
		int64_t now = clock_mono_ms();
		if (now >= end) {
			errmsg_set(err, errn, "reload %s is still %s after %ld s (-o reload_wait)",
				   x->id, x->status, bound / 1000);
			rc = -ETIMEDOUT;
			break;
		}
		int64_t next = now + RL_POLL_MS - (ns_now(ns) - x->at);
		if (next <= now)
			next = now + 10;
		clock_cond_wait_until(&ns->cv, &ns->lock, next < end ? next : end);
	}
	r->waiting--;
	if (rc)
		return rc;
	if (asprintf(&h->buf, "%s\n", x->status) < 0)
		return -ENOMEM;
	h->len = strlen(h->buf);
	h->answered = true;
	return 0;
}

ssize_t rl_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err, size_t errn)
{
	struct ns *ns = f->ns;
	struct xrl_handle *h = f->ext;
	ssize_t rc = 0;
	(void)off; /* streams: a read continues where the last ended */
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, f->ino);
	if (!h->answered && h->h.kind == X_RLNEW)
		rc = h->len ? rl_start(ns, n, h, err, errn) : 0;
	else if (!h->answered && h->h.kind == X_RLWAIT)
		rc = rl_of(ns, n) ? rl_wait(ns, rl_of(ns, n), h, err, errn) : -ENOENT;
	if (!rc && h->answered && h->pos < h->len) {
		size_t k = h->len - h->pos < size ? h->len - h->pos : size;
		memcpy(buf, h->buf + h->pos, k);
		h->pos += k;
		rc = (ssize_t)k;
	}
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

ssize_t rl_write(struct ns_file *f, const char *data, size_t size, off_t off)
{
	struct xrl_handle *h = f->ext;
	ssize_t rc = (ssize_t)size;
	(void)off; /* a stream: writes append */
	if (h->h.kind == X_RLCANCEL) {
		h->len += size; /* only that something was written counts */
		return rc;
	}
	if (h->h.kind != X_RLNEW)
		return -EBADF;
	pthread_mutex_lock(&f->ns->lock);
	if (h->sent) {
		rc = -EPERM; /* one reload per open */
	} else if (h->len + size > RL_NEW_MAX) {
		rc = -EFBIG;
	} else {
		if (h->len + size > h->cap) {
			size_t cap = h->cap ? h->cap * 2 : 256;
			while (cap < h->len + size)
				cap *= 2;
			char *b = realloc(h->buf, cap);
			if (!b) {
				pthread_mutex_unlock(&f->ns->lock);
				return -ENOMEM;
			}
			h->buf = b;
			h->cap = cap;
		}
		memcpy(h->buf + h->len, data, size);
		h->len += size;
	}
	pthread_mutex_unlock(&f->ns->lock);
	return rc;
}

void rl_release(struct ns_file *f)
{
	struct xrl_handle *h = f->ext;
	free(h->buf);
	free(h);
}

static int rl_cancel(struct ns *ns, struct xreload *x, char *err, size_t errn)
{
	char id[sizeof(x->id)];
	memcpy(id, x->id, sizeof(id));
	pthread_mutex_unlock(&ns->lock);
	int rc = reloads_cancel(ns->o.client, id, err, errn);
	pthread_mutex_lock(&ns->lock);
	if (rc == -EALREADY)
		rc = 0; /* it had ended: nothing to cancel */
	x->at = 0; /* its state moved */
	touched(ns, x->jnode, 0);
	touched(ns, x->bjnode, 0);
	return rc;
}

int rl_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	struct xrl_handle *h = f->ext;
	struct xreload *x;
	if (!h)
		return 0;
	if (h->h.kind == X_RLNEW && !h->sent && h->len)
		return rl_start(ns, n, h, err, errn);
	if (h->h.kind == X_RLCANCEL && h->len && !h->sent && (x = rl_of(ns, n))) {
		h->sent = true;
		return rl_cancel(ns, x, err, errn);
	}
	return 0;
}

int rl_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	if (n->xk == X_RLNEW) {
		errmsg_set(err, errn, "reloads/new cannot be removed");
		return -EPERM;
	}
	/* a reload's files go with it: accepted and nothing changes, so that
	 * rm -r of its directory reaches the rmdir that cancels it */
	ns_inval_entry(ns, d, n->name);
	return 0;
}

int rl_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	struct xreload *x = n->xk == X_RELOAD ? rl_of(ns, n) : NULL;
	if (!x) {
		errmsg_set(err, errn, "reloads/, reloads/by-app/ and an app's directory there "
				      "cannot be removed (rmdir of a reload's directory cancels it)");
		return -EPERM;
	}
	int rc = reloads_final(x->status) && x->at ? 0 : rl_cancel(ns, x, err, errn);
	ns_inval_entry(ns, d, n->name); /* the reload stays on the tenant, canceled */
	return rc;
}

const char *rl_xattr(struct ns *ns, const struct node *n, const char *name)
{
	struct xreloads *r = RL(ns);
	if (strcmp(name, "user.qlik.id"))
		return NULL;
	if (n->xk == X_RLNEW)
		return r && r->last[0] ? r->last : NULL;
	return n->xk == X_RELOADS || n->xk == X_RLBYAPP ? NULL : n->id; /* (an app's: the app) */
}
