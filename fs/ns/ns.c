/*
 * ns.c - the namespace: node table, lookups, attributes, directory snapshots,
 * file handles and extended attributes.  Collections are filled by ns_coll.c.
 *
 * The tree (docs/SEMANTICS.md "The tree"):
 *   me.json  spaces/  apps/  data-files/  data-stores/  data-assets/
 *   data-sets/  users/
 *
 * Freshness: a listed node's attributes and content are fresh while the
 * listing that produced it is younger than ttl_ms; a node reached by bare id
 * (hidden) or me.json is fresh while its own fetch is.  A stale node is
 * refreshed by re-listing its collection (one walk of the list pages shared by
 * every sibling), or by one GET for hidden nodes.
 *
 * Locks: see ns_internal.h.  Everything here runs with ns->lock held except
 * where a comment says it drops it.
 */
#include "ns/core/ns_internal.h"
#include "ns/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/jsonfmt.h"
#include "util/names.h"
#include "ns/kinds/ns_ext.h"
#include "ns/core/ns_mut.h"
#include "ns/core/ns_restore.h"

/* ---- node table ---- */

static struct node *add_coll(struct ns *ns, struct node *parent, const char *name, enum coll c,
			     enum rkind kind, const char *scope, const char *scope2)
{
	struct node *n = node_new(ns, parent, name, R_COLL, true);
	if (!n)
		return NULL;
	n->pinned = true;
	n->coll = c;
	n->rt = restab_get(kind);
	n->by_id = strmap_new();
	n->id = scope ? strdup(scope) : NULL;
	n->store_id = scope2 ? strdup(scope2) : NULL;
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd) /* the kinds' own: .qvf/, .index.json */
		if (kd->coll_kids)
			kd->coll_kids(ns, n);
	return n;
}

static struct node *add_static(struct ns *ns, struct node *parent, const char *name)
{
	struct node *n = node_new(ns, parent, name, R_STATIC, true);
	if (n)
		n->pinned = true;
	return n;
}

/* The fixed children of a directory node, by its role and kind. */
void node_add_fixed_kids(struct ns *ns, struct node *n)
{
	if (n->role == R_STATIC && n->ino == NS_ROOT_INO) {
		struct node *me = node_new(ns, n, "me.json", R_ME, false);
		if (me)
			me->pinned = true;
		struct node *sp = add_coll(ns, n, "spaces", C_SPACES, RK_SPACE, NULL, NULL);
		struct node *pers = NULL;
		if (sp) {
			pers = add_static(ns, sp, "@personal");
			if (pers) {
				add_coll(ns, pers, "apps", C_APPS, RK_APP, "personal", NULL);
				add_coll(ns, pers, "data-files", C_DATAFILES, RK_DATAFILE, "personal",
					 NULL);
			}
		}
		add_coll(ns, n, "apps", C_APPS, RK_APP, NULL, NULL);
		add_coll(ns, n, "data-files", C_DATAFILES, RK_DATAFILE, NULL, NULL);
		add_coll(ns, n, "data-stores", C_DATASTORES, RK_DATASTORE, NULL, NULL);
		add_coll(ns, n, "data-assets", C_ASSETS, RK_DATAASSET, NULL, NULL);
		add_coll(ns, n, "data-sets", C_SETS, RK_DATASET, NULL, NULL);
		add_coll(ns, n, "users", C_USERS, RK_USER, NULL, NULL);
		const struct ns_kind *kd;
		FOR_EACH_KIND(ns, kd) /* the kinds' own: api, reports/ */
			if (kd->root_kids)
				kd->root_kids(ns, n);
		/* the personal space's views, now that the tenant-wide colls exist */
		struct node *pa = pers ? node_kid(pers, "apps") : NULL;
		struct node *pd = pers ? node_kid(pers, "data-files") : NULL;
		if (pa)
			view_setup(ns, pa, "apps", VF_SPACE, NULL);
		if (pd)
			view_setup(ns, pd, "data-files", VF_SPACE, NULL);
		return;
	}
	if (n->role != R_RESDIR)
		return;
	const char *self = NULL;
	switch (n->rt->kind) {
	case RK_SPACE: {
		self = "space.json";
		/* views of the tenant-wide listings (ns_view.c) */
		struct node *c = add_coll(ns, n, "apps", C_APPS, RK_APP, n->id, NULL);
		if (c && n->id)
			view_setup(ns, c, "apps", VF_SPACE, n->id);
		c = add_coll(ns, n, "data-files", C_DATAFILES, RK_DATAFILE, n->id, NULL);
		if (c && n->id)
			view_setup(ns, c, "data-files", VF_SPACE, n->id);
		/* the data stores that live in the space (the API counts them as
		 * its content: a space holding one cannot be deleted), from the
		 * tenant-wide listing only: there is no request per space */
		c = n->id ? add_coll(ns, n, "data-stores", C_DATASTORES, RK_DATASTORE, NULL, NULL)
			  : NULL;
		if (c) {
			c->cs->space_filter = strdup(n->id); /* (R_COLL: made with it) */
			view_setup(ns, c, "data-stores", VF_SPACE, n->id);
		}
		const struct ns_kind *kd;
		FOR_EACH_KIND(ns, kd) /* the kinds' own (scripts/) */
			if (kd->space_kids)
				kd->space_kids(ns, n);
		break;
	}
	case RK_DATASTORE: {
		self = "data-store.json";
		struct node *c = add_coll(ns, n, "data-assets", C_ASSETS, RK_DATAASSET, n->id, NULL);
		if (c && n->id)
			view_setup(ns, c, "data-assets", VF_STORE, n->id);
		break;
	}
	case RK_DATAASSET: {
		self = "data-asset.json";
		/* the asset's store id is needed to list its data sets */
		struct node *c = add_coll(ns, n, "data-sets", C_SETS, RK_DATASET, n->id,
					  n->store_id);
		if (c && n->id)
			view_setup(ns, c, "data-sets", VF_ASSET, n->id);
		break;
	}
	default:
		break;
	}
	if (self) {
		struct node *f = node_new(ns, n, self, R_FILE, false);
		if (f) {
			f->pinned = true;
			f->self = true;
			f->rt = n->rt;
			f->id = n->id ? strdup(n->id) : NULL;
		}
	}
}

/* ---- freshness ---- */

/* Makes n's attributes fresh, refreshing its listing or fetching it.  May drop
 * and retake ns->lock.  Returns 0, -ENOENT if n vanished, or another -errno. */
int ensure_node_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	if (KIND(ns, n) && KIND(ns, n)->fresh)
		return KIND(ns, n)->fresh(ns, n, err, errn);
	return node_refresh(ns, n, node_fresh_src(n), err, errn);
}

/* Makes a directory's entries fresh: re-lists the collection that fills it
 * (itself, or a data-file folder's collection) when stale, then makes the
 * directory's own attributes fresh.  May drop and retake ns->lock. */
int ensure_node_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	if (KIND(ns, d) && KIND(ns, d)->listed)
		return KIND(ns, d)->listed(ns, d, err, errn);
	struct node *c = d->role == R_COLL ? d
			 : d->role == R_FOLDER ? d->coll_root : NULL;
	int rc;
	if (c && !ns_fresh(ns, c->listed_at) && (rc = coll_refresh_any(ns, c, err, errn)))
		return rc;
	return ensure_node_fresh(ns, d, err, errn);
}

bool node_writable(const struct ns *ns, const struct node *n)
{
	if (KIND(ns, n) && KIND(ns, n)->writable)
		return KIND(ns, n)->writable(n);
	return n->role == R_SCRATCH || n->role == R_NEW ||
	       (n->role == R_FILE && n->rt && n->rt->upd != UPD_NONE);
}

void ns_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	/* changes/ files show 0666: refused writes say EACCES themselves */
	node_fill_attr(ns, n, node_writable(ns, n) || n->role == R_LOCAL, a);
	if (KIND(ns, n) && KIND(ns, n)->fill_attr) {
		KIND(ns, n)->fill_attr(ns, n, a);
		if (ns->o.read_only)
			a->mode &= ~(mode_t)0222;
	}
}


/* ---- public API ---- */



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
	struct node *listed = strmap_get(c->by_id, id);
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
	n->item_id = listed && listed->item_id ? strdup(listed->item_id) : NULL;
	if (c->coll == C_ASSETS && c->id && !n->store_id)
		n->store_id = strdup(c->id); /* asset under data-stores/S: its store */
	if (dirs)
		node_add_fixed_kids(ns, n);
	int rc = 0;
	if (listed) {
		n->size = listed->size;
		n->mtime_ms = listed->mtime_ms;
		n->ctime_ms = listed->ctime_ms;
		n->fetched_at = c->listed_at;
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

int ns_lookup(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *out, char *err,
	      size_t errn)
{
	const struct ns_kind *k = ns_ino_kind(ns, parent);
	if (k)
		return k->lookup_in(ns, parent, name, out);
	int rc = 0;
	pthread_mutex_lock(&ns->lock);
	struct node *p = ns_node(ns, parent);
	if (!p || !p->dir) {
		rc = p ? -ENOTDIR : -ENOENT;
		goto out;
	}
	struct node *seen = node_kid(p, name);
	const struct ns_kind *pk = KIND(ns, p);
	/* an entry a lazy directory lists gets its node here (not a second
	 * look: its listing holds it; the refresh below may move it) */
	if (!seen && pk && pk->lookup_lazy && (seen = pk->lookup_lazy(ns, p, name)))
		node_lazy_made(ns, seen);
	/* a name the listing does not hold is a second look (node.c) */
	ns_walk_visit(ns, seen && !seen->gone ? seen : p,
		      WALK_LOOKUP | (seen && !seen->gone ? 0 : WALK_STRICT));
	if ((rc = ensure_node_listed(ns, p, err, errn)))
		goto out;
	struct node *n = node_kid(p, name);
	if (!n && pk && pk->lookup_lazy && (n = pk->lookup_lazy(ns, p, name)))
		node_lazy_made(ns, n);
	if (!n && p->role == R_COLL && p->coll != C_NONE && !cs_of(p)->space_filter) {
		/* (a space's view shows what its listing holds, nothing by id) */
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
			id[0] = '\0';
		}
		char rid[128]; /* a backup's id stands for the resource restored from it */
		const char *real = restore_real_id(ns, p->rt->kind, id, rid, sizeof(rid));
		if (real != id)
			snprintf(id, sizeof(id), "%s", real);
		if (id[0] && id_like(id) && !defer_hides(ns, p->rt->kind, id)) {
			char key[192];
			snprintf(key, sizeof(key), "neg:%s:%s", p->rt->type, id);
			struct cache_blob *b = NULL;
			int neg = cache_lookup(ns->o.cache, key, &b);
			cache_blob_unref(b);
			if (neg < 0) {
				rc = neg;
				goto out;
			}
			rc = lookup_by_id(ns, p, name, id, &n, err, errn);
			if (rc == -ENOENT)
				cache_put_negative(ns->o.cache, key, -ENOENT, ns->o.neg_ttl_ms);
			if (rc)
				goto out;
		}
	}
	if (!n || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	n->nlookup++; /* (held while the lock is dropped: a forget cannot free it) */
	if ((rc = ensure_node_fresh(ns, n, err, errn))) {
		n->nlookup--;
		if (!n->nlookup)
			node_reclaim(ns, n);
		goto out;
	}
	ns_fill_attr(ns, n, out);
out:
	ns_walk_end(ns);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

void ns_forget(struct ns *ns, uint64_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (n) {
		n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
		if (!n->nlookup)
			node_reclaim(ns, n);
	}
	pthread_mutex_unlock(&ns->lock);
}

void ns_remember(struct ns *ns, uint64_t ino)
{
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&ns->lock);
}

int ns_getattr(struct ns *ns, uint64_t ino, struct ns_attr *out, char *err, size_t errn)
{
	const struct ns_kind *k = ns_ino_kind(ns, ino);
	if (k)
		return k->getattr_ino(ns, ino, out);
	int rc;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (n)
		ns_walk_visit(ns, n, WALK_GETATTR);
	rc = n ? ensure_node_fresh(ns, n, err, errn) : -ENOENT;
	if (!rc)
		ns_fill_attr(ns, n, out);
	ns_walk_end(ns);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* Would k's attributes take a request of their own (a GET, an export)?  Such
 * an entry goes to readdirplus without attributes, so that the kernel looks it
 * up and the size it is given is the size a read returns (me.json before its
 * first read showed 0 bytes, and rsync copied it empty). */
static bool attrs_need_fetch(struct ns *ns, struct node *k)
{
	if (KIND(ns, k) && KIND(ns, k)->attrs_need_fetch)
		return KIND(ns, k)->attrs_need_fetch(ns, k); /* a script, an export */
	return node_fresh_src(k) == k && !ns_fresh(ns, k->fetched_at);
}

int ns_opendir(struct ns *ns, uint64_t ino, struct ns_dir **out, char *err, size_t errn)
{
	const struct ns_kind *k = ns_ino_kind(ns, ino);
	if (k)
		return k->opendir_ino(ns, ino, out);
	int rc = 0;
	struct ns_dir *d = NULL;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (!n || !n->dir) {
		rc = n ? -ENOTDIR : -ENOENT;
		goto out;
	}
	ns_walk_visit(ns, n, WALK_OPENDIR);
	/* a directory listed after its parent in the same walk: a walk of the
	 * tree, which will want the parent's tenant-wide listings */
	if (n->parent && n->parent->walk_id == ns->walk_id &&
	    (n->parent->walk_ops & WALK_OPENDIR))
		prefetch_for_dir(ns, n->parent);
	if ((rc = ensure_node_listed(ns, n, err, errn)))
		goto out;
	const struct ns_kind *nk = KIND(ns, n);
	if (nk && nk->opendir)
		nk->opendir(ns, n); /* .trash: the expired entries go first */
	size_t lazy = nk && nk->list_lazy ? nk->list_lazy(ns, n, NULL) : 0;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->ents = calloc(n->nkids + lazy + 2, sizeof(*d->ents)))) {
		rc = -ENOMEM;
		goto out;
	}
	d->ents[0].name = strdup(".");
	ns_fill_attr(ns, n, &d->ents[0].attr);
	d->ents[1].name = strdup("..");
	ns_fill_attr(ns, n->parent ? n->parent : n, &d->ents[1].attr);
	d->n = 2;
	for (size_t i = 0; i < n->nkids; i++) {
		struct node *k = n->kidv[i];
		if (k->hidden || k->gone)
			continue;
		d->ents[d->n].name = strdup(k->name);
		if (k->lazy || attrs_need_fetch(ns, k))
			d->ents[d->n].noattr = true; /* unknown without a request, or freed
							* when forgotten: looked up */
		ns_fill_attr(ns, k, &d->ents[d->n].attr);
		d->n++;
	}
	if (lazy)
		nk->list_lazy(ns, n, d); /* (at most `lazy` more) */
	rc = ns_dir_sort(d);
out:
	ns_walk_end(ns);
	return ns_dir_done(ns, d, rc, out);
}

static const char *xattr_value(struct ns *ns, const struct node *n, const char *name)
{
	if (KIND(ns, n) && KIND(ns, n)->xattr)
		return KIND(ns, n)->xattr(ns, n, name);
	if (!strcmp(name, "user.qlik.error"))
		return n->errmsg;
	if (n->role == R_SCRATCH)
		return NULL;
	if (!strcmp(name, "user.qlik.id"))
		return n->role == R_COLL ? NULL : n->id;
	if (!strcmp(name, "user.qlik.type"))
		return n->role == R_ME ? "user" : (n->role == R_COLL ? NULL : (n->rt ? n->rt->type : NULL));
	return NULL;
}

ssize_t ns_getxattr(struct ns *ns, uint64_t ino, const char *name, char *buf, size_t size)
{
	ssize_t rc;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	const char *v = n ? xattr_value(ns, n, name) : NULL;
	if (!n)
		rc = -ENOENT;
	else if (!v)
		rc = -ENODATA;
	else if (size && strlen(v) > size)
		rc = -ERANGE;
	else {
		rc = (ssize_t)strlen(v);
		if (size)
			memcpy(buf, v, (size_t)rc);
	}
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

ssize_t ns_listxattr(struct ns *ns, uint64_t ino, char *buf, size_t size)
{
	static const char *names[] = { "user.qlik.id", "user.qlik.type", "user.qlik.error" };
	size_t total = 0;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	char tmp[64];
	for (size_t i = 0; n && i < 3; i++)
		if (xattr_value(ns, n, names[i])) {
			size_t l = strlen(names[i]) + 1;
			memcpy(tmp + total, names[i], l);
			total += l;
		}
	pthread_mutex_unlock(&ns->lock);
	if (!n)
		return -ENOENT;
	if (size && total > size)
		return -ERANGE;
	if (size)
		memcpy(buf, tmp, total);
	return (ssize_t)total;
}

void ns_drop_caches(struct ns *ns)
{
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *n = ns->tab[i];
		if (!n)
			continue; /* (freed: node_reclaim) */
		n->listed_at = 0;
		n->fetched_at = 0;
		if (!n->gone && n->parent)
			ns_inval_entry(ns, n->parent, n->name);
		ns_inval_inode(ns, n);
	}
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd) /* reports' statuses and output listings */
		if (kd->drop_caches)
			kd->drop_caches(ns);
	pthread_mutex_unlock(&ns->lock);
	cache_clear(ns->o.cache);
}

void ns_get_stats(struct ns *ns, struct ns_stats *st)
{
	pthread_mutex_lock(&ns->lock);
	*st = ns->stats;
	pthread_mutex_unlock(&ns->lock);
}

int ns_setxattr(struct ns *ns, uint64_t ino, const char *name, const char *value, size_t size)
{
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (!n)
		rc = -ENOENT;
	else if (KIND(ns, n) && KIND(ns, n)->setxattr)
		rc = KIND(ns, n)->setxattr(ns, n, name, value, size);
	else
		rc = -ENOTSUP;
	pthread_mutex_unlock(&ns->lock);
	return rc;
}
