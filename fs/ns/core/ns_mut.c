/*
 * ns_mut.c, ns_file.c, ns_dirops.c - every change made through the mount:
 * write buffers and file handles (ns_file.c), create, mkdir, unlink, rmdir,
 * rename (ns_dirops.c), and the helpers they share (here: memory-only files,
 * sending updates and creates, applying a change to every node it touches).
 * docs/SEMANTICS.md "Writing" is the contract; in short:
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
#include "ns/core/ns_mut.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"
#include "res/reswrite.h"

void mut_node_set_errmsg(struct node *n, const char *msg)
{
	free(n->errmsg);
	n->errmsg = msg && msg[0] ? strdup(msg) : NULL;
}

void node_drop_mem(struct ns *ns, struct node *n)
{
	struct node_body *b = n->body;
	if (!b)
		return;
	ns->mem_bytes -= b->memcap;
	free(b->mem);
	b->mem = NULL;
	b->memlen = b->memcap = 0;
}

/* Grows a buffer to hold len bytes.  *acct (may be NULL) is the global
 * account of memory-only files. */
int mut_buf_reserve(struct ns *ns, char **buf, size_t *cap, size_t len, bool acct)
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

int mut_mem_set(struct ns *ns, struct node *n, const char *data, size_t len)
{
	struct node_body *b = node_body(n);
	if (!b)
		return -ENOMEM;
	int rc = mut_buf_reserve(ns, &b->mem, &b->memcap, len, true);
	if (rc)
		return rc;
	if (len)
		memcpy(b->mem, data, len);
	b->memlen = len;
	return 0;
}

/* ---- where things are ---- */

/* The collection a directory belongs to (itself, or a data-file folder's). */
struct node *mut_dir_coll(struct node *d)
{
	if (d->role == R_COLL)
		return d;
	if (d->role == R_FOLDER || d->role == R_QVFDIR)
		return cs_of(d)->coll_root;
	return NULL;
}

struct node *mut_folder_new(struct ns *ns, struct node *d, const char *name, struct node *dc)
{
	struct node *f = node_new(ns, d, name, R_FOLDER, true);
	if (!f)
		return NULL;
	f->pinned = true;
	f->pending = !dc;
	if (dc && node_listing_init(f, dc, false)) {
		node_detach(ns, f);
		return NULL;
	}
	f->rt = dc ? dc->rt : d->pending ? NULL : d->rt;
	f->mark = ns->gen;
	f->mtime_ms = f->ctime_ms = ns_wall_ms();
	ns_inval_entry(ns, d, name);
	return f;
}

bool mut_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* Can `name` in d be a resource's entry?  Else a file by that name is a
 * tool's temporary file, kept in memory. */
bool mut_name_is_scratch(struct node *d, const char *name)
{
	if (names_is_scratch(name) || mut_ends_with(name, REJECTED))
		return true;
	struct node *c = mut_dir_coll(d);
	if (!c || c->rt->bytes_only)
		return false; /* decided by the caller */
	return !mut_ends_with(name, ".json") && !coll_kids_are_dirs(c);
}

/* The content a resource file shows now (cache, else one GET).  Returns a
 * blob reference or -errno.  May drop the lock. */
int mut_current_content(struct ns *ns, struct node *n, struct cache_blob **out, char *err,
			   size_t errn)
{
	char key[256];
	content_key(n, key, sizeof(key));
	if (cache_lookup(ns->o.cache, key, out) == 1)
		return 0;
	return fetch_one(ns, n->self ? n->parent : n, out, err, errn);
}

cJSON *mut_parse_blob(struct cache_blob *b)
{
	return cJSON_ParseWithLength(cache_blob_data(b), cache_blob_len(b));
}

/* Waits until no change to n is in flight (within this operation's
 * deadline), then marks one. */
int mut_node_lock_change(struct ns *ns, struct node *n, char *err, size_t errn)
{
	const int64_t deadline = ns_deadline(ns);
	while (n->busy) {
		int rc = ns_wait(ns, deadline, "a change to the same file", err, errn);
		if (rc)
			return rc;
	}
	n->busy = true;
	return 0;
}

void mut_node_unlock_change(struct ns *ns, struct node *n)
{
	n->busy = false;
	pthread_cond_broadcast(&ns->cv);
}

/* Every collection of kind k is listed again on next use. */
void mut_colls_stale(struct ns *ns, enum rkind k)
{
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *c = ns->tab[i];
		if (c && c->role == R_COLL && c->rt && c->rt->kind == k)
			node_set_listed(c, 0);
	}
	ns->gen++; /* indexes are made again */
}

/* A resource changed on the server: every node showing it takes its new
 * state, and the listings of its kind are refreshed on next use. */
void mut_apply_change(struct ns *ns, const struct rtype *rt, const char *id, const cJSON *now)
{
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *n = ns->tab[i];
		if (!n || n->gone || !n->rt || n->rt->kind != rt->kind || !n->id || strcmp(n->id, id) ||
		    (n->role != R_FILE && n->role != R_RESDIR) || n->self)
			continue;
		node_set_obj(ns, n, now, NULL);
		if (n->hidden || n->role == R_RESDIR)
			n->fetched_at = ns_now(ns);
	}
	mut_colls_stale(ns, rt->kind);
}

/* A resource is gone: its nodes leave their directories. */
void mut_apply_delete(struct ns *ns, const struct rtype *rt, const char *id)
{
	char key[256];
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *n = ns->tab[i];
		if (!n || n->gone || !n->rt || n->rt->kind != rt->kind || !n->id || strcmp(n->id, id) ||
		    (n->role != R_FILE && n->role != R_RESDIR) || n->self)
			continue;
		struct node *c = n->parent ? mut_dir_coll(n->parent) : NULL;
		if (c && cs_of(c)->by_id && strmap_get(cs_of(c)->by_id, id) == n)
			strmap_del(cs_of(c)->by_id, id);
		content_key(n, key, sizeof(key));
		cache_invalidate(ns->o.cache, key);
		node_detach(ns, n);
	}
	mut_colls_stale(ns, rt->kind);
}

/* ---- scratch nodes ---- */

struct node *mut_scratch_new(struct ns *ns, struct node *d, const char *name)
{
	struct node *n = node_new(ns, d, name, R_SCRATCH, false);
	if (!n)
		return NULL;
	n->mtime_ms = n->ctime_ms = ns_wall_ms();
	return n;
}

struct node *mut_new_file(struct ns *ns, struct node *d, const char *name,
			  const struct rtype *rt)
{
	struct node *n = node_new(ns, d, name, R_NEW, false);
	if (!n)
		return NULL;
	n->mtime_ms = n->ctime_ms = ns_wall_ms();
	n->mem_dirty = true;
	n->rt = rt;
	return n;
}

int mut_file_new(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
		 size_t errn)
{
	struct node *c = mut_dir_coll(d);
	if (mut_name_is_scratch(d, name)) {
		*out = mut_scratch_new(ns, d, name);
		return 0;
	}
	if (c && c->rt->creatable && !c->rt->bytes_only && mut_ends_with(name, ".json")) {
		*out = mut_new_file(ns, d, name, c->rt);
		return 0;
	}
	if (c && c->rt->bytes_only)
		errmsg_set(err, errn, "NAME.json in data-files/ is a data file's metadata; "
				      "data files are made by copying them in");
	else if (c && c->rt->creatable)
		errmsg_set(err, errn, "a new resource file must be named NAME.json");
	else if (c)
		errmsg_set(err, errn, "this kind of resource cannot be created by a file");
	else
		errmsg_set(err, errn, "only temporary files can be created here");
	return -EPERM;
}

void mut_mem_open(struct node *n, struct ns_file *f)
{
	f->mem = true;
	if (f->flags & O_TRUNC) {
		if (n->body)
			n->body->memlen = 0;
		n->mem_dirty = true;
		n->mtime_ms = ns_wall_ms();
	}
}

int mut_mem_truncate(struct ns *ns, struct node *n, uint64_t size)
{
	struct node_body *b = node_body(n);
	if (!b)
		return -ENOMEM;
	int rc = mut_buf_reserve(ns, &b->mem, &b->memcap, (size_t)size, true);
	if (rc)
		return rc;
	if (size > b->memlen)
		memset(b->mem + b->memlen, 0, (size_t)size - b->memlen);
	b->memlen = (size_t)size;
	n->mem_dirty = true;
	n->mtime_ms = ns_wall_ms();
	return 0;
}

/* Removes a memory-only node from its directory. */
void mut_mem_node_remove(struct ns *ns, struct node *n)
{
	node_detach(ns, n);
	node_drop_mem(ns, n);
	if (n->body) {
		cJSON_Delete(n->body->created);
		n->body->created = NULL;
	}
}

/* Keeps a rejected update's content beside the resource file. */
/* Keeps what was written to n, under the name the writer used (as; NULL:
 * n's name now), as NAME.rejected beside it. */
void mut_keep_rejected(struct ns *ns, struct node *n, const char *as, const char *data,
		       size_t len, const char *why)
{
	char name[512];
	struct node *d = n->parent;
	if (!d || snprintf(name, sizeof(name), "%s%s", as ? as : n->name, REJECTED) >=
			  (int)sizeof(name))
		return;
	struct node *r = node_kid(d, name);
	if (r && r->role != R_SCRATCH)
		return;
	if (!r && !(r = mut_scratch_new(ns, d, name)))
		return;
	if (mut_mem_set(ns, r, data, len) == 0) {
		r->mtime_ms = ns_wall_ms();
		mut_node_set_errmsg(r, why);
		ns_inval_inode(ns, r);
		ns_inval_entry(ns, d, name);
	}
}

/* ---- parsing what the user wrote ---- */

int mut_parse_json(const char *data, size_t len, cJSON **out, char *err, size_t errn)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(data, len, &end, false);
	const char *p = j && end ? end : NULL;
	while (p && p < data + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (j && p && p < data + len) { /* something after the document */
		cJSON_Delete(j);
		j = NULL;
		end = p;
	}
	if (!j) {
		size_t off = end ? (size_t)(end - data) : 0, line = 1;
		if (!end && cJSON_GetErrorPtr())
			off = (size_t)(cJSON_GetErrorPtr() - data);
		for (size_t k = 0; k < off && k < len; k++)
			line += data[k] == '\n';
		errmsg_set(err, errn, "invalid JSON at byte %zu (line %zu): nothing was sent", off,
			   line);
		return -EINVAL;
	}
	*out = j;
	return 0;
}

static int parse_doc(const char *data, size_t len, bool empty_ok, cJSON **out, char *err,
		     size_t errn)
{
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
		i++;
	if (i == len) {
		if (empty_ok) {
			*out = cJSON_CreateObject();
			return *out ? 0 : -ENOMEM;
		}
		errmsg_set(err, errn, "the file is empty: nothing was sent (write the resource's JSON)");
		return -EINVAL;
	}
	cJSON *j = NULL;
	int rc = mut_parse_json(data, len, &j, err, errn);
	if (rc)
		return rc;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		errmsg_set(err, errn, "the file must hold one JSON object: nothing was sent");
		return -EINVAL;
	}
	*out = j;
	return 0;
}

/* ---- update, create ---- */

/* The resource identity of a file node (a resource dir's own file speaks for
 * the dir). */
struct node *mut_res_node(struct node *n)
{
	return n->self ? n->parent : n;
}

/* Sends the content of a resource file's write buffer.  Lock held; dropped
 * during the requests.  On success *base (may be NULL) receives the new
 * state (caller frees). */
int mut_commit_update(struct ns *ns, struct node *n, const char *data, size_t len,
			 const cJSON *base, cJSON **newbase, char *err, size_t errn)
{
	return mut_commit_update_as(ns, n, NULL, data, len, base, newbase, err, errn);
}

int mut_commit_update_as(struct ns *ns, struct node *n, const char *as, const char *data,
			 size_t len, const cJSON *base, cJSON **newbase, char *err, size_t errn)
{
	cJSON *edited = NULL, *now = NULL;
	struct node *rn = mut_res_node(n);
	int rc = parse_doc(data, len, false, &edited, err, errn);
	if (rc)
		goto fail;
	if (!rn->rt || !rn->id) {
		rc = -EPERM;
		errmsg_set(err, errn, "this file cannot be changed");
		goto fail;
	}
	const struct rtype *rt = rn->rt;
	/* a backup's references rewritten; held until they are restored */
	rc = ns->hooks.restore_update ? ns->hooks.restore_update(ns, rn, edited, base, err, errn)
				       : 0;
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		cJSON_Delete(edited);
		mut_node_set_errmsg(n, NULL);
		if (newbase)
			*newbase = cJSON_Duplicate(base, 1);
		return 0;
	}
	char *id = strdup(rn->id);
	if (!id) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = mut_node_lock_change(ns, n, err, errn))) {
		free(id);
		goto fail;
	}
	pthread_mutex_unlock(&ns->lock);
	rc = res_update(ns->o.client, rt, id, base, edited, &now, err, errn);
	pthread_mutex_lock(&ns->lock);
	mut_node_unlock_change(ns, n);
	if (!rc && now)
		mut_apply_change(ns, rt, id, now);
	if (rc == 1) { /* applied; out of our sight now */
		mut_apply_delete(ns, rt, id);
		rc = 0;
	}
	free(id);
	if (!rc) {
		mut_node_set_errmsg(n, NULL);
		if (newbase)
			*newbase = now ? now : cJSON_Duplicate(base, 1);
		else
			cJSON_Delete(now);
		cJSON_Delete(edited);
		return 0;
	}
fail:
	cJSON_Delete(edited);
	mut_node_set_errmsg(n, err);
	mut_keep_rejected(ns, n, as, data, len, err);
	return rc;
}

void mut_coll_scope(const struct node *c, struct res_scope *sc)
{
	memset(sc, 0, sizeof(*sc));
	const struct rtype *rt = c ? c->rt : NULL;
	if (!rt || !rt->in)
		return; /* (a collection of the root: the tenant-wide one) */
	/* the resource whose directory holds c (the resource table's in_kind):
	 * its id, or (wide_only: a space's data-stores/) the space's */
	sc->id[rt->in_kind] = rt->wide_only ? cs_of(c)->space_filter : c->id;
	if (rt->scope_store) /* (data sets: the asset's store) */
		sc->id[restab_get(rt->in_kind)->in_kind] = c->store_id;
}

/* The server name meant by entry `name` of collection c (NULL on failure);
 * a file (not a dir) is always NAME.json. */
char *mut_server_name(struct node *c, const char *name, const char *own_id, bool file)
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
int mut_commit_create(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct node *c = n->parent ? mut_dir_coll(n->parent) : NULL;
	if (n->parent && n->parent->pending && n->parent->rt && n->parent->parent)
		c = n->parent->parent; /* a backup's resource dir's own JSON: its collection */
	cJSON *doc = NULL, *now = NULL;
	struct res_scope sc;
	struct node_body *b = node_body(n); /* (created is kept there) */
	int rc;
	if (!b)
		return -ENOMEM;
	if (!c) {
		errmsg_set(err, errn, "no collection to create in");
		return -EPERM;
	}
	if ((rc = parse_doc(b->mem, b->memlen, true, &doc, err, errn))) {
		mut_node_set_errmsg(n, err);
		return rc;
	}
	char *name = mut_server_name(c, n->name, NULL, true);
	if (!name && !json_str(doc, "name")) {
		cJSON_Delete(doc);
		errmsg_set(err, errn, "cannot tell the new resource's name from the file name");
		mut_node_set_errmsg(n, err);
		return -EINVAL;
	}
	const struct rtype *rt = c->rt;
	/* a backup's file: an update of what it was restored to, held, or a
	 * create recorded in the restore map */
	rc = ns->hooks.restore_create ? ns->hooks.restore_create(ns, n, c, doc, err, errn) : 1;
	if (rc <= 0) {
		free(name);
		cJSON_Delete(doc);
		if (rc)
			mut_node_set_errmsg(n, err);
		return rc;
	}
	char *s1 = c->id ? strdup(c->id) : NULL, *s2 = c->store_id ? strdup(c->store_id) : NULL;
	struct node tmp = *c;
	tmp.id = s1;
	tmp.store_id = s2;
	mut_coll_scope(&tmp, &sc);
	if (!(rc = mut_node_lock_change(ns, n, err, errn))) {
		n->mem_dirty = false;
		pthread_mutex_unlock(&ns->lock);
		rc = res_create(ns->o.client, rt, &sc, doc, name, &now, err, errn);
		pthread_mutex_lock(&ns->lock);
		mut_node_unlock_change(ns, n);
	}
	free(s1);
	free(s2);
	free(name);
	if (rc) {
		cJSON_Delete(doc);
		mut_node_set_errmsg(n, err);
		return rc;
	}
	mut_node_set_errmsg(n, NULL);
	if (ns->hooks.restore_created)
		ns->hooks.restore_created(ns, n, c, doc, now);
	cJSON_Delete(doc);
	cJSON_Delete(b->created);
	b->created = now;
	n->rt = rt;
	free(n->id);
	n->id = restab_id(rt, now) ? strdup(restab_id(rt, now)) : NULL;
	mut_colls_stale(ns, rt->kind);
	/* The resource shows under its canonical entry from the next listing;
	 * this name leaves the directory now (the open handle keeps working). */
	node_detach(ns, n);
	return 0;
}

/* The full path of data file `sname` in folder directory d ("sales.csv" at
 * the collection, "q1/sales.csv" in its folder q1). */
int mut_folder_path(struct node *d, const char *sname, char *out, size_t n)
{
	char tmp[2048];
	int r = snprintf(out, n, "%s", sname);
	if (r < 0 || (size_t)r >= n)
		return -ENAMETOOLONG;
	for (; d && d->role == R_FOLDER; d = d->parent) {
		char seg[512];
		if (names_decode(d->name, seg, sizeof(seg)) <= 0)
			return -EINVAL;
		r = snprintf(tmp, sizeof(tmp), "%s/%s", seg, out);
		if (r < 0 || (size_t)r >= sizeof(tmp) || (size_t)r >= n)
			return -ENAMETOOLONG;
		memcpy(out, tmp, (size_t)r + 1);
	}
	return 0;
}

/* Deletes the resource a node shows, what undoing it needs kept in the
 * trash first (the trash hooks).  Lock held; dropped during the requests. */
int mut_delete_resource(struct ns *ns, struct node *n, char *err, size_t errn)
{
	const struct rtype *rt = n->rt;
	char *id = n->id ? strdup(n->id) : NULL;
	void *kept = NULL;
	if (!id)
		return -ENOMEM;
	int rc = mut_node_lock_change(ns, n, err, errn);
	if (rc) {
		free(id);
		return rc;
	}
	if (ns->hooks.trash_keep && (rc = ns->hooks.trash_keep(ns, n, &kept, err, errn))) {
		mut_node_unlock_change(ns, n); /* refused: not deleted */
		mut_node_set_errmsg(n, err);
		free(id);
		return rc;
	}
	pthread_mutex_unlock(&ns->lock);
	rc = res_delete(ns->o.client, rt, id, err, errn);
	pthread_mutex_lock(&ns->lock);
	if (ns->hooks.trash_done)
		ns->hooks.trash_done(ns, kept, rc);
	mut_node_unlock_change(ns, n);
	mut_node_set_errmsg(n, rc && rc != -ENOENT ? err : NULL); /* user.qlik.error */
	if (!rc || rc == -ENOENT)
		mut_apply_delete(ns, rt, id);
	free(id);
	return rc;
}
