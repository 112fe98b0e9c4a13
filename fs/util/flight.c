/*
 * flight.c - single flight (flight.h).
 *
 * Invariants: a struct flight's gen only grows; flight_wait() returns as
 * soon as gen moved past the value it saw (the execution it joined ended,
 * even if another began since), or at its deadline; an execution that ended
 * by the time the waiter holds the mutex again is never reported as a
 * timeout (the leader counted that waiter in: flight_key_waiters()).  A flight_key is in its
 * set's list exactly while its execution runs, and is freed by whoever drops
 * the last reference (leader or waiter, in any order).
 *
 * Locks: none of its own; the owner's mutex is held by every caller.
 */
#include "util/flight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

void flight_begin(struct flight *f)
{
	f->running = true;
}

void flight_end(struct flight *f, int rc, pthread_cond_t *cv)
{
	f->running = false;
	f->gen++;
	f->rc = rc;
	pthread_cond_broadcast(cv);
}

int flight_wait(struct flight *f, pthread_mutex_t *mu, pthread_cond_t *cv, int64_t deadline_ms,
		int *rc)
{
	const unsigned gen = f->gen;
	*rc = 0;
	while (f->running && f->gen == gen)
		if (clock_cond_wait_until(cv, mu, deadline_ms) && f->running && f->gen == gen)
			return ETIMEDOUT;
	if (f->gen != gen)
		*rc = f->rc;
	return 0;
}

int flight_idle(struct flight *f, pthread_mutex_t *mu, pthread_cond_t *cv, int64_t deadline_ms)
{
	int rc;
	while (f->running)
		if (flight_wait(f, mu, cv, deadline_ms, &rc))
			return ETIMEDOUT;
	return 0;
}

struct flight_key *flight_set_join(struct flight_set *s, const char *key, bool *lead)
{
	struct flight_key *k;
	for (k = s->head; k; k = k->next)
		if (!strcmp(k->key, key)) {
			k->refs++;
			*lead = false;
			return k;
		}
	k = calloc(1, sizeof(*k));
	if (!k || !(k->key = strdup(key)) || clock_cond_init(&k->cv)) {
		if (k)
			free(k->key);
		free(k);
		return NULL;
	}
	k->refs = 1;
	flight_begin(&k->f);
	k->next = s->head;
	s->head = k;
	*lead = true;
	return k;
}

void flight_set_end(struct flight_set *s, struct flight_key *k, int rc, void *result)
{
	for (struct flight_key **pp = &s->head; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	k->next = NULL;
	k->result = result;
	flight_end(&k->f, rc, &k->cv);
}

int flight_key_waiters(const struct flight_key *k)
{
	return k->refs - 1;
}

int flight_key_wait(struct flight_key *k, pthread_mutex_t *mu, int64_t deadline_ms, int *rc)
{
	return flight_wait(&k->f, mu, &k->cv, deadline_ms, rc);
}

void flight_key_put(struct flight_set *s, struct flight_key *k)
{
	if (--k->refs > 0)
		return;
	if (k->result && s->free_result)
		s->free_result(k->result);
	pthread_cond_destroy(&k->cv);
	free(k->key);
	free(k);
}
