/*
 * par.c - see par.h.  Locks: one mutex per call guards the next index.
 */
#include "util/par.h"

#include <pthread.h>

struct par_job {
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t n, next;
	pthread_mutex_t mu;
};

static void *worker(void *p)
{
	struct par_job *j = p;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		size_t i = j->next < j->n ? j->next++ : j->n;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->n)
			return NULL;
		j->fn(j->arg, i);
	}
}

void par_run(size_t n, unsigned k, void (*fn)(void *arg, size_t i), void *arg)
{
	struct par_job j = { .fn = fn, .arg = arg, .n = n };
	pthread_t th[PAR_MAX_THREADS];
	size_t nth = 0;
	if (k > PAR_MAX_THREADS)
		k = PAR_MAX_THREADS;
	pthread_mutex_init(&j.mu, NULL);
	for (; nth + 1 < k && nth + 1 < n; nth++)
		if (pthread_create(&th[nth], NULL, worker, &j))
			break;
	worker(&j);
	for (size_t i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.mu);
}
