/* Unit tests for a listing's texts (ns_coll.c): the first LISTING_PLAIN
 * bytes kept as they came, the rest packed side by side in blocks; every
 * object parsed back whole, in order and out of order, from the open block,
 * from sealed blocks, shared into another listing; texts too big for a block
 * kept alone; all freed (ASan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "ns/core/ns_internal.h"
#include "util/jsonfmt.h"

#define N 3000

static char *text(int i)
{
	/* (every 500th one bigger than a block) */
	size_t pad = i % 500 == 7 ? 20000 : (size_t)(i % 13) * 40;
	char *p = malloc(pad + 200);
	int n = snprintf(p, 200, "{\"id\":\"%08d\",\"name\":\"Object %d\",\"pad\":\"", i, i);
	memset(p + n, 'a' + i % 26, pad);
	strcpy(p + n + pad, "\"}");
	return p;
}

static int id_of(const struct listing *l, size_t i)
{
	cJSON *o = listing_obj(l, i);
	const char *id = json_str(o, "id");
	int v = id ? atoi(id) : -1;
	cJSON_Delete(o);
	return v;
}

int main(int argc, char **argv)
{
	unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : (unsigned)time(NULL);
	printf("seed %u (replay: test_listing %u)\n", seed, seed);
	srand(seed);

	struct listing l = { 0 }, copy = { 0 };
	for (int i = 0; i < N; i++)
		CHECK_INT(listing_add(&l, text(i)), 0);
	CHECK_INT(l.n, N);
	CHECK(l.bytes > 4 * LISTING_PLAIN);
	int ok = 0, packed = 0, open = 0;
	for (int i = 0; i < N; i++) {
		ok += id_of(&l, (size_t)i) == i;
		packed += l.v[i].packed;
		open += !l.v[i].b;
	}
	CHECK_INT(ok, N);
	CHECK(packed > N / 2); /* past the first 128 KiB, in deflated blocks */
	CHECK(open > 0);       /* the last block still open */
	ok = 0;
	for (int k = 0; k < N; k++) { /* out of order: blocks inflated again */
		int i = rand() % N;
		ok += id_of(&l, (size_t)i) == i;
	}
	CHECK_INT(ok, N);
	/* shared into another listing: sealed items by reference, open ones copied */
	for (int i = N - 1; i >= 0; i -= 7)
		CHECK_INT(listing_add_item(&copy, &l, (size_t)i), 0);
	listing_clear(&l); /* (copy holds its own references) */
	ok = 0;
	for (size_t k = 0; k < copy.n; k++)
		ok += id_of(&copy, k) == N - 1 - (int)k * 7;
	CHECK_INT(ok, (int)copy.n);
	listing_clear(&copy);
	listing_clear(&copy); /* (cleared twice: nothing left) */
	return check_done();
}
