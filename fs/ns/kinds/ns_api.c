/*
 * ns_api.c - the raw-request control file, `api` at the root (docs/SEMANTICS.md "Raw
 * requests: api"): any endpoint of the tenant with the mount's base URL and
 * credentials, Plan 9 style.  Each open is a session of its own:
 *
 *   - writes append to the session's request document (offsets are ignored:
 *     the file is a stream);
 *   - the first read after writes performs the request (rawreq.c) into an
 *     unlinked file in the mount's temporary directory (that of uploads:
 *     <cache dir>/tmp), and reads then return the answer from the session's
 *     own cursor; at its end they return 0 (EOF);
 *   - a write after the answer starts the next request on the same session;
 *   - a read with nothing written returns EOF (`cat api` prints nothing).
 *
 * A request that fails in the "text" or "binary" response modes (and a
 * document that cannot be parsed, when it asks for those modes) makes the
 * next read fail with the errno of the failure, once; the explanation goes
 * to the boundary's log.  In the default "json" mode every outcome is an
 * answer document ("ok", "status", "error"...), so reads succeed.
 *
 * Local files ("bodyFile", multipart "file"): absolute paths only, and only
 * for requests from a process running as the user qlikfs runs as (or root),
 * who could read them anyway; anyone else (a mount with allow_other) gets
 * EPERM in the answer, so the mount never reads files for other users.
 *
 * Locks: a session's mutex guards the session (two reads of one descriptor
 * are serialised); it is held across the request, which only that
 * descriptor waits for.  ns->lock is never taken here after the open.
 */
#include "ns/kinds/ns_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/errmap.h"
#include "actions/rawreq.h"

#define API_NAME "api"
enum { X_API = 1 }; /* its node's xk */

struct api_sess {
	struct xhandle h;
	struct ns *ns;
	pthread_mutex_t mu;
	char *doc; /* the request being written */
	size_t len, cap;
	bool answered;  /* the request was performed: reads return its answer */
	int fd;         /* the answer, or -1 */
	uint64_t cursor;
	int failed;     /* a failure the next read returns (negative errno), or 0 */
	char why[640];  /* ...and its explanation */
	uid_t caller;
};

static int api_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		    char *err, size_t errn)
{
	(void)n, (void)err, (void)errn;
	*size_changed = true;
	struct api_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->h.kind = X_API;
	s->ns = ns;
	s->fd = -1;
	s->caller = geteuid(); /* until the glue says who opened it */
	pthread_mutex_init(&s->mu, NULL);
	f->ext = s;
	return 0;
}

/* The glue opened f: with the caller's uid (ns_file_opened). */
static bool api_opened(struct ns_file *f, uid_t caller)
{
	struct api_sess *s = f->ext;
	if (!s)
		return false;
	pthread_mutex_lock(&s->mu);
	s->caller = caller;
	pthread_mutex_unlock(&s->mu);
	return true;
}

static void forget_answer(struct api_sess *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->cursor = 0;
	s->answered = false;
	s->failed = 0;
	s->len = 0;
}

static void api_release(struct ns_file *f)
{
	struct api_sess *s = f->ext;
	forget_answer(s);
	free(s->doc);
	pthread_mutex_destroy(&s->mu);
	free(s);
	f->ext = NULL;
}

/* a stream: every write appends to the request (offsets are ignored) */
static ssize_t api_write(struct ns_file *f, const char *data, size_t size, off_t off)
{
	(void)off;
	struct api_sess *s = f->ext;
	ssize_t rc = (ssize_t)size;
	pthread_mutex_lock(&s->mu);
	if (s->answered)
		forget_answer(s); /* the next request */
	if (size > RAWREQ_DOC_MAX - s->len) {
		rc = -EFBIG;
		goto out;
	}
	if (s->len + size > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + size)
			cap *= 2;
		char *d = realloc(s->doc, cap);
		if (!d) {
			rc = -ENOMEM;
			goto out;
		}
		s->doc = d;
		s->cap = cap;
	}
	memcpy(s->doc + s->len, data, size);
	s->len += size;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Opener of local files for rawreq (see the top of this file). */
static int open_local(void *arg, const char *path)
{
	const struct api_sess *s = arg;
	if (path[0] != '/')
		return -EINVAL;
	if (s->caller != 0 && s->caller != geteuid())
		return -EPERM;
	return rawreq_open_local(NULL, path);
}

/* Does an unparsable document still say it wants a raw ("text"/"binary")
 * answer?  Then its reader gets an error, not a JSON document. */
static bool wants_raw(const char *doc, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(doc, len);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "response");
	bool raw = cJSON_IsString(r) && (!strcmp(r->valuestring, "text") ||
					 !strcmp(r->valuestring, "binary"));
	cJSON_Delete(j);
	return raw;
}

static void fail(struct api_sess *s, int rc, const char *what)
{
	s->failed = rc;
	snprintf(s->why, sizeof(s->why), "api: %s", what);
}

/* Performs the written request; the answer (or the failure) stays in s. */
static void perform(struct api_sess *s)
{
	char why[512] = "";
	struct rawreq *rq = NULL;
	s->answered = true;
	int fd = upload_tmpfile(s->ns); /* an unlinked file in the mount's tmp dir */
	if (fd < 0) {
		snprintf(why, sizeof(why), "no room for the answer in %s: %s",
			 s->ns->o.tmp_dir ? s->ns->o.tmp_dir : "/var/tmp", strerror(-fd));
		fail(s, fd, why);
		return;
	}
	int rc = rawreq_parse(s->doc, s->len, &rq, why, sizeof(why));
	if (rc && rc != -ENOMEM && !wants_raw(s->doc, s->len)) {
		rc = rawreq_write_error(fd, why); /* answered in the default json form */
	} else if (!rc) {
		struct rawreq_opts o = { .open_file = open_local, .open_arg = s };
		struct rawreq_result res;
		rc = rawreq_perform(s->ns->o.client, rq, &o, fd, &res);
		if (rc)
			snprintf(why, sizeof(why), "%s", res.error[0] ? res.error : strerror(-rc));
		rawreq_free(rq);
	}
	if (rc) {
		close(fd);
		fail(s, rc, why[0] ? why : strerror(-rc));
		return;
	}
	s->fd = fd;
	s->cursor = 0;
}

/* a stream: offsets are ignored */
static ssize_t api_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err,
			size_t errn)
{
	(void)off;
	struct api_sess *s = f->ext;
	ssize_t n = 0;
	pthread_mutex_lock(&s->mu);
	if (!s->answered && s->len)
		perform(s);
	if (s->failed) {
		n = s->failed;
		s->failed = 0; /* returned (and logged) once */
		errmsg_set(err, errn, "%s", s->why);
	} else if (s->fd >= 0) {
		do
			n = pread(s->fd, buf, size, (off_t)s->cursor);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			n = -errno;
		else
			s->cursor += (uint64_t)n;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- the kind ---- */

/* api at the root, with a state directory (answers are spooled beside it) */
static void api_root_kids(struct ns *ns, struct node *root)
{
	if (!ns->o.state_dir || node_kid(root, API_NAME))
		return;
	struct node *api = node_new_of(ns, root, API_NAME, &ns_api_kind, false);
	if (api)
		api->pinned = true;
}

static void api_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	(void)ns;
	a->size = n->reported_size = 0;
}

static bool api_writable(const struct node *n)
{
	(void)n;
	return true;
}

/* `> api`: nothing to truncate, each open is a new session; a request is
 * performed at the first read, never at a close */
static int api_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	(void)ns, (void)n, (void)f, (void)size;
	return 0;
}

static int api_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)ns, (void)d, (void)n;
	errmsg_set(err, errn, "the raw-request control file cannot be removed");
	return -EPERM;
}

const struct ns_kind ns_api_kind = {
	.name = "api",
	.root_kids = api_root_kids,
	.fresh = ext_fresh_none,
	.listed = ext_fresh_none,
	.fill_attr = api_fill_attr,
	.writable = api_writable,
	.xattr = ext_xattr_error,
	.open = api_open,
	.read = api_read,
	.write = api_write,
	.release = api_release,
	.opened = api_opened,
	.flush = ext_flush_none,
	.truncate = api_truncate,
	.create = ext_no_create,
	.unlink = api_unlink,
	.rmdir = ext_no_rmdir,
	.rename = ext_no_rename,
	.attrs_need_fetch = ext_attrs_known,
};
