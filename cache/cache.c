/*
 * cache.c - thread-safe key -> blob cache: TTL, byte-bounded LRU, negative
 * entries.
 *
 * Responsibility: remember recent results (blobs or negative errnos) under
 * string keys.  (Fetching is the caller's: concurrent fetches of one thing
 * are shared by util/flight.h's single flight, not here.)
 *
 * Data structures:
 *  - entries live in a chained hash table (power-of-two buckets, doubled when
 *    entries > buckets) and on a doubly linked LRU list (lru.next = most
 *    recently used, lru.prev = least recently used).
 *
 * Invariants (under c->lock):
 *  - bytes == sum of entry->size over all entries, entries == their count;
 *  - every stored entry has size <= max_bytes, and bytes <= max_bytes after
 *    every public call returns.
 *
 * Locks: one mutex c->lock protects everything.  Blob reference counts are
 * atomic and need no lock.
 */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#define CACHE_MIN_BUCKETS 64

struct cache_blob {
	atomic_long refs;
	size_t len;
	char *data; /* points into the same allocation (new) or separately (take) */
	bool separate;
};

struct lru_link {
	struct lru_link *prev, *next;
};

struct entry {
	struct lru_link lru; /* first member: list links cast back to entries */
	struct entry *hnext;
	size_t hash;
	char *key;
	size_t size;
	int64_t expires_ms;
	struct cache_blob *blob; /* NULL for a negative entry */
	size_t plain_len;        /* blob is packed (deflated): its length unpacked, else 0 */
	int err;                 /* negative errno of a negative entry */
	uint32_t slice_at;       /* a slice of a batch's block (cache_batch_put): 1 + its
				  * offset in the block unpacked; 0: the whole blob */
};

struct cache {
	pthread_mutex_t lock;
	struct cache_clock clk;
	size_t max_bytes, bytes, entries;
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	struct lru_link lru;
	uint64_t hits, misses, neg_hits, evictions, stores;
	size_t pack_min; /* blobs of at least this length are kept deflated; 0: none */
};

/* ---- blobs ---- */

/* A blob of len bytes in one allocation, its bytes left to the caller. */
static struct cache_blob *blob_alloc(size_t len)
{
	if (len > SIZE_MAX - sizeof(struct cache_blob) - 1)
		return NULL;
	struct cache_blob *b = malloc(sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = len;
	b->data = (char *)(b + 1);
	b->separate = false;
	b->data[len] = '\0';
	return b;
}

struct cache_blob *cache_blob_new(const void *data, size_t len)
{
	struct cache_blob *b = blob_alloc(len);
	if (b && len)
		memcpy(b->data, data, len);
	return b;
}

struct cache_blob *cache_blob_take(char *data, size_t len)
{
	if (len == SIZE_MAX) {
		free(data);
		return NULL;
	}
	char *d = realloc(data, len + 1);
	if (!d) {
		free(data);
		return NULL;
	}
	d[len] = '\0';
	struct cache_blob *b = malloc(sizeof(*b));
	if (!b) {
		free(d);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	b->len = len;
	b->data = d;
	b->separate = true;
	return b;
}

struct cache_blob *cache_blob_ref(struct cache_blob *b)
{
	if (b)
		atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

void cache_blob_unref(struct cache_blob *b)
{
	if (!b)
		return;
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (b->separate)
		free(b->data);
	free(b);
}

const char *cache_blob_data(const struct cache_blob *b)
{
	return b->data;
}

size_t cache_blob_len(const struct cache_blob *b)
{
	return b->len;
}

/* ---- packing (no lock held) ----
 * Blobs kept deflated (cache_set_pack): resource contents are JSON, which a
 * raw deflate with a small window keeps in about half its bytes; a hit
 * inflates them again into a blob of the caller's. */

#define PACK_MAX (1u << 20) /* larger blobs are kept as they are */
#define PACK_WBITS 12       /* a 4 KiB window */
#define PACK_STACK 16384    /* blobs deflated on the stack up to this size */
#define PACK_LEVEL 1        /* the fastest: a walk packs every object it lists */
#define PACK_MEMLEVEL 3     /* a 2 KiB hash table, cleared at each reset: enough for objects of a few KiB */

/* zlib streams, kept for reuse (reset between uses): their state is some
 * 20 KiB of allocations, made once per thread packing at the same time
 * rather than once per blob.  Reachable from these lists until the process ends. */
struct zs {
	struct zs *next;
	z_stream z;
};
static pthread_mutex_t zs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zs *zs_free[2]; /* [0] deflate, [1] inflate */

static struct zs *zs_get(int inflating)
{
	pthread_mutex_lock(&zs_lock);
	struct zs *s = zs_free[inflating];
	if (s)
		zs_free[inflating] = s->next;
	pthread_mutex_unlock(&zs_lock);
	if (s)
		return s;
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	int rc = inflating ? inflateInit2(&s->z, -PACK_WBITS)
			   : deflateInit2(&s->z, PACK_LEVEL, Z_DEFLATED, -PACK_WBITS, PACK_MEMLEVEL,
					  Z_DEFAULT_STRATEGY);
	if (rc != Z_OK) {
		free(s);
		return NULL;
	}
	return s;
}

static void zs_put(struct zs *s, int inflating)
{
	if ((inflating ? inflateReset(&s->z) : deflateReset(&s->z)) != Z_OK) {
		if (inflating)
			inflateEnd(&s->z);
		else
			deflateEnd(&s->z);
		free(s);
		return;
	}
	pthread_mutex_lock(&zs_lock);
	s->next = zs_free[inflating];
	zs_free[inflating] = s;
	pthread_mutex_unlock(&zs_lock);
}

/* The len bytes at data deflated in a new blob of its exact size, or NULL
 * when that would not save an eighth of them (or on OOM).  The deflate
 * goes to a scratch buffer first, so that no shrunk allocation leaves a hole
 * next to the long-lived blob. */
static struct cache_blob *pack(const void *data, size_t len)
{
	unsigned char small[PACK_STACK];
	if (len > PACK_MAX || len < 8)
		return NULL;
	size_t room = len - len / 8;
	unsigned char *tmp = room <= sizeof(small) ? small : malloc(room);
	struct zs *s = tmp ? zs_get(0) : NULL;
	if (!s) {
		if (tmp != small)
			free(tmp);
		return NULL;
	}
	s->z.next_in = (Bytef *)data;
	s->z.avail_in = (uInt)len;
	s->z.next_out = tmp;
	s->z.avail_out = (uInt)room;
	int rc = deflate(&s->z, Z_FINISH);
	size_t n = s->z.total_out;
	zs_put(s, 0);
	/* (Z_OK or Z_BUF_ERROR: it did not fit in room, not worth it) */
	struct cache_blob *p = rc == Z_STREAM_END ? cache_blob_new(tmp, n) : NULL;
	if (tmp != small)
		free(tmp);
	return p;
}

/* The len bytes at offset off of what p holds packed, in a new blob (whole:
 * they are all of it, the stream must end there); NULL on OOM or when p does
 * not hold them.  A slice inflates the block up to its end only. */
static struct cache_blob *unpack_at(const struct cache_blob *p, size_t off, size_t len, bool whole)
{
	struct cache_blob *b = blob_alloc(len);
	struct zs *s = b ? zs_get(1) : NULL;
	if (!s) {
		free(b);
		return NULL;
	}
	unsigned char skip[4096];
	int rc = Z_OK;
	s->z.next_in = (Bytef *)p->data;
	s->z.avail_in = (uInt)p->len;
	while (rc == Z_OK && s->z.total_out < off) { /* the slices before it */
		size_t want = off - s->z.total_out;
		s->z.next_out = skip;
		s->z.avail_out = (uInt)(want < sizeof(skip) ? want : sizeof(skip));
		rc = inflate(&s->z, Z_SYNC_FLUSH);
	}
	if (rc == Z_OK && s->z.total_out == off) {
		s->z.next_out = (Bytef *)b->data;
		s->z.avail_out = (uInt)len;
		rc = inflate(&s->z, whole ? Z_FINISH : Z_SYNC_FLUSH);
	}
	bool ok = (whole ? rc == Z_STREAM_END : rc == Z_OK || rc == Z_STREAM_END) &&
		  s->z.total_out == off + len;
	zs_put(s, 1);
	if (!ok) {
		free(b);
		return NULL;
	}
	b->data[len] = '\0';
	return b;
}

static struct cache_blob *unpack(const struct cache_blob *p, size_t len)
{
	return unpack_at(p, 0, len, true);
}

/* ---- helpers (all called with c->lock held) ---- */

static size_t hash_key(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

static int64_t default_now_ms(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(struct cache *c)
{
	return c->clk.now_ms(c->clk.arg);
}

static void lru_unlink(struct lru_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static void lru_push_front(struct cache *c, struct lru_link *l)
{
	l->prev = &c->lru;
	l->next = c->lru.next;
	c->lru.next->prev = l;
	c->lru.next = l;
}

static struct entry *entry_find(struct cache *c, const char *key, size_t hash)
{
	for (struct entry *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Unlinks e from the table and the LRU list and frees it. */
static void entry_remove(struct cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(&e->lru);
	c->bytes -= e->size;
	c->entries--;
	cache_blob_unref(e->blob);
	free(e->key);
	free(e);
}

static void evict_until(struct cache *c, size_t limit)
{
	while (c->bytes > limit && c->lru.prev != &c->lru) {
		entry_remove(c, (struct entry *)c->lru.prev);
		c->evictions++;
	}
}

static void maybe_grow(struct cache *c)
{
	if (c->entries <= c->nbuckets || c->nbuckets > SIZE_MAX / 2 / sizeof(struct entry *))
		return;
	size_t n = c->nbuckets * 2;
	struct entry **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return; /* keep the overloaded table: still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i];
		while (e) {
			struct entry *next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

static void drop_key(struct cache *c, const char *key, size_t hash)
{
	struct entry *e = entry_find(c, key, hash);
	if (e)
		entry_remove(c, e);
}

/* Stores blob (a new reference is taken; plain_len not 0: packed, of that
 * length unpacked) or err under key, replacing any entry.  Returns 0 or
 * -ENOMEM. */
static int store(struct cache *c, const char *key, size_t hash, struct cache_blob *blob,
		 size_t plain_len, int err, int64_t ttl_ms, uint32_t slice_at)
{
	struct entry *old = entry_find(c, key, hash);
	if (old)
		entry_remove(c, old);
	if (ttl_ms <= 0)
		return 0;
	size_t klen = strlen(key);
	size_t blen = plain_len ? plain_len : blob ? blob->len : 0;
	if (blen > SIZE_MAX - klen - CACHE_ENTRY_OVERHEAD)
		return 0;
	size_t size = blen + klen + CACHE_ENTRY_OVERHEAD;
	if (size > c->max_bytes)
		return 0;
	struct entry *e = calloc(1, sizeof(*e));
	char *k = malloc(klen + 1);
	if (!e || !k) {
		free(e);
		free(k);
		return -ENOMEM;
	}
	memcpy(k, key, klen + 1);
	evict_until(c, c->max_bytes - size);
	int64_t now = now_ms(c);
	e->key = k;
	e->hash = hash;
	e->size = size;
	e->expires_ms = ttl_ms > INT64_MAX - now ? INT64_MAX : now + ttl_ms;
	e->blob = cache_blob_ref(blob);
	e->plain_len = plain_len;
	e->err = err;
	e->slice_at = slice_at;
	size_t i = hash & (c->nbuckets - 1);
	e->hnext = c->buckets[i];
	c->buckets[i] = e;
	lru_push_front(c, &e->lru);
	c->bytes += size;
	if (!err)
		c->stores++;
	c->entries++;
	maybe_grow(c);
	return 0;
}

/* Looks key up, dropping it if expired.  Returns 1 (positive, *out = new
 * ref, *plain_len not 0 when it is packed), 0 (miss) or the negative errno;
 * updates the hit/miss counters. */
static int lookup_locked(struct cache *c, const char *key, size_t hash, struct cache_blob **out,
			 size_t *plain_len, uint32_t *slice_at)
{
	*out = NULL;
	struct entry *e = entry_find(c, key, hash);
	if (e && now_ms(c) >= e->expires_ms) {
		entry_remove(c, e);
		e = NULL;
	}
	if (!e) {
		c->misses++;
		return 0;
	}
	lru_unlink(&e->lru);
	lru_push_front(c, &e->lru);
	if (!e->blob) {
		c->neg_hits++;
		return e->err;
	}
	c->hits++;
	*out = cache_blob_ref(e->blob);
	*plain_len = e->plain_len;
	*slice_at = e->slice_at;
	return 1;
}

/* ---- public API ---- */

struct cache *cache_new(size_t max_bytes, const struct cache_clock *clk)
{
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->buckets = calloc(CACHE_MIN_BUCKETS, sizeof(*c->buckets));
	if (!c->buckets || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->buckets);
		free(c);
		return NULL;
	}
	c->nbuckets = CACHE_MIN_BUCKETS;
	c->max_bytes = max_bytes;
	c->lru.next = c->lru.prev = &c->lru;
	if (clk && clk->now_ms)
		c->clk = *clk;
	else
		c->clk.now_ms = default_now_ms;
	return c;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	while (c->lru.next != &c->lru)
		entry_remove(c, (struct entry *)c->lru.next);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int cache_lookup(struct cache *c, const char *key, struct cache_blob **out)
{
	*out = NULL;
	if (!key)
		return 0;
	size_t hash = hash_key(key);
	size_t plain_len = 0;
	uint32_t slice_at = 0;
	pthread_mutex_lock(&c->lock);
	int rc = lookup_locked(c, key, hash, out, &plain_len, &slice_at);
	pthread_mutex_unlock(&c->lock);
	if (rc == 1 && plain_len) {
		struct cache_blob *b = slice_at ? unpack_at(*out, slice_at - 1, plain_len, false)
						: unpack(*out, plain_len);
		cache_blob_unref(*out);
		*out = b;
		if (!b)
			return 0; /* (OOM: as a miss) */
	}
	return rc;
}

int cache_put(struct cache *c, const char *key, struct cache_blob *b, int64_t ttl_ms)
{
	if (!key || !b)
		return -EINVAL;
	size_t hash = hash_key(key);
	struct cache_blob *p =
		c->pack_min && b->len >= c->pack_min && ttl_ms > 0 ? pack(b->data, b->len) : NULL;
	pthread_mutex_lock(&c->lock);
	drop_key(c, key, hash);
	int rc = store(c, key, hash, p ? p : b, p ? b->len : 0, 0, ttl_ms, 0);
	pthread_mutex_unlock(&c->lock);
	cache_blob_unref(p);
	return rc;
}

struct cache_blob *cache_pack(const void *data, size_t len)
{
	return pack(data, len);
}

struct cache_blob *cache_unpack(const struct cache_blob *p, size_t len)
{
	return unpack(p, len);
}

struct cache_blob *cache_unpack_slice(const struct cache_blob *p, size_t off, size_t len)
{
	return unpack_at(p, off, len, false);
}

void cache_set_pack(struct cache *c, size_t min_len)
{
	c->pack_min = min_len;
}

int cache_put_negative(struct cache *c, const char *key, int err, int64_t ttl_ms)
{
	if (!key || err >= 0)
		return -EINVAL;
	size_t hash = hash_key(key);
	pthread_mutex_lock(&c->lock);
	drop_key(c, key, hash);
	int rc = store(c, key, hash, NULL, 0, err, ttl_ms, 0);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void cache_invalidate(struct cache *c, const char *key)
{
	if (!key)
		return;
	size_t hash = hash_key(key);
	pthread_mutex_lock(&c->lock);
	drop_key(c, key, hash);
	pthread_mutex_unlock(&c->lock);
}

void cache_invalidate_prefix(struct cache *c, const char *prefix)
{
	if (!prefix)
		return;
	size_t plen = strlen(prefix);
	pthread_mutex_lock(&c->lock);
	struct lru_link *l = c->lru.next;
	while (l != &c->lru) {
		struct lru_link *next = l->next;
		struct entry *e = (struct entry *)l;
		if (strncmp(e->key, prefix, plen) == 0)
			entry_remove(c, e);
		l = next;
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_clear(struct cache *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->lru.next != &c->lru)
		entry_remove(c, (struct entry *)c->lru.next);
	pthread_mutex_unlock(&c->lock);
}

void cache_set_max_bytes(struct cache *c, size_t max_bytes)
{
	pthread_mutex_lock(&c->lock);
	c->max_bytes = max_bytes;
	evict_until(c, max_bytes);
	pthread_mutex_unlock(&c->lock);
}

void cache_get_stats(struct cache *c, struct cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	st->bytes = c->bytes;
	st->max_bytes = c->max_bytes;
	st->entries = c->entries;
	st->hits = c->hits;
	st->misses = c->misses;
	st->neg_hits = c->neg_hits;
	st->evictions = c->evictions;
	st->stores = c->stores;
	pthread_mutex_unlock(&c->lock);
}

/* ---- batches ----
 * Contents stored together share one deflated block: JSON objects of one
 * listing side by side deflate to a fraction of what each takes alone (the
 * window sees the keys and values of its neighbours).  A hit inflates the
 * block up to the end of its slice. */

#define BATCH_BYTES 16384 /* a block's bytes unpacked: a hit inflates at most this */
#define BATCH_MAX 64      /* contents a block holds at most */

struct batch_item {
	char *key;
	struct cache_blob *b;
	int64_t ttl_ms;
};

struct cache_batch {
	struct cache *c;
	struct batch_item v[BATCH_MAX];
	size_t n, bytes;
};

struct cache_batch *cache_batch_new(struct cache *c)
{
	struct cache_batch *bt = calloc(1, sizeof(*bt));
	if (bt)
		bt->c = c;
	return bt;
}

void cache_batch_flush(struct cache_batch *bt)
{
	if (!bt || !bt->n)
		return;
	struct cache *c = bt->c;
	char *buf = bt->n > 1 ? malloc(bt->bytes) : NULL;
	struct cache_blob *block = NULL;
	if (buf) {
		size_t at = 0;
		for (size_t i = 0; i < bt->n; i++) {
			memcpy(buf + at, bt->v[i].b->data, bt->v[i].b->len);
			at += bt->v[i].b->len;
		}
		block = pack(buf, at);
		free(buf);
	}
	if (block) {
		pthread_mutex_lock(&c->lock);
		size_t at = 0;
		for (size_t i = 0; i < bt->n; i++) {
			size_t hash = hash_key(bt->v[i].key), len = bt->v[i].b->len;
			drop_key(c, bt->v[i].key, hash);
			/* (an empty one is its own blob: plain_len 0 means "not packed") */
			if (len)
				(void)store(c, bt->v[i].key, hash, block, len, 0, bt->v[i].ttl_ms,
					    (uint32_t)at + 1);
			else
				(void)store(c, bt->v[i].key, hash, bt->v[i].b, 0, 0, bt->v[i].ttl_ms, 0);
			at += len;
		}
		pthread_mutex_unlock(&c->lock);
		cache_blob_unref(block);
	} else {
		for (size_t i = 0; i < bt->n; i++) /* (one alone, or not worth it, or OOM) */
			(void)cache_put(c, bt->v[i].key, bt->v[i].b, bt->v[i].ttl_ms);
	}
	for (size_t i = 0; i < bt->n; i++) {
		free(bt->v[i].key);
		cache_blob_unref(bt->v[i].b);
	}
	bt->n = bt->bytes = 0;
}

int cache_batch_put(struct cache_batch *bt, const char *key, struct cache_blob *b, int64_t ttl_ms)
{
	if (!key || !b)
		return -EINVAL;
	struct cache *c = bt->c;
	if (!c->pack_min || b->len >= BATCH_BYTES || ttl_ms <= 0)
		return cache_put(c, key, b, ttl_ms);
	if (bt->n == BATCH_MAX || bt->bytes + b->len > BATCH_BYTES)
		cache_batch_flush(bt);
	char *k = strdup(key);
	if (!k)
		return cache_put(c, key, b, ttl_ms);
	/* (the old content goes now: no one reads it beside the new size) */
	cache_invalidate(c, key);
	bt->v[bt->n++] = (struct batch_item){ k, cache_blob_ref(b), ttl_ms };
	bt->bytes += b->len;
	return 0;
}

void cache_batch_free(struct cache_batch *bt)
{
	if (!bt)
		return;
	cache_batch_flush(bt);
	free(bt);
}
