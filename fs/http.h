/*
 * http.h - the HTTP transport interface.
 *
 * Everything above this interface (the Qlik client, the namespace) speaks to
 * the tenant only through struct http_transport.  Two implementations exist:
 * the libcurl transport (fs/http_curl.c) for real tenants and the bundled
 * simulator's HTTP server, and the in-process simulator transport
 * (tests/sim/sim_transport.c) used by tests that run without a kernel.
 *
 * Contract of perform():
 *  - Sends exactly one request.  Redirects are NOT followed: a 3xx is returned
 *    like any other status, so that the caller decides whether credentials may
 *    follow the redirect.
 *  - Returns 0 when a complete HTTP response (any status) was received and
 *    fills *resp; the caller owns resp and releases it with http_response_clear().
 *  - Returns -ETIMEDOUT when req->timeout_ms elapsed, -ECONNREFUSED when the
 *    peer refused the connection, -ECONNRESET when it dropped it,
 *    -EHOSTUNREACH when the host name does not resolve, -EPROTO when TLS
 *    verification failed, -EINVAL for a request it refuses to send (unknown
 *    method, CR/LF in a header), -EIO for any other transport failure,
 *    -ENOMEM, -EFBIG when the body exceeds req->max_body, or a sink's own
 *    negative errno.  On failure *resp is left empty (status 0, no body).
 *  - Must be callable from several threads at once.
 */
#ifndef QLIKFS_HTTP_H
#define QLIKFS_HTTP_H

#include <stddef.h>

struct http_header {
	char *name;  /* response headers: lower-cased by the transport */
	char *value; /* without surrounding white space */
};

/* Optional streaming sink for response bodies.  Returns 0 to continue or a
 * negative errno to abort the transfer (perform() then returns that errno). */
typedef int (*http_sink_fn)(void *arg, const char *data, size_t len);

struct http_request {
	const char *method;                /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *url;                   /* absolute URL, already escaped */
	const struct http_header *headers; /* request headers, not owned */
	size_t n_headers;
	const char *body; /* may be NULL when body_len == 0 */
	size_t body_len;
	long timeout_ms;   /* whole-request timeout; 0 = transport default */
	size_t max_body;   /* bound on a buffered response body; 0 = 64 MiB */
	http_sink_fn sink; /* when set, the body goes here and resp->body stays NULL */
	void *sink_arg;
};

struct http_response {
	long status;
	char *body; /* NUL-terminated (the NUL is not counted in body_len); may be NULL */
	size_t body_len;
	struct http_header *headers; /* owned */
	size_t n_headers;
};

struct http_transport;

struct http_transport_ops {
	int (*perform)(struct http_transport *t, const struct http_request *req,
		       struct http_response *resp);
	void (*destroy)(struct http_transport *t);
};

/* Implementations embed this as their first member. */
struct http_transport {
	const struct http_transport_ops *ops;
};

static inline int http_perform(struct http_transport *t, const struct http_request *req,
			       struct http_response *resp)
{
	return t->ops->perform(t, req, resp);
}

static inline void http_transport_free(struct http_transport *t)
{
	if (t)
		t->ops->destroy(t);
}

/* Case-insensitive header lookup; returns a borrowed pointer or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);

/* Appends a copy of name/value to resp->headers (name lower-cased).
 * Returns 0 or -ENOMEM.  Used by transports. */
int http_response_add_header(struct http_response *resp, const char *name, const char *value);

/* Frees everything resp owns and zeroes it.  Safe on a zeroed response. */
void http_response_clear(struct http_response *resp);

#endif
