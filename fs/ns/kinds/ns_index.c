/*
 * ns_index.c - .index.json in every collection directory: the id, name and
 * entry of each resource the collection holds, one JSON object per line, in
 * entry order.  For scripts and pickers:
 *   jq -r '.[] | "\(.id)\t\(.name)"' apps/.index.json
 * It is made from the collection's listing (no request of its own) and made
 * again whenever the listing is.  Data-file collections list every file
 * below them, with its folder path in "entry".
 *
 * The node kind ns_index_kind (registered with ns_kind_add): one hidden, pinned node in every
 * collection, fresh while its collection's listing is; opened, it is a
 * snapshot of the index made now.
 *
 * Locks: ns->lock held by every caller.
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ixent {
	const struct node *n;
	char *entry;
};

struct ixvec {
	struct ixent *v;
	size_t n, cap;
};

static int ix_push(struct ixvec *x, const struct node *n, const char *prefix)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct ixent *v = realloc(x->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	size_t pl = strlen(prefix), nl = strlen(n->name);
	char *e = malloc(pl + nl + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e, prefix, pl);
	memcpy(e + pl, n->name, nl + 1);
	x->v[x->n++] = (struct ixent){ n, e };
	return 0;
}

static int ix_walk(struct ixvec *x, const struct node *d, const char *prefix)
{
	for (size_t i = 0; i < d->nkids; i++) {
		const struct node *k = d->kidv[i];
		int rc = 0;
		if (k->gone || k->hidden)
			continue;
		if (k->role == R_FOLDER) {
			size_t pl = strlen(prefix), nl = strlen(k->name);
			char *p = malloc(pl + nl + 2);
			if (!p)
				return -ENOMEM;
			memcpy(p, prefix, pl);
			memcpy(p + pl, k->name, nl);
			p[pl + nl] = '/';
			p[pl + nl + 1] = '\0';
			rc = ix_walk(x, k, p);
			free(p);
		} else if ((k->role == R_FILE || k->role == R_RESDIR) && k->id) {
			rc = ix_push(x, k, prefix);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int ix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ixent *)a)->entry, ((const struct ixent *)b)->entry);
}

/* Appends s to the buffer (growing it). */
static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static int build(struct node *coll, char **out, size_t *outlen)
{
	struct ixvec x = { 0 };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = ix_walk(&x, coll, "");
	if (!rc)
		qsort(x.v, x.n, sizeof(*x.v), ix_cmp);
	rc = rc ? rc : put(&buf, &len, &cap, "[", 1);
	for (size_t i = 0; !rc && i < x.n; i++) {
		cJSON *o = cJSON_CreateObject();
		char *line;
		if (!o) {
			rc = -ENOMEM;
			break;
		}
		cJSON_AddStringToObject(o, "id", x.v[i].n->id);
		cJSON_AddStringToObject(o, "name", x.v[i].n->sname ? x.v[i].n->sname : "");
		cJSON_AddStringToObject(o, "entry", x.v[i].entry);
		line = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!line) {
			rc = -ENOMEM;
			break;
		}
		rc = put(&buf, &len, &cap, i ? ",\n" : "\n", i ? 2 : 1);
		if (!rc)
			rc = put(&buf, &len, &cap, line, strlen(line));
		free(line);
	}
	if (!rc)
		rc = put(&buf, &len, &cap, x.n ? "\n]\n" : "]\n", x.n ? 3 : 2);
	for (size_t i = 0; i < x.n; i++)
		free(x.v[i].entry);
	free(x.v);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* Makes n's content from its collection when stale: 0, or -ENOMEM when n
 * has no room to keep it (a build that fails keeps the previous one). */
static int index_update(struct ns *ns, struct node *n)
{
	struct node *coll = n->parent;
	const struct node_body *cur = body_of(n);
	char *buf;
	size_t len;
	if (!coll || (cur->ixbuf && cur->idx_at == cs_of(coll)->listed_at && cur->idx_gen == ns->gen))
		return 0;
	struct node_body *b = node_body(n);
	if (!b)
		return -ENOMEM;
	if (build(coll, &buf, &len))
		return 0; /* keeps the previous one */
	bool same = b->ixbuf && b->ixlen == len && !memcmp(b->ixbuf, buf, len);
	free(b->ixbuf);
	b->ixbuf = buf;
	b->ixlen = len;
	b->idx_at = cs_of(coll)->listed_at;
	b->idx_gen = ns->gen;
	if (!same) {
		n->mtime_ms = ns_wall_ms();
		n->size = len;
		if (n->reported)
			ns_inval_inode(ns, n);
	}
	return 0;
}

/* ---- the kind ---- */

static void ix_coll_kids(struct ns *ns, struct node *coll)
{
	/* reachable by name, not listed: kept out of cp -r, tar and rsync */
	struct node *ix = node_new_of(ns, NULL, INDEX_NAME, &ns_index_kind, false);
	if (ix) {
		ix->pinned = ix->hidden = true;
		if (node_attach(ns, coll, ix, INDEX_NAME) < 0)
			ix->gone = true;
	}
}

/* Fresh while its collection's listing is. */
static int ix_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	return node_refresh(ns, n, n->parent, err, errn);
}

static void ix_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	(void)index_update(ns, n); /* (failing: the size it had) */
	a->size = n->reported_size = n->size;
	a->mtime_ms = n->mtime_ms;
}

/* A read-only handle (the dispatcher refuses writers): a snapshot of the
 * index made now; n->size is its length. */
static int ix_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		   char *err, size_t errn)
{
	ns_walk_visit(ns, n, WALK_OPEN | (f->writable ? WALK_STRICT : 0));
	int rc = ix_fresh(ns, n, err, errn);
	if (rc)
		return rc;
	uint64_t reported = n->reported_size;
	struct cache_blob *b = NULL;
	if ((rc = index_update(ns, n)))
		return rc;
	const struct node_body *nb = body_of(n);
	char *copy = malloc(nb->ixlen ? nb->ixlen : 1);
	if (copy)
		memcpy(copy, nb->ixbuf, nb->ixlen);
	if (!copy || !(b = cache_blob_take(copy, nb->ixlen))) /* takes copy */
		return -ENOMEM;
	f->blob = b;
	n->size = nb->ixlen;
	*size_changed = n->size != reported;
	return 0;
}

const struct ns_kind ns_index_kind = {
	.name = "index",
	.coll_kids = ix_coll_kids,
	.fresh = ix_fresh,
	.fill_attr = ix_fill_attr,
	.open = ix_open,
};
