/*
 * Layer http/: may include util/ only.
 *
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
 *  - The request body is either body/body_len (in memory) or, when source is
 *    set, exactly source->len bytes pulled from source->read (never held in
 *    memory whole by the libcurl transport).  A source that ends early or
 *    fails aborts the transfer: perform() returns -EIO or the source's errno.
 *  - When a sink is set, only the body of a 2xx response goes to the sink;
 *    the body of any other status (an error document, a redirect's text) is
 *    buffered in resp->body like an ordinary body, so the caller can read the
 *    server's error text and a retry never finds an error page in the sink.
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
#include <stdint.h>
#include <sys/types.h>

struct http_header {
	char *name;  /* response headers: lower-cased by the transport */
	char *value; /* without surrounding white space */
};

/* Optional streaming sink for response bodies.  Returns 0 to continue or a
 * negative errno to abort the transfer (perform() then returns that errno). */
typedef int (*http_sink_fn)(void *arg, const char *data, size_t len);

/*
 * Optional streaming request body.  read() copies up to n bytes of the body,
 * starting at byte offset off (0 <= off < len), into buf and returns how many
 * it copied (> 0), 0 when the data ended before len (the transport fails the
 * transfer with -EIO), or a negative errno (the transfer fails with it).
 * Reads are positional, so a body can be sent again from offset 0 (retries,
 * a connection that must be reopened) without any rewind protocol.  read()
 * may be called from the thread running perform() only; it must not block
 * indefinitely.
 */
typedef ssize_t (*http_source_fn)(void *arg, uint64_t off, char *buf, size_t n);

struct http_body_source {
	http_source_fn read;
	void *arg;
	uint64_t len; /* exact number of bytes the body has (sent as Content-Length) */
};

/* A body source reading len bytes of a file descriptor from byte offset base
 * with pread(2) (the file offset is never moved; the fd is borrowed, not
 * closed).  Initialise with http_fd_source_init(); pass &fs->src. */
struct http_fd_source {
	struct http_body_source src;
	int fd;
	uint64_t base;
};
void http_fd_source_init(struct http_fd_source *fs, int fd, uint64_t base, uint64_t len);

/* A response-body sink writing to an fd from offset 0 (fd not owned):
 * http_fd_sink_write is the sink, http_fd_sink_reset (truncate and start
 * over, for a retried download) its reset; arg is a struct http_fd_sink. */
struct http_fd_sink {
	int fd;
	uint64_t off; /* bytes written so far */
};
int http_fd_sink_write(void *arg, const char *data, size_t len);
int http_fd_sink_reset(void *arg);

struct http_request {
	const char *method;                /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *url;                   /* absolute URL, already escaped */
	const struct http_header *headers; /* request headers, not owned */
	size_t n_headers;
	const char *body; /* may be NULL when body_len == 0 */
	size_t body_len;
	const struct http_body_source *source; /* instead of body when set (body must be NULL) */
	long timeout_ms;   /* whole-request timeout; 0 = transport default */
	size_t max_body;   /* bound on a buffered response body; 0 = 64 MiB */
	http_sink_fn sink; /* when set, a 2xx body goes here and resp->body stays NULL */
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
