/*
 * inval.c - the invalidation worker.
 *
 * A queue (mutex + condition) of entries/inodes to invalidate; a pipe carries
 * SIGHUP from the signal handler (write(2) is async-signal-safe).  The worker
 * sleeps in poll() on the pipe: every enqueue, SIGHUP and stop writes to it.  Before the session is
 * mounted, or after it is gone, notifications simply fail and are dropped.
 */
#include "fuse/inval.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "ns/ns.h"

struct item {
	struct item *next;
	uint64_t ino; /* parent for entries */
	char *name;   /* NULL: an inode */
};

struct inval {
	struct fuse_session *se;
	struct ns *ns;
	pthread_t thread;
	pthread_mutex_t lock;
	struct item *head, *tail; /* GUARDED_BY(lock) */
	bool stop;                /* GUARDED_BY(lock) */
	int pipe[2];
};

static void push(struct inval *iv, uint64_t ino, const char *name)
{
	struct item *it = calloc(1, sizeof(*it));
	if (!it || (name && !(it->name = strdup(name)))) {
		free(it);
		return; /* the kernel's own timeouts still bound staleness */
	}
	it->ino = ino;
	pthread_mutex_lock(&iv->lock);
	if (iv->tail)
		iv->tail->next = it;
	else
		iv->head = it;
	iv->tail = it;
	pthread_mutex_unlock(&iv->lock);
	char c = 'q';
	if (write(iv->pipe[1], &c, 1) < 0) {
		/* pipe full: the worker is awake anyway */
	}
}

void inval_entry_cb(void *arg, uint64_t parent, const char *name)
{
	push(arg, parent, name);
}

void inval_inode_cb(void *arg, uint64_t ino)
{
	push(arg, ino, NULL);
}

void inval_sighup(struct inval *iv)
{
	char c = 'h';
	if (iv && write(iv->pipe[1], &c, 1) < 0) {
		/* nothing safe to do in a signal handler */
	}
}

static void drain(struct inval *iv)
{
	pthread_mutex_lock(&iv->lock);
	struct item *it = iv->head;
	iv->head = iv->tail = NULL;
	pthread_mutex_unlock(&iv->lock);
	while (it) {
		struct item *next = it->next;
		if (it->name)
			fuse_lowlevel_notify_inval_entry(iv->se, it->ino, it->name, strlen(it->name));
		else
			fuse_lowlevel_notify_inval_inode(iv->se, it->ino, 0, 0);
		free(it->name);
		free(it);
		it = next;
	}
}

static void *worker(void *arg)
{
	struct inval *iv = arg;
	for (;;) {
		struct pollfd p = { .fd = iv->pipe[0], .events = POLLIN };
		poll(&p, 1, -1); /* inval_stop() and push() write to the pipe */
		bool hup = false;
		char buf[64];
		ssize_t n;
		while ((n = read(iv->pipe[0], buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++)
				hup |= buf[i] == 'h';
		if (hup && iv->ns) {
			log_info("SIGHUP: dropping every cache");
			ns_drop_caches(iv->ns);
		}
		drain(iv);
		pthread_mutex_lock(&iv->lock);
		bool stop = iv->stop;
		pthread_mutex_unlock(&iv->lock);
		if (stop)
			return NULL;
	}
}

struct inval *inval_start(struct fuse_session *se)
{
	struct inval *iv = calloc(1, sizeof(*iv));
	if (!iv)
		return NULL;
	iv->se = se;
	pthread_mutex_init(&iv->lock, NULL);
	if (pipe2(iv->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(iv);
		return NULL;
	}
	if (pthread_create(&iv->thread, NULL, worker, iv)) {
		close(iv->pipe[0]);
		close(iv->pipe[1]);
		free(iv);
		return NULL;
	}
	return iv;
}

void inval_set_ns(struct inval *iv, struct ns *ns)
{
	iv->ns = ns;
}

void inval_stop(struct inval *iv)
{
	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	iv->stop = true;
	pthread_mutex_unlock(&iv->lock);
	char c = 'q';
	if (write(iv->pipe[1], &c, 1) < 0) {
		/* pipe full: the worker has bytes to read and wakes anyway */
	}
	pthread_join(iv->thread, NULL);
	for (struct item *it = iv->head, *n; it; it = n) {
		n = it->next;
		free(it->name);
		free(it);
	}
	close(iv->pipe[0]);
	close(iv->pipe[1]);
	pthread_mutex_destroy(&iv->lock);
	free(iv);
}
