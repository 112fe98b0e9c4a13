/*
 * fuzz_common.h - helpers shared by the libFuzzer targets (tests/fuzz/):
 * NUL-terminated copies and splits of the input, a scripted HTTP transport
 * that answers from the input, and a fixed credential.
 *
 * The scripted transport reads its answers from text like `curl -i` prints:
 *
 *	HTTP/1.1 200 OK              (or just "200")
 *	content-type: application/json
 *	date: Sun, 06 Dec 2026 02:25:17 GMT
 *	                             (blank line)
 *	{"data":[...]}
 *	%%                           (a line of its own: the next response)
 *
 * Each request takes the next response; when they run out, the transport
 * fails the request with -ECONNRESET.  It records every request (method,
 * URL, body) so that targets can check what the client sent.
 */
#ifndef QLIKFS_FUZZ_COMMON_H
#define QLIKFS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/auth.h"
#include "http/http.h"
#include "client/qclient.h"

/* Aborts (a crash libFuzzer reports) with a message when cond is false. */
#define FZ_CHECK(cond)                                                                       \
	do {                                                                                 \
		if (!(cond))                                                                 \
			fz_fail(__FILE__, __LINE__, #cond);                                  \
	} while (0)
void fz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* A malloc'd NUL-terminated copy of data[0..len). */
char *fz_strndup(const uint8_t *data, size_t len);

/* Splits s in place at each occurrence of sep (the separators are
 * overwritten with NULs); fills at most max pointers and returns how many
 * pieces there are (at least 1). */
size_t fz_split(char *s, const char *sep, char **out, size_t max);

struct fz_request {
	char *method, *url, *body; /* body NULL when none */
	size_t body_len;
	bool auth;                 /* carried an Authorization header */
};

struct fz_transport {
	struct http_transport base;
	char **resp;             /* the response texts (borrowed) */
	size_t n_resp, next;
	struct fz_request *req;  /* what was sent (owned) */
	size_t n_req;
};

/* A transport answering from the n responses (borrowed, must outlive it). */
void fz_transport_init(struct fz_transport *t, char **responses, size_t n);
void fz_transport_clear(struct fz_transport *t);

/* Parses one response text into resp (as the transport does). */
void fz_parse_response(const char *text, struct http_response *resp);

/* A credential that never changes ("Bearer fuzz"); refresh fails. */
struct qauth *fz_auth(void);

/* A client of https://tenant.example over t: one attempt, 500 ms budget
 * (so that a Retry-After never makes it sleep).  NULL on OOM. */
struct qclient *fz_client(struct fz_transport *t);

#endif
