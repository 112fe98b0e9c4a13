/*
 * strmap.c - chained hash map, FNV-1a, doubling at load factor 1.
 */
#include "util/strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ent {
	struct ent *next;
	void *val;
	char key[];
};

struct strmap {
	struct ent **b;
	size_t nb, n;
};

uint64_t strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

uint64_t strmap_hash_n(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->nb = 16;
	m->b = calloc(m->nb, sizeof(*m->b));
	if (!m->b) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nb; i++)
		for (struct ent *e = m->b[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	free(m->b);
	free(m);
}

void *strmap_get(const struct strmap *m, const char *key)
{
	for (struct ent *e = m->b[strmap_hash(key) % m->nb]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e->val;
	return NULL;
}

static void grow(struct strmap *m)
{
	size_t nb = m->nb * 2;
	struct ent **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* keep working at a higher load */
	for (size_t i = 0; i < m->nb; i++)
		for (struct ent *e = m->b[i], *n; e; e = n) {
			n = e->next;
			size_t k = strmap_hash(e->key) % nb;
			e->next = b[k];
			b[k] = e;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

int strmap_put(struct strmap *m, const char *key, void *val)
{
	size_t k = strmap_hash(key) % m->nb;
	for (struct ent *e = m->b[k]; e; e = e->next)
		if (!strcmp(e->key, key)) {
			e->val = val;
			return 0;
		}
	size_t len = strlen(key);
	struct ent *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->key, key, len + 1);
	e->val = val;
	e->next = m->b[k];
	m->b[k] = e;
	if (++m->n > m->nb)
		grow(m);
	return 0;
}

void *strmap_del(struct strmap *m, const char *key)
{
	for (struct ent **pp = &m->b[strmap_hash(key) % m->nb]; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->key, key)) {
			struct ent *e = *pp;
			void *v = e->val;
			*pp = e->next;
			free(e);
			m->n--;
			return v;
		}
	return NULL;
}

size_t strmap_size(const struct strmap *m)
{
	return m->n;
}
