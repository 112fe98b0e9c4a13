/*
 * test_scripts_api.c - actions/scripts.c and actions/reloads.c through the
 * in-process simulator: the requests each call sends (counted), the newest
 * version chosen, a new version with its message, checks made before
 * sending, and a reload followed to its end and canceled.
 */
#include <stdio.h>

#include "check.h"
#include "actions/reloads.h"
#include "actions/scripts.h"
#include "simenv.h"

static void test_scripts(struct simenv *e, const char *app)
{
	char err[512], *text = NULL, *msg = NULL;
	size_t len = 0;
	struct script_ver v, v2;
	sim_reset_counts(e->sim);
	CHECK_INT(scripts_current(e->qc, app, &v, &text, &len, err, sizeof(err)), 0);
	CHECK_INT(sim_count_total(e->sim), 2); /* the history and the version */
	CHECK(v.id[0] && v.mtime_ms > 0 && v.size == (int64_t)len && text && strlen(text) == len);
	free(text);

	/* a new version with a message: the head moves, its text is ours */
	const char *mine = "LOAD 'é' AS x AUTOGENERATE 1;\n\"quoted\"\n";
	CHECK_INT(scripts_set(e->qc, app, mine, strlen(mine), "from test", err, sizeof(err)), 0);
	CHECK_INT(scripts_head(e->qc, app, &v2, err, sizeof(err)), 0);
	CHECK(strcmp(v.id, v2.id) != 0 && v2.mtime_ms >= v.mtime_ms);
	CHECK_INT(scripts_get(e->qc, app, v2.id, &text, &len, &msg, err, sizeof(err)), 0);
	CHECK_STR(text, mine);
	CHECK_STR(msg, "from test");
	free(text);
	free(msg);
	cJSON *h = NULL;
	CHECK_INT(scripts_history(e->qc, app, &h, err, sizeof(err)), 0);
	CHECK_INT(cJSON_GetArraySize(h), 2);
	struct script_ver first;
	CHECK(scripts_ver_parse(cJSON_GetArrayItem(h, 0), &first) && !strcmp(first.id, v2.id));
	cJSON_Delete(h);

	/* refused before sending: a NUL byte; unknown app: ENOENT */
	sim_reset_counts(e->sim);
	CHECK_INT(scripts_set(e->qc, app, "a\0b", 3, NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(sim_count_total(e->sim), 0);
	CHECK_INT(scripts_head(e->qc, "no-such-app-0000", &v, err, sizeof(err)), -ENOENT);
}

static const char *status_of(const cJSON *r)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(r, "status"));
	return s ? s : "";
}

/* An app's reloads, page after page (100 a page), up to a bound. */
static void test_list_app(struct simenv *e, const char *app, const char *body)
{
	char err[512];
	cJSON *r = NULL, *l = NULL;
	int pages = 0;
	for (int i = 0; i < 120; i++) {
		CHECK_INT(reloads_create(e->qc, body, strlen(body), &r, err, sizeof(err)), 0);
		cJSON_Delete(r);
	}
	sim_reset_counts(e->sim);
	CHECK_INT(reloads_list_app(e->qc, app, 1000, &l, &pages, err, sizeof(err)), 0);
	CHECK_INT(cJSON_GetArraySize(l), 122); /* and the two above */
	CHECK_INT(pages, 2);
	CHECK_INT(sim_count_total(e->sim), 2);
	cJSON_Delete(l);
	CHECK_INT(reloads_list_app(e->qc, app, 100, &l, &pages, err, sizeof(err)), 0);
	CHECK_INT(cJSON_GetArraySize(l), 100);
	CHECK_INT(pages, 1); /* the bound ends the walk: no second page */
	cJSON_Delete(l);
	CHECK_INT(reloads_list_app(e->qc, app, 101, &l, &pages, err, sizeof(err)), 0);
	CHECK_INT(cJSON_GetArraySize(l), 101);
	CHECK_INT(pages, 2);
	cJSON_Delete(l);
	CHECK_INT(reloads_list_app(e->qc, "../x", 10, &l, &pages, err, sizeof(err)), -EINVAL);
}

static void test_reloads(struct simenv *e, const char *app)
{
	char err[512], body[256], *out = NULL, id[80];
	cJSON *r = NULL;
	CHECK_INT(sim_control(e->sim, "POST", "/_sim/config", "{\"reload_delay_ms\":5000}", &out), 0);
	free(out);
	sim_reset_counts(e->sim);
	CHECK_INT(reloads_create(e->qc, "{\"partial\":true}", 16, &r, err, sizeof(err)), -EINVAL);
	CHECK_INT(sim_count_total(e->sim), 0);
	snprintf(body, sizeof(body), "{\"appId\":\"%s\"}", app);
	CHECK_INT(reloads_create(e->qc, body, strlen(body), &r, err, sizeof(err)), 0);
	CHECK_STR(status_of(r), "QUEUED");
	snprintf(id, sizeof(id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")));
	cJSON_Delete(r);
	CHECK(!reloads_final("QUEUED") && reloads_final("EXCEEDED_LIMIT"));

	/* listed per app and tenant-wide (the key is a tenant admin's) */
	cJSON *l = NULL;
	CHECK_INT(reloads_list(e->qc, app, 10, &l, err, sizeof(err)), 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(l, 0), "id")), id);
	cJSON_Delete(l);
	CHECK_INT(reloads_list(e->qc, NULL, 100, &l, err, sizeof(err)), 0);
	CHECK(cJSON_GetArraySize(l) >= 1);
	cJSON_Delete(l);

	/* time moves on the server: it ends SUCCEEDED with its log */
	CHECK_INT(sim_control(e->sim, "POST", "/_sim/time", "{\"shift_ms\":10001}", &out), 0);
	free(out);
	CHECK_INT(reloads_get(e->qc, id, &r, err, sizeof(err)), 0);
	CHECK_STR(status_of(r), "SUCCEEDED");
	CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(r, "log")), "Execution finished."));
	cJSON_Delete(r);
	CHECK_INT(reloads_cancel(e->qc, id, err, sizeof(err)), -EALREADY);

	/* cancel while queued */
	CHECK_INT(reloads_create(e->qc, body, strlen(body), &r, err, sizeof(err)), 0);
	snprintf(id, sizeof(id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")));
	cJSON_Delete(r);
	CHECK_INT(reloads_cancel(e->qc, id, err, sizeof(err)), 0);
	CHECK_INT(reloads_cancel(e->qc, id, err, sizeof(err)), 0); /* 204: already canceled */
	CHECK_INT(reloads_get(e->qc, id, &r, err, sizeof(err)), 0);
	CHECK_STR(status_of(r), "CANCELED");
	cJSON_Delete(r);
	CHECK_INT(reloads_get(e->qc, "000000000000000000000000", &r, err, sizeof(err)), -ENOENT);
	CHECK_INT(reloads_get(e->qc, "../x", &r, err, sizeof(err)), -EINVAL);
	test_list_app(e, app, body);
}

int main(void)
{
	struct simenv e;
	simenv_init(&e, 10000);
	char *app = simenv_app_create(&e, "Script source");
	CHECK(app != NULL);
	test_scripts(&e, app);
	test_reloads(&e, app);
	free(app);
	simenv_fini(&e);
	return check_done();
}
