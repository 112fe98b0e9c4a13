/*
 * test_flight.c - util/flight.c, the one single-flight mechanism: callers of
 * one key share one execution and its outcome (a failure too), a caller that
 * comes after it ended starts a new one, a waiter gives up at its own
 * deadline while the leader carries on, the result is freed once by the last
 * reference whoever drops it, and a bare struct flight shares an outcome
 * under its owner's lock; flight_idle() waits out executions that follow one
 * another (a failed one and the retry begun as it ended) and no longer than
 * its deadline; an execution that ended as a waiter's deadline passed is an
 * outcome for it, not a timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/clock.h"
#include "util/flight.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct flight_set set;
static int freed;   /* GUARDED_BY(mu): results freed */
static int started; /* GUARDED_BY(mu): executions led */

static void free_result(void *r)
{
	freed++;
	free(r);
}

struct caller {
	const char *key;
	int64_t wait_ms; /* a waiter's budget */
	int work_ms;     /* a leader's work */
	int outcome;     /* a leader's rc */
	int rc, timed_out;
	bool led;
	char got[16];
};

/* One call of the work for c->key through the set: leads it or shares it. */
static void *call(void *arg)
{
	struct caller *c = arg;
	pthread_mutex_lock(&mu);
	struct flight_key *k = flight_set_join(&set, c->key, &c->led);
	if (c->led) {
		started++;
		pthread_mutex_unlock(&mu);
		usleep((useconds_t)c->work_ms * 1000);
		pthread_mutex_lock(&mu);
		char *res = NULL;
		if (flight_key_waiters(k) > 0)
			res = strdup(c->key);
		flight_set_end(&set, k, c->outcome, res);
		c->rc = c->outcome;
		snprintf(c->got, sizeof(c->got), "%s", c->key);
	} else if (flight_key_wait(k, &mu, clock_mono_ms() + c->wait_ms, &c->rc)) {
		c->timed_out = 1;
	} else {
		snprintf(c->got, sizeof(c->got), "%s", k->result ? (char *)k->result : "");
	}
	flight_key_put(&set, k);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void wait_joined(const char *key, int waiters)
{
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&mu);
		int n = -1;
		for (struct flight_key *k = set.head; k; k = k->next)
			if (!strcmp(k->key, key))
				n = flight_key_waiters(k);
		pthread_mutex_unlock(&mu);
		if (n >= waiters)
			return;
		usleep(1000);
	}
	CHECK(!"the waiters never joined");
}

static void test_shared_outcome(void)
{
	struct caller c[5];
	pthread_t th[5];
	started = freed = 0;
	c[0] = (struct caller){ .key = "/a", .work_ms = 200, .outcome = -ENOENT };
	pthread_create(&th[0], NULL, call, &c[0]);
	wait_joined("/a", 0);
	for (int i = 1; i < 4; i++) {
		c[i] = (struct caller){ .key = "/a", .wait_ms = 10000 };
		pthread_create(&th[i], NULL, call, &c[i]);
	}
	wait_joined("/a", 3);
	/* another key is an execution of its own */
	c[4] = (struct caller){ .key = "/b", .outcome = 0 };
	pthread_create(&th[4], NULL, call, &c[4]);
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	CHECK(c[0].led && c[4].led);
	for (int i = 1; i < 4; i++) {
		CHECK(!c[i].led && !c[i].timed_out);
		CHECK_INT(c[i].rc, -ENOENT); /* the failure is shared too */
		CHECK_STR(c[i].got, "/a");
	}
	CHECK_INT(started, 2);
	CHECK_INT(freed, 1); /* /b had no waiters: no result */
	CHECK(set.head == NULL);

	/* after it ended, the same key is a new execution */
	struct caller again = { .key = "/a", .outcome = 0 };
	call(&again);
	CHECK(again.led && again.rc == 0);
	CHECK_INT(started, 3);
}

static void test_waiter_deadline(void)
{
	struct caller lead = { .key = "/slow", .work_ms = 400, .outcome = 0 };
	struct caller w = { .key = "/slow", .wait_ms = 50 };
	pthread_t t1, t2;
	freed = 0;
	pthread_create(&t1, NULL, call, &lead);
	wait_joined("/slow", 0);
	int64_t t0 = clock_mono_ms();
	pthread_create(&t2, NULL, call, &w);
	pthread_join(t2, NULL);
	CHECK(w.timed_out);
	CHECK(clock_mono_ms() - t0 < 300); /* its own deadline, not the leader's work */
	pthread_join(t1, NULL);
	CHECK(lead.led && lead.rc == 0);
	CHECK_INT(freed, 0); /* the waiter left before the end: nothing to leave it */
	CHECK(set.head == NULL);
}

/* A bare flight under its owner's lock: no execution under way is no wait
 * and no outcome; a wait ends with the execution's outcome. */
static pthread_cond_t cv;
static struct flight owned;

static void *grant(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	pthread_mutex_lock(&mu);
	flight_end(&owned, -EACCES, &cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void test_owned_flight(void)
{
	int rc = 7;
	clock_cond_init(&cv);
	pthread_mutex_lock(&mu);
	CHECK_INT(flight_wait(&owned, &mu, &cv, clock_mono_ms() + 1000, &rc), 0);
	CHECK_INT(rc, 0);
	flight_begin(&owned);
	pthread_t t;
	pthread_create(&t, NULL, grant, NULL);
	CHECK_INT(flight_wait(&owned, &mu, &cv, clock_mono_ms() + 5000, &rc), 0);
	CHECK_INT(rc, -EACCES);
	CHECK(!owned.running && owned.gen == 1);
	/* a wait past its deadline */
	flight_begin(&owned);
	CHECK_INT(flight_wait(&owned, &mu, &cv, clock_mono_ms() + 30, &rc), ETIMEDOUT);
	flight_end(&owned, 0, &cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	pthread_cond_destroy(&cv);
}

/* Ends the execution under way with a failure and at once begins the next
 * (a caller that retries), which ends 100 ms later. */
static void *relay(void *arg)
{
	(void)arg;
	usleep(50 * 1000);
	pthread_mutex_lock(&mu);
	flight_end(&owned, -EIO, &cv);
	flight_begin(&owned);
	pthread_mutex_unlock(&mu);
	usleep(100 * 1000);
	pthread_mutex_lock(&mu);
	flight_end(&owned, 0, &cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void test_idle(void)
{
	clock_cond_init(&cv);
	owned = (struct flight){ 0 };
	pthread_mutex_lock(&mu);
	CHECK_INT(flight_idle(&owned, &mu, &cv, clock_mono_ms() + 1000), 0); /* none: no wait */
	flight_begin(&owned);
	pthread_t t;
	pthread_create(&t, NULL, relay, NULL);
	int64_t t0 = clock_mono_ms();
	CHECK_INT(flight_idle(&owned, &mu, &cv, clock_mono_ms() + 5000), 0);
	CHECK(!owned.running);
	CHECK_INT(owned.gen, 2); /* both executions ended, not only the first */
	CHECK(clock_mono_ms() - t0 >= 140);
	/* bounded: gives up at its deadline, the execution goes on */
	flight_begin(&owned);
	t0 = clock_mono_ms();
	CHECK_INT(flight_idle(&owned, &mu, &cv, clock_mono_ms() + 30), ETIMEDOUT);
	CHECK(clock_mono_ms() - t0 < 1000);
	CHECK(owned.running);
	flight_end(&owned, 0, &cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	pthread_cond_destroy(&cv);
}

/* The leader ends the execution after the waiter's deadline passed but
 * before the waiter got the mutex back: the waiter was counted in (a pin
 * was taken for it), so it must get the outcome, not a timeout. */
static bool in_wait;

static void *late_waiter(void *arg)
{
	int *rc = arg;
	pthread_mutex_lock(&mu);
	in_wait = true;
	int w = flight_wait(&owned, &mu, &cv, clock_mono_ms() + 50, rc);
	pthread_mutex_unlock(&mu);
	if (w)
		*rc = 1000 + w;
	return NULL;
}

static void test_end_at_the_deadline(void)
{
	clock_cond_init(&cv);
	owned = (struct flight){ 0 };
	in_wait = false;
	int rc = 7;
	pthread_mutex_lock(&mu);
	flight_begin(&owned);
	pthread_mutex_unlock(&mu);
	pthread_t t;
	pthread_create(&t, NULL, late_waiter, &rc);
	for (;;) { /* holding mu with in_wait set: the waiter sleeps in its wait */
		pthread_mutex_lock(&mu);
		if (in_wait)
			break;
		pthread_mutex_unlock(&mu);
		usleep(1000);
	}
	usleep(200 * 1000); /* its deadline passes while we hold the mutex */
	flight_end(&owned, -EACCES, &cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	CHECK_INT(rc, -EACCES);
	pthread_cond_destroy(&cv);
}

int main(void)
{
	set.free_result = free_result;
	test_shared_outcome();
	test_waiter_deadline();
	test_owned_flight();
	test_idle();
	test_end_at_the_deadline();
	return check_done();
}
