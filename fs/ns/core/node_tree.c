/*
 * node_tree.c - the tree's fixed entries (a collection or a fixed directory
 * made pinned, a directory's kind's fixed_kids) and the node table's answer
 * to resources changed behind the mount's back.  Locks: ns->lock held by
 * every caller (ns_internal.h).
 */
#include "ns/core/ns_internal.h"

#include <stdlib.h>
#include <string.h>

struct node *node_add_coll(struct ns *ns, struct node *parent, const char *name, enum rkind kind,
			  const char *scope, const char *scope2)
{
	struct node *n = node_new(ns, parent, name, R_COLL, true);
	if (!n)
		return NULL;
	n->pinned = true;
	n->rt = restab_get(kind);
	if (node_listing_init(n, NULL, true)) {
		node_detach(ns, n);
		return NULL;
	}
	n->id = scope ? strdup(scope) : NULL;
	n->store_id = scope2 ? strdup(scope2) : NULL;
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd) /* the kinds' own: .qvf/, .index.json */
		if (kd->coll_kids)
			kd->coll_kids(ns, n);
	return n;
}

struct node *node_add_static(struct ns *ns, struct node *parent, const char *name)
{
	struct node *n = node_new(ns, parent, name, R_STATIC, true);
	if (n)
		n->pinned = true;
	return n;
}

void node_fixed_kids(struct ns *ns, struct node *n)
{
	const struct ns_kind *k = KIND(ns, n);
	if (k && k->fixed_kids)
		k->fixed_kids(ns, n);
}

void node_table_changed(struct ns *ns, enum rkind kind, struct strmap *ids)
{
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *n = ns->tab[i];
		if (!n)
			continue;
		if (n->role == R_COLL) {
			if (n->rt && n->rt->kind == kind) {
				node_set_listed(n, 0);
				/* a listing in flight may predate the change: used,
				 * but not counted fresh (no wait on it here) */
				n->refresh_outdated = cs_of(n)->listing.running;
			}
			continue;
		}
		if (n->role == R_ME) {
			if (n->rt && kind == n->rt->kind)
				n->fetched_at = 0; /* it may be the caller */
			continue;
		}
		if (!n->rt || n->rt->kind != kind || !n->id || (ids && !strmap_get(ids, n->id)))
			continue;
		n->fetched_at = 0;
		if (!n->gone && n->parent)
			ns_inval_entry(ns, n->parent, n->name);
		if (n->reported)
			ns_inval_inode(ns, n);
	}
}
