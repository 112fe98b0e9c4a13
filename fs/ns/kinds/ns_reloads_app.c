/*
 * ns_reloads_app.c - reloads/by-app/ (docs/SEMANTICS.md "Reloads"): every
 * app's reloads, for any caller (the API lists a tenant's reloads to a
 * tenant admin only, but any caller may list an app's):
 *
 *   reloads/by-app/                  hidden: reached by name, so that a walk
 *                                    of the mount (find, tar, grep -r) never
 *                                    costs a request per app
 *     <app> (<app id>)/              one per app of apps/, named like its
 *                                    entry there without .json
 *       <reloadId>/                  the app's newest RLA_MAX reloads: the
 *                                    same files as reloads/<reloadId>/, from
 *                                    the same state (one GET shared)
 *
 * Costs: by-app/ follows the apps/ listing (no request of its own while
 * apps/ is fresh).  An app's directory is listed with GET
 * /api/v1/reloads?appId=<id>&limit=100, following links.next until RLA_MAX
 * reloads: ceil(n / 100) requests (at most 10), once per cache TTL.  Its
 * entries' attributes need nothing more (a reload's files are fetched when
 * that directory is listed or a file is read, as in reloads/).
 *
 * It also holds the two entry points that cover both (rl_add_root,
 * rl_listed), so that calls go one way: from here to ns_reloads.c.
 *
 * Invariants: an X_RLBYAPP node's coll_root is the apps collection and its
 * by_id maps app ids to X_RLAPP nodes; an X_RLAPP node's id is the app's id,
 * listed_at the start of its last listing, `listing` the flight of the one
 * under way (util/flight.h: waiters sleep on ns->cv, bounded by
 * ns_deadline, and share its outcome, a failure with its refresh_err too).
 * Locks: ns->lock held on entry; dropped around every request.
 */
#include "ns/kinds/ns_reloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/reloads.h"
#include "util/names.h"

#define RLA_MAX 1000 /* reloads listed per app: the newest, 10 pages */

static void rl_add_root(struct ns *ns, struct node *root)
{
	struct node *apps = node_kid(root, "apps"), *reloads = rl_setup(ns, root);
	if (!reloads || !apps || apps->role != R_COLL)
		return;
	struct node *b = node_new_of(ns, NULL, RL_BYAPP, &ns_reloads_kind, true);
	if (!b)
		return;
	b->pinned = b->hidden = true;
	b->xk = X_RLBYAPP;
	if (node_listing_init(b, apps, true) || node_attach(ns, reloads, b, RL_BYAPP) < 0)
		b->gone = true;
}

/* The directory name of an app whose apps/ entry is `entry`: without .json. */
static bool dir_name(const char *entry, char *out, size_t n)
{
	return names_swap_ext(entry, ".json", "", out, n);
}

/* d's kid n leaves the tree with the reload directories it holds. */
static void drop(struct ns *ns, struct node *d, struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		rl_view_gone(ns, n->kidv[i]);
	if (n->id && strmap_get(cs_of(d)->by_id, n->id) == n)
		strmap_del(cs_of(d)->by_id, n->id);
	node_detach(ns, n);
}

/* One app's directory, for app node k of apps/ (made or renamed). */
static struct node *app_dir(struct ns *ns, struct node *d, const struct node *k)
{
	char name[NAMES_MAX + 8];
	if (!dir_name(k->name, name, sizeof(name)))
		return NULL;
	struct node *n = strmap_get(cs_of(d)->by_id, k->id);
	if (n && !n->gone && strcmp(n->name, name)) {
		node_detach(ns, n); /* the app was renamed: same inode, new name */
		if (node_attach(ns, d, n, name) < 0)
			return NULL;
	} else if (!n || n->gone) {
		if (node_kid(d, name) || !(n = node_new_of(ns, d, name, &ns_reloads_kind, true)))
			return NULL;
		n->xk = X_RLAPP;
		n->id = strdup(k->id);
		if (!n->id || strmap_put(cs_of(d)->by_id, n->id, n) < 0) {
			node_detach(ns, n);
			return NULL;
		}
	}
	return n;
}

/* by-app/ follows the apps/ listing (which may be fetched: lock dropped). */
static int byapp_sync(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct node *apps = cs_of(d)->coll_root;
	int rc = coll_listed(ns, apps, err, errn);
	if (rc || (cs_of(d)->listed_at && cs_of(d)->listed_at == cs_of(apps)->listed_at))
		return rc;
	unsigned gen = node_next_gen(d);
	for (size_t i = 0; i < apps->nkids; i++) {
		struct node *k = apps->kidv[i], *n;
		if (k->role == R_FILE && !k->gone && k->id && (n = app_dir(ns, d, k)))
			n->mark = gen;
	}
	for (size_t i = d->nkids; i > 0; i--)
		if (d->kidv[i - 1]->mark != gen)
			drop(ns, d, d->kidv[i - 1]);
	node_set_listed(d, cs_of(apps)->listed_at);
	return 0;
}

/* Applies an app's listing (arr, owned) to its directory d. */
static void app_apply(struct ns *ns, struct node *d, cJSON *arr)
{
	unsigned gen = node_next_gen(d);
	cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id"));
		struct xreload *x = id ? rl_entry(ns, id) : NULL;
		struct node *n = x ? rl_view(ns, d, x, rl_time_of(e, "creationTime")) : NULL;
		if (!n)
			continue;
		n->mark = gen;
		rl_take_listed(ns, x, e);
	}
	for (size_t i = d->nkids; i > 0; i--) {
		struct node *n = d->kidv[i - 1];
		if (n->mark != gen) { /* fell out of the newest RLA_MAX */
			rl_view_gone(ns, n);
			node_detach(ns, n);
		}
	}
	cJSON_Delete(arr);
}

/* An app's directory: its reloads, listed once per TTL. */
static int app_list(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct coll_state *cs = node_cs(d); /* (its listing) */
	if (!cs)
		return -ENOMEM;
	if (cs->listing.running)
		return coll_join_refresh(ns, d, err, errn);
	if (d->gone || ns_fresh(ns, cs_of(d)->listed_at))
		return 0;
	char app[RELOADS_ID_MAX + 1];
	snprintf(app, sizeof(app), "%s", d->id);
	int64_t started = ns_now(ns);
	cJSON *arr = NULL;
	flight_begin(&cs->listing);
	pthread_mutex_unlock(&ns->lock);
	int rc = reloads_list_app(ns->o.client, app, RLA_MAX, &arr, NULL, err, errn);
	pthread_mutex_lock(&ns->lock);
	free(cs->refresh_err);
	cs->refresh_err = rc && err ? strndup(err, errn) : NULL;
	flight_end(&cs->listing, rc, &ns->cv);
	if (rc)
		return rc;
	ns->stats.listings++;
	app_apply(ns, d, arr);
	node_set_listed(d, started ? started : 1);
	return 0;
}

static int rl_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	int rc = d->xk == X_RLBYAPP ? byapp_sync(ns, d, err, errn)
		 : d->xk == X_RLAPP ? app_list(ns, d, err, errn)
				    : rl_listed_own(ns, d, err, errn);
	return rc ? rc : ext_still_there(d);
}

/* ---- the kind: reloads/ and what is in it (ns_reloads.c), by-app/ (here) ---- */

static int rk_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	int rc = rl_fresh(ns, n, err, errn);
	return rc ? rc : ext_still_there(n);
}

static bool rk_writable(const struct node *n)
{
	return n->xk == X_RLNEW || n->xk == X_RLCANCEL;
}

static const char *rk_xattr(struct ns *ns, const struct node *n, const char *name)
{
	return !strcmp(name, "user.qlik.error") ? n->errmsg : rl_xattr(ns, n, name);
}

static void rk_release(struct ns_file *f)
{
	rl_release(f);
	f->ext = NULL;
}

/* streams: the answer of a write to new, the end of a reload (wait) */
static bool rk_opened(struct ns_file *f, uid_t caller)
{
	(void)caller;
	const struct xhandle *h = f->ext;
	return h && (h->kind == X_RLNEW || h->kind == X_RLWAIT);
}

/* `> reloads/new`: each open is a new request */
static int rk_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	(void)ns, (void)f, (void)size;
	return n->xk == X_RLNEW || n->xk == X_RLCANCEL ? 0 : -EACCES;
}

const struct ns_kind ns_reloads_kind = {
	.name = RELOADS_KIND,
	.root_kids = rl_add_root,
	.drop_caches = rl_drop_caches,
	.free = rl_free,
	.fresh = rk_fresh,
	.listed = rl_listed,
	.fill_attr = rl_fill_attr,
	.writable = rk_writable,
	.xattr = rk_xattr,
	.open = rl_open,
	.read = rl_read,
	.write = rl_write,
	.release = rk_release,
	.opened = rk_opened,
	.flush = rl_flush,
	.truncate = rk_truncate,
	.create = ext_no_create,
	.unlink = rl_unlink,
	.rmdir = rl_rmdir,
	.rename = ext_no_rename,
	.attrs_need_fetch = ext_attrs_known,
};
