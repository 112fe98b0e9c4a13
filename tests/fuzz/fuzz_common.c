/* fuzz_common.c - see fuzz_common.h. */
#include "fuzz_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

char *fz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

size_t fz_split(char *s, const char *sep, char **out, size_t max)
{
	size_t n = 0, l = strlen(sep);
	for (;;) {
		if (n < max)
			out[n] = s;
		n++;
		char *p = strstr(s, sep);
		if (!p)
			return n;
		*p = '\0';
		s = p + l;
	}
}

static int fz_perform(struct http_transport *base, const struct http_request *req,
		      struct http_response *resp)
{
	struct fz_transport *t = (struct fz_transport *)base;
	struct fz_request *v = realloc(t->req, (t->n_req + 1) * sizeof(*v));
	if (!v)
		abort();
	t->req = v;
	struct fz_request *r = &t->req[t->n_req++];
	r->method = strdup(req->method);
	r->url = strdup(req->url);
	r->body = NULL;
	r->body_len = 0;
	r->auth = false;
	for (size_t i = 0; i < req->n_headers; i++)
		if (!strcasecmp(req->headers[i].name, "Authorization"))
			r->auth = true;
	if (req->body) {
		r->body = fz_strndup((const uint8_t *)req->body, req->body_len);
		r->body_len = req->body_len;
	} else if (req->source) {
		/* read a streamed body whole, as a transport does */
		size_t len = (size_t)req->source->len;
		r->body = malloc(len + 1);
		size_t off = 0;
		while (r->body && off < len) {
			ssize_t got = req->source->read(req->source->arg, off, r->body + off,
							len - off);
			if (got <= 0)
				break;
			off += (size_t)got;
		}
		FZ_CHECK(off == len);
		r->body[len] = '\0';
		r->body_len = len;
	}
	memset(resp, 0, sizeof(*resp));
	if (t->next >= t->n_resp)
		return -ECONNRESET;
	fz_parse_response(t->resp[t->next++], resp);
	if (req->sink && resp->status >= 200 && resp->status < 300 && resp->body) {
		int rc = req->sink(req->sink_arg, resp->body, resp->body_len);
		free(resp->body);
		resp->body = NULL;
		resp->body_len = 0;
		if (rc < 0) {
			http_response_clear(resp);
			return rc;
		}
	}
	return 0;
}

static void fz_destroy(struct http_transport *t)
{
	(void)t;
}

static const struct http_transport_ops fz_ops = { fz_perform, fz_destroy };

void fz_transport_init(struct fz_transport *t, char **responses, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->base.ops = &fz_ops;
	t->resp = responses;
	t->n_resp = n;
}

void fz_transport_clear(struct fz_transport *t)
{
	for (size_t i = 0; i < t->n_req; i++) {
		free(t->req[i].method);
		free(t->req[i].url);
		free(t->req[i].body);
	}
	free(t->req);
	t->req = NULL;
	t->n_req = 0;
}

/* The end of the line starting at p (its '\n' or NUL), and the next line. */
static const char *line_end(const char *p, const char **next)
{
	const char *e = strchr(p, '\n');
	*next = e ? e + 1 : p + strlen(p);
	return e ? e : p + strlen(p);
}

void fz_parse_response(const char *text, struct http_response *resp)
{
	const char *p = text, *next;
	const char *e = line_end(p, &next);
	memset(resp, 0, sizeof(*resp));
	if (!strncmp(p, "HTTP/", 5)) {
		while (p < e && *p != ' ')
			p++;
	}
	resp->status = strtol(p, NULL, 10);
	if (resp->status < 0 || resp->status > 999)
		resp->status = 999;
	for (p = next; *p; p = next) {
		e = line_end(p, &next);
		const char *ve = e;
		if (ve > p && ve[-1] == '\r')
			ve--;
		if (ve == p) {
			p = next;
			break; /* blank line: the body follows */
		}
		const char *colon = memchr(p, ':', (size_t)(ve - p));
		if (!colon || colon == p)
			continue;
		char *name = strndup(p, (size_t)(colon - p));
		const char *vs = colon + 1;
		while (vs < ve && (*vs == ' ' || *vs == '\t'))
			vs++;
		char *value = strndup(vs, (size_t)(ve - vs));
		if (!name || !value || http_response_add_header(resp, name, value))
			abort();
		free(name);
		free(value);
	}
	size_t len = strlen(p);
	if (len) {
		resp->body = fz_strndup((const uint8_t *)p, len);
		resp->body_len = len;
	}
}

static int fz_header(struct qauth *a, char *buf, size_t n)
{
	(void)a;
	return snprintf(buf, n, "Bearer fuzz") < (int)n ? 0 : -ENOSPC;
}

static int fz_refresh(struct qauth *a, const char *used)
{
	(void)a;
	(void)used;
	return -EACCES;
}

static void fz_auth_destroy(struct qauth *a)
{
	(void)a;
}

static const struct qauth_ops fz_auth_ops = { fz_header, fz_refresh, fz_auth_destroy, NULL };
static struct qauth fz_auth_obj = { &fz_auth_ops };

struct qauth *fz_auth(void)
{
	return &fz_auth_obj;
}

struct qclient *fz_client(struct fz_transport *t)
{
	struct qclient_opts o = {
		.base = "https://tenant.example",
		.transport = &t->base,
		.auth = fz_auth(),
		.timeout_ms = 500,
		.max_attempts = 1,
		.user_agent = "qlikfs-fuzz",
	};
	return qclient_new(&o);
}
