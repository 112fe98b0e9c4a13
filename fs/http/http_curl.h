/*
 * http_curl.h - the libcurl implementation of struct http_transport (http.h).
 *
 * Beyond the http.h contract, this transport:
 *  - never follows redirects and only speaks http and https;
 *  - always verifies TLS peers and host names (not configurable);
 *  - returns -EPROTO when the TLS handshake or certificate verification
 *    failed, -EHOSTUNREACH when the host name did not resolve, -EINVAL for a
 *    request it refuses to send (unknown method, NULL url, CR/LF or a colon
 *    in a header name, CR/LF in a header value), and the sink's own errno
 *    when the sink aborted the transfer;
 *  - sends no default Content-Type for bodies (set one in req->headers) and
 *    never sends "Expect: 100-continue";
 *  - overwrites *resp without reading it: pass a zeroed or cleared response.
 * perform() may be called from any number of threads at once.
 */
#ifndef QLIKFS_HTTP_CURL_H
#define QLIKFS_HTTP_CURL_H

#include "http/http.h"

struct http_curl_opts {
	long connect_timeout_ms; /* <= 0: 10 s */
	long default_timeout_ms; /* used when req->timeout_ms == 0; <= 0: 60 s */
	const char *user_agent;  /* copied; NULL: "qlikfs" */
	const char *ca_file;     /* copied; NULL: the system CA store */
};

/* Creates a transport (o may be NULL for the defaults).  Calls
 * curl_global_init() once per process (thread-safe).  Returns the transport,
 * owned by the caller and released with http_transport_free(), or NULL on
 * failure (OOM or libcurl initialisation failure).  No request may be in
 * flight when it is freed. */
struct http_transport *http_curl_new(const struct http_curl_opts *o);

#endif
