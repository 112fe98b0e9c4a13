/*
 * Layer ns/ (the dispatcher): may include ns/kinds/, ns/core/ and the layers
 * below; fuse/ sees only this header.
 *
 * ns.h - the namespace: inodes and paths -> Qlik resources.
 *
 * Everything the FUSE glue calls, with no FUSE types: tests drive it
 * directly against the in-process simulator.  Functions return 0 (or a
 * length) on success and a negative errno on failure; when a failure came
 * from the tenant, a one-line explanation is left in *err (may be NULL) so
 * that the boundary logs it once.
 */
#ifndef QLIKFS_NS_H
#define QLIKFS_NS_H

#include "ns/core/ns_types.h"
#include "ns/kinds/ns_ops.h"

struct ns *ns_new(const struct ns_opts *opts);  /* NULL on OOM */
void ns_free(struct ns *ns);

int ns_lookup(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *out, char *err,
	      size_t errn);
void ns_forget(struct ns *ns, uint64_t ino, uint64_t nlookup);
int ns_getattr(struct ns *ns, uint64_t ino, struct ns_attr *out, char *err, size_t errn);

/* Snapshot of a directory, refreshed from the tenant when stale.  The caller
 * frees it with ns_closedir.  Entries served through readdirplus count as
 * lookups: call ns_remember(ino) for each one handed to the kernel. */
int ns_opendir(struct ns *ns, uint64_t ino, struct ns_dir **out, char *err, size_t errn);
void ns_remember(struct ns *ns, uint64_t ino);

/* Opens a file: takes a snapshot of its content, so reads through this handle
 * are consistent.  *size_changed is set when the content's size differs from
 * the size last reported for the inode (the glue then bypasses the kernel's
 * page cache for this handle). */
int ns_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out, bool *size_changed,
	    char *err, size_t errn);
ssize_t ns_read(struct ns_file *f, char *buf, size_t size, off_t off);
void ns_release(struct ns_file *f);
/* The glue calls ns_file_opened() after every successful open or create,
 * with the uid of the process that opened the file (it decides
 * whether a raw request may read local files).  It returns true when the
 * handle is a stream whose reads ignore offsets (the api control file): the
 * glue opens it direct_io and nonseekable.  ns_read_err() is ns_read() with
 * the explanation of a failure in err (for the boundary's log). */
bool ns_file_opened(struct ns_file *f, uid_t caller);
ssize_t ns_read_err(struct ns_file *f, char *buf, size_t size, off_t off, char *err, size_t errn);

/* Changes (docs/SEMANTICS.md "Writing"; all return -EROFS on a read-only mount).
 * ns_write buffers; ns_flush (every close, and fsync) sends what was
 * written: it is where a change succeeds or fails.  ns_create opens the new
 * (or existing) file like ns_open and fills *attr; the entry counts as a
 * lookup, as does ns_mkdir's. */
ssize_t ns_write(struct ns_file *f, const char *buf, size_t size, off_t off);
int ns_flush(struct ns_file *f, char *err, size_t errn);
int ns_create(struct ns *ns, uint64_t parent, const char *name, int flags,
	      struct ns_attr *attr, struct ns_file **out, char *err, size_t errn);
int ns_mkdir(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *attr, char *err,
	     size_t errn);
/* unlink deletes the resource the entry shows; in changes/ it removes only
 * spool files (acknowledging them), other local entries are -EACCES. */
int ns_unlink(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn);
int ns_rmdir(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn);
/* flags: 0 or RENAME_NOREPLACE (1); RENAME_EXCHANGE is EINVAL. */
int ns_rename(struct ns *ns, uint64_t parent, const char *name, uint64_t newparent,
	      const char *newname, unsigned flags, char *err, size_t errn);
/* Truncates (or extends with zeros) through handle f when it is writable,
 * else applies the new size to the resource at once. */
int ns_truncate(struct ns *ns, uint64_t ino, struct ns_file *f, uint64_t size, char *err,
		size_t errn);

/* Extended attributes user.qlik.id, user.qlik.type and user.qlik.error (why
 * the last change through this file failed).  Returns the value's
 * length (copying it when size > 0), -ENODATA, or -ERANGE. */
ssize_t ns_getxattr(struct ns *ns, uint64_t ino, const char *name, char *buf, size_t size);
ssize_t ns_listxattr(struct ns *ns, uint64_t ino, char *buf, size_t size);
/* Sets an extended attribute through the node's kind: only user.qlik.message
 * of a load script (the version message of its next save).  Returns 0,
 * -ENOTSUP (another name or file), -EINVAL (longer than 1024 bytes, or a
 * NUL), -EROFS, -ENOENT. */
int ns_setxattr(struct ns *ns, uint64_t ino, const char *name, const char *value, size_t size);

/* Drops every cache (listings, contents, negative entries) and asks the
 * kernel to forget its attributes, entries and pages (SIGHUP). */
void ns_drop_caches(struct ns *ns);

/* Shows the local directory dir (absolute) read-only as `name` under the
 * root (ns_local.c).  Returns 0, -EEXIST or -ENOMEM. */
int ns_local_add(struct ns *ns, const char *name, const char *dir);

/* A file under a local directory was (re)written or created: relpath is its
 * path from the mount root ("changes/apps.json").  The kernel forgets what it
 * holds of it, so the next stat or open sees the new content. */
void ns_local_note_written(struct ns *ns, const char *relpath);

/* Resources of `kind` with these ids were created, updated or deleted behind
 * our back (ns_notify.c): their listings, contents and kernel entries become
 * stale, so the next access asks the tenant. */
void ns_note_changed(struct ns *ns, enum rkind kind, const char *const *ids, size_t n);

/* ns_report_failure() and ns_path(): ns/kinds/ns_ops.h (included above). */

void ns_get_stats(struct ns *ns, struct ns_stats *st);

#endif
