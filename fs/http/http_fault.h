/*
 * http_fault.h - a fault-injecting decorator over any struct http_transport
 * (http.h), for tests: it answers some requests with 503 or 429 storms,
 * drops connections, stalls, resets mid-body, cuts JSON bodies short or drips
 * them slowly, and passes the rest to the wrapped transport unchanged.
 *
 * Never on by default: the mount turns it on only when $QLIKFS_FAULT holds a
 * spec (http_fault_from_env), and says so in its log with the seed.
 *
 * Spec: comma-separated key=value items, e.g.
 *   "seed=7,fail=10,maxrun=2,match=GET /api/"
 * Per-cent keys (whole numbers; together at most 100):
 *   fail    one of err503, drop, reset, trunc below, picked evenly
 *   err503  answered 503 without reaching the server
 *   drop    connection dropped before the server saw the request (-ECONNRESET)
 *   lost    the server handled the request, the answer was lost (-ECONNRESET)
 *   reset   the server answered; part of the body arrived, then -ECONNRESET
 *   trunc   a 2xx JSON body cut in half, delivered as complete
 *   stall   no answer until the request's timeout, then -ETIMEDOUT (the
 *           server never saw it)
 *   drip    the body arrives slowly: drip_ms per KiB (past the request's
 *           timeout: -ETIMEDOUT)
 *   storm   starts a 429 storm: this and the next storm_len-1 requests (any)
 *           are answered 429 with Retry-After: retry_after
 * Other keys:
 *   seed=N         the seed (default: from the clock and pid; printed)
 *   storm_len=N    429 answers per storm (default 3, at most 1000)
 *   retry_after=S  Retry-After of storm answers in seconds (default 1)
 *   drip_ms=MS     delay per KiB of a dripped body (default 20)
 *   maxrun=N       after N faults in a row on one request (method + URL), the
 *                  next one passes (default 0: no limit)
 *   match=PREFIX   only requests whose "METHOD /path?query" starts with PREFIX
 *   onfile=PATH    faults only while PATH exists (tests switch them on and off)
 *
 * Determinism: whether a request is faulted depends only on the seed, its
 * method and URL, and how many times that method and URL were asked before
 * (storms excepted: they hit whatever requests come next).
 */
#ifndef QLIKFS_HTTP_FAULT_H
#define QLIKFS_HTTP_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

enum http_fault_kind {
	HF_NONE,
	HF_503,
	HF_DROP,
	HF_LOST,
	HF_RESET,
	HF_TRUNC,
	HF_STALL,
	HF_DRIP,
	HF_429,
	HF_NKINDS
};

struct http_fault_cfg {
	uint64_t seed;
	unsigned fail, pct[HF_NKINDS]; /* per-cent by kind (pct[HF_429]: storm starts) */
	unsigned storm_len, retry_after, drip_ms, maxrun;
	char match[128];
	char onfile[256];
};

struct http_fault_stats {
	uint64_t requests;           /* requests seen */
	uint64_t injected[HF_NKINDS]; /* faults by kind (injected[HF_NONE]: passed) */
};

/* Parses spec into *cfg (defaults filled, seed from the clock when absent).
 * Returns 0, or -EINVAL with a message in err. */
int http_fault_parse(const char *spec, struct http_fault_cfg *cfg, char *err, size_t errn);

/* Wraps inner.  Returns the wrapper, which owns inner from then on (freeing
 * the wrapper frees inner), or NULL on OOM (inner untouched). */
struct http_transport *http_fault_new(struct http_transport *inner,
				      const struct http_fault_cfg *cfg);

/* Copies the counters of a wrapper made by http_fault_new(). */
void http_fault_get_stats(struct http_transport *t, struct http_fault_stats *st);

/* The name of a kind ("503", "drop", ...). */
const char *http_fault_kind_name(enum http_fault_kind k);

/* When $QLIKFS_FAULT is set and not empty: parses it, logs that faults are
 * on with the spec and the seed, and replaces *tr with a wrapper around it.
 * Returns 0 (also when the variable is absent) or -EINVAL/-ENOMEM with a
 * message in err (*tr untouched). */
int http_fault_from_env(struct http_transport **tr, char *err, size_t errn);

#endif
