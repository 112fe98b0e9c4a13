/*
 * par.h - running independent jobs side by side: par_run(n, k, fn, arg)
 * calls fn(arg, i) once for every i in [0, n), on at most k threads (the
 * caller's among them), and returns when every call has returned.  When a
 * thread cannot be started the others (and the caller) do its share.
 * fn must be thread-safe; nothing here logs.
 */
#ifndef QLIKFS_PAR_H
#define QLIKFS_PAR_H

#include <stddef.h>

#define PAR_MAX_THREADS 32

void par_run(size_t n, unsigned k, void (*fn)(void *arg, size_t i), void *arg);

#endif
