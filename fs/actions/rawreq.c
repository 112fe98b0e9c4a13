/*
 * rawreq.c - raw requests; see rawreq.h for the document and the response
 * formats.
 *
 * Responsibility: turn a JSON request document into one qclient call (the
 * tenant's base URL and credentials, the request's own headers, body and
 * retry policy), and the answer into the bytes a reader gets.  The URL is
 * built only through url.h (url_raw() for the user's escaped path,
 * url_query() for "query"), so a request can never leave the tenant's
 * origin; qclient refuses credential and transport headers.
 *
 * Memory: "json" answers are buffered (RAWREQ_JSON_MAX); "text"/"binary"
 * answers and file bodies stream (sink / pread), whatever their size.
 *
 * The document is parsed in rawreq_parse.c.  No state and no locks: a
 * parsed struct rawreq is immutable.
 */
#include "actions/rawreq.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/jsonfmt.h"
#include "actions/multipart.h"
#include "actions/rawreq_internal.h"
#include "util/url.h"

/* ------------------------------------------------------------ sending */

int rawreq_open_local(void *arg, const char *path)
{
	(void)arg;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* The local files opened for one perform(). */
struct files {
	int fds[MULTIPART_MAX_PARTS + 1];
	size_t n;
};

static int open_local(const struct rawreq_opts *o, struct files *fs, const char *what,
		      const char *path, uint64_t *size, char *err, size_t n)
{
	if (!o || !o->open_file) {
		rawreq_msg(err, n, "%s: local files are not allowed here", what);
		return -EPERM;
	}
	int fd = o->open_file(o->open_arg, path);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		fd = e;
	}
	if (fd < 0) {
		rawreq_msg(err, n, "%s: %.200s: %s", what, path, strerrordesc_np(-fd));
		return fd;
	}
	fs->fds[fs->n++] = fd;
	*size = (uint64_t)st.st_size;
	return fd;
}

static int build_multipart(const struct rawreq *rq, const struct rawreq_opts *o,
			   struct files *fs, struct multipart **out, char *err, size_t n)
{
	struct multipart *m = multipart_new();
	if (!m)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; !rc && i < rq->nparts; i++) {
		const struct part *p = &rq->parts[i];
		if (p->file) {
			uint64_t size;
			int fd = open_local(o, fs, "multipart", p->file, &size, err, n);
			rc = fd < 0 ? fd
				    : multipart_add_fd(m, p->name, p->filename,
						       p->ctype ? p->ctype : "application/octet-stream",
						       fd, size);
		} else {
			rc = multipart_add_data(m, p->name, p->filename, p->ctype, p->data, p->len);
		}
		if (rc && err && n && !err[0])
			rawreq_msg(err, n, "multipart[%zu]: %s", i, strerrordesc_np(-rc));
	}
	if (!rc)
		rc = multipart_finish(m);
	if (rc) {
		multipart_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

static char *build_url(struct qclient *qc, const struct rawreq *rq, char *err, size_t n)
{
	const char *base = qclient_base(qc), *tail = rq->path;
	if (!strncmp(tail, "http://", 7) || !strncmp(tail, "https://", 8)) {
		if (!url_same_origin(tail, base)) {
			rawreq_msg(err, n, "path: %.200s is not on the tenant (%s)", rq->path, base);
			return NULL;
		}
		tail = strchr(strstr(tail, "://") + 3, '/');
		if (!tail)
			tail = "/";
	}
	struct url_buf *u = url_new(base);
	url_raw(u, tail);
	for (size_t i = 0; i < rq->nq; i++)
		url_query(u, rq->q[i].k, rq->q[i].v);
	char *url = url_finish(u);
	if (!url)
		rawreq_msg(err, n, "the URL is longer than %d bytes", URL_MAX);
	return url;
}

static enum qop op_of(const char *m)
{
	if (!strcmp(m, "GET"))
		return QOP_READ;
	if (!strcmp(m, "POST"))
		return QOP_CREATE;
	if (!strcmp(m, "DELETE"))
		return QOP_DELETE;
	return QOP_UPDATE;
}

struct out {
	int fd;
	uint64_t off;
	char last;
};

static int out_sink(void *arg, const char *data, size_t len)
{
	struct out *o = arg;
	if (len)
		o->last = data[len - 1];
	while (len) {
		ssize_t w = pwrite(o->fd, data, len, (off_t)o->off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		o->off += (uint64_t)w;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

static int out_reset(void *arg)
{
	struct out *o = arg;
	o->off = 0;
	o->last = 0;
	return ftruncate(o->fd, 0) < 0 ? -errno : 0;
}

/* ---- the "json" envelope ---- */

/* UTF-8 without NUL (a JSON string can carry it as is). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		if (c == 0)
			return false;
		if (c < 0x80)
			k = 0;
		else if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		if (k > n - i - 1)
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

/* Standard base64 with padding (OpenSSL's encoder); NULL on OOM or a body
 * too large for it. */
static char *base64(const unsigned char *s, size_t n)
{
	if (n > (size_t)INT_MAX / 4 * 3 - 3)
		return NULL;
	char *out = malloc((n + 2) / 3 * 4 + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, s, (int)n);
	return out;
}

static bool add_headers(cJSON *env, const struct qresp *r)
{
	cJSON *h = cJSON_AddObjectToObject(env, "headers");
	for (size_t i = 0; h && i < r->n_headers; i++) {
		const char *name = r->headers[i].name, *val = r->headers[i].value;
		cJSON *old = cJSON_GetObjectItemCaseSensitive(h, name);
		if (cJSON_IsString(old)) { /* repeated: joined as HTTP allows */
			char *j = NULL;
			if (asprintf(&j, "%s, %s", old->valuestring, val) < 0)
				return false;
			cJSON *nv = cJSON_CreateString(j);
			free(j);
			if (!nv)
				return false;
			cJSON_ReplaceItemInObjectCaseSensitive(h, name, nv);
		} else if (!cJSON_AddStringToObject(h, name, val)) {
			return false;
		}
	}
	return h != NULL;
}

static bool add_body(cJSON *env, const struct qresp *r)
{
	if (!r->body || !r->body_len)
		return cJSON_AddNullToObject(env, "body") != NULL;
	cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
	if (j) {
		cJSON_AddItemToObject(env, "body", j);
		return true;
	}
	if (valid_utf8((const unsigned char *)r->body, r->body_len))
		return cJSON_AddStringToObject(env, "bodyText", r->body) != NULL;
	char *b = base64((const unsigned char *)r->body, r->body_len);
	bool ok = b && cJSON_AddStringToObject(env, "bodyBase64", b);
	free(b);
	return ok;
}

/* Writes the whole of text into fd at offset 0, after truncating it. */
static int write_doc(int fd, const char *text, size_t len, uint64_t *size)
{
	struct out o = { .fd = fd };
	int rc = out_reset(&o);
	if (!rc)
		rc = out_sink(&o, text, len);
	if (!rc && size)
		*size = o.off;
	return rc;
}

static int write_envelope(int fd, int rc, const struct qresp *r, const char *error,
			  struct rawreq_result *res)
{
	cJSON *env = cJSON_CreateObject();
	bool ok = env && cJSON_AddNumberToObject(env, "status", (double)r->status) &&
		  cJSON_AddBoolToObject(env, "ok", rc == 0) &&
		  cJSON_AddNumberToObject(env, "attempts", r->attempts);
	if (ok && r->status)
		ok = add_headers(env, r) && add_body(env, r);
	if (ok && rc) {
		ok = cJSON_AddStringToObject(env, "error", error) != NULL;
		const char *name = strerrorname_np(-rc);
		if (ok && name)
			ok = cJSON_AddStringToObject(env, "errno", name) != NULL;
	}
	size_t len = 0;
	char *text = ok ? jsonfmt_pretty(env, &len) : NULL;
	cJSON_Delete(env);
	if (!text)
		return -ENOMEM;
	int wrc = write_doc(fd, text, len, &res->size);
	free(text);
	return wrc;
}

int rawreq_write_error(int fd, const char *m)
{
	cJSON *env = cJSON_CreateObject();
	size_t len = 0;
	char *text = NULL;
	if (env && cJSON_AddNumberToObject(env, "status", 0) &&
	    cJSON_AddBoolToObject(env, "ok", false) &&
	    cJSON_AddStringToObject(env, "error", m ? m : ""))
		text = jsonfmt_pretty(env, &len);
	cJSON_Delete(env);
	if (!text)
		return -ENOMEM;
	int rc = write_doc(fd, text, len, NULL);
	free(text);
	return rc;
}

/* Prepares the body of the call; returns 0 or -errno with err set. */
static int prepare_body(const struct rawreq *rq, const struct rawreq_opts *o, struct qcall *call,
			struct files *fs, struct http_fd_source *fsrc, struct multipart **m,
			char *err, size_t n)
{
	uint64_t size;
	int fd;
	switch (rq->body_kind) {
	case BODY_NONE:
		return 0;
	case BODY_MEM:
		call->body = rq->body;
		call->body_len = rq->body_len;
		call->content_type = rq->ctype;
		return 0;
	case BODY_FILE:
		fd = open_local(o, fs, "bodyFile", rq->body, &size, err, n);
		if (fd < 0)
			return fd;
		http_fd_source_init(fsrc, fd, 0, size);
		call->source = &fsrc->src;
		call->content_type = rq->ctype;
		return 0;
	case BODY_MULTIPART:
		fd = build_multipart(rq, o, fs, m, err, n);
		if (fd < 0)
			return fd;
		call->source = multipart_source(*m);
		call->content_type = multipart_content_type(*m);
		return 0;
	}
	return -EINVAL;
}

int rawreq_perform(struct qclient *qc, const struct rawreq *rq, const struct rawreq_opts *o,
		   int out_fd, struct rawreq_result *res)
{
	memset(res, 0, sizeof(*res));
	struct files fs = { .n = 0 };
	struct http_fd_source fsrc;
	struct multipart *m = NULL;
	struct out out = { .fd = out_fd };
	struct qresp r;
	memset(&r, 0, sizeof(r));
	bool stream = rq->resp != RAWREQ_JSON;
	int rc = out_reset(&out);
	if (rc) {
		rawreq_msg(res->error, sizeof(res->error), "response file: %s", strerrordesc_np(-rc));
		return rc;
	}
	char *url = build_url(qc, rq, res->error, sizeof(res->error));
	if (!url)
		rc = -EINVAL;
	struct qcall call = {
		.method = rq->method,
		.url = url,
		.op = op_of(rq->method),
		.no_redirect = rq->no_redirect,
		.headers = rq->h,
		.n_headers = rq->nh,
		.want_headers = true,
		.timeout_ms = rq->timeout_ms,
		.max_attempts = rq->max_attempts,
		.retry_delay_ms = rq->delay_ms,
		.retry_fixed = rq->fixed,
		.retry_all = rq->all,
		.max_body = stream ? ERR_BODY_MAX : RAWREQ_JSON_MAX,
		.sink = stream ? out_sink : NULL,
		.sink_arg = &out,
		.sink_reset = stream ? out_reset : NULL,
	};
	if (!rc)
		rc = prepare_body(rq, o, &call, &fs, &fsrc, &m, res->error, sizeof(res->error));
	bool sent = !rc;
	if (sent) {
		rc = qclient_call(qc, &call, &r);
		res->status = r.status;
		res->attempts = r.attempts;
		for (size_t i = 0; i < r.n_headers; i++)
			if (!strcmp(r.headers[i].name, "content-type"))
				snprintf(res->content_type, sizeof(res->content_type), "%s",
					 r.headers[i].value);
		if (rc)
			snprintf(res->error, sizeof(res->error), "%s", r.errmsg);
	}
	if (!stream) {
		int wrc = write_envelope(out_fd, rc, &r, res->error, res);
		rc = wrc;
	} else if (rc) {
		out_reset(&out); /* nothing of a failed answer reaches the reader */
	} else if (rq->resp == RAWREQ_TEXT && out.off && out.last != '\n') {
		rc = out_sink(&out, "\n", 1);
	}
	if (stream && !rc)
		res->size = out.off;
	qresp_clear(&r);
	multipart_free(m);
	for (size_t i = 0; i < fs.n; i++)
		close(fs.fds[i]);
	free(url);
	return rc;
}
