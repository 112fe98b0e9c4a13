/*
 * ns_mut.c - file handles and every change made through the mount: write
 * buffers, scratch files, create, mkdir, unlink, rmdir, rename, truncate.
 * README "Writing" is the contract; in short:
 *
 *  - A resource file opened for writing gets a private copy of its content
 *    and the object it was made from.  close/fsync (ns_flush) parses the
 *    whole new content and sends only the writable fields that changed
 *    (reswrite.c); the resource's own state then replaces the file's.
 *  - Names tools use for temporary files (names_is_scratch) and names that
 *    cannot be resource files of a collection live only in memory
 *    (R_SCRATCH).  Renaming one onto a resource file updates that resource;
 *    renaming a resource file to such a name leaves the resource where it is
 *    and gives the new name a copy (vim's backup-and-rename save).
 *  - A new NAME.json in a collection is R_NEW until its first close, which
 *    POSTs it; mkdir in spaces/ creates a space.
 *  - A failed change loses nothing: the rejected content stays readable
 *    (a failed create keeps its file; a failed update leaves NAME.rejected
 *    beside the resource file) and the server's reason is in the
 *    user.qlik.error attribute.
 *  - After a change, every node of that resource takes its new state and
 *    the listings of its kind are refetched on next use, so ls and cat show
 *    the change at once.
 *
 * Locks: as ns.c.  The HTTP requests run with ns->lock dropped; a node with
 * a change in flight is `busy` and other changes to it wait on ns->cv.
 */
#include "ns_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "reswrite.h"

#define FILE_MAX (64u << 20)   /* one write buffer */
#define MEM_MAX (256u << 20)   /* all scratch and new files together */
#define REJECTED ".rejected"

static void set_err(char *err, size_t errn, const char *msg)
{
	if (err && errn && msg)
		snprintf(err, errn, "%s", msg);
}

static void node_set_errmsg(struct node *n, const char *msg)
{
	free(n->errmsg);
	n->errmsg = msg && msg[0] ? strdup(msg) : NULL;
}

bool node_writable(const struct node *n)
{
	return n->role == R_SCRATCH || n->role == R_NEW ||
	       (n->role == R_FILE && n->rt && n->rt->upd != UPD_NONE);
}

void node_drop_mem(struct ns *ns, struct node *n)
{
	ns->mem_bytes -= n->memcap;
	free(n->mem);
	n->mem = NULL;
	n->memlen = n->memcap = 0;
}

/* Grows a buffer to hold len bytes.  *acct (may be NULL) is the global
 * account of memory-only files. */
static int buf_reserve(struct ns *ns, char **buf, size_t *cap, size_t len, bool acct)
{
	if (len <= *cap)
		return 0;
	if (len > FILE_MAX)
		return -EFBIG;
	size_t nc = *cap ? *cap : 4096;
	while (nc < len)
		nc *= 2;
	if (nc > FILE_MAX)
		nc = FILE_MAX;
	if (acct && ns->mem_bytes - *cap + nc > MEM_MAX)
		return -ENOSPC;
	char *b = realloc(*buf, nc);
	if (!b)
		return -ENOMEM;
	if (acct)
		ns->mem_bytes = ns->mem_bytes - *cap + nc;
	*buf = b;
	*cap = nc;
	return 0;
}

static int mem_set(struct ns *ns, struct node *n, const char *data, size_t len)
{
	int rc = buf_reserve(ns, &n->mem, &n->memcap, len, true);
	if (rc)
		return rc;
	if (len)
		memcpy(n->mem, data, len);
	n->memlen = len;
	return 0;
}

/* ---- where things are ---- */

/* The collection a directory belongs to (itself, or a data-file folder's). */
static struct node *dir_coll(struct node *d)
{
	if (d->role == R_COLL)
		return d;
	if (d->role == R_FOLDER)
		return d->coll_root;
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* Can `name` in d be a resource's entry?  Else a file by that name is a
 * tool's temporary file, kept in memory. */
static bool name_is_scratch(struct node *d, const char *name)
{
	if (names_is_scratch(name) || ends_with(name, REJECTED))
		return true;
	struct node *c = dir_coll(d);
	if (!c || c->coll == C_DATAFILES)
		return false; /* decided by the caller */
	return !ends_with(name, ".json") && !coll_kids_are_dirs(c);
}

/* The content a resource file shows now (cache, else one GET).  Returns a
 * blob reference or -errno.  May drop the lock. */
static int current_content(struct ns *ns, struct node *n, struct cache_blob **out, char *err,
			   size_t errn)
{
	char key[256];
	content_key(n, key, sizeof(key));
	if (cache_lookup(ns->o.cache, key, out) == 1)
		return 0;
	return fetch_one(ns, n->self ? n->parent : n, out, err, errn);
}

static cJSON *parse_blob(struct cache_blob *b)
{
	return cJSON_ParseWithLength(cache_blob_data(b), cache_blob_len(b));
}

/* Waits until no change to n is in flight, then marks one. */
static void node_lock_change(struct ns *ns, struct node *n)
{
	while (n->busy)
		pthread_cond_wait(&ns->cv, &ns->lock);
	n->busy = true;
}

static void node_unlock_change(struct ns *ns, struct node *n)
{
	n->busy = false;
	pthread_cond_broadcast(&ns->cv);
}

/* Every collection of kind k is listed again on next use. */
static void colls_stale(struct ns *ns, enum rkind k)
{
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *c = ns->tab[i];
		if (c->role == R_COLL && c->rt && c->rt->kind == k)
			c->listed_at = 0;
	}
}

/* A resource changed on the server: every node showing it takes its new
 * state, and the listings of its kind are refreshed on next use. */
static void apply_change(struct ns *ns, const struct rtype *rt, const char *id, const cJSON *now)
{
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *n = ns->tab[i];
		if (n->gone || !n->rt || n->rt->kind != rt->kind || !n->id || strcmp(n->id, id) ||
		    (n->role != R_FILE && n->role != R_RESDIR) || n->self)
			continue;
		node_set_obj(ns, n, now, NULL);
		if (n->hidden || n->role == R_RESDIR)
			n->fetched_at = ns_now(ns);
	}
	colls_stale(ns, rt->kind);
}

/* A resource is gone: its nodes leave their directories. */
static void apply_delete(struct ns *ns, const struct rtype *rt, const char *id)
{
	char key[256];
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *n = ns->tab[i];
		if (n->gone || !n->rt || n->rt->kind != rt->kind || !n->id || strcmp(n->id, id) ||
		    (n->role != R_FILE && n->role != R_RESDIR) || n->self)
			continue;
		struct node *c = n->parent ? dir_coll(n->parent) : NULL;
		if (c && c->by_id && strmap_get(c->by_id, id) == n)
			strmap_del(c->by_id, id);
		content_key(n, key, sizeof(key));
		cache_invalidate(ns->o.cache, key);
		node_detach(ns, n);
	}
	colls_stale(ns, rt->kind);
}

/* ---- scratch nodes ---- */

static struct node *scratch_new(struct ns *ns, struct node *d, const char *name)
{
	struct node *n = node_new(ns, d, name, R_SCRATCH, false);
	if (!n)
		return NULL;
	n->mtime_ms = n->ctime_ms = ns_wall_ms();
	return n;
}

/* Removes a memory-only node from its directory. */
static void mem_node_remove(struct ns *ns, struct node *n)
{
	node_detach(ns, n);
	node_drop_mem(ns, n);
	cJSON_Delete(n->created);
	n->created = NULL;
}

/* Keeps a rejected update's content beside the resource file. */
static void keep_rejected(struct ns *ns, struct node *n, const char *data, size_t len,
			  const char *why)
{
	char name[512];
	struct node *d = n->parent;
	if (!d || snprintf(name, sizeof(name), "%s%s", n->name, REJECTED) >= (int)sizeof(name))
		return;
	struct node *r = strmap_get(d->kids, name);
	if (r && r->role != R_SCRATCH)
		return;
	if (!r && !(r = scratch_new(ns, d, name)))
		return;
	if (mem_set(ns, r, data, len) == 0) {
		r->mtime_ms = ns_wall_ms();
		node_set_errmsg(r, why);
		ns_inval_inode(ns, r);
		ns_inval_entry(ns, d, name);
	}
}

/* ---- parsing what the user wrote ---- */

static int parse_doc(const char *data, size_t len, bool empty_ok, cJSON **out, char *err,
		     size_t errn)
{
	const char *end = NULL;
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
		i++;
	if (i == len) {
		if (empty_ok) {
			*out = cJSON_CreateObject();
			return *out ? 0 : -ENOMEM;
		}
		set_err(err, errn, "the file is empty: nothing was sent (write the resource's JSON)");
		return -EINVAL;
	}
	cJSON *j = cJSON_ParseWithLengthOpts(data, len, &end, false);
	if (j && end) {
		const char *p = end;
		while (p < data + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p < data + len && *p) {
			end = p;
			cJSON_Delete(j);
			j = NULL;
		}
	}
	if (!j) {
		size_t off = end ? (size_t)(end - data) : 0, line = 1;
		if (!end && cJSON_GetErrorPtr())
			off = (size_t)(cJSON_GetErrorPtr() - data);
		for (size_t k = 0; k < off && k < len; k++)
			line += data[k] == '\n';
		if (err && errn)
			snprintf(err, errn, "invalid JSON at byte %zu (line %zu): nothing was sent",
				 off, line);
		return -EINVAL;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		set_err(err, errn, "the file must hold one JSON object: nothing was sent");
		return -EINVAL;
	}
	*out = j;
	return 0;
}

/* ---- update, create ---- */

/* The resource identity of a file node (a resource dir's own file speaks for
 * the dir). */
static struct node *res_node(struct node *n)
{
	return n->self ? n->parent : n;
}

/* Sends the content of a resource file's write buffer.  Lock held; dropped
 * during the requests.  On success *base (may be NULL) receives the new
 * state (caller frees). */
static int commit_update(struct ns *ns, struct node *n, const char *data, size_t len,
			 const cJSON *base, cJSON **newbase, char *err, size_t errn)
{
	cJSON *edited = NULL, *now = NULL;
	struct node *rn = res_node(n);
	int rc = parse_doc(data, len, false, &edited, err, errn);
	if (rc)
		goto fail;
	if (!rn->rt || !rn->id) {
		rc = -EPERM;
		set_err(err, errn, "this file cannot be changed");
		goto fail;
	}
	const struct rtype *rt = rn->rt;
	char *id = strdup(rn->id);
	if (!id) {
		rc = -ENOMEM;
		goto fail;
	}
	node_lock_change(ns, n);
	pthread_mutex_unlock(&ns->lock);
	rc = res_update(ns->o.client, rt, id, base, edited, &now, err, errn);
	pthread_mutex_lock(&ns->lock);
	node_unlock_change(ns, n);
	if (!rc && now)
		apply_change(ns, rt, id, now);
	if (rc == 1) { /* applied; out of our sight now */
		apply_delete(ns, rt, id);
		rc = 0;
	}
	free(id);
	if (!rc) {
		node_set_errmsg(n, NULL);
		if (newbase)
			*newbase = now ? now : cJSON_Duplicate(base, 1);
		else
			cJSON_Delete(now);
		cJSON_Delete(edited);
		return 0;
	}
fail:
	cJSON_Delete(edited);
	node_set_errmsg(n, err);
	keep_rejected(ns, n, data, len, err);
	return rc;
}

/* Where a creation in collection c goes. */
static void scope_of(struct node *c, struct res_scope *sc)
{
	memset(sc, 0, sizeof(*sc));
	switch (c->coll) {
	case C_APPS:
	case C_DATAFILES:
		sc->space_id = c->id;
		break;
	case C_ASSETS:
		sc->store_id = c->id;
		break;
	case C_SETS:
		sc->asset_id = c->id;
		sc->store_id = c->id2;
		break;
	default:
		break;
	}
}

/* The server name meant by entry `name` of collection c (NULL on failure);
 * a file (not a dir) is always NAME.json. */
static char *server_name(struct node *c, const char *name, const char *own_id, bool file)
{
	char buf[1024], id[128];
	const char *ext = coll_kids_are_dirs(c) && !file ? "" : ".json";
	ssize_t r;
	if (own_id && names_parse_id(name, ext, id, sizeof(id)) > 0 && !strcmp(id, own_id)) {
		r = names_to_server(name, ext, buf, sizeof(buf));
	} else {
		char base[1024];
		size_t l = strlen(name), el = strlen(ext);
		if (l <= el || l - el >= sizeof(base) || strcmp(name + l - el, ext))
			return NULL;
		memcpy(base, name, l - el);
		base[l - el] = '\0';
		r = names_decode(base, buf, sizeof(buf));
	}
	return r > 0 ? strdup(buf) : NULL;
}

/* POSTs a new file's content.  Lock held; dropped during the request. */
static int commit_create(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct node *c = n->parent ? dir_coll(n->parent) : NULL;
	cJSON *doc = NULL, *now = NULL;
	struct res_scope sc;
	int rc;
	if (!c) {
		set_err(err, errn, "no collection to create in");
		return -EPERM;
	}
	if ((rc = parse_doc(n->mem, n->memlen, true, &doc, err, errn))) {
		node_set_errmsg(n, err);
		return rc;
	}
	char *name = server_name(c, n->name, NULL, true);
	if (!name && !json_str(doc, "name")) {
		cJSON_Delete(doc);
		set_err(err, errn, "cannot tell the new resource's name from the file name");
		node_set_errmsg(n, err);
		return -EINVAL;
	}
	const struct rtype *rt = c->rt;
	char *s1 = c->id ? strdup(c->id) : NULL, *s2 = c->id2 ? strdup(c->id2) : NULL;
	struct node tmp = *c;
	tmp.id = s1;
	tmp.id2 = s2;
	scope_of(&tmp, &sc);
	node_lock_change(ns, n);
	n->mem_dirty = false;
	pthread_mutex_unlock(&ns->lock);
	rc = res_create(ns->o.client, rt, &sc, doc, name, &now, err, errn);
	pthread_mutex_lock(&ns->lock);
	node_unlock_change(ns, n);
	free(s1);
	free(s2);
	free(name);
	cJSON_Delete(doc);
	if (rc) {
		node_set_errmsg(n, err);
		return rc;
	}
	node_set_errmsg(n, NULL);
	cJSON_Delete(n->created);
	n->created = now;
	n->rt = rt;
	free(n->id);
	n->id = restab_id(rt, now) ? strdup(restab_id(rt, now)) : NULL;
	colls_stale(ns, rt->kind);
	/* The resource shows under its canonical entry from the next listing;
	 * this name leaves the directory now (the open handle keeps working). */
	node_detach(ns, n);
	return 0;
}

/* ---- handles ---- */

/* A resource file opened for writing starts from the resource's state now
 * (one GET): the edit's base, against which a change on the server before
 * the close is detected. */
static int open_resource(struct ns *ns, struct node *n, struct ns_file *f, char *err,
			 size_t errn)
{
	struct cache_blob *b = NULL;
	int rc = fetch_one(ns, res_node(n), &b, err, errn);
	if (rc)
		return rc;
	if (n->gone) {
		cache_blob_unref(b);
		return -ENOENT;
	}
	f->base = parse_blob(b);
	if (!f->base) {
		cache_blob_unref(b);
		return -EIO;
	}
	if (!(f->flags & O_TRUNC)) {
		size_t len = cache_blob_len(b);
		rc = buf_reserve(ns, &f->buf, &f->cap, len ? len : 1, false);
		if (!rc) {
			memcpy(f->buf, cache_blob_data(b), len);
			f->len = len;
		}
	} else {
		f->dirty = true;
		n->dirty_handles++;
		n->wsize = 0;
	}
	cache_blob_unref(b);
	return rc;
}

int ns_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out, bool *size_changed,
	    char *err, size_t errn)
{
	char key[256];
	struct cache_blob *b = NULL;
	bool wr = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	int rc;

	*size_changed = false;
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
	if (wr && !node_writable(n)) {
		rc = -EACCES;
		set_err(err, errn, "this file is read-only");
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
	if (n->role == R_SCRATCH || n->role == R_NEW) {
		f->mem = true;
		if (flags & O_TRUNC) {
			n->memlen = 0;
			n->mem_dirty = true;
			n->mtime_ms = ns_wall_ms();
		}
		*size_changed = true;
		rc = 0;
		goto out;
	}
	if ((rc = ensure_node_fresh(ns, n, err, errn)))
		goto out;
	uint64_t reported = n->reported_size;
	if (wr) {
		rc = open_resource(ns, n, f, err, errn);
		*size_changed = true;
		goto out;
	}
	content_key(n, key, sizeof(key));
	if (cache_lookup(ns->o.cache, key, &b) != 1) {
		/* evicted (byte bound) or expired: one GET */
		rc = fetch_one(ns, n->self ? n->parent : n, &b, err, errn);
		if (rc)
			goto out;
	}
	f->blob = b;
	n->size = cache_blob_len(b);
	*size_changed = n->size != reported;
out:
	if (rc) {
		if (f && f->dirty && n)
			n->dirty_handles--;
		if (f) {
			cJSON_Delete(f->base);
			free(f->buf);
			free(f);
		}
		f = NULL;
	}
	pthread_mutex_unlock(&ns->lock);
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
	pthread_mutex_lock(&f->ns->lock);
	struct node *n = ns_node(f->ns, f->ino);
	if (f->mem) {
		data = n->mem;
		len = n->memlen;
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
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, f->ino);
	char **buf = f->mem ? &n->mem : &f->buf;
	size_t *len = f->mem ? &n->memlen : &f->len, *cap = f->mem ? &n->memcap : &f->cap;
	if (f->append)
		off = (off_t)*len;
	size_t end = (size_t)off + size;
	if (end > FILE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	if ((rc = buf_reserve(ns, buf, cap, end, f->mem)))
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
		n->wsize = *len;
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
	if (f->mem) {
		/* An empty new file creates nothing (yet): a shell's `> f` closes a
		 * duplicate of the descriptor before anything is written. */
		if (n->role == R_NEW && n->mem_dirty && !n->created && !n->gone && n->memlen)
			rc = commit_create(ns, n, err, errn);
		else if (n->role == R_NEW && n->mem_dirty && n->created) {
			cJSON *nb = NULL;
			n->mem_dirty = false;
			rc = commit_update(ns, n, n->mem, n->memlen, n->created, &nb, err, errn);
			if (!rc) {
				cJSON_Delete(n->created);
				n->created = nb;
			}
		}
	} else if (f->dirty && f->written) {
		/* (a handle truncated by O_TRUNC but never written sends nothing) */
		cJSON *nb = NULL;
		handle_clean(n, f);
		rc = commit_update(ns, n, f->buf, f->len, f->base, &nb, err, errn);
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
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, f->ino);
	if (n)
		handle_clean(n, f);
	pthread_mutex_unlock(&ns->lock);
	cache_blob_unref(f->blob);
	cJSON_Delete(f->base);
	free(f->buf);
	free(f);
}

/* ---- create, mkdir ---- */

int ns_create(struct ns *ns, uint64_t parent, const char *name, int flags,
	      struct ns_attr *attr, struct ns_file **out, char *err, size_t errn)
{
	bool changed;
	int rc;
	*out = NULL;
	if (ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent), *n = NULL;
	if (!d || !d->dir) {
		rc = d ? -ENOTDIR : -ENOENT;
		goto unlock;
	}
	if ((rc = ensure_node_listed(ns, d, err, errn)))
		goto unlock;
	n = strmap_get(d->kids, name);
	if (n && !n->gone) {
		if (flags & O_EXCL) {
			rc = -EEXIST;
			goto unlock;
		}
		pthread_mutex_unlock(&ns->lock);
		goto open; /* an existing file: opened (and truncated if asked) */
	}
	struct node *c = dir_coll(d);
	if (name_is_scratch(d, name)) {
		n = scratch_new(ns, d, name);
	} else if (c && c->rt->creatable && c->coll != C_DATAFILES &&
		   ends_with(name, ".json")) {
		n = node_new(ns, d, name, R_NEW, false);
		if (n) {
			n->mtime_ms = n->ctime_ms = ns_wall_ms();
			n->mem_dirty = true;
			n->rt = c->rt;
		}
	} else {
		rc = -EPERM;
		if (c && c->coll == C_DATAFILES)
			set_err(err, errn, "data files are not uploaded by this version of qlikfs");
		else if (c && c->rt->creatable)
			set_err(err, errn, "a new resource file must be named NAME.json");
		else if (c)
			set_err(err, errn, "this kind of resource cannot be created by a file");
		else
			set_err(err, errn, "only temporary files can be created here");
		goto unlock;
	}
	if (!n) {
		rc = -ENOMEM;
		goto unlock;
	}
	ns_inval_entry(ns, d, name); /* a cached negative entry */
	pthread_mutex_unlock(&ns->lock);
	flags &= ~O_TRUNC;
open:
	rc = ns_open(ns, n->ino, flags, out, &changed, err, errn);
	if (rc)
		return rc;
	pthread_mutex_lock(&ns->lock);
	ns_fill_attr(ns, n, attr);
	n->nlookup++;
	pthread_mutex_unlock(&ns->lock);
	return 0;
unlock:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

int ns_mkdir(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *attr, char *err,
	     size_t errn)
{
	cJSON *now = NULL;
	char sname[1024];
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent);
	if (!d || !d->dir) {
		rc = d ? -ENOTDIR : -ENOENT;
		goto out;
	}
	if ((rc = ensure_node_listed(ns, d, err, errn)))
		goto out;
	if (strmap_get(d->kids, name)) {
		rc = -EEXIST;
		goto out;
	}
	if (d->role != R_COLL || d->coll != C_SPACES) {
		rc = -EPERM;
		set_err(err, errn, "directories can only be made in spaces/ (a new shared space)");
		goto out;
	}
	if (names_decode(name, sname, sizeof(sname)) <= 0 || names_is_scratch(name)) {
		rc = -EINVAL;
		set_err(err, errn, "not a valid space name");
		goto out;
	}
	cJSON *doc = cJSON_CreateObject();
	struct res_scope sc = { 0 };
	const struct rtype *rt = d->rt;
	pthread_mutex_unlock(&ns->lock);
	rc = doc ? res_create(ns->o.client, rt, &sc, doc, sname, &now, err, errn) : -ENOMEM;
	pthread_mutex_lock(&ns->lock);
	cJSON_Delete(doc);
	if (rc)
		goto out;
	const char *id = restab_id(rt, now);
	struct node *n = strmap_get(d->kids, name);
	if (!n && id) {
		n = node_new(ns, d, name, R_RESDIR, true);
		if (n) {
			n->rt = rt;
			n->id = strdup(id);
			n->sname = strdup(sname);
			n->mark = ns->gen;
			node_add_fixed_kids(ns, n);
			strmap_put(d->by_id, n->id, n);
			node_set_obj(ns, n, now, NULL);
		}
	}
	colls_stale(ns, rt->kind);
	ns_inval_entry(ns, d, name);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	ns_fill_attr(ns, n, attr);
	n->nlookup++;
out:
	cJSON_Delete(now);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* ---- unlink, rmdir ---- */

/* Deletes the resource a node shows.  Lock held; dropped during the request. */
static int delete_resource(struct ns *ns, struct node *n, char *err, size_t errn)
{
	const struct rtype *rt = n->rt;
	char *id = n->id ? strdup(n->id) : NULL;
	if (!id)
		return -ENOMEM;
	node_lock_change(ns, n);
	pthread_mutex_unlock(&ns->lock);
	int rc = res_delete(ns->o.client, rt, id, err, errn);
	pthread_mutex_lock(&ns->lock);
	node_unlock_change(ns, n);
	if (!rc || rc == -ENOENT)
		apply_delete(ns, rt, id);
	free(id);
	return rc;
}

int ns_unlink(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn)
{
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent);
	struct node *n = d && d->dir ? strmap_get(d->kids, name) : NULL;
	if (!n || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	if (n->dir) {
		rc = -EISDIR;
		goto out;
	}
	switch (n->role) {
	case R_SCRATCH:
	case R_NEW:
		mem_node_remove(ns, n);
		rc = 0;
		break;
	case R_FILE:
		if (n->self) {
			/* A resource dir's own file goes with its dir (rmdir); removing
			 * it alone is accepted and changes nothing, so that rm -r of
			 * the dir works. */
			ns_inval_entry(ns, d, name);
			rc = 0;
			break;
		}
		rc = delete_resource(ns, n, err, errn);
		break;
	default:
		rc = -EPERM;
		set_err(err, errn, "this file cannot be deleted");
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

static bool dir_empty(const struct node *d)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (!d->kidv[i]->gone && !d->kidv[i]->hidden)
			return false;
	return true;
}

int ns_rmdir(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn)
{
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent);
	struct node *n = d && d->dir ? strmap_get(d->kids, name) : NULL;
	if (!n || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	if (!n->dir) {
		rc = -ENOTDIR;
		goto out;
	}
	if (n->role == R_RESDIR) {
		rc = delete_resource(ns, n, err, errn);
		if (rc == -EBUSY)
			rc = -ENOTEMPTY;
	} else if (n->role == R_COLL && d->role == R_RESDIR) {
		/* apps/ and data-files/ of a space (and the like) go with their
		 * resource: removing one is accepted when it is empty, so that
		 * rm -r of the resource dir works. */
		if (!(rc = ensure_node_listed(ns, n, err, errn)))
			rc = dir_empty(n) ? 0 : -ENOTEMPTY;
		if (!rc)
			ns_inval_entry(ns, d, name);
	} else if (n->role == R_FOLDER) {
		if (!(rc = ensure_node_listed(ns, n, err, errn)) && !dir_empty(n))
			rc = -ENOTEMPTY;
		if (!rc && !n->id)
			rc = -EPERM;
		if (!rc) {
			struct node tmp = *n;
			tmp.rt = restab_get(RK_DATAFILE);
			char *id = strdup(n->id);
			pthread_mutex_unlock(&ns->lock);
			rc = id ? res_delete(ns->o.client, tmp.rt, id, err, errn) : -ENOMEM;
			pthread_mutex_lock(&ns->lock);
			free(id);
			if (!rc || rc == -ENOENT) {
				node_detach(ns, n);
				colls_stale(ns, RK_DATAFILE);
			}
		}
	} else {
		rc = -EPERM;
		set_err(err, errn, "this directory cannot be removed");
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* ---- rename ---- */

/* n (a scratch or new file) takes over resource file t's place and identity. */
static void adopt(struct ns *ns, struct node *n, struct node *t)
{
	struct node *d = t->parent, *c = dir_coll(d);
	char *name = strdup(t->name);
	node_detach(ns, t);
	t->gone = true;
	node_detach(ns, n);
	node_drop_mem(ns, n);
	n->role = R_FILE;
	n->rt = t->rt;
	n->self = t->self;
	n->pinned = t->pinned;
	n->hidden = t->hidden;
	free(n->id);
	n->id = t->id ? strdup(t->id) : NULL;
	free(n->id2);
	n->id2 = t->id2 ? strdup(t->id2) : NULL;
	free(n->sname);
	n->sname = t->sname ? strdup(t->sname) : NULL;
	n->mark = t->mark;
	n->fetched_at = t->fetched_at;
	n->mtime_ms = t->mtime_ms;
	n->ctime_ms = t->ctime_ms;
	n->size = t->size;
	if (name)
		node_attach(ns, d, n, name);
	if (c && n->id && strmap_get(c->by_id, n->id) == t)
		strmap_put(c->by_id, n->id, n);
	free(name);
}

/* Renames scratch/new file n onto resource file t: an update of t. */
static int rename_onto_resource(struct ns *ns, struct node *n, struct node *t, char *err,
				size_t errn)
{
	struct cache_blob *b = NULL;
	cJSON *base = NULL;
	int rc = current_content(ns, t, &b, err, errn);
	if (rc)
		return rc;
	base = parse_blob(b);
	cache_blob_unref(b);
	if (!base)
		return -EIO;
	char *data = malloc(n->memlen ? n->memlen : 1);
	size_t len = n->memlen;
	if (!data) {
		cJSON_Delete(base);
		return -ENOMEM;
	}
	memcpy(data, n->mem, len);
	rc = commit_update(ns, t, data, len, base, NULL, err, errn);
	free(data);
	cJSON_Delete(base);
	if (rc) {
		node_set_errmsg(n, err);
		/* nothing to keep twice: the rejected content stays under n's name */
		struct node *d = t->parent;
		char rej[512];
		snprintf(rej, sizeof(rej), "%s%s", t->name, REJECTED);
		struct node *r = d ? strmap_get(d->kids, rej) : NULL;
		if (r && r->role == R_SCRATCH && r != n)
			mem_node_remove(ns, r);
		return rc;
	}
	if (!n->gone && !t->gone)
		adopt(ns, n, t);
	return 0;
}

/* Renames resource file n to a scratch name: n becomes the scratch copy and
 * a new node shows the resource under its old name, unchanged. */
static int rename_to_scratch(struct ns *ns, struct node *n, struct node *nd, const char *newname,
			     char *err, size_t errn)
{
	struct cache_blob *b = NULL;
	int rc = current_content(ns, n, &b, err, errn);
	if (rc)
		return rc;
	struct node *d = n->parent, *c = dir_coll(d);
	struct node *r = node_new(ns, NULL, n->name, R_FILE, false);
	if (!r) {
		cache_blob_unref(b);
		return -ENOMEM;
	}
	r->rt = n->rt;
	r->self = n->self;
	r->pinned = n->pinned;
	r->id = n->id ? strdup(n->id) : NULL;
	r->id2 = n->id2 ? strdup(n->id2) : NULL;
	r->sname = n->sname ? strdup(n->sname) : NULL;
	r->mark = n->mark;
	r->fetched_at = n->fetched_at;
	r->hidden = n->hidden;
	r->mtime_ms = n->mtime_ms;
	r->ctime_ms = n->ctime_ms;
	r->size = n->size;
	char *oldname = strdup(n->name);
	node_detach(ns, n);
	n->role = R_SCRATCH;
	n->self = n->pinned = n->hidden = false;
	rc = mem_set(ns, n, cache_blob_data(b), cache_blob_len(b));
	cache_blob_unref(b);
	struct node *t = strmap_get(nd->kids, newname);
	if (t && t != n)
		mem_node_remove(ns, t);
	if (node_attach(ns, nd, n, newname) < 0)
		rc = -ENOMEM;
	if (oldname && node_attach(ns, d, r, oldname) == 0 && c && r->id &&
	    strmap_get(c->by_id, r->id) == n)
		strmap_put(c->by_id, r->id, r);
	free(oldname);
	return rc;
}

/* The data-file path a folder directory stands for ("" at the collection). */
static int folder_path(struct node *d, char *out, size_t n)
{
	char tmp[1024];
	out[0] = '\0';
	for (; d && d->role == R_FOLDER; d = d->parent) {
		char seg[512];
		if (names_decode(d->name, seg, sizeof(seg)) <= 0)
			return -EINVAL;
		int r = snprintf(tmp, sizeof(tmp), "%s%s%s", seg, out[0] ? "/" : "", out);
		if (r < 0 || (size_t)r >= sizeof(tmp) || (size_t)r >= n)
			return -ENAMETOOLONG;
		memcpy(out, tmp, (size_t)r + 1);
	}
	return 0;
}

/* Renames or moves resource entry n (file or dir) to nd/newname through the
 * API.  Lock held; dropped during the requests. */
static int rename_resource(struct ns *ns, struct node *n, struct node *nd, const char *newname,
			   char *err, size_t errn)
{
	struct node *c = dir_coll(n->parent), *nc = dir_coll(nd);
	const struct rtype *rt = n->rt;
	bool move = nd != n->parent;
	int rc;
	if (!c || !nc || !rt || nc->rt != rt || (move && rt->kind != RK_APP &&
						   !(rt->kind == RK_DATAFILE && nc == c))) {
		set_err(err, errn, "only apps move between spaces and data files between folders; "
				   "other moves are not possible");
		return -EPERM;
	}
	if (move && rt->kind == RK_APP && !nc->id) {
		set_err(err, errn, "move an app into a space's apps/ (or spaces/@personal/apps/)");
		return -EPERM;
	}
	char *sname = server_name(nc, newname, n->id, !n->dir);
	if (!sname) {
		set_err(err, errn, coll_kids_are_dirs(nc) ? "not a valid name"
							  : "the new name must end in .json");
		return -EINVAL;
	}
	struct cache_blob *b = NULL;
	if ((rc = current_content(ns, n, &b, err, errn))) {
		free(sname);
		return rc;
	}
	cJSON *base = parse_blob(b);
	cache_blob_unref(b);
	cJSON *edited = base ? cJSON_Duplicate(base, 1) : NULL;
	if (!edited) {
		cJSON_Delete(base);
		free(sname);
		return -EIO;
	}
	const char *nf = rt->name_fields[0];
	if (rt->kind == RK_DATAFILE) {
		char folder[1024], full[2048];
		if ((rc = folder_path(nd, folder, sizeof(folder))) == 0) {
			snprintf(full, sizeof(full), "%s%s%s", folder, folder[0] ? "/" : "", sname);
			cJSON_DeleteItemFromObjectCaseSensitive(edited, "name");
			cJSON_AddStringToObject(edited, "name", full);
		}
	} else {
		const char *cur = restab_name(rt, base);
		if (!cur || strcmp(cur, sname)) {
			cJSON_DeleteItemFromObjectCaseSensitive(edited, nf);
			cJSON_AddStringToObject(edited, nf, sname);
		}
	}
	if (!rc && move && rt->kind == RK_APP) {
		cJSON_DeleteItemFromObjectCaseSensitive(edited, "spaceId");
		cJSON_AddStringToObject(edited, "spaceId",
					strcmp(nc->id, "personal") ? nc->id : "");
	}
	cJSON *now = NULL;
	char *id = strdup(n->id);
	if (!rc && id) {
		node_lock_change(ns, n);
		pthread_mutex_unlock(&ns->lock);
		rc = res_update(ns->o.client, rt, id, base, edited, &now, err, errn);
		pthread_mutex_lock(&ns->lock);
		node_unlock_change(ns, n);
	} else if (!id) {
		rc = -ENOMEM;
	}
	if (rc == 1) { /* moved where we cannot see it (another user's personal space) */
		apply_delete(ns, rt, id);
		rc = 0;
	}
	if (!rc && !n->gone) {
		node_detach(ns, n);
		if (strmap_get(c->by_id, id) == n)
			strmap_del(c->by_id, id);
		struct node *t = strmap_get(nd->kids, newname);
		if (t && t != n && t->role == R_SCRATCH)
			mem_node_remove(ns, t);
		if (node_attach(ns, nd, n, newname) == 0) {
			free(n->sname);
			n->sname = strdup(now ? (restab_name(rt, now) ? restab_name(rt, now) : sname)
					      : sname);
			if (rt->kind == RK_DATAFILE && now) {
				free(n->sname);
				n->sname = restab_name(rt, now) ? strdup(restab_name(rt, now)) : NULL;
			}
			if (nc->by_id)
				strmap_put(nc->by_id, n->id, n);
			n->mark = ns->gen;
		}
		if (now)
			apply_change(ns, rt, id, now);
		colls_stale(ns, rt->kind);
	}
	free(id);
	free(sname);
	cJSON_Delete(now);
	cJSON_Delete(base);
	cJSON_Delete(edited);
	return rc;
}

int ns_rename(struct ns *ns, uint64_t parent, const char *name, uint64_t newparent,
	      const char *newname, unsigned flags, char *err, size_t errn)
{
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	if (flags & ~1u) /* RENAME_NOREPLACE only */
		return -EINVAL;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent), *nd = ns_node(ns, newparent);
	if (!d || !nd || !d->dir || !nd->dir) {
		rc = -ENOENT;
		goto out;
	}
	if ((rc = ensure_node_listed(ns, nd, err, errn)))
		goto out;
	struct node *n = strmap_get(d->kids, name), *t = strmap_get(nd->kids, newname);
	if (!n || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	if (t && t->hidden && t != n) {
		/* an alias the kernel's lookup of the new name made (bare id) */
		node_detach(ns, t);
		t = NULL;
	}
	if (t && t->gone)
		t = NULL;
	if (t == n) {
		rc = 0;
		goto out;
	}
	if (t && (flags & 1u)) {
		rc = -EEXIST;
		goto out;
	}
	bool to_scratch = name_is_scratch(nd, newname);
	if (n->role == R_SCRATCH || (n->role == R_NEW && !n->created)) {
		if (t && t->dir) {
			rc = -EISDIR;
		} else if (t && t->role == R_FILE) {
			rc = rename_onto_resource(ns, n, t, err, errn);
		} else if (to_scratch || n->role == R_NEW) {
			if (t)
				mem_node_remove(ns, t);
			node_detach(ns, n);
			rc = node_attach(ns, nd, n, newname);
			if (!rc && to_scratch) {
				n->role = R_SCRATCH;
			} else if (!rc) {
				n->mem_dirty = true;
				rc = commit_create(ns, n, err, errn);
			}
		} else if (t) {
			rc = -EPERM;
			set_err(err, errn, "cannot replace this file");
		} else {
			struct node *c = dir_coll(nd);
			if (!c || !c->rt->creatable || c->coll == C_DATAFILES ||
			    !ends_with(newname, ".json")) {
				rc = -EPERM;
				set_err(err, errn, "a file renamed here would have to create a resource, "
						   "and this kind cannot be created by a file");
			} else {
				node_detach(ns, n);
				if (!(rc = node_attach(ns, nd, n, newname))) {
					n->role = R_NEW;
					n->rt = c->rt;
					n->mem_dirty = true;
					rc = commit_create(ns, n, err, errn);
				}
			}
		}
	} else if (n->role == R_FILE && !n->self && to_scratch) {
		if (t && t->role != R_SCRATCH) {
			rc = -EPERM;
			set_err(err, errn, "cannot replace this file");
		} else {
			rc = rename_to_scratch(ns, n, nd, newname, err, errn);
		}
	} else if (n->role == R_FILE && n->self && to_scratch && nd == d) {
		rc = rename_to_scratch(ns, n, nd, newname, err, errn);
	} else if ((n->role == R_FILE && !n->self) || n->role == R_RESDIR) {
		if (t) {
			rc = -EPERM;
			set_err(err, errn, "the target exists: remove it first (qlikfs never replaces a "
					   "resource by renaming another onto it)");
		} else {
			rc = rename_resource(ns, n, nd, newname, err, errn);
		}
	} else {
		rc = -EPERM;
		set_err(err, errn, "this entry cannot be renamed or moved");
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
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
	if (n->role == R_SCRATCH || n->role == R_NEW) {
		if (!(rc = buf_reserve(ns, &n->mem, &n->memcap, (size_t)size, true))) {
			if (size > n->memlen)
				memset(n->mem + n->memlen, 0, (size_t)size - n->memlen);
			n->memlen = (size_t)size;
			n->mem_dirty = true;
			n->mtime_ms = ns_wall_ms();
		}
		goto out;
	}
	if (!node_writable(n)) {
		rc = -EACCES;
		goto out;
	}
	if (f && f->writable && !f->mem) {
		if (!(rc = buf_reserve(ns, &f->buf, &f->cap, (size_t)size ? (size_t)size : 1, false))) {
			if (size > f->len)
				memset(f->buf + f->len, 0, (size_t)size - f->len);
			f->len = (size_t)size;
			if (!f->dirty)
				n->dirty_handles++;
			f->dirty = true;
			f->written = true;
			n->wsize = f->len;
		}
		goto out;
	}
	/* truncate(2) of a resource file without an open handle: applied now */
	struct cache_blob *b = NULL;
	if ((rc = current_content(ns, n, &b, err, errn)))
		goto out;
	size_t len = cache_blob_len(b);
	if (size == len) {
		cache_blob_unref(b);
		goto out;
	}
	cJSON *base = parse_blob(b);
	char *data = calloc(1, (size_t)size ? (size_t)size : 1);
	if (data)
		memcpy(data, cache_blob_data(b), size < len ? (size_t)size : len);
	cache_blob_unref(b);
	rc = base && data ? commit_update(ns, n, data, (size_t)size, base, NULL, err, errn)
			  : -ENOMEM;
	free(data);
	cJSON_Delete(base);
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}
