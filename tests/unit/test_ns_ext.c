/*
 * test_ns_ext.c - reports/ and the api control file through the namespace
 * (no kernel) against the in-process simulator, with a fake clock: what
 * each operation sends, the status cache, local copies of outputs, the
 * registry across a "remount", forgetting, and raw-request sessions.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cache.h"
#include "check.h"
#include "ns/ns.h"
#include "nswalk.h"
#include "simenv.h"

static int64_t fake_now = 1000000;
static int64_t clock_fn(void)
{
	return fake_now;
}

struct env {
	struct simenv s;
	struct cache *cache;
	struct ns *ns;
	char state[64];
};

static struct ns *ns_make(struct env *e)
{
	struct ns_opts no = { .client = e->s.qc, .cache = e->cache, .ttl_ms = 60000,
			      .neg_ttl_ms = 5000, .uid = 1, .gid = 2, .umask = 077,
			      .now_ms = clock_fn, .state_dir = e->state, .tmp_dir = e->state };
	return ns_new(&no);
}

/* The names in a directory (after . and ..), joined by '|'. */
static char *names(struct env *e, const char *path)
{
	struct ns_attr a;
	struct ns_dir *d = NULL;
	static char out[4096];
	long long ino = path[0] ? ns_walk(e->ns, path, &a) : NS_ROOT_INO;
	out[0] = '\0';
	if (ino < 0 || ns_opendir(e->ns, (uint64_t)ino, &d, NULL, 0))
		return strcpy(out, "(error)");
	for (size_t i = 2; i < d->n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i > 2 ? "|" : "",
			 d->ents[i].name);
	ns_closedir(d);
	return out;
}

/* Reads a whole file (malloc'd, NUL-terminated); *size gets st_size. */
static char *slurp(struct env *e, const char *path, uint64_t *size)
{
	struct ns_attr a;
	struct ns_file *f;
	bool changed;
	long long ino = ns_walk(e->ns, path, &a);
	if (ino < 0 || ns_open(e->ns, (uint64_t)ino, O_RDONLY, &f, &changed, NULL, 0))
		return NULL;
	if (size)
		*size = a.size;
	char *buf = calloc(1, 1 << 20);
	ssize_t n = ns_read(f, buf, (1 << 20) - 1, 0);
	ns_release(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int write_new(struct env *e, const char *dir, const char *name, const char *data,
		     char *err, size_t errn)
{
	struct ns_attr a;
	struct ns_file *f;
	long long d = ns_walk(e->ns, dir, &a);
	int rc = d < 0 ? (int)d
		       : ns_create(e->ns, (uint64_t)d, name, O_WRONLY | O_CREAT | O_TRUNC, &a, &f,
				   err, errn);
	if (rc)
		return rc;
	if (ns_write(f, data, strlen(data), 0) != (ssize_t)strlen(data))
		rc = -EIO;
	if (!rc)
		rc = ns_flush(f, err, errn);
	ns_release(f);
	return rc;
}

static char *request_doc(struct env *e)
{
	char *out = NULL, *doc = NULL;
	sim_control(e->s.sim, "GET", "/_sim/state", NULL, &out);
	cJSON *st = cJSON_Parse(out);
	const char *app = cJSON_GetObjectItem(cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(st, "apps"), 0), "attributes"), "id")->valuestring;
	if (asprintf(&doc, "{\"type\":\"sense-image-1.0\",\"senseImageTemplate\":{\"appId\":\"%s\","
			   "\"visualization\":{\"id\":\"c\",\"widthPx\":10,\"heightPx\":10}},"
			   "\"output\":{\"outputId\":\"chart\",\"type\":\"pdf\"}}", app) < 0)
		abort();
	cJSON_Delete(st);
	free(out);
	return doc;
}

static void test_root(struct env *e)
{
	char *n = names(e, "");
	CHECK(strstr(n, "api|") != NULL);
	CHECK(strstr(n, "|reports|") != NULL);
	CHECK_STR(names(e, "reports"), "");
}

static void test_refused_before_sending(struct env *e)
{
	char err[512] = "";
	sim_reset_counts(e->s.sim);
	CHECK_INT(write_new(e, "reports", "bad.json", "{\"type\": ", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "invalid JSON at byte") != NULL);
	CHECK_INT(write_new(e, "reports", "half.json", "{\"type\":\"sense-image-1.0\"}", err,
			    sizeof(err)), -EINVAL);
	CHECK(strstr(err, "output") != NULL);
	CHECK_INT(sim_count_total(e->s.sim), 0);
	struct ns_attr a;
	char x[256];
	long long ino = ns_walk(e->ns, "reports/bad.json", &a);
	CHECK(ino > 0);
	ssize_t n = ns_getxattr(e->ns, (uint64_t)ino, "user.qlik.error", x, sizeof(x) - 1);
	CHECK(n > 0 && !strncmp(x, "invalid JSON", 12));
	CHECK_INT(a.size, 9); /* the content is kept */
	long long rep = ns_walk(e->ns, "reports", &a);
	CHECK_INT(ns_unlink(e->ns, (uint64_t)rep, "bad.json", NULL, 0), 0);
	CHECK_INT(ns_unlink(e->ns, (uint64_t)rep, "half.json", NULL, 0), 0);
	CHECK_STR(names(e, "reports"), "");
}

static void test_lifecycle(struct env *e, char *dir, size_t dirn)
{
	char err[512] = "", path[512], *doc = request_doc(e), *txt;
	uint64_t size = 0;
	CHECK_INT(simenv_ctl(&e->s, "POST", "/_sim/config", "{\"report_delay_ms\":1000}"), 0);
	sim_reset_counts(e->s.sim);
	CHECK_INT(write_new(e, "reports", "q1.json", doc, err, sizeof(err)), 0);
	CHECK_INT(sim_count(e->s.sim, "POST", "/api/v1/reports"), 1);
	CHECK_INT(sim_count_total(e->s.sim), 1);
	snprintf(dir, dirn, "%s", names(e, "reports"));
	CHECK(!strncmp(dir, "q1 (", 4) && strlen(dir) == 4 + 36 + 1);
	/* the status: one GET (for the listing, which gives its size), then
	 * cached 2 s */
	snprintf(path, sizeof(path), "reports/%s", dir);
	sim_reset_counts(e->s.sim);
	CHECK_STR(names(e, path), "outputs|request.json|status.json");
	snprintf(path, sizeof(path), "reports/%s/status.json", dir);
	txt = slurp(e, path, &size);
	CHECK(txt && strstr(txt, "\"status\": \"queued\"") && size == strlen(txt));
	free(txt);
	free(slurp(e, path, NULL));
	CHECK_INT(sim_count(e->s.sim, "GET", "/api/v1/reports/"), 1);
	snprintf(path, sizeof(path), "reports/%s/outputs", dir);
	CHECK_STR(names(e, path), "");
	CHECK_INT(sim_count(e->s.sim, "GET", "/api/v1/reports/"), 1); /* no outputs GET yet */

	/* two seconds later (on both clocks) it is done */
	CHECK_INT(simenv_ctl(&e->s, "POST", "/_sim/time", "{\"shift_ms\":5000}"), 0);
	fake_now += 2500;
	snprintf(path, sizeof(path), "reports/%s/status.json", dir);
	txt = slurp(e, path, NULL);
	CHECK(txt && strstr(txt, "\"status\": \"done\""));
	free(txt);
	snprintf(path, sizeof(path), "reports/%s/outputs", dir);
	CHECK_STR(names(e, path), "chart.pdf");
	snprintf(path, sizeof(path), "reports/%s/outputs/chart.pdf", dir);
	sim_reset_counts(e->s.sim);
	txt = slurp(e, path, &size);
	CHECK(txt && !strncmp(txt, "%PDF-", 5) && size == strlen(txt));
	free(txt);
	free(slurp(e, path, NULL));
	CHECK_INT(sim_count(e->s.sim, "GET", "/api/v1/temp-contents/"), 1); /* one download */
	char local[600], id[40];
	snprintf(id, sizeof(id), "%.36s", dir + 4);
	snprintf(local, sizeof(local), "%s/reports/%s/outputs/chart.pdf", e->state, id);
	struct stat st;
	CHECK(stat(local, &st) == 0 && (uint64_t)st.st_size == size);
	/* a done status is kept for the mount's TTL */
	sim_reset_counts(e->s.sim);
	fake_now += 10000;
	snprintf(path, sizeof(path), "reports/%s/status.json", dir);
	free(slurp(e, path, NULL));
	CHECK_INT(sim_count_total(e->s.sim), 0);
	/* a file that created its report creates nothing more */
	CHECK_STR(names(e, "reports"), dir);
	free(doc);
}

static void test_remount_and_forget(struct env *e, const char *dir)
{
	char path[512];
	ns_free(e->ns);
	cache_clear(e->cache);
	e->ns = ns_make(e);
	sim_reset_counts(e->s.sim);
	CHECK_STR(names(e, "reports"), dir);
	snprintf(path, sizeof(path), "reports/%s/outputs/chart.pdf", dir);
	char *txt = slurp(e, path, NULL);
	CHECK(txt && !strncmp(txt, "%PDF-", 5));
	free(txt);
	CHECK_INT(sim_count(e->s.sim, "GET", "/api/v1/temp-contents/"), 0); /* local copy */

	struct ns_attr a;
	long long rep = ns_walk(e->ns, "reports", &a);
	sim_reset_counts(e->s.sim);
	CHECK_INT(ns_rmdir(e->ns, (uint64_t)rep, dir, NULL, 0), 0);
	CHECK_STR(names(e, "reports"), "");
	CHECK_INT(sim_count_total(e->s.sim), 0);
	char *reg = NULL;
	size_t len;
	char regpath[600];
	snprintf(regpath, sizeof(regpath), "%s/reports.json", e->state);
	FILE *fp = fopen(regpath, "r");
	reg = calloc(1, 4096);
	len = fp ? fread(reg, 1, 4095, fp) : 0;
	if (fp)
		fclose(fp);
	CHECK(len > 0 && strstr(reg, "\"reports\": []") != NULL);
	free(reg);
	ns_free(e->ns);
	e->ns = ns_make(e);
	CHECK_STR(names(e, "reports"), "");
}

/* Writes doc on one session and reads the answer; returns the read's result. */
static ssize_t ask(struct env *e, const char *doc, char *out, size_t n, char *err, size_t errn)
{
	struct ns_attr a;
	struct ns_file *f;
	bool changed;
	long long ino = ns_walk(e->ns, "api", &a);
	if (ino < 0 || ns_open(e->ns, (uint64_t)ino, O_RDWR, &f, &changed, NULL, 0))
		return -EBADF;
	CHECK(ns_file_opened(f, geteuid()));
	ssize_t got = 0, r = 0;
	if (doc)
		CHECK_INT(ns_write(f, doc, strlen(doc), 0), (long long)strlen(doc));
	while ((r = ns_read_err(f, out + got, 5, 12345, err, errn)) > 0 && (size_t)got < n - 6)
		got += r; /* small reads, offsets ignored */
	out[got] = '\0';
	ns_release(f);
	return r < 0 ? r : got;
}

static void test_api(struct env *e)
{
	static char out[1 << 16];
	char err[512] = "";
	sim_reset_counts(e->s.sim);
	CHECK_INT(ask(e, NULL, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_INT(sim_count_total(e->s.sim), 0);
	CHECK(ask(e, "{\"path\":\"/api/v1/spaces\",\"query\":{\"limit\":1}}", out, sizeof(out), err,
		  sizeof(err)) > 0);
	CHECK(strstr(out, "\"status\": 200") && strstr(out, "\"ok\": true"));
	CHECK_INT(sim_count(e->s.sim, "GET", "/api/v1/spaces"), 1);
	CHECK_INT(ask(e, "{\"path\":\"/api/v1/spaces/0000\",\"response\":\"text\"}", out,
		      sizeof(out), err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "api: GET /api/v1/spaces/0000") != NULL);
	CHECK(ask(e, "{\"path\":\"/x\",\"headers\":{\"Authorization\":\"a\"}}", out, sizeof(out),
		  err, sizeof(err)) > 0);
	CHECK(strstr(out, "\"status\": 0") && strstr(out, "may not be set"));
	CHECK_INT(ask(e, "{\"path\":\"/x\",\"response\":\"binary\",\"bogus\":1}", out, sizeof(out),
		      err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "unknown field") != NULL);
}

int main(void)
{
	struct env e;
	char dir[300];
	simenv_init(&e.s, 5000);
	e.cache = cache_new(1 << 20, NULL);
	snprintf(e.state, sizeof(e.state), "/tmp/test_ns_ext.XXXXXX");
	if (!mkdtemp(e.state))
		return 1;
	e.ns = ns_make(&e);
	test_root(&e);
	test_refused_before_sending(&e);
	test_lifecycle(&e, dir, sizeof(dir));
	test_remount_and_forget(&e, dir);
	test_api(&e);
	ns_free(e.ns);
	cache_free(e.cache);
	simenv_fini(&e.s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e.state);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", e.state);
	return check_done();
}
