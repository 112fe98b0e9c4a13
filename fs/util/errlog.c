/*
 * errlog.c - see errlog.h.  The text is one growing buffer; `lock` guards
 * it and the counters.
 */
#include "util/errlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct errlog {
	pthread_mutex_t lock;
	char *buf;        /* GUARDED_BY(lock) */
	size_t len, cap;  /* GUARDED_BY(lock) */
	size_t max;
	uint64_t count;   /* GUARDED_BY(lock) */
};

struct errlog *errlog_new(size_t max_bytes)
{
	struct errlog *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	e->max = max_bytes < 4096 ? 4096 : max_bytes;
	return e;
}

void errlog_free(struct errlog *e)
{
	if (!e)
		return;
	pthread_mutex_destroy(&e->lock);
	free(e->buf);
	free(e);
}

/* Copies s into out, control characters as '?'. */
static void clean(char *out, size_t n, const char *s)
{
	size_t i = 0;
	for (; s && *s && i + 1 < n; s++, i++)
		out[i] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[i] = '\0';
}

/* Drops whole lines from the front until at most keep bytes remain. */
static void drop_oldest(struct errlog *e, size_t keep)
{
	size_t cut = 0;
	while (e->len - cut > keep) {
		char *nl = memchr(e->buf + cut, '\n', e->len - cut);
		cut = nl ? (size_t)(nl - e->buf) + 1 : e->len;
	}
	memmove(e->buf, e->buf + cut, e->len - cut);
	e->len -= cut;
}

int errlog_add(struct errlog *e, const char *op, const char *path, int err, const char *reason)
{
	char p[1024], r[1024], stamp[40], line[2200];
	struct timespec ts;
	struct tm tm;
	int en = err < 0 ? -err : err;
	const char *name = strerrorname_np(en);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	clean(p, sizeof(p), path);
	clean(r, sizeof(r), reason && reason[0] ? reason : strerror(en));
	int n = snprintf(line, sizeof(line), "%s.%03ldZ\t%s\t%s\t%s\t%s\n", stamp,
			 ts.tv_nsec / 1000000, op, p, name ? name : "E?", r);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	pthread_mutex_lock(&e->lock);
	if (e->len + (size_t)n > e->max)
		drop_oldest(e, e->max / 2);
	if (e->len + (size_t)n > e->cap) {
		size_t cap = e->cap ? e->cap : 4096;
		while (cap < e->len + (size_t)n)
			cap *= 2;
		char *b = realloc(e->buf, cap);
		if (!b) {
			pthread_mutex_unlock(&e->lock);
			return -ENOMEM;
		}
		e->buf = b;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, line, (size_t)n);
	e->len += (size_t)n;
	e->count++;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

uint64_t errlog_size(struct errlog *e)
{
	pthread_mutex_lock(&e->lock);
	uint64_t l = e->len;
	pthread_mutex_unlock(&e->lock);
	return l;
}

uint64_t errlog_count(struct errlog *e)
{
	pthread_mutex_lock(&e->lock);
	uint64_t c = e->count;
	pthread_mutex_unlock(&e->lock);
	return c;
}

ssize_t errlog_read(struct errlog *e, char *buf, size_t size, off_t off)
{
	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	size_t n = 0;
	if ((uint64_t)off < e->len) {
		n = e->len - (size_t)off;
		if (n > size)
			n = size;
		memcpy(buf, e->buf + off, n);
	}
	pthread_mutex_unlock(&e->lock);
	return (ssize_t)n;
}
