/*
 * inomap.h - a map of 64-bit keys to 64-bit values, open addressing, 16
 * bytes a slot (the namespace keeps there the inode number of a per-app
 * entry whose node was freed, by a hash of its directory and name, so that
 * it gets the same number when made again).  Key 0 is not a key.  Not
 * thread-safe: the owner locks.
 */
#ifndef QLIKFS_INOMAP_H
#define QLIKFS_INOMAP_H

#include <stddef.h>
#include <stdint.h>

struct inomap;

struct inomap *inomap_new(void);       /* NULL on OOM */
void inomap_free(struct inomap *m);     /* NULL-safe */
/* Sets key's value (replaces).  0, or -ENOMEM (the map unchanged), or
 * -EINVAL for key 0. */
int inomap_put(struct inomap *m, uint64_t key, uint64_t val);
/* Removes key: its value, or 0 if absent. */
uint64_t inomap_take(struct inomap *m, uint64_t key);
size_t inomap_size(const struct inomap *m);

/* The key of a name in a directory (the name's strmap_hash, the directory's
 * number mixed in; never 0). */
uint64_t inomap_key(uint64_t dir, const char *name);

#endif
