/*
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

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cache.h"
#include "client/qclient.h"
#include "res/restab.h"

#define NS_ROOT_INO 1
#define INDEX_NAME ".index.json" /* in every collection: id, name, entry of each */
#define QVF_DIR ".qvf"           /* in every apps collection: an export of each app */

struct ns;

struct ns_invalidator {
	/* Called when the kernel must forget something.  Must not block on the
	 * kernel: the FUSE glue queues these for a worker thread. */
	void (*inval_entry)(void *arg, uint64_t parent, const char *name);
	void (*inval_inode)(void *arg, uint64_t ino);
	void *arg;
};

struct ns_opts {
	struct qclient *client;  /* not owned */
	struct cache *cache;     /* not owned: resource contents and negative lookups */
	int64_t ttl_ms;          /* listings, attributes and contents */
	int64_t neg_ttl_ms;      /* names that do not exist */
	uid_t uid;
	gid_t gid;
	mode_t umask;            /* applied to 0666 files / 0777 dirs; default 077 */
	bool read_only;
	struct ns_invalidator inval;
	int64_t (*now_ms)(void); /* wall clock for freshness; NULL = CLOCK_MONOTONIC */

	/* actions (all optional) */
	struct qvf_cache *qvf;   /* not owned; NULL: no .qvf files */
	bool qvf_nodata;         /* exports without data */
	struct upload *upload;   /* not owned; NULL: no data-file uploads */
	const char *tmp_dir;     /* temporary files of uploads and imports (default /var/tmp) */
	long transfer_timeout_ms;/* one upload or import */
	/* reports/ and the api control file (ns_ext.h) exist only with a state
	 * directory: the registry of reports, the requests as sent and the local
	 * copies of their outputs live there.  Report outputs download within
	 * transfer_timeout_ms too (0: the client's timeout); raw requests'
	 * answers go to tmp_dir. */
	const char *state_dir;    /* not owned; NULL: neither reports/ nor api */
	/* load scripts and reloads (ns_ext.h) */
	bool no_scripts;          /* no scripts/ directories */
	long reload_wait_ms;      /* bound on a read of reloads/<id>/wait (0: 1 hour) */
	/* The user object of the mount-time credential check (GET /users/me):
	 * me.json's first content, so that it needs no request of its own
	 * (read by ns_new only; may be NULL). */
	const cJSON *me;
};

struct ns_attr {
	uint64_t ino;
	mode_t mode;      /* with S_IFDIR / S_IFREG */
	uint64_t size;
	int64_t mtime_ms; /* resource last update */
	int64_t ctime_ms; /* resource creation */
	unsigned nlink;
	uid_t uid;
	gid_t gid;
	uint32_t attr_ttl_ms; /* > 0: the kernel may keep these attributes at most this
				 long (content that changes by itself); 0: the mount's TTL */
	bool transient;       /* not to be kept at all (a writer's unsent size) */
};

struct ns_dirent {
	char *name;
	struct ns_attr attr;
	bool noattr; /* attributes unknown without a request: the kernel must look it up */
};

struct ns_dir {
	struct ns_dirent *ents; /* ".", "..", then the entries */
	size_t n;
};

struct ns_file;

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
void ns_closedir(struct ns_dir *d);
void ns_remember(struct ns *ns, uint64_t ino);

/* Opens a file: takes a snapshot of its content, so reads through this handle
 * are consistent.  *size_changed is set when the content's size differs from
 * the size last reported for the inode (the glue then bypasses the kernel's
 * page cache for this handle). */
int ns_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out, bool *size_changed,
	    char *err, size_t errn);
ssize_t ns_read(struct ns_file *f, char *buf, size_t size, off_t off);
void ns_release(struct ns_file *f);
/* ns_ext.c: the glue calls ns_file_opened() after every successful open or
 * create, with the uid of the process that opened the file (it decides
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
/* Sets an extended attribute (ns_ext.c): only user.qlik.message of a load
 * script (the version message of its next save).  Returns 0, -ENOTSUP
 * (another name or file), -EINVAL (longer than 1024 bytes, or a NUL),
 * -EROFS, -ENOENT. */
int ns_setxattr(struct ns *ns, uint64_t ino, const char *name, const char *value, size_t size);

/* Drops every cache (listings, contents, negative entries) and asks the
 * kernel to forget its attributes, entries and pages (SIGHUP). */
void ns_drop_caches(struct ns *ns);

/* Removes a directory entry.  This version removes only the spool files of
 * a local directory (changes/<type>/<time>.json: deleting one acknowledges
 * it); anything else is refused with -EROFS (-EACCES for the other entries of
 * a local directory). */
int ns_unlink(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn);

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

/* The operations files (ns_ops.c).  ns_report_failure() is the boundary's
 * report of a failed operation `op` ("close", "rename"...) on inode ino, or on
 * the entry `name` of directory ino when name is not NULL: it logs one
 * warning naming the file's path in the mount and the explanation err, and
 * appends a change's failure to the errors file (.errors; every op but
 * lookup, getattr, open, opendir and read is a change).  ENOENT is neither
 * logged nor recorded (except for a read: the api file's 404).  ns_path() writes the path of ino (and name) in the
 * mount, without a leading '/' ("" for the root); returns 0 or -ENOENT. */
void ns_report_failure(struct ns *ns, const char *op, uint64_t ino, const char *name, int rc,
		       const char *err);
int ns_path(struct ns *ns, uint64_t ino, const char *name, char *buf, size_t len);

struct ns_stats {
	uint64_t nodes;
	uint64_t listings; /* listing refreshes done */
	uint64_t gets;     /* single-resource GETs */
};
void ns_get_stats(struct ns *ns, struct ns_stats *st);

#endif
