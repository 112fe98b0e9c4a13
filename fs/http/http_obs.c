/*
 * http_obs.c - see http_obs.h.  Stateless apart from the inner transport:
 * the counters live in opstats.c.  Request bodies from a source and
 * response bodies to a sink are counted as they move, so that a long
 * transfer shows its progress in the status file.
 */
#include "http/http_obs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/log.h"
#include "util/opstats.h"
#include "util/clock.h"
#include "util/url.h"

struct obs {
	struct http_transport base;
	struct http_transport *inner;
};

/* The wrapped sink and source of one request. */
struct obs_io {
	const struct http_request *req;
	struct http_body_source src;
	uint64_t sunk, read;
};

static bool secret_name(const char *name, size_t len)
{
	static const char *const words[] = { "token", "secret", "key",	      "pass",
					     "sig",   "code",	"credential", "auth",
					     "session", "jwt",	"cookie" };
	char buf[64];
	if (len >= sizeof(buf))
		return true; /* an odd name: keep its value out */
	memcpy(buf, name, len);
	buf[len] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(buf, words[i]))
			return true;
	return false;
}

void http_obs_redact(const char *url, char *out, size_t n)
{
	const char *p = url_tail(url);
	size_t o = 0;
	if (!n)
		return;
	size_t end = strcspn(p, "#");
	size_t q = strcspn(p, "?#");
#define PUT(s, l)                                            \
	do {                                                 \
		size_t l_ = (l) < n - 1 - o ? (l) : n - 1 - o; \
		memcpy(out + o, (s), l_);                    \
		o += l_;                                     \
	} while (0)
	PUT(p, q);
	for (size_t i = q; i < end;) {
		/* i is at '?' or '&': copy it, the name, '=', and the value or REDACTED */
		PUT(p + i, 1);
		i++;
		size_t plen = strcspn(p + i, "&#");
		if (i + plen > end)
			plen = end - i;
		size_t nlen = strcspn(p + i, "=&#");
		if (nlen > plen)
			nlen = plen;
		PUT(p + i, nlen);
		if (nlen < plen) {
			PUT("=", 1);
			if (secret_name(p + i, nlen))
				PUT("REDACTED", 8);
			else
				PUT(p + i + nlen + 1, plen - nlen - 1);
		}
		i += plen;
	}
#undef PUT
	out[o] = '\0';
}

static int obs_sink(void *arg, const char *data, size_t len)
{
	struct obs_io *io = arg;
	io->sunk += len;
	opstats_op_bytes(0, len);
	return io->req->sink(io->req->sink_arg, data, len);
}

static ssize_t obs_read(void *arg, uint64_t off, char *buf, size_t n)
{
	struct obs_io *io = arg;
	ssize_t r = io->req->source->read(io->req->source->arg, off, buf, n);
	if (r > 0) {
		io->read += (uint64_t)r;
		opstats_op_bytes((uint64_t)r, 0);
	}
	return r;
}

static int obs_perform(struct http_transport *t, const struct http_request *req,
		       struct http_response *resp)
{
	struct obs *o = (struct obs *)t;
	struct obs_io io = { .req = req };
	struct http_request r = *req;
	int retry = opstats_take_retry();
	if (req->sink) {
		r.sink = obs_sink;
		r.sink_arg = &io;
	}
	if (req->source) {
		io.src = (struct http_body_source){ obs_read, &io, req->source->len };
		r.source = &io.src;
	}
	int64_t t0 = clock_mono_ms();
	int rc = http_perform(o->inner, &r, resp);
	struct opstats_http ev = {
		.method = req->method, .status = rc ? 0 : resp->status, .rc = rc,
		.sent = req->source ? io.read : req->body_len,
		.received = io.sunk + (rc ? 0 : resp->body_len),
		.ms = clock_mono_ms() - t0, .retry = retry,
	};
	opstats_op_bytes(req->source ? 0 : req->body_len, rc ? 0 : resp->body_len);
	opstats_http(&ev);
	if (log_enabled(LOG_LVL_TRACE)) {
		char path[1024];
		http_obs_redact(req->url, path, sizeof(path));
		if (rc)
			log_trace("http %s %s status=- error=\"%s\" sent=%llu received=%llu ms=%lld "
				  "retry=%d", req->method, path, strerror(-rc),
				  (unsigned long long)ev.sent, (unsigned long long)ev.received,
				  (long long)ev.ms, retry);
		else
			log_trace("http %s %s status=%ld sent=%llu received=%llu ms=%lld retry=%d",
				  req->method, path, ev.status, (unsigned long long)ev.sent,
				  (unsigned long long)ev.received, (long long)ev.ms, retry);
	}
	return rc;
}

static void obs_destroy(struct http_transport *t)
{
	struct obs *o = (struct obs *)t;
	http_transport_free(o->inner);
	free(o);
}

static const struct http_transport_ops obs_ops = { obs_perform, obs_destroy };

struct http_transport *http_obs_new(struct http_transport *inner)
{
	struct obs *o = calloc(1, sizeof(*o));
	if (!o) {
		http_transport_free(inner);
		return NULL;
	}
	o->base.ops = &obs_ops;
	o->inner = inner;
	return &o->base;
}
