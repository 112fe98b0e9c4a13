/*
 * ns_file.c - open files: read snapshots, write buffers, flush (where a
 * change is sent), truncate.  Contract and locks: ns_mut.c.
 */
#include "ns/core/ns_mut.h"
#include "ns/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- handles ---- */

/* A resource file opened for writing starts from the resource's state now
 * (one GET): the edit's base, against which a change on the server before
 * the close is detected. */
static int open_resource(struct ns *ns, struct node *n, struct ns_file *f, char *err,
			 size_t errn)
{
	struct cache_blob *b = NULL;
	int rc = fetch_one(ns, mut_res_node(n), &b, err, errn);
	if (rc)
		return rc;
	if (n->gone) {
		cache_blob_unref(b);
		return -ENOENT;
	}
	f->base = mut_parse_blob(b);
	free(f->opened_as);
	f->opened_as = n->name ? strdup(n->name) : NULL; /* where a rejection is kept */
	if (!f->base) {
		cache_blob_unref(b);
		return -EIO;
	}
	if (!(f->flags & O_TRUNC)) {
		size_t len = cache_blob_len(b);
		rc = mut_buf_reserve(ns, &f->buf, &f->cap, len ? len : 1, false);
		if (!rc) {
			memcpy(f->buf, cache_blob_data(b), len);
			f->len = len;
		}
	} else {
		f->dirty = true;
		n->dirty_handles++;
		if (n->body)
			n->body->wsize = 0;
	}
	cache_blob_unref(b);
	return rc;
}

/* A read-only handle: a snapshot of the content (the cached content, else
 * one GET); n->size is its length. */
static int open_snapshot(struct ns *ns, struct node *n, struct ns_file *f, char *err,
			 size_t errn)
{
	char key[256];
	struct cache_blob *b = NULL;
	content_key(n, key, sizeof(key));
	if (cache_lookup(ns->o.cache, key, &b) != 1) {
		/* evicted (byte bound) or expired: one GET */
		int rc = fetch_one(ns, n->self ? n->parent : n, &b, err, errn);
		if (rc)
			return rc;
	}
	f->blob = b;
	n->size = cache_blob_len(b);
	return 0;
}

int ns_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out, bool *size_changed,
	    char *err, size_t errn)
{
	bool wr = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	int rc;

	*size_changed = false;
	const struct ns_kind *k = ns_ino_kind(ns, ino);
	if (k)
		return k->open_ino(ns, ino, flags, out, size_changed);
	if (wr && ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	struct ns_file *f = NULL;
	if (!n) {
		rc = -ENOENT;
		goto out;
	}
	if (n->dir) {
		rc = -EISDIR;
		goto out;
	}
	if (KIND(ns, n) && KIND(ns, n)->open_as && (rc = KIND(ns, n)->open_as(ns, n, flags)))
		goto out; /* (a backup's .qvf over the export of the app its JSON made) */
	if (wr && !node_writable(ns, n)) {
		rc = -EACCES;
		errmsg_set(err, errn, "this file is read-only");
		goto out;
	}
	if (!(f = calloc(1, sizeof(*f)))) {
		rc = -ENOMEM;
		goto out;
	}
	f->ns = ns;
	f->ino = ino;
	f->flags = flags;
	f->writable = wr;
	f->append = flags & O_APPEND;
	f->kind = KIND(ns, n);
	if (KIND(ns, n) && KIND(ns, n)->open) { /* reports/, api, .qvf, uploads ... */
		rc = KIND(ns, n)->open(ns, n, f, size_changed, err, errn);
		goto out;
	}
	/* a writer always sees cache_ttl freshness (node.c) */
	ns_walk_visit(ns, n, WALK_OPEN | (wr ? WALK_STRICT : 0));
	if ((rc = ensure_node_fresh(ns, n, err, errn)))
		goto out;
	uint64_t reported = n->reported_size;
	if (wr) {
		rc = open_resource(ns, n, f, err, errn);
		*size_changed = true;
		goto out;
	}
	rc = open_snapshot(ns, n, f, err, errn);
	if (!rc)
		*size_changed = n->size != reported;
out:
	if (rc) {
		if (f && f->dirty && n)
			n->dirty_handles--;
		if (f) {
			cJSON_Delete(f->base);
			free(f->opened_as);
			free(f->buf);
			free(f);
		}
		f = NULL;
	}
	ns_walk_end(ns);
	pthread_mutex_unlock(&ns->lock);
	if (f)
		ns_file_track(ns, f);
	*out = f;
	return rc;
}

ssize_t ns_read(struct ns_file *f, char *buf, size_t size, off_t off)
{
	const char *data;
	size_t len;
	ssize_t rc;
	if (off < 0)
		return -EINVAL;
	if (f->ext && f->kind && f->kind->read)
		return f->kind->read(f, buf, size, off, NULL, 0);
	pthread_mutex_lock(&f->ns->lock);
	struct node *n = ns_node(f->ns, f->ino);
	if (KIND(f->ns, n) && KIND(f->ns, n)->node_read) { /* an upload's file */
		rc = KIND(f->ns, n)->node_read(f, n, buf, size, off);
		pthread_mutex_unlock(&f->ns->lock);
		return rc;
	}
	if (f->mem) {
		data = body_of(n)->mem;
		len = body_of(n)->memlen;
	} else if (f->writable) {
		data = f->buf;
		len = f->len;
	} else {
		data = cache_blob_data(f->blob);
		len = cache_blob_len(f->blob);
	}
	if ((size_t)off >= len) {
		rc = 0;
	} else {
		if (size > len - (size_t)off)
			size = len - (size_t)off;
		memcpy(buf, data + off, size);
		rc = (ssize_t)size;
	}
	pthread_mutex_unlock(&f->ns->lock);
	return rc;
}

ssize_t ns_write(struct ns_file *f, const char *data, size_t size, off_t off)
{
	struct ns *ns = f->ns;
	ssize_t rc;
	if (!f->writable)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (f->ext && f->kind && f->kind->write)
		return f->kind->write(f, data, size, off);
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, f->ino);
	if (KIND(ns, n) && KIND(ns, n)->node_write) { /* an upload's file */
		rc = KIND(ns, n)->node_write(f, n, data, size, off);
		goto out;
	}
	struct node_body *nb = node_body(n); /* the content, or (wsize) its size */
	if (!nb) {
		rc = -ENOMEM;
		goto out;
	}
	char **buf = f->mem ? &nb->mem : &f->buf;
	size_t *len = f->mem ? &nb->memlen : &f->len, *cap = f->mem ? &nb->memcap : &f->cap;
	if (f->append)
		off = (off_t)*len;
	size_t end = (size_t)off + size;
	if (end > FILE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	if ((rc = mut_buf_reserve(ns, buf, cap, end, f->mem)))
		goto out;
	if ((size_t)off > *len)
		memset(*buf + *len, 0, (size_t)off - *len);
	memcpy(*buf + off, data, size);
	if (end > *len)
		*len = end;
	if (f->mem) {
		n->mem_dirty = true;
		n->mtime_ms = ns_wall_ms();
		f->written = true;
	} else {
		f->written = true;
		if (!f->dirty)
			n->dirty_handles++;
		f->dirty = true;
		nb->wsize = *len;
	}
	rc = (ssize_t)size;
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

static void handle_clean(struct node *n, struct ns_file *f)
{
	if (f->dirty && n->dirty_handles)
		n->dirty_handles--;
	f->dirty = false;
}

int ns_flush(struct ns_file *f, char *err, size_t errn)
{
	struct ns *ns = f->ns;
	int rc = 0;
	if (!f->writable)
		return 0;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, f->ino);
	if (KIND(ns, n) && KIND(ns, n)->flush) {
		rc = KIND(ns, n)->flush(ns, n, f, err, errn);
		pthread_mutex_unlock(&ns->lock);
		return rc;
	}
	if (f->mem) {
		/* (content in the node's memory: sent by its kind's flush, if
		 * any; a temporary file's never) */
	} else if (f->dirty && !f->written) {
		/* Opened with O_TRUNC and never written: nothing is sent, and the
		 * resource keeps its size.  The kernel, which set the size to 0 at
		 * the open, must ask again (a later write through a duplicate of
		 * the descriptor marks the handle dirty again). */
		handle_clean(n, f);
		ns_inval_inode(ns, n);
	} else if (f->dirty) {
		cJSON *nb = NULL;
		handle_clean(n, f);
		rc = mut_commit_update_as(ns, n, f->opened_as, f->buf, f->len, f->base, &nb, err,
					  errn);
		if (!rc) {
			cJSON_Delete(f->base);
			f->base = nb;
		}
	}
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

void ns_release(struct ns_file *f)
{
	if (!f)
		return;
	struct ns *ns = f->ns;
	ns_file_untrack(ns, f);
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, f->ino);
	if (n)
		handle_clean(n, f);
	pthread_mutex_unlock(&ns->lock);
	if (f->ext && f->kind && f->kind->release)
		f->kind->release(f);
	cache_blob_unref(f->blob);
	cJSON_Delete(f->base);
	free(f->opened_as);
	free(f->buf);
	free(f);
}

/* ---- setattr ---- */

int ns_truncate(struct ns *ns, uint64_t ino, struct ns_file *f, uint64_t size, char *err,
		size_t errn)
{
	int rc = 0;
	if (ns->o.read_only)
		return -EROFS;
	if (size > FILE_MAX)
		return -EFBIG;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	if (!n) {
		rc = -ENOENT;
		goto out;
	}
	if (n->dir) {
		rc = -EISDIR;
		goto out;
	}
	if (KIND(ns, n) && KIND(ns, n)->truncate) {
		rc = KIND(ns, n)->truncate(ns, n, f, size);
		goto out;
	}
	struct node_body *nb = NULL; /* the content, or (wsize) its size */
	if (!node_writable(ns, n)) {
		rc = -EACCES;
		goto out;
	}
	if (f && f->writable && !f->mem) {
		if (!(nb = node_body(n)))
			rc = -ENOMEM;
		else if (!(rc = mut_buf_reserve(ns, &f->buf, &f->cap, (size_t)size ? (size_t)size : 1,
						false))) {
			if (size > f->len)
				memset(f->buf + f->len, 0, (size_t)size - f->len);
			f->len = (size_t)size;
			if (!f->dirty)
				n->dirty_handles++;
			f->dirty = true;
			f->written = true;
			nb->wsize = f->len;
		}
		goto out;
	}
	/* truncate(2) of a resource file without an open handle: applied now */
	struct cache_blob *b = NULL;
	if ((rc = mut_current_content(ns, n, &b, err, errn)))
		goto out;
	size_t len = cache_blob_len(b);
	if (size == len) {
		cache_blob_unref(b);
		goto out;
	}
	cJSON *base = mut_parse_blob(b);
	char *data = calloc(1, (size_t)size ? (size_t)size : 1);
	if (data)
		memcpy(data, cache_blob_data(b), size < len ? (size_t)size : len);
	cache_blob_unref(b);
	rc = base && data ? mut_commit_update(ns, n, data, (size_t)size, base, NULL, err, errn)
			  : -ENOMEM;
	free(data);
	cJSON_Delete(base);
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

bool ns_file_opened(struct ns_file *f, uid_t caller)
{
	return f->ext && f->kind && f->kind->opened && f->kind->opened(f, caller);
}

ssize_t ns_read_err(struct ns_file *f, char *buf, size_t size, off_t off, char *err, size_t errn)
{
	if (off < 0)
		return -EINVAL;
	if (f->ext && f->kind && f->kind->read)
		return f->kind->read(f, buf, size, off, err, errn);
	return ns_read(f, buf, size, off);
}
