/*
 * ns_walk.c - walks, and the freshness rule that depends on them.
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
#include "ns/ns_internal.h"

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

void ns_walk_end(void)
{
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
