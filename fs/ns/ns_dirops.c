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
#include "res/reswrite.h"

/* ---- create, mkdir ---- */

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
	const struct ns_kind *kc;
	if (d->pending) { /* its own JSON (a create, later), else kept in memory */
		bool own = d->rt && !strcmp(name, restore_own_file(d->rt->kind));
		n = own ? mut_new_file(ns, d, name, d->rt) : mut_scratch_new(ns, d, name);
	} else if (KIND(ns, d) && KIND(ns, d)->create) { /* reports/ */
		if ((rc = KIND(ns, d)->create(ns, d, name, &n, err, errn)))
			goto unlock;
	} else if ((kc = ns_kind_claiming(ns, d, name)) && kc->create) { /* an upload */
		if ((rc = kc->create(ns, d, name, &n, err, errn)))
			goto unlock;
	} else if ((rc = mut_file_new(ns, d, name, &n, err, errn))) {
		goto unlock; /* (a temporary file, a new resource's JSON, or why not) */
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
	int rc;
	if (ns->o.read_only)
		return -EROFS;
	if (ns_ino_kind(ns, parent))
		return -EACCES;
	pthread_mutex_lock(&ns->lock);
	struct node *d = ns_node(ns, parent), *n = NULL;
	const struct ns_kind *kd = d ? KIND(ns, d) : NULL;
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
	if (restore_pending_wanted(ns, d, name)) {
		/* a backup's data store or data asset directory: it waits, in
		 * memory, for its own JSON (docs/SEMANTICS.md "Restore") */
		rc = (n = mut_folder_new(ns, d, name, NULL)) ? 0 : -ENOMEM;
	} else if (kd && kd->mkdir) { /* a space in spaces/, a data-file folder */
		rc = kd->mkdir(ns, d, name, &n, err, errn);
	} else {
		rc = -EPERM;
		errmsg_set(err, errn, "%s", MUT_MKDIR_WHERE);
	}
	if (!rc) {
		ns_fill_attr(ns, n, attr);
		n->nlookup++;
	}
out:
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
	rc = -EPERM;
	errmsg_set(err, errn, "this file cannot be deleted");
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
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
	rc = -EPERM;
	errmsg_set(err, errn, MUT_NO_RMDIR);
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* ---- rename ---- */

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
	const struct ns_kind *kn = KIND(ns, n);
	if (kn && kn->move) { /* the entry's own rule: a resource's, a new file's ... */
		rc = kn->move(ns, n, t, d, nd, newname, err, errn);
	} else {
		rc = -EPERM;
		errmsg_set(err, errn, "%s", MUT_NO_MOVE);
	}
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

