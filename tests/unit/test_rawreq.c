/*
 * test_rawreq.c - raw requests through the in-process simulator: the
 * document's checks, GET/POST/PUT/DELETE with query, headers and bodies
 * (JSON, text, file, multipart), the three response formats, the request's
 * own retry policy against injected 5xx/429/stalls, and the tenant-only rule.
 * A spy transport between the client and the simulator records what was sent.
 */
#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "actions/rawreq.h"
#include "simenv.h"

struct spy {
	struct http_transport base;
	struct http_transport *inner;
	pthread_mutex_t mu;
	char method[16];
	char url[4096];
	char hdrs[8192]; /* "name: value\n"... */
};

static int spy_perform(struct http_transport *t, const struct http_request *req,
		       struct http_response *resp)
{
	struct spy *s = (struct spy *)t;
	pthread_mutex_lock(&s->mu);
	snprintf(s->method, sizeof(s->method), "%s", req->method);
	snprintf(s->url, sizeof(s->url), "%s", req->url);
	s->hdrs[0] = 0;
	for (size_t i = 0; i < req->n_headers; i++) {
		size_t l = strlen(s->hdrs);
		snprintf(s->hdrs + l, sizeof(s->hdrs) - l, "%s: %s\n", req->headers[i].name,
			 req->headers[i].value);
	}
	pthread_mutex_unlock(&s->mu);
	return http_perform(s->inner, req, resp);
}

static void spy_destroy(struct http_transport *t)
{
	free(t);
}

static const struct http_transport_ops spy_ops = { spy_perform, spy_destroy };

static struct simenv E;
static struct spy *SPY;
static struct qclient *QC;
static int OUT; /* the response file */

static void setup(void)
{
	simenv_init(&E, 10000);
	SPY = calloc(1, sizeof(*SPY));
	SPY->base.ops = &spy_ops;
	SPY->inner = E.tr;
	pthread_mutex_init(&SPY->mu, NULL);
	struct qclient_opts qo = { .base = "http://127.0.0.1:9", .transport = &SPY->base,
				   .auth = E.auth, .timeout_ms = 10000, .max_attempts = 3 };
	QC = qclient_new(&qo);
	OUT = simenv_temp_fd("", 0);
}

static void teardown(void)
{
	close(OUT);
	qclient_free(QC);
	http_transport_free(&SPY->base);
	simenv_fini(&E);
}

static const struct rawreq_opts with_files = { rawreq_open_local, NULL };

/* Runs a document; returns perform's rc (or parse's), res filled. */
static int run(const char *doc, const struct rawreq_opts *o, struct rawreq_result *res)
{
	struct rawreq *rq = NULL;
	char err[512];
	int rc = rawreq_parse(doc, strlen(doc), &rq, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "  parse: %s\n", err);
		memset(res, 0, sizeof(*res));
		return rc;
	}
	rc = rawreq_perform(QC, rq, o, OUT, res);
	rawreq_free(rq);
	return rc;
}

/* The response file parsed as JSON (owned). */
static cJSON *envelope(void)
{
	size_t n = 0;
	char *b = simenv_read_fd(OUT, &n);
	cJSON *j = b ? cJSON_Parse(b) : NULL;
	free(b);
	return j;
}

static double num(const cJSON *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	const cJSON *cur = o;
	for (char *save, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	return cJSON_IsNumber(cur) ? cur->valuedouble : -1;
}

static const char *str(const cJSON *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	const cJSON *cur = o;
	for (char *save, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static void test_parse_refusals(void)
{
	const struct {
		const char *doc;
		const char *says;
	} bad[] = {
		{ "not json", "one JSON object" },
		{ "[1]", "one JSON object" },
		{ "{}", "path: required" },
		{ "{\"pth\":\"/api/v1/spaces\"}", "unknown field \"pth\"" },
		{ "{\"path\":\"/a\",\"path\":\"/b\"}", "given twice" },
		{ "{\"path\":\"/api\",\"method\":\"TRACE\"}", "method" },
		{ "{\"path\":\"api/v1/spaces\"}", "path:" },
		{ "{\"path\":\"//evil.example.com/api/v1/x\"}", "path:" },
		{ "{\"path\":\"/api/v1/spaces name\"}", "path:" },
		{ "{\"path\":\"/api/v1/x#frag\"}", "path:" },
		{ "{\"path\":\"ftp://127.0.0.1:9/x\"}", "path:" },
		{ "{\"path\":\"/x\",\"headers\":{\"Authorization\":\"Bearer stolen\"}}", "may not be set" },
		{ "{\"path\":\"/x\",\"headers\":{\"host\":\"evil\"}}", "may not be set" },
		{ "{\"path\":\"/x\",\"headers\":{\"Content-Length\":\"5\"}}", "may not be set" },
		{ "{\"path\":\"/x\",\"headers\":{\"Bad Name\":\"v\"}}", "not a header name" },
		{ "{\"path\":\"/x\",\"headers\":{\"X-A\":\"v\\r\\nX-B: w\"}}", "CR/LF" },
		{ "{\"path\":\"/x\",\"headers\":{\"X-A\":{}}}", "must be a string" },
		{ "{\"path\":\"/x\",\"query\":{\"a\":{\"b\":1}}}", "query:" },
		{ "{\"path\":\"/x\",\"query\":[1]}", "query:" },
		{ "{\"path\":\"/x\",\"body\":{},\"bodyText\":\"x\"}", "only one of" },
		{ "{\"path\":\"/x\",\"bodyFile\":\"\"}", "bodyFile" },
		{ "{\"path\":\"/x\",\"multipart\":[]}", "multipart" },
		{ "{\"path\":\"/x\",\"multipart\":[{\"name\":\"a\",\"text\":\"t\",\"file\":\"/f\"}]}", "exactly one" },
		{ "{\"path\":\"/x\",\"multipart\":[{\"text\":\"t\"}]}", "needs a \"name\"" },
		{ "{\"path\":\"/x\",\"multipart\":[{\"name\":\"a\",\"text\":\"t\",\"x\":1}]}", "unknown field" },
		{ "{\"path\":\"/x\",\"response\":\"xml\"}", "response" },
		{ "{\"path\":\"/x\",\"timeout\":0}", "timeout" },
		{ "{\"path\":\"/x\",\"retries\":101}", "retries" },
		{ "{\"path\":\"/x\",\"retries\":1.5}", "retries" },
		{ "{\"path\":\"/x\",\"retryDelay\":-1}", "retryDelay" },
		{ "{\"path\":\"/x\",\"backoff\":\"linear\"}", "backoff" },
		{ "{\"path\":\"/x\",\"retryOn\":\"some\"}", "retryOn" },
		{ "{\"path\":\"/x\",\"followRedirects\":1}", "followRedirects" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rawreq *rq = NULL;
		char err[512] = "";
		int rc = rawreq_parse(bad[i].doc, strlen(bad[i].doc), &rq, err, sizeof(err));
		CHECK_INT(rc, -EINVAL);
		if (!strstr(err, bad[i].says))
			fprintf(stderr, "  doc %s: message \"%s\"\n", bad[i].doc, err);
		CHECK(strstr(err, bad[i].says) != NULL);
		rawreq_free(rq);
	}
	struct rawreq *rq = NULL;
	char err[128];
	CHECK_INT(rawreq_parse("{}", RAWREQ_DOC_MAX + 1, &rq, err, sizeof(err)), -E2BIG);
	/* the answer to a refused document, in the default json mode */
	CHECK_INT(rawreq_write_error(OUT, "path: required"), 0);
	cJSON *env = envelope();
	CHECK_INT(num(env, "status"), 0);
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(env, "ok")));
	CHECK_STR(str(env, "error"), "path: required");
	cJSON_Delete(env);
}

static void test_get_query_headers(void)
{
	struct rawreq_result res;
	CHECK_INT(run("{\"path\":\"/api/v1/items\",\"query\":{\"resourceType\":[\"app\",\"qvapp\"],"
		      "\"limit\":2,\"noActions\":true,\"skipped\":null},"
		      "\"headers\":{\"X-Trace\":\"t-1\",\"Accept\":\"application/json; q=1\"}}",
		      NULL, &res), 0);
	CHECK_INT(res.status, 200);
	CHECK_INT(res.attempts, 1);
	CHECK(strstr(SPY->url, "/api/v1/items?resourceType=app%2Cqvapp&limit=2&noActions=true") != NULL);
	CHECK(strstr(SPY->url, "skipped") == NULL);
	CHECK(strstr(SPY->hdrs, "X-Trace: t-1\n") != NULL);
	CHECK(strstr(SPY->hdrs, "Accept: application/json; q=1\n") != NULL);
	CHECK(strstr(SPY->hdrs, "Authorization: Bearer k\n") != NULL); /* the mount's */
	CHECK_STR(SPY->method, "GET");
	cJSON *env = envelope();
	CHECK_INT(num(env, "status"), 200);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(env, "ok")));
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(env, "body"), "data")), 2);
	CHECK(str(env, "headers.content-type") && strstr(str(env, "headers.content-type"), "json"));
	CHECK(cJSON_GetObjectItem(env, "error") == NULL);
	cJSON_Delete(env);
	/* jq style: 2-space indent, final newline */
	size_t n = 0;
	char *b = simenv_read_fd(OUT, &n);
	CHECK(b && !strncmp(b, "{\n  \"status\": 200,\n", 19) && b[n - 1] == '\n');
	CHECK_INT(res.size, n);
	free(b);
	/* a query in the path itself, continued by "query"; an absolute URL on the tenant */
	CHECK_INT(run("{\"path\":\"http://127.0.0.1:9/api/v1/spaces?limit=1\",\"query\":{\"sort\":\"-name\"}}",
		      NULL, &res), 0);
	CHECK_INT(res.status, 200);
	CHECK(strstr(SPY->url, "/api/v1/spaces?limit=1&sort=-name") != NULL);
	/* another origin is refused before sending */
	sim_reset_counts(E.sim);
	CHECK_INT(run("{\"path\":\"https://evil.example.com/api/v1/spaces\"}", NULL, &res), 0);
	env = envelope();
	CHECK_INT(num(env, "status"), 0);
	CHECK(strstr(str(env, "error"), "not on the tenant") != NULL);
	cJSON_Delete(env);
	CHECK_INT(run("{\"path\":\"https://evil.example.com/x\",\"response\":\"text\"}", NULL, &res),
		  -EINVAL);
	CHECK_INT(sim_count_total(E.sim), 0);
}

static void test_post_put_delete(void)
{
	struct rawreq_result res;
	CHECK_INT(run("{\"method\":\"post\",\"path\":\"/api/v1/spaces\","
		      "\"body\":{\"name\":\"Raw space\",\"type\":\"shared\"}}", NULL, &res), 0);
	CHECK_INT(res.status, 201);
	CHECK(strstr(SPY->hdrs, "Content-Type: application/json\n") != NULL);
	CHECK_STR(SPY->method, "POST");
	cJSON *env = envelope();
	CHECK_STR(str(env, "body.name"), "Raw space");
	char *id = strdup(str(env, "body.id"));
	cJSON_Delete(env);

	char doc[512];
	snprintf(doc, sizeof(doc), "{\"method\":\"PUT\",\"path\":\"/api/v1/spaces/%s\","
				   "\"body\":{\"description\":\"set by a raw PUT\"}}", id);
	CHECK_INT(run(doc, NULL, &res), 0);
	CHECK_INT(res.status, 200);
	env = envelope();
	CHECK_STR(str(env, "body.description"), "set by a raw PUT");
	cJSON_Delete(env);

	snprintf(doc, sizeof(doc), "{\"method\":\"DELETE\",\"path\":\"/api/v1/spaces/%s\"}", id);
	CHECK_INT(run(doc, NULL, &res), 0);
	CHECK_INT(res.status, 204);
	env = envelope();
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(env, "ok")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(env, "body")));
	cJSON_Delete(env);

	/* an error answer is a response too, in json mode */
	snprintf(doc, sizeof(doc), "{\"path\":\"/api/v1/spaces/%s\"}", id);
	CHECK_INT(run(doc, NULL, &res), 0);
	CHECK_INT(res.status, 404);
	env = envelope();
	CHECK_INT(num(env, "status"), 404);
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(env, "ok")));
	CHECK_STR(str(env, "errno"), "ENOENT");
	CHECK(strstr(str(env, "error"), "404") != NULL);
	CHECK(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(env, "body"), "errors")));
	cJSON_Delete(env);

	/* text mode: the body as is, a final newline added; errors write nothing */
	CHECK_INT(run("{\"path\":\"/api/v1/spaces/types\",\"response\":\"text\"}", NULL, &res), 0);
	size_t n = 0;
	char *b = simenv_read_fd(OUT, &n);
	CHECK(b && b[0] == '{' && b[n - 1] == '\n' && strstr(b, "shared"));
	free(b);
	snprintf(doc, sizeof(doc), "{\"path\":\"/api/v1/spaces/%s\",\"response\":\"text\"}", id);
	CHECK_INT(run(doc, NULL, &res), -ENOENT);
	CHECK_INT(res.status, 404);
	CHECK(strstr(res.error, "404") != NULL);
	b = simenv_read_fd(OUT, &n);
	CHECK_INT(n, 0);
	free(b);
	free(id);
}

static void test_bodies_and_binary(void)
{
	struct rawreq_result res;
	/* bodyText to temp-contents, then the Location back in binary */
	CHECK_INT(run("{\"method\":\"POST\",\"path\":\"/api/v1/temp-contents\","
		      "\"query\":{\"filename\":\"note.txt\"},\"bodyText\":\"hello, raw\"}", NULL, &res), 0);
	CHECK_INT(res.status, 201);
	CHECK(strstr(SPY->hdrs, "Content-Type: text/plain; charset=utf-8\n") != NULL);
	cJSON *env = envelope();
	char *loc = strdup(str(env, "headers.location"));
	cJSON_Delete(env);
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"path\":\"%s\",\"response\":\"binary\"}", loc);
	CHECK_INT(run(doc, NULL, &res), 0);
	size_t n = 0;
	char *b = simenv_read_fd(OUT, &n);
	CHECK(b && n == 10 && !memcmp(b, "hello, raw", 10)); /* binary: no newline added */
	CHECK_INT(res.size, 10);
	free(b);
	free(loc);

	/* bodyFile: streamed, only with an opener */
	char path[] = "/tmp/qlikfs-raw-XXXXXX";
	int fd = mkstemp(path);
	const char *csv = "k,v\n1,2\n";
	CHECK_INT(write(fd, csv, strlen(csv)), (long)strlen(csv));
	close(fd);
	snprintf(doc, sizeof(doc), "{\"method\":\"POST\",\"path\":\"/api/v1/temp-contents\","
				   "\"bodyFile\":\"%s\",\"headers\":{\"Content-Type\":\"text/csv\"}}", path);
	CHECK_INT(run(doc, NULL, &res), 0);
	env = envelope();
	CHECK_STR(str(env, "errno"), "EPERM");
	CHECK(strstr(str(env, "error"), "not allowed") != NULL);
	cJSON_Delete(env);
	CHECK_INT(run(doc, &with_files, &res), 0);
	CHECK_INT(res.status, 201);
	CHECK(strstr(SPY->hdrs, "Content-Type: text/csv\n") != NULL); /* the document's wins */
	env = envelope();
	loc = strdup(str(env, "headers.location"));
	cJSON_Delete(env);
	snprintf(doc, sizeof(doc), "{\"path\":\"%s\",\"response\":\"binary\"}", loc);
	CHECK_INT(run(doc, NULL, &res), 0);
	b = simenv_read_fd(OUT, &n);
	CHECK(b && n == strlen(csv) && !memcmp(b, csv, n));
	free(b);
	free(loc);

	/* multipart: a data-file upload with a JSON part and a file part */
	snprintf(doc, sizeof(doc),
		 "{\"method\":\"POST\",\"path\":\"/api/v1/data-files\",\"multipart\":["
		 "{\"name\":\"Json\",\"json\":{\"name\":\"raw_upload.csv\"}},"
		 "{\"name\":\"File\",\"file\":\"%s\"}]}", path);
	CHECK_INT(run(doc, &with_files, &res), 0);
	CHECK_INT(res.status, 201);
	CHECK(strstr(SPY->hdrs, "Content-Type: multipart/form-data; boundary=") != NULL);
	env = envelope();
	CHECK_STR(str(env, "body.name"), "raw_upload.csv");
	CHECK_INT(num(env, "body.size"), strlen(csv));
	cJSON_Delete(env);
	/* a missing local file: said in the envelope, nothing sent */
	sim_reset_counts(E.sim);
	CHECK_INT(run("{\"method\":\"POST\",\"path\":\"/api/v1/temp-contents\","
		      "\"bodyFile\":\"/nonexistent/file\"}", &with_files, &res), 0);
	env = envelope();
	CHECK_STR(str(env, "errno"), "ENOENT");
	cJSON_Delete(env);
	CHECK_INT(run("{\"method\":\"POST\",\"path\":\"/api/v1/temp-contents\","
		      "\"bodyFile\":\"/nonexistent/file\",\"response\":\"binary\"}", &with_files, &res),
		  -ENOENT);
	CHECK_INT(sim_count_total(E.sim), 0);
	unlink(path);

	/* an app export in binary: the .qvf bytes */
	char *app = simenv_app_create(&E, "Raw export");
	snprintf(doc, sizeof(doc), "{\"method\":\"POST\",\"path\":\"/api/v1/apps/%s/export\"}", app);
	CHECK_INT(run(doc, NULL, &res), 0);
	CHECK_INT(res.status, 201);
	env = envelope();
	snprintf(doc, sizeof(doc), "{\"path\":\"%s\",\"response\":\"binary\"}",
		 str(env, "headers.location"));
	cJSON_Delete(env);
	CHECK_INT(run(doc, NULL, &res), 0);
	b = simenv_read_fd(OUT, &n);
	CHECK(b && n > 2048 && !memcmp(b, "QVFSIM", 6));
	CHECK_STR(res.content_type, "application/octet-stream");
	free(b);
	free(app);

	/* redirects are followed unless asked not to */
	CHECK_INT(run("{\"path\":\"/api/v1/users/me\"}", NULL, &res), 0);
	CHECK_INT(res.status, 200);
	CHECK_INT(run("{\"path\":\"/api/v1/users/me\",\"followRedirects\":false}", NULL, &res), 0);
	CHECK_INT(res.status, 301);
	env = envelope();
	CHECK(str(env, "headers.location") && strstr(str(env, "headers.location"), "/api/v1/users/"));
	cJSON_Delete(env);
}

/* A body that is not UTF-8 comes back base64-encoded in json mode, padded
 * to whole quads (one to four bytes: "==", "=", none, "=="). */
static void test_base64_body(void)
{
	static const struct { const char *bytes; size_t n; const char *b64; } v[] = {
		{ "\xff", 1, "/w==" },
		{ "\xff\xfe", 2, "//4=" },
		{ "\xff\xfe\xfd", 3, "//79" },
		{ "\xff\x00\x80\x01", 4, "/wCAAQ==" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char path[] = "/tmp/qlikfs-raw-XXXXXX", doc[1024];
		struct rawreq_result res;
		int fd = mkstemp(path);
		CHECK_INT(write(fd, v[i].bytes, v[i].n), (long)v[i].n);
		close(fd);
		snprintf(doc, sizeof(doc), "{\"method\":\"POST\",\"path\":\"/api/v1/temp-contents\","
			 "\"bodyFile\":\"%s\"}", path);
		CHECK_INT(run(doc, &with_files, &res), 0);
		unlink(path);
		cJSON *env = envelope();
		snprintf(doc, sizeof(doc), "{\"path\":\"%s\"}", str(env, "headers.location"));
		cJSON_Delete(env);
		CHECK_INT(run(doc, NULL, &res), 0);
		env = envelope();
		CHECK_STR(str(env, "bodyBase64"), v[i].b64);
		cJSON_Delete(env);
	}
}

static void test_retries(void)
{
	struct rawreq_result res;
	/* exponential: 0.1 s then 0.2 s before the third attempt */
	CHECK_INT(simenv_fault(&E, "{\"status\":503,\"count\":2,\"match\":\"GET /api/v1/spaces\"}"), 0);
	int64_t t0 = simenv_ms();
	CHECK_INT(run("{\"path\":\"/api/v1/spaces\",\"retries\":3,\"retryDelay\":0.1,"
		      "\"backoff\":\"exponential\"}", NULL, &res), 0);
	int64_t el = simenv_ms() - t0;
	CHECK_INT(res.status, 200);
	CHECK_INT(res.attempts, 3);
	CHECK(el >= 300 && el < 2000);
	/* fixed: 0.1 s each time */
	CHECK_INT(simenv_fault(&E, "{\"status\":500,\"count\":2,\"match\":\"GET /api/v1/spaces\"}"), 0);
	t0 = simenv_ms();
	CHECK_INT(run("{\"path\":\"/api/v1/spaces\",\"retries\":2,\"retryDelay\":0.1,"
		      "\"backoff\":\"fixed\",\"response\":\"text\"}", NULL, &res), 0);
	el = simenv_ms() - t0;
	CHECK_INT(res.attempts, 3);
	CHECK(el >= 200 && el < 1500);
	/* the retries run out: the last answer is reported */
	CHECK_INT(simenv_fault(&E, "{\"status\":503,\"count\":5,\"match\":\"GET /api/v1/spaces\"}"), 0);
	CHECK_INT(run("{\"path\":\"/api/v1/spaces\",\"retries\":2,\"retryDelay\":0.01}", NULL, &res), 0);
	CHECK_INT(res.status, 503);
	CHECK_INT(res.attempts, 3);
	cJSON *env = envelope();
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(env, "ok")));
	CHECK_INT(num(env, "attempts"), 3);
	cJSON_Delete(env);
	CHECK_INT(simenv_fault(&E, "{\"clear\":true}"), 0);
	/* retries: 0 means one attempt */
	CHECK_INT(simenv_fault(&E, "{\"status\":503,\"count\":1,\"match\":\"GET /api/v1/spaces\"}"), 0);
	CHECK_INT(run("{\"path\":\"/api/v1/spaces\",\"retries\":0}", NULL, &res), 0);
	CHECK_INT(res.attempts, 1);
	CHECK_INT(res.status, 503);
	/* 429: Retry-After is honoured */
	CHECK_INT(simenv_fault(&E, "{\"status\":429,\"count\":1,\"retry_after\":1,\"match\":\"GET /api/v1/spaces\"}"), 0);
	t0 = simenv_ms();
	CHECK_INT(run("{\"path\":\"/api/v1/spaces\",\"retries\":2}", NULL, &res), 0);
	el = simenv_ms() - t0;
	CHECK_INT(res.status, 200);
	CHECK_INT(res.attempts, 2);
	CHECK(el >= 950);
	/* a POST is not retried after a 5xx by default; with retryOn all it is */
	CHECK_INT(simenv_fault(&E, "{\"status\":503,\"count\":1,\"match\":\"POST /api/v1/spaces\"}"), 0);
	const char *post = "{\"method\":\"POST\",\"path\":\"/api/v1/spaces\",\"retries\":2,"
			   "\"retryDelay\":0.01,\"body\":{\"name\":\"Retry space\",\"type\":\"shared\"}";
	char doc[512];
	snprintf(doc, sizeof(doc), "%s}", post);
	CHECK_INT(run(doc, NULL, &res), 0);
	CHECK_INT(res.status, 503);
	CHECK_INT(res.attempts, 1);
	CHECK_INT(simenv_fault(&E, "{\"status\":503,\"count\":1,\"match\":\"POST /api/v1/spaces\"}"), 0);
	snprintf(doc, sizeof(doc), "%s,\"retryOn\":\"all\"}", post);
	CHECK_INT(run(doc, NULL, &res), 0);
	CHECK_INT(res.status, 201);
	CHECK_INT(res.attempts, 2);
	/* retryOn all retries a 4xx too */
	CHECK_INT(run("{\"path\":\"/api/v1/spaces/000000000000000000000000\",\"retries\":2,"
		      "\"retryDelay\":0.01,\"retryOn\":\"all\"}", NULL, &res), 0);
	CHECK_INT(res.status, 404);
	CHECK_INT(res.attempts, 3);
	/* a dropped connection of a GET is retried; with binary output too */
	CHECK_INT(simenv_fault(&E, "{\"mode\":\"drop\",\"count\":1,\"match\":\"GET /api/v1/spaces/types\"}"), 0);
	CHECK_INT(run("{\"path\":\"/api/v1/spaces/types\",\"response\":\"binary\",\"retryDelay\":0.01}",
		      NULL, &res), 0);
	CHECK_INT(res.attempts, 2);
	/* the request's timeout bounds everything */
	CHECK_INT(simenv_fault(&E, "{\"mode\":\"stall\",\"stall_ms\":5000,\"count\":1,\"match\":\"GET /api/v1/spaces\"}"), 0);
	t0 = simenv_ms();
	CHECK_INT(run("{\"path\":\"/api/v1/spaces\",\"timeout\":0.5,\"retries\":0}", NULL, &res), 0);
	el = simenv_ms() - t0;
	CHECK(el < 2000);
	CHECK_INT(res.status, 0);
	env = envelope();
	CHECK_STR(str(env, "errno"), "EIO");
	CHECK(strstr(str(env, "error"), "timed out") != NULL);
	cJSON_Delete(env);
	CHECK_INT(simenv_fault(&E, "{\"clear\":true}"), 0);
}

int main(void)
{
	setup();
	test_parse_refusals();
	test_get_query_headers();
	test_post_put_delete();
	test_bodies_and_binary();
	test_base64_body();
	test_retries();
	teardown();
	return check_done();
}
