/*
 * test_ns_local.c - the namespace's local directory (changes/ passed
 * through from the state directory) and the invalidations the change poller
 * asks for (ns_note_changed), without a kernel: entries, contents, unlink
 * rules, kernel notifications, and the requests a stale listing costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/auth.h"
#include "cache.h"
#include "check.h"
#include "ns/ns.h"
#include "nswalk.h"
#include "client/qclient.h"
#include "sim.h"
#include "util/statedir.h"

struct ev {
	char what; /* 'e' entry, 'i' inode */
	uint64_t ino;
	char name[128];
};

static struct ev evs[4096];
static int nev;

static void inval_entry(void *arg, uint64_t parent, const char *name)
{
	(void)arg;
	if (nev < 4096) {
		evs[nev] = (struct ev){ 'e', parent, "" };
		snprintf(evs[nev++].name, sizeof(evs[0].name), "%s", name);
	}
}

static void inval_inode(void *arg, uint64_t ino)
{
	(void)arg;
	if (nev < 4096)
		evs[nev++] = (struct ev){ 'i', ino, "" };
}

static bool had(char what, uint64_t ino, const char *name)
{
	for (int i = 0; i < nev; i++)
		if (evs[i].what == what && evs[i].ino == ino && (!name || !strcmp(evs[i].name, name)))
			return true;
	return false;
}

static int64_t fake_now = 1000000;
static int64_t clock_fn(void)
{
	return fake_now;
}

struct env {
	struct sim_tenant *sim;
	struct http_transport *tr;
	struct qauth *auth;
	struct qclient *qc;
	struct cache *cache;
	struct ns *ns;
	char dir[64];
	char cdir[128];
	bool ro;
};

static void env_init(struct env *e, bool ro)
{
	struct sim_config cfg = { .seed = 7, .api_key = "k" };
	e->sim = sim_new(&cfg);
	e->tr = sim_transport_new(e->sim);
	e->auth = auth_apikey_new("k");
	struct qclient_opts qo = { .base = "http://127.0.0.1:9", .transport = e->tr,
				   .auth = e->auth, .timeout_ms = 5000 };
	e->qc = qclient_new(&qo);
	e->cache = cache_new(1 << 24, NULL);
	struct ns_opts no = { .client = e->qc, .cache = e->cache, .ttl_ms = 600000,
			      .neg_ttl_ms = 5000, .uid = 1, .gid = 2, .umask = 077,
			      .read_only = ro, .now_ms = clock_fn,
			      .inval = { inval_entry, inval_inode, NULL } };
	e->ns = ns_new(&no);
	snprintf(e->dir, sizeof(e->dir), "/tmp/qlikfs-nslocal-XXXXXX");
	CHECK(mkdtemp(e->dir) != NULL);
	snprintf(e->cdir, sizeof(e->cdir), "%s/changes", e->dir);
	CHECK_INT(statedir_mkdir(e->dir, "changes/apps"), 0);
	CHECK_INT(ns_local_add(e->ns, "changes", e->cdir), 0);
	nev = 0;
}

static void env_fini(struct env *e)
{
	ns_free(e->ns);
	cache_free(e->cache);
	qclient_free(e->qc);
	auth_free(e->auth);
	http_transport_free(e->tr);
	sim_free(e->sim);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	CHECK(system(cmd) == 0);
}

static void put(struct env *e, const char *rel, const char *text)
{
	char dir[256], *slash;
	snprintf(dir, sizeof(dir), "%s/%s", e->cdir, rel);
	slash = strrchr(dir, '/');
	*slash = '\0';
	CHECK_INT(statedir_write_atomic(dir, slash + 1, text, strlen(text)), 0);
}

static char *slurp(struct env *e, uint64_t ino, bool *changed, int *rc)
{
	struct ns_file *f;
	static char buf[4096];
	*rc = ns_open(e->ns, ino, O_RDONLY, &f, changed, NULL, 0);
	if (*rc)
		return NULL;
	ssize_t n = ns_read(f, buf, sizeof(buf) - 1, 0);
	ns_release(f);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static bool has(const struct ns_dir *d, const char *name)
{
	for (size_t i = 0; d && i < d->n; i++)
		if (!strcmp(d->ents[i].name, name))
			return true;
	return false;
}

static void test_passthrough(void)
{
	struct env e;
	struct ns_attr a;
	struct ns_dir *d;
	bool changed;
	int rc;
	char path[256];
	env_init(&e, false);
	put(&e, "apps.json", "{\"data\":{}}\n");
	put(&e, "apps/2026-11-28T01-02-03.000Z.json", "spooled\n");
	put(&e, ".status.json", "{}\n");
	put(&e, ".apps.json.tmp.12.3", "half written");
	snprintf(path, sizeof(path), "%s/link.json", e.cdir);
	CHECK(symlink("/etc/passwd", path) == 0);
	sim_reset_counts(e.sim);

	/* the root shows changes/; listing it costs nothing */
	CHECK_INT(ns_opendir(e.ns, NS_ROOT_INO, &d, NULL, 0), 0);
	CHECK(has(d, "changes"));
	ns_closedir(d);
	long long ci = ns_walk(e.ns, "changes", &a);
	CHECK(ci > 0 && S_ISDIR(a.mode) && (a.mode & 0777) == 0700);
	CHECK_INT(ns_opendir(e.ns, (uint64_t)ci, &d, NULL, 0), 0);
	CHECK_INT(d->n, 5); /* . .. .status.json apps apps.json */
	CHECK(has(d, "apps.json") && has(d, "apps") && has(d, ".status.json"));
	CHECK(!has(d, ".apps.json.tmp.12.3") && !has(d, "link.json"));
	ns_closedir(d);
	CHECK_INT(ns_walk(e.ns, "changes/link.json", &a), -ENOENT);
	CHECK_INT(ns_walk(e.ns, "changes/.apps.json.tmp.12.3", &a), -ENOENT);

	long long fi = ns_walk(e.ns, "changes/apps.json", &a);
	CHECK(fi > 0 && S_ISREG(a.mode) && a.size == 12 && (a.mode & 0777) == 0600);
	CHECK_STR(slurp(&e, (uint64_t)fi, &changed, &rc), "{\"data\":{}}\n");
	CHECK(changed); /* always read direct: the poller may replace it mid-read */
	/* rewritten: the poller's notification reaches the kernel, sizes follow */
	put(&e, "apps.json", "{\"data\":{\"created\":[1]}}\n");
	nev = 0;
	ns_local_note_written(e.ns, "changes/apps.json");
	CHECK(had('i', (uint64_t)fi, NULL));
	CHECK_INT(ns_getattr(e.ns, (uint64_t)fi, &a, NULL, 0), 0);
	CHECK_INT(a.size, 25);
	put(&e, "apps.json", "{\"data\":{\"created\":[1,2]}}\n");
	CHECK_STR(slurp(&e, (uint64_t)fi, &changed, &rc), "{\"data\":{\"created\":[1,2]}}\n");
	CHECK(changed); /* the size the kernel holds is stale */
	/* a new spool file: the kernel forgets any negative entry of that name */
	long long si = ns_walk(e.ns, "changes/apps", &a);
	nev = 0;
	put(&e, "apps/2026-11-28T01-02-04.000Z.json", "second\n");
	ns_local_note_written(e.ns, "changes/apps/2026-11-28T01-02-04.000Z.json");
	CHECK(had('e', (uint64_t)si, "2026-11-28T01-02-04.000Z.json"));
	CHECK(had('i', (uint64_t)si, NULL));
	CHECK_INT(ns_opendir(e.ns, (uint64_t)si, &d, NULL, 0), 0);
	CHECK_INT(d->n, 4);
	ns_closedir(d);

	/* writes: refused, except deleting a spool file (the acknowledgement) */
	struct ns_file *f;
	CHECK_INT(ns_open(e.ns, (uint64_t)fi, O_WRONLY, &f, &changed, NULL, 0), -EACCES);
	CHECK_INT(ns_open(e.ns, (uint64_t)fi, O_RDONLY | O_TRUNC, &f, &changed, NULL, 0), -EACCES);
	CHECK_INT(ns_unlink(e.ns, (uint64_t)ci, "apps.json", NULL, 0), -EACCES);
	CHECK_INT(ns_unlink(e.ns, (uint64_t)ci, "apps", NULL, 0), -EACCES);
	CHECK_INT(ns_unlink(e.ns, NS_ROOT_INO, "changes", NULL, 0), -EISDIR);
	CHECK_INT(ns_unlink(e.ns, NS_ROOT_INO, "me.json", NULL, 0), -EPERM);
	long long ui = ns_walk(e.ns, "users", &a);
	CHECK_INT(ns_unlink(e.ns, (uint64_t)ui, "x.json", NULL, 0), -ENOENT);
	long long sp = ns_walk(e.ns, "changes/apps/2026-11-28T01-02-03.000Z.json", &a);
	CHECK(sp > 0);
	CHECK_INT(ns_unlink(e.ns, (uint64_t)si, "2026-11-28T01-02-03.000Z.json", NULL, 0), 0);
	snprintf(path, sizeof(path), "%s/apps/2026-11-28T01-02-03.000Z.json", e.cdir);
	CHECK(access(path, F_OK) != 0);
	CHECK_INT(ns_getattr(e.ns, (uint64_t)sp, &a, NULL, 0), -ENOENT);
	CHECK_INT(ns_unlink(e.ns, (uint64_t)si, "2026-11-28T01-02-03.000Z.json", NULL, 0), -ENOENT);
	CHECK_INT(ns_unlink(e.ns, (uint64_t)si, "..", NULL, 0), -ENOENT);
	/* removed behind our back: gone from lookups and listings */
	snprintf(path, sizeof(path), "%s/apps/2026-11-28T01-02-04.000Z.json", e.cdir);
	long long s2 = ns_walk(e.ns, "changes/apps/2026-11-28T01-02-04.000Z.json", &a);
	CHECK(unlink(path) == 0);
	CHECK_INT(ns_getattr(e.ns, (uint64_t)s2, &a, NULL, 0), -ENOENT);
	CHECK_INT(ns_opendir(e.ns, (uint64_t)si, &d, NULL, 0), 0);
	CHECK_INT(d->n, 2);
	ns_closedir(d);
	CHECK_INT(sim_count_total(e.sim), 0); /* changes/ costs no request */
	env_fini(&e);

	/* a read-only mount: nothing to delete, no write bits */
	env_init(&e, true);
	put(&e, "apps/x.json", "x");
	si = ns_walk(e.ns, "changes/apps", &a);
	CHECK((a.mode & 0222) == 0);
	CHECK_INT(ns_unlink(e.ns, (uint64_t)si, "x.json", NULL, 0), -EROFS);
	env_fini(&e);
}

/* After ns_note_changed, a listing of that kind is fetched again (once), the
 * kernel forgets the entries of the ids, other kinds stay cached. */
static void test_note_changed(void)
{
	struct env e;
	struct ns_attr a;
	struct ns_dir *d;
	char *js = NULL;
	env_init(&e, false);
	sim_control(e.sim, "GET", "/_sim/state", NULL, &js);
	cJSON *state = cJSON_Parse(js);
	free(js);
	const char *uid = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(state, "users"), 3), "id"));
	long long ui = ns_walk(e.ns, "users", &a);
	CHECK_INT(ns_opendir(e.ns, (uint64_t)ui, &d, NULL, 0), 0);
	ns_closedir(d);
	long long ai = ns_walk(e.ns, "apps", &a);
	CHECK_INT(ns_opendir(e.ns, (uint64_t)ai, &d, NULL, 0), 0);
	ns_closedir(d);
	char byid[128];
	snprintf(byid, sizeof(byid), "users/%s.json", uid);
	long long hid = ns_walk(e.ns, byid, &a); /* a bare-id entry too */
	CHECK(hid > 0);
	sim_reset_counts(e.sim);
	CHECK_INT(ns_opendir(e.ns, (uint64_t)ui, &d, NULL, 0), 0); /* fresh: free */
	ns_closedir(d);
	CHECK_INT(sim_count_total(e.sim), 0);
	nev = 0;
	const char *ids[] = { uid };
	ns_note_changed(e.ns, RK_USER, ids, 1);
	int entries = 0;
	for (int i = 0; i < nev; i++)
		entries += evs[i].what == 'e' && evs[i].ino == (uint64_t)ui;
	CHECK_INT(entries, 2); /* the listed entry and the bare-id one */
	CHECK(had('i', (uint64_t)hid, NULL));
	CHECK_INT(ns_opendir(e.ns, (uint64_t)ui, &d, NULL, 0), 0);
	ns_closedir(d);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/users"), 2); /* 120 users: two pages */
	CHECK_INT(ns_getattr(e.ns, (uint64_t)hid, &a, NULL, 0), 0); /* refetched by id */
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/users/"), 1);
	CHECK_INT(ns_opendir(e.ns, (uint64_t)ai, &d, NULL, 0), 0); /* apps: still cached */
	ns_closedir(d);
	CHECK_INT(sim_count_total(e.sim), 3);
	cJSON_Delete(state);
	env_fini(&e);
}

int main(void)
{
	test_passthrough();
	test_note_changed();
	return check_done();
}
