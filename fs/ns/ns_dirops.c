/*
 * ns_dirops.c - create, mkdir, unlink, rmdir, rename.  Contract and locks:
 * ns_mut.c.
 */
#include "ns/core/ns_mut.h"
#include "ns/core/ns_restore.h"
#include "ns/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/names.h"
#include "ns/kinds/ns_ext.h"
#include "res/reswrite.h"

/* ---- create, mkdir ---- */

/* The kind that claims name in directory d (a data file or a .qvf copied
 * in: an upload), or NULL. */
static const struct ns_kind *claimed_by(struct ns *ns, struct node *d, const char *name)
{
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd)
		if (kd->claims && kd->claims(ns, d, name))
			return kd;
	return NULL;
}

int ns_create(struct ns *ns, uint64_t parent, const char *name, int flags,
	      struct ns_attr *attr, struct ns_file **out, char *err, size_t errn)
{
	bool changed;
	int rc;
	*out = NULL;
	if (ns->o.read_only)
		return -EROFS;
	if (ns_ino_kind(ns, parent))
		return -EACCES; /* changes/ is read-only */
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent), *n = NULL;
	if (!d || !d->dir) {
		rc = d ? -ENOTDIR : -ENOENT;
		goto unlock;
	}
	if ((rc = ensure_node_listed(ns, d, err, errn)))
		goto unlock;
	n = node_kid(d, name);
	if (n && !n->gone) {
		if (flags & O_EXCL) {
			rc = -EEXIST;
			goto unlock;
		}
		pthread_mutex_unlock(&ns->lock);
		goto open; /* an existing file: opened (and truncated if asked) */
	}
	if ((rc = mut_take_back(ns, d, &n, name)) < 0)
		goto unlock;
	if (rc == 1) { /* what is written now updates the resource */
		pthread_mutex_unlock(&ns->lock);
		flags = (flags & ~(O_EXCL | O_ACCMODE)) | O_TRUNC |
			((flags & O_ACCMODE) == O_RDONLY ? O_WRONLY : (flags & O_ACCMODE));
		goto open;
	}
	struct node *c = mut_dir_coll(d);
	const struct ns_kind *kc;
	if (d->pending) { /* its own JSON (a create, later), else kept in memory */
		bool own = d->rt && !strcmp(name, restore_own_file(d->rt->kind));
		n = own ? node_new(ns, d, name, R_NEW, false) : mut_scratch_new(ns, d, name);
		if (n && own) {
			n->mtime_ms = n->ctime_ms = ns_wall_ms();
			n->mem_dirty = true;
			n->rt = d->rt;
		}
	} else if (KIND(ns, d) && KIND(ns, d)->create) { /* reports/ */
		if ((rc = KIND(ns, d)->create(ns, d, name, &n, err, errn)))
			goto unlock;
	} else if ((kc = claimed_by(ns, d, name)) && kc->create) { /* an upload */
		if ((rc = kc->create(ns, d, name, &n, err, errn)))
			goto unlock;
	} else if (mut_name_is_scratch(d, name)) {
		n = mut_scratch_new(ns, d, name);
	} else if (c && c->rt->creatable && c->coll != C_DATAFILES &&
		   mut_ends_with(name, ".json")) {
		n = node_new(ns, d, name, R_NEW, false);
		if (n) {
			n->mtime_ms = n->ctime_ms = ns_wall_ms();
			n->mem_dirty = true;
			n->rt = c->rt;
		}
	} else {
		rc = -EPERM;
		if (c && c->coll == C_DATAFILES)
			errmsg_set(err, errn, "NAME.json in data-files/ is a data file's metadata; "
					      "data files are made by copying them in");
		else if (c && c->rt->creatable)
			errmsg_set(err, errn, "a new resource file must be named NAME.json");
		else if (c)
			errmsg_set(err, errn, "this kind of resource cannot be created by a file");
		else
			errmsg_set(err, errn, "only temporary files can be created here");
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

/* A directory that lives in the mount only (pinned): a data-file folder of
 * collection dc, or (dc NULL) a pending directory of a restore.  0 or
 * -ENOMEM. */
static int mkdir_local(struct ns *ns, struct node *d, const char *name, struct node *dc,
		       struct ns_attr *attr)
{
	struct node *f = node_new(ns, d, name, R_FOLDER, true);
	if (!f)
		return -ENOMEM;
	f->pinned = true;
	f->pending = !dc;
	f->coll_root = dc;
	f->rt = dc ? dc->rt : d->pending ? NULL : d->rt;
	f->mark = ns->gen;
	f->mtime_ms = f->ctime_ms = ns_wall_ms();
	ns_inval_entry(ns, d, name);
	ns_fill_attr(ns, f, attr);
	f->nlookup++;
	return 0;
}

int ns_mkdir(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *attr, char *err,
	     size_t errn)
{
	cJSON *now = NULL;
	char sname[1024];
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	if (ns_ino_kind(ns, parent))
		return -EACCES;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent);
	if (!d || !d->dir) {
		rc = d ? -ENOTDIR : -ENOENT;
		goto out;
	}
	if ((rc = ensure_node_listed(ns, d, err, errn)))
		goto out;
	if (node_kid(d, name)) {
		rc = -EEXIST;
		goto out;
	}
	struct node *dc = mut_dir_coll(d);
	if (restore_pending_wanted(ns, d, name)) {
		/* a backup's data store or data asset directory: it waits, in
		 * memory, for its own JSON (docs/SEMANTICS.md "Restore") */
		rc = mkdir_local(ns, d, name, NULL, attr);
		goto out;
	}
	if (dc && dc->coll == C_DATAFILES && (d->role == R_COLL || d->role == R_FOLDER)) {
		/* a folder of data files: a path prefix, not an object of the
		 * tenant; it lives in the mount until files are copied into it */
		if (names_decode(name, sname, sizeof(sname)) <= 0 || strchr(sname, '/')) {
			rc = -EINVAL;
			errmsg_set(err, errn, "not a valid folder name");
		} else {
			rc = mkdir_local(ns, d, name, dc, attr);
		}
		goto out;
	}
	if (d->role != R_COLL || d->coll != C_SPACES) {
		rc = -EPERM;
		errmsg_set(err, errn, "directories can only be made in spaces/ (a new shared space) "
				      "and in data-files/ (a folder)");
		goto out;
	}
	if (names_decode(name, sname, sizeof(sname)) <= 0 || names_is_scratch(name)) {
		rc = -EINVAL;
		errmsg_set(err, errn, "not a valid space name");
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
	struct node *n = node_kid(d, name);
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
	mut_colls_stale(ns, rt->kind);
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

int ns_unlink(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn)
{
	int rc;
	const struct ns_kind *k = ns_ino_kind(ns, parent);
	if (k)
		return k->unlink_in(ns, parent, name, err, errn);
	if (ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent);
	struct node *n = d && d->dir ? node_kid(d, name) : NULL;
	if (!n || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	if (n->dir) {
		rc = -EISDIR;
		goto out;
	}
	if (KIND(ns, n) && KIND(ns, n)->unlink) {
		rc = KIND(ns, n)->unlink(ns, d, n, err, errn);
		goto out;
	}
	switch (n->role) {
	case R_SCRATCH:
	case R_NEW:
		mut_mem_node_remove(ns, n);
		rc = 0;
		break;
	case R_FILE:
		if (n->self) {
			/* A resource dir's own file goes with its dir (rmdir); removing
			 * it alone is accepted and changes nothing on the server, so
			 * that rm -r of the dir works.  The name is free until the next
			 * listing of the dir's collection: a file created by that name
			 * meanwhile is this one, its content an update (tar x unlinks
			 * and creates with O_EXCL). */
			n->gone = true;
			ns_inval_entry(ns, d, name);
			rc = 0;
			break;
		}
		if (defer_enabled(ns) && n->rt && n->id && !n->busy) {
			rc = defer_delete(ns, n); /* sent later, unless created again */
			break;
		}
		rc = mut_delete_resource(ns, n, err, errn);
		break;
	default:
		rc = -EPERM;
		errmsg_set(err, errn, "this file cannot be deleted");
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* Empty for rmdir: nothing listed but what a kind puts aside (.qvf/). */
static bool dir_empty(const struct ns *ns, const struct node *d)
{
	for (size_t i = 0; i < d->nkids; i++) {
		const struct node *k = d->kidv[i];
		if (!k->gone && !k->hidden && !(KIND(ns, k) && KIND(ns, k)->aside))
			return false;
	}
	return true;
}

int ns_rmdir(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn)
{
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	if (ns_ino_kind(ns, parent))
		return -EACCES;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent);
	struct node *n = d && d->dir ? node_kid(d, name) : NULL;
	if (!n || n->gone) {
		rc = -ENOENT;
		goto out;
	}
	if (!n->dir) {
		rc = -ENOTDIR;
		goto out;
	}
	if (KIND(ns, n) && KIND(ns, n)->rmdir) {
		rc = KIND(ns, n)->rmdir(ns, d, n, err, errn);
		goto out;
	}
	if (n->role == R_RESDIR) {
		rc = mut_delete_resource(ns, n, err, errn);
		if (rc == -EBUSY)
			rc = -ENOTEMPTY;
	} else if (n->role == R_COLL && d->role == R_RESDIR) {
		/* apps/ and data-files/ of a space (and the like) go with their
		 * resource: removing one is accepted when it is empty, so that
		 * rm -r of the resource dir works. */
		if (!(rc = ensure_node_listed(ns, n, err, errn)))
			rc = dir_empty(ns, n) ? 0 : -ENOTEMPTY;
		if (!rc)
			ns_inval_entry(ns, d, name);
	} else if (n->role == R_FOLDER) {
		if (!(rc = ensure_node_listed(ns, n, err, errn)) && !dir_empty(ns, n))
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
				mut_colls_stale(ns, RK_DATAFILE);
			}
		}
	} else {
		rc = -EPERM;
		errmsg_set(err, errn, "this directory cannot be removed");
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* ---- rename ---- */

/* dst takes over src's place as the file of a resource: identity, times,
 * listing mark and .qvf twin (an app's export stays with the app). */
static void take_identity(struct node *dst, struct node *src)
{
	dst->role = R_FILE;
	dst->rt = src->rt;
	dst->self = src->self;
	dst->pinned = src->pinned;
	dst->hidden = src->hidden;
	free(dst->id);
	dst->id = src->id ? strdup(src->id) : NULL;
	free(dst->store_id);
	dst->store_id = src->store_id ? strdup(src->store_id) : NULL;
	free(dst->item_id);
	dst->item_id = src->item_id ? strdup(src->item_id) : NULL;
	free(dst->sname);
	dst->sname = src->sname ? strdup(src->sname) : NULL;
	dst->mark = src->mark;
	dst->fetched_at = src->fetched_at;
	dst->mtime_ms = src->mtime_ms;
	dst->ctime_ms = src->ctime_ms;
	dst->size = src->size;
	dst->twin = src->twin;
	if (dst->twin)
		dst->twin->twin = dst;
	src->twin = NULL;
}

/* n (a scratch or new file) takes over resource file t's place and identity. */
static void adopt(struct ns *ns, struct node *n, struct node *t)
{
	struct node *d = t->parent, *c = mut_dir_coll(d);
	char *name = strdup(t->name);
	node_detach(ns, t);
	t->gone = true;
	node_detach(ns, n);
	node_drop_mem(ns, n);
	take_identity(n, t);
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
	int rc = mut_current_content(ns, t, &b, err, errn);
	if (rc)
		return rc;
	base = mut_parse_blob(b);
	cache_blob_unref(b);
	if (!base)
		return -EIO;
	const struct node_body *nb = body_of(n);
	char *data = malloc(nb->memlen ? nb->memlen : 1);
	size_t len = nb->memlen;
	if (!data) {
		cJSON_Delete(base);
		return -ENOMEM;
	}
	memcpy(data, nb->mem, len);
	rc = mut_commit_update(ns, t, data, len, base, NULL, err, errn);
	free(data);
	cJSON_Delete(base);
	if (rc) {
		mut_node_set_errmsg(n, err);
		/* nothing to keep twice: the rejected content stays under n's name */
		struct node *d = t->parent;
		char rej[512];
		snprintf(rej, sizeof(rej), "%s%s", t->name, REJECTED);
		struct node *r = d ? node_kid(d, rej) : NULL;
		if (r && r->role == R_SCRATCH && r != n)
			mut_mem_node_remove(ns, r);
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
	int rc = mut_current_content(ns, n, &b, err, errn);
	if (rc)
		return rc;
	struct node *d = n->parent, *c = mut_dir_coll(d);
	struct node *r = node_new(ns, NULL, n->name, R_FILE, false);
	if (!r) {
		cache_blob_unref(b);
		return -ENOMEM;
	}
	take_identity(r, n);
	char *oldname = strdup(n->name);
	node_detach(ns, n);
	n->role = R_SCRATCH;
	n->self = n->pinned = n->hidden = false;
	rc = mut_mem_set(ns, n, cache_blob_data(b), cache_blob_len(b));
	cache_blob_unref(b);
	struct node *t = node_kid(nd, newname);
	if (t && t != n)
		mut_mem_node_remove(ns, t);
	if (node_attach(ns, nd, n, newname) < 0)
		rc = -ENOMEM;
	if (oldname && node_attach(ns, d, r, oldname) == 0 && c && r->id &&
	    strmap_get(c->by_id, r->id) == n)
		strmap_put(c->by_id, r->id, r);
	free(oldname);
	return rc;
}

/* Renames or moves resource entry n (file or dir) to nd/newname through the
 * API.  Lock held; dropped during the requests. */
static int rename_resource(struct ns *ns, struct node *n, struct node *nd, const char *newname,
			   char *err, size_t errn)
{
	struct node *c = mut_dir_coll(n->parent), *nc = mut_dir_coll(nd);
	const struct rtype *rt = n->rt;
	bool move = nd != n->parent;
	int rc;
	if (!c || !nc || !rt || nc->rt != rt || (move && rt->kind != RK_APP &&
						   !(rt->kind == RK_DATAFILE && nc == c))) {
		errmsg_set(err, errn, "only apps move between spaces and data files between folders; "
				  "other moves are not possible");
		return -EPERM;
	}
	if (move && rt->kind == RK_APP && !nc->id) {
		errmsg_set(err, errn, "move an app into a space's apps/ (or spaces/@personal/apps/)");
		return -EPERM;
	}
	char *sname = mut_server_name(nc, newname, n->id, !n->dir);
	if (!sname) {
		errmsg_set(err, errn, "%s", coll_kids_are_dirs(nc) ? "not a valid name"
							  : "the new name must end in .json");
		return -EINVAL;
	}
	struct cache_blob *b = NULL;
	if ((rc = mut_current_content(ns, n, &b, err, errn))) {
		free(sname);
		return rc;
	}
	cJSON *base = mut_parse_blob(b);
	cache_blob_unref(b);
	cJSON *edited = base ? cJSON_Duplicate(base, 1) : NULL;
	if (!edited) {
		cJSON_Delete(base);
		free(sname);
		return -EIO;
	}
	const char *nf = rt->name_fields[0];
	if (rt->kind == RK_DATAFILE) {
		char full[2048];
		if ((rc = mut_datafile_path(nd, sname, full, sizeof(full))) == 0) {
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
	if (!rc && id && !(rc = mut_node_lock_change(ns, n, err, errn))) {
		pthread_mutex_unlock(&ns->lock);
		rc = res_update(ns->o.client, rt, id, base, edited, &now, err, errn);
		pthread_mutex_lock(&ns->lock);
		mut_node_unlock_change(ns, n);
	} else if (!id) {
		rc = -ENOMEM;
	}
	if (rc == 1) { /* moved where we cannot see it (another user's personal space) */
		mut_apply_delete(ns, rt, id);
		rc = 0;
	}
	if (!rc && !n->gone) {
		node_detach(ns, n);
		if (strmap_get(c->by_id, id) == n)
			strmap_del(c->by_id, id);
		struct node *t = node_kid(nd, newname);
		if (t && t != n && t->role == R_SCRATCH)
			mut_mem_node_remove(ns, t);
		if (node_attach(ns, nd, n, newname) == 0) {
			free(n->sname);
			/* the name the server now has (data files: their full path) */
			const char *nn = now ? restab_name(rt, now) : NULL;
			n->sname = strdup(nn ? nn : sname);
			if (nc->by_id)
				strmap_put(nc->by_id, n->id, n);
			n->mark = ns->gen;
		}
		if (now)
			mut_apply_change(ns, rt, id, now);
		mut_colls_stale(ns, rt->kind);
	}
	free(id);
	free(sname);
	cJSON_Delete(now);
	cJSON_Delete(base);
	cJSON_Delete(edited);
	return rc;
}

/* rename of a file that is not (yet) a resource: a scratch file or a new
 * JSON file not yet created; onto a resource (its update), to an upload, to
 * a scratch name, or to a name that creates a resource */
static int rename_new(struct ns *ns, struct node *n, struct node *t, struct node *nd,
		      const char *newname, bool to_scratch, char *err, size_t errn)
{
	int rc;
	if (nd->pending && !(t && (t->dir || (t->role != R_SCRATCH && t->role != R_NEW)))) {
		/* into a backup's resource directory waiting for its own JSON:
		 * that JSON creates the resource, anything else stays in memory */
		bool own = nd->rt && !strcmp(newname, restore_own_file(nd->rt->kind));
		if (t)
			mut_mem_node_remove(ns, t);
		node_detach(ns, n);
		if ((rc = node_attach(ns, nd, n, newname)))
			return rc;
		n->role = own ? R_NEW : R_SCRATCH;
		if (!own)
			return 0;
		n->rt = nd->rt;
		n->mem_dirty = true;
		return mut_commit_create(ns, n, err, errn);
	}
	/* t's kind takes it (an app's export; an upload, for a name it still
	 * claims), else a kind that claims the new name (an upload) */
	const struct ns_kind *kt = t ? KIND(ns, t) : NULL, *kc = claimed_by(ns, nd, newname);
	if (t && t->dir) {
		rc = -EISDIR;
	} else if (kt && kt->rename_onto && (!kt->claims || kt->claims(ns, nd, newname))) {
		rc = kt->rename_onto(ns, n, t, nd, newname, err, errn);
	} else if (t && t->role == R_FILE) {
		rc = rename_onto_resource(ns, n, t, err, errn);
	} else if (kc && kc->rename_onto && (!t || t->role == R_SCRATCH)) {
		rc = kc->rename_onto(ns, n, t, nd, newname, err, errn);
	} else if (to_scratch || n->role == R_NEW) {
		if (t)
			mut_mem_node_remove(ns, t);
		node_detach(ns, n);
		rc = node_attach(ns, nd, n, newname);
		if (!rc && to_scratch) {
			n->role = R_SCRATCH;
		} else if (!rc) {
			n->mem_dirty = true;
			rc = mut_commit_create(ns, n, err, errn);
		}
	} else if (t && !(t->role == R_NEW && !body_of(t)->created)) {
		rc = -EPERM;
		errmsg_set(err, errn, "cannot replace this file");
	} else {
		/* (onto a new file not created yet, a failed or held one: this
		 * content replaces it) */
		if (t)
			mut_mem_node_remove(ns, t);
		struct node *c = mut_dir_coll(nd);
		if (c && c->coll == C_DATAFILES) {
			rc = -EPERM;
			errmsg_set(err, errn, "a data file is made by copying its bytes in (NAME, not "
					  "NAME.json); the API does not give a data file's bytes "
					  "back, so a backup of the mount holds only its metadata");
			restore_report(ns, "refused", nd, "data-file", NULL, NULL, err);
		} else if (!c || !c->rt->creatable || !mut_ends_with(newname, ".json")) {
			rc = -EPERM;
			errmsg_set(err, errn, "a file renamed here would have to create a resource, "
					  "and this kind cannot be created by a file");
		} else {
			node_detach(ns, n);
			if (!(rc = node_attach(ns, nd, n, newname))) {
				n->role = R_NEW;
				n->rt = c->rt;
				n->mem_dirty = true;
				rc = mut_commit_create(ns, n, err, errn);
			}
		}
	}
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
	if (ns_ino_kind(ns, parent) || ns_ino_kind(ns, newparent))
		return -EACCES;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent), *nd = ns_node(ns, newparent);
	if (!d || !nd || !d->dir || !nd->dir) {
		rc = -ENOENT;
		goto out;
	}
	if ((rc = ensure_node_listed(ns, nd, err, errn)))
		goto out;
	struct node *n = node_kid(d, name), *t = node_kid(nd, newname);
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
	const struct ns_kind *k = KIND(ns, n) && KIND(ns, n)->rename ? KIND(ns, n)
				  : KIND(ns, d) && KIND(ns, d)->rename ? KIND(ns, d)
				  : KIND(ns, nd) && KIND(ns, nd)->rename ? KIND(ns, nd)
				  : t && KIND(ns, t) && KIND(ns, t)->rename ? KIND(ns, t) : NULL;
	if (k) { /* a kind's node is involved: its rule */
		rc = k->rename(ns, n, t, d, nd, newname, err, errn);
		goto out;
	}
	bool to_scratch = mut_name_is_scratch(nd, newname);
	if (n->role == R_SCRATCH || (n->role == R_NEW && !body_of(n)->created)) {
		rc = rename_new(ns, n, t, nd, newname, to_scratch, err, errn);
	} else if (n->role == R_FILE && !n->self && to_scratch) {
		if (t && t->role != R_SCRATCH) {
			rc = -EPERM;
			errmsg_set(err, errn, "cannot replace this file");
		} else {
			rc = rename_to_scratch(ns, n, nd, newname, err, errn);
		}
	} else if (n->role == R_FILE && n->self && to_scratch && nd == d) {
		rc = rename_to_scratch(ns, n, nd, newname, err, errn);
	} else if ((n->role == R_FILE && !n->self) || n->role == R_RESDIR) {
		if (t) {
			rc = -EPERM;
			errmsg_set(err, errn, "the target exists: remove it first (qlikfs never replaces a "
					  "resource by renaming another onto it)");
		} else {
			rc = rename_resource(ns, n, nd, newname, err, errn);
		}
	} else {
		rc = -EPERM;
		errmsg_set(err, errn, "this entry cannot be renamed or moved");
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

