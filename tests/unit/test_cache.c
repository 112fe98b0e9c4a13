/*
 * test_cache.c - unit tests of cache/cache.c with a fake clock: TTL, negative
 * entries, LRU under the byte bound, invalidation, many threads at once.
 */
#include "cache.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t fake_now;

static int64_t fake_clock(void *arg)
{
	(void)arg;
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static const struct cache_clock clk = { fake_clock, NULL };

/* Entry cost for a key and a blob length. */
static size_t cost(const char *key, size_t len)
{
	return strlen(key) + len + CACHE_ENTRY_OVERHEAD;
}

static int put_str(struct cache *c, const char *key, const char *val, int64_t ttl)
{
	struct cache_blob *b = cache_blob_new(val, strlen(val));
	int rc = cache_put(c, key, b, ttl);
	cache_blob_unref(b);
	return rc;
}

/* Returns 1 if key is a fresh positive hit with value val. */
static int has(struct cache *c, const char *key, const char *val)
{
	struct cache_blob *b;
	int rc = cache_lookup(c, key, &b);
	int ok = rc == 1 && b && strcmp(cache_blob_data(b), val) == 0;
	cache_blob_unref(b);
	return ok;
}

static void test_blobs(void)
{
	struct cache_blob *b = cache_blob_new("abc", 3);
	CHECK(b != NULL);
	CHECK_INT(cache_blob_len(b), 3);
	CHECK_STR(cache_blob_data(b), "abc");
	CHECK(cache_blob_ref(b) == b);
	cache_blob_unref(b);
	cache_blob_unref(b);
	cache_blob_unref(NULL);
	CHECK(cache_blob_ref(NULL) == NULL);

	char *d = malloc(4);
	memcpy(d, "wxyz", 4); /* no room for the NUL: take must realloc */
	b = cache_blob_take(d, 4);
	CHECK(b != NULL);
	CHECK_INT(cache_blob_len(b), 4);
	CHECK_STR(cache_blob_data(b), "wxyz");
	cache_blob_unref(b);

	b = cache_blob_new(NULL, 0);
	CHECK(b && cache_blob_len(b) == 0 && cache_blob_data(b)[0] == '\0');
	cache_blob_unref(b);
	b = cache_blob_take(NULL, 0);
	CHECK(b && cache_blob_len(b) == 0 && cache_blob_data(b)[0] == '\0');
	cache_blob_unref(b);
}

static void test_hit_miss_ttl(void)
{
	fake_now = 1000;
	struct cache *c = cache_new(1 << 20, &clk);
	struct cache_blob *b = (struct cache_blob *)1;

	CHECK_INT(cache_lookup(c, "a", &b), 0);
	CHECK(b == NULL);
	CHECK_INT(put_str(c, "a", "alpha", 100), 0);
	CHECK(has(c, "a", "alpha"));
	fake_now = 1099;
	CHECK(has(c, "a", "alpha"));
	fake_now = 1100; /* exactly at put + ttl: expired */
	CHECK_INT(cache_lookup(c, "a", &b), 0);
	CHECK(b == NULL);

	struct cache_stats st;
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, 0); /* expired entry dropped */
	CHECK_INT(st.bytes, 0);
	CHECK_INT(st.hits, 2);
	CHECK_INT(st.misses, 2);

	/* ttl <= 0 is not stored, and drops an older value */
	CHECK_INT(put_str(c, "a", "one", 100), 0);
	CHECK_INT(put_str(c, "a", "two", 0), 0);
	CHECK_INT(cache_lookup(c, "a", &b), 0);
	CHECK_INT(put_str(c, "a", "three", -5), 0);
	CHECK_INT(cache_lookup(c, "a", &b), 0);

	/* replace */
	CHECK_INT(put_str(c, "a", "one", 100), 0);
	CHECK_INT(put_str(c, "a", "uno", 100), 0);
	CHECK(has(c, "a", "uno"));
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, 1);
	CHECK_INT(st.bytes, cost("a", 3));

	/* keys are copied, arbitrary strings */
	char key[64];
	strcpy(key, "some/key with spaces/é");
	CHECK_INT(put_str(c, key, "v", 100), 0);
	strcpy(key, "xxxx");
	CHECK(has(c, "some/key with spaces/é", "v"));
	CHECK_INT(put_str(c, "", "empty", 100), 0);
	CHECK(has(c, "", "empty"));

	CHECK_INT(cache_put(c, "k", NULL, 100), -EINVAL);
	cache_free(c);
	cache_free(NULL);
}

static void test_negative(void)
{
	fake_now = 0;
	struct cache *c = cache_new(1 << 20, &clk);
	struct cache_blob *b;

	CHECK_INT(cache_put_negative(c, "missing", -ENOENT, 50), 0);
	CHECK_INT(cache_lookup(c, "missing", &b), -ENOENT);
	CHECK(b == NULL);
	fake_now = 49;
	CHECK_INT(cache_lookup(c, "missing", &b), -ENOENT);
	fake_now = 50;
	CHECK_INT(cache_lookup(c, "missing", &b), 0);
	CHECK_INT(cache_put_negative(c, "x", 5, 50), -EINVAL);
	CHECK_INT(cache_put_negative(c, "x", 0, 50), -EINVAL);

	/* positive replaced by negative and back */
	CHECK_INT(put_str(c, "p", "val", 100), 0);
	CHECK_INT(cache_put_negative(c, "p", -EACCES, 100), 0);
	CHECK_INT(cache_lookup(c, "p", &b), -EACCES);
	CHECK_INT(put_str(c, "p", "val2", 100), 0);
	CHECK(has(c, "p", "val2"));

	struct cache_stats st;
	cache_get_stats(c, &st);
	CHECK_INT(st.neg_hits, 3);
	CHECK_INT(st.entries, 1);
	CHECK_INT(st.bytes, cost("p", 4));
	cache_free(c);
}

static void test_lru(void)
{
	fake_now = 0;
	/* room for exactly three entries of 10-byte values under 1-char keys */
	size_t one = cost("a", 10);
	struct cache *c = cache_new(3 * one, &clk);
	struct cache_stats st;

	CHECK_INT(put_str(c, "a", "aaaaaaaaaa", 1000), 0);
	CHECK_INT(put_str(c, "b", "bbbbbbbbbb", 1000), 0);
	CHECK_INT(put_str(c, "c", "cccccccccc", 1000), 0);
	cache_get_stats(c, &st);
	CHECK_INT(st.bytes, 3 * one);
	CHECK_INT(st.entries, 3);
	CHECK_INT(st.evictions, 0);

	/* touch a: b becomes least recently used */
	CHECK(has(c, "a", "aaaaaaaaaa"));
	CHECK_INT(put_str(c, "d", "dddddddddd", 1000), 0);
	CHECK(has(c, "a", "aaaaaaaaaa"));
	CHECK(!has(c, "b", "bbbbbbbbbb"));
	CHECK(has(c, "c", "cccccccccc"));
	CHECK(has(c, "d", "dddddddddd"));
	cache_get_stats(c, &st);
	CHECK_INT(st.evictions, 1);
	CHECK_INT(st.bytes, 3 * one);

	/* order now (MRU..LRU): d c a; a 2-slot entry evicts a and c, keeps d */
	char two[256];
	size_t tl = 2 * one - 1 - CACHE_ENTRY_OVERHEAD;
	memset(two, 'e', tl);
	two[tl] = '\0';
	CHECK_INT(put_str(c, "e", two, 1000), 0);
	CHECK(!has(c, "a", "aaaaaaaaaa"));
	CHECK(!has(c, "c", "cccccccccc"));
	CHECK(has(c, "d", "dddddddddd"));
	CHECK(has(c, "e", two));
	cache_get_stats(c, &st);
	CHECK_INT(st.bytes, 3 * one);
	CHECK_INT(st.evictions, 3);

	/* oversize: not stored, does not evict anything */
	cache_clear(c);
	CHECK_INT(put_str(c, "a", "aaaaaaaaaa", 1000), 0);
	char *big = malloc(4 * one + 1);
	memset(big, 'x', 4 * one);
	big[4 * one] = '\0';
	CHECK_INT(put_str(c, "big", big, 1000), 0);
	struct cache_blob *b;
	CHECK_INT(cache_lookup(c, "big", &b), 0);
	CHECK(has(c, "a", "aaaaaaaaaa"));
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, 1);
	free(big);

	/* an entry exactly max_bytes fits */
	char exact[256];
	size_t n = 3 * one - strlen("x") - CACHE_ENTRY_OVERHEAD;
	memset(exact, 'z', n);
	exact[n] = '\0';
	CHECK_INT(put_str(c, "x", exact, 1000), 0);
	CHECK(has(c, "x", exact));
	CHECK(!has(c, "a", "aaaaaaaaaa"));
	cache_get_stats(c, &st);
	CHECK_INT(st.bytes, 3 * one);

	/* shrinking the bound evicts */
	cache_clear(c);
	CHECK_INT(put_str(c, "a", "aaaaaaaaaa", 1000), 0);
	CHECK_INT(put_str(c, "b", "bbbbbbbbbb", 1000), 0);
	CHECK_INT(put_str(c, "c", "cccccccccc", 1000), 0);
	cache_set_max_bytes(c, one);
	CHECK(has(c, "c", "cccccccccc"));
	CHECK(!has(c, "a", "aaaaaaaaaa"));
	CHECK(!has(c, "b", "bbbbbbbbbb"));
	cache_get_stats(c, &st);
	CHECK_INT(st.max_bytes, one);
	CHECK_INT(st.entries, 1);
	cache_free(c);
}

static void test_many(void)
{
	/* exercise table growth */
	fake_now = 0;
	struct cache *c = cache_new(SIZE_MAX, &clk);
	char key[32], val[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		CHECK_INT(put_str(c, key, val, 1000), 0);
	}
	int ok = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		ok += has(c, key, val);
	}
	CHECK_INT(ok, 5000);
	struct cache_stats st;
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, 5000);
	cache_invalidate_prefix(c, "k1");
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, 5000 - 1111);
	cache_free(c);
}

static void test_invalidate(void)
{
	fake_now = 0;
	struct cache *c = cache_new(1 << 20, &clk);
	CHECK_INT(put_str(c, "/apps/1/name", "n1", 1000), 0);
	CHECK_INT(put_str(c, "/apps/1/script", "s1", 1000), 0);
	CHECK_INT(put_str(c, "/apps/10/name", "n10", 1000), 0);
	CHECK_INT(put_str(c, "/spaces/x", "sx", 1000), 0);
	CHECK_INT(cache_put_negative(c, "/apps/1/missing", -ENOENT, 1000), 0);

	cache_invalidate(c, "/apps/1/name");
	cache_invalidate(c, "/nope");
	CHECK(!has(c, "/apps/1/name", "n1"));
	CHECK(has(c, "/apps/1/script", "s1"));

	cache_invalidate_prefix(c, "/apps/1/");
	struct cache_blob *b;
	CHECK(!has(c, "/apps/1/script", "s1"));
	CHECK_INT(cache_lookup(c, "/apps/1/missing", &b), 0);
	CHECK(has(c, "/apps/10/name", "n10"));
	CHECK(has(c, "/spaces/x", "sx"));

	struct cache_stats st;
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, 2);
	CHECK_INT(st.bytes, cost("/apps/10/name", 3) + cost("/spaces/x", 2));

	cache_clear(c);
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, 0);
	CHECK_INT(st.bytes, 0);
	CHECK(!has(c, "/spaces/x", "sx"));
	cache_free(c);
}

/* Hammer: many threads, few keys, random operations; checks nothing crashes
 * or leaks (run under valgrind / helgrind). */
/* What the hammer's threads store for key on a miss: the key itself, or
 * -ENOENT for k3. */
static int quick_fill(struct cache *c, const char *key, struct cache_blob **out)
{
	if (key[1] == '3')
		return cache_put_negative(c, key, -ENOENT, 20) ? -ENOMEM : -ENOENT;
	*out = cache_blob_new(key, strlen(key));
	if (!*out)
		return -ENOMEM;
	return cache_put(c, key, *out, 20);
}

static void *hammer_main(void *arg)
{
	struct cache *c = arg;
	static const char *const keys[] = { "k0", "k1", "k2", "k3", "k4" };
	unsigned seed = (unsigned)(uintptr_t)&seed;
	int bad = 0;
	for (int i = 0; i < 2000; i++) {
		const char *k = keys[rand_r(&seed) % 5];
		struct cache_blob *b = NULL;
		int r = rand_r(&seed) % 10;
		if (r < 7) {
			int rc = cache_lookup(c, k, &b);
			if (rc == 0)
				rc = quick_fill(c, k, &b);
			else if (rc == 1)
				rc = 0;
			if (rc == 0 && strcmp(cache_blob_data(b), k) != 0)
				bad++;
			if (rc != 0 && !(rc == -ENOENT && k[1] == '3'))
				bad++;
		} else if (r < 8) {
			cache_invalidate(c, k);
		} else if (r < 9) {
			cache_invalidate_prefix(c, "k");
		} else {
			__atomic_add_fetch(&fake_now, 1, __ATOMIC_SEQ_CST);
		}
		cache_blob_unref(b);
	}
	return (void *)(intptr_t)bad;
}

static void test_hammer(void)
{
	fake_now = 0;
	struct cache *c = cache_new(400, &clk);
	pthread_t th[6];
	for (int i = 0; i < 6; i++)
		pthread_create(&th[i], NULL, hammer_main, c);
	long bad = 0;
	for (int i = 0; i < 6; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (long)(intptr_t)r;
	}
	CHECK_INT(bad, 0);
	struct cache_stats st;
	cache_get_stats(c, &st);
	CHECK(st.bytes <= 400);
	cache_free(c);
}

/* Packed entries (cache_set_pack): the same bytes back, in a blob of the
 * caller's; accounted by their length unpacked; small or incompressible
 * blobs kept as they are. */
static void test_pack(void)
{
	struct cache *c = cache_new(1 << 20, &clk);
	cache_set_pack(c, 256);
	char json[4000], noise[1000];
	size_t n = 0;
	for (int i = 0; n + 64 < sizeof(json); i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, "  {\n    \"id\": \"%08d\",\n  },\n", i);
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(noise); i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (char)(x >> 24);
	}
	struct cache_blob *big = cache_blob_new(json, n);
	struct cache_blob *rnd = cache_blob_new(noise, sizeof(noise));
	struct cache_blob *small = cache_blob_new(json, 100);
	CHECK_INT(cache_put(c, "big", big, 1000), 0);
	CHECK_INT(cache_put(c, "rnd", rnd, 1000), 0);
	CHECK_INT(cache_put(c, "small", small, 1000), 0);
	struct cache_stats st;
	cache_get_stats(c, &st);
	CHECK_INT(st.bytes, cost("big", n) + cost("rnd", sizeof(noise)) + cost("small", 100));
	struct cache_blob *b = NULL;
	CHECK_INT(cache_lookup(c, "big", &b), 1);
	CHECK(b != NULL && b != big); /* unpacked into a blob of its own */
	CHECK_INT(cache_blob_len(b), n);
	CHECK(b && memcmp(cache_blob_data(b), json, n) == 0 && cache_blob_data(b)[n] == '\0');
	cache_blob_unref(b);
	CHECK_INT(cache_lookup(c, "rnd", &b), 1);
	CHECK(b == rnd); /* deflate would not save an eighth: kept as it is */
	cache_blob_unref(b);
	CHECK_INT(cache_lookup(c, "small", &b), 1);
	CHECK(b == small);
	cache_blob_unref(b);
	fake_now += 1000; /* expiry as before */
	CHECK_INT(cache_lookup(c, "big", &b), 0);
	cache_blob_unref(big);
	cache_blob_unref(rnd);
	cache_blob_unref(small);
	cache_free(c);
}

/* Batches (cache_batch_put): contents packed side by side in shared blocks;
 * every one comes back whole, first, middle and last of a block, across
 * block boundaries; an entry's eviction or replacement leaves the others;
 * TTL and accounting as cache_put's; a blob of 16 KiB or more stored alone;
 * the old content of a key is gone from the put on. */
static void test_batch(void)
{
	struct cache *c = cache_new(1 << 22, &clk);
	cache_set_pack(c, 256);
	enum { N = 300 };
	char keys[N][16], vals[N][700];
	size_t total = 0;
	CHECK_INT(put_str(c, "k5", "old content of k5", 1000), 0);
	struct cache_batch *bt = cache_batch_new(c);
	CHECK(bt != NULL);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		int n = snprintf(vals[i], sizeof(vals[i]),
				 "{\n  \"id\": \"%08d\",\n  \"name\": \"Object %d\",\n  \"size\": %d\n}\n", i,
				 i, i * 37);
		for (int j = 0; j < i % 9 * 60 && n + 2 < (int)sizeof(vals[i]); j++)
			vals[i][n++] = (char)('a' + (i * j) % 26); /* lengths vary */
		vals[i][n] = '\0';
		total += cost(keys[i], (size_t)n);
		struct cache_blob *b = cache_blob_new(vals[i], (size_t)n);
		CHECK_INT(cache_batch_put(bt, keys[i], b, 1000), 0);
		cache_blob_unref(b);
		if (i == 5)
			CHECK_INT(cache_lookup(c, "k5", &b), 0); /* (not the old content) */
	}
	cache_batch_free(bt);
	struct cache_stats st;
	cache_get_stats(c, &st);
	CHECK_INT(st.entries, N);
	CHECK_INT(st.bytes, total);
	int ok = 0;
	for (int i = N - 1; i >= 0; i--) /* (backwards: not one block's inflate reused) */
		ok += has(c, keys[i], vals[i]);
	CHECK_INT(ok, N);
	/* a big one alone; one replaced; one evicted: the rest as they were */
	char big[20000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bt = cache_batch_new(c);
	struct cache_blob *b = cache_blob_new(big, sizeof(big) - 1);
	CHECK_INT(cache_batch_put(bt, "big", b, 1000), 0);
	cache_blob_unref(b);
	CHECK(has(c, "big", big)); /* (stored at once) */
	cache_batch_free(bt);
	CHECK_INT(put_str(c, "k7", "replaced", 1000), 0);
	cache_invalidate(c, "k8");
	ok = 0;
	for (int i = 0; i < N; i++)
		ok += i == 7 ? has(c, keys[i], "replaced") : i == 8 ? !has(c, keys[i], vals[i])
								: has(c, keys[i], vals[i]);
	CHECK_INT(ok, N);
	fake_now += 1000; /* expiry as cache_put's */
	CHECK_INT(cache_lookup(c, "k0", &b), 0);
	CHECK_INT(cache_lookup(c, "k299", &b), 0);
	cache_batch_free(NULL);
	cache_free(c);
}

int main(void)
{
	test_blobs();
	test_hit_miss_ttl();
	test_negative();
	test_lru();
	test_many();
	test_invalidate();
	test_hammer();
	test_pack();
	test_batch();
	return check_done();
}
