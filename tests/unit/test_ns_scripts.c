/*
 * test_ns_scripts.c - scripts/ and reloads/ through the namespace (no
 * kernel) against the in-process simulator, with a fake clock: what a
 * listing, a read, an unchanged write, a save and a stale save send; the
 * TTL; a reload started through reloads/new and followed to its end; readers
 * of one script while the tenant stalls share one fetch and its failure,
 * each within its own deadline.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>

#include "cache.h"
#include "check.h"
#include "actions/scripts.h"
#include "ns/ns.h"
#include "nswalk.h"
#include "simenv.h"

/* A clock that runs, and that the test moves forward */
static int64_t fake_now = 1000000;
static int64_t clock_fn(void)
{
	return fake_now + simenv_ms();
}

struct env {
	struct simenv s;
	struct cache *cache;
	struct ns *ns;
};

/* The .qvs entry of app in scripts/ ("" when none). */
static const char *qvs_of(struct env *e, const char *app)
{
	static char name[512];
	struct ns_attr a;
	struct ns_dir *d = NULL;
	long long ino = ns_walk(e->ns, "scripts", &a);
	name[0] = 0;
	if (ino < 0 || ns_opendir(e->ns, (uint64_t)ino, &d, NULL, 0))
		return name;
	for (size_t i = 2; i < d->n; i++)
		if (strstr(d->ents[i].name, app))
			snprintf(name, sizeof(name), "scripts/%s", d->ents[i].name);
	ns_closedir(d);
	return name;
}

static char *read_all(struct env *e, const char *path, uint64_t *size)
{
	struct ns_attr a;
	struct ns_file *f;
	bool changed;
	long long ino = ns_walk(e->ns, path, &a);
	if (ino < 0 || ns_open(e->ns, (uint64_t)ino, O_RDONLY, &f, &changed, NULL, 0))
		return NULL;
	*size = a.size;
	char *buf = calloc(1, 1 << 16);
	ssize_t n = ns_read(f, buf, (1 << 16) - 1, 0);
	ns_release(f);
	CHECK(n >= 0);
	return buf;
}

/* Writes data over path (O_TRUNC) and closes it: the close's status. */
static int write_file(struct env *e, const char *path, const char *data, char *err, size_t n)
{
	struct ns_attr a;
	struct ns_file *f;
	bool changed;
	long long ino = ns_walk(e->ns, path, &a);
	if (ino < 0)
		return (int)ino;
	int rc = ns_open(e->ns, (uint64_t)ino, O_WRONLY | O_TRUNC, &f, &changed, err, n);
	if (rc)
		return rc;
	if (*data)
		CHECK_INT(ns_write(f, data, strlen(data), 0), (long long)strlen(data));
	rc = ns_flush(f, err, n);
	ns_release(f);
	return rc;
}

static void test_scripts(struct env *e, const char *app)
{
	char err[512], path[600];
	uint64_t size = 0;
	snprintf(path, sizeof(path), "%s", qvs_of(e, app)); /* lists: fetches no script */
	CHECK(path[0] != 0);
	sim_reset_counts(e->s.sim);
	char *text = read_all(e, path, &size);
	CHECK(text && size == strlen(text) && strstr(text, "lib://DataFiles/"));
	CHECK_INT(sim_count_total(e->s.sim), 2); /* its versions and its text, at its lookup */
	sim_reset_counts(e->s.sim);

	/* an unchanged write sends nothing */
	CHECK_INT(write_file(e, path, text, err, sizeof(err)), 0);
	CHECK_INT(sim_count_total(e->s.sim), 0);

	/* a change: the head, the POST, the new head */
	CHECK_INT(write_file(e, path, "LOAD 1 AS a AUTOGENERATE 1;\n", err, sizeof(err)), 0);
	CHECK_INT(sim_count(e->s.sim, "POST", "/api/v1/apps/"), 1);
	CHECK_INT(sim_count(e->s.sim, "GET", "/api/v1/apps/"), 2);
	free(text);
	text = read_all(e, path, &size);
	CHECK_STR(text, "LOAD 1 AS a AUTOGENERATE 1;\n");
	CHECK_INT(size, 28);
	free(text);

	/* the TTL: nothing until it passes, then the apps listing (one page),
	 * the history and the text of this script only */
	sim_reset_counts(e->s.sim);
	text = read_all(e, path, &size);
	free(text);
	CHECK_INT(sim_count_total(e->s.sim), 0);
	fake_now += 61000;
	text = read_all(e, path, &size);
	free(text);
	CHECK_INT(sim_count_total(e->s.sim), 3);
	CHECK_INT(sim_count(e->s.sim, "GET", "/api/v1/items"), 1);

	/* saved elsewhere since it was read: ESTALE, nothing sent */
	CHECK_INT(scripts_set(e->s.qc, app, "theirs", 6, "elsewhere", err, sizeof(err)), 0);
	sim_reset_counts(e->s.sim);
	CHECK_INT(write_file(e, path, "mine\n", err, sizeof(err)), -ESTALE);
	CHECK(strstr(err, "changed on the tenant") != NULL);
	CHECK_INT(sim_count(e->s.sim, "POST", NULL), 0);
}

static void test_reload(struct env *e, const char *app)
{
	char err[512], path[128], buf[128];
	struct ns_attr a;
	struct ns_file *f;
	bool changed;
	char *out = NULL;
	CHECK_INT(sim_control(e->s.sim, "POST", "/_sim/config", "{\"reload_delay_ms\":100}", &out),
		  0);
	free(out);
	long long ino = ns_walk(e->ns, "reloads/new", &a);
	CHECK(ino > 0);
	CHECK_INT(ns_open(e->ns, (uint64_t)ino, O_RDWR, &f, &changed, err, sizeof(err)), 0);
	CHECK_INT(ns_write(f, app, strlen(app), 0), (long long)strlen(app));
	ssize_t n = ns_read_err(f, buf, sizeof(buf) - 1, 0, err, sizeof(err));
	CHECK(n > 1);
	buf[n > 0 ? n - 1 : 0] = 0; /* the id, without its newline */
	ns_release(f);
	CHECK_INT(ns_getxattr(e->ns, (uint64_t)ino, "user.qlik.id", path, sizeof(path)),
		  (long long)strlen(buf));
	snprintf(path, sizeof(path), "reloads/%s/wait", buf);
	ino = ns_walk(e->ns, path, &a);
	CHECK(ino > 0);
	CHECK_INT(ns_open(e->ns, (uint64_t)ino, O_RDONLY, &f, &changed, err, sizeof(err)), 0);
	n = ns_read_err(f, buf, sizeof(buf) - 1, 0, err, sizeof(err));
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = 0;
	CHECK_STR(buf, "SUCCEEDED\n");
	CHECK_INT(ns_read_err(f, buf, sizeof(buf), 1, err, sizeof(err)), 0); /* then EOF */
	ns_release(f);
}

struct reader {
	struct ns *ns;
	uint64_t ino;
	int rc;
	int64_t took;
};

static void *stat_script(void *arg)
{
	struct reader *r = arg;
	struct ns_attr a;
	char err[256];
	int64_t t0 = simenv_ms();
	r->rc = ns_getattr(r->ns, r->ino, &a, err, sizeof(err));
	r->took = simenv_ms() - t0;
	return NULL;
}

/* Four readers of one stale script while the tenant stalls (a client
 * timeout of 400 ms): one fetch, whose failure each shares within its own
 * deadline (a reader that asked again after it failed took two timeouts). */
static void test_stalled_fetch_is_shared(const char *app)
{
	struct env e;
	simenv_init(&e.s, 400);
	e.cache = cache_new(1 << 20, NULL);
	struct ns_opts no = { .client = e.s.qc, .cache = e.cache, .ttl_ms = 60000,
			      .neg_ttl_ms = 5000, .uid = 1, .gid = 2, .umask = 077,
			      .now_ms = clock_fn };
	e.ns = ns_new(&no);
	char *mine = simenv_app_create(&e.s, app);
	char path[600];
	snprintf(path, sizeof(path), "%s", qvs_of(&e, mine)); /* fetched by the listing */
	struct ns_attr a;
	long long ino = ns_walk(e.ns, path, &a);
	CHECK(path[0] && ino > 0);
	fake_now += 61000; /* stale */
	CHECK_INT(ns_walk(e.ns, "scripts", &a) > 0, 1); /* (the apps listing: not stalled) */
	CHECK_INT(simenv_fault(&e.s, "{\"mode\":\"stall\",\"stall_ms\":60000,\"count\":100,"
				     "\"match\":\"GET /api/v1/apps/\"}"), 0);
	sim_reset_counts(e.s.sim);
	struct reader r[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct reader){ .ns = e.ns, .ino = (uint64_t)ino };
		pthread_create(&th[i], NULL, stat_script, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(r[i].rc < 0);
		CHECK(r[i].took < 400 + 300); /* one deadline, not two */
	}
	CHECK_INT(sim_count(e.s.sim, "GET", "/api/v1/apps/"), 1);
	CHECK_INT(simenv_fault(&e.s, "{\"clear\":true}"), 0);
	free(mine);
	ns_free(e.ns);
	cache_free(e.cache);
	simenv_fini(&e.s);
}

int main(void)
{
	struct env e;
	simenv_init(&e.s, 5000);
	e.cache = cache_new(1 << 20, NULL);
	struct ns_opts no = { .client = e.s.qc, .cache = e.cache, .ttl_ms = 60000,
			      .neg_ttl_ms = 5000, .uid = 1, .gid = 2, .umask = 077,
			      .now_ms = clock_fn, .reload_wait_ms = 20000 };
	e.ns = ns_new(&no);
	char *app = simenv_app_create(&e.s, "Script unit");
	CHECK(e.ns && app);
	if (e.ns && app) {
		test_scripts(&e, app);
		test_reload(&e, app);
	}
	free(app);
	ns_free(e.ns);
	cache_free(e.cache);
	simenv_fini(&e.s);
	test_stalled_fetch_is_shared("Script stalled");
	return check_done();
}
