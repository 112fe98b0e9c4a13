/*
 * http_fault.c - see http_fault.h.  A decorator: every fault is made from
 * what the wrapped transport does (or from not calling it), so the http.h
 * contract holds for the wrapper too: on failure *resp is left empty.
 *
 * Locks: f->lock guards the per-request counters, the storm and the stats;
 * it is never held across the wrapped transport or a sleep.
 */
#include "http/http_fault.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/clock.h"
#include "util/strmap.h"
#include "util/url.h"

#define SLOTS 4096             /* per-request counters, indexed by a hash of the request */
#define SPEC_MAX 1024
#define STALL_DEFAULT_MS 60000 /* a stall of a request without its own timeout */

struct slot {
	uint32_t seen; /* requests with this hash so far */
	uint32_t run;  /* faults in a row */
};

struct fault_tr {
	struct http_transport base;
	struct http_transport *inner;
	struct http_fault_cfg cfg;
	pthread_mutex_t lock;
	struct slot slots[SLOTS];          /* GUARDED_BY(lock) */
	unsigned storm_left;               /* GUARDED_BY(lock) */
	struct http_fault_stats stats;     /* GUARDED_BY(lock) */
};

static const char *const kind_names[HF_NKINDS] = { "none",  "503",   "drop", "lost", "reset",
						   "trunc", "stall", "drip", "429" };

const char *http_fault_kind_name(enum http_fault_kind k)
{
	return k < HF_NKINDS ? kind_names[k] : "?";
}

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The part of url after the origin. */
/* ------------------------------------------------------------ the spec */

struct key {
	const char *name;
	size_t off;    /* of an unsigned in struct http_fault_cfg, or of a string */
	unsigned max;  /* 0: a string of the field's size */
	size_t size;
};

#define PCT(n, k) { n, offsetof(struct http_fault_cfg, pct) + (k) * sizeof(unsigned), 100, 0 }
#define NUM(n, f, m) { n, offsetof(struct http_fault_cfg, f), m, 0 }
#define STR(n, f) { n, offsetof(struct http_fault_cfg, f), 0, sizeof(((struct http_fault_cfg *)0)->f) }

static const struct key keys[] = {
	NUM("fail", fail, 100),
	PCT("err503", HF_503),
	PCT("drop", HF_DROP),
	PCT("lost", HF_LOST),
	PCT("reset", HF_RESET),
	PCT("trunc", HF_TRUNC),
	PCT("stall", HF_STALL),
	PCT("drip", HF_DRIP),
	PCT("storm", HF_429),
	NUM("storm_len", storm_len, 1000),
	NUM("retry_after", retry_after, 600),
	NUM("drip_ms", drip_ms, 10000),
	NUM("maxrun", maxrun, 1000),
	STR("match", match),
	STR("onfile", onfile),
};

/* Parses one key=value item.  Returns 0 or -EINVAL with err set. */
static int parse_item(const char *item, struct http_fault_cfg *cfg, bool *seeded, char *err,
		      size_t errn)
{
	const char *eq = strchr(item, '=');
	size_t klen = eq ? (size_t)(eq - item) : 0;
	if (!eq || !klen) {
		snprintf(err, errn, "fault spec: \"%.40s\" is not key=value", item);
		return -EINVAL;
	}
	const char *v = eq + 1;
	if (klen == 4 && !strncmp(item, "seed", 4)) {
		char *end;
		errno = 0;
		unsigned long long s = strtoull(v, &end, 10);
		if (errno || end == v || *end || !isdigit((unsigned char)*v)) {
			snprintf(err, errn, "fault spec: seed \"%.40s\" is not a whole number", v);
			return -EINVAL;
		}
		cfg->seed = s;
		*seeded = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		if (strlen(k->name) != klen || strncmp(k->name, item, klen))
			continue;
		char *field = (char *)cfg + k->off;
		if (!k->max) {
			size_t n = strlen(v);
			for (const char *p = v; *p; p++)
				if (iscntrl((unsigned char)*p))
					n = SIZE_MAX;
			if (n >= k->size) {
				snprintf(err, errn, "fault spec: %s is too long or has control characters",
					 k->name);
				return -EINVAL;
			}
			memcpy(field, v, n + 1);
			return 0;
		}
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (errno || end == v || *end || !isdigit((unsigned char)*v) || n > k->max) {
			snprintf(err, errn, "fault spec: %s=%.20s is not a whole number in [0, %u]",
				 k->name, v, k->max);
			return -EINVAL;
		}
		memcpy(field, &(unsigned){ (unsigned)n }, sizeof(unsigned));
		return 0;
	}
	snprintf(err, errn, "fault spec: unknown key \"%.*s\"", (int)(klen > 40 ? 40 : klen), item);
	return -EINVAL;
}

int http_fault_parse(const char *spec, struct http_fault_cfg *cfg, char *err, size_t errn)
{
	struct http_fault_cfg c = { .storm_len = 3, .retry_after = 1, .drip_ms = 20 };
	char buf[SPEC_MAX + 1];
	bool seeded = false;
	if (!spec || strlen(spec) > SPEC_MAX) {
		snprintf(err, errn, "fault spec: missing or longer than %d bytes", SPEC_MAX);
		return -EINVAL;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		int rc = parse_item(item, &c, &seeded, err, errn);
		if (rc)
			return rc;
	}
	unsigned sum = c.fail;
	for (int k = 0; k < HF_NKINDS; k++)
		sum += c.pct[k];
	if (sum > 100) {
		snprintf(err, errn, "fault spec: the per-cents add up to %u (more than 100)", sum);
		return -EINVAL;
	}
	if (c.pct[HF_429] && !c.storm_len)
		c.storm_len = 1;
	if (!seeded)
		c.seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	*cfg = c;
	return 0;
}

/* ------------------------------------------------------------ decisions */

/* Picks the fault for a request of key (method + URL tail). */
static enum http_fault_kind decide(struct fault_tr *f, const char *key)
{
	const struct http_fault_cfg *c = &f->cfg;
	if (c->match[0] && strncmp(key, c->match, strlen(c->match)))
		return HF_NONE;
	if (c->onfile[0] && access(c->onfile, F_OK) != 0)
		return HF_NONE;
	uint64_t h = strmap_hash(key); /* (FNV-1a) */
	enum http_fault_kind k = HF_NONE;

	pthread_mutex_lock(&f->lock);
	struct slot *s = &f->slots[h % SLOTS];
	uint64_t r = mix64(c->seed ^ h ^ mix64(++s->seen));
	unsigned roll = (unsigned)(r % 100), acc = c->fail;
	if (f->storm_left) {
		f->storm_left--;
		k = HF_429;
	} else if (c->maxrun && s->run >= c->maxrun) {
		k = HF_NONE;
	} else if (roll < acc) {
		static const enum http_fault_kind fail_kinds[] = { HF_503, HF_DROP, HF_RESET,
								   HF_TRUNC };
		k = fail_kinds[(r >> 32) % 4];
	} else {
		for (int i = HF_503; i < HF_NKINDS; i++) {
			acc += c->pct[i];
			if (roll < acc) {
				k = (enum http_fault_kind)i;
				break;
			}
		}
		if (k == HF_429)
			f->storm_left = c->storm_len - 1;
	}
	if (k == HF_429)
		; /* storms hit whatever comes: they do not count as a run */
	else if (k != HF_NONE)
		s->run++;
	else
		s->run = 0;
	pthread_mutex_unlock(&f->lock);
	return k;
}

static void count(struct fault_tr *f, enum http_fault_kind k)
{
	pthread_mutex_lock(&f->lock);
	f->stats.injected[k]++;
	pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------ faults */

static int answer_error(struct http_response *resp, long status, unsigned retry_after)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"errors\":[{\"code\":\"HTTP-%ld\",\"title\":\"%s\","
		 "\"detail\":\"injected by the fault wrapper\"}]}",
		 status, status == 429 ? "API rate limit reached." : "Service Unavailable");
	resp->status = status;
	resp->body = strdup(body);
	if (!resp->body)
		return -ENOMEM;
	resp->body_len = strlen(body);
	int rc = http_response_add_header(resp, "Content-Type", "application/json");
	if (!rc && retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", retry_after);
		rc = http_response_add_header(resp, "Retry-After", ra);
	}
	if (rc)
		http_response_clear(resp);
	return rc;
}

/* The sink between the wrapped transport and the caller's: cuts the body
 * after `cut` bytes (reset) or slows it down (drip). */
struct fsink {
	const struct http_request *req;
	uint64_t passed, cut; /* cut: 0 = never */
	unsigned drip_ms;
	int64_t deadline;     /* 0 = none */
	uint64_t dripped;     /* bytes already paid for with a delay */
	bool cut_hit, timed_out;
};

static int fsink_write(void *arg, const char *data, size_t len)
{
	struct fsink *s = arg;
	if (s->cut && s->passed + len >= s->cut) {
		size_t n = (size_t)(s->cut - s->passed);
		int rc = n ? s->req->sink(s->req->sink_arg, data, n) : 0;
		s->passed += n;
		s->cut_hit = true;
		return rc < 0 ? rc : -ECONNRESET;
	}
	if (s->drip_ms) {
		for (; s->dripped + 1024 <= s->passed + len; s->dripped += 1024) {
			if (s->deadline && clock_mono_ms() + s->drip_ms > s->deadline) {
				sleep_ms(s->deadline - clock_mono_ms());
				s->timed_out = true;
				return -ETIMEDOUT;
			}
			sleep_ms(s->drip_ms);
		}
	}
	s->passed += len;
	return s->req->sink(s->req->sink_arg, data, len);
}

static int64_t deadline_of(const struct http_request *req, int64_t t0)
{
	return req->timeout_ms > 0 ? t0 + req->timeout_ms : 0;
}

/* reset: part of the body, then the connection drops. */
static int do_reset(struct fault_tr *f, const struct http_request *req, struct http_response *resp,
		    uint64_t r)
{
	if (req->sink) {
		struct fsink s = { .req = req, .cut = 1 + r % 8192 };
		struct http_request q = *req;
		q.sink = fsink_write;
		q.sink_arg = &s;
		int rc = http_perform(f->inner, &q, resp);
		if (rc < 0 && !s.cut_hit)
			return rc;
		http_response_clear(resp);
		return -ECONNRESET;
	}
	int rc = http_perform(f->inner, req, resp);
	if (rc < 0)
		return rc;
	http_response_clear(resp);
	return -ECONNRESET; /* a buffered body is all or nothing for the caller */
}

/* drip: the body arrives at drip_ms per KiB; past the timeout: -ETIMEDOUT. */
static int do_drip(struct fault_tr *f, const struct http_request *req, struct http_response *resp)
{
	int64_t t0 = clock_mono_ms(), deadline = deadline_of(req, t0);
	if (req->sink) {
		struct fsink s = { .req = req, .drip_ms = f->cfg.drip_ms, .deadline = deadline };
		struct http_request q = *req;
		q.sink = fsink_write;
		q.sink_arg = &s;
		int rc = http_perform(f->inner, &q, resp);
		if (rc < 0 && s.timed_out) {
			http_response_clear(resp);
			return -ETIMEDOUT;
		}
		return rc;
	}
	int rc = http_perform(f->inner, req, resp);
	if (rc < 0)
		return rc;
	int64_t delay = (int64_t)f->cfg.drip_ms * (int64_t)(resp->body_len / 1024 + 1);
	if (deadline && clock_mono_ms() + delay > deadline) {
		sleep_ms(deadline - clock_mono_ms());
		http_response_clear(resp);
		return -ETIMEDOUT;
	}
	sleep_ms(delay);
	return 0;
}

/* trunc: a 2xx JSON body cut in half, as if complete.  Other answers pass. */
static bool do_trunc(struct http_response *resp)
{
	const char *ct = http_response_header(resp, "content-type");
	if (resp->status < 200 || resp->status > 299 || !resp->body || resp->body_len < 2 || !ct ||
	    !strstr(ct, "json"))
		return false;
	resp->body_len /= 2;
	resp->body[resp->body_len] = '\0';
	return true;
}

static int fault_perform(struct http_transport *t, const struct http_request *req,
			 struct http_response *resp)
{
	struct fault_tr *f = (struct fault_tr *)t;
	char key[1024];
	snprintf(key, sizeof(key), "%s %s", req->method ? req->method : "",
		 req->url ? url_tail(req->url) : "");
	pthread_mutex_lock(&f->lock);
	f->stats.requests++;
	pthread_mutex_unlock(&f->lock);

	enum http_fault_kind k = decide(f, key);
	uint64_t r = mix64(f->cfg.seed ^ strmap_hash(key));
	int rc;
	switch (k) {
	case HF_503:
		rc = answer_error(resp, 503, 0);
		break;
	case HF_429:
		rc = answer_error(resp, 429, f->cfg.retry_after);
		break;
	case HF_DROP:
		rc = -ECONNRESET;
		break;
	case HF_STALL:
		sleep_ms(req->timeout_ms > 0 ? req->timeout_ms : STALL_DEFAULT_MS);
		rc = -ETIMEDOUT;
		break;
	case HF_LOST:
		rc = http_perform(f->inner, req, resp);
		http_response_clear(resp);
		if (rc >= 0)
			rc = -ECONNRESET;
		break;
	case HF_RESET:
		rc = do_reset(f, req, resp, r);
		break;
	case HF_DRIP:
		rc = do_drip(f, req, resp);
		break;
	case HF_TRUNC:
		rc = http_perform(f->inner, req, resp);
		if (rc == 0 && !req->sink && !do_trunc(resp))
			k = HF_NONE; /* nothing to cut: the answer passes */
		else if (rc == 0 && req->sink)
			k = HF_NONE;
		break;
	default:
		rc = http_perform(f->inner, req, resp);
		break;
	}
	count(f, k);
	if (k != HF_NONE)
		log_info("fault: %s for %s", kind_names[k], key);
	return rc;
}

static void fault_destroy(struct http_transport *t)
{
	struct fault_tr *f = (struct fault_tr *)t;
	const uint64_t *n = f->stats.injected;
	log_info("fault injection: %" PRIu64 " requests, %" PRIu64 " passed; 503 %" PRIu64
		 ", drop %" PRIu64 ", lost %" PRIu64 ", reset %" PRIu64 ", trunc %" PRIu64
		 ", stall %" PRIu64 ", drip %" PRIu64 ", 429 %" PRIu64 " (seed %" PRIu64 ")",
		 f->stats.requests, n[HF_NONE], n[HF_503], n[HF_DROP], n[HF_LOST], n[HF_RESET],
		 n[HF_TRUNC], n[HF_STALL], n[HF_DRIP], n[HF_429], f->cfg.seed);
	http_transport_free(f->inner);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct http_transport_ops fault_ops = { fault_perform, fault_destroy };

struct http_transport *http_fault_new(struct http_transport *inner,
				      const struct http_fault_cfg *cfg)
{
	struct fault_tr *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->base.ops = &fault_ops;
	f->inner = inner;
	f->cfg = *cfg;
	pthread_mutex_init(&f->lock, NULL);
	return &f->base;
}

void http_fault_get_stats(struct http_transport *t, struct http_fault_stats *st)
{
	struct fault_tr *f = (struct fault_tr *)t;
	pthread_mutex_lock(&f->lock);
	*st = f->stats;
	pthread_mutex_unlock(&f->lock);
}

int http_fault_from_env(struct http_transport **tr, char *err, size_t errn)
{
	const char *spec = getenv("QLIKFS_FAULT");
	struct http_fault_cfg cfg;
	if (!spec || !*spec)
		return 0;
	int rc = http_fault_parse(spec, &cfg, err, errn);
	if (rc)
		return rc;
	struct http_transport *w = http_fault_new(*tr, &cfg);
	if (!w) {
		snprintf(err, errn, "out of memory");
		return -ENOMEM;
	}
	*tr = w;
	log_warn("fault injection ON ($QLIKFS_FAULT=%s): seed %" PRIu64
		 " (repeat with seed=%" PRIu64 ")",
		 spec, cfg.seed, cfg.seed);
	return 0;
}
