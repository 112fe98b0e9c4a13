/*
 * sim_reply.c - helpers every simulator handler uses: query parameter access,
 * limit validation, JSON/raw/empty replies, the per-API error envelopes of the
 * reference (section 3), and absolute link construction from the request's
 * scheme://host.
 *
 * Invariants: every reply replaces the previous body of c->resp; JSON replies
 * carry "application/json; charset=utf-8".  Locking: called with t->mu held
 * (reply_err draws trace ids from the tenant PRNG).
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *q_get(const struct sim_ctx *c, const char *k)
{
	for (int i = 0; i < c->nq; i++)
		if (strcmp(c->q[i].k, k) == 0)
			return c->q[i].v;
	return NULL;
}

bool q_bool(const struct sim_ctx *c, const char *k)
{
	const char *v = q_get(c, k);
	return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

int q_limit(struct sim_ctx *c, const char *k, long def, long min, long max, long *out)
{
	const char *v = q_get(c, k);
	*out = def;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max) {
		char *d = xasprintf("%s must be an integer between %ld and %ld", k, min, max);
		reply_err(c, 400, NULL, "Bad request", d);
		free(d);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int add_header(struct sim_ctx *c, const char *name, const char *value)
{
	return http_response_add_header(c->resp, name, value);
}

int reply_raw(struct sim_ctx *c, long status, const char *ctype, const void *data, size_t n)
{
	struct http_response *r = c->resp;
	r->status = status;
	free(r->body);
	r->body = malloc(n + 1);
	if (!r->body)
		return -ENOMEM;
	if (n)
		memcpy(r->body, data, n);
	r->body[n] = 0;
	r->body_len = n;
	if (ctype)
		return add_header(c, "Content-Type", ctype);
	return 0;
}

int reply_empty(struct sim_ctx *c, long status)
{
	c->resp->status = status;
	free(c->resp->body);
	c->resp->body = NULL;
	c->resp->body_len = 0;
	return 0;
}

int reply_json(struct sim_ctx *c, long status, cJSON *j)
{
	if (!j)
		return reply_empty(c, status);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		return -ENOMEM;
	struct http_response *r = c->resp;
	r->status = status;
	free(r->body);
	r->body = s;
	r->body_len = strlen(s);
	return add_header(c, "Content-Type", "application/json; charset=utf-8");
}

static const char *status_title(long st)
{
	switch (st) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 423: return "Locked";
	case 429: return "API rate limit reached.";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

static void trace_id(struct sim_tenant *t, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)rng_next(t),
		 (unsigned long long)rng_next(t));
}

int reply_err(struct sim_ctx *c, long status, const char *code, const char *title,
	      const char *detail)
{
	char codebuf[32], tid[33];
	const char *api = c->api ? c->api : "";
	if (!code) {
		snprintf(codebuf, sizeof(codebuf), "HTTP-%ld", status);
		code = codebuf;
	}
	if (!title)
		title = status_title(status);
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "errors");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, e);
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "title", title);
	if (detail)
		cJSON_AddStringToObject(e, "detail", detail);
	bool ds = !strcmp(api, "data-stores") || !strcmp(api, "data-assets") ||
		  !strcmp(api, "data-sets");
	if (!strcmp(api, "users")) {
		cJSON_AddNumberToObject(e, "status", (double)status);
	} else if (ds || !strcmp(api, "oauth")) {
		char st[16];
		snprintf(st, sizeof(st), "%ld", status);
		cJSON_AddStringToObject(e, "status", st);
	}
	if (ds || !strcmp(api, "users") || !strcmp(api, "spaces") || !strcmp(api, "temp-contents")) {
		trace_id(c->t, tid);
		cJSON_AddStringToObject(root, "traceId", tid);
	}
	return reply_json(c, status, root);
}

cJSON *parse_body(struct sim_ctx *c)
{
	if (!c->body || !c->body_len)
		return NULL;
	return cJSON_ParseWithLength(c->body, c->body_len);
}

char *abs_url(const char *base, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	if (!p)
		return NULL;
	char *r = xasprintf("%s%s", base, p);
	free(p);
	return r;
}

char *self_link(const struct sim_ctx *c)
{
	return link_with(c, NULL, NULL, NULL, NULL, NULL, NULL);
}

char *link_with(const struct sim_ctx *c, const char *drop1, const char *drop2, const char *k1,
		const char *v1, const char *k2, const char *v2)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs(c->base, f);
	fputs(c->raw_path, f);
	char sep = '?';
	for (int i = 0; i < c->nq; i++) {
		const char *k = c->q[i].k;
		if ((drop1 && !strcmp(k, drop1)) || (drop2 && !strcmp(k, drop2)) ||
		    (k1 && !strcmp(k, k1)) || (k2 && !strcmp(k, k2)))
			continue;
		fprintf(f, "%c%s", sep, c->q[i].raw);
		sep = '&';
	}
	const char *ks[2] = { k1, k2 }, *vs[2] = { v1, v2 };
	for (int i = 0; i < 2; i++) {
		if (!ks[i] || !vs[i])
			continue;
		char *e = url_encode(vs[i]);
		fprintf(f, "%c%s=%s", sep, ks[i], e ? e : "");
		free(e);
		sep = '&';
	}
	fclose(f);
	return buf;
}

