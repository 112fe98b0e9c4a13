/*
 * rawreq.h - raw requests: any endpoint of the tenant, described by a JSON
 * document, sent with the mount's base URL and credentials and the
 * request's own retry policy, the answer written to a file descriptor.
 * Meant for a per-open control file (write a request, read the response on
 * the same descriptor, Plan 9 style), so a shell script can do:
 *
 *	exec 3<>/mnt/qlik/.raw
 *	echo '{"path":"/api/v1/spaces","query":{"limit":5}}' >&3
 *	cat <&3
 *
 * The request document (a JSON object; unknown fields are refused):
 *
 *   "method"      "GET" (default), "POST", "PUT", "PATCH" or "DELETE"
 *   "path"        required: "/api/v1/..." (any path of the tenant, escaped as
 *                 in a URL, may carry "?query"); an absolute URL is accepted
 *                 only with the tenant's own origin
 *   "query"       {name: value}; a value is a string, number, boolean or an
 *                 array of them (sent comma-joined, as the Qlik API expects);
 *                 null is skipped; names and values are escaped here
 *   "headers"     {name: string}; may replace Accept, Content-Type,
 *                 User-Agent, qlik-api-version; Authorization, Cookie, Host,
 *                 Content-Length, Transfer-Encoding, Connection, Expect... are
 *                 refused (the credentials are the mount's)
 *   the body, at most one of:
 *   "body"        any JSON value, sent as JSON (Content-Type application/json)
 *   "bodyText"    a string, sent as is (text/plain; charset=utf-8)
 *   "bodyFile"    a local file, streamed (application/octet-stream)
 *   "multipart"   [{"name", "filename"?, "contentType"?, and one of
 *                 "text": string | "json": any | "file": local path}]
 *                 sent as multipart/form-data (files streamed)
 *   "response"    "json" (default), "text" or "binary" (see below)
 *   "timeout"     seconds for the whole request, retries included
 *                 (default: the mount's -o timeout)
 *   "retries"     retries after the first attempt, 0..100 (default: the
 *                 mount's -o retries policy)
 *   "retryDelay"  seconds before the first retry (default: the mount's
 *                 backoff, 0.2 s doubling with jitter up to 5 s; 1 s when
 *                 only "backoff" is given)
 *   "backoff"     "exponential" (default: the delay doubles, up to 60 s) or
 *                 "fixed"
 *   "retryOn"     "default" (429 always, after Retry-After; 5xx and network
 *                 failures for GET/PUT/DELETE only) or "all" (every failure,
 *                 4xx included, whatever the method)
 *   "followRedirects"  true (default) or false
 *
 * Local files ("bodyFile", multipart "file") are opened through the
 * caller's opener (rawreq_opts.open_file), which decides whose files may be
 * read; without an opener they are refused.
 *
 * The response written to the descriptor:
 *  - "json": always one JSON document (jq style, final newline):
 *      {"status": 200, "ok": true, "attempts": 1,
 *       "headers": {"content-type": "...", ...},   (lower-case names)
 *       "body": <the body parsed as JSON>          (or "bodyText": "..." when
 *                                                   it is not JSON, or
 *                                                   "bodyBase64" when it is
 *                                                   not UTF-8; null if empty)
 *       "error": "..."}                            (when not 2xx or failed)
 *    A request that got no answer has "status": 0, "ok": false, "error" and
 *    "errno" ("EIO", "ETIMEDOUT"...).  A script tests .ok or .status.
 *  - "text" / "binary": exactly the body of a 2xx response ("text" adds a
 *    final newline when the body lacks one).  Any other outcome writes
 *    nothing and fails with the errno of the error table (ENOENT for 404,
 *    EACCES, EIO...), so that `cat <&3 >out || exit 1` does the right thing;
 *    the status and message are in struct rawreq_result.
 *
 * Thread-safe: a parsed request is immutable.  Nothing here logs.
 */
#ifndef QLIKFS_RAWREQ_H
#define QLIKFS_RAWREQ_H

#include <stddef.h>
#include <stdint.h>

#include "client/qclient.h"

#define RAWREQ_DOC_MAX (4u << 20)       /* bytes of a request document */
#define RAWREQ_JSON_MAX ((size_t)64 << 20) /* bytes of a body answered in "json" mode */

enum rawreq_response { RAWREQ_JSON, RAWREQ_TEXT, RAWREQ_BINARY };

struct rawreq_opts {
	/* Opens a local file for reading (returns an fd or -errno); NULL refuses
	 * "bodyFile" and multipart "file" with -EPERM.  The opener decides whose
	 * files may be read (e.g. only for the mount's owner); rawreq_open_local()
	 * opens any regular file the daemon can read. */
	int (*open_file)(void *arg, const char *path);
	void *open_arg;
};

struct rawreq;

/* Parses and checks a request document.  Returns 0 and *out (free with
 * rawreq_free()), or -EINVAL (-E2BIG above RAWREQ_DOC_MAX) with err saying
 * what is wrong ("path: ...", "unknown field \"x\"", ...).  Local files are
 * not opened yet. */
int rawreq_parse(const char *doc, size_t len, struct rawreq **out, char *err, size_t n);
void rawreq_free(struct rawreq *rq); /* NULL-safe */

enum rawreq_response rawreq_response_kind(const struct rawreq *rq);

struct rawreq_result {
	long status;             /* the last HTTP status, 0 when none was received */
	int attempts;            /* requests sent, retries and redirects included */
	uint64_t size;           /* bytes written to the descriptor */
	char content_type[128];  /* of the response, "" when none */
	char error[512];         /* when not 2xx or failed: what happened, with the tenant's text */
};

/*
 * Sends rq and writes the response into out_fd from offset 0 (out_fd is
 * truncated first; it must be a regular file opened for writing, e.g. an
 * O_TMPFILE).  res (never NULL) is filled in every case.
 * Returns 0 when the response was written: always in "json" mode (even for a
 * 404 or a network failure: the document says so), and for a 2xx answer in
 * "text"/"binary" mode.  Otherwise returns a negative errno: the mapped
 * error of the answer (-ENOENT, -EACCES, -EINVAL, -EIO...) in text/binary
 * mode, -EPERM or the opener's errno for a local file, or the errno of
 * writing out_fd (-ENOSPC...).
 */
int rawreq_perform(struct qclient *qc, const struct rawreq *rq, const struct rawreq_opts *o,
		   int out_fd, struct rawreq_result *res);

/* Writes {"status":0,"ok":false,"error":msg} (jq style) into fd from offset
 * 0, truncating it: the answer to a document rawreq_parse() refused, in the
 * default "json" mode.  Returns 0 or -errno. */
int rawreq_write_error(int fd, const char *msg);

/* An opener for rawreq_opts: open(path, O_RDONLY) of a regular file.
 * arg is unused.  Returns the fd or -errno (-EINVAL for a non-regular file). */
int rawreq_open_local(void *arg, const char *path);

#endif
