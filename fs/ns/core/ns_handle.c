/*
 * ns_handle.c - open handles: a directory's snapshot (made, sorted, closed)
 * and the open files' list.  Every handle is on its list until the kernel
 * releases it; at the exit (ns_free) the handles whose release never came
 * (an unmount racing the last close, a SIGTERM with files open) are freed
 * from those lists.  Locks: files_lock, a leaf (ns_internal.h).
 */
#include "ns/core/ns_internal.h"

#include <errno.h>
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

struct ns_dir *ns_dir_new(struct ns *ns, size_t cap)
{
	struct ns_dir *d = calloc(1, sizeof(*d));
	if (!d || !(d->ents = calloc(cap, sizeof(*d->ents)))) {
		free(d);
		return NULL;
	}
	d->ns = ns;
	pthread_mutex_lock(&ns->files_lock);
	d->dnext = ns->dirs;
	if (ns->dirs)
		ns->dirs->dprev = d;
	ns->dirs = d;
	pthread_mutex_unlock(&ns->files_lock);
	return d;
}

void ns_closedir(struct ns_dir *d)
{
	if (!d)
		return;
	struct ns *ns = d->ns;
	pthread_mutex_lock(&ns->files_lock);
	if (d->dprev)
		d->dprev->dnext = d->dnext;
	else if (ns->dirs == d)
		ns->dirs = d->dnext;
	if (d->dnext)
		d->dnext->dprev = d->dprev;
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
	f->fprev = NULL;
	f->fnext = ns->files;
	if (ns->files)
		ns->files->fprev = f;
	ns->files = f;
	pthread_mutex_unlock(&ns->files_lock);
}

void ns_file_untrack(struct ns *ns, struct ns_file *f)
{
	pthread_mutex_lock(&ns->files_lock);
	if (f->fprev)
		f->fprev->fnext = f->fnext;
	else if (ns->files == f)
		ns->files = f->fnext;
	if (f->fnext)
		f->fnext->fprev = f->fprev;
	f->fprev = f->fnext = NULL;
	pthread_mutex_unlock(&ns->files_lock);
}
