/*
 * ns_handle.c - open handles: a directory's snapshot (made, sorted, closed)
 * and the open files' list.  Every handle is on its list until the kernel
 * releases it; at the exit (ns_free) the handles whose release never came
 * (an unmount racing the last close, a SIGTERM with files open) are freed
 * from those lists.  Locks: files_lock, a leaf (ns_internal.h).
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(((const struct ns_dirent *)a)->name, ((const struct ns_dirent *)b)->name);
}

int ns_dir_sort(struct ns_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->ents[i].name)
			return -ENOMEM;
	qsort(d->ents + 2, d->n - 2, sizeof(*d->ents), cmp_dirent);
	return 0;
}

void ns_dir_add_lazy(struct ns *ns, struct ns_dir *d, const char *name)
{
	struct ns_dirent *e = &d->ents[d->n++];
	e->name = strdup(name);
	e->noattr = true;
	e->attr.ino = NS_INO_UNKNOWN;
	e->attr.mode = S_IFREG | (0444 & ~ns->o.umask);
	e->attr.nlink = 1;
	e->attr.uid = ns->o.uid;
	e->attr.gid = ns->o.gid;
}

int ns_dir_done(struct ns *ns, struct ns_dir *d, int rc, struct ns_dir **out)
{
	pthread_mutex_unlock(&ns->lock);
	if (rc) {
		ns_closedir(d);
		d = NULL;
	}
	*out = d;
	return rc;
}

#define HANDLE_OF(l, type) ((type *)(void *)((char *)(l) - offsetof(type, link)))

/* Joins or leaves list *head; files_lock held. */
static void hlink_add(struct ns_hlink **head, struct ns_hlink *l)
{
	l->prev = NULL;
	l->next = *head;
	if (*head)
		(*head)->prev = l;
	*head = l;
}

static void hlink_del(struct ns_hlink **head, struct ns_hlink *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else if (*head == l)
		*head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

struct ns_dir *ns_dir_new(struct ns *ns, size_t cap)
{
	struct ns_dir *d = calloc(1, sizeof(*d));
	if (!d || !(d->ents = calloc(cap, sizeof(*d->ents)))) {
		free(d);
		return NULL;
	}
	d->ns = ns;
	pthread_mutex_lock(&ns->files_lock);
	hlink_add(&ns->dirs, &d->link);
	pthread_mutex_unlock(&ns->files_lock);
	return d;
}

void ns_closedir(struct ns_dir *d)
{
	if (!d)
		return;
	struct ns *ns = d->ns;
	pthread_mutex_lock(&ns->files_lock);
	hlink_del(&ns->dirs, &d->link);
	pthread_mutex_unlock(&ns->files_lock);
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d);
}

struct ns_file *ns_file_new(struct ns *ns, uint64_t ino, struct cache_blob *b)
{
	struct ns_file *f = calloc(1, sizeof(*f));
	if (!f) {
		cache_blob_unref(b);
		return NULL;
	}
	f->ns = ns;
	f->ino = ino;
	f->blob = b;
	ns_file_track(ns, f);
	return f;
}

void ns_file_track(struct ns *ns, struct ns_file *f)
{
	pthread_mutex_lock(&ns->files_lock);
	hlink_add(&ns->files, &f->link);
	pthread_mutex_unlock(&ns->files_lock);
}

void ns_file_untrack(struct ns *ns, struct ns_file *f)
{
	pthread_mutex_lock(&ns->files_lock);
	hlink_del(&ns->files, &f->link);
	pthread_mutex_unlock(&ns->files_lock);
}

struct ns_file *ns_file_any(struct ns *ns)
{
	pthread_mutex_lock(&ns->files_lock);
	struct ns_file *f = ns->files ? HANDLE_OF(ns->files, struct ns_file) : NULL;
	pthread_mutex_unlock(&ns->files_lock);
	return f;
}

struct ns_dir *ns_dir_any(struct ns *ns)
{
	pthread_mutex_lock(&ns->files_lock);
	struct ns_dir *d = ns->dirs ? HANDLE_OF(ns->dirs, struct ns_dir) : NULL;
	pthread_mutex_unlock(&ns->files_lock);
	return d;
}
