/*
 * ns_local.c - local directories shown read-only in the mount (nodes of
 * ns_local_kind): changes/ is the change poller's directory in the state directory,
 * passed through as it is on disk.
 *
 * What is shown: regular files and directories, by their on-disk names,
 * except the temporary files of atomic writes (".NAME.tmp.*").  Entries are
 * re-read from the disk at every lookup, getattr and opendir, and the
 * kernel keeps no attributes (local_attr): other writers change these files
 * too (another mount sharing the state directory, a consumer in it), so
 * every stat asks; the poller also invalidates after each write
 * (ns_local_note_written).  Contents are read
 * at open (a snapshot per handle, like every file of the mount).
 * Writes: only unlink, and only of a file inside a subdirectory of the local
 * root (a spool file: deleting it acknowledges it); everything else is
 * refused (EACCES; EROFS on a read-only mount).
 *
 * State: the kind's (ns_kstate) holds each local root's absolute directory,
 * by the root's inode; other nodes are named after their file; the path is
 * the root's directory followed by the names on the way down.
 *
 * Locks: every function takes ns->lock itself (they are called at the top of
 * the ns.c functions, before those take it).  lstat/readdir/unlink run under
 * the lock (local, small directories); file contents are read without it.
 */
#include "ns/core/ns_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/statedir.h"

#define LOCAL_FILE_MAX (256u << 20)
#define LOCAL_DIR_MAX 100000

static struct node *get(struct ns *ns, uint64_t ino)
{
	return ino < ns->ntab ? ns->tab[ino] : NULL;
}

static bool is_local(const struct ns *ns, const struct node *n)
{
	return node_is(ns, n, &ns_local_kind);
}

static bool is_root(const struct ns *ns, const struct node *n)
{
	return !is_local(ns, n->parent);
}

/* A local node's attributes, never kept by the kernel: other writers than
 * this mount's poller change these files (another mount sharing the state
 * directory, a consumer deleting spool files there), and a size kept from
 * before would not match the bytes a read gives. */
static void local_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	node_fill_attr(ns, n, true, a);
	a->transient = true;
}

static bool hidden_name(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..") ||
	       (name[0] == '.' && strstr(name, ".tmp.")) || strchr(name, '/');
}

/* The kind's state: the local roots' directories (ns_local_add). */
struct local_roots {
	size_t n;
	struct local_root {
		uint64_t ino;
		char *dir;
	} *v;
};

static struct local_roots *roots(const struct ns *ns)
{
	return ns_kstate(ns, &ns_local_kind);
}

static const char *root_dir(const struct ns *ns, const struct node *root)
{
	const struct local_roots *r = roots(ns);
	for (size_t i = 0; r && i < r->n; i++)
		if (r->v[i].ino == root->ino)
			return r->v[i].dir;
	return "";
}

static void local_free(struct ns *ns)
{
	struct local_roots *r = roots(ns);
	for (size_t i = 0; r && i < r->n; i++)
		free(r->v[i].dir);
	if (r)
		free(r->v);
	free(r);
	ns_kstate_set(ns, &ns_local_kind, NULL);
}

/* The absolute path of a local node.  Returns 0 or -ENAMETOOLONG. */
static int local_path(const struct ns *ns, const struct node *n, char *buf, size_t len)
{
	if (is_root(ns, n))
		return snprintf(buf, len, "%s", root_dir(ns, n)) < (int)len ? 0 : -ENAMETOOLONG;
	int rc = local_path(ns, n->parent, buf, len);
	size_t l = strlen(buf);
	if (!rc && snprintf(buf + l, len - l, "/%s", n->name) >= (int)(len - l))
		rc = -ENAMETOOLONG;
	return rc;
}

/* The absolute path of p's child `name`.  Returns 0, -ENOENT (a name that
 * is never shown) or -ENAMETOOLONG. */
static int child_path(const struct ns *ns, const struct node *p, const char *name, char *buf, size_t len)
{
	int rc = hidden_name(name) ? -ENOENT : local_path(ns, p, buf, len);
	size_t l = rc ? 0 : strlen(buf);
	if (!rc && snprintf(buf + l, len - l, "/%s", name) >= (int)(len - l))
		rc = -ENAMETOOLONG;
	return rc;
}

/* Brings p's child `name` in line with the disk: created, updated, or
 * detached when gone.  Returns 0 with *out, -ENOENT, or another -errno. */
static int sync_child(struct ns *ns, struct node *p, const char *name, struct node **out)
{
	char path[4096];
	struct stat st;
	int rc = child_path(ns, p, name, path, sizeof(path)) ? -ENOENT : 0;
	if (!rc && lstat(path, &st) < 0)
		rc = -errno;
	/* (links, devices, sockets: not shown) */
	int mr = node_mirror(ns, p, name, rc ? NULL : &st, &ns_local_kind, out);
	return rc && rc != -ENOTDIR ? rc : mr;
}

/* Re-reads n itself.  Returns 0 or -ENOENT (n is detached then). */
static int sync_self(struct ns *ns, struct node *n)
{
	char path[4096];
	struct stat st;
	if (n->gone)
		return -ENOENT;
	if (local_path(ns, n, path, sizeof(path)) || lstat(path, &st) < 0 ||
	    (S_ISDIR(st.st_mode) != n->dir) || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) {
		if (is_root(ns, n))
			return 0; /* the directory is missing: shown empty */
		node_detach(ns, n);
		return -ENOENT;
	}
	node_mirror_stat(n, &st);
	return 0;
}

int ns_local_add(struct ns *ns, const char *name, const char *dir)
{
	int rc = 0;
	pthread_mutex_lock(&ns->lock);
	struct node *root = get(ns, NS_ROOT_INO);
	struct local_roots *r = roots(ns);
	if (!r && (r = calloc(1, sizeof(*r))))
		ns_kstate_set(ns, &ns_local_kind, r);
	struct local_root *v = r ? realloc(r->v, (r->n + 1) * sizeof(*v)) : NULL;
	if (v)
		r->v = v;
	struct node *n = v && root && !node_kid(root, name)
				 ? node_new_of(ns, root, name, &ns_local_kind, true)
				 : NULL;
	char *d = n ? strdup(dir) : NULL;
	if (!d)
		rc = n || !root || !node_kid(root, name) ? -ENOMEM : -EEXIST;
	if (n) {
		n->pinned = true;
		if (d)
			r->v[r->n++] = (struct local_root){ n->ino, d };
		else
			node_detach(ns, n);
	}
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

int ns_local_lookup(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *out)
{
	struct node *k = NULL;
	int rc;
	pthread_mutex_lock(&ns->lock);
	struct node *p = get(ns, parent);
	if (!p->dir)
		rc = -ENOTDIR;
	else if (!(rc = sync_self(ns, p)) && !(rc = sync_child(ns, p, name, &k))) {
		local_attr(ns, k, out);
		k->nlookup++;
	}
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

int ns_local_getattr(struct ns *ns, uint64_t ino, struct ns_attr *out)
{
	pthread_mutex_lock(&ns->lock);
	struct node *n = get(ns, ino);
	int rc = sync_self(ns, n);
	if (!rc)
		local_attr(ns, n, out);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

/* Re-reads a directory's entries from the disk: new ones added, vanished
 * ones detached. */
static int sync_dir(struct ns *ns, struct node *n)
{
	char path[4096];
	int rc = sync_self(ns, n);
	if (rc || (rc = local_path(ns, n, path, sizeof(path))))
		return rc;
	DIR *d = opendir(path);
	unsigned g = ++ns->gen;
	size_t count = 0;
	struct dirent *de;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && count < LOCAL_DIR_MAX) {
		struct node *k;
		if (hidden_name(de->d_name))
			continue;
		if (sync_child(ns, n, de->d_name, &k) == 0) {
			k->mark = g;
			count++;
		}
	}
	closedir(d);
	for (size_t i = 0; i < n->nkids;) {
		struct node *k = n->kidv[i];
		if (!k->pinned && !k->hidden && k->mark != g) {
			node_detach(ns, k); /* swaps the last kid into i */
			continue;
		}
		i++;
	}
	return 0;
}

int ns_local_opendir(struct ns *ns, uint64_t ino, struct ns_dir **out)
{
	struct ns_dir *d = NULL;
	int rc;
	pthread_mutex_lock(&ns->lock);
	struct node *n = get(ns, ino);
	if (!n->dir) {
		rc = -ENOTDIR;
		goto out;
	}
	if ((rc = sync_dir(ns, n)))
		goto out;
	if (!(d = ns_dir_new(ns, n->nkids + 2))) {
		rc = -ENOMEM;
		goto out;
	}
	d->ents[0].name = strdup(".");
	local_attr(ns, n, &d->ents[0].attr);
	d->ents[1].name = strdup("..");
	/* the parent's attributes as the kernel last had them */
	d->ents[1].attr = d->ents[0].attr;
	d->ents[1].attr.ino = n->parent ? n->parent->ino : n->ino;
	d->n = 2;
	for (size_t i = 0; i < n->nkids; i++) {
		struct node *k = n->kidv[i];
		if (k->hidden || k->gone)
			continue;
		d->ents[d->n].name = strdup(k->name);
		local_attr(ns, k, &d->ents[d->n].attr);
		d->n++;
	}
	rc = ns_dir_sort(d);
out:
	return ns_dir_done(ns, d, rc, out);
}

int ns_local_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out,
		  bool *size_changed)
{
	char path[4096];
	char *buf = NULL;
	size_t len = 0;
	int rc;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return ns->o.read_only ? -EROFS : -EACCES;
	pthread_mutex_lock(&ns->lock);
	struct node *n = get(ns, ino);
	rc = n->dir ? -EISDIR : n->gone ? -ENOENT : local_path(ns, n, path, sizeof(path));
	pthread_mutex_unlock(&ns->lock);
	if (rc)
		return rc;
	rc = statedir_read_path(path, LOCAL_FILE_MAX, &buf, &len);
	if (rc == -ELOOP)
		rc = -ENOENT; /* links are not shown */
	pthread_mutex_lock(&ns->lock);
	if (rc == -ENOENT && !n->gone)
		node_detach(ns, n);
	else if (!rc)
		n->size = len;
	pthread_mutex_unlock(&ns->lock);
	if (rc)
		return rc;
	struct cache_blob *b = cache_blob_take(buf, len);
	if (!b)
		return -ENOMEM;
	if (!(*out = ns_file_new(ns, ino, b)))
		return -ENOMEM;
	/* always read direct (as after a change of size): the poller replaces
	 * these files at any time and invalidates their inode, which can race
	 * a read through the page cache; the kernel then pads the snapshot
	 * with zeros up to the newer file's size (a read of .status.json gave
	 * its old text and a NUL).  Direct reads give exactly the snapshot. */
	*size_changed = true;
	return 0;
}

int ns_local_unlink(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn)
{
	char path[4096];
	struct stat st;
	int rc = 0;
	if (ns->o.read_only)
		return -EROFS;
	pthread_mutex_lock(&ns->lock);
	struct node *p = get(ns, parent), *k;
	if (!is_local(ns, p) || is_root(ns, p) || !is_root(ns, p->parent)) {
		/* only the files of a spool directory (a subdirectory of the root) */
		rc = -EACCES;
		if (err && errn)
			snprintf(err, errn, "only spool files (changes/<type>/*.json) can be deleted");
		goto out;
	}
	if (child_path(ns, p, name, path, sizeof(path))) {
		rc = -ENOENT;
		goto out;
	}
	if (lstat(path, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		rc = -ENOENT;
	else if (unlink(path) < 0)
		rc = -errno;
	if ((!rc || rc == -ENOENT) && (k = node_kid(p, name)))
		node_detach(ns, k);
	if (rc && rc != -ENOENT && err && errn)
		snprintf(err, errn, "unlink %s: %s", path, strerror(-rc));
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

void ns_local_note_written(struct ns *ns, const char *relpath)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", relpath);
	pthread_mutex_lock(&ns->lock);
	struct node *d = get(ns, NS_ROOT_INO);
	for (char *save, *seg = strtok_r(buf, "/", &save); d && seg;
	     seg = strtok_r(NULL, "/", &save)) {
		struct node *k = d->kids ? node_kid(d, seg) : NULL;
		if (k && k->reported)
			ns_inval_inode(ns, k); /* new size, new times */
		else if (!k && is_local(ns, d))
			ns_inval_entry(ns, d, seg); /* a name the kernel may hold as missing */
		d = k && k->dir ? k : NULL;
	}
	pthread_mutex_unlock(&ns->lock);
}

/* changes/ and what is below it, as one kind (ns_life.c registers it with
 * ns_kind_add): it runs whole operations itself, from its local directory. */
const struct ns_kind ns_local_kind = {
	.name = "local",
	.free = local_free,
	.fill_attr = local_attr, /* (0666 before the umask: refused writes say EACCES themselves) */
	.lookup_in = ns_local_lookup,
	.getattr_ino = ns_local_getattr,
	.opendir_ino = ns_local_opendir,
	.open_ino = ns_local_open,
	.unlink_in = ns_local_unlink,
};
