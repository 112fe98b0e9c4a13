/*
 * ns_notify.c - changes learnt from outside the namespace (the change
 * poller): the resources named become stale in our caches and the kernel's,
 * so that the next ls, stat or cat asks the tenant again, whatever the TTL.
 *
 * For a kind and a set of ids: every collection of that kind is marked
 * unlisted (listed_at = 0: its next use re-lists it, which also picks up
 * creations and drops deletions); every node of those resources (listed or
 * reached by bare id, a resource directory and its own file) is marked
 * unfetched, and the kernel is told to forget its entry and attributes; the
 * content and negative cache entries of the ids are dropped.
 *
 * Locks: takes ns->lock.  A listing of that kind in flight may predate the
 * change: the function waits for it (on ns->cv) before marking, so its
 * result cannot be taken as fresh afterwards.
 */
#include "ns/core/ns_internal.h"
#include "ns/ns.h"

#include <stdio.h>

void ns_note_changed(struct ns *ns, enum rkind kind, const char *const *ids, size_t nids)
{
	const struct rtype *rt = restab_get(kind);
	struct strmap *set = strmap_new();
	char key[512];

	for (size_t i = 0; i < nids; i++) {
		if (set)
			strmap_put(set, ids[i], (void *)1);
		snprintf(key, sizeof(key), "%s:%s", rt->type, ids[i]);
		cache_invalidate(ns->o.cache, key);
		snprintf(key, sizeof(key), "neg:%s:%s", rt->type, ids[i]);
		cache_invalidate(ns->o.cache, key);
	}
	pthread_mutex_lock(&ns->lock);
	node_table_changed(ns, kind, set);
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd) /* an app's script, data model */
		if (kd->note_changed)
			kd->note_changed(ns, kind, ids, nids);
	pthread_mutex_unlock(&ns->lock);
	strmap_free(set);
}
