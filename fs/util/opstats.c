/*
 * opstats.c - see opstats.h.
 *
 * Locks: `lock` guards the counters and the list of operations; an
 * operation's fields are written under it too, so a snapshot is consistent.
 * The thread-local `cur` is only touched by its own thread.
 */
#include "util/opstats.h"
#include "util/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_OTHER, NMETHOD };
static const char *const method_names[NMETHOD] = { "GET", "POST", "PUT", "PATCH", "DELETE", "other" };
/* status classes: [0] no response, [1..5] 1xx..5xx */
static const char *const class_names[6] = { "failed", "1xx", "2xx", "3xx", "4xx", "5xx" };

struct opstats_op {
	struct opstats_op *next, *prev_cur;
	char kind[16];
	char what[256];
	uint64_t total, sent, received, requests;
	int64_t started_ms;   /* wall clock */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t by_class[NMETHOD][6]; /* GUARDED_BY(lock) */
static uint64_t bytes_sent, bytes_received, n429, nretries; /* GUARDED_BY(lock) */
static int64_t waited_ms;               /* GUARDED_BY(lock) */
static struct opstats_op *ops;          /* GUARDED_BY(lock) */
static __thread struct opstats_op *cur; /* this thread's current operation */
static __thread int next_retry;

static int method_index(const char *m)
{
	for (int i = 0; i < M_OTHER; i++)
		if (m && !strcmp(m, method_names[i]))
			return i;
	return M_OTHER;
}

void opstats_http(const struct opstats_http *ev)
{
	int cls = ev->status >= 100 && ev->status < 600 ? (int)(ev->status / 100) : 0;
	pthread_mutex_lock(&lock);
	by_class[method_index(ev->method)][cls]++;
	if (ev->status == 429)
		n429++;
	if (ev->retry > 0)
		nretries++;
	if (cur)
		cur->requests++;
	pthread_mutex_unlock(&lock);
}

void opstats_set_retry(int retry)
{
	next_retry = retry;
}

int opstats_take_retry(void)
{
	int r = next_retry;
	next_retry = 0;
	return r;
}

void opstats_ratelimit_wait(int64_t ms)
{
	if (ms <= 0)
		return;
	pthread_mutex_lock(&lock);
	waited_ms += ms;
	pthread_mutex_unlock(&lock);
}

void opstats_op_bytes(uint64_t sent, uint64_t received)
{
	pthread_mutex_lock(&lock);
	bytes_sent += sent;
	bytes_received += received;
	if (cur) {
		cur->sent += sent;
		cur->received += received;
	}
	pthread_mutex_unlock(&lock);
}

struct opstats_op *opstats_op_begin(const char *kind, const char *what, uint64_t total_bytes)
{
	struct opstats_op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	strncpy(op->kind, kind ? kind : "", sizeof(op->kind) - 1);
	strncpy(op->what, what ? what : "", sizeof(op->what) - 1);
	op->total = total_bytes;
	op->started_ms = clock_wall_ms();
	pthread_mutex_lock(&lock);
	op->next = ops;
	ops = op;
	op->prev_cur = cur;
	cur = op;
	pthread_mutex_unlock(&lock);
	return op;
}

void opstats_op_end(struct opstats_op *op)
{
	if (!op)
		return;
	pthread_mutex_lock(&lock);
	for (struct opstats_op **pp = &ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	if (cur == op)
		cur = op->prev_cur;
	pthread_mutex_unlock(&lock);
	free(op);
}

void opstats_get(struct opstats_totals *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&lock);
	for (int m = 0; m < NMETHOD; m++)
		for (int c = 0; c < 6; c++)
			t->requests += by_class[m][c];
	for (int m = 0; m < NMETHOD; m++)
		t->failed += by_class[m][0];
	t->sent = bytes_sent;
	t->received = bytes_received;
	t->rate_limited = n429;
	t->retries = nretries;
	t->waited_ms = waited_ms;
	for (const struct opstats_op *op = ops; op; op = op->next)
		t->ops++;
	pthread_mutex_unlock(&lock);
}

static cJSON *time_string(int64_t ms)
{
	char buf[40];
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t l = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + l, sizeof(buf) - l, ".%03dZ", (int)(ms % 1000));
	return cJSON_CreateString(buf);
}

/* The operations in flight, oldest first, with their start and progress but
 * no elapsed time: the status text changes only with the work done.  Called
 * with lock held. */
static cJSON *ops_json(void)
{
	cJSON *a = cJSON_CreateArray();
	size_t n = 0;
	for (const struct opstats_op *op = ops; op; op = op->next)
		n++;
	for (size_t i = n; a && i > 0; i--) {
		const struct opstats_op *op = ops;
		for (size_t k = 1; k < i; k++)
			op = op->next;
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddItemToArray(a, o);
		cJSON_AddStringToObject(o, "kind", op->kind);
		cJSON_AddStringToObject(o, "what", op->what);
		cJSON_AddItemToObject(o, "started", time_string(op->started_ms));
		cJSON_AddNumberToObject(o, "requests", (double)op->requests);
		cJSON_AddNumberToObject(o, "bytes_sent", (double)op->sent);
		cJSON_AddNumberToObject(o, "bytes_received", (double)op->received);
		if (op->total) {
			uint64_t done = op->sent > op->received ? op->sent : op->received;
			cJSON_AddNumberToObject(o, "total_bytes", (double)op->total);
			cJSON_AddNumberToObject(o, "percent",
						(double)(done >= op->total ? 100 : done * 100 / op->total));
		}
	}
	return a;
}

int opstats_to_json(cJSON *obj)
{
	cJSON *req = cJSON_AddObjectToObject(obj, "requests");
	cJSON *byc = req ? cJSON_AddObjectToObject(req, "by_method") : NULL;
	cJSON *rl = cJSON_AddObjectToObject(obj, "rate_limited");
	cJSON *by = cJSON_AddObjectToObject(obj, "bytes");
	if (!byc || !rl || !by)
		return -ENOMEM;
	uint64_t total = 0;
	pthread_mutex_lock(&lock);
	for (int m = 0; m < NMETHOD; m++) {
		uint64_t sum = 0;
		for (int c = 0; c < 6; c++)
			sum += by_class[m][c];
		total += sum;
		if (!sum)
			continue;
		cJSON *mo = cJSON_AddObjectToObject(byc, method_names[m]);
		for (int c = 0; mo && c < 6; c++)
			if (by_class[m][c])
				cJSON_AddNumberToObject(mo, class_names[c], (double)by_class[m][c]);
	}
	cJSON_AddNumberToObject(req, "total", (double)total);
	cJSON_AddNumberToObject(req, "retries", (double)nretries);
	cJSON_AddNumberToObject(rl, "responses_429", (double)n429);
	cJSON_AddNumberToObject(rl, "waited_ms", (double)waited_ms);
	cJSON_AddNumberToObject(by, "sent", (double)bytes_sent);
	cJSON_AddNumberToObject(by, "received", (double)bytes_received);
	cJSON *a = ops_json();
	pthread_mutex_unlock(&lock);
	if (!a)
		return -ENOMEM;
	cJSON_AddItemToObject(obj, "operations", a);
	return 0;
}
