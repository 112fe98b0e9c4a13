/*
 * rawreq_parse.c - the request document of a raw request -> struct rawreq
 * (see rawreq.h for the document).  Every rule has its own message, naming
 * the field, so that a script's author sees what to fix.  Unknown and
 * repeated fields are refused (typos must not silently change a request).
 * Bounds: RAWREQ_DOC_MAX bytes, MAX_QUERY parameters, MAX_HEADERS headers,
 * MULTIPART_MAX_PARTS parts.  Pure: no I/O, no state, no locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions/multipart.h"
#include "actions/rawreq_internal.h"
#include "util/url.h"

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
		/* the range first: converting 1e300 to an integer is undefined */
		if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d)
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
		rawreq_msg(err, n, "path: longer than %d bytes", PATH_MAX_LEN);
		return -EINVAL;
	}
	char host[256];
	const char *tail = p;
	if (!strncmp(p, "http://", 7) || !strncmp(p, "https://", 8)) {
		if (url_host(p, host, sizeof(host)) < 0) {
			rawreq_msg(err, n, "path: \"%.100s\" is not a URL", p);
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
		rawreq_msg(err, n, "path: \"%.100s\" must start with one '/' and be escaped as in a URL "
			    "(no spaces, '#', control or non-ASCII characters; %%XX escapes)", p);
		return -EINVAL;
	}
	return 0;
}

static int parse_query(struct rawreq *rq, const cJSON *o, char *err, size_t n)
{
	if (!cJSON_IsObject(o)) {
		rawreq_msg(err, n, "query: must be an object {name: value}");
		return -EINVAL;
	}
	int cnt = cJSON_GetArraySize(o);
	if (cnt > MAX_QUERY) {
		rawreq_msg(err, n, "query: more than %d parameters", MAX_QUERY);
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
			rawreq_msg(err, n, "query: \"%.64s\": a value is a string, number, boolean or an "
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
		rawreq_msg(err, n, "headers: must be an object {name: value}");
		return -EINVAL;
	}
	int cnt = cJSON_GetArraySize(o);
	if (cnt > MAX_HEADERS) {
		rawreq_msg(err, n, "headers: more than %d", MAX_HEADERS);
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
			rawreq_msg(err, n, "headers: \"%.64s\" is not a header name", name);
			return -EINVAL;
		}
		if (!qclient_header_allowed(name)) {
			rawreq_msg(err, n, "headers: \"%s\" may not be set (the mount supplies the "
				    "credentials and the transport headers)", name);
			return -EINVAL;
		}
		bool bad = false;
		char *val = cJSON_IsString(v) || cJSON_IsNumber(v) ? scalar_text(v, &bad) : NULL;
		if (!val || strlen(val) > HEADER_VALUE_MAX || strpbrk(val, "\r\n")) {
			free(val);
			if (cJSON_IsString(v) || cJSON_IsNumber(v))
				rawreq_msg(err, n, "headers: \"%s\": the value is too long or has CR/LF", name);
			else
				rawreq_msg(err, n, "headers: \"%s\": the value must be a string", name);
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
		rawreq_msg(err, n, "multipart[%zu]: must be an object", i);
		return -EINVAL;
	}
	cJSON_ArrayForEach(f, o)
	{
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= !strcmp(f->string, known[k]);
		if (!ok) {
			rawreq_msg(err, n, "multipart[%zu]: unknown field \"%.64s\"", i, f->string);
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
		rawreq_msg(err, n, "multipart[%zu]: needs a \"name\" and exactly one of \"text\" (a "
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
		rawreq_msg(err, n, "multipart: must be an array of 1 to %d parts", MULTIPART_MAX_PARTS);
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
		rawreq_msg(err, n, "only one of \"body\", \"bodyText\", \"bodyFile\" and \"multipart\"");
		return -EINVAL;
	}
	rq->body_kind = k;
	return 0;
}

/* A field that gives the request's body: "body", "bodyText", "bodyFile" or
 * "multipart" (k). */
static int parse_body_field(struct rawreq *rq, const char *k, const cJSON *v, char *err,
			    size_t n)
{
	int rc;
	if (!strcmp(k, "body")) {
		if ((rc = set_body(rq, BODY_MEM, err, n)))
			return rc;
		rq->ctype = "application/json";
		rq->body = cJSON_PrintUnformatted(v);
		rq->body_len = rq->body ? strlen(rq->body) : 0;
		return rq->body ? 0 : -ENOMEM;
	}
	if (!strcmp(k, "multipart")) {
		if ((rc = set_body(rq, BODY_MULTIPART, err, n)))
			return rc;
		return parse_multipart(rq, v, err, n);
	}
	bool file = k[4] == 'F';
	if ((rc = set_body(rq, file ? BODY_FILE : BODY_MEM, err, n)))
		return rc;
	if (!cJSON_IsString(v) ||
	    (file && (!v->valuestring[0] || strlen(v->valuestring) > LOCAL_PATH_MAX))) {
		rawreq_msg(err, n, "%s: must be a %s", k, file ? "file path" : "string");
		return -EINVAL;
	}
	rq->ctype = file ? "application/octet-stream" : "text/plain; charset=utf-8";
	rq->body = strdup(v->valuestring);
	rq->body_len = rq->body ? strlen(rq->body) : 0;
	return rq->body ? 0 : -ENOMEM;
}

/* A field of the retry policy: "timeout", "retries", "retryDelay",
 * "backoff" or "retryOn" (k). */
static int parse_retry_field(struct rawreq *rq, const char *k, const cJSON *v,
			     bool *backoff_only, char *err, size_t n)
{
	double d;
	if (!strcmp(k, "timeout")) {
		if (!seconds(v, 0.001, MAX_TIMEOUT_S, &d)) {
			rawreq_msg(err, n, "timeout: seconds, more than 0 and at most %.0f", MAX_TIMEOUT_S);
			return -EINVAL;
		}
		rq->timeout_ms = (long)(d * 1000);
		return 0;
	}
	if (!strcmp(k, "retries")) {
		if (!seconds(v, 0, MAX_RETRIES, &d) || d != (int)d) {
			rawreq_msg(err, n, "retries: an integer from 0 to %d", MAX_RETRIES);
			return -EINVAL;
		}
		rq->max_attempts = (int)d + 1;
		return 0;
	}
	if (!strcmp(k, "retryDelay")) {
		if (!seconds(v, 0, MAX_DELAY_S, &d)) {
			rawreq_msg(err, n, "retryDelay: seconds from 0 to %.0f", MAX_DELAY_S);
			return -EINVAL;
		}
		rq->delay_ms = d * 1000 >= 1 ? (long)(d * 1000) : 1;
		*backoff_only = false;
		return 0;
	}
	if (!strcmp(k, "backoff")) {
		if (!cJSON_IsString(v) || (strcmp(v->valuestring, "fixed") &&
					   strcmp(v->valuestring, "exponential"))) {
			rawreq_msg(err, n, "backoff: \"fixed\" or \"exponential\"");
			return -EINVAL;
		}
		rq->fixed = !strcmp(v->valuestring, "fixed");
		if (!rq->delay_ms)
			*backoff_only = true;
		return 0;
	}
	if (!cJSON_IsString(v) ||
	    (strcmp(v->valuestring, "default") && strcmp(v->valuestring, "all"))) {
		rawreq_msg(err, n, "retryOn: \"default\" or \"all\"");
		return -EINVAL;
	}
	rq->all = !strcmp(v->valuestring, "all");
	return 0;
}

/* One top-level field. */
static int parse_field(struct rawreq *rq, const cJSON *v, bool *backoff_only, char *err,
		       size_t n)
{
	static const char *const body_fields[] = { "body", "bodyText", "bodyFile", "multipart" };
	static const char *const retry_fields[] = { "timeout", "retries", "retryDelay", "backoff",
						    "retryOn" };
	const char *k = v->string;
	int rc;
	for (size_t i = 0; i < sizeof(body_fields) / sizeof(body_fields[0]); i++)
		if (!strcmp(k, body_fields[i]))
			return parse_body_field(rq, k, v, err, n);
	for (size_t i = 0; i < sizeof(retry_fields) / sizeof(retry_fields[0]); i++)
		if (!strcmp(k, retry_fields[i]))
			return parse_retry_field(rq, k, v, backoff_only, err, n);
	if (!strcmp(k, "method")) {
		static const char *const m[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
		for (size_t i = 0; cJSON_IsString(v) && i < 5; i++)
			if (!strcasecmp(v->valuestring, m[i])) {
				snprintf(rq->method, sizeof(rq->method), "%s", m[i]);
				return 0;
			}
		rawreq_msg(err, n, "method: one of GET, POST, PUT, PATCH, DELETE");
		return -EINVAL;
	}
	if (!strcmp(k, "path")) {
		if (!cJSON_IsString(v)) {
			rawreq_msg(err, n, "path: must be a string such as \"/api/v1/spaces\"");
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
	if (!strcmp(k, "response")) {
		static const char *const r[] = { "json", "text", "binary" };
		for (int i = 0; cJSON_IsString(v) && i < 3; i++)
			if (!strcmp(v->valuestring, r[i])) {
				rq->resp = (enum rawreq_response)i;
				return 0;
			}
		rawreq_msg(err, n, "response: one of \"json\", \"text\", \"binary\"");
		return -EINVAL;
	}
	if (!strcmp(k, "followRedirects")) {
		if (!cJSON_IsBool(v)) {
			rawreq_msg(err, n, "followRedirects: true or false");
			return -EINVAL;
		}
		rq->no_redirect = cJSON_IsFalse(v);
		return 0;
	}
	rawreq_msg(err, n, "unknown field \"%.64s\" (known: method, path, query, headers, body, "
		    "bodyText, bodyFile, multipart, response, timeout, retries, retryDelay, "
		    "backoff, retryOn, followRedirects)", k);
	return -EINVAL;
}

int rawreq_parse(const char *doc, size_t len, struct rawreq **out, char *err, size_t n)
{
	if (len > RAWREQ_DOC_MAX) {
		rawreq_msg(err, n, "the request document is larger than %u KiB", RAWREQ_DOC_MAX >> 10);
		return -E2BIG;
	}
	cJSON *j = doc ? cJSON_ParseWithLength(doc, len) : NULL;
	if (!cJSON_IsObject(j)) {
		rawreq_msg(err, n, "the request must be one JSON object, such as "
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
				rawreq_msg(err, n, "field \"%.64s\" given twice", v->string);
				rc = -EINVAL;
			}
		if (!rc)
			rc = parse_field(rq, v, &backoff_only, err, n);
		if (rc)
			break;
	}
	if (!rc && !rq->path) {
		rawreq_msg(err, n, "path: required, such as \"/api/v1/spaces\"");
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
