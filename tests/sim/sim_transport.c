/*
 * sim_transport.c - an in-process struct http_transport that hands requests
 * straight to the simulator model (no sockets), honouring the transport
 * contract of fs/http.h: no redirect following, max_body (-EFBIG), streaming
 * sinks, and injected transport faults surfacing as -ECONNRESET/-ETIMEDOUT.
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

static int st_perform(struct http_transport *tr, const struct http_request *req,
		      struct http_response *resp)
{
	struct sim_transport *st = (struct sim_transport *)tr;
	struct http_response r;
	int rc = sim_handle(st->t, req, &r);
	memset(resp, 0, sizeof(*resp));
	if (rc)
		return rc;
	size_t max = req->max_body ? req->max_body : (64u << 20);
	if (req->sink) {
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
