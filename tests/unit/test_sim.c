/*
 * test_sim.c - unit tests of the Qlik Cloud tenant simulator, driving
 * sim_handle() / sim_control() directly (no sockets).
 */
#include "check.h"
#include "sim.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE "http://127.0.0.1:9999"
static const char *auth_key = "test-key";

static long req(struct sim_tenant *t, const char *method, const char *url, const char *ctype,
		const char *body, size_t blen, struct http_response *resp, const char *key)
{
	struct http_header h[2];
	size_t nh = 0;
	char ab[256];
	if (key) {
		snprintf(ab, sizeof(ab), "Bearer %s", key);
		h[nh].name = (char *)"Authorization";
		h[nh++].value = ab;
	}
	if (ctype) {
		h[nh].name = (char *)"Content-Type";
		h[nh++].value = (char *)ctype;
	}
	struct http_request r = { .method = method, .url = url, .headers = h, .n_headers = nh,
				  .body = body, .body_len = blen };
	int rc = sim_handle(t, &r, resp);
	if (rc)
		return rc;
	return resp->status;
}

/* GET/DELETE/POST with JSON; returns status, *out = parsed body (or NULL). */
static long api(struct sim_tenant *t, const char *method, const char *url, const char *json,
		cJSON **out)
{
	struct http_response resp;
	long st = req(t, method, url, json ? "application/json" : NULL, json,
		      json ? strlen(json) : 0, &resp, auth_key);
	if (out)
		*out = resp.body ? cJSON_Parse(resp.body) : NULL;
	http_response_clear(&resp);
	return st;
}

static const char *js(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *next_href(const cJSON *o)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "links");
	return js(cJSON_GetObjectItemCaseSensitive(l, "next"), "href");
}

static void test_auth(struct sim_tenant *t)
{
	struct http_response r;
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, NULL), 401);
	cJSON *b = cJSON_Parse(r.body);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(b, "errors")) == 1);
	cJSON_Delete(b);
	http_response_clear(&r);
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, "nope"), 401);
	http_response_clear(&r);
	CHECK_INT(req(t, "GET", BASE "/api/v1/users/me", NULL, NULL, 0, &r, auth_key), 301);
	const char *loc = http_response_header(&r, "location");
	CHECK(loc && strncmp(loc, "/api/v1/users/", 14) == 0);
	char url[256];
	snprintf(url, sizeof(url), BASE "%s", loc ? loc : "");
	http_response_clear(&r);
	cJSON *u;
	CHECK_INT(api(t, "GET", url, NULL, &u), 200);
	CHECK_STR(js(u, "name"), "Sim Admin");
	cJSON_Delete(u);
	CHECK_INT(api(t, "GET", BASE "/api/v1/users/000000000000000000000000", NULL, &u), 404);
	cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(u, "errors"), 0);
	CHECK_STR(js(e, "code"), "USERS-7");
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(e, "status")));
	cJSON_Delete(u);
	/* unknown route / wrong method */
	CHECK_INT(api(t, "GET", BASE "/api/v1/nothing", NULL, NULL), 404);
	CHECK_INT(api(t, "PATCH", BASE "/api/v1/items", NULL, NULL), 405);
}

static void test_spaces(struct sim_tenant *t)
{
	cJSON *p;
	char url[2048];
	snprintf(url, sizeof(url), BASE "/api/v1/spaces?limit=3");
	int seen = 0, pages = 0;
	long count = -1;
	for (;;) {
		CHECK_INT(api(t, "GET", url, NULL, &p), 200);
		if (!p)
			break;
		seen += cJSON_GetArraySize(cJSON_GetObjectItem(p, "data"));
		count = (long)cJSON_GetNumberValue(
			cJSON_GetObjectItem(cJSON_GetObjectItem(p, "meta"), "count"));
		pages++;
		const char *n = next_href(p);
		if (!n) {
			cJSON_Delete(p);
			break;
		}
		CHECK(strncmp(n, BASE "/api/v1/spaces?", strlen(BASE) + 15) == 0);
		snprintf(url, sizeof(url), "%s", n);
		cJSON_Delete(p);
	}
	CHECK_INT(count, 10);
	CHECK_INT(seen, 10);
	CHECK_INT(pages, 4);
	/* create, duplicate, bad name, patch, delete */
	CHECK_INT(api(t, "POST", BASE "/api/v1/spaces", "{\"name\":\"Unit Test\",\"type\":\"shared\"}",
		      &p), 201);
	char id[64];
	snprintf(id, sizeof(id), "%s", js(p, "id") ? js(p, "id") : "");
	CHECK_STR(js(p, "createdAt"), js(p, "updatedAt"));
	cJSON_Delete(p);
	CHECK_INT(api(t, "POST", BASE "/api/v1/spaces", "{\"name\":\"unit test\",\"type\":\"shared\"}",
		      NULL), 409);
	CHECK_INT(api(t, "POST", BASE "/api/v1/spaces", "{\"name\":\"a/b\",\"type\":\"shared\"}",
		      NULL), 400);
	CHECK_INT(api(t, "POST", BASE "/api/v1/spaces", "{\"name\":\"ok\",\"type\":\"weird\"}",
		      NULL), 400);
	snprintf(url, sizeof(url), BASE "/api/v1/spaces/%s", id);
	CHECK_INT(api(t, "PATCH", url, "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"Renamed\"}]",
		      &p), 200);
	CHECK_STR(js(p, "name"), "Renamed");
	cJSON_Delete(p);
	CHECK_INT(api(t, "PATCH", url, "[{\"op\":\"add\",\"path\":\"/name\",\"value\":\"x\"}]", NULL),
		  400);
	/* non-empty space: create an app in it -> 412 */
	char body[256];
	snprintf(body, sizeof(body), "{\"attributes\":{\"name\":\"in space\",\"spaceId\":\"%s\"}}", id);
	CHECK_INT(api(t, "POST", BASE "/api/v1/apps", body, &p), 200);
	char appurl[256];
	const cJSON *at = cJSON_GetObjectItem(p, "attributes");
	snprintf(appurl, sizeof(appurl), BASE "/api/v1/apps/%s", js(at, "id") ? js(at, "id") : "");
	cJSON_Delete(p);
	CHECK_INT(api(t, "DELETE", url, NULL, NULL), 412);
	CHECK_INT(api(t, "DELETE", appurl, NULL, NULL), 200);
	CHECK_INT(api(t, "DELETE", url, NULL, NULL), 204);
	CHECK_INT(api(t, "GET", url, NULL, NULL), 404);
}

static void test_items(struct sim_tenant *t)
{
	cJSON *p;
	CHECK_INT(api(t, "GET", BASE "/api/v1/items?resourceType=app&spaceId=personal&limit=100",
		      NULL, &p), 200);
	cJSON *d = cJSON_GetObjectItem(p, "data"), *e;
	CHECK(cJSON_GetArraySize(d) >= 3);
	int sales = 0;
	cJSON_ArrayForEach(e, d)
	{
		const char *sp = js(e, "spaceId");
		CHECK(!sp || !*sp);
		CHECK_STR(js(e, "resourceType"), "app");
		const char *ca = js(e, "createdAt");
		CHECK(ca && strlen(ca) == 20); /* seconds precision */
		if (js(e, "name") && !strcmp(js(e, "name"), "Sales Dashboard"))
			sales++;
	}
	CHECK_INT(sales, 1);
	CHECK(!next_href(p));
	cJSON_Delete(p);
	CHECK_INT(api(t, "GET", BASE "/api/v1/items?limit=101", NULL, NULL), 400);
	CHECK_INT(api(t, "GET", BASE "/api/v1/items?limit=0", NULL, NULL), 400);
	CHECK_INT(api(t, "GET", BASE "/api/v1/items?resourceId=x", NULL, NULL), 400);
	/* walk all apps by cursor, count Sales Dashboards */
	char url[2048] = BASE "/api/v1/items?resourceType=app&name=sales%20dashboard&limit=2";
	int n = 0;
	for (int guard = 0; guard < 20; guard++) {
		CHECK_INT(api(t, "GET", url, NULL, &p), 200);
		n += cJSON_GetArraySize(cJSON_GetObjectItem(p, "data"));
		const char *nx = next_href(p);
		if (!nx) {
			cJSON_Delete(p);
			break;
		}
		snprintf(url, sizeof(url), "%s", nx);
		cJSON_Delete(p);
	}
	CHECK(n >= 4);
	/* rename an app -> the item follows */
	CHECK_INT(api(t, "POST", BASE "/api/v1/apps", "{\"attributes\":{\"name\":\"Fresh\"}}", &p), 200);
	char aid[64], u2[256];
	snprintf(aid, sizeof(aid), "%s", js(cJSON_GetObjectItem(p, "attributes"), "id"));
	cJSON_Delete(p);
	snprintf(u2, sizeof(u2), BASE "/api/v1/apps/%s", aid);
	CHECK_INT(api(t, "PUT", u2, "{\"attributes\":{\"name\":\"Fresh 2\"}}", NULL), 200);
	snprintf(u2, sizeof(u2), BASE "/api/v1/items?resourceType=app&resourceId=%s", aid);
	CHECK_INT(api(t, "GET", u2, NULL, &p), 200);
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "data"), 0);
	CHECK_STR(js(e, "name"), "Fresh 2");
	CHECK_STR(js(e, "resourceId"), aid);
	cJSON_Delete(p);
	/* export -> temp content -> import */
	struct http_response r;
	snprintf(u2, sizeof(u2), BASE "/api/v1/apps/%s/export", aid);
	CHECK_INT(req(t, "POST", u2, NULL, NULL, 0, &r, auth_key), 201);
	const char *loc = http_response_header(&r, "location");
	CHECK(loc && !strncmp(loc, "/api/v1/temp-contents/", 22));
	snprintf(u2, sizeof(u2), BASE "%s", loc ? loc : "");
	http_response_clear(&r);
	CHECK_INT(req(t, "GET", u2, NULL, NULL, 0, &r, auth_key), 200);
	CHECK(r.body_len > 2048);
	struct http_response r2;
	CHECK_INT(req(t, "POST", BASE "/api/v1/apps/import?name=Imported", "application/octet-stream",
		      r.body, r.body_len, &r2, auth_key), 200);
	http_response_clear(&r2);
	CHECK_INT(req(t, "POST", BASE "/api/v1/apps/import", "application/octet-stream", "garbage", 7,
		      &r2, auth_key), 400);
	http_response_clear(&r2);
	http_response_clear(&r);
}

static void test_users(struct sim_tenant *t)
{
	cJSON *p;
	CHECK_INT(api(t, "GET", BASE "/api/v1/users?filter=name%20eq%20%22Anna%20Svensson%22", NULL,
		      &p), 200);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(p, "data")), 2);
	char uid[64], url[256];
	snprintf(uid, sizeof(uid), "%s", js(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "data"), 0), "id"));
	cJSON_Delete(p);
	snprintf(url, sizeof(url), BASE "/api/v1/users/%s", uid);
	CHECK_INT(api(t, "PATCH", url, "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"disabled\"}]",
		      &p), 204);
	CHECK(p == NULL);
	CHECK_INT(api(t, "GET", url, NULL, &p), 200);
	CHECK_STR(js(p, "status"), "disabled");
	cJSON_Delete(p);
	CHECK_INT(api(t, "POST", BASE "/api/v1/users", "{\"name\":\"x\"}", NULL), 400);
	CHECK_INT(api(t, "POST", BASE "/api/v1/users", "{\"subject\":\"s|1\",\"name\":\"x\"}", NULL),
		  201);
	CHECK_INT(api(t, "POST", BASE "/api/v1/users", "{\"subject\":\"S|1\",\"name\":\"y\"}", NULL),
		  409);
	CHECK_INT(api(t, "GET", BASE "/api/v1/users?limit=0", NULL, NULL), 400);
	CHECK_INT(api(t, "GET", BASE "/api/v1/users/actions/count", NULL, &p), 200);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "total")), 121);
	cJSON_Delete(p);
}

static void test_datastores(struct sim_tenant *t)
{
	cJSON *p;
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-stores?limit=2", NULL, &p), 200);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "total")), 3);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "pages")), 2);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "page")), 0);
	const cJSON *l = cJSON_GetObjectItem(p, "links");
	CHECK(js(cJSON_GetObjectItem(l, "first"), "href") != NULL);
	CHECK(js(cJSON_GetObjectItem(l, "last"), "href") != NULL);
	CHECK(js(cJSON_GetObjectItem(l, "next"), "href") != NULL);
	CHECK(cJSON_GetObjectItem(l, "prev") == NULL);
	char sid[64], url[256];
	snprintf(sid, sizeof(sid), "%s", js(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "data"), 0), "id"));
	cJSON_Delete(p);
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-stores/*/data-assets?limit=100", NULL, &p), 200);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "total")), 9);
	cJSON_Delete(p);
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-stores/*/data-assets/*/data-sets", NULL, &p), 200);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "total")), 18);
	cJSON_Delete(p);
	snprintf(url, sizeof(url), BASE "/api/v1/data-stores/%s", sid);
	CHECK_INT(api(t, "GET", url, NULL, &p), 200);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "version")), 1);
	cJSON_ReplaceItemInObject(p, "description", cJSON_CreateString("changed"));
	char *s = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	CHECK_INT(api(t, "PUT", url, s, &p), 200);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "version")), 2);
	cJSON_Delete(p);
	CHECK_INT(api(t, "PUT", url, s, NULL), 409); /* stale version 1 */
	free(s);
	CHECK_INT(api(t, "PATCH", url,
		      "[{\"op\":\"test\",\"path\":\"/version\",\"value\":2},"
		      "{\"op\":\"replace\",\"path\":\"/description\",\"value\":\"p\"}]",
		      &p), 200);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "version")), 3);
	cJSON_Delete(p);
	CHECK_INT(api(t, "PATCH", url, "[{\"op\":\"test\",\"path\":\"/version\",\"value\":2}]", NULL),
		  409);
	CHECK_INT(api(t, "PATCH", url, "[{\"op\":\"frob\",\"path\":\"/x\"}]", NULL), 400);
	char body[128];
	snprintf(body, sizeof(body), "{\"ids\":[\"%s\"]}", sid);
	CHECK_INT(api(t, "DELETE", BASE "/api/v1/data-stores", body, NULL), 409);
}

static const char *MP_CT = "multipart/form-data; boundary=XyZ123";

static long upload(struct sim_tenant *t, const char *name, const char *content, cJSON **out)
{
	char body[1024];
	int n = snprintf(body, sizeof(body),
			 "--XyZ123\r\nContent-Disposition: form-data; name=\"File\"; filename=\"f\"\r\n"
			 "Content-Type: application/octet-stream\r\n\r\n%s\r\n"
			 "--XyZ123\r\nContent-Disposition: form-data; name=\"Json\"\r\n"
			 "Content-Type: application/json\r\n\r\n{\"name\":\"%s\"}\r\n--XyZ123--\r\n",
			 content, name);
	struct http_response r;
	long st = req(t, "POST", BASE "/api/v1/data-files", MP_CT, body, (size_t)n, &r, auth_key);
	if (out)
		*out = r.body ? cJSON_Parse(r.body) : NULL;
	http_response_clear(&r);
	return st;
}

static void test_datafiles(struct sim_tenant *t)
{
	cJSON *p;
	CHECK_INT(upload(t, "unit/test file ü.csv", "a,b\n1,2\n", &p), 201);
	CHECK_STR(js(p, "baseName"), "test file ü.csv");
	CHECK_STR(js(p, "folderPath"), "unit");
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "size")), 8);
	cJSON_Delete(p);
	CHECK_INT(upload(t, "unit/test file ü.csv", "x", &p), 409);
	cJSON_Delete(p);
	CHECK_INT(upload(t, "bad.exe", "x", &p), 400);
	CHECK_STR(js(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "errors"), 0), "code"), "DF-010");
	cJSON_Delete(p);
	CHECK_INT(upload(t, "noext", "x", &p), 400);
	CHECK_STR(js(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "errors"), 0), "code"), "DF-011");
	cJSON_Delete(p);
	/* listing: folders only with includeFolders; links always present */
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-files?folderPath=unit&includeFolders=true", NULL,
		      &p), 200);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(p, "data")), 1);
	const cJSON *l = cJSON_GetObjectItem(p, "links");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "next"), "href")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "prev"), "href")));
	cJSON_Delete(p);
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-files?limit=5", NULL, &p), 200);
	CHECK(next_href(p) != NULL);
	cJSON_Delete(p);
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-files?page=%21%21bad", NULL, &p), 400);
	CHECK_STR(js(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "errors"), 0), "code"), "DF-001");
	cJSON_Delete(p);
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-files?folderId=a&folderPath=b", NULL, NULL), 400);
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-files/connections", NULL, &p), 200);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(p, "data")), 10);
	cJSON_Delete(p);
	/* PUT: rename + replace content -> 201 */
	CHECK_INT(api(t, "GET", BASE "/api/v1/data-files?name=customers.csv", NULL, &p), 200);
	char fid[64], furl[256];
	snprintf(fid, sizeof(fid), "%s", js(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "data"), 0), "id"));
	cJSON_Delete(p);
	snprintf(furl, sizeof(furl), BASE "/api/v1/data-files/%s", fid);
	const char *pb = "--XyZ123\r\nContent-Disposition: form-data; name=\"File\"; filename=\"x\"\r\n\r\n"
			 "new\r\n--XyZ123\r\nContent-Disposition: form-data; name=\"Json\"\r\n\r\n"
			 "{\"name\":\"moved/clients.csv\"}\r\n--XyZ123--\r\n";
	struct http_response r;
	CHECK_INT(req(t, "PUT", furl, MP_CT, pb, strlen(pb), &r, auth_key), 201);
	p = cJSON_Parse(r.body);
	http_response_clear(&r);
	CHECK_STR(js(p, "name"), "moved/clients.csv");
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "size")), 3);
	cJSON_Delete(p);
	CHECK_INT(api(t, "DELETE", furl, NULL, NULL), 204);
	CHECK_INT(api(t, "GET", furl, NULL, NULL), 404);
	CHECK_INT(api(t, "POST", BASE "/api/v1/data-files/actions/delete",
		      "{\"delete\":[{\"id\":\"00000000-0000-4000-8000-000000000000\"}]}", NULL), 207);
}

static void test_faults_and_control(struct sim_tenant *t)
{
	char *out = NULL;
	CHECK_INT(sim_control(t, "POST", "/_sim/reset", NULL, &out), 0);
	free(out);
	CHECK_INT(sim_control(t, "POST", "/_sim/faults",
			      "{\"mode\":\"status\",\"status\":503,\"count\":1,\"match\":\"GET /api/v1/items\"}",
			      &out), 0);
	free(out);
	CHECK_INT(api(t, "GET", BASE "/api/v1/spaces", NULL, NULL), 200);
	CHECK_INT(api(t, "GET", BASE "/api/v1/items", NULL, NULL), 503);
	CHECK_INT(api(t, "GET", BASE "/api/v1/items", NULL, NULL), 200);
	CHECK_INT(sim_control(t, "POST", "/_sim/faults",
			      "{\"mode\":\"status\",\"status\":429,\"count\":1,\"retry_after\":2}", &out),
		  0);
	free(out);
	struct http_response r;
	CHECK_INT(req(t, "GET", BASE "/api/v1/items", NULL, NULL, 0, &r, auth_key), 429);
	CHECK_STR(http_response_header(&r, "retry-after"), "2");
	cJSON *b = cJSON_Parse(r.body);
	CHECK_STR(js(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "errors"), 0), "code"), "HTTP-429");
	cJSON_Delete(b);
	http_response_clear(&r);
	CHECK_INT(sim_control(t, "POST", "/_sim/faults", "{\"mode\":\"drop\",\"count\":1}", &out), 0);
	free(out);
	CHECK_INT(req(t, "GET", BASE "/api/v1/items", NULL, NULL, 0, &r, auth_key), -ECONNRESET);
	CHECK_INT(sim_count(t, "GET", "/api/v1/items"), 4);
	CHECK_INT(sim_count(t, NULL, "/api/v1/spaces"), 1);
	CHECK_INT(sim_count_total(t), 5);
	CHECK_INT(sim_control(t, "GET", "/_sim/stats", NULL, &out), 0);
	b = cJSON_Parse(out);
	free(out);
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(b, "total")), 5);
	CHECK_INT((long)cJSON_GetNumberValue(
			  cJSON_GetObjectItem(cJSON_GetObjectItem(b, "routes"), "GET /api/v1/items")),
		  4);
	cJSON_Delete(b);
	CHECK_INT(sim_control(t, "GET", "/_sim/log", NULL, &out), 0);
	b = cJSON_Parse(out);
	free(out);
	cJSON *rq = cJSON_GetObjectItem(b, "requests");
	CHECK_INT(cJSON_GetArraySize(rq), 5);
	CHECK_STR(js(cJSON_GetArrayItem(rq, 0), "path"), "/api/v1/spaces");
	CHECK_INT((long)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(rq, 1), "status")),
		  503);
	cJSON_Delete(b);
	/* rate limit: tier 1 = 2 per window */
	CHECK_INT(sim_control(t, "POST", "/_sim/config",
			      "{\"rate_limit\":{\"tier1\":2,\"tier2\":0,\"window_s\":60}}", &out), 0);
	free(out);
	CHECK_INT(api(t, "GET", BASE "/api/v1/spaces", NULL, NULL), 200);
	CHECK_INT(api(t, "GET", BASE "/api/v1/spaces", NULL, NULL), 200);
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, auth_key), 429);
	const char *ra = http_response_header(&r, "retry-after");
	CHECK(ra && atoi(ra) >= 1 && atoi(ra) <= 60);
	http_response_clear(&r);
	CHECK_INT(api(t, "POST", BASE "/api/v1/spaces", "{\"name\":\"Tier2\",\"type\":\"shared\"}",
		      NULL), 201); /* other tier unaffected */
	CHECK_INT(sim_control(t, "POST", "/_sim/config", "{\"rate_limit\":{\"tier1\":0}}", &out), 0);
	free(out);
	/* an expiring extra key */
	CHECK_INT(sim_control(t, "POST", "/_sim/api-keys", "{\"key\":\"short\",\"expires_in\":10}",
			      &out), 0);
	free(out);
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, "short"), 200);
	http_response_clear(&r);
	CHECK_INT(sim_control(t, "POST", "/_sim/time", "{\"shift_ms\":20000}", &out), 0);
	free(out);
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, "short"), 401);
	http_response_clear(&r);
	CHECK_INT(sim_control(t, "GET", "/_sim/state", NULL, &out), 0);
	b = cJSON_Parse(out);
	free(out);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(b, "apps")) >= 60);
	CHECK(js(b, "me") != NULL);
	cJSON_Delete(b);
	CHECK_INT(sim_control(t, "GET", "/_sim/nope", NULL, &out), -ENOENT);
	/* stalls: -ETIMEDOUT only when the stall exceeds the request timeout */
	struct http_header h = { (char *)"Authorization", (char *)"Bearer test-key" };
	struct http_request sr = { .method = "GET", .url = BASE "/api/v1/spaces/types",
				   .headers = &h, .n_headers = 1, .timeout_ms = 100 };
	CHECK_INT(sim_control(t, "POST", "/_sim/faults",
			      "{\"mode\":\"stall\",\"stall_ms\":300,\"count\":1}", &out), 0);
	free(out);
	CHECK_INT(sim_handle(t, &sr, &r), -ETIMEDOUT);
	CHECK_INT(sim_control(t, "POST", "/_sim/faults",
			      "{\"mode\":\"stall\",\"stall_ms\":20,\"count\":1}", &out), 0);
	free(out);
	CHECK_INT(sim_handle(t, &sr, &r), 0);
	CHECK_INT(r.status, 200);
	http_response_clear(&r);
}

static void test_transport(struct sim_tenant *t)
{
	struct http_transport *tr = sim_transport_new(t);
	struct http_header h = { (char *)"Authorization", (char *)"Bearer test-key" };
	struct http_request r = { .method = "GET", .url = BASE "/api/v1/users?limit=100",
				  .headers = &h, .n_headers = 1, .max_body = 100 };
	struct http_response resp;
	CHECK_INT(http_perform(tr, &r, &resp), -EFBIG);
	r.max_body = 0;
	CHECK_INT(http_perform(tr, &r, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK_STR(http_response_header(&resp, "content-type"), "application/json; charset=utf-8");
	http_response_clear(&resp);
	http_transport_free(tr);
}

static void test_reports_oauth(struct sim_tenant *t)
{
	cJSON *p;
	char *out;
	CHECK_INT(sim_control(t, "POST", "/_sim/config", "{\"report_delay_ms\":0}", &out), 0);
	free(out);
	CHECK_INT(api(t, "GET", BASE "/api/v1/items?resourceType=app&limit=1", NULL, &p), 200);
	char body[512], url[512];
	snprintf(body, sizeof(body),
		 "{\"type\":\"sense-sheet-1.0\",\"senseSheetTemplate\":{\"appId\":\"%s\",\"sheet\":"
		 "{\"id\":\"s1\"}},\"output\":{\"outputId\":\"out1\",\"type\":\"pdf\"}}",
		 js(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "data"), 0), "resourceId"));
	cJSON_Delete(p);
	struct http_response r;
	CHECK_INT(req(t, "POST", BASE "/api/v1/reports", "application/json", body, strlen(body), &r,
		      auth_key), 202);
	const char *loc = http_response_header(&r, "location");
	CHECK(loc && !strncmp(loc, BASE "/api/v1/reports/", strlen(BASE) + 16));
	snprintf(url, sizeof(url), "%s", loc ? loc : "");
	http_response_clear(&r);
	CHECK_INT(api(t, "GET", url, NULL, &p), 200);
	CHECK_STR(js(p, "status"), "done");
	cJSON_Delete(p);
	CHECK_INT(api(t, "POST", BASE "/api/v1/reports",
		      "{\"type\":\"sense-sheet-1.0\",\"senseSheetTemplate\":{\"appId\":\"nope\"},"
		      "\"output\":{\"outputId\":\"o\",\"type\":\"pdf\"}}",
		      NULL), 404);
	CHECK_INT(api(t, "POST", BASE "/api/v1/reports", "{\"type\":\"bogus\"}", NULL), 400);
	/* oauth client credentials */
	CHECK_INT(sim_control(t, "POST", "/_sim/config",
			      "{\"oauth_clients\":[{\"client_id\":\"c1\",\"client_secret\":\"s1\","
			      "\"redirect_uris\":[\"http://localhost/cb\"]}]}",
			      &out), 0);
	free(out);
	const char *form = "grant_type=client_credentials&client_id=c1&client_secret=s1";
	CHECK_INT(req(t, "POST", BASE "/oauth/token", "application/x-www-form-urlencoded", form,
		      strlen(form), &r, NULL), 200);
	p = cJSON_Parse(r.body);
	http_response_clear(&r);
	char tok[128];
	snprintf(tok, sizeof(tok), "%s", js(p, "access_token") ? js(p, "access_token") : "");
	CHECK(js(p, "expires_at") != NULL);
	cJSON_Delete(p);
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, tok), 200);
	http_response_clear(&r);
	/* PKCE: verifier "a"*43 -> S256 challenge */
	CHECK_INT(req(t, "GET",
		      BASE "/oauth/authorize?client_id=c1&redirect_uri=http%3A%2F%2Flocalhost%2Fcb"
			   "&response_type=code&scope=user_default%20offline_access&state=xyz"
			   "&code_challenge=ZtNPunH49FD35FWYhT5Tv8I7vRKQJ8uxMaL0_9eHjNA"
			   "&code_challenge_method=S256",
		      NULL, NULL, 0, &r, NULL), 302);
	loc = http_response_header(&r, "location");
	const char *cp = loc ? strstr(loc, "code=") : NULL;
	char code[128] = "";
	if (cp)
		sscanf(cp + 5, "%127[^&]", code);
	CHECK(loc && strstr(loc, "state=xyz"));
	http_response_clear(&r);
	snprintf(body, sizeof(body),
		 "{\"grant_type\":\"authorization_code\",\"client_id\":\"c1\",\"code\":\"%s\","
		 "\"redirect_uri\":\"http://localhost/cb\",\"code_verifier\":"
		 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		 code);
	CHECK_INT(req(t, "POST", BASE "/oauth/token", "application/json", body, strlen(body), &r,
		      NULL), 200);
	p = cJSON_Parse(r.body);
	http_response_clear(&r);
	CHECK(js(p, "refresh_token") != NULL);
	snprintf(body, sizeof(body), "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"%s\"}",
		 js(p, "refresh_token") ? js(p, "refresh_token") : "");
	cJSON_Delete(p);
	CHECK_INT(req(t, "POST", BASE "/oauth/token", "application/json", body, strlen(body), &r,
		      NULL), 200);
	http_response_clear(&r);
	CHECK_INT(req(t, "POST", BASE "/oauth/token", "application/json", body, strlen(body), &r,
		      NULL), 401); /* rotated */
	http_response_clear(&r);
}

/* Every API answer is dated with the tenant's clock, skew and shift included. */
static void test_date_header(void)
{
	struct sim_config cfg = { .seed = 3, .api_key = "test-key", .clock_skew_ms = -86400000L };
	struct sim_tenant *t = sim_new(&cfg);
	struct http_response r;
	char *out = NULL, d1[64] = "", d2[64] = "";
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, auth_key), 200);
	const char *d = http_response_header(&r, "date");
	CHECK(d && strlen(d) == 29 && !strcmp(d + 25, " GMT"));
	snprintf(d1, sizeof(d1), "%s", d ? d : "");
	http_response_clear(&r);
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces/nope", NULL, NULL, 0, &r, auth_key), 404);
	CHECK(http_response_header(&r, "date") != NULL); /* errors are dated too */
	http_response_clear(&r);
	/* a shift of one day cancels the skew: the date moves by a day (day of month differs) */
	CHECK_INT(sim_control(t, "POST", "/_sim/time", "{\"shift_ms\":86400000}", &out), 0);
	free(out);
	CHECK_INT(req(t, "GET", BASE "/api/v1/spaces", NULL, NULL, 0, &r, auth_key), 200);
	d = http_response_header(&r, "date");
	snprintf(d2, sizeof(d2), "%s", d ? d : "");
	http_response_clear(&r);
	CHECK(strlen(d2) == 29 && strncmp(d1 + 5, d2 + 5, 2) != 0);
	sim_free(t);
}

int main(void)
{
	struct sim_config cfg = { .seed = 42, .api_key = "test-key" };
	struct sim_tenant *t = sim_new(&cfg);
	CHECK(t != NULL);
	if (!t)
		return check_done();
	test_auth(t);
	test_spaces(t);
	test_items(t);
	test_users(t);
	test_datastores(t);
	test_datafiles(t);
	test_transport(t);
	test_reports_oauth(t);
	test_faults_and_control(t);
	sim_free(t);
	test_date_header();

	/* a big tenant must seed and page quickly */
	struct sim_config big = { .seed = 7, .n_users = 10000, .api_key = "test-key" };
	t = sim_new(&big);
	CHECK(t != NULL);
	if (t) {
		cJSON *p;
		char url[2048] = BASE "/api/v1/users?limit=100";
		int n = 0;
		for (int guard = 0; guard < 200; guard++) {
			CHECK_INT(api(t, "GET", url, NULL, &p), 200);
			n += cJSON_GetArraySize(cJSON_GetObjectItem(p, "data"));
			const char *nx = next_href(p);
			if (!nx) {
				cJSON_Delete(p);
				break;
			}
			snprintf(url, sizeof(url), "%s", nx);
			cJSON_Delete(p);
		}
		CHECK_INT(n, 10000);
		sim_free(t);
	}
	return check_done();
}
