/*
 * memtrim.c - see memtrim.h.  One caller a second wins the slot (an atomic
 * compare-and-swap on the time of the last trim); glibc's malloc_trim
 * releases free pages of every arena (madvise), not only the top.
 */
#include "util/memtrim.h"

#include <stdatomic.h>
#include <stdint.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "util/clock.h"

#define MEMTRIM_EVERY_MS 1000

static _Atomic int64_t last_ms;

void memtrim_tick(void)
{
#ifdef __GLIBC__
	int64_t now = clock_mono_ms(), last = atomic_load_explicit(&last_ms, memory_order_relaxed);
	if (now - last < MEMTRIM_EVERY_MS ||
	    !atomic_compare_exchange_strong(&last_ms, &last, now))
		return;
	malloc_trim(0);
#endif
}
