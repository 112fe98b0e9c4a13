/*
 * ns_actions.c - apps as .qvf files, and files copied in to be uploaded or
 * imported (docs/SEMANTICS.md "Apps as .qvf files", "Data-file uploads").
 *
 *  - Every listed app file "Name (id).json" has a twin ".qvf/Name (id).qvf"
 *    (R_QVF) in the collection's .qvf directory (listed, but hidden from a
 *    plain ls: `ls -l apps/` costs its list pages and nothing more), which
 *    gets its node only when looked up (qk_list_lazy, qk_lookup_lazy: a find
 *    of the tree makes 12k fewer nodes at 6k apps).  Its size is the size of the app's export, which cannot be
 *    known without making the export: a listing gives the size only when the
 *    export is in the on-disk cache (qvf.c, keyed by app id and modification
 *    time) and otherwise leaves the entry without attributes, so that the
 *    kernel asks (LOOKUP/GETATTR) when a program stats it; that stat exports
 *    the app once.  Reads come from the cached file.
 *  - A file created in a data-files directory (any name but NAME.json), or a
 *    NAME.qvf created in an apps directory, is R_UPLOAD: its content goes to
 *    an unlinked temporary file (memory stays bounded) and is uploaded
 *    (multipart POST, or PUT when a data file of that name exists) or
 *    imported (temp-contents + POST /apps/import) when the file is closed.
 *    After that it stays reachable by name (so cp -p and rsync can set its
 *    times) but is not listed, and its content cannot be read back: the
 *    resource shows under its own entry.  A failed send keeps the file and
 *    its content and says why (user.qlik.error).
 *
 * Two node kinds: ns_qvf_kind is .qvf/ (R_QVFDIR) and the exports in it
 * (R_QVF), ns_upload_kind the files copied in (R_UPLOAD), which it claims by
 * name in data-files/ and apps/ directories: the dispatcher reaches them only
 * through their tables.
 *
 * Locks: ns->lock held on entry; qvf_node_size, qvf_node_open and
 * upload_commit drop it around requests; the exports' read and release run
 * without it.
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

/* The export node of app file `app` in its .qvf/ (made when `make`), or
 * NULL: none yet, or a file of the user's holds its name.  A sent import
 * that holds the name (a restore's, hidden) gives it up to the app. */
static struct node *twin_make(struct ns *ns, struct node *app, bool make)
{
	char name[512];
	if (app->twin && app->twin->gone) { /* (removed from .qvf/: made again) */
		app->twin->twin = NULL;
		app->twin = NULL;
	}
	if (!ns->o.qvf || app->twin || app->hidden || app->gone || app->role != R_FILE ||
	    !app->parent)
		return app->twin;
	struct node *qd = node_kid(app->parent, QVF_DIR);
	if (!qd || qd->role != R_QVFDIR)
		return NULL;
	twin_name(app->name, name, sizeof(name));
	struct node *o = node_kid(qd, name);
	if (o && o->role == R_UPLOAD && o->sent && o->hidden)
		node_detach(ns, o); /* the import of this very app (a restore's) */
	else if (o)
		return NULL; /* a file of the user's holds that name */
	struct node *t = make && !app->no_twin ? node_new(ns, qd, name, R_QVF, false) : NULL;
	if (!t)
		return NULL;
	t->rt = app->rt;
	t->id = app->id ? strdup(app->id) : NULL;
	t->twin = app;
	t->mark = app->mark;
	t->mtime_ms = app->mtime_ms;
	t->ctime_ms = app->ctime_ms;
	app->twin = t;
	return t;
}

void qvf_placed(struct ns *ns, struct node *app)
{
	app->no_twin = false;
	twin_make(ns, app, false); /* (the export gets its node when looked up) */
}

/* Makes a .qvf node's size known (exports the app when not cached; may drop
 * the lock).  peek_only: answer from the cache or leave it unknown. */
static int qvf_node_size(struct ns *ns, struct node *n, bool peek_only, char *err, size_t errn)
{
	struct node *app = n->twin;
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
	if (!n->twin || !n->id)
		return -ENOENT;
	char *id = strdup(n->id);
	int64_t mt = n->twin->mtime_ms;
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

/* ---- uploads and imports ---- */

static bool ends_in(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a > b && !strcmp(s + a - b, sfx);
}

static bool upload_wanted(struct ns *ns, struct node *dir, const char *name)
{
	struct node *c = mut_dir_coll(dir);
	if (!c || names_is_scratch(name))
		return false;
	if (c->rt->kind == RK_DATAFILE)
		return ns->o.upload && !ends_in(name, ".json");
	if (c->rt->kind == RK_APP)
		return ns->o.qvf && ends_in(name, ".qvf");
	return false;
}

int upload_tmpfile(struct ns *ns)
{
	const char *dir = ns->o.tmp_dir ? ns->o.tmp_dir : "/var/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char path[4096];
	snprintf(path, sizeof(path), "%s/qlikfs-upload-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

static struct node *upload_node_new(struct ns *ns, struct node *dir, const char *name,
				    int *err)
{
	int fd = upload_tmpfile(ns);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	struct node *n = node_new(ns, dir, name, R_UPLOAD, false);
	struct node_body *b = n ? node_body(n) : NULL;
	if (!b) {
		if (n)
			node_detach(ns, n); /* (stays in the table, unreachable) */
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	b->tmpfd = fd;
	n->mem_dirty = true;
	n->mtime_ms = n->ctime_ms = ns_wall_ms();
	return n;
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
	if (n->twin && n->twin->twin == n)
		n->twin->twin = NULL; /* (the next listing gives the app a new one) */
	n->twin = NULL;
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

static void upload_node_drop(struct ns *ns, struct node *n)
{
	(void)ns;
	struct node_body *b = n->body;
	if (!b)
		return;
	if (b->tmpfd >= 0)
		close(b->tmpfd);
	b->tmpfd = -1;
	b->tmplen = 0;
}

/* Refuses (-EINVAL, why in err) a data-file name the API would reject; may drop the lock. */
static int upload_name_check(struct ns *ns, struct node *dir, const char *name, char *err,
			     size_t errn)
{
	struct node *c = mut_dir_coll(dir);
	char sname[1024], full[2048];
	if (!c || c->rt->kind != RK_DATAFILE)
		return 0;
	if (names_decode(name, sname, sizeof(sname)) <= 0) {
		errmsg_set(err, errn, "not a valid name");
		return -EINVAL;
	}
	int rc = mut_datafile_path(dir, sname, full, sizeof(full));
	if (rc)
		return rc;
	pthread_mutex_unlock(&ns->lock);
	rc = upload_check(ns->o.upload, full, 0, err, errn);
	pthread_mutex_lock(&ns->lock);
	return rc;
}

/* The data file a name in a data-files directory already stands for. */
static struct node *datafile_named(struct node *dir, const char *name)
{
	char meta[600];
	snprintf(meta, sizeof(meta), "%s.json", name);
	struct node *m = node_kid(dir, meta);
	return m && !m->gone && m->role == R_FILE && m->id ? m : NULL;
}

/* Sent: the content cannot be read back; the name stays reachable (not
 * listed) for the tool's chmod/utimes, and shows the size it had. */
static void upload_sent(struct ns *ns, struct node *n, struct node *d)
{
	n->sent = true;
	if (n->body) {
		close(n->body->tmpfd);
		n->body->tmpfd = -1;
	}
	if (!n->hidden && !n->gone) {
		char *name = strdup(n->name);
		node_detach(ns, n);
		n->hidden = true;
		if (name && node_attach(ns, d, n, name) < 0)
			n->gone = true;
		free(name);
	}
}

/* Sends an upload node's content.  Lock held; dropped during the requests. */
static int upload_commit(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct node *d = n->parent, *c = d ? mut_dir_coll(d) : NULL;
	char sname[1024], full[2048];
	cJSON *out = NULL;
	int rc;
	if (!c || body_of(n)->tmpfd < 0)
		return -EPERM;
	bool app = c->rt->kind == RK_APP;
	char base[600];
	snprintf(base, sizeof(base), "%s", n->name);
	if (app)
		base[strlen(base) - 4] = '\0'; /* .qvf */
	if (names_decode(base, sname, sizeof(sname)) <= 0) {
		errmsg_set(err, errn, "not a valid name");
		return -EINVAL;
	}
	/* a backup's "Name (OLD).qvf": the app is named Name; the restore map
	 * says whether it is to be imported */
	char old[128] = "", note[80] = "";
	if (app && names_parse_id(n->name, ".qvf", old, sizeof(old)) > 0 &&
	    names_to_server(n->name, ".qvf", sname, sizeof(sname)) <= 0)
		return -EINVAL;
	int64_t replace_mtime = 0;
	bool personal = !c->id || !strcmp(c->id, "personal");
	char *space = personal ? NULL : strdup(c->id);
	char *conn = cs_of(c)->conn ? strdup(cs_of(c)->conn) : NULL;
	char *replace = NULL;
	if (!app) {
		if ((rc = mut_datafile_path(d, sname, full, sizeof(full)))) {
			free(space);
			free(conn);
			return rc;
		}
		struct node *was = datafile_named(d, n->name);
		replace = was ? strdup(was->id) : NULL;
		replace_mtime = was ? was->mtime_ms : 0;
	}
	int fd = body_of(n)->tmpfd;
	uint64_t size = body_of(n)->tmplen;
	if ((rc = mut_node_lock_change(ns, n, err, errn))) {
		free(space);
		free(conn);
		free(replace);
		mut_node_set_errmsg(n, err);
		return rc;
	}
	n->mem_dirty = false;
	/* 1: to send; 0: nothing to send (the same content went before) */
	int todo = app && old[0] ? restore_qvf(ns, c, old, sname, fd, size, note, sizeof(note), err, errn)
		   : !app && replace && restore_same_bytes(ns, replace, replace_mtime, fd) ? 0 : 1;
	pthread_mutex_unlock(&ns->lock);
	if (todo <= 0) {
		rc = todo;
	} else if (app) {
		rc = qvf_import(ns->o.client, fd, size, sname, space, ns->o.transfer_timeout_ms, &out,
				err, errn);
	} else {
		if (space && !conn)
			rc = upload_connection_id(ns->o.upload, space, &conn, err, errn);
		else
			rc = 0;
		if (!rc && space && !conn) {
			rc = -EPERM;
			errmsg_set(err, errn, "this space has no data-files connection");
		}
		if (!rc)
			rc = upload_datafile(ns->o.upload, fd, size, full, conn, replace, &out, err,
					     errn);
	}
	pthread_mutex_lock(&ns->lock);
	mut_node_unlock_change(ns, n);
	free(space);
	free(conn);
	if (rc) {
		free(replace);
		cJSON_Delete(out);
		mut_node_set_errmsg(n, err);
		return rc;
	}
	mut_node_set_errmsg(n, NULL);
	if (app && old[0] && out)
		restore_imported(ns, old, json_str(cJSON_GetObjectItemCaseSensitive(out, "attributes"),
						   "id"), note);
	else if (!app && out)
		restore_uploaded(ns, out, fd);
	if (replace && out)
		mut_apply_change(ns, restab_get(RK_DATAFILE), replace, out);
	mut_colls_stale(ns, app ? RK_APP : RK_DATAFILE);
	free(replace);
	cJSON_Delete(out);
	upload_sent(ns, n, d);
	return 0;
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
		q->coll_root = coll;
		q->rt = coll->rt;
	}
}

/* An export is fresh while its app's entry is, and its size is of the app's
 * version; .qvf/ has fixed attributes.  May drop the lock. */
static int qk_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct node *src = n->role == R_QVF && n->twin ? node_fresh_src(n->twin) : NULL;
	int rc = node_refresh(ns, n, src, err, errn);
	if (rc)
		return rc;
	if (n->role == R_QVF && (!n->fetched_at || !n->twin || n->fetched_at != n->twin->mtime_ms))
		return qvf_node_size(ns, n, false, err, errn);
	return 0;
}

/* .qvf/ is filled by its apps collection's listing. */
static int qk_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct node *c = d->role == R_QVFDIR ? d->coll_root : NULL;
	int rc;
	if (c && !ns_fresh(ns, c->listed_at) && (rc = coll_refresh_any(ns, c, err, errn)))
		return rc;
	return qk_fresh(ns, d, err, errn);
}

/* An export whose size is not known without exporting the app. */
static bool qk_attrs_need_fetch(struct ns *ns, struct node *k)
{
	if (k->role != R_QVF)
		return false; /* .qvf/: fixed attributes */
	return (!k->twin || k->fetched_at != k->twin->mtime_ms) &&
	       qvf_node_size(ns, k, true, NULL, 0);
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
	if (n->twin && n->twin->twin == n) {
		n->twin->twin = NULL;
		n->twin->no_twin = true; /* (not made again at its next lookup) */
	}
	n->twin = NULL;
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
	struct node *c = d->role == R_QVFDIR ? d->coll_root : NULL;
	char name[512];
	if (!c || !dir)
		return c ? c->nkids : 0;
	for (size_t i = 0; i < c->nkids; i++) {
		struct node *k = c->kidv[i];
		if (k->role != R_FILE || k->gone || k->hidden || k->no_twin ||
		    (k->twin && !k->twin->gone))
			continue;
		twin_name(k->name, name, sizeof(name));
		if (!node_kid(d, name))
			ns_dir_add_lazy(ns, dir, name);
	}
	return 0;
}

static struct node *qk_lookup_lazy(struct ns *ns, struct node *d, const char *name)
{
	struct node *c = d->role == R_QVFDIR ? d->coll_root : NULL;
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
	if (n->twin && n->twin->twin == n)
		n->twin->twin = NULL;
	n->twin = NULL;
	return true;
}

/* An export shows its app's times (it follows the app file; read-only, it
 * never has a writer's size). */
static void qk_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	(void)ns;
	if (!n->dir && n->twin) {
		a->mtime_ms = n->twin->mtime_ms;
		a->ctime_ms = n->twin->ctime_ms;
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

/* ---- the kind: files copied in to be sent ---- */

/* Fixed attributes (its own): only gone when its directory is. */
static int up_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	return node_refresh(ns, n, NULL, err, errn);
}

static bool up_writable(const struct node *n)
{
	(void)n;
	return true;
}

static int up_create(struct ns *ns, struct node *d, const char *name, struct node **out,
		     char *err, size_t errn)
{
	int rc = upload_name_check(ns, d, name, err, errn);
	if (rc)
		return rc; /* refused before anything is written */
	int uerr = -ENOMEM;
	if (!(*out = upload_node_new(ns, d, name, &uerr)))
		return uerr;
	return 0;
}

/* An upload's handle (a data file or a .qvf copied in): its bytes on disk
 * until the close sends them. */
static int up_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		   char *err, size_t errn)
{
	bool wr = f->writable;
	f->mem = true;
	if (n->sent && !wr) {
		errmsg_set(err, errn, "the content of a data file (or an imported app) cannot "
				      "be read back through the API; its metadata is NAME.json");
		return -EACCES;
	}
	if (wr && (f->flags & O_TRUNC || n->sent)) {
		struct node_body *b = node_body(n);
		if (!b)
			return -ENOMEM;
		if (b->tmpfd < 0) {
			int fd = upload_tmpfile(ns);
			if (fd < 0)
				return fd;
			b->tmpfd = fd;
		}
		if (ftruncate(b->tmpfd, 0) < 0)
			return -errno;
		b->tmplen = 0;
		n->sent = false;
		n->mem_dirty = true;
		n->mtime_ms = ns_wall_ms();
	}
	*size_changed = true;
	return 0;
}

static ssize_t up_node_read(struct ns_file *f, struct node *n, char *buf, size_t size,
			    off_t off)
{
	(void)f;
	int fd = body_of(n)->tmpfd;
	ssize_t rc = fd < 0 ? -EACCES : pread(fd, buf, size, off);
	if (rc < 0 && fd >= 0)
		rc = -errno;
	return rc;
}

static ssize_t up_node_write(struct ns_file *f, struct node *n, const char *data, size_t size,
			     off_t off)
{
	struct node_body *b = n->body;
	if (!b || b->tmpfd < 0)
		return -EBADF;
	if (f->append)
		off = (off_t)b->tmplen;
	ssize_t rc = pwrite(b->tmpfd, data, size, off);
	if (rc < 0)
		return -errno;
	if ((uint64_t)off + (uint64_t)rc > b->tmplen)
		b->tmplen = (uint64_t)off + (uint64_t)rc;
	n->mem_dirty = true;
	n->mtime_ms = ns_wall_ms();
	f->written = true;
	return rc;
}

/* The close sends what was written.  (An upload's writers are all memory
 * handles: opened on it, or on the scratch or new file renamed into it.) */
static int up_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	if (f->mem && n->mem_dirty && body_of(n)->tmplen && !n->gone)
		return upload_commit(ns, n, err, errn);
	return 0;
}

static int up_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	(void)ns;
	(void)f;
	struct node_body *b = n->body;
	int fd = b ? b->tmpfd : -1;
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return fd < 0 ? -EACCES : -errno;
	b->tmplen = size;
	n->mem_dirty = true;
	return 0;
}

static int up_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)d;
	(void)err;
	(void)errn;
	upload_node_drop(ns, n);
	node_detach(ns, n);
	return 0;
}

/* Renames memory-only file n to a name that uploads (rsync's temporary file
 * renamed into data-files/, or onto NAME.qvf in apps/), onto t (an upload,
 * a scratch file, or NULL): its content moves to a temporary file and is
 * sent now. */
static int up_rename_onto(struct ns *ns, struct node *n, struct node *t, struct node *nd,
			  const char *newname, char *err, size_t errn)
{
	struct node *u = t && t->role == R_UPLOAD ? t : NULL;
	struct node_body *b = node_body(n); /* (the upload's file is kept there) */
	int fd;
	if (!b)
		return -ENOMEM;
	if (u && body_of(u)->tmpfd >= 0) {
		fd = u->body->tmpfd;
		u->body->tmpfd = -1;
	} else if ((fd = upload_tmpfile(ns)) < 0) {
		return fd;
	}
	if (ftruncate(fd, 0) < 0 ||
	    (b->memlen && pwrite(fd, b->mem, b->memlen, 0) != (ssize_t)b->memlen)) {
		int e = -errno;
		close(fd);
		return e ? e : -EIO;
	}
	if (t) {
		if (t->role == R_SCRATCH)
			mut_mem_node_remove(ns, t);
		else
			node_detach(ns, t);
	}
	node_detach(ns, n);
	b->tmplen = b->memlen;
	node_drop_mem(ns, n);
	n->role = R_UPLOAD;
	b->tmpfd = fd;
	n->sent = false;
	n->mem_dirty = true;
	int rc = node_attach(ns, nd, n, newname);
	return rc ? rc : upload_commit(ns, n, err, errn);
}

/* Its size is what was written so far (the temporary file's). */
static void up_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	(void)ns;
	a->size = n->reported_size = body_of(n)->tmplen;
}

const struct ns_kind ns_upload_kind = {
	.name = "upload",
	.fresh = up_fresh,
	.writable = up_writable,
	.fill_attr = up_fill_attr,
	.open = up_open,
	.node_read = up_node_read,
	.node_write = up_node_write,
	.flush = up_flush,
	.truncate = up_truncate,
	.claims = upload_wanted,
	.create = up_create,
	.unlink = up_unlink,
	.rename_onto = up_rename_onto,
};
