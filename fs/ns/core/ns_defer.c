/*
 * ns_defer.c - deletes of resource files, sent after a short delay.
 *
 * Why: `mv /tmp/edited.json apps/X.json` crosses filesystems, so mv unlinks
 * the destination and creates it again.  Sent at once, the unlink would
 * delete the app (its sheets, its data) and the create would make a new, empty
 * one with another id; for a data file's metadata the create is refused and
 * the file is simply lost.  So `rm` of a resource file detaches it at once
 * (ls no longer shows it, in any view) and sends the DELETE delete_delay_ms
 * later; a create of the same name in the same directory before then takes the
 * resource back, and what is written to it is sent as an update.
 *
 * A delete that fails is reported like any failed change (the log, .errors,
 * user.qlik.error) and the resource shows again from the next listing.  An
 * unmount sends the deletes still waiting; a crash loses them (the file
 * shows again: nothing of the tenant is lost).
 *
 * Locks: the queue and the nodes are GUARDED_BY(ns->lock); the sender thread
 * waits on defer_cv (monotonic) and drops the lock for each request.
 */
#include "ns/core/ns_mut.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"

static void *sender(void *arg);

int defer_start(struct ns *ns)
{
	if (ns->o.delete_delay_ms <= 0)
		return 0;
	if (clock_cond_init(&ns->defer_cv))
		return -ENOMEM;
	if (pthread_create(&ns->defer_thr, NULL, sender, ns)) {
		pthread_cond_destroy(&ns->defer_cv);
		return -EAGAIN;
	}
	ns->defer_on = true;
	return 0;
}

void defer_stop(struct ns *ns)
{
	if (!ns->defer_on)
		return;
	pthread_mutex_lock(&ns->lock);
	ns->defer_stopping = true; /* the sender sends what waits, then ends */
	pthread_cond_broadcast(&ns->defer_cv);
	pthread_mutex_unlock(&ns->lock);
	pthread_join(ns->defer_thr, NULL);
	pthread_cond_destroy(&ns->defer_cv);
	free(ns->dq);
	ns->dq = NULL;
	ns->ndq = ns->capdq = 0;
	ns->defer_on = false;
}

bool defer_enabled(const struct ns *ns)
{
	return ns->defer_on;
}

int defer_delete(struct ns *ns, struct node *n)
{
	struct node_body *b = node_body(n); /* (del_due is kept there) */
	if (!b)
		return -ENOMEM;
	if (ns->ndq == ns->capdq) {
		size_t cap = ns->capdq ? ns->capdq * 2 : 16;
		struct node **q = realloc(ns->dq, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		ns->dq = q;
		ns->capdq = cap;
	}
	b->del_due = clock_mono_ms() + ns->o.delete_delay_ms;
	ns->dq[ns->ndq++] = n;
	node_detach(ns, n); /* keeps n->parent: a create there takes it back */
	pthread_cond_broadcast(&ns->defer_cv);
	return 0;
}

static void dq_remove(struct ns *ns, size_t i)
{
	ns->dq[i] = ns->dq[--ns->ndq];
}

struct node *defer_take_back(struct ns *ns, struct node *dir, const char *name)
{
	for (size_t i = 0; i < ns->ndq; i++) {
		struct node *n = ns->dq[i];
		if (n->parent == dir && n->name && !strcmp(n->name, name)) {
			dq_remove(ns, i);
			return n;
		}
	}
	return NULL;
}

/* Sends the delete of n (taken off the queue); lock held, dropped meanwhile. */
static void send_one(struct ns *ns, struct node *n)
{
	char err[512] = "", name[1024];
	uint64_t dir = n->parent ? n->parent->ino : NS_ROOT_INO;
	snprintf(name, sizeof(name), "%s", n->name ? n->name : "");
	int rc = mut_delete_resource(ns, n, err, sizeof(err));
	if (rc && rc != -ENOENT) {
		/* it stays on the tenant: the next listing shows it again */
		if (n->rt)
			mut_colls_stale(ns, n->rt->kind);
		if (n->parent)
			ns_inval_entry(ns, n->parent, name); /* the kernel's "no such file" */
		pthread_mutex_unlock(&ns->lock);
		ns->hooks.report(ns, "unlink", dir, name, rc, err);
		pthread_mutex_lock(&ns->lock);
	}
}

static void *sender(void *arg)
{
	struct ns *ns = arg;
	pthread_mutex_lock(&ns->lock);
	for (;;) {
		int64_t now = clock_mono_ms(), next = INT64_MAX;
		struct node *due = NULL;
		for (size_t i = 0; i < ns->ndq && !due; i++) {
			int64_t due_at = body_of(ns->dq[i])->del_due;
			if (ns->defer_stopping || due_at <= now) {
				due = ns->dq[i];
				dq_remove(ns, i);
			} else if (due_at < next) {
				next = due_at;
			}
		}
		if (due) {
			send_one(ns, due);
			continue;
		}
		if (ns->defer_stopping)
			break;
		if (next == INT64_MAX)
			pthread_cond_wait(&ns->defer_cv, &ns->lock); /* idle: nothing queued */
		else
			clock_cond_wait_until(&ns->defer_cv, &ns->lock, next);
	}
	pthread_mutex_unlock(&ns->lock);
	return NULL;
}

/* A file of d unlinked a moment ago and created again (tar x, mv from
 * another filesystem): a resource dir's own file, or a resource whose delete
 * is not sent yet (delete_delay), is back as *n.  1 when taken back, 0 when
 * there is none (*n as it was), or -errno. */
int mut_take_back(struct ns *ns, struct node *d, struct node **n, const char *name)
{
	struct node *b = *n && (*n)->gone && (*n)->self ? *n : defer_take_back(ns, d, name);
	if (!b)
		return 0;
	if (b == *n) {
		b->gone = false;
	} else {
		int rc = node_attach(ns, d, b, name);
		if (rc) {
			defer_delete(ns, b);
			return rc;
		}
	}
	ns_inval_entry(ns, d, name);
	*n = b;
	return 1;
}
