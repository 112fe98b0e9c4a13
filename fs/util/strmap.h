/*
 * strmap.h - a string-keyed hash map of borrowed pointers (chained, grows).
 * Keys are copied; values are not owned.  Not thread-safe: the owner locks.
 */
#ifndef QLIKFS_STRMAP_H
#define QLIKFS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap;

struct strmap *strmap_new(void);             /* NULL on OOM */
void strmap_free(struct strmap *m);           /* NULL-safe; values untouched */
void *strmap_get(const struct strmap *m, const char *key);
int strmap_put(struct strmap *m, const char *key, void *val); /* replaces; 0 or -ENOMEM */
void *strmap_del(struct strmap *m, const char *key);          /* returns the old value */
size_t strmap_size(const struct strmap *m);
/* The hash the map uses: FNV-1a 64 of s (for other tables keyed by name,
 * and for every other FNV-1a of the program but cache/'s, which links
 * nothing of fs/), and of the n bytes at p. */
uint64_t strmap_hash(const char *s);
uint64_t strmap_hash_n(const char *p, size_t n);

#endif
