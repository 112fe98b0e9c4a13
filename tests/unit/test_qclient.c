/*
 * test_qclient.c - the Qlik client against a scripted transport: each test
 * pairs canned replies with the exact requests the client must send.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/auth.h"
#include "check.h"
#include "client/qclient.h"

#define MAXR 64

struct canned {
	long status;        /* 0 = transport error `err` */
	int err;
	const char *body;
	const char *hdr[2]; /* name, value */
	long delay_ms;
};

struct fake {
	struct http_transport base;
	pthread_mutex_t lock;
	struct canned replies[MAXR];
	int n, next;
	char *urls[MAXR];
	char *methods[MAXR];
	char *bodies[MAXR]; /* the request body as sent (a source is read whole) */
	char *hdrs[MAXR];   /* "name: value\n" for every request header */
	int had_auth[MAXR];
	int sent;
};

static int fake_perform(struct http_transport *t, const struct http_request *req,
			struct http_response *resp)
{
	struct fake *f = (struct fake *)t;
	pthread_mutex_lock(&f->lock);
	int i = f->sent++;
	f->urls[i] = strdup(req->url);
	f->methods[i] = strdup(req->method);
	size_t hl = 1;
	for (size_t h = 0; h < req->n_headers; h++) {
		if (!strcmp(req->headers[h].name, "Authorization"))
			f->had_auth[i] = 1;
		hl += strlen(req->headers[h].name) + strlen(req->headers[h].value) + 3;
	}
	f->hdrs[i] = calloc(1, hl);
	for (size_t h = 0; h < req->n_headers; h++)
		sprintf(f->hdrs[i] + strlen(f->hdrs[i]), "%s: %s\n", req->headers[h].name,
			req->headers[h].value);
	struct canned c = f->next < f->n ? f->replies[f->next++] : (struct canned){ 500, 0, "{}", { 0 }, 0 };
	pthread_mutex_unlock(&f->lock);
	if (req->source) {
		size_t len = (size_t)req->source->len;
		char *b = calloc(1, len + 1);
		for (size_t off = 0; off < len;) {
			ssize_t r = req->source->read(req->source->arg, off, b + off, len - off);
			if (r <= 0) {
				free(b);
				return r < 0 ? (int)r : -EIO;
			}
			off += (size_t)r;
		}
		f->bodies[i] = b;
	} else if (req->body) {
		f->bodies[i] = strndup(req->body, req->body_len);
	}
	if (c.delay_ms)
		usleep((useconds_t)c.delay_ms * 1000);
	if (!c.status) {
		if (c.body && req->sink) /* part of a body, then the connection drops */
			req->sink(req->sink_arg, c.body, strlen(c.body));
		return c.err;
	}
	resp->status = c.status;
	if (c.body && req->sink && c.status >= 200 && c.status < 300) {
		int rc = req->sink(req->sink_arg, c.body, strlen(c.body));
		if (rc < 0)
			return rc;
	} else if (c.body) {
		resp->body = strdup(c.body);
		resp->body_len = strlen(c.body);
	}
	if (c.hdr[0])
		http_response_add_header(resp, c.hdr[0], c.hdr[1]);
	return 0;
}

static void fake_destroy(struct http_transport *t)
{
	struct fake *f = (struct fake *)t;
	for (int i = 0; i < f->sent; i++) {
		free(f->urls[i]);
		free(f->methods[i]);
		free(f->bodies[i]);
		free(f->hdrs[i]);
	}
	free(f);
}

static const struct http_transport_ops fake_ops = { fake_perform, fake_destroy };

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	f->base.ops = &fake_ops;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void add(struct fake *f, struct canned c)
{
	f->replies[f->n++] = c;
}

static struct qclient *client(struct fake *f, struct qauth *a, long timeout_ms)
{
	struct qclient_opts o = { .base = "https://t.example.com", .transport = &f->base,
				  .auth = a, .timeout_ms = timeout_ms, .max_attempts = 4 };
	return qclient_new(&o);
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_get_ok_and_error_text(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 200, 0, "{\"x\":1}", { 0 }, 0 });
	add(f, (struct canned){ 404, 0, "{\"errors\":[{\"code\":\"USERS-7\",\"title\":\"Not found\",\"detail\":\"no such user\",\"status\":404}]}", { 0 }, 0 });
	struct qclient *c = client(f, a, 5000);
	cJSON *j = NULL;
	char err[512];
	CHECK_INT(qclient_get_json(c, "/api/v1/spaces", &j, err, sizeof(err)), 0);
	CHECK_INT(cJSON_GetObjectItem(j, "x")->valueint, 1);
	cJSON_Delete(j);
	CHECK_STR(f->urls[0], "https://t.example.com/api/v1/spaces");
	CHECK(f->had_auth[0]);
	CHECK_INT(qclient_get_json(c, "/api/v1/users/abc", &j, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "404") && strstr(err, "USERS-7") && strstr(err, "no such user"));
	CHECK(strstr(err, "Bearer") == NULL);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_retry_5xx_then_ok(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 503, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 0, -ECONNRESET, NULL, { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "{\"ok\":true}", { 0 }, 0 });
	struct qclient *c = client(f, a, 10000);
	cJSON *j = NULL;
	CHECK_INT(qclient_get_json(c, "/api/v1/items", &j, NULL, 0), 0);
	CHECK_INT(f->sent, 3);
	cJSON_Delete(j);
	struct qclient_stats st;
	qclient_get_stats(c, &st);
	CHECK_INT(st.requests, 3);
	CHECK_INT(st.retries, 2);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_post_not_retried(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 503, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	struct qclient *c = client(f, a, 10000);
	struct qcall call = { .method = "POST", .url = "/api/v1/spaces", .body = "{}", .body_len = 2,
			      .op = QOP_CREATE };
	struct qresp r;
	CHECK_INT(qclient_call(c, &call, &r), -EIO);
	CHECK_INT(f->sent, 1);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_429_retry_after(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 429, 0, "{\"errors\":[{\"code\":\"HTTP-429\",\"title\":\"API rate limit reached.\"}]}",
				{ "Retry-After", "1" }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	struct qclient *c = client(f, a, 10000);
	struct qcall call = { .method = "POST", .url = "/api/v1/spaces", .body = "{}", .body_len = 2,
			      .op = QOP_CREATE };
	struct qresp r;
	int64_t t0 = ms_now();
	CHECK_INT(qclient_call(c, &call, &r), 0); /* a 429 was not processed: POST retried */
	int64_t el = ms_now() - t0;
	CHECK(el >= 950 && el < 3000);
	CHECK_INT(f->sent, 2);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_429_beyond_budget(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 429, 0, "{}", { "retry-after", "30" }, 0 });
	struct qclient *c = client(f, a, 2000);
	cJSON *j = NULL;
	char err[512];
	int64_t t0 = ms_now();
	CHECK_INT(qclient_get_json(c, "/api/v1/items", &j, err, sizeof(err)), -EIO);
	CHECK(ms_now() - t0 < 1000); /* gives up at once: waiting would break the budget */
	CHECK(strstr(err, "429") != NULL);
	qclient_free(c);
	http_transport_free(&f->base);
}

/* With a bound on rate-limit waits, a Retry-After longer than the call's
 * timeout slows the call instead of failing it, and 429s are not attempts. */
static void test_429_ratelimit_bound(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 429, 0, "{}", { "retry-after", "2" }, 0 });
	add(f, (struct canned){ 429, 0, "{}", { "retry-after", "1" }, 0 });
	add(f, (struct canned){ 200, 0, "{\"ok\":1}", { 0 }, 0 });
	struct qclient_opts o = { .base = "https://t.example.com", .transport = &f->base,
				  .auth = a, .timeout_ms = 1000, .max_attempts = 2,
				  .ratelimit_wait_ms = 5000 };
	struct qclient *c = qclient_new(&o);
	cJSON *j = NULL;
	char err[512] = "";
	int64_t t0 = ms_now();
	CHECK_INT(qclient_get_json(c, "/api/v1/items", &j, err, sizeof(err)), 0);
	int64_t el = ms_now() - t0;
	CHECK(el >= 2950 && el < 4500);
	CHECK_INT(f->sent, 3);
	cJSON_Delete(j);
	qclient_free(c);
	http_transport_free(&f->base);

	/* a wait beyond the bound fails at once */
	f = fake_new();
	add(f, (struct canned){ 429, 0, "{}", { "retry-after", "30" }, 0 });
	o.transport = &f->base;
	o.timeout_ms = 60000;
	o.ratelimit_wait_ms = 2000;
	c = qclient_new(&o);
	t0 = ms_now();
	CHECK_INT(qclient_get_json(c, "/api/v1/items", &j, err, sizeof(err)), -EIO);
	CHECK(ms_now() - t0 < 1000);
	CHECK(strstr(err, "bound on rate-limit waits") != NULL);
	CHECK_INT(f->sent, 1);
	qclient_free(c);
	http_transport_free(&f->base);
}

/* A 2xx body announced as JSON that does not parse was cut on the way: a GET
 * is sent again, a POST (applied) is not. */
static void test_cut_json_retried(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 200, 0, "{\"data\":[{\"id\":", { "content-type", "application/json" }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[]}", { "content-type", "application/json" }, 0 });
	struct qclient *c = client(f, a, 5000);
	cJSON *j = NULL;
	char err[512] = "";
	CHECK_INT(qclient_get_json(c, "/api/v1/items", &j, err, sizeof(err)), 0);
	CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "data")));
	CHECK_INT(f->sent, 2);
	cJSON_Delete(j);

	f->next = f->n = 0;
	add(f, (struct canned){ 201, 0, "{\"id\":", { "content-type", "application/json" }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { "content-type", "application/json" }, 0 });
	struct qcall call = { .method = "POST", .url = "/api/v1/spaces", .body = "{}",
			      .body_len = 2, .op = QOP_CREATE };
	struct qresp r;
	CHECK_INT(qclient_call(c, &call, &r), 0);
	CHECK(r.json == NULL);
	CHECK_INT(r.attempts, 1);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_dead_network_bounded(struct qauth *a)
{
	struct fake *f = fake_new();
	for (int i = 0; i < 10; i++)
		add(f, (struct canned){ 0, -ECONNREFUSED, NULL, { 0 }, 0 });
	struct qclient *c = client(f, a, 1500);
	cJSON *j = NULL;
	char err[512];
	int64_t t0 = ms_now();
	CHECK_INT(qclient_get_json(c, "/api/v1/items", &j, err, sizeof(err)), -EIO);
	CHECK(ms_now() - t0 < 1600);
	CHECK(f->sent >= 2 && f->sent <= 4);
	CHECK(strstr(err, "connection refused") != NULL);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_redirect_auth(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 301, 0, NULL, { "Location", "/api/v1/users/u1" }, 0 });
	add(f, (struct canned){ 200, 0, "{\"id\":\"u1\"}", { 0 }, 0 });
	add(f, (struct canned){ 302, 0, NULL, { "Location", "https://evil.example.net/x" }, 0 });
	add(f, (struct canned){ 200, 0, "{}", { 0 }, 0 });
	struct qclient *c = client(f, a, 5000);
	cJSON *j = NULL;
	CHECK_INT(qclient_get_json(c, "/api/v1/users/me", &j, NULL, 0), 0);
	CHECK_STR(f->urls[1], "https://t.example.com/api/v1/users/u1");
	CHECK(f->had_auth[1]);
	cJSON_Delete(j);
	CHECK_INT(qclient_get_json(c, "/api/v1/other", &j, NULL, 0), 0);
	CHECK_STR(f->urls[3], "https://evil.example.net/x");
	CHECK(!f->had_auth[3]); /* never to another host */
	cJSON_Delete(j);
	qclient_free(c);
	http_transport_free(&f->base);
}

static int count_item(void *arg, const cJSON *item)
{
	(void)item;
	(*(int *)arg)++;
	return 0;
}

static void test_pagination_styles(struct qauth *a)
{
	struct fake *f = fake_new();
	/* cursor: links.next.href, absolute, then null at the end */
	add(f, (struct canned){ 200, 0, "{\"data\":[{},{}],\"links\":{\"next\":{\"href\":\"https://t.example.com/api/v1/items?limit=2&next=abc\"}}}", { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[{}],\"links\":{\"next\":{\"href\":null}}}", { 0 }, 0 });
	/* offset pages without next links */
	add(f, (struct canned){ 200, 0, "{\"data\":[{},{}],\"page\":0,\"pages\":2,\"total\":3,\"limit\":2,\"links\":{}}", { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[{}],\"page\":1,\"pages\":2,\"total\":3,\"limit\":2,\"links\":{}}", { 0 }, 0 });
	/* a next link to another origin is kept on the tenant */
	add(f, (struct canned){ 200, 0, "{\"data\":[{}],\"links\":{\"next\":{\"href\":\"https://other.example.org/api/v1/users?next=z\"}}}", { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[]}", { 0 }, 0 });
	struct qclient *c = client(f, a, 5000);
	int n = 0, pages = 0;
	CHECK_INT(qclient_list(c, "/api/v1/items?limit=2", count_item, &n, &pages, NULL, 0), 3);
	CHECK_INT(pages, 2);
	CHECK_STR(f->urls[1], "https://t.example.com/api/v1/items?limit=2&next=abc");
	n = 0;
	CHECK_INT(qclient_list(c, "/api/v1/data-stores?limit=2", count_item, &n, &pages, NULL, 0), 3);
	CHECK_STR(f->urls[3], "https://t.example.com/api/v1/data-stores?limit=2&page=1");
	n = 0;
	CHECK_INT(qclient_list(c, "/api/v1/users", count_item, &n, &pages, NULL, 0), 1);
	CHECK_STR(f->urls[5], "https://t.example.com/api/v1/users?next=z");
	qclient_free(c);
	http_transport_free(&f->base);
}

static int stop_at_two(void *arg, const cJSON *item)
{
	(void)item;
	return ++*(int *)arg >= 2 ? QLIST_STOP : 0;
}

static int stop_then_not(void *arg, const cJSON *item)
{
	(void)item;
	return ++*(int *)arg == 2 ? QLIST_STOP : 0;
}

/* A walk whose fn says QLIST_STOP for a page's last element does not ask for
 * the next page; a stop taken back within the page does not count; the walk
 * reports the tenant's Date of its first page. */
static void test_list_early_stop(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 200, 0, "{\"data\":[{},{},{}],\"links\":{\"next\":{\"href\":\"/api/v1/items?next=x\"}}}", { "Date", "Sun, 06 Nov 1994 08:49:37 GMT" }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[{}],\"links\":{\"next\":{\"href\":\"/api/v1/items?next=y\"}}}", { "Date", "Sun, 06 Nov 1994 08:49:38 GMT" }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[{}]}", { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[{}]}", { 0 }, 0 });
	struct qclient *c = client(f, a, 5000);
	struct qlist_info info;
	int n = 0;
	CHECK_INT(qclient_list_ex(c, "/api/v1/items", stop_at_two, &n, &info, NULL, 0), 3);
	CHECK_INT(n, 3); /* the whole first page was seen */
	CHECK_INT(info.pages, 1);
	CHECK(info.stopped);
	CHECK_INT(info.first_date_ms, 784111777000LL);
	CHECK_INT(f->sent, 1);
	/* a stop taken back: every page; a missing Date gives 0 */
	n = 0;
	CHECK_INT(qclient_list_ex(c, "/api/v1/items", stop_then_not, &n, &info, NULL, 0), 2);
	CHECK_INT(info.pages, 2);
	CHECK(!info.stopped);
	CHECK_INT(info.first_date_ms, 784111778000LL);
	n = 10;
	CHECK_INT(qclient_list_ex(c, "/api/v1/items", stop_at_two, &n, &info, NULL, 0), 1);
	CHECK(!info.stopped); /* the last page: nothing was left out */
	CHECK_INT(info.first_date_ms, 0);
	CHECK_INT(info.first_total, -1);
	qclient_free(c);
	http_transport_free(&f->base);
	/* offset pages: the totals of the first and last page */
	f = fake_new();
	add(f, (struct canned){ 200, 0, "{\"data\":[{}],\"page\":0,\"pages\":2,\"total\":2,\"limit\":1}", { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "{\"data\":[],\"page\":1,\"pages\":1,\"total\":1,\"limit\":1}", { 0 }, 0 });
	c = client(f, a, 5000);
	n = 0;
	CHECK_INT(qclient_list_ex(c, "/api/v1/data-stores?limit=1", stop_then_not, &n, &info, NULL, 0), 1);
	CHECK_INT(info.first_total, 2);
	CHECK_INT(info.last_total, 1);
	qclient_free(c);
	http_transport_free(&f->base);
}

struct thr {
	struct qclient *c;
	int rc;
};

static void *get_thread(void *arg)
{
	struct thr *t = arg;
	cJSON *j = NULL;
	t->rc = qclient_get_json(t->c, "/api/v1/spaces/s1", &j, NULL, 0);
	if (!t->rc && !cJSON_GetObjectItem(j, "id"))
		t->rc = -1;
	cJSON_Delete(j);
	return NULL;
}

static void test_single_flight(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 200, 0, "{\"id\":\"s1\"}", { 0 }, 300 });
	struct qclient *c = client(f, a, 5000);
	pthread_t th[8];
	struct thr t[8];
	for (int i = 0; i < 8; i++) {
		t[i].c = c;
		pthread_create(&th[i], NULL, get_thread, &t[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(t[i].rc, 0);
	}
	CHECK_INT(f->sent, 1);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_error_text_and_retry_after(void)
{
	char code[64], text[256];
	qclient_error_text("{\"errors\":[{\"code\":\"DF-010\",\"title\":\"Bad extension\"}]}", code,
			   sizeof(code), text, sizeof(text));
	CHECK_STR(code, "DF-010");
	CHECK_STR(text, "Bad extension");
	qclient_error_text("not json", code, sizeof(code), text, sizeof(text));
	CHECK_STR(code, "");
	CHECK_INT(qclient_retry_after_ms("7"), 7000);
	CHECK_INT(qclient_retry_after_ms("0"), 1000);
	CHECK_INT(qclient_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 1000);
	CHECK_INT(qclient_retry_after_ms("99999"), 600000);
	CHECK_INT(qclient_retry_after_ms(NULL), 1000);
}

/* ---- streaming bodies, sinks, per-call headers and retry policy ---- */

struct pat {
	struct http_body_source src;
	int fail_with;
	int reads;
};

static ssize_t pat_read(void *arg, uint64_t off, char *buf, size_t n)
{
	struct pat *p = arg;
	p->reads++;
	if (p->fail_with)
		return p->fail_with;
	if (n > p->src.len - off)
		n = (size_t)(p->src.len - off);
	if (n > 1000)
		n = 1000;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (off + i) % 26);
	return (ssize_t)n;
}

static bool is_pat(const char *b, size_t n)
{
	if (!b || strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (char)('a' + i % 26))
			return false;
	return true;
}

static void test_stream_body_retried(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 503, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 0, -ECONNRESET, NULL, { 0 }, 0 });
	add(f, (struct canned){ 201, 0, "{\"id\":\"x\"}", { 0 }, 0 });
	struct qclient *c = client(f, a, 10000);
	struct pat p = { .src = { pat_read, &p, 10000 } };
	struct qcall call = { .method = "PUT", .url = "/api/v1/data-files/x", .source = &p.src,
			      .content_type = "multipart/form-data; boundary=b", .op = QOP_UPDATE };
	struct qresp r;
	CHECK_INT(qclient_call(c, &call, &r), 0);
	CHECK_INT(r.attempts, 3);
	CHECK_INT(f->sent, 3);
	for (int i = 0; i < 3; i++) /* every attempt sent the whole body from offset 0 */
		CHECK(is_pat(f->bodies[i], 10000));
	CHECK(strstr(f->hdrs[0], "Content-Type: multipart/form-data; boundary=b\n") != NULL);
	qresp_clear(&r);

	qclient_free(c);
	http_transport_free(&f->base);

	/* the source's own failure is returned as is and not retried */
	f = fake_new();
	c = client(f, a, 10000);
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	struct pat bad = { .src = { pat_read, &bad, 10 }, .fail_with = -ENOSPC };
	call.source = &bad.src;
	CHECK_INT(qclient_call(c, &call, &r), -ENOSPC);
	CHECK(strstr(r.errmsg, "request body") != NULL);
	CHECK_INT(bad.reads, 1);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);

	/* a source defaults to application/octet-stream */
	f = fake_new();
	c = client(f, a, 10000);
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	p.src.len = 5;
	call = (struct qcall){ .method = "POST", .url = "/api/v1/temp-contents", .source = &p.src,
			       .op = QOP_CREATE };
	CHECK_INT(qclient_call(c, &call, &r), 0);
	CHECK(strstr(f->hdrs[0], "Content-Type: application/octet-stream\n") != NULL);
	CHECK_STR(f->bodies[0], "abcde");
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

struct sbuf {
	char data[256];
	size_t len;
	int resets;
};

static int sbuf_sink(void *arg, const char *d, size_t n)
{
	struct sbuf *b = arg;
	if (b->len + n >= sizeof(b->data))
		return -EFBIG;
	memcpy(b->data + b->len, d, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

static int sbuf_reset(void *arg)
{
	struct sbuf *b = arg;
	b->len = 0;
	b->data[0] = 0;
	b->resets++;
	return 0;
}

static void test_sink_retry_needs_reset(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 0, -ECONNRESET, "part", { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "whole body", { 0 }, 0 });
	struct qclient *c = client(f, a, 10000);
	struct sbuf b = { 0 };
	struct qcall call = { .method = "GET", .url = "/api/v1/temp-contents/t", .sink = sbuf_sink,
			      .sink_arg = &b, .op = QOP_READ };
	struct qresp r;
	/* bytes reached the sink and it cannot be reset: no retry */
	CHECK_INT(qclient_call(c, &call, &r), -EIO);
	CHECK_INT(f->sent, 1);
	qresp_clear(&r);
	f->next = 0;
	b = (struct sbuf){ 0 };
	call.sink_reset = sbuf_reset;
	CHECK_INT(qclient_call(c, &call, &r), 0);
	CHECK_STR(b.data, "whole body");
	CHECK_INT(b.resets, 1);
	CHECK(r.body == NULL);
	qresp_clear(&r);
	/* an error status keeps its body for the message; the sink sees nothing */
	f->next = f->n = 0;
	add(f, (struct canned){ 410, 0, "{\"errors\":[{\"title\":\"Gone\",\"detail\":\"expired\"}]}", { 0 }, 0 });
	b = (struct sbuf){ 0 };
	CHECK_INT(qclient_call(c, &call, &r), -ENOENT);
	CHECK_INT(b.len, 0);
	CHECK(strstr(r.errmsg, "expired") != NULL);
	qresp_clear(&r);
	/* the sink's own failure is returned as is */
	f->next = f->n = 0;
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	add(f, (struct canned){ 200, 0, big, { 0 }, 0 });
	b = (struct sbuf){ 0 };
	CHECK_INT(qclient_call(c, &call, &r), -EFBIG);
	CHECK(strstr(r.errmsg, "response body") != NULL);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_call_headers(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 200, 0, "hi", { "X-Reply", "yes" }, 0 });
	struct qclient *c = client(f, a, 5000);
	struct http_header h[] = { { "X-Trace", "t1" }, { "accept", "text/plain" } };
	struct qcall call = { .method = "GET", .url = "/api/v1/x", .headers = h, .n_headers = 2,
			      .want_headers = true, .op = QOP_READ };
	struct qresp r;
	CHECK_INT(qclient_call(c, &call, &r), 0);
	CHECK(strstr(f->hdrs[0], "X-Trace: t1\n") != NULL);
	CHECK(strstr(f->hdrs[0], "accept: text/plain\n") != NULL);
	CHECK(strstr(f->hdrs[0], "application/json") == NULL); /* replaced, not doubled */
	CHECK(strstr(f->hdrs[0], "Authorization: Bearer secret-key\n") != NULL);
	CHECK_INT(r.n_headers, 1);
	CHECK_STR(r.headers[0].name, "x-reply");
	CHECK_STR(r.headers[0].value, "yes");
	qresp_clear(&r);
	const char *refused[] = { "Authorization", "host", "Content-Length", "Cookie",
				  "Transfer-Encoding", "" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct http_header bad[] = { { (char *)refused[i], "x" } };
		call.headers = bad;
		call.n_headers = 1;
		CHECK_INT(qclient_call(c, &call, &r), -EINVAL);
		CHECK(strstr(r.errmsg, "may not be set") != NULL);
		qresp_clear(&r);
	}
	CHECK_INT(f->sent, 1); /* refused calls send nothing */
	CHECK(qclient_header_allowed("qlik-api-version"));
	CHECK(!qclient_header_allowed("PROXY-AUTHORIZATION"));
	qclient_free(c);
	http_transport_free(&f->base);
}

static void test_own_retry_policy(struct qauth *a)
{
	struct fake *f = fake_new();
	/* retry_all: a POST retried on 400 and 500, fixed delay */
	add(f, (struct canned){ 400, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 500, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	struct qclient *c = client(f, a, 10000);
	struct qcall call = { .method = "POST", .url = "/api/v1/spaces", .body = "{}",
			      .body_len = 2, .op = QOP_CREATE, .retry_all = true,
			      .max_attempts = 3, .retry_delay_ms = 100, .retry_fixed = true };
	struct qresp r;
	int64_t t0 = ms_now();
	CHECK_INT(qclient_call(c, &call, &r), 0);
	int64_t el = ms_now() - t0;
	CHECK(el >= 200 && el < 1000);
	CHECK_INT(r.attempts, 3);
	qresp_clear(&r);

	/* doubling delay: 100 + 200 + 400 ms before the 4th attempt */
	f->next = f->n = 0;
	for (int i = 0; i < 3; i++)
		add(f, (struct canned){ 503, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 200, 0, "{}", { 0 }, 0 });
	call = (struct qcall){ .method = "GET", .url = "/api/v1/items", .op = QOP_READ,
			       .max_attempts = 4, .retry_delay_ms = 100 };
	t0 = ms_now();
	CHECK_INT(qclient_call(c, &call, &r), 0);
	el = ms_now() - t0;
	CHECK(el >= 700 && el < 1500);
	CHECK_INT(r.attempts, 4);
	qresp_clear(&r);

	/* max_attempts bounds it; the last status and body are kept */
	f->next = f->n = 0;
	for (int i = 0; i < 3; i++)
		add(f, (struct canned){ 503, 0, "{\"errors\":[{\"title\":\"busy\"}]}", { 0 }, 0 });
	call.max_attempts = 2;
	CHECK_INT(qclient_call(c, &call, &r), -EIO);
	CHECK_INT(r.attempts, 2);
	CHECK_INT(r.status, 503);
	CHECK(r.body && strstr(r.body, "busy"));
	qresp_clear(&r);

	/* the default policy never retries a POST's 400 */
	f->next = f->n = 0;
	add(f, (struct canned){ 400, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	call = (struct qcall){ .method = "POST", .url = "/api/v1/spaces", .body = "{}",
			       .body_len = 2, .op = QOP_CREATE, .max_attempts = 5 };
	CHECK_INT(qclient_call(c, &call, &r), -EINVAL);
	CHECK_INT(r.attempts, 1);
	qresp_clear(&r);

	/* the call's budget replaces the client's */
	f->next = f->n = 0;
	for (int i = 0; i < 10; i++)
		add(f, (struct canned){ 0, -ECONNREFUSED, NULL, { 0 }, 100 });
	call = (struct qcall){ .method = "GET", .url = "/api/v1/items", .op = QOP_READ,
			       .timeout_ms = 300, .max_attempts = 10, .retry_delay_ms = 50,
			       .retry_fixed = true };
	t0 = ms_now();
	CHECK_INT(qclient_call(c, &call, &r), -EIO);
	CHECK(ms_now() - t0 < 600);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

/* An injected clock: backoff and Retry-After waits take no real time, and
 * the waits the client chose are read off the fake clock. */
static int64_t fake_ms;
static int64_t fake_now(void)
{
	return fake_ms;
}
static void fake_sleep(int64_t ms)
{
	if (ms > 0)
		fake_ms += ms;
}

static void test_injected_clock_runs_without_sleeping(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 503, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 429, 0, "{}", { "Retry-After", "20" }, 0 });
	add(f, (struct canned){ 200, 0, "{\"ok\":true}", { 0 }, 0 });
	struct qclient_opts o = { .base = "https://t.example.com", .transport = &f->base,
				  .auth = a, .timeout_ms = 60000, .max_attempts = 4,
				  .now_ms = fake_now, .sleep_ms = fake_sleep };
	struct qclient *c = qclient_new(&o);
	fake_ms = 1000000;
	int64_t t0 = ms_now();
	cJSON *j = NULL;
	CHECK_INT(qclient_get_json(c, "/api/v1/items", &j, NULL, 0), 0);
	CHECK(ms_now() - t0 < 500);           /* no real sleep */
	CHECK(fake_ms - 1000000 >= 20000);    /* but the Retry-After was waited out */
	CHECK(fake_ms - 1000000 < 25000);     /* plus one backoff, no more */
	CHECK_INT(f->sent, 3);
	cJSON_Delete(j);
	/* a Retry-After past the deadline fails at once on the same clock */
	add(f, (struct canned){ 429, 0, "{}", { "Retry-After", "120" }, 0 });
	struct qclient_opts o2 = o;
	o2.timeout_ms = 5000;
	struct qclient *c2 = qclient_new(&o2);
	int64_t before = fake_ms;
	CHECK_INT(qclient_get_json(c2, "/api/v1/other", &j, NULL, 0), -EIO);
	CHECK(fake_ms - before < 5000);
	qclient_free(c2);
	qclient_free(c);
	http_transport_free(&f->base);
}

/* A POST whose connection was refused was never sent: it is retried, while
 * one that was reset or timed out may have reached the server and is not. */
static void test_post_retried_after_refused_connection(struct qauth *a)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 0, -ECONNREFUSED, NULL, { 0 }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 0, -ECONNRESET, NULL, { 0 }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	add(f, (struct canned){ 0, -ETIMEDOUT, NULL, { 0 }, 0 });
	add(f, (struct canned){ 201, 0, "{}", { 0 }, 0 });
	struct qclient_opts o = { .base = "https://t.example.com", .transport = &f->base,
				  .auth = a, .timeout_ms = 60000, .max_attempts = 4,
				  .now_ms = fake_now, .sleep_ms = fake_sleep };
	struct qclient *c = qclient_new(&o);
	struct qcall call = { .method = "POST", .url = "/api/v1/spaces", .body = "{}", .body_len = 2,
			      .op = QOP_CREATE };
	struct qresp r;
	CHECK_INT(qclient_call(c, &call, &r), 0);
	CHECK_INT(r.attempts, 2);
	qresp_clear(&r);
	CHECK_INT(qclient_call(c, &call, &r), -EIO);
	CHECK_INT(r.attempts, 1);
	qresp_clear(&r);
	f->next = 4;
	CHECK_INT(qclient_call(c, &call, &r), -EIO);
	CHECK_INT(r.attempts, 1);
	CHECK_INT(f->sent, 4);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

/* A client without an auth provider sends no Authorization header, and a
 * 401 is an answer like another (no refresh to ask for). */
static void test_no_auth_provider(void)
{
	struct fake *f = fake_new();
	add(f, (struct canned){ 401, 0, "{\"error\":\"invalid_client\"}", { 0 }, 0 });
	struct qclient_opts o = { .base = "https://t.example.com", .transport = &f->base,
				  .timeout_ms = 5000 };
	struct qclient *c = qclient_new(&o);
	struct qcall call = { .method = "POST", .url = "https://t.example.com/oauth/token",
			      .body = "{}", .body_len = 2, .op = QOP_CREATE };
	struct qresp r;
	CHECK_INT(qclient_call(c, &call, &r), -EACCES);
	CHECK_INT(r.status, 401);
	CHECK_INT(f->sent, 1);
	CHECK_INT(f->had_auth[0], 0);
	qresp_clear(&r);
	qclient_free(c);
	http_transport_free(&f->base);
}

int main(void)
{
	struct qauth *a = auth_apikey_new("secret-key");
	test_injected_clock_runs_without_sleeping(a);
	test_get_ok_and_error_text(a);
	test_retry_5xx_then_ok(a);
	test_post_not_retried(a);
	test_429_retry_after(a);
	test_429_beyond_budget(a);
	test_429_ratelimit_bound(a);
	test_cut_json_retried(a);
	test_dead_network_bounded(a);
	test_redirect_auth(a);
	test_list_early_stop(a);
	test_pagination_styles(a);
	test_single_flight(a);
	test_error_text_and_retry_after();
	test_stream_body_retried(a);
	test_sink_retry_needs_reset(a);
	test_call_headers(a);
	test_own_retry_policy(a);
	test_post_retried_after_refused_connection(a);
	test_no_auth_provider();
	auth_free(a);
	return check_done();
}
