/*
 * fuzz_errbody.c - error responses -> errno and message (qclient.c's
 * qclient_error_text(), errmap.c's errmap_http()), and the whole client
 * path a failed call takes.
 *
 * Input: one response as fuzz_common.h describes ("404\n\n{"errors":[...]}").
 * Invariants: the code and text buffers are NUL-terminated within their
 * size whatever the body; errmap_http() gives one errno of the README's
 * table; qclient_call() on a status >= 400 returns exactly
 * errmap_http(status, first error code, op), with a NUL-terminated message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/errmap.h"
#include "fuzz_common.h"
#include "client/qclient.h"

static bool in_table(int e)
{
	static const int ok[] = { -EINVAL, -EACCES, -ENOENT, -EOPNOTSUPP, -ESTALE, -EBUSY,
				  -EEXIST, -ENOTEMPTY, -EFBIG, -EDQUOT, -EIO };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (e == ok[i])
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *in = fz_strndup(data, size);
	struct http_response hr;
	fz_parse_response(in, &hr);

	/* the body alone, into buffers of every small size */
	char code[64], text[384];
	for (size_t n = 0; n < 4; n++) {
		char c1[4] = "xxx", t1[4] = "xxx";
		qclient_error_text(hr.body, c1, n, t1, n);
		if (n) {
			FZ_CHECK(memchr(c1, '\0', n) && memchr(t1, '\0', n));
		} else {
			FZ_CHECK(!strcmp(c1, "xxx") && !strcmp(t1, "xxx"));
		}
	}
	qclient_error_text(hr.body, code, sizeof(code), text, sizeof(text));
	FZ_CHECK(memchr(code, '\0', sizeof(code)) && memchr(text, '\0', sizeof(text)));
	for (int op = QOP_READ; op <= QOP_RENAME; op++)
		FZ_CHECK(in_table(errmap_http(hr.status, code[0] ? code : NULL, op)));

	/* through the client, for each kind of operation */
	static const char *methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };
	for (int op = QOP_READ; op <= QOP_RENAME; op++) {
		char *resp[1] = { in };
		struct fz_transport t;
		fz_transport_init(&t, resp, 1);
		struct qclient *qc = fz_client(&t);
		FZ_CHECK(qc);
		struct qcall call = { .method = methods[op], .url = "/api/v1/spaces/x", .op = op,
				      .body = op == QOP_READ ? NULL : "{}",
				      .body_len = op == QOP_READ ? 0 : 2 };
		struct qresp r;
		int rc = qclient_call(qc, &call, &r);
		FZ_CHECK(memchr(r.errmsg, '\0', sizeof(r.errmsg)));
		if (hr.status >= 400) {
			FZ_CHECK(rc == errmap_http(hr.status, code[0] ? code : NULL, op));
			FZ_CHECK(r.errmsg[0]);
		}
		if (rc == 0)
			FZ_CHECK(r.status >= 200 && r.status < 300);
		qresp_clear(&r);
		qclient_free(qc);
		fz_transport_clear(&t);
	}
	http_response_clear(&hr);
	free(in);
	return 0;
}
