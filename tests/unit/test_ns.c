/*
 * test_ns.c - the namespace against the in-process simulator, without a
 * kernel: entries, names, contents, and the exact number of requests each
 * operation costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client/auth.h"
#include "cache.h"
#include "check.h"
#include "util/jsonfmt.h"
#include "ns/ns.h"
#include "nswalk.h"
#include "client/qclient.h"
#include "sim.h"

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
};

static void env_init(struct env *e, size_t cache_bytes)
{
	struct sim_config cfg = { .seed = 7, .api_key = "k" };
	e->sim = sim_new(&cfg);
	e->tr = sim_transport_new(e->sim);
	e->auth = auth_apikey_new("k");
	struct qclient_opts qo = { .base = "http://127.0.0.1:9", .transport = e->tr,
				   .auth = e->auth, .timeout_ms = 5000 };
	e->qc = qclient_new(&qo);
	e->cache = cache_new(cache_bytes, NULL);
	struct ns_opts no = { .client = e->qc, .cache = e->cache, .ttl_ms = 60000,
			      .neg_ttl_ms = 5000, .uid = 1, .gid = 2, .umask = 077,
			      .now_ms = clock_fn };
	e->ns = ns_new(&no);
}

static void env_fini(struct env *e)
{
	ns_free(e->ns);
	cache_free(e->cache);
	qclient_free(e->qc);
	auth_free(e->auth);
	http_transport_free(e->tr);
	sim_free(e->sim);
}

static struct ns_dir *list(struct env *e, const char *path)
{
	struct ns_attr a;
	struct ns_dir *d = NULL;
	long long ino = path[0] ? ns_walk(e->ns, path, &a) : NS_ROOT_INO;
	if (ino < 0 || ns_opendir(e->ns, (uint64_t)ino, &d, NULL, 0))
		return NULL;
	return d;
}

static bool has(const struct ns_dir *d, const char *name)
{
	for (size_t i = 0; d && i < d->n; i++)
		if (!strcmp(d->ents[i].name, name))
			return true;
	return false;
}

/* Reads a whole file; returns malloc'd content and its length. */
static char *slurp(struct env *e, uint64_t ino, size_t *len)
{
	struct ns_file *f;
	bool changed;
	if (ns_open(e->ns, ino, O_RDONLY, &f, &changed, NULL, 0))
		return NULL;
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	ssize_t n = ns_read(f, buf, cap, 0);
	ns_release(f);
	*len = n > 0 ? (size_t)n : 0;
	return buf;
}

static void test_root(struct env *e)
{
	sim_reset_counts(e->sim);
	struct ns_dir *d = list(e, "");
	const char *want[] = { ".",	     "..",	 "apps",    "data-assets", "data-files",
			       "data-model", "data-sets", "data-stores", "lineage", "me.json",
			       "reloads",   "scripts",	 "spaces",  "users" };
	CHECK_INT(d->n, 14);
	for (size_t i = 0; i < 14; i++)
		CHECK(has(d, want[i]));
	ns_closedir(d);
	CHECK_INT(sim_count_total(e->sim), 0);
}

static void test_users_cost_and_content(struct env *e)
{
	sim_reset_counts(e->sim);
	struct ns_dir *d = list(e, "users");
	CHECK(d != NULL);
	/* default seed: 120 users -> 2 pages of 100, nothing else */
	CHECK_INT(sim_count(e->sim, "GET", "/api/v1/users"), 2);
	CHECK_INT(sim_count_total(e->sim), 2);
	CHECK_INT(d->n - 2, 120);
	int files_ok = 0;
	for (size_t i = 2; i < d->n; i++) {
		size_t len;
		char *txt = slurp(e, d->ents[i].attr.ino, &len);
		CHECK(txt != NULL);
		if (!txt)
			continue;
		files_ok += len == d->ents[i].attr.size && len > 2 && txt[len - 1] == '\n' &&
			    (d->ents[i].attr.mode & 07777) == 0600;
		cJSON *j = cJSON_ParseWithLength(txt, len);
		size_t len2;
		char *again = jsonfmt_pretty(j, &len2); /* content is exactly the canonical rendering */
		CHECK(again && len2 == len && !memcmp(again, txt, len));
		free(again);
		cJSON_Delete(j);
		free(txt);
	}
	CHECK_INT(files_ok, 120);
	/* reading every file cost nothing: the list carried the objects */
	CHECK_INT(sim_count_total(e->sim), 2);
	ns_closedir(d);

	/* within the TTL: free */
	d = list(e, "users");
	ns_closedir(d);
	CHECK_INT(sim_count_total(e->sim), 2);
	/* after the TTL: the list pages again, and only them */
	fake_now += 61000;
	d = list(e, "users");
	ns_closedir(d);
	CHECK_INT(sim_count_total(e->sim), 4);
}

static void test_bare_id(struct env *e)
{
	struct ns_dir *d = list(e, "users");
	struct ns_attr a, b;
	char id[128], path[256];
	sim_reset_counts(e->sim);
	CHECK(ns_getxattr(e->ns, d->ents[2].attr.ino, "user.qlik.id", id, sizeof(id)) > 0);
	ssize_t n = ns_getxattr(e->ns, d->ents[2].attr.ino, "user.qlik.id", id, sizeof(id));
	id[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "users/%s.json", id);
	CHECK(ns_walk(e->ns, path, &a) > 0);
	CHECK_INT(a.size, d->ents[2].attr.size);
	CHECK_INT(sim_count_total(e->sim), 0); /* served from the listing */
	CHECK(ns_walk(e->ns, path, &b) > 0);
	CHECK_INT(a.ino, b.ino); /* stable */
	/* unknown id: one GET, then a negative entry */
	CHECK_INT(ns_walk(e->ns, "users/0123456789abcdef01234567.json", &a), -ENOENT);
	CHECK_INT(sim_count(e->sim, "GET", "/api/v1/users/"), 1);
	CHECK_INT(ns_walk(e->ns, "users/0123456789abcdef01234567.json", &a), -ENOENT);
	CHECK_INT(sim_count_total(e->sim), 1);
	/* a name that is not an id costs nothing */
	CHECK_INT(ns_walk(e->ns, "users/no such user.json", &a), -ENOENT);
	CHECK_INT(sim_count_total(e->sim), 1);
	ns_closedir(d);
}

static void test_apps_names(struct env *e)
{
	sim_reset_counts(e->sim);
	struct ns_dir *d = list(e, "apps");
	int sales = 0, slash = 0;
	for (size_t i = 2; i < d->n; i++) {
		const char *nm = d->ents[i].name;
		CHECK(strchr(nm, '/') == NULL);
		CHECK(strstr(nm, " (") && strstr(nm, ").json"));
		sales += !strncmp(nm, "Sales Dashboard (", 17);
		slash += strstr(nm, "\xef\xbc\x8f") != NULL; /* U+FF0F */
	}
	CHECK(sales >= 3);
	CHECK(slash >= 1);
	CHECK_INT(sim_count(e->sim, "GET", "/api/v1/items"), sim_count_total(e->sim));
	ns_closedir(d);
}

static void test_spaces(struct env *e)
{
	struct ns_dir *d = list(e, "spaces");
	CHECK(has(d, "@personal"));
	CHECK(d->n > 3);
	char path[512];
	const char *sp = NULL;
	for (size_t i = 2; i < d->n; i++)
		if (strcmp(d->ents[i].name, "@personal")) {
			sp = d->ents[i].name;
			break;
		}
	snprintf(path, sizeof(path), "spaces/%s", sp);
	struct ns_dir *s = list(e, path);
	CHECK(has(s, "space.json") && has(s, "apps") && has(s, "data-files"));
	ns_closedir(s);
	struct ns_dir *p = list(e, "spaces/@personal");
	CHECK(has(p, "apps") && has(p, "data-files") && !has(p, "space.json"));
	ns_closedir(p);
	struct ns_dir *pa = list(e, "spaces/@personal/apps");
	CHECK(pa && pa->n > 2);
	ns_closedir(pa);
	ns_closedir(d);
}

static void test_me(struct env *e)
{
	struct ns_attr a;
	sim_reset_counts(e->sim);
	long long ino = ns_walk(e->ns, "me.json", &a);
	CHECK(ino > 0);
	CHECK(a.size > 10);
	/* GET /users/me (301) + GET /users/{id} */
	CHECK_INT(sim_count_total(e->sim), 2);
	size_t len;
	char *txt = slurp(e, (uint64_t)ino, &len);
	CHECK(txt && len == a.size);
	free(txt);
	CHECK_INT(sim_count_total(e->sim), 2);
}

static void test_eviction_costs_one_get(void)
{
	struct env e;
	env_init(&e, 1); /* no content stays cached */
	struct ns_dir *d = list(&e, "data-stores");
	CHECK(d && d->n > 2);
	char path[512];
	snprintf(path, sizeof(path), "data-stores/%s/data-store.json", d->ents[2].name);
	struct ns_attr a;
	long long ino = ns_walk(e.ns, path, &a);
	CHECK(ino > 0);
	sim_reset_counts(e.sim);
	size_t len;
	char *txt = slurp(&e, (uint64_t)ino, &len);
	CHECK(txt && len == a.size);
	free(txt);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/data-stores/"), 1);
	CHECK_INT(sim_count_total(e.sim), 1);
	ns_closedir(d);
	env_fini(&e);
}

static void test_data_files_tree(struct env *e)
{
	sim_reset_counts(e->sim);
	struct ns_dir *d = list(e, "data-files");
	CHECK(d && d->n > 2);
	bool folder = false;
	for (size_t i = 2; d && i < d->n; i++)
		folder |= (d->ents[i].attr.mode & 0170000) == 0040000;
	CHECK(folder);
	CHECK_INT(sim_count(e->sim, "GET", "/api/v1/data-files"), sim_count_total(e->sim));
	ns_closedir(d);
}

int main(void)
{
	struct env e;
	env_init(&e, 64 << 20);
	test_root(&e);
	test_users_cost_and_content(&e);
	test_bare_id(&e);
	test_apps_names(&e);
	test_spaces(&e);
	test_me(&e);
	test_data_files_tree(&e);
	env_fini(&e);
	test_eviction_costs_one_get();
	return check_done();
}
