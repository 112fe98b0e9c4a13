/*
 * test_http_fault.c - the fault-injecting transport: its spec parser, each
 * kind of fault against a canned inner transport, determinism from the seed,
 * the rate, maxrun/match/onfile, and the Qlik client riding out 10% faults.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/auth.h"
#include "check.h"
#include "http/http_fault.h"
#include "client/qclient.h"

/* The inner transport: 200 with a JSON body of `size` bytes; counts calls. */
struct inner {
	struct http_transport base;
	size_t size;
	int calls;
};

static char *json_body(size_t size)
{
	char *b = malloc(size + 1);
	memset(b, ' ', size);
	memcpy(b, "{\"data\":\"", 9);
	memset(b + 9, 'x', size - 11);
	memcpy(b + size - 2, "\"}", 2);
	b[size] = '\0';
	return b;
}

static int inner_perform(struct http_transport *t, const struct http_request *req,
			 struct http_response *resp)
{
	struct inner *in = (struct inner *)t;
	__atomic_add_fetch(&in->calls, 1, __ATOMIC_SEQ_CST);
	char *b = json_body(in->size);
	resp->status = 200;
	http_response_add_header(resp, "Content-Type", "application/json");
	if (req->sink) {
		int rc = 0;
		for (size_t off = 0; off < in->size && rc == 0; off += 1000) {
			size_t n = in->size - off < 1000 ? in->size - off : 1000;
			rc = req->sink(req->sink_arg, b + off, n);
		}
		free(b);
		if (rc < 0)
			http_response_clear(resp);
		return rc;
	}
	resp->body = b;
	resp->body_len = in->size;
	return 0;
}

static void inner_destroy(struct http_transport *t)
{
	free(t);
}

static const struct http_transport_ops inner_ops = { inner_perform, inner_destroy };

static struct inner *inner_new(size_t size)
{
	struct inner *in = calloc(1, sizeof(*in));
	in->base.ops = &inner_ops;
	in->size = size;
	return in;
}

static struct http_transport *wrap(const char *spec, struct inner **in, size_t size)
{
	struct http_fault_cfg cfg;
	char err[256];
	if (http_fault_parse(spec, &cfg, err, sizeof(err))) {
		fprintf(stderr, "spec %s: %s\n", spec, err);
		return NULL;
	}
	*in = inner_new(size);
	return http_fault_new(&(*in)->base, &cfg);
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int get(struct http_transport *t, const char *url, long timeout_ms,
	       struct http_response *resp)
{
	struct http_request req = { .method = "GET", .url = url, .timeout_ms = timeout_ms };
	memset(resp, 0, sizeof(*resp));
	return http_perform(t, &req, resp);
}

struct buf {
	size_t len;
};

static int count_sink(void *arg, const char *data, size_t len)
{
	(void)data;
	((struct buf *)arg)->len += len;
	return 0;
}

static void test_parse(void)
{
	struct http_fault_cfg c;
	char err[256];
	CHECK_INT(http_fault_parse("seed=42,fail=10,storm=5,storm_len=4,retry_after=3,maxrun=2,"
				   "match=GET /api/v1/items,onfile=/tmp/x",
				   &c, err, sizeof(err)),
		  0);
	CHECK_INT(c.seed, 42);
	CHECK_INT(c.fail, 10);
	CHECK_INT(c.pct[HF_429], 5);
	CHECK_INT(c.storm_len, 4);
	CHECK_INT(c.retry_after, 3);
	CHECK_INT(c.maxrun, 2);
	CHECK_STR(c.match, "GET /api/v1/items");
	CHECK_STR(c.onfile, "/tmp/x");
	CHECK_INT(http_fault_parse("", &c, err, sizeof(err)), 0); /* no faults at all */
	CHECK_INT(c.fail + c.pct[HF_503], 0);
	CHECK_INT(c.drip_ms, 20);

	static const char *const bad[] = {
		"fail=101", "fail=60,stall=41", "nosuch=1", "fail", "=3", "fail=-1", "fail=1x",
		"seed=abc", "seed=-4", "retry_after=601", "storm_len=99999999999999999999",
		"fail= 5", "match=\x01", NULL
	};
	for (int i = 0; bad[i]; i++) {
		err[0] = '\0';
		CHECK_INT(http_fault_parse(bad[i], &c, err, sizeof(err)), -EINVAL);
		CHECK(err[0] != '\0');
	}
	char longm[400] = "match=";
	memset(longm + 6, 'a', 300);
	CHECK_INT(http_fault_parse(longm, &c, err, sizeof(err)), -EINVAL);
	char huge[2000];
	memset(huge, ',', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	CHECK_INT(http_fault_parse(huge, &c, err, sizeof(err)), -EINVAL);
	CHECK_INT(http_fault_parse(NULL, &c, err, sizeof(err)), -EINVAL);
}

static void test_each_kind(void)
{
	struct inner *in;
	struct http_response r;
	struct http_transport *t;

	t = wrap("err503=100", &in, 100);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), 0);
	CHECK_INT(r.status, 503);
	CHECK(r.body && strstr(r.body, "HTTP-503"));
	CHECK_INT(in->calls, 0);
	http_response_clear(&r);
	http_transport_free(t);

	t = wrap("drop=100", &in, 100);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), -ECONNRESET);
	CHECK_INT(r.status, 0);
	CHECK(r.body == NULL);
	CHECK_INT(in->calls, 0);
	http_transport_free(t);

	t = wrap("lost=100", &in, 100);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), -ECONNRESET);
	CHECK(r.body == NULL && r.n_headers == 0);
	CHECK_INT(in->calls, 1); /* the server handled it */
	http_transport_free(t);

	t = wrap("trunc=100", &in, 100);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.body_len, 50);
	CHECK_INT(strlen(r.body), 50);
	http_response_clear(&r);
	http_transport_free(t);

	/* reset: part of a streamed body, then the connection drops */
	t = wrap("seed=3,reset=100", &in, 20000);
	struct buf b = { 0 };
	struct http_request req = { .method = "GET", .url = "http://h/x", .sink = count_sink,
				    .sink_arg = &b };
	memset(&r, 0, sizeof(r));
	CHECK_INT(http_perform(t, &req, &r), -ECONNRESET);
	CHECK(b.len >= 1 && b.len <= 8192);
	CHECK(r.body == NULL && r.status == 0);
	http_transport_free(t);
	/* and of a buffered one: nothing */
	t = wrap("reset=100", &in, 100);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), -ECONNRESET);
	CHECK(r.body == NULL);
	CHECK_INT(in->calls, 1);
	http_transport_free(t);

	/* stall: nothing until the request's timeout */
	t = wrap("stall=100", &in, 100);
	int64_t t0 = ms_now();
	CHECK_INT(get(t, "http://h/api/v1/a", 300, &r), -ETIMEDOUT);
	int64_t el = ms_now() - t0;
	CHECK(el >= 290 && el < 1000);
	CHECK_INT(in->calls, 0);
	http_transport_free(t);

	/* drip: 4 KiB + at 60 ms per KiB */
	t = wrap("drip=100,drip_ms=60", &in, 4500);
	t0 = ms_now();
	CHECK_INT(get(t, "http://h/api/v1/a", 5000, &r), 0);
	el = ms_now() - t0;
	CHECK(el >= 290 && el < 2000);
	CHECK_INT(r.body_len, 4500);
	http_response_clear(&r);
	t0 = ms_now();
	CHECK_INT(get(t, "http://h/api/v1/a", 150, &r), -ETIMEDOUT);
	el = ms_now() - t0;
	CHECK(el >= 140 && el < 1000);
	CHECK(r.body == NULL);
	/* streamed: paid per KiB passed */
	b.len = 0;
	req = (struct http_request){ .method = "GET", .url = "http://h/x", .sink = count_sink,
				     .sink_arg = &b, .timeout_ms = 5000 };
	t0 = ms_now();
	CHECK_INT(http_perform(t, &req, &r), 0);
	CHECK(ms_now() - t0 >= 230);
	CHECK_INT(b.len, 4500);
	http_response_clear(&r);
	http_transport_free(t);

	/* a storm: storm_len answers 429 with Retry-After, then it passes */
	t = wrap("storm=100,storm_len=3,retry_after=7,match=GET /s", &in, 100);
	CHECK_INT(get(t, "http://h/s", 1000, &r), 0);
	CHECK_INT(r.status, 429);
	CHECK_STR(http_response_header(&r, "retry-after"), "7");
	http_response_clear(&r);
	CHECK_INT(get(t, "http://h/other", 1000, &r), 0); /* not matched: passes */
	CHECK_INT(r.status, 200);
	http_response_clear(&r);
	CHECK_INT(get(t, "http://h/s2", 1000, &r), 0);
	CHECK_INT(r.status, 429);
	http_response_clear(&r);
	CHECK_INT(get(t, "http://h/s3", 1000, &r), 0);
	CHECK_INT(r.status, 429);
	http_response_clear(&r);
	struct http_fault_stats st;
	http_fault_get_stats(t, &st);
	CHECK_INT(st.requests, 4);
	CHECK_INT(st.injected[HF_429], 3);
	CHECK_INT(st.injected[HF_NONE], 1);
	http_transport_free(t);
}

/* The sequence of kinds for 300 requests over 10 URLs. */
static void run_sequence(const char *spec, char *out)
{
	struct inner *in;
	struct http_transport *t = wrap(spec, &in, 64);
	for (int i = 0; i < 300; i++) {
		char url[64];
		snprintf(url, sizeof(url), "http://h/api/v1/r%d", i % 10);
		struct http_response r;
		int rc = get(t, url, 1000, &r);
		out[i] = rc == -ECONNRESET ? 'x' : r.status == 503 ? '5' : r.body_len < 64 ? 't' : '.';
		http_response_clear(&r);
	}
	out[300] = '\0';
	http_transport_free(t);
}

static void test_deterministic_and_rate(void)
{
	char a[301], b[301], c[301];
	run_sequence("seed=11,fail=20", a);
	run_sequence("seed=11,fail=20", b);
	run_sequence("seed=12,fail=20", c);
	CHECK_STR(a, b);
	CHECK(strcmp(a, c) != 0);

	/* the rate: 10% of 3000 requests, within a wide band */
	struct inner *in;
	struct http_transport *t = wrap("seed=5,fail=10", &in, 64);
	for (int i = 0; i < 3000; i++) {
		char url[64];
		snprintf(url, sizeof(url), "http://h/api/v1/r%d", i % 97);
		struct http_response r;
		get(t, url, 1000, &r);
		http_response_clear(&r);
	}
	struct http_fault_stats st;
	http_fault_get_stats(t, &st);
	uint64_t faults = st.requests - st.injected[HF_NONE];
	CHECK(faults >= 220 && faults <= 380);
	CHECK(st.injected[HF_503] > 0 && st.injected[HF_DROP] > 0 && st.injected[HF_RESET] > 0 &&
	      st.injected[HF_TRUNC] > 0);
	CHECK_INT(st.injected[HF_STALL] + st.injected[HF_LOST] + st.injected[HF_429], 0);
	http_transport_free(t);
}

static void test_maxrun_match_onfile(void)
{
	struct inner *in;
	struct http_response r;
	struct http_transport *t = wrap("err503=100,maxrun=2", &in, 64);
	long want[] = { 503, 503, 200, 503, 503, 200 };
	for (int i = 0; i < 6; i++) {
		CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), 0);
		CHECK_INT(r.status, want[i]);
		http_response_clear(&r);
	}
	http_transport_free(t);

	t = wrap("err503=100,match=POST ", &in, 64);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), 0);
	CHECK_INT(r.status, 200);
	http_response_clear(&r);
	http_transport_free(t);

	char path[] = "/tmp/qlikfs-fault-onXXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char spec[128];
	snprintf(spec, sizeof(spec), "err503=100,onfile=%s", path);
	t = wrap(spec, &in, 64);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), 0);
	CHECK_INT(r.status, 503);
	http_response_clear(&r);
	unlink(path);
	CHECK_INT(get(t, "http://h/api/v1/a", 1000, &r), 0);
	CHECK_INT(r.status, 200);
	http_response_clear(&r);
	http_transport_free(t);
}

/* The Qlik client through 10% faults (maxrun 2 < its 5 attempts): every
 * GET succeeds with the whole body. */
static void test_client_rides_out(void)
{
	struct inner *in;
	struct http_transport *t = wrap("seed=99,fail=10,maxrun=2", &in, 300);
	struct qauth *a = auth_apikey_new("k");
	struct qclient_opts o = { .base = "http://h", .transport = t, .auth = a,
				  .timeout_ms = 20000, .max_attempts = 5 };
	struct qclient *c = qclient_new(&o);
	int ok = 0;
	for (int i = 0; i < 200; i++) {
		char url[64];
		snprintf(url, sizeof(url), "/api/v1/items/%d", i % 40);
		cJSON *j = NULL;
		char err[512];
		if (qclient_get_json(c, url, &j, err, sizeof(err)) == 0 &&
		    strlen(cJSON_GetObjectItem(j, "data")->valuestring) == 289)
			ok++;
		else
			fprintf(stderr, "%s\n", err);
		cJSON_Delete(j);
	}
	CHECK_INT(ok, 200);
	struct http_fault_stats st;
	http_fault_get_stats(t, &st);
	CHECK(st.requests > 210); /* faults were injected and retried */
	qclient_free(c);
	auth_free(a);
	http_transport_free(t);
}

static void test_from_env(void)
{
	struct inner *in = inner_new(64);
	struct http_transport *t = &in->base;
	char err[256] = "";
	unsetenv("QLIKFS_FAULT");
	CHECK_INT(http_fault_from_env(&t, err, sizeof(err)), 0);
	CHECK(t == &in->base); /* off unless asked for */
	setenv("QLIKFS_FAULT", "fail=200", 1);
	CHECK_INT(http_fault_from_env(&t, err, sizeof(err)), -EINVAL);
	CHECK(t == &in->base);
	setenv("QLIKFS_FAULT", "err503=100,seed=1", 1);
	CHECK_INT(http_fault_from_env(&t, err, sizeof(err)), 0);
	CHECK(t != &in->base);
	struct http_response r;
	CHECK_INT(get(t, "http://h/", 1000, &r), 0);
	CHECK_INT(r.status, 503);
	http_response_clear(&r);
	unsetenv("QLIKFS_FAULT");
	http_transport_free(t); /* frees the inner one too */
}

int main(void)
{
	test_parse();
	test_each_kind();
	test_deterministic_and_rate();
	test_maxrun_match_onfile();
	test_client_rides_out();
	test_from_env();
	return check_done();
}
