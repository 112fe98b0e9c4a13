/*
 * ns_ops.c - the operations files at the mount root, hidden from listings
 * (kept out of cp -r, tar and rsync) but reachable by name:
 *
 *   .status.json  live counters (opstats.h, the client, the cache, the
 *                 namespace) and the long operations in flight.  Its text is
 *                 a function of those numbers only (no clock in it), made
 *                 anew at every stat (lookup, getattr) and every open; a
 *                 handle reads the text made at its open.  So a stat followed
 *                 by a read gives the size read unless the mount did some
 *                 work in between, and `watch cat` is always current.
 *                 Handles are direct_io: the kernel never clamps a read to
 *                 the size of an older stat.
 *   .errors       the changes that failed (errlog.h), read live at the
 *                 offset asked: `tail -f` follows it.
 *
 * Also the failure reports of the FUSE boundary (ns_report_failure) and the
 * path of an inode in the mount (ns_path).
 *
 * A kind of its own (ns_ops_kind, below), with its state on the namespace
 * (ns_kstate).
 *
 * Locks: the snapshot fields are GUARDED_BY(ns->lock) (the kind's operations
 * run with it held); the errlog has its own lock; ops_read and ops_release
 * take nothing but the errlog's lock.
 */
#include "ns/kinds/ns_ext.h"
#include "ns/kinds/ns_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/errlog.h"
#include "util/log.h"
#include "util/opstats.h"

#define ERRLOG_MAX (1u << 20)
#define STATUS_NAME ".status.json"
#define ERRORS_NAME ".errors"

/* its nodes' xk */
enum opskind {
	X_OPSTATUS = 1, /* .status.json: counters, a snapshot made at stat and kept 1 s */
	X_ERRORS,       /* .errors: the changes that failed, read live (errlog.h) */
};

struct ns_ops {
	struct errlog *errlog;
	char *snap;         /* the last .status.json text */
	size_t snaplen;
};

struct ops_handle {
	struct xhandle h; /* X_OPSTATUS or X_ERRORS */
	struct ns *ns;
	char *buf;        /* X_OPSTATUS: the snapshot this handle reads */
	size_t len;
};

static struct ns_ops *ops_state(const struct ns *ns)
{
	return ns_kstate(ns, &ns_ops_kind);
}

static void add_hidden(struct ns *ns, struct node *root, const char *name, enum opskind xk)
{
	struct node *n = node_new_of(ns, NULL, name, &ns_ops_kind, false);
	if (!n)
		return;
	n->pinned = n->hidden = true;
	n->xk = xk;
	if (node_attach(ns, root, n, name) < 0)
		n->gone = true;
}

static void ops_add_root_kids(struct ns *ns, struct node *root)
{
	if (ops_state(ns))
		return;
	struct ns_ops *o = calloc(1, sizeof(*o));
	if (!o || !(o->errlog = errlog_new(ERRLOG_MAX))) {
		free(o);
		return;
	}
	ns_kstate_set(ns, &ns_ops_kind, o);
	add_hidden(ns, root, STATUS_NAME, X_OPSTATUS);
	add_hidden(ns, root, ERRORS_NAME, X_ERRORS);
}

static void ops_free(struct ns *ns)
{
	struct ns_ops *o = ops_state(ns);
	if (!o)
		return;
	errlog_free(o->errlog);
	free(o->snap);
	free(o);
	ns_kstate_set(ns, &ns_ops_kind, NULL);
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
	char buf[40];
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t l = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + l, sizeof(buf) - l, ".%03dZ", (int)(ms % 1000));
	cJSON_AddStringToObject(o, key, buf);
}

/* Renders the status (called with ns->lock held).  Returns the text
 * (owned by the caller) or NULL on OOM. */
static char *status_render(struct ns *ns, size_t *len)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "version", QLIKFS_VERSION);
	if (ns->o.client)
		cJSON_AddStringToObject(o, "tenant", qclient_base(ns->o.client));
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	add_time(o, "mounted", ns->mount_ms);
	int rc = opstats_to_json(o);
	if (ns->o.client) {
		struct qclient_stats qs;
		qclient_get_stats(ns->o.client, &qs);
		cJSON *c = cJSON_AddObjectToObject(o, "client");
		cJSON_AddNumberToObject(c, "calls_failed", (double)qs.errors);
		cJSON_AddNumberToObject(c, "shared_gets", (double)qs.shared);
	}
	if (ns->o.cache) {
		struct cache_stats cs;
		cache_get_stats(ns->o.cache, &cs);
		cJSON *c = cJSON_AddObjectToObject(o, "cache");
		cJSON_AddNumberToObject(c, "hits", (double)cs.hits);
		cJSON_AddNumberToObject(c, "misses", (double)cs.misses);
		cJSON_AddNumberToObject(c, "negative_hits", (double)cs.neg_hits);
		cJSON_AddNumberToObject(c, "entries", (double)cs.entries);
		cJSON_AddNumberToObject(c, "bytes", (double)cs.bytes);
		cJSON_AddNumberToObject(c, "max_bytes", (double)cs.max_bytes);
		cJSON_AddNumberToObject(c, "evictions", (double)cs.evictions);
		cJSON_AddNumberToObject(c, "stores", (double)cs.stores);
	}
	cJSON *ob = cJSON_AddObjectToObject(o, "objects");
	cJSON_AddNumberToObject(ob, "nodes", (double)ns->stats.nodes);
	cJSON_AddNumberToObject(ob, "listings_fetched", (double)ns->stats.listings);
	cJSON_AddNumberToObject(ob, "objects_fetched", (double)ns->stats.gets);
	cJSON *er = cJSON_AddObjectToObject(o, "errors");
	struct ns_ops *os = ops_state(ns);
	cJSON_AddNumberToObject(er, "count", os ? (double)errlog_count(os->errlog) : 0);
	cJSON_AddStringToObject(er, "file", ERRORS_NAME);
	char *txt = rc ? NULL : cJSON_Print(o);
	cJSON_Delete(o);
	if (!txt)
		return NULL;
	*len = strlen(txt);
	txt[(*len)++] = '\n'; /* cJSON_Print's NUL becomes the final newline */
	return txt;
}

/* A new snapshot into the state (ns->lock held).  Returns 0 or -ENOMEM (the
 * old one is kept). */
static int status_snap(struct ns *ns)
{
	struct ns_ops *o = ops_state(ns);
	size_t len = 0;
	char *txt = status_render(ns, &len);
	if (!txt)
		return -ENOMEM;
	free(o->snap);
	o->snap = txt;
	o->snaplen = len;
	return 0;
}

static void ops_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	a->attr_ttl_ms = 1; /* content that changes by itself: the kernel asks again */
	a->mtime_ms = a->ctime_ms = ns_wall_ms();
	a->mode = (a->mode & ~0777u) | (0444 & ~ns->o.umask);
	if (n->xk == X_ERRORS) {
		a->size = n->reported_size = errlog_size(ops_state(ns)->errlog);
		return;
	}
	status_snap(ns);
	a->size = n->reported_size = ops_state(ns)->snaplen;
}

static int ops_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		    char *err, size_t errn)
{
	(void)err, (void)errn;
	if (f->writable)
		return -EACCES;
	struct ops_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->h.kind = n->xk;
	h->ns = ns;
	if (n->xk == X_OPSTATUS) {
		struct ns_ops *o = ops_state(ns);
		status_snap(ns); /* on OOM the old one is read */
		if (!o->snap) {
			free(h);
			return -ENOMEM;
		}
		if (!(h->buf = malloc(o->snaplen))) {
			free(h);
			return -ENOMEM;
		}
		memcpy(h->buf, o->snap, o->snaplen);
		h->len = o->snaplen;
	}
	*size_changed = true; /* direct_io: reads are never clamped to an older size */
	f->ext = h;
	return 0;
}

static ssize_t ops_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err,
			size_t errn)
{
	(void)err, (void)errn;
	struct ops_handle *h = f->ext;
	if (h->h.kind == X_ERRORS)
		return errlog_read(ops_state(h->ns)->errlog, buf, size, off);
	if ((uint64_t)off >= h->len)
		return 0;
	size_t n = h->len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(buf, h->buf + off, n);
	return (ssize_t)n;
}

static void ops_release(struct ns_file *f)
{
	struct ops_handle *h = f->ext;
	free(h->buf);
	free(h);
	f->ext = NULL;
}

static int ops_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)ns, (void)d, (void)n;
	errmsg_set(err, errn, "the operations files cannot be removed");
	return -EPERM;
}

/* .status.json and .errors: hidden files at the root, read-only. */
const struct ns_kind ns_ops_kind = {
	.name = "ops",
	.root_kids = ops_add_root_kids,
	.free = ops_free,
	.fresh = ext_fresh_none,
	.listed = ext_fresh_none,
	.fill_attr = ops_fill_attr,
	.xattr = ext_xattr_error,
	.open = ops_open,
	.read = ops_read,
	.write = ext_no_write,
	.release = ops_release,
	.flush = ext_flush_none,
	.truncate = ext_no_truncate,
	.create = ext_no_create,
	.unlink = ops_unlink,
	.rmdir = ext_no_rmdir,
	.rename = ext_no_rename,
	.attrs_need_fetch = ext_attrs_known,
};

/* ---- paths and failure reports (ns.h) ---- */

int ns_path(struct ns *ns, uint64_t ino, const char *name, char *buf, size_t len)
{
	int rc = 0;
	if (!len)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&ns->lock);
	struct node *n = ns_node(ns, ino);
	int l = n ? node_path(n, buf, len) : -1;
	if (!n)
		rc = -ENOENT;
	else if (l < 0)
		rc = -ENAMETOOLONG;
	else if (name && snprintf(buf + l, len - (size_t)l, "%s%s", l ? "/" : "", name) < 0)
		rc = -EINVAL;
	pthread_mutex_unlock(&ns->lock);
	if (rc)
		snprintf(buf, len, "inode %llu%s%s", (unsigned long long)ino, name ? "/" : "",
			 name ? name : "");
	return rc;
}

static bool is_change(const char *op)
{
	static const char *const reads[] = { "lookup", "getattr", "open", "opendir", "read",
					     "readdir", "getxattr", "listxattr", "statfs" };
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		if (!strcmp(op, reads[i]))
			return false;
	return true;
}

void ns_report_failure(struct ns *ns, const char *op, uint64_t ino, const char *name, int rc,
		       const char *err)
{
	char path[1024];
	int e = rc < 0 ? -rc : rc;
	/* a missing name is an answer, not a failure; but a raw request's read
	 * (the api file) reports what the tenant said, 404 included */
	if ((e == ENOENT || e == ENODATA || e == ERANGE) && strcmp(op, "read"))
		return;
	ns_path(ns, ino, name, path, sizeof(path));
	const char *why = err && err[0] ? err : "failed";
	log_warn("%s %s: %s (%s)", op, path[0] ? path : ".", why, strerror(e));
	struct ns_ops *o = ops_state(ns);
	if (is_change(op) && o)
		errlog_add(o->errlog, op, path, e, err && err[0] ? err : NULL);
}
