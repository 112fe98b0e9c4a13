/*
 * ns_move.c - what a rename does to the entries of the node table when no
 * kind's own rule (ns_kind rename) is involved, for the kinds whose move
 * hook calls it (ns/kinds/ns_res.c, ns_memfile.c): a resource renamed or
 * moved through the API, a resource file renamed to a tool's temporary
 * name (an editor's backup), a temporary or new file renamed onto a
 * resource (its update), to a temporary name, or to a name that creates a
 * resource.  Contract (docs/SEMANTICS.md "Writing") and locks: ns_mut.c.
 */
#include "ns/core/ns_mut.h"
#include "ns/core/ns_restore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res/reswrite.h"

/* The kind that claims name in directory d (a data file or a .qvf copied
 * in: an upload), or NULL. */
const struct ns_kind *ns_kind_claiming(struct ns *ns, struct node *d, const char *name)
{
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd)
		if (kd->claims && kd->claims(ns, d, name))
			return kd;
	return NULL;
}

/* dst takes over src's place as the file of a resource: identity, times and
 * listing mark (an app's export follows: it is the app id's). */
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
	free(dst->sname);
	dst->sname = src->sname ? strdup(src->sname) : NULL;
	dst->mark = src->mark;
	dst->fetched_at = src->fetched_at;
	dst->mtime_ms = src->mtime_ms;
	dst->ctime_ms = src->ctime_ms;
	dst->size = src->size;
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
	if (c && n->id && strmap_get(cs_of(c)->by_id, n->id) == t)
		strmap_put(cs_of(c)->by_id, n->id, n);
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
int mut_rename_to_scratch(struct ns *ns, struct node *n, struct node *nd, const char *newname,
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
	    strmap_get(cs_of(c)->by_id, r->id) == n)
		strmap_put(cs_of(c)->by_id, r->id, r);
	free(oldname);
	return rc;
}

/* Renames or moves resource entry n (file or dir) to nd/newname through the
 * API.  Lock held; dropped during the requests. */
int mut_rename_resource(struct ns *ns, struct node *n, struct node *nd, const char *newname,
			char *err, size_t errn)
{
	struct node *c = mut_dir_coll(n->parent), *nc = mut_dir_coll(nd);
	const struct rtype *rt = n->rt;
	bool move = nd != n->parent;
	int rc;
	if (!c || !nc || !rt || nc->rt != rt || (move && !rt->move_field &&
						   !(rt->folder_flag && nc == c))) {
		errmsg_set(err, errn, "only apps move between spaces and data files between folders; "
				  "other moves are not possible");
		return -EPERM;
	}
	if (move && rt->move_field && !nc->id) {
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
	if (rt->folder_flag) {
		char full[2048];
		if ((rc = mut_folder_path(nd, sname, full, sizeof(full))) == 0) {
			cJSON_DeleteItemFromObjectCaseSensitive(edited, nf);
			cJSON_AddStringToObject(edited, nf, full);
		}
	} else {
		const char *cur = restab_name(rt, base);
		if (!cur || strcmp(cur, sname)) {
			cJSON_DeleteItemFromObjectCaseSensitive(edited, nf);
			cJSON_AddStringToObject(edited, nf, sname);
		}
	}
	if (!rc && move && rt->move_field) {
		cJSON_DeleteItemFromObjectCaseSensitive(edited, rt->move_field);
		cJSON_AddStringToObject(edited, rt->move_field,
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
		if (strmap_get(cs_of(c)->by_id, id) == n)
			strmap_del(cs_of(c)->by_id, id);
		struct node *t = node_kid(nd, newname);
		if (t && t != n && t->role == R_SCRATCH)
			mut_mem_node_remove(ns, t);
		if (node_attach(ns, nd, n, newname) == 0) {
			free(n->sname);
			/* the name the server now has (data files: their full path) */
			const char *nn = now ? restab_name(rt, now) : NULL;
			n->sname = strdup(nn ? nn : sname);
			if (cs_of(nc)->by_id)
				strmap_put(cs_of(nc)->by_id, n->id, n);
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
int mut_rename_new(struct ns *ns, struct node *n, struct node *t, struct node *nd,
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
	const struct ns_kind *kt = t ? KIND(ns, t) : NULL, *kc = ns_kind_claiming(ns, nd, newname);
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
		errmsg_set(err, errn, MUT_NO_REPLACE);
	} else {
		/* (onto a new file not created yet, a failed or held one: this
		 * content replaces it) */
		if (t)
			mut_mem_node_remove(ns, t);
		struct node *c = mut_dir_coll(nd);
		if (c && c->rt->bytes_only) {
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

