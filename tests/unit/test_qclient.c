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

#include "auth.h"
#include "check.h"
#include "qclient.h"

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
	for (size_t h = 0; h < req->n_headers; h++)
		if (!strcmp(req->headers[h].name, "Authorization"))
			f->had_auth[i] = 1;
	struct canned c = f->next < f->n ? f->replies[f->next++] : (struct canned){ 500, 0, "{}", { 0 }, 0 };
	pthread_mutex_unlock(&f->lock);
	if (c.delay_ms)
		usleep((useconds_t)c.delay_ms * 1000);
	if (!c.status)
		return c.err;
	resp->status = c.status;
	if (c.body) {
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

int main(void)
{
	struct qauth *a = auth_apikey_new("secret-key");
	test_get_ok_and_error_text(a);
	test_retry_5xx_then_ok(a);
	test_post_not_retried(a);
	test_429_retry_after(a);
	test_429_beyond_budget(a);
	test_dead_network_bounded(a);
	test_redirect_auth(a);
	test_list_early_stop(a);
	test_pagination_styles(a);
	test_single_flight(a);
	test_error_text_and_retry_after();
	auth_free(a);
	return check_done();
}
