/*
 * node.c - the node table: nodes and their tree (new, attach, detach,
 * destroy), the clocks and deadlines of the namespace, the kernel's
 * invalidations, a node's resource content.  The layer
 * below the kinds: everything here is used by the dispatcher (ns/) and by the
 * kind files (ns/kinds/) alike, and calls neither.  Locks: ns_internal.h.
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/qclient.h"
#include "res/restab.h"
#include "util/clock.h"
#include "util/inomap.h"
#include "client/errmap.h"
#include "util/jsonfmt.h"

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

int64_t ns_transfer_deadline(struct ns *ns)
{
	return ns->o.transfer_timeout_ms > 0 ? clock_mono_ms() + ns->o.transfer_timeout_ms
					     : ns_deadline(ns);
}

int ns_wait(struct ns *ns, int64_t deadline, const char *what, char *err, size_t errn)
{
	if (!clock_cond_wait_until(&ns->cv, &ns->lock, deadline))
		return 0;
	errmsg_set(err, errn, "timed out waiting for %s (another caller's request)", what);
	return -EIO; /* as a timeout of our own request: a network failure */
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

/* A directory's children by name: buckets of nodes chained through their
 * knext (the name is the node's own), made at the first child, doubled
 * when as many children as buckets (a failed growth only makes chains
 * longer). */
struct kidmap {
	uint32_t nb, n; /* nb a power of two */
	struct node *b[];
};

struct node *node_kid(const struct node *dir, const char *name)
{
	const struct kidmap *m = dir->kids;
	if (!m)
		return NULL;
	for (struct node *k = m->b[strmap_hash(name) & (m->nb - 1)]; k; k = k->knext)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

static void kids_link(struct kidmap *m, struct node *n)
{
	struct node **b = &m->b[strmap_hash(n->name) & (m->nb - 1)];
	n->knext = *b;
	*b = n;
}

/* Room in p's map for one more child: -ENOMEM only when p has no map yet
 * and none can be made. */
static int kids_room(struct node *p)
{
	struct kidmap *m = p->kids;
	if (!m || m->n >= m->nb) {
		uint32_t nb = m ? m->nb * 2 : 8;
		struct kidmap *g = calloc(1, sizeof(*g) + nb * sizeof(g->b[0]));
		if (!g && !m)
			return -ENOMEM;
		if (g) {
			g->nb = nb;
			for (uint32_t i = 0; m && i < m->nb; i++)
				for (struct node *k = m->b[i], *nx; k; k = nx) {
					nx = k->knext;
					kids_link(g, k);
				}
			g->n = m ? m->n : 0;
			free(m);
			p->kids = g;
		}
	}
	return 0;
}

/* Links n (its name set) into p's map (kids_room succeeded). */
static void kids_put(struct node *p, struct node *n)
{
	kids_link(p->kids, n);
	p->kids->n++;
	n->in_kids = true;
}

/* Unlinks n from its parent's map (by its current name). */
static void kids_del(struct node *p, struct node *n)
{
	struct kidmap *m = p->kids;
	if (!n->in_kids || !m)
		return;
	for (struct node **pp = &m->b[strmap_hash(n->name) & (m->nb - 1)]; *pp; pp = &(*pp)->knext)
		if (*pp == n) {
			*pp = n->knext;
			m->n--;
			break;
		}
	n->knext = NULL;
	n->in_kids = false;
}

/* Puts n under parent as `name` (replacing n's name).  A hidden node holding
 * that name is evicted: listed entries win.  Returns 0 or -ENOMEM. */
int node_attach(struct ns *ns, struct node *parent, struct node *n, const char *name)
{
	struct node *old = node_kid(parent, name);
	if (old && old != n) {
		if (!old->hidden)
			return -EEXIST;
		kids_del(parent, old);
		old->gone = true;
		ns_inval_entry(ns, parent, name);
	}
	char *nm = strdup(name);
	if (!nm)
		return -ENOMEM;
	if (kids_room(parent) < 0 || (!n->hidden && kidv_push(parent, n) < 0)) {
		free(nm);
		return -ENOMEM;
	}
	if (n->in_kids && n->parent)
		kids_del(n->parent, n); /* (its old entry, under its old name) */
	free(n->name);
	n->name = nm;
	kids_put(parent, n);
	n->parent = parent;
	n->gone = false;
	if (ns->hooks.attached)
		ns->hooks.attached(ns, n); /* (an app's export follows its file) */
	return 0;
}

/* Takes n out of its parent (it keeps its inode; gone until re-attached). */
void node_detach(struct ns *ns, struct node *n)
{
	struct node *p = n->parent;
	if (!p || n->gone)
		return;
	kids_del(p, n);
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
	n->mtime_ms = n->ctime_ms = ns->mount_ms;
	if (role == R_COLL && !node_cs(n)) {
		free(n->cs);
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

const struct node_body node_body_none = { .tmpfd = -1 };

struct node_body *node_body(struct node *n)
{
	if (!n->body && (n->body = calloc(1, sizeof(*n->body))))
		n->body->tmpfd = -1;
	return n->body;
}

const struct coll_state coll_state_none;

struct coll_state *node_cs(struct node *n)
{
	if (!n->cs)
		n->cs = calloc(1, sizeof(*n->cs));
	return n->cs;
}

/* (cs->vindex: freed by ns_free, ns_view.c's) */
static void cs_free(struct coll_state *cs)
{
	if (!cs)
		return;
	strmap_free(cs->by_id);
	free(cs->refresh_err);
	free(cs->conn);
	free(cs->space_filter);
	free(cs->view_key);
	free(cs);
}

int node_listing_init(struct node *n, struct node *root, bool with_ids)
{
	struct coll_state *cs = node_cs(n);
	if (!cs || (with_ids && !cs->by_id && !(cs->by_id = strmap_new())))
		return -ENOMEM;
	cs->coll_root = root;
	return 0;
}

static void body_free(struct node_body *b)
{
	if (!b)
		return;
	free(b->mem);
	if (b->tmpfd >= 0)
		close(b->tmpfd);
	free(b->ixbuf);
	cJSON_Delete(b->created);
	free(b);
}

void node_destroy(struct node *n)
{
	body_free(n->body);
	cs_free(n->cs);
	free(n->errmsg);
	free(n->name);
	free(n->id);
	free(n->store_id);
	free(n->sname);
	free(n->kidv);
	free(n->kids);
	free(n);
}

bool node_reclaim(struct ns *ns, struct node *n)
{
	const struct ns_kind *k = KIND(ns, n);
	if (!n->lazy || n->nlookup || n->dir || n->busy || n->dirty_handles || n->errmsg ||
	    n->body || n->mem_dirty || !k || !k->reclaim || !k->reclaim(ns, n))
		return false;
	if (!n->gone) {
		/* (its number for the next time it is made; without room, a new one) */
		if (n->parent && ns->lazy_inos)
			(void)inomap_put(ns->lazy_inos, inomap_key(n->parent->ino, n->name), n->ino);
		node_detach(ns, n);
	}
	ns->tab[n->ino] = NULL;
	ns->stats.nodes--;
	node_destroy(n);
	return true;
}

void node_lazy_made(struct ns *ns, struct node *n)
{
	n->lazy = true;
	if (!n->parent)
		return;
	/* the number it had: the kernel forgot it (its node was freed only then) */
	uint64_t old = ns->lazy_inos ? inomap_take(ns->lazy_inos, inomap_key(n->parent->ino, n->name))
				     : 0;
	if (old && old < ns->ntab && !ns->tab[old]) {
		ns->tab[n->ino] = NULL;
		if (n->ino == ns->ntab - 1)
			ns->ntab--; /* (node_new's slot, seen by no one yet) */
		n->ino = old;
		ns->tab[old] = n;
	}
	size_t cap = ns->o.view_nodes;
	if (!cap || (!ns->lazy_ring && !(ns->lazy_ring = calloc(cap, sizeof(*ns->lazy_ring)))))
		return; /* (without the ring: kept as long as the kernel keeps them) */
	if (ns->lazy_len == cap) {
		/* the oldest: the kernel drops its entry and, once no one uses the
		 * inode, forgets it (ns_forget frees the node: node_reclaim) */
		uint64_t o = ns->lazy_ring[ns->lazy_head];
		ns->lazy_head = (ns->lazy_head + 1) % cap;
		ns->lazy_len--;
		struct node *m = o < ns->ntab ? ns->tab[o] : NULL;
		if (m && m != n && m->lazy && !m->gone && m->parent)
			ns_inval_entry(ns, m->parent, m->name);
	}
	ns->lazy_ring[(ns->lazy_head + ns->lazy_len++) % cap] = n->ino;
}

size_t node_kid_pos(const struct node *dir, const char *id)
{
	const struct node *k = id && cs_of(dir)->by_id ? strmap_get(cs_of(dir)->by_id, id) : NULL;
	return k && k->parent == dir && k->idx < dir->nkids && dir->kidv[k->idx] == k ? k->idx : 0;
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

const char *node_xattr_error(struct ns *ns, const struct node *n, const char *name)
{
	(void)ns;
	return !strcmp(name, "user.qlik.error") ? n->errmsg : NULL;
}

/* Does the cache hold exactly b's bytes under key? */
static bool cached_same(struct ns *ns, const char *key, const struct cache_blob *b)
{
	struct cache_blob *c = NULL;
	bool same = cache_lookup(ns->o.cache, key, &c) == 1 && c &&
		    cache_blob_len(c) == cache_blob_len(b) &&
		    !memcmp(cache_blob_data(c), cache_blob_data(b), cache_blob_len(b));
	cache_blob_unref(c);
	return same;
}

/* Applies a resource object to n (and, for a resource directory, to its own
 * file): times, size, and the rendered content into the cache.  When out is
 * not NULL it receives a reference to the content (which the byte bound may
 * have kept out of the cache). */
int node_set_obj(struct ns *ns, struct node *n, const cJSON *obj, struct cache_blob **out)
{
	size_t len;
	char key[256];
	const struct rtype *rt = n->rt;
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
	if (!out && ns->from_cache && cached_same(ns, key, b)) {
		cache_blob_unref(b); /* (kept where the tenant-wide listing put it) */
		return 0;
	}
	/* kept as long as the listing that brought it may be fresh (a walk):
	 * freshness is the listing's (or the fetch's), checked before use */
	int rc = !out && ns->batch
			 ? cache_batch_put(ns->batch, key, b, ns->o.ttl_ms + ns->o.walk_max_ms)
			 : cache_put(ns->o.cache, key, b, ns->o.ttl_ms + ns->o.walk_max_ms);
	if (out && rc == 0)
		*out = b;
	else
		cache_blob_unref(b);
	return rc;
}

struct node *ns_node(struct ns *ns, uint64_t ino)
{
	return ino < ns->ntab ? ns->tab[ino] : NULL;
}

/* The attributes every node has, from its own fields; writable: the file's
 * write bits (before the umask).  The dispatcher adds what a kind knows (a
 * memory file's or an upload's size, an export's times: its fill_attr,
 * which also sets reported_size when it changes the size). */
void node_fill_attr(struct ns *ns, struct node *n, bool writable, struct ns_attr *a)
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
		a->mode = S_IFREG | ((writable ? 0666 : 0444) & ~ns->o.umask);
		a->nlink = 1;
		a->size = n->size;
		if (n->dirty_handles) {
			/* a size that lasts only while a writer holds the file:
			 * the kernel must not keep it past the close */
			a->size = body_of(n)->wsize;
			a->transient = true;
		}
		n->reported_size = a->size;
	}
	if (ns->o.read_only)
		a->mode &= ~(mode_t)0222;
}

struct node *node_fresh_src(struct node *n)
{
	struct node *p = n->parent;
	if (n->role == R_SCRATCH || n->role == R_NEW)
		return NULL; /* in memory: always current */
	if (n->hidden || n->role == R_ME)
		return n;
	if (n->self)
		return node_fresh_src(p);
	if (n->role == R_FOLDER)
		return cs_of(n)->coll_root;
	if (n->role == R_FILE || n->role == R_RESDIR) {
		if (p && p->role == R_FOLDER)
			return cs_of(p)->coll_root;
		return p;
	}
	return NULL; /* static dirs and collections: fixed attributes */
}

/* (the queue is ns_defer.c's; listings and lookups ask here) */
bool defer_hides(const struct ns *ns, enum rkind kind, const char *id)
{
	for (size_t i = 0; i < ns->ndq; i++) {
		const struct node *n = ns->dq[i];
		if (n->rt && n->rt->kind == kind && n->id && !strcmp(n->id, id))
			return true;
	}
	return false;
}

const struct ns_kind *ns_kind_once(const struct ns *ns, unsigned r)
{
	const struct ns_kind *k = r < NS_ROLES ? ns->kinds[r] : NULL;
	for (unsigned e = 0; k && e < r; e++)
		if (ns->kinds[e] == k)
			return NULL;
	return k;
}

int ns_kind_add(struct ns *ns, const struct ns_kind *k)
{
	for (unsigned r = R_COUNT; r < NS_ROLES; r++)
		if (!ns->kinds[r]) {
			ns->kinds[r] = k;
			return (int)r;
		}
	return -ENOSPC;
}

const struct ns_kind *ns_kind_named(const struct ns *ns, const char *name)
{
	for (unsigned r = R_COUNT; r < NS_ROLES; r++)
		if (ns->kinds[r] && !strcmp(ns->kinds[r]->name, name))
			return ns->kinds[r];
	return NULL;
}

unsigned ns_role_of(const struct ns *ns, const struct ns_kind *k)
{
	unsigned r = 0;
	while (r < NS_ROLES && ns->kinds[r] != k)
		r++;
	return r;
}

void *ns_kstate(const struct ns *ns, const struct ns_kind *k)
{
	unsigned r = ns_role_of(ns, k);
	return r < NS_ROLES ? ns->kstate[r] : NULL;
}

void ns_kstate_set(struct ns *ns, const struct ns_kind *k, void *state)
{
	unsigned r = ns_role_of(ns, k);
	if (r < NS_ROLES)
		ns->kstate[r] = state;
}

struct node *node_new_of(struct ns *ns, struct node *parent, const char *name,
			 const struct ns_kind *k, bool dir)
{
	unsigned r = ns_role_of(ns, k);
	return r < NS_ROLES ? node_new(ns, parent, name, (enum nrole)r, dir) : NULL;
}

void node_set_kind(struct ns *ns, struct node *n, const struct ns_kind *k)
{
	unsigned r = ns_role_of(ns, k);
	if (r < NS_ROLES)
		n->role = (enum nrole)r;
}

const struct ns_kind *ns_ino_kind(struct ns *ns, uint64_t ino)
{
	pthread_mutex_lock(&ns->lock);
	const struct node *n = ino < ns->ntab ? ns->tab[ino] : NULL;
	const struct ns_kind *k = n && KIND(ns, n) && KIND(ns, n)->getattr_ino ? KIND(ns, n) : NULL;
	pthread_mutex_unlock(&ns->lock);
	return k;
}

/* ---- walks and freshness ----
 * Walks, and the freshness rule that depends on them.
 *
 * A walk is a run of operations (lookups, getattrs, opendirs, opens) with
 * no pause longer than the walk gap, min(1 s, cache_ttl): a tar, rsync, cp -r
 * or find of the tree is one walk however long it takes.  A listing or fetch
 * made during the current walk stays fresh until the walk ends, at most
 * walk_max after the walk started, even when the walk lasts longer than
 * cache_ttl: a walk never fetches twice what it fetched (docs/SEMANTICS.md
 * "Caching and consistency").  Between walks, and for a second look, cache_ttl
 * keeps its meaning: an operation that visits a node a second time in the
 * same walk (a second opendir of a directory, a second open of a file, the
 * loop of a script that polls for a change) sees plain cache_ttl freshness,
 * as does every opening for writing.
 *
 * The rule of the operation running on a thread is thread-local (set by
 * ns_walk_visit at its start, cleared by ns_walk_end): freshness checks deep
 * in the namespace (ns_fresh) read it without a parameter.  Everything else
 * (changes, background prefetch) sees plain cache_ttl freshness.
 *
 * Locks: ns->lock is held by the callers of everything here.
 */
#define WALK_GAP_MS 1000

/* this thread's operation may use walk freshness */
static __thread bool op_walk;

static int64_t walk_gap(const struct ns *ns)
{
	return ns->o.ttl_ms < WALK_GAP_MS ? ns->o.ttl_ms : WALK_GAP_MS;
}

void ns_walk_visit(struct ns *ns, struct node *n, unsigned op)
{
	int64_t now = ns_now(ns);
	if (!ns->walk_id || now - ns->walk_last > walk_gap(ns)) {
		ns->walk_id++;
		ns->walk_start = now;
	}
	ns->walk_last = now;
	op_walk = !(op & WALK_STRICT);
	op &= ~(unsigned)WALK_STRICT;
	if (!n)
		return;
	if (n->walk_id != ns->walk_id) {
		n->walk_id = ns->walk_id;
		n->walk_ops = 0;
	}
	if (n->walk_ops & op)
		op_walk = false; /* a second look */
	n->walk_ops |= (unsigned char)op;
}

void ns_walk_end(struct ns *ns)
{
	/* the gap is counted from the end of the last operation too: one that
	 * ran long (a listing of 125 pages, a readahead of 64 scripts) does not
	 * end the walk it belongs to */
	ns->walk_last = ns_now(ns);
	op_walk = false;
}

bool ns_fresh(struct ns *ns, int64_t t)
{
	if (!t)
		return false;
	int64_t now = ns_now(ns);
	if (now - t < ns->o.ttl_ms)
		return true;
	/* made in the walk going on, which has not outlived walk_max */
	return op_walk && ns->o.walk_max_ms > 0 && t >= ns->walk_start &&
	       now - ns->walk_start < ns->o.walk_max_ms;
}

void node_mirror_stat(struct node *n, const struct stat *st)
{
	n->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	n->ctime_ms = (int64_t)st->st_ctim.tv_sec * 1000 + st->st_ctim.tv_nsec / 1000000;
	if (!n->dir)
		n->size = (uint64_t)st->st_size;
}

int node_mirror(struct ns *ns, struct node *p, const char *name, const struct stat *st,
		const struct ns_kind *kd, struct node **out)
{
	struct node *k = node_kid(p, name);
	if (!st || (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))) {
		if (k && !k->pinned)
			node_detach(ns, k);
		return -ENOENT;
	}
	if (k && k->dir != S_ISDIR(st->st_mode)) {
		node_detach(ns, k);
		k = NULL;
	}
	if (!k && !(k = node_new_of(ns, p, name, kd, S_ISDIR(st->st_mode))))
		return -ENOMEM;
	node_mirror_stat(k, st);
	*out = k;
	return 0;
}

int node_path(const struct node *n, char *buf, size_t len)
{
	if (!len)
		return -1;
	if (!n->parent || n->ino == NS_ROOT_INO) {
		buf[0] = '\0';
		return 0;
	}
	int l = node_path(n->parent, buf, len);
	if (l < 0)
		return -1;
	int w = snprintf(buf + l, len - (size_t)l, "%s%s", l ? "/" : "", n->name);
	return w < 0 || (size_t)w >= len - (size_t)l ? -1 : l + w;
}
