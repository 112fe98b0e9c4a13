/*
 * flight.h - single flight: concurrent callers of one piece of work share
 * one execution of it (its outcome too, failures included), and each waits
 * for it no longer than its own deadline.
 *
 * struct flight is the state of one piece of work (a token grant, a GET of
 * one URL, a collection's listing), kept in whatever the work is about and
 * guarded by its owner's mutex.  The caller that finds no execution under
 * way leads one: flight_begin(), drops the mutex for the work, retakes it,
 * flight_end().  A caller that finds one under way flight_wait()s for it and
 * takes its outcome instead of starting its own.  Waits are bounded by
 * clock_cond_wait_until, so the owner's condition variable must be made with
 * clock_cond_init.
 *
 * For work that has no object of its own to live in, struct flight_set
 * keeps flights by key (a URL), each with its own condition variable and a
 * result the leader leaves for its waiters.
 *
 * No locks of its own: every function is called with the owner's mutex held.
 */
#ifndef QLIKFS_FLIGHT_H
#define QLIKFS_FLIGHT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct flight {
	bool running; /* an execution is under way */
	unsigned gen; /* executions finished so far */
	int rc;       /* the outcome of the last one */
};

/* The caller leads an execution (running: later callers wait for it). */
void flight_begin(struct flight *f);
/* Ends the leader's execution with its outcome rc and wakes cv's waiters. */
void flight_end(struct flight *f, int rc, pthread_cond_t *cv);
/* Waits (on cv, releasing mu meanwhile) for the execution under way when
 * called to end, at most until deadline_ms (clock_mono_ms()).  Returns 0
 * with *rc its outcome (0 when none was under way), or ETIMEDOUT (only when
 * it is still under way: one that ended as the deadline passed is an
 * outcome, since its leader counted this waiter in). */
int flight_wait(struct flight *f, pthread_mutex_t *mu, pthread_cond_t *cv, int64_t deadline_ms,
		int *rc);
/* Waits as flight_wait() until no execution is under way (one that begins
 * meanwhile included), at most until deadline_ms: 0 or ETIMEDOUT.  For work
 * whose callers take the state the leader left rather than its outcome (a
 * fresh copy; after a failure the next caller leads an execution of its
 * own) or that must not overlap another execution (a save after a fetch). */
int flight_idle(struct flight *f, pthread_mutex_t *mu, pthread_cond_t *cv, int64_t deadline_ms);

/* ------------------------------------------------------------- by key */

struct flight_key {
	struct flight_key *next;
	char *key;
	int refs;           /* the leader and its waiters */
	struct flight f;
	pthread_cond_t cv;
	void *result;       /* what the leader left for its waiters (the set's to free) */
};

struct flight_set {
	struct flight_key *head;
	void (*free_result)(void *result); /* NULL: nothing to free */
};

/* Joins the execution under way for key (*lead = false) or starts one
 * (*lead = true: the caller runs it and ends it with flight_set_end).
 * Returns the key with a reference the caller releases with
 * flight_key_put(), or NULL on OOM. */
struct flight_key *flight_set_join(struct flight_set *s, const char *key, bool *lead);
/* The leader ends its execution with rc, leaving result (may be NULL; the
 * set frees it with the key) for the waiters.  The key leaves the set: a
 * caller that comes later starts a new execution. */
void flight_set_end(struct flight_set *s, struct flight_key *k, int rc, void *result);
/* Callers that joined the leader's execution of k and still wait for it. */
int flight_key_waiters(const struct flight_key *k);
/* A waiter's flight_wait() on k. */
int flight_key_wait(struct flight_key *k, pthread_mutex_t *mu, int64_t deadline_ms, int *rc);
/* Drops the caller's reference; the last frees k and its result. */
void flight_key_put(struct flight_set *s, struct flight_key *k);

#endif
