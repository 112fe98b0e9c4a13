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


/* ---- node table ---- */

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
	return ensure_node_fresh(ns, d, err, errn);
}

bool node_writable(const struct ns *ns, const struct node *n)
{
	return KIND(ns, n) && KIND(ns, n)->writable && KIND(ns, n)->writable(n);
}

void ns_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	node_fill_attr(ns, n, node_writable(ns, n), a);
	if (KIND(ns, n) && KIND(ns, n)->fill_attr) {
		KIND(ns, n)->fill_attr(ns, n, a);
		if (ns->o.read_only)
			a->mode &= ~(mode_t)0222;
	}
}


/* ---- public API ---- */



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
	if (!n && pk && pk->lookup_missing && (rc = pk->lookup_missing(ns, p, name, &n, err, errn)))
		goto out; /* (a collection's resource by bare id) */
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
	if (!(d = ns_dir_new(ns, n->nkids + lazy + 2))) {
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
	if (!strcmp(name, "user.qlik.id"))
		return n->id;
	if (!strcmp(name, "user.qlik.type"))
		return n->rt ? n->rt->type : NULL;
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
		node_set_listed(n, 0);
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
