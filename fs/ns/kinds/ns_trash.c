/*
 * ns_trash.c - .trash/ (docs/SEMANTICS.md "Trash"): the trash's store
 * (ns_trash_keep.c) shown read-only at the root, and the undo: an entry
 * moved out of it (`mv .trash/ENTRY DIR/`) restores its resource into DIR.
 *
 *  - .trash is a hidden child of the root (not listed: cp -r, rsync and tar
 *    of the mount leave it out; reachable by name).  Its entries and their
 *    files are nodes of ns_trash_kind named after the store's directories and files
 *    (hidden ones, such as an entry being written, are not shown), re-read
 *    from the disk at every lookup, getattr and opendir; contents are read
 *    at open.  Everything but moving an entry out is refused (EACCES).
 *  - Restoring: an app is imported from its app.qvf (POST temp-contents +
 *    POST apps/import, named as it was, into DIR's space: the space it was
 *    in for the tenant-wide apps/) and its description applied; any other
 *    kind goes through the create path with its kept JSON as the content of
 *    a new file of DIR (mut_commit_create: the POST of its writable fields).
 *    A space's entry then restores the apps it holds into the new space;
 *    what cannot come back (data files: their bytes are not kept; a failed
 *    import) goes back to the top of the store and is reported (.errors).
 *    The restored entry leaves the trash.
 *
 * Paths: the .trash node shows the store's directory (ns->trash->dir); a
 * node's path is its parents' names down from there.
 *
 * Locks: every operation is a node kind's (ns->lock held; see ns_trash.h);
 * a restore drops the lock around its requests, the entry being busy.
 */
#include "ns/kinds/ns_trash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions/qvf.h"
#include "ns/core/ns_mut.h"
#include "ns/core/ns_restore.h"
#include "res/reswrite.h"
#include "util/clock.h"
#include "util/statedir.h"

#define RO_MSG "the trash is read-only: `mv .trash/ENTRY DIR/` restores an entry"

static bool is_trash(const struct ns *ns, const struct node *n)
{
	return node_is(ns, n, &ns_trash_kind);
}

static bool is_top(const struct ns *ns, const struct node *n)
{
	return is_trash(ns, n) && !is_trash(ns, n->parent);
}

/* The absolute path of a trash node on disk.  0 or -ENAMETOOLONG. */
static int tpath(const struct ns *ns, const struct node *n, char *buf, size_t len)
{
	if (is_top(ns, n))
		return snprintf(buf, len, "%s", ns->trash->dir) < (int)len ? 0 : -ENAMETOOLONG;
	int rc = tpath(ns, n->parent, buf, len);
	size_t l = strlen(buf);
	if (!rc && snprintf(buf + l, len - l, "/%s", n->name) >= (int)(len - l))
		rc = -ENAMETOOLONG;
	return rc;
}

/* p's child `name` brought in line with the disk (made, updated, or
 * detached when gone).  Returns 0 with *out, or -ENOENT / -ENOMEM. */
static int sync_child(struct ns *ns, struct node *p, const char *name, struct node **out)
{
	char path[4096];
	struct stat st;
	bool shown = name[0] != '.' && !strchr(name, '/') && !tpath(ns, p, path, sizeof(path)) &&
		     strlen(path) + strlen(name) + 2 < sizeof(path);
	if (shown) {
		strcat(path, "/");
		strcat(path, name);
	}
	shown = shown && lstat(path, &st) == 0;
	return node_mirror(ns, p, name, shown ? &st : NULL, &ns_trash_kind, out);
}

/* n itself: 0, or -ENOENT (detached then). */
static int sync_self(struct ns *ns, struct node *n)
{
	char path[4096];
	struct stat st;
	for (const struct node *a = n; a && a->ino != NS_ROOT_INO; a = a->parent)
		if (a->gone)
			return -ENOENT;
	if (tpath(ns, n, path, sizeof(path)) || lstat(path, &st) < 0 ||
	    S_ISDIR(st.st_mode) != n->dir || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) {
		if (is_top(ns, n))
			return 0; /* the store is missing: shown empty */
		node_detach(ns, n);
		return -ENOENT;
	}
	node_mirror_stat(n, &st);
	return 0;
}

static int sync_dir(struct ns *ns, struct node *d)
{
	char path[4096];
	int rc = sync_self(ns, d);
	if (rc || (rc = tpath(ns, d, path, sizeof(path))))
		return rc;
	DIR *dir = opendir(path);
	unsigned g = ++ns->gen;
	struct dirent *de;
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		struct node *k;
		if (sync_child(ns, d, de->d_name, &k) == 0)
			k->mark = g;
	}
	closedir(dir);
	for (size_t i = 0; i < d->nkids;) {
		struct node *k = d->kidv[i];
		if (!k->pinned && !k->hidden && k->mark != g) {
			node_detach(ns, k); /* swaps the last kid into i */
			continue;
		}
		i++;
	}
	return 0;
}

/* ---- the kind's reads ---- */

static void t_root_kids(struct ns *ns, struct node *root)
{
	trash_init(ns);
	if (!ns->trash || node_kid(root, TRASH_NAME))
		return;
	struct node *n = node_new_of(ns, NULL, TRASH_NAME, &ns_trash_kind, true);
	if (!n)
		return;
	n->pinned = n->hidden = true;
	if (node_attach(ns, root, n, TRASH_NAME) < 0)
		n->gone = true;
}

static int t_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	(void)err;
	(void)errn;
	return sync_dir(ns, d);
}

static int t_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	(void)err;
	(void)errn;
	return sync_self(ns, n);
}

/* ls .trash: the expired entries go first. */
static void t_opendir(struct ns *ns, struct node *d)
{
	if (is_top(ns, d) && ns->trash && trash_sweep(ns->trash) > 0)
		sync_dir(ns, d);
}

static void t_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	(void)ns;
	(void)n;
	/* never kept by the kernel: the sweeper changes the store by itself,
	 * and so does another mount sharing the state directory */
	a->transient = true;
}

static bool t_writable(const struct node *n)
{
	(void)n;
	return false;
}

static const char *t_xattr(struct ns *ns, const struct node *n, const char *name)
{
	(void)ns;
	return !strcmp(name, "user.qlik.error") ? n->errmsg : NULL; /* why a restore failed */
}

struct thandle {
	int fd;
};

static int t_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
		  size_t errn)
{
	char path[4096];
	struct stat st;
	(void)err;
	(void)errn;
	int rc = tpath(ns, n, path, sizeof(path));
	struct thandle *h = rc ? NULL : malloc(sizeof(*h));
	if (!h)
		return rc ? rc : -ENOMEM;
	if ((h->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(h->fd, &st) < 0 ||
	    !S_ISREG(st.st_mode)) {
		rc = h->fd < 0 ? (errno == ELOOP ? -ENOENT : -errno) : -ENOENT;
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		if (rc == -ENOENT)
			node_detach(ns, n);
		return rc;
	}
	*size_changed = (uint64_t)st.st_size != n->reported_size;
	n->size = (uint64_t)st.st_size;
	f->ext = h;
	return 0;
}

static ssize_t t_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err,
		      size_t errn)
{
	(void)err;
	(void)errn;
	const struct thandle *h = f->ext;
	ssize_t r = pread(h->fd, buf, size, off);
	return r < 0 ? -errno : r;
}

static void t_release(struct ns_file *f)
{
	struct thandle *h = f->ext;
	close(h->fd);
	free(h);
	f->ext = NULL;
}

static void t_free(struct ns *ns)
{
	trash_fini(ns);
}

/* ---- refusals ---- */

static int t_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
		    size_t errn)
{
	(void)ns;
	(void)d;
	(void)name;
	(void)out;
	errmsg_set(err, errn, RO_MSG);
	return -EACCES;
}

static int t_remove(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)ns;
	(void)d;
	(void)n;
	errmsg_set(err, errn, RO_MSG " (entries expire after trash_days)");
	return -EACCES;
}

/* ---- restoring ---- */

/* What a restore reads of an entry: its description and JSON. */
struct tentry {
	char dir[4096]; /* the entry's directory */
	struct trash_meta m;
	char *json;
	size_t jlen;
	cJSON *obj;
};

static int tentry_read(const char *parent, const char *name, struct tentry *e, char *err,
		       size_t errn)
{
	memset(e, 0, sizeof(*e));
	int rc = trash_path(e->dir, sizeof(e->dir), parent, name);
	if (!rc)
		rc = trash_read_meta(parent, name, &e->m);
	if (!rc)
		rc = statedir_read(e->dir, TRASH_JSON, FILE_MAX, &e->json, &e->jlen);
	if (!rc && !(e->obj = cJSON_ParseWithLength(e->json, e->jlen)))
		rc = -EINVAL;
	if (rc)
		errmsg_set(err, errn, "not a trash entry (%s or %s unreadable: %s)", TRASH_META,
			   TRASH_JSON, strerror(-rc));
	return rc;
}

static void tentry_clear(struct tentry *e)
{
	trashent_clear(&e->m);
	free(e->json);
	cJSON_Delete(e->obj);
}

static const struct rtype *rtype_named(const char *type)
{
	for (int k = 0; k < RK_COUNT; k++)
		if (!strcmp(restab_get((enum rkind)k)->type, type))
			return restab_get((enum rkind)k);
	return NULL;
}

/* The kept app's description, which an import does not carry, applied to
 * the new app (its item may show a moment after the import).  Lock dropped. */
static int app_fields(struct ns *ns, const char *id, const cJSON *kept, cJSON **now, char *err,
		      size_t errn)
{
	const struct rtype *rt = restab_get(RK_APP);
	const char *desc = json_str(kept, "description");
	cJSON *root = NULL, *edited = NULL;
	const cJSON *obj = NULL;
	int rc = -ENOENT;
	*now = NULL;
	if (!desc)
		return 0;
	for (int i = 0; i < 8 && rc == -ENOENT; i++) {
		if (i)
			clock_sleep_ms(250);
		cJSON_Delete(root);
		root = NULL;
		rc = res_get(ns->o.client, rt, id, &root, &obj, err, errn);
	}
	if (!rc && !(edited = cJSON_Duplicate(obj, 1)))
		rc = -ENOMEM;
	if (!rc) {
		cJSON_DeleteItemFromObjectCaseSensitive(edited, "description");
		cJSON_AddStringToObject(edited, "description", desc);
		rc = res_update(ns->o.client, rt, id, obj, edited, now, err, errn);
		if (rc == 1)
			rc = 0;
	}
	cJSON_Delete(edited);
	cJSON_Delete(root);
	return rc;
}

/* Imports the entry's app.qvf as a new app named as the kept one, into
 * space (NULL: the personal space), then applies its description.  Lock
 * held; dropped meanwhile.  A description that cannot be applied is
 * reported (the app is back: the restore is done). */
static int restore_app(struct ns *ns, struct node *top, const struct tentry *e,
		       const char *space, char *err, size_t errn)
{
	const struct rtype *rt = restab_get(RK_APP);
	const char *nm = restab_name(rt, e->obj) ? restab_name(rt, e->obj) : e->m.name;
	char qpath[4200], ferr[512] = "";
	struct stat st;
	if (!e->m.qvf) {
		errmsg_set(err, errn, "this entry holds no %s (%s): the app cannot come back", TRASH_QVF,
			   e->m.not_kept ? e->m.not_kept : "not kept");
		return -EPERM;
	}
	int fd = -1, rc = trash_path(qpath, sizeof(qpath), e->dir, TRASH_QVF);
	if (!rc && ((fd = open(qpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &st) < 0))
		rc = -errno;
	if (rc) {
		errmsg_set(err, errn, "%s: %s", qpath, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	char *name = strdup(nm ? nm : "Restored app"), *sp = space ? strdup(space) : NULL;
	char *entry = strdup(top->name);
	cJSON *out = NULL, *now = NULL;
	uint64_t dir = top->parent ? top->parent->ino : NS_ROOT_INO;
	rc = name && entry && (sp || !space) ? 0 : -ENOMEM;
	pthread_mutex_unlock(&ns->lock);
	if (!rc)
		rc = qvf_import(ns->o.client, fd, (uint64_t)st.st_size, name, sp,
				ns->o.transfer_timeout_ms, &out, err, errn);
	const char *id = rc ? NULL : json_str(cJSON_GetObjectItemCaseSensitive(out, "attributes"), "id");
	if (!rc && !id) {
		rc = -EIO;
		errmsg_set(err, errn, "the import answered no app id");
	} else if (rc == -ENOENT && sp) {
		/* (ENOENT would read "no such file", and is not logged) */
		rc = -EPERM;
		errmsg_set(err, errn, "its space %s is gone: move the entry into another space's "
				      "apps/ (or spaces/@personal/apps/)", sp);
	}
	int frc = rc ? 0 : app_fields(ns, id, e->obj, &now, ferr, sizeof(ferr));
	if (frc)
		ns->hooks.report(ns, "restore", dir, entry, frc, ferr);
	pthread_mutex_lock(&ns->lock);
	close(fd);
	if (!rc) {
		mut_colls_stale(ns, RK_APP);
		if (now)
			mut_apply_change(ns, rt, id, now);
		/* references to the deleted app (and its name) stand for this one */
		restore_record(ns, RK_APP, restab_id(rt, e->obj), id, "from the trash");
	}
	cJSON_Delete(now);
	cJSON_Delete(out);
	free(name);
	free(sp);
	free(entry);
	return rc;
}

/* Creates the entry's resource in collection c with its kept JSON as the
 * content of a new file named as its entry was: the create path.  Lock
 * held; dropped meanwhile.  *new_id: the new resource's id (malloc'd). */
static int recreate(struct ns *ns, struct node *c, const struct tentry *e, char **new_id,
			  char *err, size_t errn)
{
	char name[NAMES_MAX + 8];
	const char *base = strrchr(e->m.path, '/') ? strrchr(e->m.path, '/') + 1 : e->m.path;
	snprintf(name, sizeof(name), "%s%s", base, coll_kids_are_dirs(c) ? ".json" : "");
	struct node *x = node_kid(c, name);
	if (x && !x->gone && !x->hidden) {
		errmsg_set(err, errn, "%s is taken in this directory: rename that first", name);
		return -EEXIST;
	}
	struct node *k = node_new(ns, c, name, R_NEW, false);
	if (!k)
		return -ENOMEM;
	k->mtime_ms = k->ctime_ms = ns_wall_ms();
	k->rt = c->rt;
	k->mem_dirty = true;
	int rc = mut_mem_set(ns, k, e->json, e->jlen);
	if (!rc)
		rc = mut_commit_create(ns, k, err, errn);
	if (!rc && k->id && !(*new_id = strdup(k->id)))
		rc = -ENOMEM;
	if (rc || (k->gone && k->role == R_NEW))
		mut_mem_node_remove(ns, k); /* (the resource shows under its own entry) */
	return rc;
}

/* After a space came back as new_id: the apps its entry holds are imported
 * into it; what does not come back goes to the top of the store, reported. */
static void restore_members(struct ns *ns, struct node *top, const char *new_id)
{
	char **v, err[512], lifted[NAMES_MAX + 1];
	struct tentry e;
	char *edir = NULL;
	if (asprintf(&edir, "%s/%s", ns->trash->dir, top->name) < 0)
		return;
	size_t n = trash_names(edir, &v);
	for (size_t i = 0; i < n; i++) {
		err[0] = '\0';
		int rc = tentry_read(edir, v[i], &e, err, sizeof(err));
		if (!rc && !strcmp(e.m.type, "app")) {
			rc = restore_app(ns, top, &e, new_id, err, sizeof(err));
		} else if (!rc) {
			rc = -EPERM;
			errmsg_set(err, sizeof(err), "%s", !strcmp(e.m.type, "data-file")
				   ? "a data file's bytes are not kept: copy the file in again"
				   : "only apps come back with their space");
		}
		tentry_clear(&e);
		if (!rc)
			continue;
		if (trash_lift(ns->trash, edir, v[i], lifted, sizeof(lifted)))
			snprintf(lifted, sizeof(lifted), "%s", top->name); /* lost with the space's */
		uint64_t dir = top->parent->ino;
		pthread_mutex_unlock(&ns->lock);
		ns->hooks.report(ns, "restore", dir, lifted, rc, err);
		pthread_mutex_lock(&ns->lock);
	}
	trash_names_free(v, n);
	free(edir);
}

/* The space an app restored into collection c goes to: c's, or for the
 * tenant-wide apps/ the one it was in (NULL: the personal space). */
static const char *app_space(const struct node *c, const struct tentry *e)
{
	if (!c->id)
		return e->m.space_id[0] ? e->m.space_id : NULL;
	return strcmp(c->id, "personal") ? c->id : NULL;
}

/* Restores the resource of entry top (lock held, top busy) into nd. */
static int restore(struct ns *ns, struct node *top, struct node *nd, char *err, size_t errn)
{
	struct tentry e;
	char *new_id = NULL;
	int rc = tentry_read(ns->trash->dir, top->name, &e, err, errn);
	const struct rtype *rt = rc ? NULL : rtype_named(e.m.type);
	struct node *c = mut_dir_coll(nd);
	if (!rc && !rt) {
		rc = -EINVAL;
		errmsg_set(err, errn, "not a trash entry (type \"%s\")", e.m.type);
	} else if (!rc && rt->kind == RK_DATAFILE) {
		rc = -EPERM;
		errmsg_set(err, errn, "a data file's bytes are not kept (the API cannot download "
				      "them): copy the file in again; its metadata is in %s",
			   TRASH_JSON);
	} else if (!rc && (!c || c->rt != rt)) {
		rc = -EPERM;
		errmsg_set(err, errn, "a trash entry of a %s goes back into a directory of them "
				      "(it was %s)", rt->type, e.m.path);
	}
	if (!rc && rt->kind == RK_APP)
		rc = restore_app(ns, top, &e, app_space(c, &e), err, errn);
	else if (!rc)
		rc = recreate(ns, c, &e, &new_id, err, errn);
	tentry_clear(&e);
	if (!rc && rt->kind == RK_SPACE && new_id && !top->gone)
		restore_members(ns, top, new_id);
	free(new_id);
	return rc;
}

/* mv of an entry out of .trash restores it; every other move in, out of or
 * inside .trash is refused. */
static int t_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
		    const char *newname, char *err, size_t errn)
{
	if (!ns->trash || !is_trash(ns, n) || !is_top(ns, d) || is_trash(ns, nd)) {
		errmsg_set(err, errn, RO_MSG);
		return -EACCES;
	}
	if (t) {
		errmsg_set(err, errn, "the target exists: restore into a directory (mv ENTRY DIR/)");
		return -EEXIST;
	}
	int rc = mut_node_lock_change(ns, n, err, errn);
	if (rc)
		return rc;
	rc = n->gone ? -ENOENT : restore(ns, n, nd, err, errn);
	mut_node_unlock_change(ns, n);
	mut_node_set_errmsg(n, rc ? err : NULL);
	if (!rc && !n->gone) {
		trash_rm_rf(ns->trash->dir, n->name); /* the restored entry leaves the trash */
		node_detach(ns, n);
	}
	ns_inval_entry(ns, nd, newname); /* the kernel moved the entry there: not so */
	return rc;
}

/* .trash and what is below it (ns_life.c registers it with ns_kind_add). */
const struct ns_kind ns_trash_kind = {
	.name = "trash",
	.root_kids = t_root_kids,
	.free = t_free,
	.fresh = t_fresh,
	.listed = t_listed,
	.opendir = t_opendir,
	.fill_attr = t_fill_attr,
	.writable = t_writable,
	.xattr = t_xattr,
	.open = t_open,
	.read = t_read,
	.release = t_release,
	.create = t_create,
	.unlink = t_remove,
	.rmdir = t_remove,
	.rename = t_rename,
};
