/*
 * test_reports.c - report requests through the in-process simulator: checks
 * before sending, the tenant's refusals, the status progression queued ->
 * processing -> done (or failed) with outputs downloaded to a descriptor, and
 * the registry of created requests persisting across a "remount".
 */
#include <stdio.h>
#include <sys/stat.h>

#include "check.h"
#include "actions/reports.h"
#include "simenv.h"

static char *request_doc(const char *app, const char *type, const char *out_type)
{
	char *s = NULL;
	if (asprintf(&s,
		     "{\"type\":\"%s\",\"senseImageTemplate\":{\"appId\":\"%s\","
		     "\"visualization\":{\"id\":\"chart1\",\"widthPx\":800,\"heightPx\":600}},"
		     "\"output\":{\"outputId\":\"chart\",\"type\":\"%s\"}}",
		     type, app, out_type) < 0)
		abort();
	return s;
}

static const char *status_of(struct simenv *e, const char *id)
{
	static char st[32];
	cJSON *s = NULL;
	char err[256];
	st[0] = 0;
	if (reports_status(e->qc, id, &s, err, sizeof(err)) == 0) {
		const cJSON *v = cJSON_GetObjectItem(s, "status");
		snprintf(st, sizeof(st), "%s", cJSON_IsString(v) ? v->valuestring : "?");
	}
	cJSON_Delete(s);
	return st;
}

static void test_refused(struct simenv *e, const char *app)
{
	char err[512], *id = NULL;
	const char *bad[] = { "not json", "[]", "{}", "{\"type\":\"sense-image-1.0\"}",
			      "{\"type\":\"sense-image-1.0\",\"output\":{\"outputId\":\"x\"}}" };
	sim_reset_counts(e->sim);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(reports_create(e->qc, bad[i], strlen(bad[i]), &id, NULL, err, sizeof(err)),
			  -EINVAL);
		CHECK(err[0] != 0);
	}
	CHECK_INT(reports_create(e->qc, "", 0, &id, NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(sim_count_total(e->sim), 0); /* nothing sent */

	char *doc = request_doc(app, "no-such-type", "image");
	CHECK_INT(reports_create(e->qc, doc, strlen(doc), &id, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "400") && strstr(err, "REP-400000"));
	free(doc);
	doc = request_doc("00000000-0000-0000-0000-000000000000", "sense-image-1.0", "image");
	CHECK_INT(reports_create(e->qc, doc, strlen(doc), &id, NULL, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "REP-404001") != NULL);
	free(doc);
	cJSON *s = NULL;
	CHECK_INT(reports_status(e->qc, "00000000-0000-0000-0000-000000000000", &s, err,
				 sizeof(err)), -ENOENT);
	CHECK_INT(reports_status(e->qc, "../x", &s, err, sizeof(err)), -EINVAL);
}

static void test_lifecycle(struct simenv *e, const char *app)
{
	CHECK_INT(simenv_ctl(e, "POST", "/_sim/config", "{\"report_delay_ms\":1000}"), 0);
	char *doc = request_doc(app, "sense-image-1.0", "image");
	char *id = NULL, *otype = NULL, err[512];
	sim_reset_counts(e->sim);
	CHECK_INT(reports_create(e->qc, doc, strlen(doc), &id, &otype, err, sizeof(err)), 0);
	CHECK(id && strlen(id) == 36);
	CHECK_STR(otype, "image");
	CHECK_STR(reports_output_ext(otype), "png");
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/reports"), 1);

	CHECK_STR(status_of(e, id), "queued");
	cJSON *outs = NULL;
	CHECK_INT(reports_outputs(e->qc, id, &outs, err, sizeof(err)), 0);
	CHECK_INT(cJSON_GetArraySize(outs), 1);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(outs, 0), "status")->valuestring, "queued");
	cJSON_Delete(outs);
	usleep(1100 * 1000); /* wide windows: robust on a loaded machine */
	CHECK_STR(status_of(e, id), "processing");
	usleep(1000 * 1000);
	CHECK_STR(status_of(e, id), "done");

	CHECK_INT(reports_outputs(e->qc, id, &outs, err, sizeof(err)), 0);
	const cJSON *o = cJSON_GetArrayItem(outs, 0);
	CHECK_STR(cJSON_GetObjectItem(o, "outputId")->valuestring, "chart");
	CHECK_STR(cJSON_GetObjectItem(o, "status")->valuestring, "done");
	const char *loc = cJSON_GetObjectItem(o, "location")->valuestring;
	uint64_t want = (uint64_t)cJSON_GetObjectItem(o, "sizeBytes")->valuedouble, size = 0;
	int fd = simenv_temp_fd("stale content, longer than nothing", 34);
	CHECK_INT(reports_download(e->qc, loc, fd, 0, &size, err, sizeof(err)), 0);
	CHECK(want > 0 && size == want);
	size_t n = 0;
	char *b = simenv_read_fd(fd, &n);
	CHECK(b && n == want && !strncmp(b, "%PDF", 4) && strstr(b, id));
	free(b);
	/* a relative location works too */
	const char *path = strstr(loc, "/api/v1/");
	CHECK_INT(reports_download(e->qc, path, fd, 0, &size, err, sizeof(err)), 0);
	CHECK_INT(size, want);
	/* another origin: fetched from the tenant's (credentials never leave it) */
	char other[512];
	snprintf(other, sizeof(other), "https://elsewhere.example.com%s", path);
	sim_reset_counts(e->sim);
	CHECK_INT(reports_download(e->qc, other, fd, 0, &size, err, sizeof(err)), 0);
	CHECK_INT(sim_count(e->sim, "GET", "/api/v1/temp-contents/"), 1);
	/* after the output's lifetime: gone */
	CHECK_INT(simenv_ctl(e, "POST", "/_sim/time", "{\"shift_ms\":7200000}"), 0);
	CHECK_INT(reports_download(e->qc, loc, fd, 0, &size, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "410") != NULL);
	CHECK_INT(simenv_ctl(e, "POST", "/_sim/time", "{\"shift_ms\":-7200000}"), 0);
	close(fd);
	cJSON_Delete(outs);

	/* a report that fails: status failed, with the reasons, no output to fetch */
	CHECK_INT(simenv_ctl(e, "POST", "/_sim/config", "{\"report_delay_ms\":50,\"report_fail\":true}"), 0);
	char *id2 = NULL;
	CHECK_INT(reports_create(e->qc, doc, strlen(doc), &id2, NULL, err, sizeof(err)), 0);
	usleep(150 * 1000);
	cJSON *s = NULL;
	CHECK_INT(reports_status(e->qc, id2, &s, err, sizeof(err)), 0);
	CHECK_STR(cJSON_GetObjectItem(s, "status")->valuestring, "failed");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(s, "requestErrors")) > 0);
	cJSON_Delete(s);
	CHECK_INT(reports_outputs(e->qc, id2, &outs, err, sizeof(err)), 0);
	o = cJSON_GetArrayItem(outs, 0);
	CHECK_STR(cJSON_GetObjectItem(o, "status")->valuestring, "failed");
	CHECK(cJSON_GetObjectItem(o, "location") == NULL);
	cJSON_Delete(outs);
	CHECK_INT(simenv_ctl(e, "POST", "/_sim/config", "{\"report_fail\":false}"), 0);
	free(id2);
	free(id);
	free(otype);
	free(doc);
}

static void test_registry(void)
{
	char tmpl[] = "/tmp/qlikfs-reports-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct reports_reg *r = NULL;
	CHECK_INT(reports_reg_open(dir, &r), 0);
	struct report_entry *v = NULL;
	size_t n = 99;
	CHECK_INT(reports_reg_list(r, &v, &n), 0);
	CHECK_INT(n, 0);
	const char *id1 = "c61841ac-7b35-4434-aa74-4421f10fc68e";
	const char *id2 = "d72952bd-8c46-4545-bb85-5532021fd79f";
	CHECK_INT(reports_reg_add(r, id1, "sales chart.json", "image", 1700000000123), 0);
	CHECK_INT(reports_reg_add(r, id2, "board pack.json", "pdf", 1700000100000), 0);
	CHECK_INT(reports_reg_add(r, id1, "again", "pdf", 1), -EEXIST);
	CHECK_INT(reports_reg_add(r, "", "x", "pdf", 1), -EINVAL);
	CHECK_INT(reports_reg_add(r, "a/b", "x", "pdf", 1), -EINVAL);
	reports_reg_free(r);

	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, REPORTS_REG_FILE);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* a remount finds them, in creation order */
	CHECK_INT(reports_reg_open(dir, &r), 0);
	CHECK_INT(reports_reg_list(r, &v, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(v[0].id, id1);
	CHECK_STR(v[0].name, "sales chart.json");
	CHECK_STR(v[0].output_type, "image");
	CHECK_INT(v[0].created_ms, 1700000000123);
	CHECK_STR(v[1].id, id2);
	free(v);
	struct report_entry one;
	CHECK_INT(reports_reg_get(r, id2, &one), 0);
	CHECK_STR(one.name, "board pack.json");
	CHECK_INT(reports_reg_remove(r, id1), 0);
	CHECK_INT(reports_reg_remove(r, id1), -ENOENT);
	CHECK_INT(reports_reg_get(r, id1, &one), -ENOENT);
	reports_reg_free(r);
	CHECK_INT(reports_reg_open(dir, &r), 0);
	CHECK_INT(reports_reg_list(r, &v, &n), 0);
	CHECK_INT(n, 1);
	free(v);
	CHECK_INT(reports_reg_prune(r, 1700000100001), 1);
	CHECK_INT(reports_reg_prune(r, 1700000100001), 0);
	reports_reg_free(r);
	CHECK_INT(reports_reg_open(dir, &r), 0);
	CHECK_INT(reports_reg_list(r, &v, &n), 0);
	CHECK_INT(n, 0);
	reports_reg_free(r);

	/* a file that is not a registry is refused and left alone */
	FILE *f = fopen(path, "w");
	fputs("{\"reports\": 42}", f);
	fclose(f);
	CHECK_INT(reports_reg_open(dir, &r), -EINVAL);
	CHECK(stat(path, &st) == 0 && st.st_size == 15);
	/* a write that fails changes nothing */
	f = fopen(path, "w");
	fputs("{\"version\":1,\"reports\":[]}", f);
	fclose(f);
	CHECK_INT(reports_reg_open(dir, &r), 0);
	CHECK_INT(chmod(dir, 0500), 0);
	if (access(dir, W_OK) != 0) { /* not when running as root */
		CHECK(reports_reg_add(r, id1, "x", "pdf", 1) < 0);
		CHECK_INT(reports_reg_get(r, id1, &one), -ENOENT);
	}
	CHECK_INT(chmod(dir, 0700), 0);
	reports_reg_free(r);

	/* a hand-edited file naming one id twice: one entry (the first), so
	 * reports/ never shows two entries for one request */
	f = fopen(path, "w");
	fputs("{\"version\":1,\"reports\":[{\"id\":\"a\",\"name\":\"one\"},"
	      "{\"id\":\"b\"},{\"id\":\"a\",\"name\":\"two\"}]}", f);
	fclose(f);
	CHECK_INT(reports_reg_open(dir, &r), 0);
	CHECK_INT(reports_reg_list(r, &v, &n), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(v[0].id, "a");
		CHECK_STR(v[0].name, "one");
		CHECK_STR(v[1].id, "b");
	}
	free(v);
	CHECK_INT(reports_reg_remove(r, "a"), 0);
	CHECK_INT(reports_reg_get(r, "a", &one), -ENOENT);
	reports_reg_free(r);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	struct simenv e;
	simenv_init(&e, 10000);
	char *app = simenv_app_create(&e, "Report source");
	CHECK(app != NULL);
	test_refused(&e, app);
	test_lifecycle(&e, app);
	test_registry();
	free(app);
	simenv_fini(&e);
	return check_done();
}
