/*
 * memtrim.h - gives the heap's free pages back to the system, at most once a
 * second, from the thread that calls it.  A walk frees as much as it
 * allocates (listings applied, directory snapshots, nodes the kernel
 * forgot), and the allocator keeps what is freed in the middle of its
 * arenas resident: without this, the resident size of a long walk grows by
 * that fragmentation (some 8 MB at 20k objects; docs/SEMANTICS.md
 * "Memory").  Called by the FUSE glue after it replied (no lock held), so
 * it costs nothing while the mount is idle.
 */
#ifndef QLIKFS_MEMTRIM_H
#define QLIKFS_MEMTRIM_H

void memtrim_tick(void);

#endif
