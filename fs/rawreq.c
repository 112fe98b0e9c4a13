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
 * No state and no locks: a parsed struct rawreq is immutable.
 */
#include "rawreq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonfmt.h"
#include "multipart.h"
#include "url.h"

#define PATH_MAX_LEN 8192
#define MAX_QUERY 256
#define MAX_HEADERS 64
#define HEADER_VALUE_MAX 8192
#define LOCAL_PATH_MAX 4096
#define ERR_BODY_MAX ((size_t)1 << 20)
#define MAX_TIMEOUT_S 86400.0
#define MAX_RETRIES 100
#define MAX_DELAY_S 3600.0

struct qparam {
	char *k, *v;
};

struct part {
	char *name, *filename, *ctype;
	char *data; /* "text" / "json" */
	size_t len;
	char *file; /* "file" */
};

enum body_kind { BODY_NONE, BODY_MEM, BODY_FILE, BODY_MULTIPART };

struct rawreq {
	char method[8];
	char *path;
	struct qparam *q;
	size_t nq;
	struct http_header *h;
	size_t nh;
	enum body_kind body_kind;
	char *body; /* BODY_MEM: the bytes; BODY_FILE: the path */
	size_t body_len;
	const char *ctype; /* default Content-Type of the body (static) */
	struct part *parts;
	size_t nparts;
	enum rawreq_response resp;
	long timeout_ms;
	int max_attempts;
	long delay_ms;
	bool fixed, all, no_redirect;
};

static void msg(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msg(char *err, size_t n, const char *fmt, ...)
{
	if (!err || !n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

void rawreq_free(struct rawreq *rq)
{
	if (!rq)
		return;
	free(rq->path);
	for (size_t i = 0; i < rq->nq; i++) {
		free(rq->q[i].k);
		free(rq->q[i].v);
	}
	free(rq->q);
	for (size_t i = 0; i < rq->nh; i++) {
		free(rq->h[i].name);
		free(rq->h[i].value);
	}
	free(rq->h);
	free(rq->body);
	for (size_t i = 0; i < rq->nparts; i++) {
		free(rq->parts[i].name);
		free(rq->parts[i].filename);
		free(rq->parts[i].ctype);
		free(rq->parts[i].data);
		free(rq->parts[i].file);
	}
	free(rq->parts);
	free(rq);
}

enum rawreq_response rawreq_response_kind(const struct rawreq *rq)
{
	return rq->resp;
}

/* ------------------------------------------------------------ parsing */

/* A scalar query value as text (malloc'd), or NULL with *bad set. */
static char *scalar_text(const cJSON *v, bool *bad)
{
	char buf[64];
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == (double)(long long)d && d > -9007199254740992.0 && d < 9007199254740992.0)
			snprintf(buf, sizeof(buf), "%lld", (long long)d);
		else
			snprintf(buf, sizeof(buf), "%.17g", d);
		return strdup(buf);
	}
	*bad = true;
	return NULL;
}

/* A query value: scalar, or an array of scalars joined with ','. */
static char *query_text(const cJSON *v, bool *bad)
{
	if (!cJSON_IsArray(v))
		return scalar_text(v, bad);
	size_t len = 0, cap = 64;
	char *out = malloc(cap);
	const cJSON *e;
	if (!out)
		return NULL;
	out[0] = '\0';
	cJSON_ArrayForEach(e, v)
	{
		char *t = scalar_text(e, bad);
		if (!t) {
			free(out);
			return NULL;
		}
		size_t tl = strlen(t);
		if (len + tl + 2 > cap) {
			while (len + tl + 2 > cap)
				cap *= 2;
			char *nb = realloc(out, cap);
			if (!nb) {
				free(t);
				free(out);
				return NULL;
			}
			out = nb;
		}
		if (len)
			out[len++] = ',';
		memcpy(out + len, t, tl + 1);
		len += tl;
		free(t);
	}
	return out;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Checks an escaped path (or an absolute URL) syntactically. */
static int check_path(const char *p, char *err, size_t n)
{
	if (strlen(p) > PATH_MAX_LEN) {
		msg(err, n, "path: longer than %d bytes", PATH_MAX_LEN);
		return -EINVAL;
	}
	char host[256];
	const char *tail = p;
	if (!strncmp(p, "http://", 7) || !strncmp(p, "https://", 8)) {
		if (url_host(p, host, sizeof(host)) < 0) {
			msg(err, n, "path: \"%.100s\" is not a URL", p);
			return -EINVAL;
		}
		tail = strchr(strstr(p, "://") + 3, '/');
		if (!tail)
			tail = "/";
	}
	struct url_buf *u = url_new("http://check.invalid");
	int rc = url_raw(u, tail);
	url_free(u);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		msg(err, n, "path: \"%.100s\" must start with one '/' and be escaped as in a URL "
			    "(no spaces, '#', control or non-ASCII characters; %%XX escapes)", p);
		return -EINVAL;
	}
	return 0;
}

static int parse_query(struct rawreq *rq, const cJSON *o, char *err, size_t n)
{
	if (!cJSON_IsObject(o)) {
		msg(err, n, "query: must be an object {name: value}");
		return -EINVAL;
	}
	int cnt = cJSON_GetArraySize(o);
	if (cnt > MAX_QUERY) {
		msg(err, n, "query: more than %d parameters", MAX_QUERY);
		return -EINVAL;
	}
	rq->q = calloc((size_t)cnt + 1, sizeof(*rq->q));
	if (!rq->q)
		return -ENOMEM;
	const cJSON *v;
	cJSON_ArrayForEach(v, o)
	{
		if (cJSON_IsNull(v))
			continue;
		bool bad = false;
		char *t = query_text(v, &bad);
		if (!t || !v->string[0]) {
			free(t);
			if (!bad && v->string[0])
				return -ENOMEM;
			msg(err, n, "query: \"%.64s\": a value is a string, number, boolean or an "
				    "array of them", v->string);
			return -EINVAL;
		}
		rq->q[rq->nq].v = t;
		if (!(rq->q[rq->nq++].k = strdup(v->string)))
			return -ENOMEM;
	}
	return 0;
}

static int parse_headers(struct rawreq *rq, const cJSON *o, char *err, size_t n)
{
	if (!cJSON_IsObject(o)) {
		msg(err, n, "headers: must be an object {name: value}");
		return -EINVAL;
	}
	int cnt = cJSON_GetArraySize(o);
	if (cnt > MAX_HEADERS) {
		msg(err, n, "headers: more than %d", MAX_HEADERS);
		return -EINVAL;
	}
	rq->h = calloc((size_t)cnt + 1, sizeof(*rq->h));
	if (!rq->h)
		return -ENOMEM;
	const cJSON *v;
	cJSON_ArrayForEach(v, o)
	{
		const char *name = v->string;
		bool ok = name[0] && strlen(name) <= 256;
		for (const char *p = name; ok && *p; p++)
			ok = is_tchar(*p);
		if (!ok) {
			msg(err, n, "headers: \"%.64s\" is not a header name", name);
			return -EINVAL;
		}
		if (!qclient_header_allowed(name)) {
			msg(err, n, "headers: \"%s\" may not be set (the mount supplies the "
				    "credentials and the transport headers)", name);
			return -EINVAL;
		}
		bool bad = false;
		char *val = cJSON_IsString(v) || cJSON_IsNumber(v) ? scalar_text(v, &bad) : NULL;
		if (!val || strlen(val) > HEADER_VALUE_MAX || strpbrk(val, "\r\n")) {
			free(val);
			if (cJSON_IsString(v) || cJSON_IsNumber(v))
				msg(err, n, "headers: \"%s\": the value is too long or has CR/LF", name);
			else
				msg(err, n, "headers: \"%s\": the value must be a string", name);
			return -EINVAL;
		}
		rq->h[rq->nh].value = val;
		if (!(rq->h[rq->nh++].name = strdup(name)))
			return -ENOMEM;
	}
	return 0;
}

static char *dup_str_field(const cJSON *o, const char *k, bool *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v)
		return NULL;
	if (!cJSON_IsString(v)) {
		*bad = true;
		return NULL;
	}
	return strdup(v->valuestring);
}

static int parse_part(struct part *p, const cJSON *o, size_t i, char *err, size_t n)
{
	static const char *const known[] = { "name", "filename", "contentType", "text", "json",
					     "file" };
	const cJSON *f;
	if (!cJSON_IsObject(o)) {
		msg(err, n, "multipart[%zu]: must be an object", i);
		return -EINVAL;
	}
	cJSON_ArrayForEach(f, o)
	{
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= !strcmp(f->string, known[k]);
		if (!ok) {
			msg(err, n, "multipart[%zu]: unknown field \"%.64s\"", i, f->string);
			return -EINVAL;
		}
	}
	bool bad = false;
	p->name = dup_str_field(o, "name", &bad);
	p->filename = dup_str_field(o, "filename", &bad);
	p->ctype = dup_str_field(o, "contentType", &bad);
	p->file = dup_str_field(o, "file", &bad);
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
	const cJSON *json = cJSON_GetObjectItemCaseSensitive(o, "json");
	int kinds = !!text + !!json + !!p->file;
	if (bad || !p->name || !p->name[0] || kinds != 1 || (text && !cJSON_IsString(text)) ||
	    (p->file && (!p->file[0] || strlen(p->file) > LOCAL_PATH_MAX))) {
		msg(err, n, "multipart[%zu]: needs a \"name\" and exactly one of \"text\" (a "
			    "string), \"json\" or \"file\" (a path); strings only", i);
		return -EINVAL;
	}
	if (text) {
		p->data = strdup(text->valuestring);
		p->len = p->data ? strlen(p->data) : 0;
	} else if (json) {
		p->data = cJSON_PrintUnformatted(json);
		p->len = p->data ? strlen(p->data) : 0;
		if (p->data && !p->ctype)
			p->ctype = strdup("application/json");
	} else if (!p->filename) {
		const char *slash = strrchr(p->file, '/');
		p->filename = strdup(slash ? slash + 1 : p->file);
	}
	if ((text || json) && !p->data)
		return -ENOMEM;
	return 0;
}

static int parse_multipart(struct rawreq *rq, const cJSON *a, char *err, size_t n)
{
	int cnt = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
	if (cnt < 1 || cnt > MULTIPART_MAX_PARTS) {
		msg(err, n, "multipart: must be an array of 1 to %d parts", MULTIPART_MAX_PARTS);
		return -EINVAL;
	}
	rq->parts = calloc((size_t)cnt, sizeof(*rq->parts));
	if (!rq->parts)
		return -ENOMEM;
	const cJSON *o;
	cJSON_ArrayForEach(o, a)
	{
		int rc = parse_part(&rq->parts[rq->nparts], o, rq->nparts, err, n);
		rq->nparts++;
		if (rc)
			return rc;
	}
	return 0;
}

/* Seconds in [min, max] from a JSON number. */
static bool seconds(const cJSON *v, double min, double max, double *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max)
		return false;
	*out = v->valuedouble;
	return true;
}

static int set_body(struct rawreq *rq, enum body_kind k, char *err, size_t n)
{
	if (rq->body_kind != BODY_NONE) {
		msg(err, n, "only one of \"body\", \"bodyText\", \"bodyFile\" and \"multipart\"");
		return -EINVAL;
	}
	rq->body_kind = k;
	return 0;
}

/* One top-level field. */
static int parse_field(struct rawreq *rq, const cJSON *v, bool *backoff_only, char *err,
		       size_t n)
{
	const char *k = v->string;
	double d;
	int rc;
	if (!strcmp(k, "method")) {
		static const char *const m[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
		for (size_t i = 0; cJSON_IsString(v) && i < 5; i++)
			if (!strcasecmp(v->valuestring, m[i])) {
				snprintf(rq->method, sizeof(rq->method), "%s", m[i]);
				return 0;
			}
		msg(err, n, "method: one of GET, POST, PUT, PATCH, DELETE");
		return -EINVAL;
	}
	if (!strcmp(k, "path")) {
		if (!cJSON_IsString(v)) {
			msg(err, n, "path: must be a string such as \"/api/v1/spaces\"");
			return -EINVAL;
		}
		if ((rc = check_path(v->valuestring, err, n)))
			return rc;
		return (rq->path = strdup(v->valuestring)) ? 0 : -ENOMEM;
	}
	if (!strcmp(k, "query"))
		return parse_query(rq, v, err, n);
	if (!strcmp(k, "headers"))
		return parse_headers(rq, v, err, n);
	if (!strcmp(k, "body")) {
		if ((rc = set_body(rq, BODY_MEM, err, n)))
			return rc;
		rq->ctype = "application/json";
		rq->body = cJSON_PrintUnformatted(v);
		rq->body_len = rq->body ? strlen(rq->body) : 0;
		return rq->body ? 0 : -ENOMEM;
	}
	if (!strcmp(k, "bodyText") || !strcmp(k, "bodyFile")) {
		bool file = k[4] == 'F';
		if ((rc = set_body(rq, file ? BODY_FILE : BODY_MEM, err, n)))
			return rc;
		if (!cJSON_IsString(v) || (file && (!v->valuestring[0] ||
						    strlen(v->valuestring) > LOCAL_PATH_MAX))) {
			msg(err, n, "%s: must be a %s", k, file ? "file path" : "string");
			return -EINVAL;
		}
		rq->ctype = file ? "application/octet-stream" : "text/plain; charset=utf-8";
		rq->body = strdup(v->valuestring);
		rq->body_len = rq->body ? strlen(rq->body) : 0;
		return rq->body ? 0 : -ENOMEM;
	}
	if (!strcmp(k, "multipart")) {
		if ((rc = set_body(rq, BODY_MULTIPART, err, n)))
			return rc;
		return parse_multipart(rq, v, err, n);
	}
	if (!strcmp(k, "response")) {
		static const char *const r[] = { "json", "text", "binary" };
		for (int i = 0; cJSON_IsString(v) && i < 3; i++)
			if (!strcmp(v->valuestring, r[i])) {
				rq->resp = (enum rawreq_response)i;
				return 0;
			}
		msg(err, n, "response: one of \"json\", \"text\", \"binary\"");
		return -EINVAL;
	}
	if (!strcmp(k, "timeout")) {
		if (!seconds(v, 0.001, MAX_TIMEOUT_S, &d)) {
			msg(err, n, "timeout: seconds, more than 0 and at most %.0f", MAX_TIMEOUT_S);
			return -EINVAL;
		}
		rq->timeout_ms = (long)(d * 1000);
		return 0;
	}
	if (!strcmp(k, "retries")) {
		if (!seconds(v, 0, MAX_RETRIES, &d) || d != (int)d) {
			msg(err, n, "retries: an integer from 0 to %d", MAX_RETRIES);
			return -EINVAL;
		}
		rq->max_attempts = (int)d + 1;
		return 0;
	}
	if (!strcmp(k, "retryDelay")) {
		if (!seconds(v, 0, MAX_DELAY_S, &d)) {
			msg(err, n, "retryDelay: seconds from 0 to %.0f", MAX_DELAY_S);
			return -EINVAL;
		}
		rq->delay_ms = d * 1000 >= 1 ? (long)(d * 1000) : 1;
		*backoff_only = false;
		return 0;
	}
	if (!strcmp(k, "backoff")) {
		if (!cJSON_IsString(v) || (strcmp(v->valuestring, "fixed") &&
					   strcmp(v->valuestring, "exponential"))) {
			msg(err, n, "backoff: \"fixed\" or \"exponential\"");
			return -EINVAL;
		}
		rq->fixed = !strcmp(v->valuestring, "fixed");
		if (!rq->delay_ms)
			*backoff_only = true;
		return 0;
	}
	if (!strcmp(k, "retryOn")) {
		if (!cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "default") && strcmp(v->valuestring, "all"))) {
			msg(err, n, "retryOn: \"default\" or \"all\"");
			return -EINVAL;
		}
		rq->all = !strcmp(v->valuestring, "all");
		return 0;
	}
	if (!strcmp(k, "followRedirects")) {
		if (!cJSON_IsBool(v)) {
			msg(err, n, "followRedirects: true or false");
			return -EINVAL;
		}
		rq->no_redirect = cJSON_IsFalse(v);
		return 0;
	}
	msg(err, n, "unknown field \"%.64s\" (known: method, path, query, headers, body, "
		    "bodyText, bodyFile, multipart, response, timeout, retries, retryDelay, "
		    "backoff, retryOn, followRedirects)", k);
	return -EINVAL;
}

int rawreq_parse(const char *doc, size_t len, struct rawreq **out, char *err, size_t n)
{
	if (len > RAWREQ_DOC_MAX) {
		msg(err, n, "the request document is larger than %u KiB", RAWREQ_DOC_MAX >> 10);
		return -E2BIG;
	}
	cJSON *j = doc ? cJSON_ParseWithLength(doc, len) : NULL;
	if (!cJSON_IsObject(j)) {
		msg(err, n, "the request must be one JSON object, such as "
			    "{\"method\":\"GET\",\"path\":\"/api/v1/spaces\"}");
		cJSON_Delete(j);
		return -EINVAL;
	}
	struct rawreq *rq = calloc(1, sizeof(*rq));
	int rc = rq ? 0 : -ENOMEM;
	bool backoff_only = false;
	const cJSON *v, *fields = rq ? j : NULL;
	if (rq)
		snprintf(rq->method, sizeof(rq->method), "GET");
	cJSON_ArrayForEach(v, fields)
	{
		for (const cJSON *w = j->child; w != v; w = w->next)
			if (!strcmp(w->string, v->string)) {
				msg(err, n, "field \"%.64s\" given twice", v->string);
				rc = -EINVAL;
			}
		if (!rc)
			rc = parse_field(rq, v, &backoff_only, err, n);
		if (rc)
			break;
	}
	if (!rc && !rq->path) {
		msg(err, n, "path: required, such as \"/api/v1/spaces\"");
		rc = -EINVAL;
	}
	if (!rc && backoff_only)
		rq->delay_ms = 1000;
	cJSON_Delete(j);
	if (rc) {
		rawreq_free(rq);
		return rc;
	}
	*out = rq;
	return 0;
}

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
		msg(err, n, "%s: local files are not allowed here", what);
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
		msg(err, n, "%s: %.200s: %s", what, path, strerrordesc_np(-fd));
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
			msg(err, n, "multipart[%zu]: %s", i, strerrordesc_np(-rc));
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
			msg(err, n, "path: %.200s is not on the tenant (%s)", rq->path, base);
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
		msg(err, n, "the URL is longer than %d bytes", URL_MAX);
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

static char *base64(const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = '\0';
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
		msg(res->error, sizeof(res->error), "response file: %s", strerrordesc_np(-rc));
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
