/*
 * fuzz_changes_state.c - the change poller's state files
 * (<state>/changes/<type>.json, changes_core.c's chg_state_load()) and the
 * small parsers around it: -o changes_types lists (changes_parse_types())
 * and spool file names (chg_spool_name()).
 *
 * Input: a state file.  Invariants: loading accepts it or returns -EINVAL
 * (leaving the state untouched); an accepted state dumps to a file that
 * loads back to the same dump; a committed poll on top of it still dumps
 * and reloads; types are a non-empty mask of known types; spool names sort
 * in time order and never repeat.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "changes/changes.h"
#include "changes/changes_internal.h"
#include "fuzz_common.h"
#include "res/restab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 17)
		return 0;
	char *in = fz_strndup(data, size);
	struct chg_state st, st2;
	FZ_CHECK(chg_state_init(&st) == 0 && chg_state_init(&st2) == 0);
	int rc = chg_state_load(&st, in);
	FZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		size_t l1 = 0, l2 = 0;
		char *d1 = chg_state_dump(&st, &l1);
		FZ_CHECK(d1);
		FZ_CHECK(chg_state_load(&st2, d1) == 0);
		char *d2 = chg_state_dump(&st2, &l2);
		FZ_CHECK(d2 && l1 == l2 && !strcmp(d1, d2));
		free(d1);
		free(d2);

		/* a poll that saw nothing, committed on top of the loaded state */
		struct chg_scan sc;
		struct chg_result r;
		FZ_CHECK(chg_scan_init(&sc, restab_get(RK_SPACE), st.boundary_ms, true) == 0);
		FZ_CHECK(chg_result_init(&r) == 0);
		FZ_CHECK(chg_classify(&st, &sc, &r) == 0 && chg_result_count(&r) == 0);
		const char **missing = NULL;
		long nm = chg_missing(&st, &sc, &missing);
		FZ_CHECK(nm >= 0 && (size_t)nm == st.known.n);
		for (long i = 0; i < nm; i++)
			FZ_CHECK(chg_add_deleted(&st, missing[i], &r) == 0);
		free(missing);
		FZ_CHECK(chg_commit(&st, &sc, &r, true, st.boundary_ms + 1) == 0);
		FZ_CHECK(st.known.n == 0);
		d1 = chg_state_dump(&st, &l1);
		FZ_CHECK(d1 && chg_state_load(&st2, d1) == 0);
		free(d1);
		chg_result_free(&r);
		chg_scan_free(&sc);
	} else {
		FZ_CHECK(st.boundary_ms == 0 && st.recent.n == 0 && st.known.n == 0);
	}
	chg_state_free(&st);
	chg_state_free(&st2);

	unsigned mask = 0xdead;
	rc = changes_parse_types(in, &mask);
	FZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0)
		FZ_CHECK(mask && !(mask & ~changes_all_types()));
	else
		FZ_CHECK(mask == 0xdead);

	if (size >= 16) {
		int64_t a, b, used1, used2;
		char n1[64], n2[64];
		memcpy(&a, data, 8);
		memcpy(&b, data + 8, 8);
		if (chg_spool_name(a, b, n1, sizeof(n1), &used1) == 0) {
			FZ_CHECK(used1 >= a && used1 > b);
			if (chg_spool_name(a, used1, n2, sizeof(n2), &used2) == 0)
				FZ_CHECK(used2 > used1 && strcmp(n2, n1) > 0);
		}
	}
	free(in);
	return 0;
}
