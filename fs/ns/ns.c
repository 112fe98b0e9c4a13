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
#include "ns/ns_internal.h"

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

int64_t ns_wall_ms(void)
{
	return clock_wall_ms();
}

int64_t ns_now(struct ns *ns)
{
	return ns->o.now_ms ? ns->o.now_ms() : clock_mono_ms();
}

int64_t ns_deadline(struct ns *ns)
{
	long budget = ns->o.client ? qclient_timeout_ms(ns->o.client) : 30000;
	return clock_mono_ms() + budget;
}

int ns_wait(struct ns *ns, int64_t deadline, const char *what, char *err, size_t errn)
{
	if (!clock_cond_wait_until(&ns->cv, &ns->lock, deadline))
		return 0;
	errmsg_set(err, errn, "timed out waiting for %s (another caller's request)", what);
	return -EIO; /* as a timeout of our own request: a network failure */
}

bool ns_fresh(struct ns *ns, int64_t t)
{
	return t && ns_now(ns) - t < ns->o.ttl_ms;
}

void ns_inval_entry(struct ns *ns, struct node *parent, const char *name)
{
	if (ns->o.inval.inval_entry)
		ns->o.inval.inval_entry(ns->o.inval.arg, parent->ino, name);
}

void ns_inval_inode(struct ns *ns, struct node *n)
{
	if (ns->o.inval.inval_inode)
		ns->o.inval.inval_inode(ns->o.inval.arg, n->ino);
}

/* ---- node table ---- */

static int kidv_push(struct node *p, struct node *n)
{
	if (p->nkids == p->capkids) {
		size_t cap = p->capkids ? p->capkids * 2 : 8;
		struct node **v = realloc(p->kidv, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->kidv = v;
		p->capkids = cap;
	}
	n->idx = p->nkids;
	p->kidv[p->nkids++] = n;
	return 0;
}

static void kidv_remove(struct node *p, struct node *n)
{
	if (n->idx >= p->nkids || p->kidv[n->idx] != n)
		return;
	p->kidv[n->idx] = p->kidv[--p->nkids];
	p->kidv[n->idx]->idx = n->idx;
}

/* Puts n under parent as `name` (replacing n's name).  A hidden node holding
 * that name is evicted: listed entries win.  Returns 0 or -ENOMEM. */
int node_attach(struct ns *ns, struct node *parent, struct node *n, const char *name)
{
	struct node *old = strmap_get(parent->kids, name);
	if (old && old != n) {
		if (!old->hidden)
			return -EEXIST;
		strmap_del(parent->kids, name);
		old->gone = true;
		ns_inval_entry(ns, parent, name);
	}
	char *nm = strdup(name);
	if (!nm)
		return -ENOMEM;
	if (strmap_put(parent->kids, nm, n) < 0) {
		free(nm);
		return -ENOMEM;
	}
	if (!n->hidden && kidv_push(parent, n) < 0) {
		strmap_del(parent->kids, nm);
		free(nm);
		return -ENOMEM;
	}
	free(n->name);
	n->name = nm;
	n->parent = parent;
	n->gone = false;
	struct node *qd = n->twin && n->role == R_FILE && !n->hidden ?
				  strmap_get(parent->kids, QVF_DIR) : NULL;
	if (qd && qd->role == R_QVFDIR) {
		/* an app's .qvf follows its file */
		char tn[512];
		struct node *t = n->twin;
		twin_name(nm, tn, sizeof(tn));
		if (t->parent != qd || t->gone || strcmp(t->name, tn)) {
			node_detach(ns, t);
			struct node *o = strmap_get(qd->kids, tn);
			if (!o || o->hidden)
				node_attach(ns, qd, t, tn);
		}
	}
	return 0;
}

/* Takes n out of its parent (it keeps its inode; gone until re-attached). */
void node_detach(struct ns *ns, struct node *n)
{
	struct node *p = n->parent;
	if (!p || n->gone)
		return;
	if (strmap_get(p->kids, n->name) == n)
		strmap_del(p->kids, n->name);
	if (!n->hidden)
		kidv_remove(p, n);
	n->gone = true;
	ns_inval_entry(ns, p, n->name);
}

struct node *node_new(struct ns *ns, struct node *parent, const char *name, enum nrole role,
		      bool dir)
{
	if (ns->ntab == ns->captab) {
		size_t cap = ns->captab ? ns->captab * 2 : 1024;
		struct node **t = realloc(ns->tab, cap * sizeof(*t));
		if (!t)
			return NULL;
		ns->tab = t;
		ns->captab = cap;
	}
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->role = role;
	n->dir = dir;
	n->tmpfd = -1;
	n->mtime_ms = n->ctime_ms = ns->mount_ms;
	if (dir && !(n->kids = strmap_new())) {
		free(n);
		return NULL;
	}
	n->ino = ns->ntab;
	ns->tab[ns->ntab++] = n;
	ns->stats.nodes++;
	if (parent && node_attach(ns, parent, n, name) < 0) {
		n->gone = true; /* stays in the table, unreachable */
		return NULL;
	}
	if (!parent)
		n->name = strdup(name);
	return n;
}

static void node_destroy(struct node *n)
{
	free(n->mem);
	if (n->tmpfd >= 0)
		close(n->tmpfd);
	free(n->ixbuf);
	free(n->errmsg);
	free(n->refresh_err);
	free(n->space_filter);
	cJSON_Delete(n->created);
	free(n->name);
	free(n->id);
	free(n->id2);
	free(n->sname);
	free(n->conn);
	free(n->kidv);
	strmap_free(n->kids);
	strmap_free(n->by_id);
	free(n);
}

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
	n->id2 = scope2 ? strdup(scope2) : NULL;
	if (c == C_APPS && ns->o.qvf) {
		struct node *q = node_new(ns, n, QVF_DIR, R_QVFDIR, true);
		if (q) {
			q->pinned = true;
			q->coll_root = n;
			q->rt = n->rt;
		}
	}
	/* reachable by name, not listed: kept out of cp -r, tar and rsync */
	struct node *ix = node_new(ns, NULL, INDEX_NAME, R_INDEX, false);
	if (ix) {
		ix->pinned = ix->hidden = true;
		if (node_attach(ns, n, ix, INDEX_NAME) < 0)
			ix->gone = true;
	}
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
		if (sp) {
			struct node *pers = add_static(ns, sp, "@personal");
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
		ext_add_root_kids(ns, n); /* api, reports/ (ns_ext.c) */
		return;
	}
	if (n->role != R_RESDIR)
		return;
	const char *self = NULL;
	switch (n->rt->kind) {
	case RK_SPACE: {
		self = "space.json";
		add_coll(ns, n, "apps", C_APPS, RK_APP, n->id, NULL);
		add_coll(ns, n, "data-files", C_DATAFILES, RK_DATAFILE, n->id, NULL);
		/* the data stores that live in the space (the API counts them as
		 * its content: a space holding one cannot be deleted), from the
		 * tenant-wide listing: no request per space */
		struct node *root = ns_node(ns, NS_ROOT_INO);
		struct node *wide = root ? strmap_get(root->kids, "data-stores") : NULL;
		struct node *ds = wide && n->id ? add_coll(ns, n, "data-stores", C_DATASTORES,
							   RK_DATASTORE, NULL, NULL)
						: NULL;
		if (ds) {
			ds->space_filter = strdup(n->id);
			ds->wide = wide;
		}
		ext_add_space_kids(ns, n); /* scripts/ (ns_ext.c) */
		break;
	}
	case RK_DATASTORE:
		self = "data-store.json";
		add_coll(ns, n, "data-assets", C_ASSETS, RK_DATAASSET, n->id, NULL);
		break;
	case RK_DATAASSET:
		self = "data-asset.json";
		/* the asset's store id is needed to list its data sets */
		add_coll(ns, n, "data-sets", C_SETS, RK_DATASET, n->id, n->id2);
		break;
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

/* The resource's own file inside a resource directory, or NULL. */
struct node *node_self(const struct node *dir)
{
	for (size_t i = 0; i < dir->nkids; i++)
		if (dir->kidv[i]->self)
			return dir->kidv[i];
	return NULL;
}

void content_key(const struct node *n, char *buf, size_t len)
{
	if (n->role == R_ME)
		snprintf(buf, len, "me");
	else
		snprintf(buf, len, "%s:%s", n->rt ? n->rt->type : "?", n->id ? n->id : "");
}

/* Applies a resource object to n (and, for a resource directory, to its own
 * file): times, size, and the rendered content into the cache.  When out is
 * not NULL it receives a reference to the content (which the byte bound may
 * have kept out of the cache). */
int node_set_obj(struct ns *ns, struct node *n, const cJSON *obj, struct cache_blob **out)
{
	size_t len;
	char key[256];
	const struct rtype *rt = n->rt ? n->rt : restab_get(RK_USER);
	char *txt = jsonfmt_pretty(obj, &len);
	if (!txt)
		return -ENOMEM;
	struct cache_blob *b = cache_blob_take(txt, len);
	if (!b)
		return -ENOMEM;
	int64_t mt = restab_mtime_ms(rt, obj), ct = restab_ctime_ms(rt, obj);
	struct node *targets[2] = { n, n->role == R_RESDIR ? node_self(n) : NULL };
	for (int i = 0; i < 2 && targets[i]; i++) {
		struct node *t = targets[i];
		bool changed = t->mtime_ms != (mt ? mt : t->mtime_ms) ||
			       (!t->dir && t->size != len);
		if (mt)
			t->mtime_ms = mt;
		if (ct)
			t->ctime_ms = ct;
		if (!t->dir)
			t->size = len;
		if (changed && t->reported)
			ns_inval_inode(ns, t); /* the kernel holds the old attributes */
	}
	content_key(n, key, sizeof(key));
	int rc = cache_put(ns->o.cache, key, b, ns->o.ttl_ms);
	if (out && rc == 0)
		*out = b;
	else
		cache_blob_unref(b);
	return rc;
}

/* ---- freshness ---- */

/* The node whose listing (listed_at) or fetch (fetched_at) vouches for n. */
static struct node *fresh_src(struct node *n)
{
	struct node *p = n->parent;
	if (n->role == R_SCRATCH || n->role == R_NEW)
		return NULL; /* in memory: always current */
	if (n->role == R_INDEX)
		return p;
	if (n->role == R_QVF)
		return n->twin ? fresh_src(n->twin) : NULL;
	if (n->role == R_QVFDIR)
		return NULL;
	if (n->role == R_UPLOAD)
		return NULL;
	if (n->hidden || n->role == R_ME)
		return n;
	if (n->self)
		return fresh_src(p);
	if (n->role == R_FOLDER)
		return n->coll_root;
	if (n->role == R_FILE || n->role == R_RESDIR) {
		if (p && p->role == R_FOLDER)
			return p->coll_root;
		return p;
	}
	return NULL; /* static dirs and collections: fixed attributes */
}

/* Makes n's attributes fresh, refreshing its listing or fetching it.  May drop
 * and retake ns->lock.  Returns 0, -ENOENT if n vanished, or another -errno. */
int ensure_node_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	if (n->role == R_EXT)
		return ext_fresh(ns, n, err, errn);
	struct node *src = fresh_src(n);
	int rc = 0;
	if (src && src->role == R_COLL) {
		if (!ns_fresh(ns, src->listed_at))
			rc = coll_refresh(ns, src, err, errn);
	} else if (src && !ns_fresh(ns, src->fetched_at)) {
		rc = fetch_one(ns, src, NULL, err, errn);
	}
	if (rc)
		return rc;
	for (struct node *a = n; a && a->ino != NS_ROOT_INO; a = a->parent)
		if (a->gone)
			return -ENOENT;
	if (n->role == R_QVF && (!n->fetched_at || !n->twin || n->fetched_at != n->twin->mtime_ms))
		return qvf_node_size(ns, n, false, err, errn);
	return 0;
}

/* Makes a directory's entries fresh: re-lists the collection that fills it
 * (itself, or a data-file folder's collection) when stale, then makes the
 * directory's own attributes fresh.  May drop and retake ns->lock. */
int ensure_node_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	if (d->role == R_EXT)
		return ext_listed(ns, d, err, errn);
	struct node *c = d->role == R_COLL ? d
			 : (d->role == R_FOLDER || d->role == R_QVFDIR) ? d->coll_root : NULL;
	int rc;
	if (c && !ns_fresh(ns, c->listed_at) && (rc = coll_refresh(ns, c, err, errn)))
		return rc;
	return ensure_node_fresh(ns, d, err, errn);
}

void ns_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = n->ino;
	a->uid = ns->o.uid;
	a->gid = ns->o.gid;
	a->mtime_ms = n->mtime_ms;
	a->ctime_ms = n->ctime_ms;
	n->reported = true;
	if (n->dir) {
		a->mode = S_IFDIR | (0777 & ~ns->o.umask);
		a->nlink = 2;
	} else {
		/* changes/ files show 0666: refused writes say EACCES themselves */
		bool w = node_writable(n) || n->role == R_LOCAL;
		a->mode = S_IFREG | ((w ? 0666 : 0444) & ~ns->o.umask);
		a->nlink = 1;
		a->size = n->size;
		if (n->role == R_SCRATCH || n->role == R_NEW)
			a->size = n->memlen;
		else if (n->role == R_UPLOAD)
			a->size = n->tmplen;
		if (n->role == R_QVF && n->twin) {
			a->mtime_ms = n->twin->mtime_ms;
			a->ctime_ms = n->twin->ctime_ms;
		}
		else if (n->dirty_handles) {
			/* a size that lasts only while a writer holds the file:
			 * the kernel must not keep it past the close */
			a->size = n->wsize;
			a->transient = true;
		}
		n->reported_size = a->size;
	}
	if (n->role == R_INDEX) {
		index_update(ns, n);
		a->size = n->reported_size = n->size;
		a->mtime_ms = n->mtime_ms;
	}
	if (n->role == R_EXT)
		ext_fill_attr(ns, n, a);
	if (ns->o.read_only)
		a->mode &= ~(mode_t)0222;
}

struct node *ns_node(struct ns *ns, uint64_t ino)
{
	return ino < ns->ntab ? ns->tab[ino] : NULL;
}

/* ---- public API ---- */

struct ns *ns_new(const struct ns_opts *o)
{
	struct ns *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->o = *o;
	if (ns->o.ttl_ms <= 0)
		ns->o.ttl_ms = 1;
	pthread_mutex_init(&ns->lock, NULL);
	clock_cond_init(&ns->cv);
	ns->mount_ms = ns_wall_ms();
	ns->ntab = 1; /* inode 0 is invalid */
	ns->captab = 1024;
	ns->tab = calloc(ns->captab, sizeof(*ns->tab));
	if (!ns->tab) {
		free(ns);
		return NULL;
	}
	struct node *root = node_new(ns, NULL, "/", R_STATIC, true);
	if (!root) {
		ns_free(ns);
		return NULL;
	}
	root->pinned = true;
	node_add_fixed_kids(ns, root);
	struct node *me = strmap_get(root->kids, "me.json");
	if (ns->o.me && me && node_set_obj(ns, me, ns->o.me, NULL) == 0)
		me->fetched_at = ns_now(ns) ? ns_now(ns) : 1;
	ns->o.me = NULL; /* borrowed for this call only */
	return ns;
}

void ns_free(struct ns *ns)
{
	if (!ns)
		return;
	ext_free(ns);
	for (size_t i = 1; i < ns->ntab; i++)
		node_destroy(ns->tab[i]);
	free(ns->tab);
	pthread_cond_destroy(&ns->cv);
	pthread_mutex_destroy(&ns->lock);
	free(ns);
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
	struct node *listed = strmap_get(c->by_id, id);
	int64_t started = ns_now(ns);
	cJSON *root = NULL;
	const cJSON *obj = NULL;
	if (!listed) {
		int rc = fetch_obj(ns, c->rt, id, &root, &obj, err, errn);
		if (rc)
			return rc;
		struct node *raced = strmap_get(c->kids, name); /* made while unlocked */
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
	n->id2 = listed && listed->id2 ? strdup(listed->id2) : (c->id2 ? strdup(c->id2) : NULL);
	if (c->coll == C_ASSETS && c->id && !n->id2)
		n->id2 = strdup(c->id); /* asset under data-stores/S: its store */
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
	if (ns_local_owns(ns, parent))
		return ns_local_lookup(ns, parent, name, out);
	int rc = 0;
	pthread_mutex_lock(&ns->lock);
	struct node *p = ns_node(ns, parent);
	if (!p || !p->dir) {
		rc = p ? -ENOTDIR : -ENOENT;
		goto out;
	}
	if ((rc = ensure_node_listed(ns, p, err, errn)))
		goto out;
	struct node *n = strmap_get(p->kids, name);
	if (!n && p->role == R_COLL && p->coll != C_NONE && !p->space_filter) {
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
		if (id[0] && id_like(id)) {
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
	if ((rc = ensure_node_fresh(ns, n, err, errn)))
		goto out;
	ns_fill_attr(ns, n, out);
	n->nlookup++;
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

void ns_forget(struct ns *ns, uint64_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (n)
		n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
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
	if (ns_local_owns(ns, ino))
		return ns_local_getattr(ns, ino, out);
	int rc;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	rc = n ? ensure_node_fresh(ns, n, err, errn) : -ENOENT;
	if (!rc)
		ns_fill_attr(ns, n, out);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(((const struct ns_dirent *)a)->name, ((const struct ns_dirent *)b)->name);
}

int ns_dir_sort(struct ns_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->ents[i].name)
			return -ENOMEM;
	qsort(d->ents + 2, d->n - 2, sizeof(*d->ents), cmp_dirent);
	return 0;
}

int ns_dir_done(struct ns *ns, struct ns_dir *d, int rc, struct ns_dir **out)
{
	pthread_mutex_unlock(&ns->lock);
	if (rc) {
		ns_closedir(d);
		d = NULL;
	}
	*out = d;
	return rc;
}

/* Would k's attributes take a request of their own (a GET, an export)?  Such
 * an entry goes to readdirplus without attributes, so that the kernel looks it
 * up and the size it is given is the size a read returns (me.json before its
 * first read showed 0 bytes, and rsync copied it empty). */
static bool attrs_need_fetch(struct ns *ns, struct node *k)
{
	if (k->role == R_QVF)
		return (!k->twin || k->fetched_at != k->twin->mtime_ms) &&
		       qvf_node_size(ns, k, true, NULL, 0);
	if (k->role == R_EXT)
		return ext_attrs_need_fetch(ns, k); /* a script not fetched yet */
	return fresh_src(k) == k && !ns_fresh(ns, k->fetched_at);
}

int ns_opendir(struct ns *ns, uint64_t ino, struct ns_dir **out, char *err, size_t errn)
{
	if (ns_local_owns(ns, ino))
		return ns_local_opendir(ns, ino, out);
	int rc = 0;
	struct ns_dir *d = NULL;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (!n || !n->dir) {
		rc = n ? -ENOTDIR : -ENOENT;
		goto out;
	}
	if ((rc = ensure_node_listed(ns, n, err, errn)))
		goto out;
	if (n->role == R_EXT)
		ext_opendir(ns, n); /* scripts/: every stale script, side by side */
	d = calloc(1, sizeof(*d));
	if (!d || !(d->ents = calloc(n->nkids + 2, sizeof(*d->ents)))) {
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
		if (attrs_need_fetch(ns, k))
			d->ents[d->n].noattr = true; /* unknown without a request: looked up */
		ns_fill_attr(ns, k, &d->ents[d->n].attr);
		d->n++;
	}
	rc = ns_dir_sort(d);
out:
	return ns_dir_done(ns, d, rc, out);
}

void ns_closedir(struct ns_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d);
}

struct ns_file *ns_file_new(struct ns *ns, uint64_t ino, struct cache_blob *b)
{
	struct ns_file *f = calloc(1, sizeof(*f));
	if (!f) {
		cache_blob_unref(b);
		return NULL;
	}
	f->ns = ns;
	f->ino = ino;
	f->blob = b;
	return f;
}

static const char *xattr_value(struct ns *ns, const struct node *n, const char *name)
{
	if (n->role == R_EXT)
		return ext_xattr(ns, n, name);
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
		n->listed_at = 0;
		n->fetched_at = 0;
		if (!n->gone && n->parent)
			ns_inval_entry(ns, n->parent, n->name);
		ns_inval_inode(ns, n);
	}
	ext_drop_caches(ns); /* reports' statuses and output listings */
	pthread_mutex_unlock(&ns->lock);
	cache_clear(ns->o.cache);
}

void ns_get_stats(struct ns *ns, struct ns_stats *st)
{
	pthread_mutex_lock(&ns->lock);
	*st = ns->stats;
	pthread_mutex_unlock(&ns->lock);
}
