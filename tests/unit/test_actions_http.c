/*
 * test_actions_http.c - the action backends over real HTTP: the libcurl
 * transport against the simulator's HTTP server (in this process, on
 * loopback), so that streamed request bodies (multipart uploads, app
 * imports), streamed downloads (exports, report outputs) and retries of
 * streamed bodies go through libcurl's read/write callbacks and a real
 * server's parsing.
 */
#include <stdio.h>

#include "check.h"
#include "http/http_curl.h"
#include "actions/qvf.h"
#include "actions/rawreq.h"
#include "actions/reports.h"
#include "simenv.h"
#include "actions/upload.h"

int main(void)
{
	struct sim_config cfg = { .seed = 5, .api_key = "k", .n_apps = 3, .n_spaces = 2,
				  .n_data_files = 2, .n_users = 2 };
	struct sim_tenant *sim = sim_new(&cfg);
	void *srv = NULL;
	int port = 0;
	CHECK_INT(sim_server_start(sim, "127.0.0.1", 0, &port, &srv), 0);
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	struct http_transport *tr = http_curl_new(NULL);
	struct qauth *auth = auth_apikey_new("k");
	struct qclient_opts qo = { .base = base, .transport = tr, .auth = auth,
				   .timeout_ms = 30000 };
	struct qclient *qc = qclient_new(&qo);
	struct simenv e = { .sim = sim, .tr = tr, .auth = auth, .qc = qc };
	char err[512];

	/* a 6 MiB data file up (POST), then replaced (PUT) after a 503: sent twice, whole */
	size_t len = 6u << 20;
	char *big = malloc(len);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + (i * 31) % 26);
	int fd = simenv_temp_fd(big, len);
	struct upload_opts uo = { .client = qc };
	struct upload *u = upload_new(&uo);
	cJSON *df = NULL;
	CHECK_INT(upload_datafile(u, fd, len, "http/big.csv", NULL, NULL, &df, err, sizeof(err)), 0);
	const cJSON *sz = cJSON_GetObjectItem(df, "size");
	CHECK(cJSON_IsNumber(sz) && sz->valuedouble == (double)len);
	char *id = strdup(cJSON_GetObjectItem(df, "id")->valuestring);
	cJSON_Delete(df);
	char fault[256];
	snprintf(fault, sizeof(fault), "{\"status\":503,\"count\":1,\"match\":\"PUT /api/v1/data-files/%s\"}", id);
	CHECK_INT(simenv_fault(&e, fault), 0);
	sim_reset_counts(sim);
	CHECK_INT(upload_datafile(u, fd, len / 2, NULL, NULL, id, &df, err, sizeof(err)), 0);
	CHECK_INT(sim_count(sim, "PUT", "/api/v1/data-files/"), 2);
	sz = cJSON_GetObjectItem(df, "size");
	CHECK(cJSON_IsNumber(sz) && sz->valuedouble == (double)(len / 2));
	cJSON_Delete(df);
	free(id);
	upload_free(u);
	close(fd);
	free(big);

	/* export -> import -> export: bytes equal, over HTTP */
	char tmpl[] = "/tmp/qlikfs-acthttp-XXXXXX";
	char *root = mkdtemp(tmpl), dir[300];
	snprintf(dir, sizeof(dir), "%s/qvf", root);
	int cerr = 0;
	struct qvf_cache_opts co = { .dir = dir, .client = qc };
	struct qvf_cache *c = qvf_cache_new(&co, &cerr);
	char *app = simenv_app_create(&e, "Over HTTP");
	struct qvf_file *f = NULL, *g = NULL;
	CHECK_INT(qvf_open(c, app, 1, false, &f, err, sizeof(err)), 0);
	cJSON *na = NULL;
	CHECK_INT(qvf_import(qc, qvf_file_fd(f), qvf_file_size(f), "Imported over HTTP", NULL, 0,
			     &na, err, sizeof(err)), 0);
	const char *nid = cJSON_GetObjectItem(cJSON_GetObjectItem(na, "attributes"), "id")->valuestring;
	CHECK_INT(qvf_open(c, nid, 1, false, &g, err, sizeof(err)), 0);
	size_t n1 = 0, n2 = 0;
	char *b1 = simenv_read_fd(qvf_file_fd(f), &n1), *b2 = simenv_read_fd(qvf_file_fd(g), &n2);
	CHECK(b1 && b2 && n1 == n2 && n1 > 2048 && !memcmp(b1, b2, n1));
	free(b1);
	free(b2);
	qvf_release(f);
	qvf_release(g);
	cJSON_Delete(na);
	qvf_cache_free(c);

	/* a report's output downloaded over HTTP */
	CHECK_INT(simenv_ctl(&e, "POST", "/_sim/config", "{\"report_delay_ms\":1}"), 0);
	char doc[512];
	snprintf(doc, sizeof(doc),
		 "{\"type\":\"sense-image-1.0\",\"senseImageTemplate\":{\"appId\":\"%s\","
		 "\"visualization\":{\"id\":\"v\",\"widthPx\":10,\"heightPx\":10}},"
		 "\"output\":{\"outputId\":\"o1\",\"type\":\"pdf\"}}", app);
	char *rid = NULL;
	CHECK_INT(reports_create(qc, doc, strlen(doc), &rid, NULL, err, sizeof(err)), 0);
	usleep(20000);
	cJSON *outs = NULL;
	CHECK_INT(reports_outputs(qc, rid, &outs, err, sizeof(err)), 0);
	const cJSON *loc = cJSON_GetObjectItem(cJSON_GetArrayItem(outs, 0), "location");
	int ofd = simenv_temp_fd("", 0);
	uint64_t osize = 0;
	CHECK(cJSON_IsString(loc) &&
	      reports_download(qc, loc->valuestring, ofd, 0, &osize, err, sizeof(err)) == 0);
	size_t on = 0;
	char *ob = simenv_read_fd(ofd, &on);
	CHECK(ob && on == osize && !strncmp(ob, "%PDF", 4));
	free(ob);
	cJSON_Delete(outs);
	free(rid);

	/* a raw multipart request with a streamed file part, and a binary answer */
	char path[] = "/tmp/qlikfs-acthttp-f-XXXXXX";
	int pfd = mkstemp(path);
	CHECK_INT(write(pfd, "a,b\n", 4), 4);
	close(pfd);
	snprintf(doc, sizeof(doc),
		 "{\"method\":\"POST\",\"path\":\"/api/v1/data-files\",\"multipart\":["
		 "{\"name\":\"Json\",\"json\":{\"name\":\"http/raw.csv\"}},{\"name\":\"File\",\"file\":\"%s\"}]}",
		 path);
	struct rawreq *rq = NULL;
	CHECK_INT(rawreq_parse(doc, strlen(doc), &rq, err, sizeof(err)), 0);
	struct rawreq_opts ro = { rawreq_open_local, NULL };
	struct rawreq_result res;
	CHECK_INT(rawreq_perform(qc, rq, &ro, ofd, &res), 0);
	CHECK_INT(res.status, 201);
	rawreq_free(rq);
	snprintf(doc, sizeof(doc), "{\"method\":\"POST\",\"path\":\"/api/v1/apps/%s/export\","
				   "\"response\":\"text\"}", app);
	CHECK_INT(rawreq_parse(doc, strlen(doc), &rq, err, sizeof(err)), 0);
	CHECK_INT(rawreq_perform(qc, rq, &ro, ofd, &res), 0);
	CHECK_INT(res.status, 201);
	CHECK_INT(res.size, 0); /* 201 with an empty body */
	rawreq_free(rq);
	unlink(path);
	close(ofd);
	free(app);

	qclient_free(qc);
	auth_free(auth);
	http_transport_free(tr);
	sim_server_stop(srv);
	sim_free(sim);
	snprintf(doc, sizeof(doc), "rm -rf %s", root);
	CHECK_INT(system(doc), 0);
	return check_done();
}
