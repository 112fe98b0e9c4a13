/*
 * fuse_ops.c - the FUSE low-level glue: unpack the request, call one
 * namespace function, reply exactly once.  Failures are logged here, once,
 * with the namespace's explanation (never a secret); ENOENT is not logged.
 *
 * Kernel caches agree with ours: entry and attribute timeouts are the cache
 * TTL, a missing name is cached for the negative TTL, and page-cache contents
 * are dropped on every open (keep_cache = 0) because a handle's content is a
 * snapshot taken at open.
 */
#include "fuse/fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "util/log.h"
#include "util/memtrim.h"

#define ERRN 512
#define STATFS_ROOM (64ull << 20)     /* bytes reported free: 64 MiB */
#define STATFS_FREE_INODES (1u << 20) /* inodes reported free */

static struct qfs *Q(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void to_stat(const struct ns_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime_ms / 1000;
	st->st_mtim.tv_nsec = (a->mtime_ms % 1000) * 1000000;
	st->st_atim = st->st_mtim;
	st->st_ctim.tv_sec = a->ctime_ms / 1000;
	st->st_ctim.tv_nsec = (a->ctime_ms % 1000) * 1000000;
}

/* Replies with an error, after the namespace logged it with the file's path
 * (and recorded a failed change in .errors).  ino is the file, or the
 * directory holding the entry `name`. */
static void reply_error(fuse_req_t req, const char *op, fuse_ino_t ino, const char *name, int rc,
			const char *err)
{
	ns_report_failure(Q(req)->ns, op, ino, name, rc, err);
	fuse_reply_err(req, -rc);
}

/* How long the kernel may keep a's attributes: the TTL, or less for
 * content that changes by itself (a report's status). */
static double attr_ttl(const struct qfs *q, const struct ns_attr *a)
{
	double t = a->attr_ttl_ms / 1000.0;
	if (a->transient)
		return 0;
	return a->attr_ttl_ms && t < q->ttl_s ? t : q->ttl_s;
}

static void fill_entry(struct qfs *q, const struct ns_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 1;
	to_stat(a, &e->attr);
	e->attr_timeout = attr_ttl(q, a);
	e->entry_timeout = q->ttl_s;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC; /* O_TRUNC arrives with the open */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always plus: ls -l costs no lookups */
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct qfs *q = Q(req);
	struct ns_attr a;
	struct fuse_entry_param e;
	char err[ERRN] = "";
	int rc = ns_lookup(q->ns, parent, name, &a, err, sizeof(err));
	if (rc == -ENOENT) {
		memset(&e, 0, sizeof(e));
		e.entry_timeout = q->neg_ttl_s; /* negative entry */
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		reply_error(req, "lookup", parent, name, rc, err);
		return;
	}
	fill_entry(q, &a, &e);
	fuse_reply_entry(req, &e);
	memtrim_tick();
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	ns_forget(Q(req)->ns, ino, nlookup);
	fuse_reply_none(req);
	memtrim_tick();
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		ns_forget(Q(req)->ns, f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
	memtrim_tick();
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct qfs *q = Q(req);
	struct ns_attr a;
	struct stat st;
	char err[ERRN] = "";
	int rc = ns_getattr(q->ns, ino, &a, err, sizeof(err));
	if (rc) {
		reply_error(req, "getattr", ino, NULL, rc, err);
		return;
	}
	to_stat(&a, &st);
	fuse_reply_attr(req, &st, attr_ttl(q, &a));
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct qfs *q = Q(req);
	struct ns_dir *d;
	char err[ERRN] = "";
	int rc = ns_opendir(q->ns, ino, &d, err, sizeof(err));
	if (rc) {
		reply_error(req, "opendir", ino, NULL, rc, err);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT)
		ns_closedir(d); /* interrupted */
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
		       bool plus)
{
	struct qfs *q = Q(req);
	struct ns_dir *d = (struct ns_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < d->n; i++) {
		struct ns_dirent *de = &d->ents[i];
		size_t len;
		if (plus) {
			struct fuse_entry_param e;
			fill_entry(q, &de->attr, &e);
			if (de->noattr)
				e.ino = 0; /* name only: the kernel looks it up when asked */
			len = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &e,
						     (off_t)i + 1);
		} else {
			struct stat st;
			to_stat(&de->attr, &st);
			len = fuse_add_direntry(req, buf + used, size - used, de->name, &st,
						(off_t)i + 1);
		}
		if (len > size - used)
			break;
		used += len;
		if (plus && i >= 2 && !de->noattr)
			ns_remember(q->ns, de->attr.ino);
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	ns_closedir((struct ns_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
	memtrim_tick();
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct qfs *q = Q(req);
	struct ns_file *f;
	bool changed = false;
	char err[ERRN] = "";
	int rc = ns_open(q->ns, ino, fi->flags, &f, &changed, err, sizeof(err));
	if (rc) {
		reply_error(req, "open", ino, NULL, rc, err);
		return;
	}
	fi->fh = (uintptr_t)f;
	fi->keep_cache = 0;
	/* the kernel's size is stale: do not clamp reads to it; writes are
	 * buffered here, not in the page cache */
	fi->direct_io = changed || (fi->flags & O_ACCMODE) != O_RDONLY;
	if (ns_file_opened(f, fuse_req_ctx(req)->uid)) /* the api control file */
		fi->direct_io = fi->nonseekable = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		ns_release(f);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	char err[ERRN] = "";
	ssize_t n = ns_read_err((struct ns_file *)(uintptr_t)fi->fh, buf, size, off, err,
				sizeof(err));
	if (n < 0 && err[0]) /* a raw request's failure */
		ns_report_failure(Q(req)->ns, "read", ino, NULL, (int)n, err);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	ns_release((struct ns_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
	memtrim_tick();
}

/* Replies to getxattr/listxattr: the size probe (size 0), the value, or the error. */
static void reply_xattr(fuse_req_t req, const char *buf, ssize_t n, size_t size)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char buf[256];
	ssize_t n = ns_getxattr(Q(req)->ns, ino, name, buf, size > sizeof(buf) ? sizeof(buf) : size);
	reply_xattr(req, buf, n, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char buf[256];
	ssize_t n = ns_listxattr(Q(req)->ns, ino, buf, size > sizeof(buf) ? sizeof(buf) : size);
	reply_xattr(req, buf, n, size);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct ns_stats s;
	struct statvfs st;
	ns_get_stats(Q(req)->ns, &s);
	memset(&st, 0, sizeof(st));
	/* (docs/OPTIONS.md "df and statfs"): the tenant has no size to tell.
	 * Blocks: STATFS_ROOM bytes, all free, in f_frsize units: room for tools
	 * that check free space before writing (cp, rsync), and 0 bytes used,
	 * because nothing is stored locally.  Inodes: the nodes known so far are
	 * used, STATFS_FREE_INODES more are free. */
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_blocks = st.f_bfree = st.f_bavail = STATFS_ROOM / 4096;
	st.f_ffree = st.f_favail = STATFS_FREE_INODES;
	st.f_files = s.nodes + STATFS_FREE_INODES;
	st.f_namemax = 255;
	fuse_reply_statfs(req, &st);
}

static void reply_entry_or_err(fuse_req_t req, const char *op, fuse_ino_t parent,
			       const char *name, int rc, const char *err, const struct ns_attr *a)
{
	struct fuse_entry_param e;
	if (rc) {
		reply_error(req, op, parent, name, rc, err);
		return;
	}
	fill_entry(Q(req), a, &e);
	fuse_reply_entry(req, &e);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct qfs *q = Q(req);
	struct ns_attr a;
	struct stat st;
	char err[ERRN] = "";
	int rc = 0;
	if (q->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE)
		rc = ns_truncate(q->ns, ino, fi ? (struct ns_file *)(uintptr_t)fi->fh : NULL,
				 (uint64_t)attr->st_size, err, sizeof(err));
	/* mode, owner and times are the mount's: accepted and left as they are */
	if (!rc)
		rc = ns_getattr(q->ns, ino, &a, err, sizeof(err));
	if (rc) {
		reply_error(req, (to_set & FUSE_SET_ATTR_SIZE) ? "truncate" : "setattr", ino, NULL, rc,
			    err);
		return;
	}
	to_stat(&a, &st);
	fuse_reply_attr(req, &st, attr_ttl(q, &a));
}

static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t r)
{
	(void)p, (void)n, (void)r;
	fuse_reply_err(req, Q(req)->read_only ? EROFS : S_ISREG(m) ? ENOSYS : EPERM);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
	(void)m;
	struct ns_attr a;
	char err[ERRN] = "";
	int rc = ns_mkdir(Q(req)->ns, p, n, &a, err, sizeof(err));
	reply_entry_or_err(req, "mkdir", p, n, rc, err, &a);
}

static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
	char err[ERRN] = "";
	int rc = ns_unlink(Q(req)->ns, p, n, err, sizeof(err));
	if (rc && rc != -ENOENT)
		reply_error(req, "unlink", p, n, rc, err);
	else
		fuse_reply_err(req, -rc);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t p, const char *n)
{
	char err[ERRN] = "";
	int rc = ns_rmdir(Q(req)->ns, p, n, err, sizeof(err));
	if (rc && rc != -ENOENT)
		reply_error(req, "rmdir", p, n, rc, err);
	else
		fuse_reply_err(req, -rc);
}

static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn,
		      unsigned int flags)
{
	char err[ERRN] = "";
	int rc = ns_rename(Q(req)->ns, p, n, np, nn, flags, err, sizeof(err));
	if (rc && rc != -ENOENT)
		reply_error(req, "rename", p, n, rc, err);
	else
		fuse_reply_err(req, -rc);
}

static void op_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
		      struct fuse_file_info *fi)
{
	(void)m;
	struct qfs *q = Q(req);
	struct ns_attr a;
	struct ns_file *f;
	struct fuse_entry_param e;
	char err[ERRN] = "";
	int rc = ns_create(q->ns, p, n, fi->flags, &a, &f, err, sizeof(err));
	if (rc) {
		reply_error(req, "create", p, n, rc, err);
		return;
	}
	fill_entry(q, &a, &e);
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (ns_file_opened(f, fuse_req_ctx(req)->uid)) /* the api control file */
		fi->nonseekable = 1;
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		ns_release(f);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n = ns_write((struct ns_file *)(uintptr_t)fi->fh, buf, size, off);
	if (n < 0)
		reply_error(req, "write", ino, NULL, (int)n, NULL);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char err[ERRN] = "";
	int rc = ns_flush((struct ns_file *)(uintptr_t)fi->fh, err, sizeof(err));
	if (rc)
		reply_error(req, "close", ino, NULL, rc, err);
	else
		fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	char err[ERRN] = "";
	int rc = ns_flush((struct ns_file *)(uintptr_t)fi->fh, err, sizeof(err));
	if (rc)
		reply_error(req, "fsync", ino, NULL, rc, err);
	else
		fuse_reply_err(req, 0);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	(void)flags;
	int rc = ns_setxattr(Q(req)->ns, ino, name, value, size);
	if (rc && rc != -ENOTSUP)
		reply_error(req, "setxattr", ino, NULL, rc, NULL);
	else
		fuse_reply_err(req, -rc);
}

const struct fuse_lowlevel_ops qfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
};
