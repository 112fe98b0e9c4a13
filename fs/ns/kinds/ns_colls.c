/*
 * ns_colls.c - the directories a listing fills and the files of the caller:
 *  - a collection (R_COLL: apps/, users/, a space's data-files/, ...): its
 *    entries are the objects its list endpoint returns (ns/core/ns_coll.c,
 *    and ns_view.c for a space's, store's or asset's view of a tenant-wide
 *    listing); listing it first makes that listing fresh;
 *  - a data-file folder (R_FOLDER): filled by its collection's listing;
 *  - me.json (R_ME): the caller's user, GET /users/me.
 * What these kinds add to the dispatcher's defaults (attributes through the
 * node table, no open, read or write of their own) is when their entries
 * are fresh and which extended attributes they show: a collection is no
 * resource (no user.qlik.id or .type), me.json is a user; a name a
 * collection's listing does not hold may be its resource's bare id; what
 * mkdir and rmdir do (mkdir spaces/NAME creates a space, in data-files/ a
 * folder; a space's apps/ goes with the space; a data-file folder is
 * deleted when empty).
 *
 * Locks: ns->lock held by every caller; listed may drop and retake it.
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns/core/ns_mut.h"
#include "ns/core/ns_restore.h"
#include "util/names.h"

/* The collection whose listing fills c is fresh, then c itself. */
static int listed_from(struct ns *ns, struct node *d, struct node *c, char *err, size_t errn)
{
	int rc;
	if (c && !ns_fresh(ns, cs_of(c)->listed_at) && (rc = coll_refresh_any(ns, c, err, errn)))
		return rc;
	return node_refresh(ns, d, node_fresh_src(d), err, errn);
}

static int collection_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	return listed_from(ns, d, d, err, errn);
}

static int folder_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	return listed_from(ns, d, cs_of(d)->coll_root, err, errn);
}

/* Is `s` shaped like a Qlik id (so that a bare-id lookup is worth a GET)? */
static bool id_like(const char *s)
{
	size_t n = strlen(s);
	if (n < 8 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_'))
			return false;
	return true;
}

/* A hidden node for a bare-id lookup in collection c.  Uses the listing when
 * it holds the id, else one GET (dropping the lock); nothing is created when
 * the resource cannot be had. */
static int lookup_by_id(struct ns *ns, struct node *c, const char *name, const char *id,
			struct node **out, char *err, size_t errn)
{
	bool dirs = coll_kids_are_dirs(c);
	struct node *listed = strmap_get(cs_of(c)->by_id, id);
	int64_t started = ns_now(ns);
	cJSON *root = NULL;
	const cJSON *obj = NULL;
	if (!listed) {
		int rc = fetch_obj(ns, c->rt, id, &root, &obj, err, errn);
		if (rc)
			return rc;
		struct node *raced = node_kid(c, name); /* made while unlocked */
		if (raced && !raced->gone) {
			cJSON_Delete(root);
			*out = raced;
			return 0;
		}
	}
	struct node *n = node_new(ns, NULL, name, dirs ? R_RESDIR : R_FILE, dirs);
	if (!n) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	n->hidden = true;
	n->rt = c->rt;
	n->id = strdup(id);
	n->store_id = listed && listed->store_id ? strdup(listed->store_id)
						 : (c->store_id ? strdup(c->store_id) : NULL);
	if (restab_keeps_place(c->rt) && c->id && !n->store_id)
		n->store_id = strdup(c->id); /* asset under data-stores/S: its store */
	if (dirs)
		node_fixed_kids(ns, n); /* (space.json, apps/ ...) */
	int rc = 0;
	if (listed) {
		n->size = listed->size;
		n->mtime_ms = listed->mtime_ms;
		n->ctime_ms = listed->ctime_ms;
		n->fetched_at = cs_of(c)->listed_at;
		struct node *mine = dirs ? node_self(n) : NULL, *theirs = node_self(listed);
		if (mine && theirs) {
			mine->size = theirs->size;
			mine->mtime_ms = theirs->mtime_ms;
			mine->ctime_ms = theirs->ctime_ms;
		}
	} else {
		rc = node_set_obj(ns, n, obj, NULL);
		n->fetched_at = started ? started : 1;
		cJSON_Delete(root);
	}
	if (!rc && node_attach(ns, c, n, name) < 0)
		rc = -ENOMEM;
	if (rc) {
		n->gone = true;
		return rc;
	}
	*out = n;
	return 0;
}

/* A name collection c's listing does not hold: its resource by bare id
 * ("ID.json", or "Old name (ID).json" of a backup: the id decides), one GET
 * unless a "no such id" answer is cached.  A space's view shows what its
 * listing holds, nothing by id. */
static int coll_lookup_missing(struct ns *ns, struct node *p, const char *name, struct node **n,
			       char *err, size_t errn)
{
	if (cs_of(p)->space_filter)
		return 0;
	char id[128];
	bool dirs = coll_kids_are_dirs(p);
	const char *ext = dirs ? "" : ".json";
	size_t nl = strlen(name), el = strlen(ext);
	if (names_parse_id(name, ext, id, sizeof(id)) > 0) {
		/* "Old name (id).json": the id decides */
	} else if (nl > el && nl - el < sizeof(id) && !strcmp(name + nl - el, ext)) {
		memcpy(id, name, nl - el);
		id[nl - el] = '\0';
	} else {
		return 0;
	}
	char rid[128]; /* a backup's id stands for the resource restored from it */
	const char *real = restore_real_id(ns, p->rt->kind, id, rid, sizeof(rid));
	if (real != id)
		snprintf(id, sizeof(id), "%s", real);
	if (!id[0] || !id_like(id) || defer_hides(ns, p->rt->kind, id))
		return 0;
	char key[192];
	snprintf(key, sizeof(key), "neg:%s:%s", p->rt->type, id);
	struct cache_blob *b = NULL;
	int neg = cache_lookup(ns->o.cache, key, &b);
	cache_blob_unref(b);
	if (neg < 0)
		return neg;
	int rc = lookup_by_id(ns, p, name, id, n, err, errn);
	if (rc == -ENOENT)
		cache_put_negative(ns->o.cache, key, -ENOENT, ns->o.neg_ttl_ms);
	return rc;
}

/* Empty for rmdir: nothing listed but what a kind puts aside (.qvf/). */
static bool dir_empty(const struct ns *ns, const struct node *d)
{
	for (size_t i = 0; i < d->nkids; i++) {
		const struct node *k = d->kidv[i];
		if (!k->gone && !k->hidden && !(KIND(ns, k) && KIND(ns, k)->aside))
			return false;
	}
	return true;
}

/* apps/ and data-files/ of a space (and the like) go with their resource:
 * removing one is accepted when it is empty, so that rm -r of the resource
 * dir works.  A collection of the root is not removed. */
static int coll_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	if (d->role != R_RESDIR) {
		errmsg_set(err, errn, MUT_NO_RMDIR);
		return -EPERM;
	}
	int rc = collection_listed(ns, n, err, errn);
	if (!rc)
		rc = dir_empty(ns, n) ? 0 : -ENOTEMPTY;
	if (!rc)
		ns_inval_entry(ns, d, n->name);
	return rc;
}

/* rmdir of a data-file folder: DELETE of its folder object, when empty. */
static int folder_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)d;
	int rc = folder_listed(ns, n, err, errn);
	if (!rc && !dir_empty(ns, n))
		rc = -ENOTEMPTY;
	if (!rc && !n->id)
		rc = -EPERM;
	if (rc)
		return rc;
	char *id = strdup(n->id);
	pthread_mutex_unlock(&ns->lock);
	rc = id ? res_delete(ns->o.client, restab_get(RK_DATAFILE), id, err, errn) : -ENOMEM;
	pthread_mutex_lock(&ns->lock);
	free(id);
	if (!rc || rc == -ENOENT) {
		node_detach(ns, n);
		mut_colls_stale(ns, RK_DATAFILE);
	}
	return rc;
}

/* mkdir in a data-files collection or one of its folders: a folder, a path
 * prefix rather than an object of the tenant; it lives in the mount until
 * files are copied into it. */
static int folder_mkdir(struct ns *ns, struct node *d, const char *name, struct node **out,
			char *err, size_t errn)
{
	struct node *dc = mut_dir_coll(d);
	char sname[1024];
	if (!dc || dc->rt->kind != RK_DATAFILE) {
		errmsg_set(err, errn, "%s", MUT_MKDIR_WHERE);
		return -EPERM;
	}
	if (names_decode(name, sname, sizeof(sname)) <= 0 || strchr(sname, '/')) {
		errmsg_set(err, errn, "not a valid folder name");
		return -EINVAL;
	}
	return (*out = mut_folder_new(ns, d, name, dc)) ? 0 : -ENOMEM;
}

/* mkdir spaces/NAME: a new shared space (POST /spaces); in data-files/, a
 * folder. */
static int coll_mkdir(struct ns *ns, struct node *d, const char *name, struct node **out,
		      char *err, size_t errn)
{
	if (d->rt->kind == RK_DATAFILE)
		return folder_mkdir(ns, d, name, out, err, errn);
	if (!d->rt->mkdir_creates) {
		errmsg_set(err, errn, "%s", MUT_MKDIR_WHERE);
		return -EPERM;
	}
	char sname[1024];
	if (names_decode(name, sname, sizeof(sname)) <= 0 || names_is_scratch(name)) {
		errmsg_set(err, errn, "not a valid space name");
		return -EINVAL;
	}
	cJSON *doc = cJSON_CreateObject(), *now = NULL;
	struct res_scope sc = { 0 };
	const struct rtype *rt = d->rt;
	pthread_mutex_unlock(&ns->lock);
	int rc = doc ? res_create(ns->o.client, rt, &sc, doc, sname, &now, err, errn) : -ENOMEM;
	pthread_mutex_lock(&ns->lock);
	cJSON_Delete(doc);
	if (rc)
		return rc;
	const char *id = restab_id(rt, now);
	struct node *n = node_kid(d, name);
	if (!n && id) {
		n = node_new(ns, d, name, R_RESDIR, true);
		if (n) {
			n->rt = rt;
			n->id = strdup(id);
			n->sname = strdup(sname);
			n->mark = ns->gen;
			node_fixed_kids(ns, n); /* (space.json, apps/ ...) */
			strmap_put(cs_of(d)->by_id, n->id, n);
			node_set_obj(ns, n, now, NULL);
		}
	}
	cJSON_Delete(now);
	mut_colls_stale(ns, rt->kind);
	ns_inval_entry(ns, d, name);
	return (*out = n) ? 0 : -ENOMEM;
}

static const char *me_xattr(struct ns *ns, const struct node *n, const char *name)
{
	if (!strcmp(name, "user.qlik.error"))
		return node_xattr_error(ns, n, name);
	if (!strcmp(name, "user.qlik.id"))
		return n->id;
	return !strcmp(name, "user.qlik.type") ? "user" : NULL;
}

const struct ns_kind ns_coll_kind = {
	.name = "collection",
	.listed = collection_listed,
	.lookup_missing = coll_lookup_missing,
	.xattr = node_xattr_error, /* (no resource: no id or type) */
	.rmdir = coll_rmdir,
	.mkdir = coll_mkdir,
};

const struct ns_kind ns_folder_kind = {
	.name = "folder",
	.listed = folder_listed,
	.rmdir = folder_rmdir,
	.mkdir = folder_mkdir,
};

const struct ns_kind ns_me_kind = {
	.name = "me",
	.xattr = me_xattr,
};
