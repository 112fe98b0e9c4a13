/*
 * fuzz_resource.c - resource objects of every kind (restab.c), as a list
 * page or a single GET answers them, through what the mount does with them:
 * id, name, times, entry name (names.c), the file's bytes (jsonfmt.c), and
 * the change poller's scan, classification, commit and state file
 * (changes_core.c).
 *
 * Input: JSON, a list page {"data":[...]} or one object.  Invariants:
 *  - the file's bytes (jsonfmt_pretty) reparse to an equal document, their
 *    length is the reported length, and they end with a newline;
 *  - an object with an id gets an entry name of at most NAMES_MAX bytes that
 *    names_parse_id() (id form) or names_to_server() (plain form) reads back;
 *  - the update time is the creation time when no update field parses;
 *  - the change poller classifies each candidate once, and its state file
 *    reloads to the same state (dump -> load -> dump is stable).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "changes/changes_internal.h"
#include "fuzz_common.h"
#include "util/jsonfmt.h"
#include "util/names.h"
#include "res/restab.h"

static void check_file_bytes(const cJSON *obj)
{
	size_t len = 0;
	char *txt = jsonfmt_pretty(obj, &len);
	if (!txt)
		return; /* deeper than 512 levels */
	FZ_CHECK(len == strlen(txt) && len > 0 && txt[len - 1] == '\n');
	cJSON *back = cJSON_ParseWithLength(txt, len);
	FZ_CHECK(back);
	/* compared as compact text: cJSON_Compare() mismatches repeated keys */
	char *a = cJSON_PrintUnformatted(obj), *b = cJSON_PrintUnformatted(back);
	FZ_CHECK(a && b && !strcmp(a, b));
	free(a);
	free(b);
	cJSON_Delete(back);
	free(txt);
}

static void check_entry(const struct rtype *rt, const cJSON *obj)
{
	const char *id = restab_id(rt, obj), *name = restab_name(rt, obj);
	char entry[NAMES_MAX + 1], idb[NAMES_MAX + 1], back[4 * NAMES_MAX];
	int64_t c = restab_ctime_ms(rt, obj), m = restab_mtime_ms(rt, obj);
	(void)c;
	(void)m;
	if (!id)
		return;
	ssize_t n;
	if (rt->unique_names) {
		n = names_plain(name ? name : "", id, ".json", entry, sizeof(entry));
		if (n >= 0)
			FZ_CHECK(names_to_server(entry, ".json", back, sizeof(back)) >= 0 ||
				 names_parse_id(entry, ".json", idb, sizeof(idb)) >= 0);
	} else {
		n = names_with_id(name ? name : "", id, ".json", entry, sizeof(entry));
		if (n >= 0)
			FZ_CHECK(names_parse_id(entry, ".json", idb, sizeof(idb)) >= 0 &&
				 !strcmp(idb, id));
	}
	if (n >= 0)
		FZ_CHECK(n <= NAMES_MAX && (size_t)n == strlen(entry));
	else
		FZ_CHECK(n == -EINVAL || n == -ENAMETOOLONG); /* an id the names refuse */
}

static void check_changes(const struct rtype *rt, const cJSON *items, int64_t prev, bool sorted)
{
	struct chg_state st;
	struct chg_scan sc;
	struct chg_result r;
	const cJSON *it;
	FZ_CHECK(chg_state_init(&st) == 0 && chg_scan_init(&sc, rt, prev, sorted) == 0 &&
		 chg_result_init(&r) == 0);
	cJSON_ArrayForEach(it, items)
	{
		int rc = chg_scan_add(&sc, it);
		FZ_CHECK(rc == 0 || rc == QLIST_STOP);
	}
	FZ_CHECK(chg_classify(&st, &sc, &r) == 0);
	FZ_CHECK(chg_result_count(&r) == sc.cand.n);
	FZ_CHECK(chg_commit(&st, &sc, &r, true, prev) == 0);
	size_t len = 0, len2 = 0;
	char *d1 = chg_state_dump(&st, &len);
	FZ_CHECK(d1);
	struct chg_state st2;
	FZ_CHECK(chg_state_init(&st2) == 0);
	FZ_CHECK(chg_state_load(&st2, d1) == 0);
	char *d2 = chg_state_dump(&st2, &len2);
	FZ_CHECK(d2 && len == len2 && !strcmp(d1, d2));
	size_t rl = 0;
	char *out = chg_result_render(&r, true, true, true, &rl);
	FZ_CHECK(out && rl == strlen(out));
	free(out);
	free(d1);
	free(d2);
	chg_state_free(&st2);
	chg_result_free(&r);
	chg_scan_free(&sc);
	chg_state_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
	if (!doc)
		return 0;
	check_file_bytes(doc);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "data");
	cJSON *wrap = NULL;
	if (!cJSON_IsArray(items)) {
		wrap = cJSON_CreateArray();
		FZ_CHECK(wrap);
		cJSON_AddItemReferenceToArray(wrap, doc);
		items = wrap;
	}
	for (int k = 0; k < RK_COUNT; k++) {
		const struct rtype *rt = restab_get(k);
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			check_entry(rt, it);
			(void)chg_fingerprint(it);
			cJSON_Delete(chg_stub(rt, it));
		}
		check_changes(rt, items, 0, k % 2);
		check_changes(rt, items, 1700000000000LL, !(k % 2));
	}
	cJSON_Delete(wrap);
	cJSON_Delete(doc);
	return 0;
}
