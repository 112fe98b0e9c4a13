/*
 * url.h - the only place URLs are built or parsed.
 *
 * Building: a struct url_buf grows a URL from a base ("https://host") by
 * appending literal path pieces, escaped segments and escaped query
 * parameters.  Errors are sticky: the first failing append records its
 * errno, every later append is a no-op returning that errno, and
 * url_finish() returns NULL.  All appenders accept u == NULL (returning
 * -ENOMEM) so that a failed url_new() needs no separate check:
 *
 *	struct url_buf *u = url_new(base);
 *	url_path(u, "/api/v1/apps");
 *	url_seg(u, id);
 *	url_query(u, "limit", "100");
 *	char *url = url_finish(u);	// NULL on any failure
 *
 * Parsing: only "http" and "https" URLs with an authority ("//host") are
 * understood; hosts are compared case-insensitively.
 *
 * All functions are thread-safe; none uses locale or environment.
 */
#ifndef QLIKFS_URL_H
#define QLIKFS_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define URL_MAX 16384	     /* bytes of a built or resolved URL, excluding the NUL */
#define URL_ESCAPE_MAX 65536 /* bytes of input url_escape() accepts */

/* Percent-encodes s for use as one path segment or query component: keeps
 * RFC 3986 unreserved characters [A-Za-z0-9-._~] and writes every other
 * byte (including '/', '%', '?', '#', ' ', '+' and all bytes >= 0x80) as
 * "%XX" with upper-case hex.  Returns a malloc'd string the caller frees,
 * or NULL (s NULL, OOM, or s longer than URL_ESCAPE_MAX bytes). */
char *url_escape(const char *s);

struct url_buf; /* a growing URL, at most URL_MAX bytes */

/* Starts a URL at base (e.g. "https://acme.us.qlikcloud.com"); trailing
 * slashes are dropped.  Returns NULL only on OOM; a NULL, empty or too long
 * base, or one containing bytes <= 0x20 or >= 0x7F, gives a buffer whose
 * sticky error is -EINVAL. */
struct url_buf *url_new(const char *base);

/* Appends a literal path piece such as "/api/v1/spaces".  It must start with
 * '/', contain only [A-Za-z0-9-._~/:@!$&'()*+,;=] (no '%', '?', '#', spaces)
 * and come before any query parameter, else -EINVAL.  Returns 0,
 * -EINVAL, -ENAMETOOLONG (URL_MAX exceeded) or -ENOMEM. */
int url_path(struct url_buf *u, const char *literal);

/* Appends "/" + url_escape(segment).  segment must not be NULL, "", "." or
 * ".." (they would change the path's meaning: -EINVAL) and must come
 * before any query parameter.  Returns as url_path(). */
int url_seg(struct url_buf *u, const char *segment);

/* Appends a path that is already escaped, optionally followed by "?query"
 * (as a user types it: "/api/v1/items/a%20b?limit=5"): it must start with
 * '/' but not "//" (that would name another host), and contain only
 * [A-Za-z0-9-._~/:@!$&'()*+,;=], '?' and "%XX" escapes (no '#', spaces,
 * controls or bytes >= 0x80); it must come before any url_query(), which
 * then continues its query with '&'.  An empty trailing "?" is dropped.
 * Returns as url_path(). */
int url_raw(struct url_buf *u, const char *escaped);

/* Appends "?key=value" (first parameter) or "&key=value", both escaped.
 * value NULL appends nothing and returns 0 (unless an error is pending);
 * key must be non-empty.  Returns as url_path(). */
int url_query(struct url_buf *u, const char *key, const char *value);

/* url_query() with the decimal representation of v. */
int url_query_int(struct url_buf *u, const char *key, long long v);

/* Returns the URL (malloc'd, the caller frees) and frees u; returns NULL if
 * u is NULL or any earlier step failed.  Frees u either way. */
char *url_finish(struct url_buf *u);

/* Frees an unfinished url_buf.  NULL-safe. */
void url_free(struct url_buf *u);

/*
 * Parses a TENANT argument into a base URL "scheme://host[:port]" with a
 * lower-cased scheme and host, no trailing slash, and the port omitted when
 * it is the scheme's default (443 / 80):
 *   "acme.us.qlikcloud.com"          -> "https://acme.us.qlikcloud.com"
 *   "acme.us.qlikcloud.com:8443"     -> "https://acme.us.qlikcloud.com:8443"
 *   "https://Host:443/"              -> "https://host"
 *   "http://127.0.0.1:8080"          -> "http://127.0.0.1:8080"
 * Hostnames are dot-separated labels of [A-Za-z0-9-] (1..63 bytes, no
 * leading/trailing '-', no empty label, no trailing dot, <= 253 bytes);
 * IPv6 literals are written in brackets.  Ports are 1..65535.
 * Returns 0 and a malloc'd string in *base_out (the caller frees), or:
 *   -EINVAL  empty/NULL, scheme other than http/https, userinfo ('@'),
 *            white space, a path other than "/", a query or fragment, bad
 *            host or port;
 *   -EPERM   "http" with a host that is not loopback (localhost,
 *            127.0.0.0/8, [::1]);
 *   -ENOMEM.
 * *base_out is untouched on failure.
 */
int url_parse_tenant(const char *arg, char **base_out);

/*
 * Resolves a Location header value against the URL of the request that
 * produced it (RFC 3986 section 5.2: absolute URLs, "//host/path",
 * "/absolute/path", "relative/path", "?query"; dot segments are removed).
 * The fragment is dropped.  Returns a malloc'd URL (the caller frees) or
 * NULL: request_url not an absolute http(s) URL, location empty, either
 * containing bytes <= 0x20 or >= 0x7F, a scheme other than http/https,
 * result longer than URL_MAX, OOM.  The result may point to another origin;
 * check url_same_origin() before sending credentials there.
 */
char *url_resolve(const char *request_url, const char *location);

/* True when a and b are http(s) URLs with the same scheme, host and port
 * (scheme and host compared case-insensitively, default ports 80/443
 * implied).  Userinfo is ignored: "https://x@h/" has host "h".  False when
 * either does not parse. */
bool url_same_origin(const char *a, const char *b);

/* Copies the host of an http(s) URL, lower-cased, without port, userinfo or
 * IPv6 brackets ("https://[::1]:8/" -> "::1") into out.  Returns its length,
 * -EINVAL when url does not parse, -ENAMETOOLONG when it does not fit n
 * (out untouched on failure). */
ssize_t url_host(const char *url, char *out, size_t n);

/* Returns a copy of url (malloc'd) whose query parameter `key` is set to v:
 * an existing key=... is replaced, else it is appended.  key must already be
 * in escaped form.  NULL on OOM or when the result exceeds URL_MAX. */
char *url_set_query_int(const char *url, const char *key, long long v);

/* Checks that url can receive credentials: an absolute https URL, or http to
 * a loopback address (127.0.0.0/8, localhost, [::1]), with a host, no
 * userinfo, no fragment and no white space or control bytes.  Returns 0,
 * -EPERM (plain http to another host) or -EINVAL. */
int url_check_endpoint(const char *url);

/* The port of an http(s) URL, the scheme's default when absent; -EINVAL when
 * url does not parse. */
int url_port(const char *url);

/* True when url is an http(s) URL whose host is a loopback address. */
bool url_is_loopback(const char *url);

/* Finds key in the query of url (the part after '?', up to '#'; url may also
 * be a bare query "a=1&b=2") and percent-decodes its value ('+' is a space).
 * Returns 0 with a malloc'd value in *out, -ENOENT when absent, -EINVAL for a
 * bad escape or a decoded NUL, -ENOMEM.  *out untouched on failure. */
int url_query_get(const char *url, const char *key, char **out);

/* The path and query of an absolute URL ("/api/v1/x?y"; "/" when it has no
 * path), for messages and logs; a URL without a scheme is returned as is. */
const char *url_tail(const char *url);

#endif
