/*
 * test_opsfiles.c - the pure parts of the operations files: the trace
 * line's URL redaction (hostile input included), the errors file's bound and
 * offsets, and the counters of the status file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/errlog.h"
#include "http/http_obs.h"
#include "util/opstats.h"

static void test_redact(void)
{
	char out[256];
	http_obs_redact("https://u:pw@acme.qlikcloud.com/api/v1/spaces?limit=100&next=abc#frag", out,
			sizeof(out));
	CHECK_STR(out, "/api/v1/spaces?limit=100&next=abc");
	http_obs_redact("http://h/x?access_token=s3cr3t&limit=1&X-Amz-Signature=zz&apiKey=k&code=c",
			out, sizeof(out));
	CHECK_STR(out, "/x?access_token=REDACTED&limit=1&X-Amz-Signature=REDACTED&apiKey=REDACTED"
		       "&code=REDACTED");
	CHECK(!strstr(out, "s3cr3t"));
	http_obs_redact("http://h", out, sizeof(out));
	CHECK_STR(out, "/");
	http_obs_redact("/rel?flag&&token=&=v", out, sizeof(out));
	CHECK_STR(out, "/rel?flag&&token=REDACTED&=v");
	/* truncation never overruns and never leaves a secret's start */
	http_obs_redact("http://h/p?token=abcdefghijklmnop", out, 12);
	CHECK_INT(strlen(out), 11);
	CHECK(!strstr(out, "abc"));
	char big[70000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "http://h/?", 10);
	http_obs_redact(big, out, sizeof(out));
	CHECK_INT(strlen(out), sizeof(out) - 1);
}

static void test_errlog(void)
{
	struct errlog *e = errlog_new(4096);
	char buf[8192];
	CHECK(e);
	CHECK_INT(errlog_size(e), 0);
	CHECK_INT(errlog_read(e, buf, sizeof(buf), 0), 0);
	CHECK_INT(errlog_add(e, "close", "apps/a\tb\n(x).json", -EACCES, "HTTP 403: no"), 0);
	ssize_t n = errlog_read(e, buf, sizeof(buf), 0);
	CHECK(n > 0 && (uint64_t)n == errlog_size(e));
	buf[n] = '\0';
	CHECK(strstr(buf, "\tclose\tapps/a?b?(x).json\tEACCES\tHTTP 403: no\n") != NULL);
	CHECK_INT(strchr(buf, '\n') - buf, n - 1); /* one line */
	/* offsets: a reader at the end sees only what came after */
	CHECK_INT(errlog_add(e, "rename", "x", EINVAL, NULL), 0);
	ssize_t m = errlog_read(e, buf, sizeof(buf), n);
	buf[m] = '\0';
	CHECK(strstr(buf, "\trename\tx\tEINVAL\tInvalid argument\n") != NULL);
	/* bounded: old lines go, whole */
	for (int i = 0; i < 200; i++)
		errlog_add(e, "close", "some/long/path/name.json", EIO, "the tenant said no");
	CHECK(errlog_size(e) <= 4096);
	CHECK_INT(errlog_count(e), 202);
	n = errlog_read(e, buf, sizeof(buf), 0);
	CHECK(n > 0 && buf[n - 1] == '\n' && buf[0] >= '0' && buf[0] <= '9');
	errlog_free(e);
	errlog_free(NULL);
}

static void test_opstats(void)
{
	struct opstats_totals t0, t1;
	opstats_get(&t0);
	struct opstats_http ev = { .method = "GET", .status = 429, .retry = 0 };
	opstats_http(&ev);
	ev.status = 200;
	ev.retry = 1;
	opstats_http(&ev);
	ev.method = "BREW";
	ev.status = 0;
	ev.rc = -ECONNREFUSED;
	ev.retry = 0;
	opstats_http(&ev);
	opstats_ratelimit_wait(1500);
	struct opstats_op *op = opstats_op_begin("upload", "q.csv", 1000);
	opstats_op_bytes(250, 10);
	opstats_get(&t1);
	CHECK_INT(t1.requests - t0.requests, 3);
	CHECK_INT(t1.rate_limited - t0.rate_limited, 1);
	CHECK_INT(t1.retries - t0.retries, 1);
	CHECK_INT(t1.failed - t0.failed, 1);
	CHECK_INT(t1.waited_ms - t0.waited_ms, 1500);
	CHECK_INT(t1.sent - t0.sent, 250);
	CHECK_INT(t1.ops, 1);
	cJSON *o = cJSON_CreateObject();
	CHECK_INT(opstats_to_json(o), 0);
	const cJSON *ops = cJSON_GetObjectItem(o, "operations");
	const cJSON *first = cJSON_GetArrayItem(ops, 0);
	CHECK_INT(cJSON_GetArraySize(ops), 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "kind")), "upload");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "percent")), 25);
	const cJSON *get = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "requests"),
								  "by_method"), "GET");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(get, "4xx")), 1);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(get, "2xx")), 1);
	cJSON_Delete(o);
	opstats_op_end(op);
	opstats_op_end(NULL);
	opstats_get(&t1);
	CHECK_INT(t1.ops, 0);
	/* the retry number is taken once */
	opstats_set_retry(3);
	CHECK_INT(opstats_take_retry(), 3);
	CHECK_INT(opstats_take_retry(), 0);
}

int main(void)
{
	test_redact();
	test_errlog();
	test_opstats();
	return check_done();
}
