/*
 * clock.h - the one monotonic clock, and condition waits bounded by it.
 *
 * Deadlines are CLOCK_MONOTONIC milliseconds (clock_mono_ms() + budget).
 * Every wait on another thread's work (a listing another caller is fetching,
 * a change in flight, a shared GET) goes through clock_cond_wait_until, so
 * that it ends by the waiting operation's own deadline.  Condition variables
 * waited on this way must be made with clock_cond_init.
 */
#ifndef QLIKFS_CLOCK_H
#define QLIKFS_CLOCK_H

#include <pthread.h>
#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);
/* Sleeps ms milliseconds (nothing when ms <= 0), resuming after signals. */
void clock_sleep_ms(int64_t ms);

/* A condition variable that measures timed waits on CLOCK_MONOTONIC. */
int clock_cond_init(pthread_cond_t *cv);
/* pthread_cond_wait until woken or the deadline passes: 0 or ETIMEDOUT
 * (also when the deadline has already passed; spurious wake-ups return 0,
 * so callers loop on their condition). */
int clock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms);

#endif
