/*
 * fuzz_rawreq.c - the `api` control file: request documents
 * (rawreq_parse.c) and the answer written back (rawreq.c), over a scripted
 * tenant.
 *
 * Input: "DOCUMENT\n%%\nRESPONSE..." (fuzz_common.h).  Invariants:
 *  - a refused document gets -EINVAL or -E2BIG and a message; an accepted
 *    one respects the documented bounds (path length, query and header
 *    counts, no refused or CR/LF header, at most one body, timeout and
 *    retries in range);
 *  - the request goes to the tenant's origin with the credentials, which
 *    never follow a redirect elsewhere;
 *  - in "json" mode the answer file always holds one JSON document with
 *    "status" and "ok"; in text/binary mode a failure writes nothing.
 * The document's own retry policy is replaced by one attempt within 500 ms
 * so that a run never sleeps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "actions/rawreq_internal.h"
#include "util/url.h"

#define MAX_RESP 8

static char *read_all(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	FZ_CHECK(end >= 0);
	char *b = malloc((size_t)end + 1);
	FZ_CHECK(b);
	FZ_CHECK(pread(fd, b, (size_t)end, 0) == end);
	b[end] = '\0';
	*len = (size_t)end;
	return b;
}

static void check_parsed(const struct rawreq *rq)
{
	FZ_CHECK(rq->path && strlen(rq->path) <= PATH_MAX_LEN);
	FZ_CHECK(rq->nq <= MAX_QUERY && rq->nh <= MAX_HEADERS);
	for (size_t i = 0; i < rq->nh; i++) {
		FZ_CHECK(qclient_header_allowed(rq->h[i].name));
		FZ_CHECK(!strpbrk(rq->h[i].value, "\r\n"));
		FZ_CHECK(strlen(rq->h[i].value) <= HEADER_VALUE_MAX);
	}
	FZ_CHECK(rq->timeout_ms >= 0 && rq->timeout_ms <= (long)(MAX_TIMEOUT_S * 1000));
	FZ_CHECK(rq->max_attempts >= 0 && rq->max_attempts <= MAX_RETRIES + 1);
	FZ_CHECK(rq->delay_ms >= 0 && rq->delay_ms <= (long)(MAX_DELAY_S * 1000));
	FZ_CHECK(rq->body_kind == BODY_MULTIPART ? rq->nparts > 0 : rq->nparts == 0);
	static const char *methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	bool known = false;
	for (size_t i = 0; i < 5; i++)
		known |= !strcmp(rq->method, methods[i]);
	FZ_CHECK(known);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *in = fz_strndup(data, size);
	char *part[MAX_RESP + 1];
	size_t n = fz_split(in, "\n%%\n", part, MAX_RESP + 1);
	if (n > MAX_RESP + 1)
		n = MAX_RESP + 1;

	struct rawreq *rq = NULL;
	char err[512] = "";
	int rc = rawreq_parse(part[0], strlen(part[0]), &rq, err, sizeof(err));
	if (rc) {
		FZ_CHECK((rc == -EINVAL || rc == -E2BIG) && !rq && err[0]);
		free(in);
		return 0;
	}
	check_parsed(rq);
	rq->max_attempts = 1;
	rq->timeout_ms = 500;
	rq->delay_ms = 0;

	struct fz_transport t;
	fz_transport_init(&t, part + 1, n - 1);
	struct qclient *qc = fz_client(&t);
	FZ_CHECK(qc);
	int fd = memfd_create("rawreq-out", MFD_CLOEXEC);
	FZ_CHECK(fd >= 0);
	struct rawreq_result res;
	struct rawreq_opts o = { NULL, NULL };
	rc = rawreq_perform(qc, rq, &o, fd, &res);
	size_t len = 0;
	char *out = read_all(fd, &len);
	FZ_CHECK(memchr(res.error, '\0', sizeof(res.error)));
	FZ_CHECK(memchr(res.content_type, '\0', sizeof(res.content_type)));
	/* the document's request goes to the tenant, with the credentials; a
	 * redirect may lead elsewhere, but never with them */
	if (t.n_req)
		FZ_CHECK(url_same_origin(t.req[0].url, "https://tenant.example") && t.req[0].auth);
	for (size_t i = 0; i < t.n_req; i++)
		if (t.req[i].auth)
			FZ_CHECK(url_same_origin(t.req[i].url, "https://tenant.example"));
	if (rawreq_response_kind(rq) == RAWREQ_JSON) {
		if (rc == 0) {
			cJSON *j = cJSON_ParseWithLength(out, len);
			FZ_CHECK(cJSON_IsObject(j));
			FZ_CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "status")));
			FZ_CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "ok")));
			FZ_CHECK(len == res.size);
			cJSON_Delete(j);
		} else {
			FZ_CHECK(rc == -EPERM || rc == -ENOMEM);
		}
	} else if (rc) {
		FZ_CHECK(len == 0);
	} else {
		FZ_CHECK(res.status >= 200 && res.status < 300 && len == res.size);
	}
	free(out);
	close(fd);
	qclient_free(qc);
	fz_transport_clear(&t);
	rawreq_free(rq);
	free(in);
	return 0;
}
