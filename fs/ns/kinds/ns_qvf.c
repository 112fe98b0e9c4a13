/*
 * ns_qvf.c - apps as .qvf files (docs/SEMANTICS.md "Apps as .qvf files"):
 * every listed app file "Name (id).json" has an export ".qvf/Name (id).qvf"
 * (R_QVF) in the collection's .qvf directory (R_QVFDIR; listed, but hidden
 * from a plain ls: `ls -l apps/` costs its list pages and nothing more),
 * which gets its node only when looked up (qk_list_lazy, qk_lookup_lazy: a
 * find of the tree makes 12k fewer nodes at 6k apps).  Its size is the size
 * of the app's export, which cannot be known without making the export: a
 * listing gives the size only when the export is in the on-disk cache
 * (qvf.c, keyed by app id and modification time) and otherwise leaves the
 * entry without attributes, so that the kernel asks (LOOKUP/GETATTR) when a
 * program stats it; that stat exports the app once.  Reads come from the
 * cached file.  Writing over an export, or renaming a backup's export onto
 * it, imports (ns_upload.c does the sending).
 *
 * One node kind, ns_qvf_kind (.qvf/ and the exports): the dispatcher
 * reaches it only through its table; the node table tells it of listings
 * (qvf_placed) and renames (qvf_attached) of app files through its hooks.
 *
 * Locks: ns->lock held on entry; qvf_node_size and qvf_node_open drop it
 * around requests; the exports' read and release run without it.
 */
#include "ns/core/ns_mut.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/names.h"
#include "actions/qvf.h"
#include "actions/upload.h"
#include "ns/core/ns_restore.h"

/* ---- .qvf twins ---- */

/* An apps collection's .qvf/ keeps its exports by app id (its by_id; its
 * coll_root is the collection): an app file and its export find each other
 * by the app's id, so the export follows the file through renames and a
 * new file taking over the app's place (ns_move.c).  no_export stands for
 * an export removed through the mount (tar x unlinks, then creates with
 * O_EXCL): a lookup does not make it again until the next listing places
 * the app. */
static struct node no_export;

/* The name of an app file's export ("X (id).json" -> "X (id).qvf"). */
static void twin_name(const char *json_name, char *out, size_t n)
{
	size_t l = strlen(json_name);
	if (l > 5 && !strcmp(json_name + l - 5, ".json"))
		l -= 5;
	snprintf(out, n, "%.*s.qvf", (int)l, json_name);
}

/* The .qvf/ beside app file app, or NULL. */
static struct node *qvf_dir_of(const struct node *app)
{
	struct node *qd = app->parent ? node_kid(app->parent, QVF_DIR) : NULL;
	return qd && qd->role == R_QVFDIR ? qd : NULL;
}

/* The app file export t shows, or NULL (gone, or no longer listed). */
static struct node *app_of(const struct node *t)
{
	struct node *c = t->parent ? cs_of(t->parent)->coll_root : NULL;
	struct node *app = c && t->id ? strmap_get(cs_of(c)->by_id, t->id) : NULL;
	return app && app->role == R_FILE && !app->gone ? app : NULL;
}

/* t, an export, is no longer its app's (removed: `removed` keeps it from
 * being made again until the next listing). */
static void twin_forget(struct node *t, bool removed)
{
	struct strmap *m = t->parent ? cs_of(t->parent)->by_id : NULL;
	if (m && t->id && strmap_get(m, t->id) == t) {
		if (removed)
			strmap_put(m, t->id, &no_export);
		else
			strmap_del(m, t->id);
	}
}

/* The export node of app file `app` in its .qvf/ (made when `make`), or
 * NULL: none yet, or a file of the user's holds its name.  A sent import
 * that holds the name (a restore's, hidden) gives it up to the app. */
static struct node *twin_make(struct ns *ns, struct node *app, bool make)
{
	char name[512];
	struct node *qd = ns->o.qvf && app->role == R_FILE && !app->hidden && !app->gone && app->id
				  ? qvf_dir_of(app)
				  : NULL;
	struct strmap *m = qd ? cs_of(qd)->by_id : NULL;
	struct node *t = m ? strmap_get(m, app->id) : NULL;
	if (t && t != &no_export && t->gone) { /* (removed from .qvf/: made again) */
		strmap_del(m, app->id);
		t = NULL;
	}
	if (!m || t)
		return t == &no_export ? NULL : t;
	twin_name(app->name, name, sizeof(name));
	struct node *o = node_kid(qd, name);
	if (o && o->role == R_UPLOAD && o->sent && o->hidden)
		node_detach(ns, o); /* the import of this very app (a restore's) */
	else if (o)
		return NULL; /* a file of the user's holds that name */
	if (!make || !(t = node_new(ns, qd, name, R_QVF, false)))
		return NULL;
	t->rt = app->rt;
	t->id = strdup(app->id);
	t->mark = app->mark;
	t->mtime_ms = app->mtime_ms;
	t->ctime_ms = app->ctime_ms;
	if (!t->id || strmap_put(m, app->id, t) < 0)
		node_detach(ns, t);
	return t->gone ? NULL : t;
}

/* A listing placed or refreshed resource node app (the node table's
 * `placed` hook, called for every kind's): an app's export is kept. */
void qvf_placed(struct ns *ns, struct node *app)
{
	if (!app->rt || app->rt->kind != RK_APP)
		return;
	struct node *qd = app->id ? qvf_dir_of(app) : NULL;
	if (qd && strmap_get(cs_of(qd)->by_id, app->id) == &no_export)
		strmap_del(cs_of(qd)->by_id, app->id); /* (listed again: made at a lookup) */
	struct node *t = twin_make(ns, app, false); /* (the export gets its node when looked up) */
	if (t)
		t->mark = ns->gen; /* (kept by this listing) */
}

/* An app file attached under a new name: its export follows. */
void qvf_attached(struct ns *ns, struct node *app)
{
	char tn[512];
	if (app->role != R_FILE || app->hidden || !app->rt || app->rt->kind != RK_APP)
		return;
	struct node *qd = app->id ? qvf_dir_of(app) : NULL;
	struct node *t = qd ? strmap_get(cs_of(qd)->by_id, app->id) : NULL;
	if (!t || t == &no_export)
		return;
	twin_name(app->name, tn, sizeof(tn));
	if (t->gone || strcmp(t->name, tn)) {
		node_detach(ns, t);
		struct node *o = node_kid(qd, tn);
		if (!o || o->hidden)
			node_attach(ns, qd, t, tn);
	}
}

/* Makes a .qvf node's size known (exports the app when not cached; may drop
 * the lock).  peek_only: answer from the cache or leave it unknown. */
static int qvf_node_size(struct ns *ns, struct node *n, bool peek_only, char *err, size_t errn)
{
	struct node *app = app_of(n);
	uint64_t size = 0;
	if (!app || !n->id)
		return -ENOENT;
	int64_t mt = app->mtime_ms;
	n->mtime_ms = app->mtime_ms;
	n->ctime_ms = app->ctime_ms;
	if (qvf_peek(ns->o.qvf, n->id, mt, ns->o.qvf_nodata, &size) == 0) {
		n->size = size;
		n->fetched_at = mt ? mt : 1; /* the size is of this version */
		return 0;
	}
	if (peek_only)
		return -ENODATA;
	char *id = strdup(n->id);
	if (!id)
		return -ENOMEM;
	pthread_mutex_unlock(&ns->lock);
	int rc = qvf_size(ns->o.qvf, id, mt, ns->o.qvf_nodata, &size, err, errn);
	pthread_mutex_lock(&ns->lock);
	free(id);
	if (!rc) {
		n->size = size;
		n->fetched_at = mt ? mt : 1;
	}
	return rc;
}

static int qvf_node_open(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	struct qvf_file *qf = NULL;
	struct node *app = app_of(n);
	if (!app || !n->id)
		return -ENOENT;
	char *id = strdup(n->id);
	int64_t mt = app->mtime_ms;
	if (!id)
		return -ENOMEM;
	pthread_mutex_unlock(&ns->lock);
	int rc = qvf_open(ns->o.qvf, id, mt, ns->o.qvf_nodata, &qf, err, errn);
	pthread_mutex_lock(&ns->lock);
	free(id);
	if (rc)
		return rc;
	f->ext = qf; /* the pinned export */
	n->size = qvf_file_size(qf);
	return 0;
}

/* An app's export n opened to be written over (O_TRUNC): when its name
 * carries a backup's id the restore map says is an app its JSON made (no
 * content yet), n becomes an upload of that name (the import that replaces
 * it).  0 (changed or not: the caller goes on) or -errno. */
static int qvf_to_upload(struct ns *ns, struct node *n)
{
	char old[128];
	if (names_parse_id(n->name, ".qvf", old, sizeof(old)) <= 0 || !restore_app_is_empty(ns, old))
		return 0;
	struct node_body *b = node_body(n); /* (the upload's file is kept there) */
	if (!b)
		return -ENOMEM;
	int fd = upload_tmpfile(ns);
	if (fd < 0)
		return fd;
	twin_forget(n, false); /* (the app gets a new one at a lookup) */
	n->role = R_UPLOAD;
	b->tmpfd = fd;
	b->tmplen = 0;
	n->size = 0;
	n->sent = false;
	n->mem_dirty = true;
	n->mtime_ms = n->ctime_ms = ns_wall_ms();
	return 0;
}

/* A scratch file n renamed onto app export t in nd: a backup's "Name
 * (OLD).qvf" renamed onto the export of the app restored from OLD (rsync's
 * temporary file): the restore map decides (the same export: nothing to
 * send; an app made from its JSON: replaced by the import); an app's export
 * is never replaced otherwise.  0 or -errno. */
static int qvf_rename_onto(struct ns *ns, struct node *n, struct node *t, struct node *nd,
			   const char *newname, char *err, size_t errn)
{
	(void)t;
	char old[128], note[80];
	struct node *c = mut_dir_coll(nd);
	if (!c || names_parse_id(newname, ".qvf", old, sizeof(old)) <= 0 || !ns->restore) {
		errmsg_set(err, errn, "an app's export cannot be replaced (copy NAME.qvf into apps/ "
				      "to import a new app)");
		return -EPERM;
	}
	int fd = upload_tmpfile(ns);
	if (fd < 0)
		return fd;
	const struct node_body *nb = body_of(n);
	if (nb->memlen && pwrite(fd, nb->mem, nb->memlen, 0) != (ssize_t)nb->memlen) {
		int e = errno ? -errno : -EIO;
		close(fd);
		return e;
	}
	int rc = mut_node_lock_change(ns, n, err, errn);
	if (!rc) {
		rc = restore_qvf(ns, c, old, NULL, fd, body_of(n)->memlen, note, sizeof(note), err,
				 errn);
		mut_node_unlock_change(ns, n);
	}
	close(fd);
	if (rc == 1) {
		rc = -EPERM;
		errmsg_set(err, errn, "an app's export cannot be replaced");
	}
	if (!rc) { /* (its inode stays valid for the writer's fstat, unlisted) */
		node_drop_mem(ns, n);
		n->hidden = true;
	}
	return rc;
}

/* ---- the kind: .qvf/ and the exports in it ---- */

/* An apps collection's .qvf/ (with exports on). */
static void qk_coll_kids(struct ns *ns, struct node *coll)
{
	if (coll->rt->kind != RK_APP || !ns->o.qvf)
		return;
	struct node *q = node_new(ns, coll, QVF_DIR, R_QVFDIR, true);
	if (q) {
		q->pinned = true;
		q->rt = coll->rt;
		if (node_listing_init(q, coll, true))
			q->gone = true;
	}
}

/* An export is fresh while its app's entry is, and its size is of the app's
 * version; .qvf/ has fixed attributes.  May drop the lock. */
static int qk_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct node *app = n->role == R_QVF ? app_of(n) : NULL;
	int rc = node_refresh(ns, n, app ? node_fresh_src(app) : NULL, err, errn);
	if (rc)
		return rc;
	if (n->role == R_QVF && (!n->fetched_at || !(app = app_of(n)) ||
				 n->fetched_at != app->mtime_ms))
		return qvf_node_size(ns, n, false, err, errn);
	return 0;
}

/* .qvf/ is filled by its apps collection's listing. */
static int qk_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct node *c = d->role == R_QVFDIR ? cs_of(d)->coll_root : NULL;
	int rc;
	if (c && !ns_fresh(ns, cs_of(c)->listed_at) && (rc = coll_refresh_any(ns, c, err, errn)))
		return rc;
	return qk_fresh(ns, d, err, errn);
}

/* An export whose size is not known without exporting the app. */
static bool qk_attrs_need_fetch(struct ns *ns, struct node *k)
{
	if (k->role != R_QVF)
		return false; /* .qvf/: fixed attributes */
	const struct node *app = app_of(k);
	return (!app || k->fetched_at != app->mtime_ms) && qvf_node_size(ns, k, true, NULL, 0);
}

static int qk_open_as(struct ns *ns, struct node *n, int flags)
{
	return n->role == R_QVF && (flags & O_TRUNC) ? qvf_to_upload(ns, n) : 0;
}

/* An export read: the dispatcher refuses writers. */
static int qk_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		   char *err, size_t errn)
{
	int rc = qk_fresh(ns, n, err, errn);
	if (rc)
		return rc;
	uint64_t was = n->reported_size;
	if ((rc = qvf_node_open(ns, n, f, err, errn)))
		return rc;
	*size_changed = n->size != was;
	return 0;
}

/* The pinned export (f->ext): no lock needed. */
static ssize_t qk_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err,
		       size_t errn)
{
	(void)err;
	(void)errn;
	ssize_t r = pread(qvf_file_fd(f->ext), buf, size, off);
	return r < 0 ? -errno : r;
}

static void qk_release(struct ns_file *f)
{
	qvf_release(f->ext);
}

/* The export goes with its app (rm of the .json deletes the app); removing
 * it alone is accepted and changes nothing on the server, so that rm -r of a
 * directory of apps works.  The name is free until the next listing shows
 * the export again: a tool that unlinks and then creates with O_EXCL (tar x)
 * gets its create. */
static int qk_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)err;
	(void)errn;
	twin_forget(n, true); /* (not made again at its next lookup) */
	node_detach(ns, n);
	ns_inval_entry(ns, d, n->name);
	return 0;
}

/* .qvf/: the exports go with their apps: accepted, changes nothing (rm -r). */
static int qk_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)err;
	(void)errn;
	ns_inval_entry(ns, d, n->name);
	return 0;
}

/* .qvf/ lists one export per app of its collection, each without a node
 * until looked up (a find of the tree makes none; ns_kind list_lazy). */
static size_t qk_list_lazy(struct ns *ns, struct node *d, struct ns_dir *dir)
{
	struct node *c = d->role == R_QVFDIR ? cs_of(d)->coll_root : NULL;
	char name[512];
	if (!c || !dir)
		return c ? c->nkids : 0;
	for (size_t i = 0; i < c->nkids; i++) {
		struct node *k = c->kidv[i];
		struct node *t = k->id ? strmap_get(cs_of(d)->by_id, k->id) : NULL;
		if (k->role != R_FILE || k->gone || k->hidden || t == &no_export || (t && !t->gone))
			continue;
		twin_name(k->name, name, sizeof(name));
		if (!node_kid(d, name))
			ns_dir_add_lazy(ns, dir, name);
	}
	return 0;
}

static struct node *qk_lookup_lazy(struct ns *ns, struct node *d, const char *name)
{
	struct node *c = d->role == R_QVFDIR ? cs_of(d)->coll_root : NULL;
	char j[512];
	if (!c || !names_swap_ext(name, ".qvf", ".json", j, sizeof(j)))
		return NULL;
	struct node *app = node_kid(c, j);
	if (!app || app->parent != c)
		return NULL;
	struct node *t = twin_make(ns, app, true);
	return t && t->parent == d && !t->gone && !strcmp(t->name, name) ? t : NULL;
}

/* An export's node the kernel forgot: made again at the next lookup (its
 * size from the export cache). */
static bool qk_reclaim(struct ns *ns, struct node *n)
{
	(void)ns;
	if (n->role != R_QVF)
		return false;
	twin_forget(n, false);
	return true;
}

/* An export shows its app's times (it follows the app file; read-only, it
 * never has a writer's size). */
static void qk_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	(void)ns;
	const struct node *app = n->dir ? NULL : app_of(n);
	if (app) {
		a->mtime_ms = app->mtime_ms;
		a->ctime_ms = app->ctime_ms;
	}
}

const struct ns_kind ns_qvf_kind = {
	.name = "qvf",
	.coll_kids = qk_coll_kids,
	.aside = true,
	.fresh = qk_fresh,
	.listed = qk_listed,
	.fill_attr = qk_fill_attr,
	.attrs_need_fetch = qk_attrs_need_fetch,
	.list_lazy = qk_list_lazy,
	.lookup_lazy = qk_lookup_lazy,
	.reclaim = qk_reclaim,
	.open_as = qk_open_as,
	.open = qk_open,
	.read = qk_read,
	.release = qk_release,
	.unlink = qk_unlink,
	.rmdir = qk_rmdir,
	.rename_onto = qvf_rename_onto,
};
