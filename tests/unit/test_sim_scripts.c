/*
 * test_sim_scripts.c - the simulator's load scripts (versions per app) and
 * reloads (state machine by server time, logs, cancel), through
 * sim_handle() / sim_control(); time moves with /_sim/time, never a sleep.
 */
#include "check.h"
#include "sim.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE "http://127.0.0.1:9999"

static const char *auth = "Bearer test-key";

static long api_raw(struct sim_tenant *t, const char *method, const char *url, const char *json,
		    cJSON **out, char **text)
{
	struct http_header h[2] = { { (char *)"Authorization", (char *)auth },
				    { (char *)"Content-Type", (char *)"application/json" } };
	struct http_request r = { .method = method, .url = url, .headers = h,
				  .n_headers = json ? 2 : 1, .body = json,
				  .body_len = json ? strlen(json) : 0 };
	struct http_response resp;
	int rc = sim_handle(t, &r, &resp);
	if (rc)
		return rc;
	if (out)
		*out = resp.body ? cJSON_Parse(resp.body) : NULL;
	if (text)
		*text = resp.body ? strndup(resp.body, resp.body_len) : NULL;
	long st = resp.status;
	http_response_clear(&resp);
	return st;
}

static long api(struct sim_tenant *t, const char *method, const char *url, const char *json,
		cJSON **out)
{
	return api_raw(t, method, url, json, out, NULL);
}

static const char *js(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void shift(struct sim_tenant *t, long ms)
{
	char body[64], *out = NULL;
	snprintf(body, sizeof(body), "{\"shift_ms\":%ld}", ms);
	CHECK_INT(sim_control(t, "POST", "/_sim/time", body, &out), 0);
	free(out);
}

/* The id of the first app in the items listing. */
static void first_app(struct sim_tenant *t, char *id, size_t n)
{
	cJSON *o = NULL;
	CHECK_INT(api(t, "GET", BASE "/api/v1/items?resourceType=app&limit=1", NULL, &o), 200);
	const cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "data"), 0);
	snprintf(id, n, "%s", js(it, "resourceId") ? js(it, "resourceId") : "");
	cJSON_Delete(o);
}

static void test_scripts(struct sim_tenant *t, const char *app)
{
	char url[512], url2[600];
	cJSON *o = NULL;
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s/scripts", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	const cJSON *arr = cJSON_GetObjectItem(o, "scripts");
	CHECK_INT(cJSON_GetArraySize(arr), 1);
	const cJSON *v0 = cJSON_GetArrayItem(arr, 0);
	char first[64];
	snprintf(first, sizeof(first), "%s", js(v0, "scriptId") ? js(v0, "scriptId") : "");
	double size0 = cJSON_GetNumberValue(cJSON_GetObjectItem(v0, "size"));
	CHECK(js(v0, "modifiedTime") && js(v0, "modifierId"));
	cJSON_Delete(o);

	/* the current script: stable, its size is the list's */
	snprintf(url2, sizeof(url2), "%s/current", url);
	CHECK_INT(api(t, "GET", url2, NULL, &o), 200);
	CHECK(js(o, "script") && (double)strlen(js(o, "script")) == size0);
	CHECK(js(o, "script") && strstr(js(o, "script"), "lib://DataFiles/"));
	cJSON_Delete(o);

	/* a new version with a message becomes current; the old stays readable */
	CHECK_INT(api(t, "POST", url, "{\"script\":\"LOAD 1 AS x AUTOGENERATE 1;\\n\","
					 "\"versionMessage\":\"mine\"}", NULL), 200);
	CHECK_INT(api(t, "POST", url, "{\"versionMessage\":\"no script\"}", NULL), 400);
	CHECK_INT(api(t, "GET", url2, NULL, &o), 200);
	CHECK_STR(js(o, "script"), "LOAD 1 AS x AUTOGENERATE 1;\n");
	CHECK_STR(js(o, "versionMessage"), "mine");
	cJSON_Delete(o);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	arr = cJSON_GetObjectItem(o, "scripts");
	CHECK_INT(cJSON_GetArraySize(arr), 2);
	CHECK_STR(js(cJSON_GetArrayItem(arr, 0), "versionMessage"), "mine"); /* newest first */
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "size")), 28);
	char cur[64];
	snprintf(cur, sizeof(cur), "%s", js(cJSON_GetArrayItem(arr, 0), "scriptId"));
	cJSON_Delete(o);
	snprintf(url2, sizeof(url2), "%s/%s", url, first);
	CHECK_INT(api(t, "GET", url2, NULL, &o), 200);
	CHECK(js(o, "script") && (double)strlen(js(o, "script")) == size0);
	cJSON_Delete(o);

	/* PATCH the message (capitalised keys only); the current cannot be deleted */
	CHECK_INT(api(t, "PATCH", url2,
		      "[{\"Op\":\"replace\",\"Path\":\"/versionMessage\",\"Value\":\"renamed\"}]", NULL),
		  200);
	CHECK_INT(api(t, "PATCH", url2, "[{\"op\":\"replace\",\"path\":\"/script\",\"value\":\"\"}]",
		      NULL), 400);
	CHECK_INT(api(t, "GET", url2, NULL, &o), 200);
	CHECK_STR(js(o, "versionMessage"), "renamed");
	cJSON_Delete(o);
	snprintf(url2, sizeof(url2), "%s/%s", url, cur);
	CHECK_INT(api(t, "DELETE", url2, NULL, NULL), 400);
	snprintf(url2, sizeof(url2), "%s/%s", url, first);
	CHECK_INT(api(t, "DELETE", url2, NULL, NULL), 200);
	CHECK_INT(api(t, "GET", url2, NULL, NULL), 404);
	CHECK_INT(api(t, "GET", BASE "/api/v1/apps/nope-nope/scripts", NULL, NULL), 404);
}

static void set_script(struct sim_tenant *t, const char *app, const char *script)
{
	char url[512], body[512];
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s/scripts", app);
	snprintf(body, sizeof(body), "{\"script\":\"%s\"}", script);
	CHECK_INT(api(t, "POST", url, body, NULL), 200);
}

static char *start_reload(struct sim_tenant *t, const char *app)
{
	char body[256];
	cJSON *o = NULL;
	snprintf(body, sizeof(body), "{\"appId\":\"%s\",\"variables\":{\"v\":\"1\"}}", app);
	CHECK_INT(api(t, "POST", BASE "/api/v1/reloads", body, &o), 201);
	CHECK_STR(js(o, "status"), "QUEUED");
	char *id = js(o, "id") ? strdup(js(o, "id")) : NULL;
	cJSON_Delete(o);
	return id;
}

static cJSON *get_reload(struct sim_tenant *t, const char *id)
{
	char url[256];
	cJSON *o = NULL;
	snprintf(url, sizeof(url), BASE "/api/v1/reloads/%s", id);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	return o;
}

static void test_reloads(struct sim_tenant *t, const char *app)
{
	char *out = NULL, url[512];
	CHECK_INT(sim_control(t, "POST", "/_sim/config", "{\"reload_delay_ms\":10000}", &out), 0);
	free(out);
	set_script(t, app, "A:\\nLOAD 1 AS a AUTOGENERATE 1;\\nB:\\nLOAD 2 AS b AUTOGENERATE 1;\\n");

	/* QUEUED -> RELOADING (the log grows) -> SUCCEEDED (lastReloadTime set) */
	char *id = start_reload(t, app);
	cJSON *o = get_reload(t, id);
	CHECK_STR(js(o, "status"), "QUEUED");
	cJSON_Delete(o);
	shift(t, 10000);
	o = get_reload(t, id);
	CHECK_STR(js(o, "status"), "RELOADING");
	size_t early = js(o, "log") ? strlen(js(o, "log")) : 0;
	cJSON_Delete(o);
	shift(t, 6000);
	o = get_reload(t, id);
	CHECK_STR(js(o, "status"), "RELOADING");
	CHECK(js(o, "log") && strlen(js(o, "log")) > early);
	cJSON_Delete(o);
	shift(t, 5000);
	o = get_reload(t, id);
	CHECK_STR(js(o, "status"), "SUCCEEDED");
	CHECK(js(o, "endTime") && js(o, "startTime") && js(o, "duration"));
	CHECK(js(o, "log") && strstr(js(o, "log"), "LOAD 2 AS b") &&
	      strstr(js(o, "log"), "Execution finished."));
	char end[64];
	snprintf(end, sizeof(end), "%s", js(o, "endTime") ? js(o, "endTime") : "");
	cJSON_Delete(o);
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	CHECK_STR(js(cJSON_GetObjectItem(o, "attributes"), "lastReloadTime"), end);
	cJSON_Delete(o);

	/* the per-app log list and the log as text */
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s/reloads/logs", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "data"), 0);
	CHECK_STR(js(e, "reloadId"), id);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(e, "success")));
	cJSON_Delete(o);
	char *text = NULL;
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s/reloads/logs/%s", app, id);
	CHECK_INT(api_raw(t, "GET", url, NULL, NULL, &text), 200);
	CHECK(text && strstr(text, "Execution finished."));
	free(text);

	/* a //FAIL marker fails it with an error code and message */
	set_script(t, app, "LOAD 1 AS a AUTOGENERATE 1; //FAIL\\n");
	char *id2 = start_reload(t, app);
	shift(t, 20001);
	o = get_reload(t, id2);
	CHECK_STR(js(o, "status"), "FAILED");
	CHECK_STR(js(o, "errorCode"), "RELOADS-009");
	CHECK(js(o, "errorMessage") && js(o, "log") && strstr(js(o, "log"), "Error:"));
	cJSON_Delete(o);

	/* cancel: 202 while active, then 204; 409 once ended otherwise */
	set_script(t, app, "LOAD 1 AS a AUTOGENERATE 1;\\n");
	char *id3 = start_reload(t, app);
	snprintf(url, sizeof(url), BASE "/api/v1/reloads/%s/actions/cancel", id3);
	CHECK_INT(api(t, "POST", url, NULL, NULL), 202);
	o = get_reload(t, id3);
	CHECK_STR(js(o, "status"), "CANCELED");
	cJSON_Delete(o);
	CHECK_INT(api(t, "POST", url, NULL, NULL), 204);
	snprintf(url, sizeof(url), BASE "/api/v1/reloads/%s/actions/cancel", id);
	CHECK_INT(api(t, "POST", url, NULL, NULL), 409);

	/* listing: newest first, per app or tenant-wide (the caller is admin),
	 * filtered on status; bad bodies and unknown ids */
	snprintf(url, sizeof(url), BASE "/api/v1/reloads?appId=%s&limit=2", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	const cJSON *d = cJSON_GetObjectItem(o, "data");
	CHECK_INT(cJSON_GetArraySize(d), 2);
	CHECK_STR(js(cJSON_GetArrayItem(d, 0), "id"), id3);
	CHECK(!cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "log"));
	CHECK(js(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "links"), "next"), "href") != NULL);
	cJSON_Delete(o);
	CHECK_INT(api(t, "GET", BASE "/api/v1/reloads?filter=status%20eq%20%22FAILED%22", NULL, &o),
		  200);
	d = cJSON_GetObjectItem(o, "data");
	CHECK_INT(cJSON_GetArraySize(d), 1);
	CHECK_STR(js(cJSON_GetArrayItem(d, 0), "id"), id2);
	cJSON_Delete(o);
	CHECK_INT(api(t, "POST", BASE "/api/v1/reloads", "{\"partial\":true}", NULL), 400);
	CHECK_INT(api(t, "POST", BASE "/api/v1/reloads", "{\"appId\":\"no-such-app\"}", NULL), 404);
	CHECK_INT(api(t, "GET", BASE "/api/v1/reloads/000000000000000000000000", NULL, NULL), 404);
	free(id);
	free(id2);
	free(id3);
}

/* A caller who is not a tenant admin must name the app (RELOADS-002). */
static void test_reloads_non_admin(struct sim_tenant *t, const char *app)
{
	char url[512], body[256], *out = NULL;
	cJSON *o = NULL, *u;
	const char *uid = NULL;
	CHECK_INT(api(t, "GET", BASE "/api/v1/users?limit=100", NULL, &o), 200);
	cJSON_ArrayForEach(u, cJSON_GetObjectItem(o, "data"))
	{
		const cJSON *r;
		bool admin = false;
		cJSON_ArrayForEach(r, cJSON_GetObjectItem(u, "assignedRoles"))
			admin = admin || !strcmp(js(r, "name"), "TenantAdmin");
		if (!admin && !strcmp(js(u, "status"), "active")) {
			uid = js(u, "id");
			break;
		}
	}
	CHECK(uid != NULL);
	snprintf(body, sizeof(body), "{\"key\":\"plain-key\",\"user\":\"%s\"}", uid ? uid : "");
	CHECK_INT(sim_control(t, "POST", "/_sim/api-keys", body, &out), 0);
	free(out);
	cJSON_Delete(o);
	auth = "Bearer plain-key";
	CHECK_INT(api(t, "GET", BASE "/api/v1/reloads", NULL, &o), 400);
	CHECK_STR(js(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "errors"), 0), "code"),
		  "RELOADS-002");
	cJSON_Delete(o);
	snprintf(url, sizeof(url), BASE "/api/v1/reloads?appId=%s", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "data")) >= 1);
	cJSON_Delete(o);
	auth = "Bearer test-key";
}

/* The data model and lineage follow the script of the last reload. */
static void test_appdata(struct sim_tenant *t, const char *app)
{
	char url[512], *out = NULL;
	cJSON *o = NULL;
	CHECK_INT(sim_control(t, "POST", "/_sim/config", "{\"reload_delay_ms\":0}", &out), 0);
	free(out);
	set_script(t, app, "Sales:\\nLOAD Region AS region, Amount AS amount\\n"
			   "FROM [lib://DataFiles/sales_2023.csv] (txt);\\n");
	char *id = start_reload(t, app);
	shift(t, 1);
	cJSON_Delete(get_reload(t, id));
	free(id);
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s/data/metadata", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	const cJSON *f = cJSON_GetObjectItem(o, "fields"), *tb = cJSON_GetObjectItem(o, "tables");
	CHECK_INT(cJSON_GetArraySize(f), 2);
	CHECK_STR(js(cJSON_GetArrayItem(f, 0), "name"), "region");
	CHECK_STR(js(cJSON_GetArrayItem(tb, 0), "name"), "Sales");
	cJSON_Delete(o);
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s/data/lineage", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	CHECK_INT(cJSON_GetArraySize(o), 1);
	CHECK_STR(js(cJSON_GetArrayItem(o, 0), "discriminator"), "lib://DataFiles/sales_2023.csv");
	cJSON_Delete(o);
	/* a new script changes nothing until it is reloaded */
	set_script(t, app, "LOAD 1 AS other AUTOGENERATE 1;\\n");
	snprintf(url, sizeof(url), BASE "/api/v1/apps/%s/data/metadata", app);
	CHECK_INT(api(t, "GET", url, NULL, &o), 200);
	CHECK_STR(js(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "fields"), 0), "name"), "region");
	cJSON_Delete(o);
	CHECK_INT(api(t, "GET", BASE "/api/v1/apps/nope-nope/data/lineage", NULL, NULL), 404);
}

int main(void)
{
	struct sim_config cfg = { .seed = 3, .api_key = "test-key" };
	struct sim_tenant *t = sim_new(&cfg);
	CHECK(t != NULL);
	if (!t)
		return check_done();
	char app[64];
	first_app(t, app, sizeof(app));
	CHECK(app[0] != 0);
	test_scripts(t, app);
	test_reloads(t, app);
	test_reloads_non_admin(t, app);
	test_appdata(t, app);
	sim_free(t);
	return check_done();
}
