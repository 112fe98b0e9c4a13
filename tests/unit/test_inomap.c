/* Unit tests for inomap.c: against a reference array, with random keys drawn
 * from a small set (so probes collide, wrap and shift back on removal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "util/inomap.h"

#define NKEYS 300

int main(int argc, char **argv)
{
	unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : (unsigned)time(NULL);
	printf("seed %u (replay: test_inomap %u)\n", seed, seed);
	srand(seed);

	struct inomap *m = inomap_new();
	CHECK(m != NULL);
	CHECK_INT(inomap_put(m, 0, 5), -22); /* key 0 is not a key */
	CHECK(inomap_take(m, 7) == 0);      /* empty map */

	uint64_t keys[NKEYS], ref[NKEYS] = { 0 };
	for (int i = 0; i < NKEYS; i++)
		keys[i] = i < 40 ? (uint64_t)(i + 1) << 40 : inomap_key((uint64_t)i, "x.qvs");
	size_t n = 0;
	for (int step = 0; step < 200000; step++) {
		int i = rand() % NKEYS;
		if (rand() % 3) {
			uint64_t v = (uint64_t)rand() + 1;
			CHECK_INT(inomap_put(m, keys[i], v), 0);
			n += !ref[i];
			ref[i] = v;
		} else {
			CHECK(inomap_take(m, keys[i]) == ref[i]);
			n -= !!ref[i];
			ref[i] = 0;
		}
		if (inomap_size(m) != n) {
			CHECK(inomap_size(m) == n);
			break;
		}
	}
	for (int i = 0; i < NKEYS; i++) /* every entry still found after the shifts */
		CHECK(inomap_take(m, keys[i]) == ref[i]);
	CHECK(inomap_size(m) == 0);
	inomap_free(m);
	inomap_free(NULL);

	/* the key of a name in a directory: depends on both, never 0 */
	CHECK(inomap_key(5, "a.qvs") != inomap_key(6, "a.qvs"));
	CHECK(inomap_key(5, "a.qvs") != inomap_key(5, "b.qvs"));
	CHECK(inomap_key(5, "a.qvs") == inomap_key(5, "a.qvs"));
	CHECK(inomap_key(0, "") != 0);
	return check_done();
}
