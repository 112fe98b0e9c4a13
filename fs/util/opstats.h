/*
 * opstats.h - process-wide counters of the work the mount does, and the long
 * operations in flight (exports, imports, uploads, polls), for the status
 * file (.status.json).  Like the log, it is one sink for the whole process:
 * the HTTP observer (http_obs.c), the Qlik client and the long operations
 * report here; nothing reads these numbers to make a decision.
 *
 * Thread-safe: one mutex guards everything; the current operation of a
 * thread is thread-local.
 */
#ifndef QLIKFS_OPSTATS_H
#define QLIKFS_OPSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* One HTTP request as sent and answered (http_obs.c fills it). */
struct opstats_http {
	const char *method;
	long status;       /* 0: no response (rc says why) */
	int rc;            /* 0 or the transport's -errno */
	uint64_t sent;     /* request body bytes */
	uint64_t received; /* response body bytes */
	int64_t ms;
	int retry;         /* 0: first attempt; n: the nth retry */
};
void opstats_http(const struct opstats_http *ev);

/* The retry number of the next request this thread sends (the Qlik client
 * sets it before each attempt); opstats_take_retry() reads it and resets it
 * to 0, so requests sent by others count as first attempts. */
void opstats_set_retry(int retry);
int opstats_take_retry(void);

/* A wait forced by a 429 (Retry-After): ms slept. */
void opstats_ratelimit_wait(int64_t ms);

/* Long operations.  begin() registers one on the calling thread (kind:
 * "export", "import", "upload", "poll"; what: the app id, file name...;
 * total_bytes: the size to transfer when known, else 0) and makes it the
 * thread's current operation: the bytes of its HTTP requests count as its
 * progress.  end() removes it (NULL-safe).  begin() returns NULL on OOM,
 * and the operation is then simply not shown. */
struct opstats_op;
struct opstats_op *opstats_op_begin(const char *kind, const char *what, uint64_t total_bytes);
void opstats_op_end(struct opstats_op *op);
/* Bytes moved by the calling thread's current operation (if any). */
void opstats_op_bytes(uint64_t sent, uint64_t received);

/* Adds "requests", "rate_limited", "bytes" and "operations" to obj.
 * Returns 0 or -ENOMEM. */
int opstats_to_json(cJSON *obj);

struct opstats_totals {
	uint64_t requests, failed, sent, received, rate_limited, retries;
	int64_t waited_ms;
	unsigned ops;
};
void opstats_get(struct opstats_totals *t);

#endif
