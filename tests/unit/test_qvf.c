/*
 * test_qvf.c - the .qvf export cache and app import through the in-process
 * simulator: bytes equal to the tenant's, one export per key (also under
 * concurrency), re-export on a new modification time, the byte bound with
 * pinned entries, no cache entry from a failed download, adoption across a
 * restart, and the export -> import round trip.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "simenv.h"
#include "sim_internal.h" /* to compare with the bytes the tenant holds */
#include "actions/qvf.h"

static char dir[256];

static unsigned char *app_blob(struct simenv *e, const char *id, size_t *len)
{
	pthread_mutex_lock(&e->sim->mu);
	struct rec *r = coll_get(&e->sim->apps, id);
	unsigned char *b = r ? malloc(r->blob_len) : NULL;
	if (b) {
		memcpy(b, r->blob, r->blob_len);
		*len = r->blob_len;
	}
	pthread_mutex_unlock(&e->sim->mu);
	return b;
}

static int files_in_dir(const char *d, int *tmp)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	int n = 0;
	*tmp = 0;
	while (dd && (de = readdir(dd))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp."))
			(*tmp)++;
		n++;
	}
	if (dd)
		closedir(dd);
	return n;
}

static struct qvf_cache *cache_new(struct simenv *e, uint64_t max)
{
	int err = 0;
	struct qvf_cache_opts o = { .dir = dir, .client = e->qc, .max_bytes = max,
				    .timeout_ms = 10000 };
	struct qvf_cache *c = qvf_cache_new(&o, &err);
	CHECK(c != NULL);
	CHECK_INT(err, 0);
	return c;
}

static char *read_all(struct qvf_file *f, size_t *len)
{
	*len = 0;
	return simenv_read_fd(qvf_file_fd(f), len);
}

static void test_export_cached(struct simenv *e, const char *app)
{
	struct qvf_cache *c = cache_new(e, 0);
	struct qvf_file *f = NULL;
	char err[512] = "";
	sim_reset_counts(e->sim);
	CHECK_INT(qvf_open(c, app, 1000, false, &f, err, sizeof(err)), 0);
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/apps/"), 1);
	CHECK_INT(sim_count(e->sim, "GET", "/api/v1/temp-contents/"), 1);
	size_t want_n = 0, got_n = 0;
	unsigned char *want = app_blob(e, app, &want_n);
	char *got = read_all(f, &got_n);
	CHECK(want && got && got_n == want_n && !memcmp(got, want, want_n));
	CHECK_INT(qvf_file_size(f), want_n);
	free(got);
	qvf_release(f);

	/* the file in the cache: complete, 0600, no temporary left */
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.1000.data.qvf", dir, app);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (size_t)st.st_size == want_n && (st.st_mode & 0777) == 0600);
	int tmp;
	CHECK_INT(files_in_dir(dir, &tmp), 1);
	CHECK_INT(tmp, 0);

	/* again: from the cache, no request */
	sim_reset_counts(e->sim);
	uint64_t size = 0;
	CHECK_INT(qvf_size(c, app, 1000, false, &size, err, sizeof(err)), 0);
	CHECK_INT(size, want_n);
	CHECK_INT(qvf_peek(c, app, 1000, false, &size), 0);
	CHECK_INT(qvf_peek(c, app, 1001, false, &size), -ENOENT);
	CHECK_INT(qvf_peek(c, app, 1000, true, &size), -ENOENT);
	CHECK_INT(sim_count_total(e->sim), 0);
	struct qvf_stats stt;
	qvf_get_stats(c, &stt);
	CHECK_INT(stt.exports, 1);
	CHECK_INT(stt.hits, 1);
	CHECK_INT(stt.entries, 1);
	CHECK_INT(stt.bytes, want_n);

	/* without data: another key, a smaller file, NoData=true on the wire */
	CHECK_INT(qvf_size(c, app, 1000, true, &size, err, sizeof(err)), 0);
	CHECK(size > 0 && size < want_n);
	char *log = NULL;
	sim_control(e->sim, "GET", "/_sim/log", NULL, &log);
	CHECK(log && strstr(log, "NoData=true"));
	free(log);

	/* a new modification time exports again and drops the older entry, while a
	 * reader of the older one keeps reading it */
	struct qvf_file *old = NULL;
	CHECK_INT(qvf_open(c, app, 1000, false, &old, err, sizeof(err)), 0);
	sim_reset_counts(e->sim);
	CHECK_INT(qvf_open(c, app, 2000, false, &f, err, sizeof(err)), 0);
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/apps/"), 1);
	CHECK(stat(path, &st) < 0 && errno == ENOENT);
	CHECK_INT(qvf_peek(c, app, 1000, false, &size), -ENOENT);
	got = read_all(old, &got_n);
	CHECK(got && got_n == want_n && !memcmp(got, want, want_n));
	free(got);
	qvf_release(old);
	qvf_release(f);
	qvf_get_stats(c, &stt);
	CHECK_INT(stt.entries, 2); /* 2000 with data, 1000 without */

	/* no such app; not an app id */
	CHECK_INT(qvf_open(c, "00000000-0000-0000-0000-000000000000", 1, false, &f, err,
			   sizeof(err)), -ENOENT);
	CHECK(strstr(err, "404") && strstr(err, "app not found"));
	CHECK_INT(qvf_open(c, "../etc/passwd", 1, false, &f, err, sizeof(err)), -EINVAL);
	CHECK_INT(qvf_open(c, "", 1, false, &f, err, sizeof(err)), -EINVAL);

	/* the file removed behind the cache's back: exported again */
	snprintf(path, sizeof(path), "%s/%s.2000.data.qvf", dir, app);
	CHECK_INT(unlink(path), 0);
	sim_reset_counts(e->sim);
	CHECK_INT(qvf_open(c, app, 2000, false, &f, err, sizeof(err)), 0);
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/apps/"), 1);
	CHECK_INT(qvf_file_size(f), want_n);
	qvf_release(f);
	free(want);
	qvf_cache_free(c);

	/* a restart adopts the entries and removes leftover temporaries (an
	 * earlier version's name; a process that is gone), but not the
	 * download of a process that still runs (pid 1: another mount) */
	char old_tmp[PATH_MAX], dead[PATH_MAX], live[PATH_MAX];
	snprintf(old_tmp, sizeof(old_tmp), "%s/.tmp.%s.1.1", dir, app);
	snprintf(dead, sizeof(dead), "%s/.%s.tmp.999999997.1", dir, app);
	snprintf(live, sizeof(live), "%s/.%s.tmp.1.2", dir, app);
	const char *tmps[] = { old_tmp, dead, live };
	for (int i = 0; i < 3; i++)
		close(open(tmps[i], O_CREAT | O_WRONLY, 0600));
	c = cache_new(e, 0);
	sim_reset_counts(e->sim);
	CHECK_INT(qvf_size(c, app, 2000, false, &size, err, sizeof(err)), 0);
	CHECK_INT(size, want_n);
	CHECK_INT(qvf_size(c, app, 1000, true, &size, err, sizeof(err)), 0);
	CHECK_INT(sim_count_total(e->sim), 0);
	CHECK(access(old_tmp, F_OK) < 0);
	CHECK(access(dead, F_OK) < 0);
	CHECK(access(live, F_OK) == 0);
	CHECK_INT(unlink(live), 0);
	qvf_cache_free(c);
}

static void test_failed_download_leaves_nothing(struct simenv *e, const char *app)
{
	struct qvf_cache *c = cache_new(e, 0);
	struct qvf_file *f = NULL;
	char err[512];
	int tmp, before = files_in_dir(dir, &tmp);
	CHECK_INT(simenv_fault(e, "{\"status\":503,\"count\":100,\"match\":\"GET /api/v1/temp-contents\"}"), 0);
	CHECK_INT(qvf_open(c, app, 5000, false, &f, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "503") != NULL);
	CHECK_INT(simenv_fault(e, "{\"clear\":true}"), 0);
	CHECK_INT(simenv_fault(e, "{\"mode\":\"drop\",\"count\":100,\"match\":\"GET /api/v1/temp-contents\"}"), 0);
	CHECK_INT(qvf_open(c, app, 5000, false, &f, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "connection dropped") != NULL);
	CHECK_INT(simenv_fault(e, "{\"clear\":true}"), 0);
	CHECK_INT(files_in_dir(dir, &tmp), before);
	CHECK_INT(tmp, 0);
	uint64_t size;
	CHECK_INT(qvf_peek(c, app, 5000, false, &size), -ENOENT);
	/* and once the tenant answers again, it works */
	CHECK_INT(qvf_open(c, app, 5000, false, &f, err, sizeof(err)), 0);
	qvf_release(f);
	qvf_cache_free(c);
}

struct th {
	struct qvf_cache *c;
	const char *app;
	int rc;
	uint64_t size;
};

static void *open_thread(void *arg)
{
	struct th *t = arg;
	struct qvf_file *f;
	char err[256];
	t->rc = qvf_open(t->c, t->app, 7000, false, &f, err, sizeof(err));
	if (!t->rc) {
		t->size = qvf_file_size(f);
		qvf_release(f);
	}
	return NULL;
}

static void test_single_flight(struct simenv *e, const char *app)
{
	struct qvf_cache *c = cache_new(e, 0);
	CHECK_INT(simenv_ctl(e, "POST", "/_sim/config", "{\"latency_ms\":100}"), 0);
	sim_reset_counts(e->sim);
	pthread_t th[8];
	struct th t[8];
	for (int i = 0; i < 8; i++) {
		t[i] = (struct th){ .c = c, .app = app };
		pthread_create(&th[i], NULL, open_thread, &t[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(t[i].rc, 0);
		CHECK(t[i].size > 0 && t[i].size == t[0].size);
	}
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/apps/"), 1);
	CHECK_INT(sim_count(e->sim, "GET", "/api/v1/temp-contents/"), 1);
	CHECK_INT(simenv_ctl(e, "POST", "/_sim/config", "{\"latency_ms\":0}"), 0);
	qvf_cache_free(c);
}

static void test_byte_bound(struct simenv *e)
{
	char *a[3];
	uint64_t sz[3];
	char err[512];
	/* sizes first, in a cache that keeps everything */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
	struct qvf_cache *c = cache_new(e, 0);
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "Bound %d", i);
		a[i] = simenv_app_create(e, name);
		CHECK_INT(qvf_size(c, a[i], 1, false, &sz[i], err, sizeof(err)), 0);
	}
	qvf_cache_free(c);
	CHECK_INT(system(cmd), 0);

	/* room for the two largest: after three exports the least recent one left */
	uint64_t max = sz[0] + sz[1] + sz[2] - (sz[0] < sz[1] ? (sz[0] < sz[2] ? sz[0] : sz[2])
						 : (sz[1] < sz[2] ? sz[1] : sz[2]));
	c = cache_new(e, max);
	uint64_t size;
	for (int i = 0; i < 3; i++)
		CHECK_INT(qvf_size(c, a[i], 1, false, &size, err, sizeof(err)), 0);
	struct qvf_stats st;
	qvf_get_stats(c, &st);
	CHECK(st.bytes <= max);
	CHECK(st.evictions >= 1);
	CHECK_INT(qvf_peek(c, a[0], 1, false, &size), -ENOENT);
	CHECK_INT(qvf_peek(c, a[2], 1, false, &size), 0);
	qvf_cache_free(c);
	CHECK_INT(system(cmd), 0);

	/* a pinned entry is never evicted; once released it is */
	c = cache_new(e, 1);
	struct qvf_file *f0, *f1;
	CHECK_INT(qvf_open(c, a[0], 1, false, &f0, err, sizeof(err)), 0);
	CHECK_INT(qvf_open(c, a[1], 1, false, &f1, err, sizeof(err)), 0);
	CHECK_INT(qvf_peek(c, a[0], 1, false, &size), 0);
	CHECK_INT(qvf_peek(c, a[1], 1, false, &size), 0);
	size_t n0 = 0;
	char *b0 = read_all(f0, &n0);
	CHECK(b0 && n0 == sz[0]);
	free(b0);
	qvf_release(f0);
	CHECK_INT(qvf_peek(c, a[0], 1, false, &size), -ENOENT);
	qvf_release(f1);
	qvf_get_stats(c, &st);
	CHECK_INT(st.bytes, 0);
	int tmp;
	CHECK_INT(files_in_dir(dir, &tmp), 0);
	qvf_cache_free(c);
	for (int i = 0; i < 3; i++)
		free(a[i]);
}

static void test_round_trip(struct simenv *e, const char *app)
{
	struct qvf_cache *c = cache_new(e, 0);
	struct qvf_file *f;
	char err[512];
	CHECK_INT(qvf_open(c, app, 9000, false, &f, err, sizeof(err)), 0);
	cJSON *na = NULL;
	CHECK_INT(qvf_import(e->qc, qvf_file_fd(f), qvf_file_size(f), "Round trip é", NULL, 0,
			     &na, err, sizeof(err)), 0);
	cJSON *at = cJSON_GetObjectItem(na, "attributes");
	char *nid = strdup(cJSON_GetObjectItem(at, "id")->valuestring);
	CHECK_STR(cJSON_GetObjectItem(at, "name")->valuestring, "Round trip é");
	CHECK(strcmp(nid, app) != 0);
	cJSON_Delete(na);
	struct qvf_file *g;
	CHECK_INT(qvf_open(c, nid, 1, false, &g, err, sizeof(err)), 0);
	size_t n1 = 0, n2 = 0;
	char *b1 = read_all(f, &n1), *b2 = read_all(g, &n2);
	CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1)); /* bytes equal */
	free(b1);
	free(b2);
	qvf_release(g);

	/* into a space */
	char *space = simenv_shared_space(e);
	CHECK_INT(qvf_import(e->qc, qvf_file_fd(f), qvf_file_size(f), "In a space", space, 0, &na,
			     err, sizeof(err)), 0);
	at = cJSON_GetObjectItem(na, "attributes");
	CHECK_STR(cJSON_GetObjectItem(at, "spaceId")->valuestring, space);
	cJSON_Delete(na);
	qvf_release(f);

	/* failures lose nothing and say why */
	const char *junk = "this is not an app";
	int fd = simenv_temp_fd(junk, strlen(junk));
	sim_reset_counts(e->sim);
	CHECK_INT(qvf_import(e->qc, fd, strlen(junk), "Junk", NULL, 0, NULL, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "Junk") && strstr(err, "not a valid app file"));
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/apps/import"), 1); /* not repeated */
	CHECK_INT(qvf_import(e->qc, fd, 0, "Empty", NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(qvf_import(e->qc, fd, 3, "", NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	close(fd);
	CHECK_INT(qvf_open(c, nid, 1, false, &f, err, sizeof(err)), 0);
	CHECK(qvf_import(e->qc, qvf_file_fd(f), qvf_file_size(f), "Nowhere",
			 "000000000000000000000000", 0, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "Nowhere") != NULL);
	/* a 5xx on the import POST is not repeated (it could create a second app) */
	CHECK_INT(simenv_fault(e, "{\"status\":503,\"count\":1,\"match\":\"POST /api/v1/apps/import\"}"), 0);
	sim_reset_counts(e->sim);
	CHECK_INT(qvf_import(e->qc, qvf_file_fd(f), qvf_file_size(f), "Once", NULL, 0, NULL, err,
			     sizeof(err)), -EIO);
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/apps/import"), 1);
	qvf_release(f);
	free(space);
	free(nid);
	qvf_cache_free(c);
}

int main(void)
{
	char tmpl[] = "/tmp/qlikfs-qvf-XXXXXX";
	char *root = mkdtemp(tmpl);
	snprintf(dir, sizeof(dir), "%s/qvf", root);
	struct simenv e;
	simenv_init(&e, 10000);
	char *app = simenv_app_create(&e, "Export me");
	CHECK(app != NULL);
	test_export_cached(&e, app);
	test_failed_download_leaves_nothing(&e, app);
	test_single_flight(&e, app);
	test_round_trip(&e, app);
	test_byte_bound(&e);
	free(app);
	simenv_fini(&e);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK_INT(system(cmd), 0);
	return check_done();
}
