/*
 * Layer client/: may include http/, util/ and cache/.
 *
 * qclient.h - the Qlik REST client: authentication header, retries with
 * backoff and Retry-After, redirects, error bodies -> errno + message,
 * pagination, and single-flight of identical concurrent GETs.
 *
 * Thread-safe.  Every call is bounded by the operation budget (timeout_ms):
 * no call blocks longer than that plus one backoff step, whatever the network
 * does, plus the time it spent waiting out 429 answers, which has its own
 * bound (ratelimit_wait_ms) when one is set.
 */
#ifndef QLIKFS_QCLIENT_H
#define QLIKFS_QCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "client/auth.h"
#include "client/errmap.h"
#include "http/http.h"

struct qclient;

struct qclient_opts {
	const char *base;                 /* tenant base URL, e.g. "https://acme.us.qlikcloud.com" */
	struct http_transport *transport; /* not owned */
	struct qauth *auth;               /* not owned; NULL: no Authorization header */
	long timeout_ms;                  /* budget for one call, retries included (default 30 s) */
	int max_attempts;                 /* attempts for retryable failures (default 5) */
	/* Bound on the time one call spends waiting out 429 answers (Retry-After,
	 * or a tier blocked by another call's 429).  > 0: those waits do not
	 * count against timeout_ms, and 429 answers do not count against
	 * max_attempts (a rate limit slows a call, it does not fail it, until
	 * this bound is reached).  0: the waits come out of timeout_ms and each
	 * 429 is an attempt. */
	long ratelimit_wait_ms;
	const char *api_version;          /* value of qlik-api-version, or NULL to omit */
	const char *user_agent;
	/* The clock of deadlines, backoff and rate-limit tiers, and the sleep of
	 * waits (NULL: util/clock.h's): tests of backoff inject a fake pair and
	 * run without sleeping.  Waits on another caller's request use the real
	 * clock (a condition variable cannot be faked). */
	int64_t (*now_ms)(void);
	void (*sleep_ms)(int64_t ms);
	/* A dry run (-o dry_run): a request that would change the tenant (any
	 * method but GET and HEAD; a POST .../export is a read) is not sent:
	 * dry_record (may be NULL) gets it, and the call fails with -EROFS. */
	bool dry_run;
	void (*dry_record)(void *arg, const char *method, const char *url, const char *body,
			   size_t len);
	void *dry_arg;
};

/* Returns a client or NULL on OOM.  Strings in opts are copied. */
struct qclient *qclient_new(const struct qclient_opts *opts);
void qclient_free(struct qclient *c);
const char *qclient_base(const struct qclient *c);

struct qcall {
	const char *method;
	const char *url;          /* absolute (from url_*) or a path starting with '/' */
	const char *body;         /* may be NULL */
	size_t body_len;
	/* A streaming body instead of body (body must then be NULL).  Its reads
	 * are positional, so a retry sends it again from offset 0. */
	const struct http_body_source *source;
	const char *content_type; /* default "application/json" (body) or
				     "application/octet-stream" (source) */
	enum qop op;              /* for errno mapping */
	bool idempotent;          /* retry 5xx and network errors (GET/PUT/DELETE are by default) */
	bool no_redirect;         /* return 3xx instead of following */
	http_sink_fn sink;        /* stream a 2xx body instead of buffering it (error
				     bodies are still buffered, for the message) */
	void *sink_arg;
	/* Makes a sink restartable: called before every attempt after the first
	 * (retry or redirect) so the sink can drop what it received; returns 0 or
	 * a negative errno (the call then fails with it).  Without it, a call
	 * with a sink is not retried after a network failure. */
	int (*sink_reset)(void *sink_arg);
	size_t max_body;

	/* Extra request headers (not owned).  They replace the client's own
	 * Accept, Content-Type, User-Agent and qlik-api-version when named so;
	 * a name qclient_header_allowed() refuses fails the call with -EINVAL. */
	const struct http_header *headers;
	size_t n_headers;
	bool want_headers;        /* copy the response headers into qresp */

	/* Per-call retry policy (0 / false: the client's). */
	long timeout_ms;          /* budget of this call, retries included */
	int max_attempts;         /* attempts in all (1 = no retry) */
	long retry_delay_ms;      /* > 0: wait this long before the first retry (no jitter)... */
	bool retry_fixed;         /* ...and the same before every retry (else doubling) */
	bool retry_all;           /* retry every failure: any status >= 400 and every
				     network failure, whatever the method */
};

struct qresp {
	long status;      /* last HTTP status, 0 when none was received */
	char *body;       /* owned, NUL-terminated, may be NULL */
	size_t body_len;
	cJSON *json;      /* the parsed body when it was JSON, else NULL (owned) */
	char *location;   /* absolute Location header, or NULL (owned) */
	struct http_header *headers; /* with call->want_headers: the last response's (owned) */
	size_t n_headers;
	int attempts;     /* HTTP requests this call sent (retries and redirects included) */
	int64_t server_date_ms; /* the last response's Date header (the tenant's clock, whole
				 * seconds) in ms since the epoch; 0 when absent or unparsable */
	char errmsg[512]; /* on failure: what went wrong, with the server's error text */
};

/* Performs call.  Returns 0 on a 2xx (out filled) or a negative errno with
 * out->errmsg set ("GET /api/v1/x: 404 Not found: ...").  An HTTP error keeps
 * its status and body in out.  A failure of the call's own sink or source is
 * returned as that errno (e.g. -ENOSPC), not mapped to -EIO.  Never logs.
 * The caller releases out with qresp_clear() in both cases. */
int qclient_call(struct qclient *c, const struct qcall *call, struct qresp *out);
void qresp_clear(struct qresp *r);

/* False for request headers a caller may not set: the credentials
 * (Authorization, Cookie, Proxy-Authorization), and what the transport owns
 * (Host, Content-Length, Transfer-Encoding, Connection, Expect, TE, Trailer,
 * Upgrade, Keep-Alive).  Case-insensitive. */
bool qclient_header_allowed(const char *name);

/* GET url and parse JSON.  Returns 0 with *out (owned by the caller) or -errno
 * with errmsg filled (may be NULL). */
int qclient_get_json(struct qclient *c, const char *url, cJSON **out, char *errmsg, size_t n);

/* Walks every page of a list endpoint starting at url: calls fn for each
 * element of "data" (borrowed; fn may cJSON_DetachItem... no: fn must copy what
 * it keeps).  Follows links.next.href (cursor styles) and, for 0-based offset
 * pages without a next link, page+1 while page+1 < pages.  Returns the number
 * of elements seen, or -errno (fn's negative return stops the walk and is
 * returned).  *pages_out (may be NULL) receives the number of pages fetched. */
typedef int (*qlist_fn)(void *arg, const cJSON *item);
long qclient_list(struct qclient *c, const char *url, qlist_fn fn, void *arg, int *pages_out,
		  char *errmsg, size_t n);

/* When fn returns QLIST_STOP for the last element of a page, the walk ends
 * there: no further page is requested.  fn still sees every element of the
 * pages fetched, so it can check a sorted listing's order to the end of the
 * page, and take a stop back by returning 0 for a later element of the page.
 * (Listings sorted by update time stop at the first element older than what
 * they look for.) */
#define QLIST_STOP 1

struct qlist_info {
	int pages;             /* pages fetched */
	bool stopped;          /* QLIST_STOP left at least one page unfetched */
	int64_t first_date_ms; /* Date header of the first page (0 when absent); set
				* before fn sees the first element */
	long first_total, last_total; /* offset pages: "total" of the first and the last
				       * page fetched (-1 when absent); they differ when
				       * records came or went during the walk */
};

/* qclient_list() that also reports *info (may be NULL). */
long qclient_list_ex(struct qclient *c, const char *url, qlist_fn fn, void *arg,
		     struct qlist_info *info, char *errmsg, size_t n);

/* qclient_get_json() that also returns the response's Date header in *date_ms
 * (0 when absent). */
int qclient_get_json_date(struct qclient *c, const char *url, cJSON **out, int64_t *date_ms,
			  char *errmsg, size_t n);

struct qclient_stats {
	uint64_t requests;   /* HTTP requests sent */
	uint64_t retries;    /* of which retries */
	uint64_t shared;     /* GETs answered by another thread's identical in-flight GET */
	uint64_t rate_limited;
	uint64_t errors;     /* calls that failed */
};
void qclient_get_stats(struct qclient *c, struct qclient_stats *st);

/* Parses a Retry-After value (delta-seconds; HTTP-dates are treated as 1 s).
 * Returns milliseconds, at least 1000 and at most 600000. */
long qclient_retry_after_ms(const char *value);

/* The budget of one call (the mount's `timeout`): also the bound of every
 * wait on another caller's work done on the client's behalf. */
/* What a transport failure (-ETIMEDOUT, -ECONNREFUSED...) is called in messages. */
const char *qclient_transport_text(int err);

long qclient_timeout_ms(const struct qclient *c);

/* Copies the first Qlik error's "code", "title" and "detail" of an error body
 * into the buffers (empty strings when absent).  Pure; for unit tests too. */
void qclient_error_text(const char *body, char *code, size_t code_n, char *text, size_t text_n);

#endif
