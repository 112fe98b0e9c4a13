/*
 * inomap.c - see inomap.h.  Linear probing with backward-shift deletion (no
 * tombstones), grown at 3/4 load; the slot array is the only allocation.
 */
#include "util/inomap.h"

#include <errno.h>
#include <stdlib.h>

#include "util/strmap.h"

struct slot {
	uint64_t key, val;
};

struct inomap {
	struct slot *s;
	size_t cap, n; /* cap a power of two, or 0 */
};

struct inomap *inomap_new(void)
{
	return calloc(1, sizeof(struct inomap));
}

void inomap_free(struct inomap *m)
{
	if (m) {
		free(m->s);
		free(m);
	}
}

static size_t home(const struct inomap *m, uint64_t key)
{
	key ^= key >> 33; /* (keys are hashes already; mix the high bits in) */
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (m->cap - 1);
}

static size_t find(const struct inomap *m, uint64_t key)
{
	size_t i = home(m, key);
	while (m->s[i].key && m->s[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(struct inomap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct slot *s = calloc(cap, sizeof(*s)), *old = m->s;
	if (!s)
		return -ENOMEM;
	size_t ocap = m->cap;
	m->s = s;
	m->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			m->s[find(m, old[i].key)] = old[i];
	free(old);
	return 0;
}

int inomap_put(struct inomap *m, uint64_t key, uint64_t val)
{
	if (!key)
		return -EINVAL;
	if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return -ENOMEM;
	size_t i = find(m, key);
	if (!m->s[i].key)
		m->n++;
	m->s[i] = (struct slot){ key, val };
	return 0;
}

uint64_t inomap_take(struct inomap *m, uint64_t key)
{
	if (!key || !m->cap)
		return 0;
	size_t i = find(m, key);
	if (!m->s[i].key)
		return 0;
	uint64_t val = m->s[i].val;
	m->n--;
	/* backward shift: an entry after the hole that may live there moves in */
	for (size_t j = (i + 1) & (m->cap - 1); m->s[j].key; j = (j + 1) & (m->cap - 1)) {
		size_t h = home(m, m->s[j].key);
		/* j's entry stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		m->s[i] = m->s[j];
		i = j;
	}
	m->s[i] = (struct slot){ 0, 0 };
	return val;
}

size_t inomap_size(const struct inomap *m)
{
	return m->n;
}

uint64_t inomap_key(uint64_t dir, const char *name)
{
	/* the name's hash, the directory's number mixed in (home() spreads it) */
	uint64_t h = strmap_hash(name) ^ (dir * 0x9e3779b97f4a7c15ULL);
	return h ? h : 1;
}
