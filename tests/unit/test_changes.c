/*
 * test_changes.c - the change poller: its pure parts with hand-made records
 * (classification, deduplication, precision, state files, names), then whole
 * polls against the in-process simulator with exact request counts, a change
 * made while a poll is paging, deletions, a skewed tenant clock, a restart,
 * and the polling thread.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/auth.h"
#include "changes/changes.h"
#include "changes/changes_internal.h"
#include "check.h"
#include "client/qclient.h"
#include "sim.h"
#include "util/qtime.h"
#include "util/statedir.h"

#define BASE "http://127.0.0.1:9"

/* ------------------------------------------------------------ pure parts */

static cJSON *rec(const char *id, const char *created, const char *updated)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", id);
	cJSON_AddStringToObject(o, "createdAt", created);
	cJSON_AddStringToObject(o, "updatedAt", updated);
	return o;
}

static int64_t ms(const char *iso)
{
	int64_t v = 0;
	qtime_parse_ms(iso, &v);
	return v;
}

static void test_sets(void)
{
	struct chg_set s;
	CHECK_INT(chg_set_init(&s), 0);
	for (int i = 0; i < 200; i++) {
		char id[16];
		snprintf(id, sizeof(id), "id%d", i);
		struct chg_ent *e = chg_set_put(&s, id);
		CHECK(e != NULL);
		e->t = i;
	}
	CHECK_INT(s.n, 200);
	chg_set_del(&s, "id0"); /* the last entry moves into its place */
	chg_set_del(&s, "id57");
	chg_set_del(&s, "nope");
	CHECK_INT(s.n, 198);
	CHECK(chg_set_get(&s, "id0") == NULL);
	CHECK(chg_set_get(&s, "id199") && chg_set_get(&s, "id199")->t == 199);
	CHECK(chg_set_get(&s, "id198") && chg_set_get(&s, "id198")->t == 198);
	CHECK(chg_set_put(&s, "id5") == chg_set_get(&s, "id5")); /* put of a present id */
	chg_set_free(&s);
}

static void test_stub(void)
{
	cJSON *app = cJSON_Parse("{\"id\":\"item1\",\"resourceId\":\"app-uuid\",\"name\":\"Sales\","
				 "\"resourceType\":\"app\"}");
	cJSON *st = chg_stub(restab_get(RK_APP), app);
	char *txt = cJSON_PrintUnformatted(st);
	CHECK_STR(txt, "{\"id\":\"item1\",\"resourceId\":\"app-uuid\",\"name\":\"Sales\"}");
	free(txt);
	cJSON_Delete(st);
	cJSON_Delete(app);
	cJSON *u = cJSON_Parse("{\"id\":\"u1\",\"email\":\"a@b\"}");
	st = chg_stub(restab_get(RK_USER), u);
	txt = cJSON_PrintUnformatted(st);
	CHECK_STR(txt, "{\"id\":\"u1\",\"name\":\"a@b\"}");
	free(txt);
	cJSON_Delete(st);
	cJSON_Delete(u);
}

/* One scan over recs (cJSON array) with prev; returns how many were taken
 * before the scan asked to stop at a page end (pages of `page` records). */
static int scan_all(struct chg_scan *sc, const cJSON *arr, int page)
{
	int n = 0, last = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		last = chg_scan_add(sc, o);
		n++;
		if (n % page == 0 && last == QLIST_STOP)
			break;
	}
	return n;
}

static void test_scan_early_stop(void)
{
	const struct rtype *rt = restab_get(RK_SPACE);
	cJSON *arr = cJSON_CreateArray();
	/* newest first */
	cJSON_AddItemToArray(arr, rec("a", "2026-01-01T00:00:00.000Z", "2026-03-01T00:00:09.000Z"));
	cJSON_AddItemToArray(arr, rec("b", "2026-03-01T00:00:08.000Z", "2026-03-01T00:00:08.000Z"));
	cJSON_AddItemToArray(arr, rec("c", "2026-01-01T00:00:00.000Z", "2026-03-01T00:00:05.000Z"));
	cJSON_AddItemToArray(arr, rec("d", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"));
	cJSON_AddItemToArray(arr, rec("e", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"));
	cJSON_AddItemToArray(arr, rec("f", "2026-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z"));
	struct chg_scan sc;
	CHECK_INT(chg_scan_init(&sc, rt, ms("2026-03-01T00:00:05.000Z"), true), 0);
	/* pages of 2: the second page reaches c (== prev: not a candidate) */
	CHECK_INT(scan_all(&sc, arr, 2), 4);
	CHECK_INT(sc.cand.n, 2);
	CHECK(chg_set_get(&sc.cand, "a") && chg_set_get(&sc.cand, "b"));
	CHECK(!sc.order_broken);
	chg_scan_free(&sc);
	/* unsorted: never stops */
	CHECK_INT(chg_scan_init(&sc, rt, ms("2026-03-01T00:00:05.000Z"), false), 0);
	CHECK_INT(scan_all(&sc, arr, 2), 6);
	CHECK_INT(sc.seen.n, 6);
	chg_scan_free(&sc);
	/* a listing out of order is noticed and read to its end */
	cJSON *bad = cJSON_CreateArray();
	cJSON_AddItemToArray(bad, rec("x", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"));
	cJSON_AddItemToArray(bad, rec("y", "2026-01-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"));
	cJSON_AddItemToArray(bad, rec("z", "2026-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z"));
	CHECK_INT(chg_scan_init(&sc, rt, ms("2026-03-01T00:00:05.000Z"), true), 0);
	CHECK_INT(scan_all(&sc, bad, 2), 3);
	CHECK(sc.order_broken);
	CHECK(chg_set_get(&sc.cand, "y") != NULL);
	chg_scan_free(&sc);
	cJSON_Delete(bad);
	cJSON_Delete(arr);
}

static void test_classify_dedupe(void)
{
	const struct rtype *rt = restab_get(RK_SPACE);
	struct chg_state st;
	struct chg_scan sc;
	struct chg_result r;
	int64_t prev = ms("2026-03-01T00:00:00.000Z");
	CHECK_INT(chg_state_init(&st), 0);
	st.boundary_ms = prev;
	CHECK_INT(chg_scan_init(&sc, rt, prev, false), 0);
	cJSON *v[] = {
		rec("new", "2026-03-01T00:00:02.000Z", "2026-03-01T00:00:02.000Z"),
		rec("upd", "2025-01-01T00:00:00.000Z", "2026-03-01T00:00:03.000Z"),
		rec("old", "2025-01-01T00:00:00.000Z", "2026-03-01T00:00:01.000Z"),
		rec("same", "2025-01-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"), /* == prev */
		rec("k", "2026-03-01T00:00:02.500Z", "2026-03-01T00:00:04.000Z"), /* known: not new */
		rec("new", "2026-03-01T00:00:02.000Z", "2026-03-01T00:00:06.000Z"), /* seen twice */
	};
	/* "old" was reported at 00:00:01 by the previous poll (overlap window) */
	struct chg_ent *o = chg_set_put(&st.recent, "old");
	o->t = ms("2026-03-01T00:00:01.000Z");
	o->h = chg_fingerprint(v[2]);
	chg_set_put(&st.known, "old");
	chg_set_put(&st.known, "k");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK_INT(chg_scan_add(&sc, v[i]), 0);
	CHECK_INT(chg_result_init(&r), 0);
	CHECK_INT(chg_classify(&st, &sc, &r), 0);
	CHECK_INT(cJSON_GetArraySize(r.created), 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r.created, 0),
							   "updatedAt")),
		  "2026-03-01T00:00:06.000Z"); /* the newest version */
	CHECK_INT(cJSON_GetArraySize(r.updated), 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r.updated, 0), "id")),
		  "upd"); /* oldest first */
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r.updated, 1), "id")),
		  "k");
	/* commit with a boundary inside the window: recent keeps what is newer */
	CHECK_INT(chg_commit(&st, &sc, &r, true, ms("2026-03-01T00:00:03.000Z")), 0);
	CHECK_INT(st.boundary_ms, ms("2026-03-01T00:00:03.000Z"));
	CHECK(chg_set_get(&st.recent, "old") == NULL);
	CHECK(chg_set_get(&st.recent, "upd") == NULL); /* == boundary: pruned */
	CHECK(chg_set_get(&st.recent, "k") && chg_set_get(&st.recent, "new"));
	CHECK_INT(st.known.n, 5);
	CHECK_INT(st.since_full, 0);
	/* a boundary never moves back */
	CHECK_INT(chg_commit(&st, &sc, NULL, false, prev), 0);
	CHECK_INT(st.boundary_ms, ms("2026-03-01T00:00:03.000Z"));
	CHECK_INT(st.since_full, 1);
	chg_result_free(&r);
	chg_scan_free(&sc);
	/* the same records listed again by the next poll: nothing is reported twice */
	CHECK_INT(chg_scan_init(&sc, rt, st.boundary_ms, false), 0);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK_INT(chg_scan_add(&sc, v[i]), 0);
	CHECK_INT(chg_result_init(&r), 0);
	CHECK_INT(chg_classify(&st, &sc, &r), 0);
	CHECK_INT(chg_result_count(&r), 0);
	chg_result_free(&r);
	chg_scan_free(&sc);
	/* a second update within the same time unit (same stamp, new content) */
	CHECK_INT(chg_scan_init(&sc, rt, st.boundary_ms, false), 0);
	cJSON *again = rec("k", "2026-03-01T00:00:02.500Z", "2026-03-01T00:00:04.000Z");
	cJSON_AddStringToObject(again, "description", "changed in the same second");
	cJSON *viewed = rec("new", "2026-03-01T00:00:02.000Z", "2026-03-01T00:00:06.000Z");
	cJSON_AddNumberToObject(viewed, "itemViews", 12); /* no update: not a change */
	CHECK_INT(chg_scan_add(&sc, again), 0);
	CHECK_INT(chg_scan_add(&sc, viewed), 0);
	CHECK_INT(chg_result_init(&r), 0);
	CHECK_INT(chg_classify(&st, &sc, &r), 0);
	CHECK_INT(cJSON_GetArraySize(r.updated), 1);
	CHECK_INT(cJSON_GetArraySize(r.created), 0);
	chg_result_free(&r);
	chg_scan_free(&sc);
	cJSON_Delete(again);
	cJSON_Delete(viewed);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cJSON_Delete(v[i]);
	chg_state_free(&st);
}

/* One poll of a single item against st: prev = st's boundary, the poll's
 * Date `date`, overlap 1 s (the least that covers whole-second stamps).
 * Returns how often the item was reported. */
static int poll_item(struct chg_state *st, const cJSON *item, const char *date)
{
	const struct rtype *rt = restab_get(RK_APP);
	struct chg_scan sc;
	struct chg_result r;
	CHECK_INT(chg_scan_init(&sc, rt, st->boundary_ms, true), 0);
	if (item)
		CHECK(chg_scan_add(&sc, item) >= 0);
	CHECK_INT(chg_result_init(&r), 0);
	CHECK_INT(chg_classify(st, &sc, &r), 0);
	int n = (int)chg_result_count(&r);
	CHECK_INT(chg_commit(st, &sc, &r, false, ms(date) - 1000), 0);
	chg_result_free(&r);
	chg_scan_free(&sc);
	return n;
}

/* Items carry seconds and so does the Date header: an item stamped in the
 * second of a poll's first response is reported exactly once, whether it
 * changed before that poll's snapshot (seen, then deduplicated) or after
 * (missed, then seen). */
static void test_precision(void)
{
	cJSON *item = cJSON_Parse("{\"id\":\"i1\",\"resourceId\":\"a1\",\"name\":\"A\","
				  "\"createdAt\":\"2025-01-01T00:00:00Z\","
				  "\"updatedAt\":\"2026-03-01T12:00:05Z\"}");
	struct chg_state st;
	/* changed at 12:00:05.100, before the snapshot of a poll at 12:00:05.300 */
	CHECK_INT(chg_state_init(&st), 0);
	st.boundary_ms = ms("2026-03-01T12:00:00Z");
	int n = poll_item(&st, item, "2026-03-01T12:00:05Z");
	n += poll_item(&st, item, "2026-03-01T12:00:06Z");
	n += poll_item(&st, item, "2026-03-01T12:00:07Z");
	CHECK_INT(n, 1);
	chg_state_free(&st);
	/* changed at 12:00:05.700, after that snapshot: the first poll missed it */
	CHECK_INT(chg_state_init(&st), 0);
	st.boundary_ms = ms("2026-03-01T12:00:00Z");
	n = poll_item(&st, NULL, "2026-03-01T12:00:05Z");
	n += poll_item(&st, item, "2026-03-01T12:00:06Z");
	n += poll_item(&st, item, "2026-03-01T12:00:07Z");
	CHECK_INT(n, 1);
	chg_state_free(&st);
	cJSON_Delete(item);
}

static void test_state_roundtrip(void)
{
	struct chg_state a, b;
	size_t len;
	CHECK_INT(chg_state_init(&a), 0);
	CHECK_INT(chg_state_init(&b), 0);
	a.boundary_ms = 1767225600000LL;
	a.last_spool_ms = 1767225601000LL;
	a.since_full = 3;
	struct chg_ent *r1 = chg_set_put(&a.recent, "r1");
	r1->t = 1767225602000LL;
	r1->h = 0xfedcba9876543210ULL;
	struct chg_ent *k = chg_set_put(&a.known, "app-1");
	k->obj = cJSON_Parse("{\"id\":\"item-1\",\"resourceId\":\"app-1\",\"name\":\"A\"}");
	chg_set_put(&a.known, "u2")->obj = cJSON_Parse("{\"id\":\"u2\"}");
	char *txt = chg_state_dump(&a, &len);
	CHECK(txt && strlen(txt) == len);
	CHECK_INT(chg_state_load(&b, txt), 0);
	CHECK_INT(b.boundary_ms, a.boundary_ms);
	CHECK_INT(b.last_spool_ms, a.last_spool_ms);
	CHECK_INT(b.since_full, 3);
	CHECK(chg_set_get(&b.recent, "r1") && chg_set_get(&b.recent, "r1")->t == 1767225602000LL);
	CHECK(chg_set_get(&b.recent, "r1") && chg_set_get(&b.recent, "r1")->h == 0xfedcba9876543210ULL);
	CHECK(chg_set_get(&b.known, "app-1") != NULL); /* keyed by the app id */
	CHECK_INT(b.known.n, 2);
	free(txt);
	/* refused: garbage, another version, a malformed entry; b is left as it was */
	CHECK_INT(chg_state_load(&b, "nope"), -EINVAL);
	CHECK_INT(chg_state_load(&b, "{\"version\":2,\"boundary_ms\":1,\"last_spool_ms\":0,"
				     "\"since_full\":0,\"recent\":{},\"known\":{}}"),
		  -EINVAL);
	CHECK_INT(chg_state_load(&b, "{\"version\":1,\"boundary_ms\":1,\"last_spool_ms\":0,"
				     "\"since_full\":0,\"recent\":{\"x\":[1,\"zz\"]},\"known\":{}}"),
		  -EINVAL);
	CHECK_INT(b.boundary_ms, a.boundary_ms);
	chg_state_free(&a);
	chg_state_free(&b);
}

/* A confirmed deletion leaves known even when the state file's stub names
 * another id than its key (hand-edited): it is reported once, not at every
 * complete scan. */
static void test_deletion_of_mismatched_stub(void)
{
	struct chg_state st;
	struct chg_scan sc;
	struct chg_result r;
	const char **miss = NULL;
	CHECK_INT(chg_state_init(&st), 0);
	CHECK_INT(chg_state_load(&st, "{\"version\":1,\"boundary_ms\":5,\"last_spool_ms\":0,"
				      "\"since_full\":0,\"recent\":{},\"known\":{"
				      "\"k1\":{\"id\":\"other\",\"name\":\"A\"},\"k2\":{}}}"),
		  0);
	CHECK_INT(chg_scan_init(&sc, restab_get(RK_SPACE), 5, false), 0);
	CHECK_INT(chg_result_init(&r), 0);
	long n = chg_missing(&st, &sc, &miss);
	CHECK_INT(n, 2);
	for (long i = 0; i < n; i++)
		CHECK_INT(chg_add_deleted(&st, miss[i], &r), 0);
	free(miss);
	CHECK_INT(cJSON_GetArraySize(r.deleted), 2);
	CHECK_INT(chg_commit(&st, &sc, &r, true, 6), 0);
	CHECK_INT(st.known.n, 0);
	chg_result_free(&r);
	chg_scan_free(&sc);
	chg_state_free(&st);
}

static void test_render_and_names(void)
{
	struct chg_result r;
	size_t len;
	CHECK_INT(chg_result_init(&r), 0);
	char *txt = chg_result_render(&r, true, true, true, &len);
	CHECK_STR(txt, "{\n  \"data\": {\n    \"created\": [],\n    \"updated\": [],\n"
		       "    \"deleted\": []\n  }\n}\n");
	free(txt);
	cJSON_AddItemToArray(r.created, cJSON_Parse("{\"id\":\"c\"}"));
	cJSON_AddItemToArray(r.updated, cJSON_Parse("{\"id\":\"u\"}"));
	txt = chg_result_render(&r, false, true, true, &len);
	cJSON *j = cJSON_Parse(txt);
	const cJSON *d = cJSON_GetObjectItem(j, "data");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(d, "created")), 0); /* switched off */
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(d, "updated")), 1);
	cJSON_Delete(j);
	free(txt);
	chg_result_free(&r);

	char name[64];
	int64_t used;
	int64_t t = ms("2026-11-28T01:02:03.456Z");
	CHECK_INT(chg_spool_name(t, 0, name, sizeof(name), &used), 0);
	CHECK_STR(name, "2026-11-28T01-02-03.456Z.json");
	CHECK_INT(used, t);
	/* a second poll in the same millisecond (or a clock that stepped back) */
	CHECK_INT(chg_spool_name(t, t, name, sizeof(name), &used), 0);
	CHECK_STR(name, "2026-11-28T01-02-03.457Z.json");
	CHECK_INT(chg_spool_name(t - 5000, t, name, sizeof(name), &used), 0);
	CHECK_STR(name, "2026-11-28T01-02-03.457Z.json");
	CHECK_INT(chg_spool_name(t, 0, name, 10, &used), -ERANGE);
	CHECK_INT(chg_spool_name(INT64_MAX, INT64_MAX, name, sizeof(name), &used), -ERANGE);

	unsigned m;
	CHECK_INT(changes_parse_types("apps,users", &m), 0);
	CHECK_INT(m, (1u << RK_APP) | (1u << RK_USER));
	CHECK_INT(changes_parse_types("apps:data-stores", &m), 0);
	CHECK_INT(m, (1u << RK_APP) | (1u << RK_DATASTORE));
	CHECK_INT(changes_parse_types("apps,foo", &m), -EINVAL);
	CHECK_INT(changes_parse_types("", &m), -EINVAL);
	/* the types are the resource table's rows with a poll_name */
	CHECK_INT(changes_parse_types("spaces:users:apps:data-files:data-stores", &m), 0);
	CHECK_INT(m, changes_all_types());
	for (int k = 0; k < RK_COUNT; k++)
		CHECK_INT(!!(changes_all_types() & (1u << k)), restab_get(k)->poll_name != NULL);
	CHECK_STR(changes_type_name(RK_DATAFILE), "data-files");
	CHECK(changes_type_name(RK_DATASET) == NULL);
	CHECK(changes_type_name(RK_COUNT) == NULL);
	CHECK_INT(changes_parse_types("data-sets", &m), -EINVAL);
}

/* -------------------------------------------------- against the simulator */

/* A transport that forwards to the simulator and, on the Nth request whose
 * URL contains `match`, first runs a hook (a change made while a poll pages). */
struct hooked {
	struct http_transport base;
	struct http_transport *inner;
	const char *match;
	int nth, seen;
	void (*hook)(void *arg);
	void *arg;
};

static int hk_perform(struct http_transport *t, const struct http_request *req,
		      struct http_response *resp)
{
	struct hooked *h = (struct hooked *)t;
	if (h->match && strstr(req->url, h->match) && ++h->seen == h->nth && h->hook)
		h->hook(h->arg);
	return http_perform(h->inner, req, resp);
}

static void hk_destroy(struct http_transport *t)
{
	struct hooked *h = (struct hooked *)t;
	http_transport_free(h->inner);
	free(h);
}

static const struct http_transport_ops hk_ops = { hk_perform, hk_destroy };

struct env {
	struct sim_tenant *sim;
	struct hooked *tr;
	struct qauth *auth;
	struct qclient *qc;
	struct changes *ch;
	char dir[64];
	struct changes_opts o;
	int changed_calls;
	char written[16][128];
	int nwritten;
};

static void on_changed(void *arg, enum rkind kind, const char *const *ids, size_t n)
{
	struct env *e = arg;
	(void)kind, (void)ids;
	e->changed_calls += (int)n;
}

static void on_written(void *arg, const char *rel)
{
	struct env *e = arg;
	if (e->nwritten < 16)
		snprintf(e->written[e->nwritten++], sizeof(e->written[0]), "%s", rel);
}

static void env_open(struct env *e)
{
	char err[256] = "";
	CHECK_INT(changes_new(&e->o, &e->ch, err, sizeof(err)), 0);
}

static cJSON *sim_state(struct env *e, bool refresh);

static void env_init(struct env *e, const struct sim_config *cfg)
{
	memset(e, 0, sizeof(*e));
	e->sim = sim_new(cfg);
	e->tr = calloc(1, sizeof(*e->tr));
	e->tr->base.ops = &hk_ops;
	e->tr->inner = sim_transport_new(e->sim);
	e->auth = auth_apikey_new("k");
	struct qclient_opts qo = { .base = BASE, .transport = &e->tr->base, .auth = e->auth,
				   .timeout_ms = 10000 };
	e->qc = qclient_new(&qo);
	snprintf(e->dir, sizeof(e->dir), "/tmp/qlikfs-changes-XXXXXX");
	CHECK(mkdtemp(e->dir) != NULL);
	sim_state(e, true);
	e->o = (struct changes_opts){ .client = e->qc, .state_dir = e->dir, .created = true,
				      .updated = true, .deleted = true, .full_scan_every = 10,
				      .on_changed = on_changed, .on_written = on_written,
				      .arg = e };
	env_open(e);
}

static void env_fini(struct env *e)
{
	changes_free(e->ch);
	qclient_free(e->qc);
	auth_free(e->auth);
	http_transport_free(&e->tr->base);
	sim_free(e->sim);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	CHECK(system(cmd) == 0);
}

/* An API call behind the poller's back; returns the status, *out the body. */
static long api(struct env *e, const char *method, const char *path, const char *ctype,
		const char *body, cJSON **out)
{
	char url[512], auth[64] = "Bearer k";
	struct http_header h[2] = { { (char *)"Authorization", auth },
				    { (char *)"Content-Type", (char *)(ctype ? ctype : "application/json") } };
	snprintf(url, sizeof(url), "%s%s", BASE, path);
	struct http_request r = { .method = method, .url = url, .headers = h,
				  .n_headers = body ? 2 : 1, .body = body,
				  .body_len = body ? strlen(body) : 0 };
	struct http_response resp;
	if (sim_handle(e->sim, &r, &resp))
		return -1;
	if (out)
		*out = resp.body ? cJSON_Parse(resp.body) : NULL;
	long st = resp.status;
	http_response_clear(&resp);
	return st;
}

static cJSON *cached; /* the simulator's state, see sim_state() */

/* The simulator's state (cached until the next call with refresh). */
static cJSON *sim_state(struct env *e, bool refresh)
{
	static struct env *of;
	if (refresh || of != e || !cached) {
		char *js = NULL;
		cJSON_Delete(cached);
		sim_control(e->sim, "GET", "/_sim/state", NULL, &js);
		cached = cJSON_Parse(js);
		free(js);
		of = e;
	}
	return cached;
}

/* The id of the i-th record of a collection in the simulator's state (as
 * seeded: the cache is taken at the first call of a test). */
static void state_id(struct env *e, const char *coll, int i, const char *field, char *out,
		     size_t n)
{
	const cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(sim_state(e, false), coll), i);
	if (!strcmp(coll, "apps"))
		o = cJSON_GetObjectItem(o, "attributes"); /* NxApp: the id is in attributes */
	snprintf(out, n, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(o, field)) ?: "");
}

/* The latest result of a type, parsed; NULL when absent. */
static cJSON *latest(struct env *e, const char *type)
{
	char dir[256], name[64], *txt = NULL;
	size_t len;
	snprintf(dir, sizeof(dir), "%s/changes", e->dir);
	snprintf(name, sizeof(name), "%s.json", type);
	if (statedir_read(dir, name, 1 << 26, &txt, &len))
		return NULL;
	cJSON *j = cJSON_Parse(txt);
	free(txt);
	return j;
}

static int count_list(struct env *e, const char *type, const char *list)
{
	cJSON *j = latest(e, type);
	int n = j ? cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), list))
		  : -1;
	cJSON_Delete(j);
	return n;
}

static bool listed(struct env *e, const char *type, const char *list, const char *field,
		   const char *id)
{
	cJSON *j = latest(e, type);
	const cJSON *o;
	bool found = false;
	cJSON_ArrayForEach(o, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), list))
	found |= !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, field)) ?: "", id);
	cJSON_Delete(j);
	return found;
}

static int spool_files(struct env *e, const char *type)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/changes/%s", e->dir, type);
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static const char *const TYPES[] = { "spaces", "apps", "data-files", "data-stores", "users" };

static void test_bootstrap_then_changes(void)
{
	struct sim_config cfg = { .seed = 11, .api_key = "k" };
	struct env e;
	env_init(&e, &cfg);
	/* bootstrap: nothing reported, empty results, no spool file */
	CHECK_INT(changes_poll_now(e.ch), 0);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(count_list(&e, TYPES[i], "created"), 0);
		CHECK_INT(count_list(&e, TYPES[i], "updated"), 0);
		CHECK_INT(count_list(&e, TYPES[i], "deleted"), 0);
		CHECK_INT(spool_files(&e, TYPES[i]), 0);
	}
	CHECK_INT(e.changed_calls, 0);
	/* no change: still nothing */
	CHECK_INT(changes_poll_now(e.ch), 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(count_list(&e, TYPES[i], "updated"), 0);

	/* one creation and one update of every type behind the poller's back */
	char id[64], path[256];
	cJSON *b = NULL;
	CHECK_INT(api(&e, "POST", "/api/v1/spaces", NULL, "{\"name\":\"New space\",\"type\":\"shared\"}", &b), 201);
	char space_id[64];
	snprintf(space_id, sizeof(space_id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(b, "id")));
	cJSON_Delete(b);
	state_id(&e, "spaces", 2, "id", id, sizeof(id));
	snprintf(path, sizeof(path), "/api/v1/spaces/%s", id);
	CHECK_INT(api(&e, "PATCH", path, NULL, "[{\"op\":\"replace\",\"path\":\"/description\",\"value\":\"x\"}]", NULL), 200);
	char upd_space[64];
	snprintf(upd_space, sizeof(upd_space), "%s", id);

	CHECK_INT(api(&e, "POST", "/api/v1/users", NULL, "{\"subject\":\"new-subject\",\"name\":\"Newbie\",\"email\":\"n@x.io\"}", &b), 201);
	char user_id[64];
	snprintf(user_id, sizeof(user_id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(b, "id")));
	cJSON_Delete(b);
	state_id(&e, "users", 5, "id", id, sizeof(id));
	snprintf(path, sizeof(path), "/api/v1/users/%s", id);
	CHECK_INT(api(&e, "PATCH", path, NULL, "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"Renamed\"}]", NULL), 204);
	char upd_user[64];
	snprintf(upd_user, sizeof(upd_user), "%s", id);

	CHECK_INT(api(&e, "POST", "/api/v1/apps", NULL, "{\"attributes\":{\"name\":\"Brand new app\"}}", &b), 200);
	char app_id[64];
	snprintf(app_id, sizeof(app_id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "attributes"), "id")));
	cJSON_Delete(b);
	state_id(&e, "apps", 3, "id", id, sizeof(id));
	snprintf(path, sizeof(path), "/api/v1/apps/%s", id);
	CHECK_INT(api(&e, "PUT", path, NULL, "{\"attributes\":{\"name\":\"Renamed app\"}}", NULL), 200);
	char upd_app[64];
	snprintf(upd_app, sizeof(upd_app), "%s", id);

	const char *mp = "multipart/form-data; boundary=XyZ123";
	const char *up = "--XyZ123\r\nContent-Disposition: form-data; name=\"File\"; filename=\"f\"\r\n\r\n"
			 "a,b\r\n--XyZ123\r\nContent-Disposition: form-data; name=\"Json\"\r\n\r\n"
			 "{\"name\":\"fresh.csv\"}\r\n--XyZ123--\r\n";
	CHECK_INT(api(&e, "POST", "/api/v1/data-files", mp, up, &b), 201);
	char file_id[64];
	snprintf(file_id, sizeof(file_id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(b, "id")));
	cJSON_Delete(b);
	CHECK_INT(api(&e, "GET", "/api/v1/data-files?name=customers.csv", NULL, NULL, &b), 200);
	snprintf(id, sizeof(id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "data"), 0), "id")));
	cJSON_Delete(b);
	snprintf(path, sizeof(path), "/api/v1/data-files/%s", id);
	const char *put = "--XyZ123\r\nContent-Disposition: form-data; name=\"File\"; filename=\"x\"\r\n\r\n"
			  "new\r\n--XyZ123--\r\n";
	CHECK_INT(api(&e, "PUT", path, mp, put, NULL), 201);
	char upd_file[64];
	snprintf(upd_file, sizeof(upd_file), "%s", id);

	CHECK_INT(api(&e, "POST", "/api/v1/data-stores", NULL, "{\"name\":\"fresh store\",\"type\":\"gbq\",\"technicalName\":\"fresh\"}", &b), 201);
	char store_id[64];
	snprintf(store_id, sizeof(store_id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(b, "id")));
	cJSON_Delete(b);
	state_id(&e, "data_stores", 0, "id", id, sizeof(id));
	snprintf(path, sizeof(path), "/api/v1/data-stores/%s", id);
	CHECK_INT(api(&e, "PATCH", path, NULL, "[{\"op\":\"replace\",\"path\":\"/description\",\"value\":\"d\"}]", NULL) / 100, 2);
	char upd_store[64];
	snprintf(upd_store, sizeof(upd_store), "%s", id);

	e.nwritten = 0;
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK(listed(&e, "spaces", "created", "id", space_id));
	CHECK(listed(&e, "spaces", "updated", "id", upd_space));
	CHECK(listed(&e, "users", "created", "id", user_id));
	CHECK(listed(&e, "users", "updated", "id", upd_user));
	CHECK(listed(&e, "apps", "created", "resourceId", app_id));
	CHECK(listed(&e, "apps", "updated", "resourceId", upd_app));
	CHECK(listed(&e, "data-files", "created", "id", file_id));
	CHECK(listed(&e, "data-files", "updated", "id", upd_file));
	CHECK(listed(&e, "data-stores", "created", "id", store_id));
	CHECK(listed(&e, "data-stores", "updated", "id", upd_store));
	for (int i = 0; i < 5; i++) {
		CHECK_INT(count_list(&e, TYPES[i], "created"), 1);
		CHECK_INT(count_list(&e, TYPES[i], "updated"), 1);
		CHECK_INT(spool_files(&e, TYPES[i]), 1);
	}
	CHECK_INT(e.changed_calls, 10);
	/* spool file, latest file per type, then the status */
	CHECK_INT(e.nwritten, 11);
	CHECK(!strncmp(e.written[0], "spaces/", 7) && strstr(e.written[0], "Z.json"));
	CHECK_STR(e.written[1], "spaces.json");
	CHECK_STR(e.written[10], ".status.json");

	/* the next poll reports nothing again and adds no spool file */
	CHECK_INT(changes_poll_now(e.ch), 0);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(count_list(&e, TYPES[i], "created") + count_list(&e, TYPES[i], "updated"),
			  0);
		CHECK_INT(spool_files(&e, TYPES[i]), 1);
	}
	env_fini(&e);
}

/* The two switches (and the third): what is shown, and what is spooled. */
static void test_switches(void)
{
	struct sim_config cfg = { .seed = 12, .api_key = "k" };
	struct env e;
	env_init(&e, &cfg);
	changes_free(e.ch);
	e.o.types = 1u << RK_SPACE;
	e.o.created = false;
	env_open(&e);
	CHECK_INT(changes_poll_now(e.ch), 0);
	char id[64], path[128];
	cJSON *b;
	CHECK_INT(api(&e, "POST", "/api/v1/spaces", NULL, "{\"name\":\"Only new\",\"type\":\"shared\"}", &b), 201);
	cJSON_Delete(b);
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK_INT(count_list(&e, "spaces", "created"), 0);
	CHECK_INT(spool_files(&e, "spaces"), 0); /* nothing shown: nothing spooled */
	changes_free(e.ch);
	e.o.created = true;
	e.o.updated = false;
	env_open(&e);
	state_id(&e, "spaces", 1, "id", id, sizeof(id));
	snprintf(path, sizeof(path), "/api/v1/spaces/%s", id);
	CHECK_INT(api(&e, "PATCH", path, NULL, "[{\"op\":\"replace\",\"path\":\"/description\",\"value\":\"y\"}]", NULL), 200);
	CHECK_INT(api(&e, "POST", "/api/v1/spaces", NULL, "{\"name\":\"Second new\",\"type\":\"shared\"}", &b), 201);
	cJSON_Delete(b);
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK_INT(count_list(&e, "spaces", "created"), 1);
	CHECK_INT(count_list(&e, "spaces", "updated"), 0);
	CHECK_INT(spool_files(&e, "spaces"), 1);
	env_fini(&e);
}

struct mid {
	struct env *e;
	char path[128];
	char body[256];
	const char *method;
};

static void mid_change(void *arg)
{
	struct mid *m = arg;
	CHECK_INT(api(m->e, m->method, m->path, NULL, m->body, NULL) / 100, 2);
}

/* A change made while a poll pages is reported exactly once over that poll
 * and the next: a user updated before its page was fetched (seen now, then
 * deduplicated), one whose page had been fetched (seen next time), an app
 * updated between the pages of a sorted listing. */
static void test_change_while_paging(void)
{
	struct sim_config cfg = { .seed = 13, .api_key = "k", .n_users = 450, .n_apps = 300 };
	struct env e;
	env_init(&e, &cfg);
	CHECK_INT(changes_poll_now(e.ch), 0);
	/* users are scanned in creation order, 100 a page: the 5 pages */
	char early[64], late[64];
	state_id(&e, "users", 0, "id", early, sizeof(early));
	struct mid m1 = { &e, "", "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"Early bird\"}]", "PATCH" };
	snprintf(m1.path, sizeof(m1.path), "/api/v1/users/%s", early);
	/* the seeded users' creation order: find one on the last page */
	cJSON *b;
	CHECK_INT(api(&e, "GET", "/api/v1/users?sort=-createdAt&limit=1", NULL, NULL, &b), 200);
	snprintf(late, sizeof(late), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "data"), 0), "id")));
	cJSON_Delete(b);
	CHECK_INT(api(&e, "GET", "/api/v1/users?sort=%2BcreatedAt&limit=1", NULL, NULL, &b), 200);
	snprintf(early, sizeof(early), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "data"), 0), "id")));
	cJSON_Delete(b);
	snprintf(m1.path, sizeof(m1.path), "/api/v1/users/%s", early);
	e.tr->match = "/api/v1/users?";
	e.tr->nth = 3; /* before the third page: the first two are fetched */
	e.tr->seen = 0;
	e.tr->hook = mid_change;
	e.tr->arg = &m1;
	/* and the late user, updated just before the poll: seen now, not again */
	struct mid m2 = { &e, "", "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"Late bird\"}]", "PATCH" };
	snprintf(m2.path, sizeof(m2.path), "/api/v1/users/%s", late);
	mid_change(&m2);
	CHECK_INT(changes_poll_now(e.ch), 0);
	int early_seen = listed(&e, "users", "updated", "id", early);
	int late_seen = listed(&e, "users", "updated", "id", late);
	CHECK(late_seen);
	CHECK(!early_seen); /* its page was fetched before the change */
	e.tr->hook = NULL;
	CHECK_INT(changes_poll_now(e.ch), 0);
	early_seen += listed(&e, "users", "updated", "id", early);
	late_seen += listed(&e, "users", "updated", "id", late);
	CHECK_INT(early_seen, 1);
	CHECK_INT(late_seen, 1);
	CHECK_INT(count_list(&e, "users", "updated"), 1);

	/* apps sorted by update time: 150 updates make two pages; another app
	 * updated between them jumps to the front, behind the cursor */
	for (int i = 0; i < 150; i++) {
		char id[64], path[128];
		state_id(&e, "apps", i, "id", id, sizeof(id));
		snprintf(path, sizeof(path), "/api/v1/apps/%s", id);
		CHECK_INT(api(&e, "PUT", path, NULL, "{\"attributes\":{\"description\":\"bulk\"}}", NULL), 200);
	}
	char odd[64];
	state_id(&e, "apps", 200, "id", odd, sizeof(odd));
	struct mid m3 = { &e, "", "{\"attributes\":{\"description\":\"during\"}}", "PUT" };
	snprintf(m3.path, sizeof(m3.path), "/api/v1/apps/%s", odd);
	e.tr->match = "/api/v1/items?";
	e.tr->nth = 2;
	e.tr->seen = 0;
	e.tr->hook = mid_change;
	e.tr->arg = &m3;
	sim_reset_counts(e.sim);
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK_INT(e.tr->seen, 2); /* the hook ran between two pages */
	int odd1 = listed(&e, "apps", "updated", "resourceId", odd);
	CHECK_INT(count_list(&e, "apps", "updated"), 150 + odd1);
	e.tr->hook = NULL;
	CHECK_INT(changes_poll_now(e.ch), 0);
	int odd2 = listed(&e, "apps", "updated", "resourceId", odd);
	CHECK_INT(odd1 + odd2, 1);
	CHECK_INT(count_list(&e, "apps", "updated"), odd2); /* nothing else again */
	env_fini(&e);
}

struct gone {
	struct env *e;
	char id[64];
};

static void delete_store(void *arg)
{
	struct gone *g = arg;
	char path[160], body[128];
	snprintf(path, sizeof(path), "/api/v1/data-stores/%s/data-assets", g->id);
	CHECK_INT(api(g->e, "DELETE", path, NULL, NULL, NULL), 204);
	snprintf(body, sizeof(body), "{\"ids\":[\"%s\"]}", g->id);
	CHECK_INT(api(g->e, "DELETE", "/api/v1/data-stores", NULL, body, NULL), 204);
}

/* Offset pages shift when a record goes between two pages, which would skip
 * the first record of the next page: the poll sees the total move and walks
 * the listing again. */
static void test_offset_pages_relisted(void)
{
	struct sim_config cfg = { .seed = 19, .api_key = "k", .n_data_stores = 250 };
	struct env e;
	char ids[150][64];
	env_init(&e, &cfg);
	changes_free(e.ch);
	e.o.types = 1u << RK_DATASTORE;
	e.o.full_scan_every = 0;
	env_open(&e);
	CHECK_INT(changes_poll_now(e.ch), 0);
	for (int i = 0; i < 150; i++) {
		char path[128];
		state_id(&e, "data_stores", i, "id", ids[i], sizeof(ids[i]));
		snprintf(path, sizeof(path), "/api/v1/data-stores/%.63s", ids[i]);
		CHECK_INT(api(&e, "PATCH", path, NULL, "[{\"op\":\"replace\",\"path\":\"/description\",\"value\":\"o\"}]", NULL) / 100, 2);
	}
	/* the newest first: the first page holds 100 of them; one goes before the second page */
	cJSON *b;
	CHECK_INT(api(&e, "GET", "/api/v1/data-stores?sort=-lastModifiedTime&limit=1", NULL, NULL, &b), 200);
	struct gone g = { &e, "" };
	snprintf(g.id, sizeof(g.id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "data"), 0), "id")));
	cJSON_Delete(b);
	e.tr->match = "/api/v1/data-stores?";
	e.tr->nth = 2;
	e.tr->seen = 0;
	e.tr->hook = delete_store;
	e.tr->arg = &g;
	CHECK_INT(changes_poll_now(e.ch), 0);
	e.tr->hook = NULL;
	CHECK_INT(e.tr->seen, 4); /* two pages, then the same two again */
	for (int i = 0; i < 150; i++)
		CHECK(listed(&e, "data-stores", "updated", "id", ids[i]) || !strcmp(ids[i], g.id));
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK_INT(count_list(&e, "data-stores", "updated"), 0);
	env_fini(&e);
}

/* Requests per poll: sorted types cost what the changes need, not the
 * tenant's size; unsorted types cost a scan. */
static void test_request_counts(void)
{
	struct sim_config cfg = { .seed = 14, .api_key = "k", .n_users = 1000, .n_spaces = 120,
				  .n_apps = 1000, .n_data_files = 300, .n_data_stores = 150 };
	struct env e;
	env_init(&e, &cfg);
	changes_free(e.ch);
	e.o.full_scan_every = 0; /* no periodic full scans here */
	env_open(&e);
	sim_reset_counts(e.sim);
	CHECK_INT(changes_poll_now(e.ch), 0); /* bootstrap: complete scans */
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/items"), 10);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/users"), 10);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/spaces"), 2);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/data-stores"), 2);
	sim_reset_counts(e.sim);
	CHECK_INT(changes_poll_now(e.ch), 0); /* no change */
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/items"), 1);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/data-files"), 1);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/data-stores"), 1);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/users"), 10);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/spaces"), 2);
	CHECK_INT(sim_count_total(e.sim), 15);
	for (int i = 0; i < 10; i++) {
		char id[64], path[128];
		state_id(&e, "apps", i * 7, "id", id, sizeof(id));
		snprintf(path, sizeof(path), "/api/v1/apps/%s", id);
		CHECK_INT(api(&e, "PUT", path, NULL, "{\"attributes\":{\"description\":\"ten\"}}", NULL), 200);
		state_id(&e, "data_stores", i * 3, "id", id, sizeof(id));
		snprintf(path, sizeof(path), "/api/v1/data-stores/%s", id);
		CHECK_INT(api(&e, "PATCH", path, NULL, "[{\"op\":\"replace\",\"path\":\"/description\",\"value\":\"d\"}]", NULL) / 100, 2);
	}
	sim_reset_counts(e.sim);
	CHECK_INT(changes_poll_now(e.ch), 0); /* ten changes each: still one page */
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/items"), 1);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/data-stores"), 1);
	CHECK_INT(count_list(&e, "apps", "updated"), 10);
	CHECK_INT(count_list(&e, "data-stores", "updated"), 10);
	/* 250 app changes: three pages of 100 */
	for (int i = 0; i < 250; i++) {
		char id[64], path[128];
		state_id(&e, "apps", i, "id", id, sizeof(id));
		snprintf(path, sizeof(path), "/api/v1/apps/%s", id);
		CHECK_INT(api(&e, "PUT", path, NULL, "{\"attributes\":{\"description\":\"many\"}}", NULL), 200);
	}
	sim_reset_counts(e.sim);
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/items"), 3);
	CHECK_INT(count_list(&e, "apps", "updated"), 250);
	env_fini(&e);
}

/* Deleted records: every poll for scanned types, at full scans for sorted
 * ones (each suspect confirmed with one GET). */
static void test_deletions(void)
{
	/* more apps than a page, so that an incremental poll is incomplete
	 * (a listing that fits in one page is always complete) */
	struct sim_config cfg = { .seed = 15, .api_key = "k", .n_apps = 250 };
	struct env e;
	env_init(&e, &cfg);
	changes_free(e.ch);
	e.o.full_scan_every = 2;
	env_open(&e);
	CHECK_INT(changes_poll_now(e.ch), 0);
	cJSON *b;
	char sid[64], aid[64], uid[64], path[128];
	CHECK_INT(api(&e, "POST", "/api/v1/spaces", NULL, "{\"name\":\"Doomed\",\"type\":\"shared\"}", &b), 201);
	snprintf(sid, sizeof(sid), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(b, "id")));
	cJSON_Delete(b);
	state_id(&e, "apps", 4, "id", aid, sizeof(aid));
	state_id(&e, "users", 9, "id", uid, sizeof(uid));
	CHECK_INT(changes_poll_now(e.ch), 0); /* reports the new space */
	CHECK(listed(&e, "spaces", "created", "id", sid));
	CHECK_INT(changes_poll_now(e.ch), 0); /* the second poll: a full scan for apps */
	snprintf(path, sizeof(path), "/api/v1/spaces/%s", sid);
	CHECK_INT(api(&e, "DELETE", path, NULL, NULL, NULL), 204);
	snprintf(path, sizeof(path), "/api/v1/apps/%s", aid);
	CHECK_INT(api(&e, "DELETE", path, NULL, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/api/v1/users/%s", uid);
	CHECK_INT(api(&e, "DELETE", path, NULL, NULL, NULL), 204);
	sim_reset_counts(e.sim);
	CHECK_INT(changes_poll_now(e.ch), 0); /* an incremental poll for apps */
	CHECK(listed(&e, "spaces", "deleted", "id", sid));
	CHECK(listed(&e, "spaces", "deleted", "name", "Doomed"));
	CHECK(listed(&e, "users", "deleted", "id", uid));
	CHECK_INT(count_list(&e, "apps", "deleted"), 0);
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/spaces/"), 1); /* the confirmation */
	CHECK_INT(changes_poll_now(e.ch), 0); /* the next full scan for apps */
	CHECK(listed(&e, "apps", "deleted", "resourceId", aid));
	CHECK_INT(count_list(&e, "apps", "deleted"), 1);
	CHECK_INT(count_list(&e, "spaces", "deleted"), 0); /* reported once */
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK_INT(count_list(&e, "apps", "deleted"), 0);
	env_fini(&e);
}

/* The tenant's clock, not ours: a day behind or ahead makes no difference. */
static void test_skewed_clock(void)
{
	for (int dir = -1; dir <= 1; dir += 2) {
		struct sim_config cfg = { .seed = 16, .api_key = "k",
					  .clock_skew_ms = dir * 86400000L };
		struct env e;
		env_init(&e, &cfg);
		changes_free(e.ch);
		e.o.types = (1u << RK_SPACE) | (1u << RK_APP);
		env_open(&e);
		CHECK_INT(changes_poll_now(e.ch), 0);
		CHECK_INT(changes_poll_now(e.ch), 0);
		CHECK_INT(count_list(&e, "spaces", "updated") + count_list(&e, "apps", "updated"), 0);
		char id[64], path[128];
		state_id(&e, "apps", 1, "id", id, sizeof(id));
		snprintf(path, sizeof(path), "/api/v1/apps/%s", id);
		CHECK_INT(api(&e, "PUT", path, NULL, "{\"attributes\":{\"name\":\"Skewed\"}}", NULL), 200);
		CHECK_INT(changes_poll_now(e.ch), 0);
		CHECK(listed(&e, "apps", "updated", "resourceId", id));
		CHECK_INT(count_list(&e, "apps", "updated"), 1);
		CHECK_INT(count_list(&e, "spaces", "updated"), 0);
		/* the tenant's clock jumps ahead an hour: nothing old is replayed */
		char *out = NULL;
		sim_control(e.sim, "POST", "/_sim/time", "{\"shift_ms\":3600000}", &out);
		free(out);
		CHECK_INT(changes_poll_now(e.ch), 0);
		CHECK_INT(count_list(&e, "apps", "updated"), 0);
		env_fini(&e);
	}
}

/* A restart continues where the previous process left off. */
static void test_restart(void)
{
	struct sim_config cfg = { .seed = 17, .api_key = "k" };
	struct env e;
	env_init(&e, &cfg);
	CHECK_INT(changes_poll_now(e.ch), 0);
	changes_free(e.ch);
	e.ch = NULL;
	cJSON *b;
	char sid[64];
	CHECK_INT(api(&e, "POST", "/api/v1/spaces", NULL, "{\"name\":\"While away\",\"type\":\"shared\"}", &b), 201);
	snprintf(sid, sizeof(sid), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(b, "id")));
	cJSON_Delete(b);
	env_open(&e);
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK(listed(&e, "spaces", "created", "id", sid));
	/* a state file that cannot be read: that type starts over (bootstrap) */
	changes_free(e.ch);
	char sdir[128];
	snprintf(sdir, sizeof(sdir), "%s/changes-state", e.dir);
	CHECK_INT(statedir_write_atomic(sdir, "spaces.json", "garbage", 7), 0);
	env_open(&e);
	CHECK_INT(api(&e, "POST", "/api/v1/spaces", NULL, "{\"name\":\"After reset\",\"type\":\"shared\"}", &b), 201);
	cJSON_Delete(b);
	CHECK_INT(changes_poll_now(e.ch), 0);
	CHECK_INT(count_list(&e, "spaces", "created"), 0);
	env_fini(&e);
}

static int64_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int status_polls(struct env *e)
{
	char dir[256], *txt = NULL;
	size_t len;
	snprintf(dir, sizeof(dir), "%s/changes", e->dir);
	if (statedir_read(dir, ".status.json", 1 << 20, &txt, &len))
		return 0;
	cJSON *j = cJSON_Parse(txt);
	int n = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "polls"));
	cJSON_Delete(j);
	free(txt);
	return n;
}

/* The thread: scheduled polls, a trigger, and a prompt stop. */
static void test_thread(void)
{
	struct sim_config cfg = { .seed = 18, .api_key = "k" };
	struct env e;
	env_init(&e, &cfg);
	changes_free(e.ch);
	e.o.interval_ms = 0; /* only triggers */
	e.o.types = 1u << RK_SPACE;
	env_open(&e);
	CHECK_INT(changes_start(e.ch), 0);
	usleep(100000);
	CHECK_INT(status_polls(&e), 0);
	changes_trigger(e.ch);
	int64_t t0 = now_mono();
	while (status_polls(&e) < 1 && now_mono() - t0 < 5000)
		usleep(10000);
	CHECK_INT(status_polls(&e), 1);
	changes_free(e.ch);
	e.o.interval_ms = 50;
	env_open(&e);
	CHECK_INT(changes_start(e.ch), 0);
	t0 = now_mono();
	while (status_polls(&e) < 3 && now_mono() - t0 < 5000)
		usleep(10000);
	CHECK(status_polls(&e) >= 3);
	/* a slow tenant: the stop does not wait for the pages */
	char *out = NULL;
	sim_control(e.sim, "POST", "/_sim/config", "{\"latency_ms\":300}", &out);
	free(out);
	usleep(100000);
	t0 = now_mono();
	changes_free(e.ch);
	e.ch = NULL;
	CHECK(now_mono() - t0 < 1500);
	env_fini(&e);
}

int main(void)
{
	test_sets();
	test_stub();
	test_scan_early_stop();
	test_classify_dedupe();
	test_precision();
	test_state_roundtrip();
	test_deletion_of_mismatched_stub();
	test_render_and_names();
	test_bootstrap_then_changes();
	test_switches();
	test_change_while_paging();
	test_request_counts();
	test_offset_pages_relisted();
	test_deletions();
	test_skewed_clock();
	test_restart();
	test_thread();
	cJSON_Delete(cached);
	return check_done();
}
