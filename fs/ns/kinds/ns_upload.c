/*
 * ns_upload.c - files copied in to be uploaded or imported (docs/SEMANTICS.md
 * "Data-file uploads", "Apps as .qvf files"): a file created in a data-files
 * directory (any name but NAME.json), or a NAME.qvf created in an apps
 * directory, is R_UPLOAD: its content goes to an unlinked temporary file
 * (memory stays bounded) and is uploaded (multipart POST, or PUT when a data
 * file of that name exists) or imported (temp-contents + POST /apps/import)
 * when the file is closed.  After that it stays reachable by name (so cp -p
 * and rsync can set its times) but is not listed, and its content cannot be
 * read back: the resource shows under its own entry.  A failed send keeps
 * the file and its content and says why (user.qlik.error).
 *
 * One node kind, ns_upload_kind, which claims such names in data-files/ and
 * apps/ directories: the dispatcher reaches it only through its table.
 *
 * Locks: ns->lock held on entry; upload_commit drops it around requests.
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
	int rc = mut_folder_path(dir, sname, full, sizeof(full));
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
		if ((rc = mut_folder_path(d, sname, full, sizeof(full)))) {
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
