/*
 * ns_prefetch.c - the tenant-wide listings a walk of the tree will need,
 * listed side by side in the background.
 *
 * List pages are a sequential chain (each page names the next), so a walk
 * of the whole tenant cannot be faster than its longest chain; it can be that
 * fast when the chains run side by side while the walk reads.  When a walk
 * lists a directory and then one of its subdirectories (tar, rsync, cp -r,
 * find, ls -R), prefetch_for_dir() queues the tenant-wide collections under
 * that directory that are neither fresh nor being listed; `prefetch` worker
 * threads (-o prefetch=N, default 4; 0: none) list them, longest chain first,
 * each through coll_refresh (single flight: a walk reaching a collection
 * that is being listed joins that listing, and a view waits for a queued
 * one: ns_view.c).  The workers' requests go through the same client as
 * every other (its 429 handling, its connection pool).
 *
 * Locks: the queue and the `queued` flags are GUARDED_BY(ns->lock); workers
 * sleep on pf->cv (with ns->lock) and never hold the lock across a request
 * (coll_refresh drops it).  prefetch_free() stops and joins the workers; it
 * is called by ns_free, without the lock, when no operation runs.
 */
#include "ns/core/ns_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

#define QMAX 16
#define IDLE_WAKE_MS 1000

struct prefetch {
	pthread_t *th;
	int nth;
	bool stop;
	pthread_cond_t cv;
	struct node *q[QMAX];
	size_t qn;
};

static void *worker(void *arg)
{
	struct ns *ns = arg;
	struct prefetch *pf;
	char err[512];
	pthread_mutex_lock(&ns->lock);
	pf = ns->prefetch;
	while (!pf->stop) {
		if (!pf->qn) {
			/* idle: no operation waits on this, the bound is a wake-up */
			clock_cond_wait_until(&pf->cv, &ns->lock, clock_mono_ms() + IDLE_WAKE_MS);
			continue;
		}
		struct node *c = pf->q[0];
		memmove(pf->q, pf->q + 1, --pf->qn * sizeof(*pf->q));
		c->queued = false;
		pthread_cond_broadcast(&ns->cv); /* views waiting on it: it starts now */
		if (!cs_of(c)->listing.running && !ns_fresh(ns, cs_of(c)->listed_at))
			coll_refresh(ns, c, err, sizeof(err)); /* failures: the walk's own try */
	}
	pthread_mutex_unlock(&ns->lock);
	return NULL;
}

static struct prefetch *pool(struct ns *ns)
{
	if (ns->prefetch || ns->o.prefetch <= 0)
		return ns->prefetch;
	struct prefetch *pf = calloc(1, sizeof(*pf));
	if (!pf || !(pf->th = calloc((size_t)ns->o.prefetch, sizeof(*pf->th)))) {
		free(pf);
		return NULL;
	}
	clock_cond_init(&pf->cv);
	ns->prefetch = pf;
	for (int i = 0; i < ns->o.prefetch; i++) {
		if (pthread_create(&pf->th[i], NULL, worker, ns))
			break;
		pf->nth++;
	}
	return pf;
}

/* Pages c's listing took last time (unknown: as many as the largest). */
static size_t chain_len(const struct node *c)
{
	size_t n = cs_of(c)->by_id ? strmap_size(cs_of(c)->by_id) : 0;
	size_t limit = c->rt && c->rt->page_limit > 0 ? (size_t)c->rt->page_limit : 100;
	return cs_of(c)->listed_at || n ? n / limit + 1 : SIZE_MAX;
}

static void enqueue(struct ns *ns, struct prefetch *pf, struct node *root, const char *name)
{
	struct node *c = root ? node_kid(root, name) : NULL;
	if (!c || c->role != R_COLL || c->queued || cs_of(c)->listing.running || pf->qn == QMAX ||
	    ns_fresh(ns, cs_of(c)->listed_at))
		return;
	size_t i = pf->qn;
	while (i > 0 && chain_len(pf->q[i - 1]) < chain_len(c))
		i--; /* longest chain first (users before data stores) */
	memmove(pf->q + i + 1, pf->q + i, (pf->qn - i) * sizeof(*pf->q));
	pf->q[i] = c;
	pf->qn++;
	c->queued = true;
	pthread_cond_signal(&pf->cv);
}

void prefetch_for_dir(struct ns *ns, struct node *d)
{
	/* which tenant-wide listings the entries below d are made from: below
	 * the root, every one; below a root collection (spaces/, data-stores/),
	 * those of the kinds shown inside its resources, at any depth (the
	 * resource table's in_kind); the rows marked list_first first */
	struct node *root = ns_node(ns, NS_ROOT_INO);
	bool all = d == root;
	if (!all && (d->parent != root || d->role != R_COLL || !d->rt))
		return;
	struct prefetch *pf = pool(ns);
	if (!pf || !pf->nth)
		return;
	for (int first = 1; first >= 0; first--)
		for (int k = 0; k < RK_COUNT; k++) {
			const struct rtype *rt = restab_get((enum rkind)k);
			if (rt->dir && rt->list_first == first &&
			    (all || restab_below(rt, d->rt->kind)))
				enqueue(ns, pf, root, rt->dir);
		}
	pthread_cond_broadcast(&pf->cv);
}

void prefetch_free(struct ns *ns)
{
	struct prefetch *pf = ns->prefetch;
	if (!pf)
		return;
	pthread_mutex_lock(&ns->lock);
	pf->stop = true;
	for (size_t i = 0; i < pf->qn; i++)
		pf->q[i]->queued = false;
	pf->qn = 0;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&ns->lock);
	for (int i = 0; i < pf->nth; i++)
		pthread_join(pf->th[i], NULL);
	pthread_cond_destroy(&pf->cv);
	free(pf->th);
	free(pf);
	ns->prefetch = NULL;
}
