/*
 * sim_transport.c - an in-process struct http_transport that hands requests
 * straight to the simulator model (no sockets), honouring the transport
 * contract of fs/http.h: no redirect following, max_body (-EFBIG), streaming
 * sinks (2xx bodies only), streaming request bodies (read whole into memory
 * here: this is a test fake; bounded by SIM_MAX_BODY like the HTTP server),
 * and injected transport faults surfacing as -ECONNRESET/-ETIMEDOUT.
 *
 * Invariants: the tenant is borrowed, never freed here.  Locking: none of its
 * own; sim_handle() is thread-safe, so perform() may run on many threads.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sim_transport {
	struct http_transport base; /* must be first */
	struct sim_tenant *t;
};

/* Reads a streaming body whole (like a server receiving it).  Returns 0 with
 * *out (malloc'd), -EFBIG above SIM_MAX_BODY, -EIO when the source ends
 * early, or the source's errno. */
static int slurp_source(const struct http_body_source *src, char **out)
{
	if (src->len > SIM_MAX_BODY)
		return -EFBIG;
	char *b = malloc(src->len ? src->len : 1);
	if (!b)
		return -ENOMEM;
	uint64_t off = 0;
	while (off < src->len) {
		size_t want = src->len - off > 65536 ? 65536 : (size_t)(src->len - off);
		ssize_t r = src->read(src->arg, off, b + off, want);
		if (r <= 0 || (size_t)r > want) {
			free(b);
			return r < 0 ? (int)r : -EIO;
		}
		off += (uint64_t)r;
	}
	*out = b;
	return 0;
}

static int too_large(struct http_response *resp)
{
	static const char msg[] = "{\"errors\":[{\"code\":\"HTTP-413\",\"title\":\"Payload too large\"}]}";
	resp->status = 413;
	resp->body = strdup(msg);
	resp->body_len = resp->body ? strlen(msg) : 0;
	if (resp->body && http_response_add_header(resp, "Content-Type", "application/json") == 0)
		return 0;
	http_response_clear(resp);
	return -ENOMEM;
}

static int st_perform(struct http_transport *tr, const struct http_request *req,
		      struct http_response *resp)
{
	struct sim_transport *st = (struct sim_transport *)tr;
	struct http_response r;
	struct http_request copy;
	char *body = NULL;
	int rc;
	memset(resp, 0, sizeof(*resp));
	if (req->source) {
		rc = slurp_source(req->source, &body);
		if (rc == -EFBIG)
			return too_large(resp);
		if (rc)
			return rc;
		copy = *req;
		copy.source = NULL;
		copy.body = body;
		copy.body_len = (size_t)req->source->len;
		req = &copy;
	}
	rc = sim_handle(st->t, req, &r);
	free(body);
	if (rc)
		return rc;
	size_t max = req->max_body ? req->max_body : (64u << 20);
	if (req->sink && r.status >= 200 && r.status < 300) {
		if (r.body_len) {
			int src = req->sink(req->sink_arg, r.body, r.body_len);
			if (src) {
				http_response_clear(&r);
				return src;
			}
		}
		free(r.body);
		r.body = NULL;
		r.body_len = 0;
	} else if (r.body_len > max) {
		http_response_clear(&r);
		return -EFBIG;
	}
	*resp = r;
	return 0;
}

static void st_destroy(struct http_transport *tr)
{
	free(tr);
}

static const struct http_transport_ops sim_ops = {
	.perform = st_perform,
	.destroy = st_destroy,
};

struct http_transport *sim_transport_new(struct sim_tenant *t)
{
	struct sim_transport *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->base.ops = &sim_ops;
	st->t = t;
	return &st->base;
}
