/*
 * qclient.c - the Qlik REST client over an http_transport.
 *
 * Retry policy (one place):
 *  - every call has a deadline: now + timeout_ms; each attempt gets the time
 *    that is left, so a dead or stalled network yields -EIO within the budget;
 *  - 429: wait Retry-After (and block the whole tier, reads or writes, for
 *    every thread until then, as Qlik does), for every method: a 429 means the
 *    request was not processed.  With a rate-limit bound (ratelimit_wait_ms)
 *    those waits move the deadline instead of eating the budget, and a 429 is
 *    not an attempt: the call gives up only when the next wait would pass the
 *    bound;
 *  - 5xx and transport failures: exponential backoff with full jitter, only
 *    for idempotent calls (GET, PUT, DELETE, or call->idempotent); a POST that
 *    may have reached the server is never repeated (a refused connection did
 *    not: it is retried for every method);
 *  - a call may bring its own policy (budget, attempts, fixed or doubling
 *    delay, retry on every error whatever the method: raw requests do);
 *  - a streaming body is re-read from offset 0 on a retry; a download sink is
 *    only retried after it received bytes when the call can reset it; the
 *    sink's and the source's own failures end the call with their errno;
 *  - 401: ask the auth provider once for a fresh credential, then retry once;
 *    when it has none, the provider's explanation (auth_why) ends the message
 *    (a client without a provider sends no credentials: the OAuth token
 *    endpoint's, oauth_token.c);
 *  - 3xx with Location: followed (at most 5 hops); the Authorization header is
 *    sent only when the target has the tenant's origin.
 *
 * Single flight (util/flight.h): identical concurrent GETs (same URL, no
 * sink) are sent once; the others wait on the flight, within their own
 * budget, and receive a copy of its result.
 *
 * Locks: c->lock guards the flight list, the tier deadlines and the stats.  It
 * is never held across a transport call or a sleep.
 */
#include "client/qclient.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/clock.h"
#include "util/flight.h"
#include "util/opstats.h"
#include "util/qtime.h"
#include "util/url.h"

#define BACKOFF_BASE_MS 200
#define BACKOFF_CAP_MS 5000
#define MAX_REDIRECTS 5
#define AUTH_HDR_MAX 8192
#define RETRY_DELAY_CAP_MS 60000 /* bound of a caller's doubling retry delay */
#define MAX_CALL_HEADERS 64
#define RL_MAX_HITS 10000 /* 429 answers one call rides out, whatever the bound */

struct qclient {
	char *base;
	struct http_transport *transport;
	struct qauth *auth;
	long timeout_ms;
	int max_attempts;
	long ratelimit_wait_ms; /* 0: 429 waits come out of the call's budget */
	bool dry_run;           /* requests that change the tenant are not sent */
	void (*dry_record)(void *arg, const char *method, const char *url, const char *body,
			   size_t len);
	void *dry_arg;
	char *api_version;
	char *user_agent;

	pthread_mutex_t lock;
	struct flight_set flights;   /* GUARDED_BY(lock): shared GETs by URL; a result is a
				      * struct qresp without json (each receiver parses its copy) */
	int64_t tier_until[2];       /* GUARDED_BY(lock): 0 = reads (GET), 1 = writes */
	int64_t (*now)(void);        /* the clock of deadlines, backoff and tiers (injectable) */
	void (*sleep)(int64_t ms);
	struct qclient_stats stats;  /* GUARDED_BY(lock) */
};

static unsigned jitter_rand(void)
{
	static __thread unsigned state;
	if (!state)
		state = (unsigned)clock_mono_ms() ^ (unsigned)(uintptr_t)&state;
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

/* Full jitter between half and all of min(cap, base * 2^attempt). */
static int64_t backoff_ms(int attempt)
{
	int64_t d = BACKOFF_BASE_MS;
	for (int i = 0; i < attempt && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	return d / 2 + (int64_t)(jitter_rand() % (unsigned)(d / 2 + 1));
}

/* A shared GET's result, left by its leader for the waiters. */
static void free_shared(void *result)
{
	qresp_clear(result);
	free(result);
}

struct qclient *qclient_new(const struct qclient_opts *o)
{
	struct qclient *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = strdup(o->base);
	c->api_version = o->api_version ? strdup(o->api_version) : NULL;
	c->user_agent = strdup(o->user_agent ? o->user_agent : "qlikfs/" QLIKFS_VERSION);
	c->transport = o->transport;
	c->auth = o->auth;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	c->now = o->now_ms ? o->now_ms : clock_mono_ms;
	c->sleep = o->sleep_ms ? o->sleep_ms : clock_sleep_ms;
	c->max_attempts = o->max_attempts > 0 ? o->max_attempts : 5;
	c->ratelimit_wait_ms = o->ratelimit_wait_ms > 0 ? o->ratelimit_wait_ms : 0;
	c->dry_run = o->dry_run;
	c->dry_record = o->dry_record;
	c->dry_arg = o->dry_arg;
	pthread_mutex_init(&c->lock, NULL);
	c->flights.free_result = free_shared;
	if (!c->base || !c->user_agent || (o->api_version && !c->api_version)) {
		qclient_free(c);
		return NULL;
	}
	return c;
}

void qclient_free(struct qclient *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->base);
	free(c->api_version);
	free(c->user_agent);
	free(c);
}

const char *qclient_base(const struct qclient *c)
{
	return c->base;
}

void qresp_clear(struct qresp *r)
{
	free(r->body);
	free(r->location);
	cJSON_Delete(r->json);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

void qclient_get_stats(struct qclient *c, struct qclient_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->stats;
	pthread_mutex_unlock(&c->lock);
}

static void stat_add(struct qclient *c, uint64_t *field)
{
	pthread_mutex_lock(&c->lock);
	(*field)++;
	pthread_mutex_unlock(&c->lock);
}

/* The part of url after the origin, for messages. */
static bool is_idempotent(const struct qcall *call)
{
	if (call->idempotent)
		return true;
	return !strcmp(call->method, "GET") || !strcmp(call->method, "PUT") ||
	       !strcmp(call->method, "DELETE") || !strcmp(call->method, "HEAD");
}

/* Does a body start like a JSON object or array? */
static bool starts_json(const char *b)
{
	if (!b)
		return false;
	while (isspace((unsigned char)*b))
		b++;
	return *b == '{' || *b == '[';
}

static bool looks_json(const struct http_response *r)
{
	const char *ct = http_response_header(r, "content-type");
	return (ct && strstr(ct, "json")) || starts_json(r->body);
}

/* A body the server announced as JSON (Content-Type) that is not whole JSON
 * (the caller found that it does not parse). */
static bool json_cut(const struct http_response *r)
{
	const char *ct = http_response_header(r, "content-type");
	return r->body && r->body_len && ct && strstr(ct, "json");
}

/* The absolute URL of a call: paths are taken relative to the tenant. */
static char *absolute_url(const struct qclient *c, const char *url)
{
	return url[0] == '/' ? url_resolve(c->base, url) : strdup(url);
}

/* The time a call may still spend waiting out 429s.  With a bound (left_ms
 * >= 0), a wait is taken from it and moves the deadline, so that each attempt
 * keeps its own budget; without one (left_ms < 0) a wait must end before the
 * deadline. */
struct rl_budget {
	int64_t left_ms;
	int64_t *deadline;
	const struct qclient *c;
};

/* May the call wait ms more for a rate limit?  Takes the wait from the budget
 * when it may. */
static bool rl_take(struct rl_budget *b, int64_t ms)
{
	if (b->left_ms < 0)
		return b->c->now() + ms < *b->deadline;
	if (ms > b->left_ms)
		return false;
	b->left_ms -= ms;
	*b->deadline += ms;
	return true;
}

/* Waits until the tier is no longer rate limited.  Returns false when the
 * wait is beyond what the call may wait. */
static bool wait_tier(struct qclient *c, int tier, struct rl_budget *b)
{
	pthread_mutex_lock(&c->lock);
	int64_t until = c->tier_until[tier];
	pthread_mutex_unlock(&c->lock);
	int64_t now = c->now();
	if (until <= now)
		return true;
	if (!rl_take(b, until - now))
		return false;
	c->sleep(until - now);
	opstats_ratelimit_wait(until - now); /* the status file's time waited */
	return true;
}

static void block_tier(struct qclient *c, int tier, int64_t until)
{
	pthread_mutex_lock(&c->lock);
	if (until > c->tier_until[tier])
		c->tier_until[tier] = until;
	c->stats.rate_limited++;
	pthread_mutex_unlock(&c->lock);
}

/* The call's own sink and source, wrapped so that their failures are told
 * apart from the network's (they are returned as is and never retried). */
struct call_io {
	const struct qcall *call;
	struct http_body_source src;
	int sink_err, src_err;
	bool sunk; /* the sink received bytes during this attempt */
};

static int io_sink(void *arg, const char *data, size_t len)
{
	struct call_io *io = arg;
	io->sunk = true;
	int rc = io->call->sink(io->call->sink_arg, data, len);
	if (rc < 0)
		io->sink_err = rc;
	return rc;
}

static ssize_t io_read(void *arg, uint64_t off, char *buf, size_t n)
{
	struct call_io *io = arg;
	const struct http_body_source *s = io->call->source;
	ssize_t r = s->read(s->arg, off, buf, n);
	if (r < 0)
		io->src_err = (int)r;
	else if (r == 0 && off < s->len)
		io->src_err = -EIO; /* the body ended before its announced length */
	return r;
}

static bool net_retryable(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -ECONNRESET ||
	       rc == -EHOSTUNREACH || rc == -EIO;
}

/* The wait before retry number `attempt` (1 = the first retry). */
static int64_t retry_wait(const struct qcall *call, int attempt)
{
	if (call->retry_delay_ms <= 0)
		return backoff_ms(attempt - 1);
	int64_t d = call->retry_delay_ms;
	for (int i = 1; !call->retry_fixed && i < attempt && d < RETRY_DELAY_CAP_MS; i++)
		d *= 2;
	return d > RETRY_DELAY_CAP_MS ? RETRY_DELAY_CAP_MS : d;
}

static const char *call_header(const struct qcall *call, const char *name)
{
	for (size_t i = 0; i < call->n_headers; i++)
		if (!strcasecmp(call->headers[i].name, name))
			return call->headers[i].value;
	return NULL;
}

/* Checks the call's own headers.  Returns 0 or -EINVAL with out->errmsg set. */
static int check_call_headers(const struct qcall *call, struct qresp *out)
{
	if (call->n_headers > MAX_CALL_HEADERS) {
		snprintf(out->errmsg, sizeof(out->errmsg), "%s: more than %d request headers",
			 call->method, MAX_CALL_HEADERS);
		return -EINVAL;
	}
	for (size_t i = 0; i < call->n_headers; i++) {
		const char *n = call->headers[i].name;
		if (!qclient_header_allowed(n) || !call->headers[i].value) {
			snprintf(out->errmsg, sizeof(out->errmsg),
				 "%s: the request header \"%.64s\" may not be set", call->method,
				 n ? n : "");
			return -EINVAL;
		}
	}
	return 0;
}

/* Fills hdrs (room for 5 + call->n_headers) and returns how many. */
static size_t build_headers(const struct qclient *c, const struct qcall *call, char *auth,
			    struct http_header *hdrs)
{
	size_t nh = 0;
	if (auth)
		hdrs[nh++] = (struct http_header){ "Authorization", auth };
	if (!call_header(call, "Accept"))
		hdrs[nh++] = (struct http_header){ "Accept", "application/json" };
	if (!call_header(call, "User-Agent"))
		hdrs[nh++] = (struct http_header){ "User-Agent", c->user_agent };
	if (c->api_version && !call_header(call, "qlik-api-version"))
		hdrs[nh++] = (struct http_header){ "qlik-api-version", c->api_version };
	if ((call->body || call->source) && !call_header(call, "Content-Type")) {
		const char *ct = call->content_type ? call->content_type
			       : call->source	    ? "application/octet-stream"
						    : "application/json";
		hdrs[nh++] = (struct http_header){ "Content-Type", (char *)ct };
	}
	for (size_t i = 0; i < call->n_headers; i++)
		hdrs[nh++] = call->headers[i];
	return nh;
}

/* One logical call: retries, redirects, auth refresh.  Fills out. */
/* One call across its attempts (do_call).  The try_* steps return AGAIN
 * (send once more) or DONE (t->rc is the outcome). */
struct try {
	struct qclient *c;
	const struct qcall *call;
	struct qresp *out;
	char *url;          /* owned: follows redirects */
	const char *method; /* a 303 turns it into GET */
	long budget;
	int max_attempts;
	int64_t deadline;
	struct rl_budget rl;
	int rl_hits; /* 429 answers that were not attempts (with a bound) */
	int tier, attempt, redirects, rc;
	bool refreshed, same_origin;
	char *auth;
	struct http_header *hdrs;
	size_t nh;
	struct http_response resp;
	struct call_io io;
	cJSON *json; /* the parsed body of a 2xx JSON answer */
	char why[384];
};
enum { DONE, AGAIN };

#define TRY_MSG(t, ...) snprintf((t)->out->errmsg, sizeof((t)->out->errmsg), __VA_ARGS__)

/* Credentials (for the tenant only), headers, the rate-limit tier, a sink
 * to start again: AGAIN when the attempt may be sent. */
static int try_prepare(struct try *t)
{
	struct qclient *c = t->c;
	t->same_origin = c->auth && url_same_origin(t->url, c->base);
	if (t->same_origin && (t->rc = c->auth->ops->header(c->auth, t->auth, AUTH_HDR_MAX))) {
		char why[384];
		auth_why(c->auth, why, sizeof(why));
		TRY_MSG(t, "%s %s: %s", t->method, url_tail(t->url),
			why[0] ? why : "no valid credentials");
		if (t->rc != -EIO && t->rc != -ENOMEM)
			t->rc = -EACCES;
		return DONE;
	}
	t->nh = build_headers(c, t->call, t->same_origin ? t->auth : NULL, t->hdrs);
	if (!wait_tier(c, t->tier, &t->rl)) {
		if (t->rl.left_ms >= 0)
			TRY_MSG(t, "%s %s: rate limited by the tenant beyond the %ld ms bound on "
				   "rate-limit waits", t->method, url_tail(t->url), c->ratelimit_wait_ms);
		else
			TRY_MSG(t, "%s %s: rate limited by the tenant beyond the %ld ms budget",
				t->method, url_tail(t->url), t->budget);
		t->rc = -EIO;
		return DONE;
	}
	const struct qcall *call = t->call;
	if (t->attempt && call->sink && call->sink_reset &&
	    (t->rc = call->sink_reset(call->sink_arg)) < 0) {
		TRY_MSG(t, "%s %s: response body: %s", t->method, url_tail(t->url),
			strerrordesc_np(-t->rc));
		return DONE;
	}
	return AGAIN;
}

/* Sends one attempt within what is left of the deadline. */
static int try_perform(struct try *t)
{
	struct qclient *c = t->c;
	const struct qcall *call = t->call;
	int64_t left = t->deadline - c->now();
	struct http_request req = {
		.method = t->method, .url = t->url, .headers = t->hdrs, .n_headers = t->nh,
		.body = call->body, .body_len = call->body_len,
		.source = call->source ? &t->io.src : NULL, .timeout_ms = left < 1 ? 1 : left,
		.max_body = call->max_body, .sink = call->sink ? io_sink : NULL,
		.sink_arg = &t->io,
	};
	http_response_clear(&t->resp);
	stat_add(c, &c->stats.requests);
	if (t->attempt)
		stat_add(c, &c->stats.retries);
	t->io.sunk = false;
	opstats_set_retry(t->attempt - t->redirects); /* the trace line's retry number */
	int rc = http_perform(c->transport, &req, &t->resp);
	t->attempt++;
	t->out->status = t->resp.status;
	return rc;
}

/* Sleeps wait and says AGAIN when another attempt fits the attempts and the
 * deadline. */
static int try_again_after(struct try *t, int64_t wait)
{
	if (t->attempt - t->rl_hits >= t->max_attempts || t->c->now() + wait >= t->deadline)
		return DONE;
	t->c->sleep(wait);
	return AGAIN;
}

/* The transport failed (rc < 0): retried when that is safe. */
static int try_transport_error(struct try *t, int rc)
{
	const struct qcall *call = t->call;
	int own = t->io.sink_err ? t->io.sink_err : t->io.src_err;
	if (own) {
		TRY_MSG(t, "%s %s: %s body: %s", t->method, url_tail(t->url),
			t->io.sink_err ? "response" : "request", strerrordesc_np(-own));
		t->rc = own;
		return DONE;
	}
	/* a refused connection sent nothing: retried whatever the method */
	bool retry = (is_idempotent(call) || call->retry_all || rc == -ECONNREFUSED) &&
		     net_retryable(rc) && (!t->io.sunk || call->sink_reset);
	if (retry && try_again_after(t, retry_wait(call, t->attempt)) == AGAIN)
		return AGAIN;
	TRY_MSG(t, "%s %s: %s (after %d attempt%s)", t->method, url_tail(t->url),
		qclient_transport_text(rc), t->attempt, t->attempt == 1 ? "" : "s");
	t->rc = errmap_transport(rc);
	return DONE;
}

/* A 3xx with a Location: followed (the tenant's credentials go only to
 * the tenant, try_prepare). */
static int try_redirect(struct try *t, long st, const char *loc)
{
	char *next = url_resolve(t->url, loc);
	if (!next || ++t->redirects > MAX_REDIRECTS) {
		free(next);
		TRY_MSG(t, "%s %s: too many redirects", t->method, url_tail(t->url));
		t->rc = -EIO;
		return DONE;
	}
	free(t->url);
	t->url = next;
	if (st == 303)
		t->method = "GET";
	return AGAIN;
}

/* A 2xx: its JSON parsed; a body announced as JSON that does not parse was
 * cut short on the way (a proxy, a reset after the headers): like a
 * dropped connection. */
static int try_success(struct try *t)
{
	const struct qcall *call = t->call;
	struct http_response *r = &t->resp;
	cJSON_Delete(t->json);
	t->json = r->body && looks_json(r) ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
	t->rc = 0;
	if (t->json || !json_cut(r))
		return DONE;
	bool idem = is_idempotent(call) || call->retry_all;
	if (idem && try_again_after(t, retry_wait(call, t->attempt)) == AGAIN)
		return AGAIN;
	if (!idem)
		return DONE; /* applied: the caller sees the body it got */
	TRY_MSG(t, "%s %s: the JSON body was cut short (after %d attempt%s)", t->method,
		url_tail(t->url), t->attempt, t->attempt == 1 ? "" : "s");
	t->rc = -EIO;
	return DONE;
}

/* An answer: a refreshed token, a rate limit or a server error waited out,
 * a redirect followed, a success, or the error with the tenant's reason. */
static int try_answer(struct try *t)
{
	struct qclient *c = t->c;
	const struct qcall *call = t->call;
	long st = t->resp.status;
	if (st == 401 && !t->refreshed && t->same_origin) {
		t->refreshed = true;
		if (c->auth->ops->refresh(c->auth, t->auth) == 0)
			return AGAIN;
		auth_why(c->auth, t->why, sizeof(t->why));
	}
	if (st == 429) {
		int64_t wait = qclient_retry_after_ms(http_response_header(&t->resp, "retry-after"));
		block_tier(c, t->tier, c->now() + wait);
		bool bounded = t->rl.left_ms >= 0;
		if (bounded ? wait <= t->rl.left_ms && t->rl_hits < RL_MAX_HITS
			    : t->attempt < t->max_attempts && c->now() + wait < t->deadline) {
			t->rl_hits += bounded;
			return AGAIN; /* wait_tier() sleeps */
		}
	}
	bool st_retry = call->retry_all ? st >= 400 : st >= 500 && st != 501 && is_idempotent(call);
	if (st != 429 && st_retry && try_again_after(t, retry_wait(call, t->attempt)) == AGAIN)
		return AGAIN;
	const char *loc = http_response_header(&t->resp, "location");
	if (loc && !call->no_redirect &&
	    (st == 301 || st == 302 || st == 303 || st == 307 || st == 308))
		return try_redirect(t, st, loc);
	if (loc)
		t->out->location = url_resolve(t->url, loc);
	if (qtime_parse_http_date(http_response_header(&t->resp, "date"), &t->out->server_date_ms))
		t->out->server_date_ms = 0;
	if (st >= 200 && st < 300)
		return try_success(t);
	char code[64], text[384];
	qclient_error_text(t->resp.body, code, sizeof(code), text, sizeof(text));
	t->rc = errmap_http(st, code[0] ? code : NULL, call->op);
	if (st == 429)
		TRY_MSG(t, "%s %s: 429 rate limited by the tenant (gave up after %d attempts%s): %s",
			t->method, url_tail(t->url), t->attempt,
			t->rl.left_ms >= 0 ? ", beyond the bound on rate-limit waits" : "", text);
	else
		TRY_MSG(t, "%s %s: HTTP %ld%s%s%s%s%s%s", t->method, url_tail(t->url), st,
			code[0] ? " " : "", code, text[0] ? ": " : "", text, t->why[0] ? "; " : "",
			t->why);
	return DONE;
}

/* Hands the outcome to out and frees the rest; returns the call's rc. */
static int try_finish(struct try *t)
{
	struct qresp *out = t->out;
	int rc = t->rc;
	if (t->auth)
		explicit_bzero(t->auth, AUTH_HDR_MAX);
	free(t->auth);
	free(t->hdrs);
	free(t->url);
	out->attempts = t->attempt;
	if (rc == 0 || t->resp.body) {
		out->body = t->resp.body;
		out->body_len = t->resp.body_len;
		if (rc == 0) {
			out->json = t->json;
			t->json = NULL;
		}
		t->resp.body = NULL;
	}
	if (t->call->want_headers) {
		out->headers = t->resp.headers;
		out->n_headers = t->resp.n_headers;
		t->resp.headers = NULL;
		t->resp.n_headers = 0;
	}
	http_response_clear(&t->resp);
	cJSON_Delete(t->json);
	if (rc)
		stat_add(t->c, &t->c->stats.errors);
	return rc;
}

static int do_call(struct qclient *c, const struct qcall *call, struct qresp *out)
{
	int rc = check_call_headers(call, out);
	if (rc)
		return rc;
	struct try t = {
		.c = c, .call = call, .out = out, .method = call->method,
		.url = absolute_url(c, call->url),
		.budget = call->timeout_ms > 0 ? call->timeout_ms : c->timeout_ms,
		.max_attempts = call->max_attempts > 0 ? call->max_attempts : c->max_attempts,
		.tier = strcmp(call->method, "GET") ? 1 : 0,
		.auth = malloc(AUTH_HDR_MAX),
		.hdrs = malloc((6 + call->n_headers) * sizeof(struct http_header)),
		.io = { .call = call },
		.rc = -ENOMEM,
	};
	t.deadline = c->now() + t.budget;
	t.rl = (struct rl_budget){ c->ratelimit_wait_ms > 0 ? c->ratelimit_wait_ms : -1,
				   &t.deadline, c };
	if (!t.url || !t.auth || !t.hdrs)
		return try_finish(&t);
	if (call->source)
		t.io.src = (struct http_body_source){ io_read, &t.io, call->source->len };
	for (;;) {
		if (try_prepare(&t) == DONE)
			break;
		rc = try_perform(&t);
		if (rc < 0 ? try_transport_error(&t, rc) == AGAIN : try_answer(&t) == AGAIN)
			continue;
		break;
	}
	return try_finish(&t);
}

static int copy_resp(struct qresp *dst, const struct qresp *src)
{
	*dst = *src;
	dst->json = NULL;
	dst->body = NULL;
	dst->location = NULL;
	dst->headers = NULL; /* shared GETs never ask for headers */
	dst->n_headers = 0;
	if (src->body) {
		dst->body = malloc(src->body_len + 1);
		if (!dst->body)
			return -ENOMEM;
		memcpy(dst->body, src->body, src->body_len + 1);
	}
	if (src->location && !(dst->location = strdup(src->location)))
		return -ENOMEM;
	return 0;
}

static void parse_json(struct qresp *r)
{
	if (!r->json && starts_json(r->body))
		r->json = cJSON_ParseWithLength(r->body, r->body_len);
}

/* Only plain GETs share a flight: no sink, headers or retry policy of their own. */
static bool shareable(const struct qcall *call)
{
	return !strcmp(call->method, "GET") && !call->sink && !call->n_headers &&
	       !call->want_headers && !call->timeout_ms && !call->max_attempts &&
	       !call->retry_delay_ms && !call->retry_all && !call->source && !call->body;
}

/* A caller of a GET another caller is sending (c->lock held, released on
 * return): waits for it within the same deadline as a call of its own
 * (that fetch may have started long ago, or wait out a rate limit), then
 * takes a copy of its answer. */
static int share_get(struct qclient *c, struct flight_key *k, const struct qcall *call,
		     struct qresp *out)
{
	int rc;
	c->stats.shared++;
	if (flight_key_wait(k, &c->lock, clock_mono_ms() + c->timeout_ms, &rc)) {
		flight_key_put(&c->flights, k);
		pthread_mutex_unlock(&c->lock);
		snprintf(out->errmsg, sizeof(out->errmsg),
			 "GET %s: timed out waiting for the same request of another caller", call->url);
		return -EIO; /* as a timeout of our own (errmap.h) */
	}
	if ((!k->result || copy_resp(out, k->result) < 0) && !rc)
		rc = -ENOMEM;
	flight_key_put(&c->flights, k);
	pthread_mutex_unlock(&c->lock);
	if (rc == 0)
		parse_json(out);
	return rc;
}

/* Does call change the tenant?  (An export is a POST that only reads.) */
static bool changes_tenant(const struct qcall *call)
{
	if (!strcmp(call->method, "GET") || !strcmp(call->method, "HEAD"))
		return false;
	const char *q = strchr(call->url, '?');
	size_t l = q ? (size_t)(q - call->url) : strlen(call->url);
	return !(!strcmp(call->method, "POST") && l >= 7 && !strncmp(call->url + l - 7, "/export", 7));
}

int qclient_call(struct qclient *c, const struct qcall *call, struct qresp *out)
{
	memset(out, 0, sizeof(*out));
	if (c->dry_run && changes_tenant(call)) {
		if (c->dry_record)
			c->dry_record(c->dry_arg, call->method, call->url, call->body,
				      call->body ? call->body_len : 0);
		snprintf(out->errmsg, sizeof(out->errmsg), "%s %s: not sent (-o dry_run)",
			 call->method, call->url);
		return -EROFS;
	}
	if (!shareable(call))
		return do_call(c, call, out);
	bool lead;
	pthread_mutex_lock(&c->lock);
	struct flight_key *k = flight_set_join(&c->flights, call->url, &lead);
	if (!k) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	if (!lead)
		return share_get(c, k, call, out);
	pthread_mutex_unlock(&c->lock);

	int rc = do_call(c, call, out);

	pthread_mutex_lock(&c->lock);
	struct qresp *copy = NULL;
	int shared_rc = rc;
	if (flight_key_waiters(k) > 0 && (!(copy = calloc(1, sizeof(*copy))) ||
					  copy_resp(copy, out) < 0) && !rc)
		shared_rc = -ENOMEM;
	flight_set_end(&c->flights, k, shared_rc, copy);
	flight_key_put(&c->flights, k);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int qclient_get_json(struct qclient *c, const char *url, cJSON **out, char *errmsg, size_t n)
{
	int64_t date;
	return qclient_get_json_date(c, url, out, &date, errmsg, n);
}

int qclient_get_json_date(struct qclient *c, const char *url, cJSON **out, int64_t *date_ms,
			  char *errmsg, size_t n)
{
	struct qcall call = { .method = "GET", .url = url, .op = QOP_READ };
	struct qresp r;
	int rc = qclient_call(c, &call, &r);
	*date_ms = r.server_date_ms;
	if (rc == 0 && !r.json) {
		snprintf(r.errmsg, sizeof(r.errmsg), "GET %s: HTTP %ld with a body that is not JSON",
			 url_tail(url), r.status);
		rc = -EIO;
	}
	if (rc == 0) {
		*out = r.json;
		r.json = NULL;
	} else if (errmsg && n) {
		snprintf(errmsg, n, "%s", r.errmsg);
	}
	qresp_clear(&r);
	return rc;
}

long qclient_timeout_ms(const struct qclient *c)
{
	return c->timeout_ms;
}
