/*
 * fuzz_listing.c - list pages and their pagination (qclient_list_ex():
 * links.next.href cursors, 0-based offset pages, "total"), with the
 * client's handling of statuses, redirects, Location, Date and Retry-After
 * headers around them.
 *
 * Input: responses as fuzz_common.h describes, "\n%%\n" between them; the
 * first line may be "#sorted" (the callback then stops like the change
 * poller does on a sorted listing).  Invariants:
 *  - the walk sends at most one request per response (+1 for the one that
 *    finds none), and counts exactly the elements its callback saw;
 *  - the Authorization header only ever goes to the tenant's origin;
 *  - only GETs are sent; pages fetched <= requests sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "client/qclient.h"
#include "res/restab.h"
#include "util/url.h"

#define MAX_RESP 64

struct seen {
	long n;
	int64_t last_t;
	bool stop_sorted;
};

static int on_item(void *arg, const cJSON *item)
{
	struct seen *s = arg;
	const struct rtype *rt = restab_get((enum rkind)(s->n % RK_COUNT));
	(void)restab_id(rt, item);
	(void)restab_name(rt, item);
	int64_t t = restab_mtime_ms(rt, item);
	s->n++;
	if (s->stop_sorted && s->n > 1 && t < s->last_t)
		return QLIST_STOP;
	s->last_t = t;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 17)
		return 0;
	char *in = fz_strndup(data, size), *body = in;
	struct seen s = { 0 };
	if (!strncmp(body, "#sorted\n", 8)) {
		s.stop_sorted = true;
		body += 8;
	}
	char *resp[MAX_RESP];
	size_t n = fz_split(body, "\n%%\n", resp, MAX_RESP);
	if (n > MAX_RESP)
		n = MAX_RESP;

	struct fz_transport t;
	fz_transport_init(&t, resp, n);
	struct qclient *qc = fz_client(&t);
	FZ_CHECK(qc);
	struct qlist_info info;
	char err[512];
	long got = qclient_list_ex(qc, "/api/v1/items?resourceType=app&limit=100", on_item, &s,
				   &info, err, sizeof(err));
	FZ_CHECK(got < 0 || got == s.n);
	if (got < 0)
		FZ_CHECK(memchr(err, '\0', sizeof(err)));
	FZ_CHECK(t.n_req <= n + 1);
	FZ_CHECK(info.pages >= 1 && (size_t)info.pages <= t.n_req);
	for (size_t i = 0; i < t.n_req; i++) {
		if (t.req[i].auth)
			FZ_CHECK(url_same_origin(t.req[i].url, "https://tenant.example"));
		FZ_CHECK(!strcmp(t.req[i].method, "GET"));
	}
	qclient_free(qc);
	fz_transport_clear(&t);
	free(in);
	return 0;
}
