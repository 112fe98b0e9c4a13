/*
 * cache.h - a thread-safe key -> blob cache with TTL, a byte bound with LRU
 * eviction and negative entries.
 *
 * The cache knows nothing of HTTP or FUSE: keys are arbitrary NUL-terminated
 * strings (copied), values are immutable reference-counted blobs or negative
 * entries carrying a negative errno.  Every function may be called from any
 * thread, except cache_free(), which requires that no other thread uses the
 * cache any more.
 *
 * Freshness: an entry stored at time t with ttl_ms is fresh while
 * now < t + ttl_ms, i.e. it is already expired at exactly t + ttl_ms.
 *
 * Accounting: an entry costs blob length + key length + CACHE_ENTRY_OVERHEAD
 * bytes (negative entries: key length + overhead).  When storing would exceed
 * max_bytes, least-recently-used entries are evicted (a fresh hit refreshes
 * recency).  An entry that alone exceeds max_bytes is not stored.
 */
#ifndef QLIKFS_CACHE_H
#define QLIKFS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_ENTRY_OVERHEAD 64

/* Injectable clock (tests).  now_ms must be monotonic non-decreasing. */
struct cache_clock {
	int64_t (*now_ms)(void *arg);
	void *arg;
};

/* Immutable, reference-counted bytes.  The data is NUL-terminated for
 * convenience; the NUL is not counted in the length. */
struct cache_blob;

/* Copies len bytes of data (data may be NULL when len == 0).
 * Returns a blob with one reference owned by the caller, or NULL on OOM. */
struct cache_blob *cache_blob_new(const void *data, size_t len);

/* Takes ownership of malloc'd data of len bytes (it may be realloc'd to add
 * the terminating NUL; data may be NULL when len == 0).  Returns a blob with
 * one reference owned by the caller, or NULL on OOM, in which case data has
 * been freed: ownership passes in every case. */
struct cache_blob *cache_blob_take(char *data, size_t len);

/* Adds a reference; returns b.  NULL-safe (returns NULL). */
struct cache_blob *cache_blob_ref(struct cache_blob *b);

/* Drops a reference, freeing the blob with the last one.  NULL-safe. */
void cache_blob_unref(struct cache_blob *b);

/* Borrowed pointer to the NUL-terminated bytes, valid while a reference is held. */
const char *cache_blob_data(const struct cache_blob *b);

/* Length in bytes, not counting the terminating NUL. */
size_t cache_blob_len(const struct cache_blob *b);

struct cache;

/* Creates a cache bounded to max_bytes.  *clk is copied; NULL (or a NULL
 * now_ms) means CLOCK_MONOTONIC in milliseconds.  Returns the cache (owned by
 * the caller, release with cache_free()) or NULL on OOM. */
struct cache *cache_new(size_t max_bytes, const struct cache_clock *clk);

/* Frees the cache and drops its blob references.  NULL-safe.  No other thread
 * may be using the cache. */
void cache_free(struct cache *c);

/* Returns 1 on a fresh positive hit (*out receives a new reference owned by
 * the caller), 0 on a miss (absent or expired; an expired entry is dropped;
 * *out = NULL), or the stored negative errno for a fresh negative entry
 * (*out = NULL).  A hit refreshes the entry's LRU recency. */
int cache_lookup(struct cache *c, const char *key, struct cache_blob **out);

/* Stores b under key for ttl_ms, replacing any previous entry (the cache takes
 * its own reference; the caller keeps its own).  ttl_ms <= 0 or an entry
 * larger than max_bytes: nothing is stored, but the previous entry is still
 * dropped.  Returns 0, -EINVAL (NULL key or blob) or -ENOMEM. */
int cache_put(struct cache *c, const char *key, struct cache_blob *b, int64_t ttl_ms);

/* Like cache_put() but stores a negative entry carrying err (a negative
 * errno).  Returns 0, -EINVAL (NULL key or err >= 0) or -ENOMEM. */
int cache_put_negative(struct cache *c, const char *key, int err, int64_t ttl_ms);

/* Drops the entry for key (if any). */
void cache_invalidate(struct cache *c, const char *key);

/* Same as cache_invalidate() for every key starting with prefix (O(n)). */
void cache_invalidate_prefix(struct cache *c, const char *prefix);

/* Same as cache_invalidate() for every key. */
void cache_clear(struct cache *c);

/* Keeps the blobs of at least min_len bytes stored from now on deflated,
 * when that saves an eighth of them (0, the default: none).  A hit on such an
 * entry returns a new blob with the same bytes (not the one stored); the
 * accounting is unchanged: an entry costs its blob's length unpacked.  Call
 * before the cache is shared between threads. */
void cache_set_pack(struct cache *c, size_t min_len);

/* The len bytes at data deflated into a new blob (as cache_set_pack keeps
 * entries), or NULL when that would not save an eighth of them, or on OOM. */
struct cache_blob *cache_pack(const void *data, size_t len);

/* The len bytes that cache_pack packed into p, in a new blob; NULL on OOM
 * or when p does not hold them. */
struct cache_blob *cache_unpack(const struct cache_blob *p, size_t len);
/* The len bytes at offset off of what cache_pack packed into p (p inflated
 * up to their end only), in a new blob; NULL on OOM or when p does not hold
 * them. */
struct cache_blob *cache_unpack_slice(const struct cache_blob *p, size_t off, size_t len);

/* A batch: contents stored together, packed side by side into shared
 * blocks of up to 16 KiB (JSON objects of one listing deflate together to a
 * fraction of what each takes alone; a hit inflates its block up to its own
 * end).  Only with cache_set_pack on; else, and for blobs of 16 KiB or
 * more, a put is a cache_put.  The accounting is cache_put's.  One batch is
 * used by one thread at a time. */
struct cache_batch;
struct cache_batch *cache_batch_new(struct cache *c); /* NULL on OOM */
/* Stores b under key for ttl_ms at the batch's next flush (its previous
 * entry is dropped now).  0, -EINVAL or -ENOMEM, as cache_put. */
int cache_batch_put(struct cache_batch *bt, const char *key, struct cache_blob *b, int64_t ttl_ms);
/* Stores what the batch holds (done by itself when a block is full). */
void cache_batch_flush(struct cache_batch *bt);
void cache_batch_free(struct cache_batch *bt); /* flushes first; NULL-safe */

/* Changes the byte bound, evicting LRU entries until the cache fits. */
void cache_set_max_bytes(struct cache *c, size_t max_bytes);

struct cache_stats {
	size_t bytes, max_bytes, entries;
	uint64_t hits;         /* fresh positive hits */
	uint64_t misses;       /* absent or expired */
	uint64_t neg_hits;     /* fresh negative hits */
	uint64_t evictions;    /* entries evicted by the byte bound */
	uint64_t stores;       /* contents stored (positive entries put) */
};

/* Fills *st with a consistent snapshot. */
void cache_get_stats(struct cache *c, struct cache_stats *st);

#endif
