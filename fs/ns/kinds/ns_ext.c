/*
 * ns_ext.c - what the kinds that are not resources of a collection share
 * (api, reports/, the operations files, scripts/, reloads/, data-model/ and
 * lineage/; ns_ext.h): the answers that are the same for all of them, and a
 * walk's readahead.  It defines no kind and calls none: each kind's table
 * (in its own file) names these where they are its answer.
 *
 * Locks: see ns_ext.h.
 */
#include "ns/kinds/ns_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ext_still_there(const struct node *n)
{
	for (const struct node *a = n; a && a->ino != NS_ROOT_INO; a = a->parent)
		if (a->gone)
			return -ENOENT;
	return 0;
}

int ext_fresh_none(struct ns *ns, struct node *n, char *err, size_t errn)
{
	(void)ns, (void)err, (void)errn;
	return ext_still_there(n);
}

bool ext_attrs_known(struct ns *ns, struct node *n)
{
	(void)ns, (void)n;
	return false;
}

const char *ext_xattr_error(struct ns *ns, const struct node *n, const char *name)
{
	(void)ns;
	return !strcmp(name, "user.qlik.error") ? n->errmsg : NULL;
}

ssize_t ext_no_write(struct ns_file *f, const char *data, size_t size, off_t off)
{
	(void)f, (void)data, (void)size, (void)off;
	return -EBADF;
}

int ext_flush_none(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	(void)ns, (void)n, (void)f, (void)err, (void)errn;
	return 0;
}

int ext_no_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	(void)ns, (void)n, (void)f, (void)size;
	return -EACCES;
}

int ext_no_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
		  size_t errn)
{
	(void)ns, (void)d, (void)name, (void)out;
	errmsg_set(err, errn, "files are created in reports/ (a report request NAME.json) and "
			      "scripts/ only");
	return -EPERM;
}

int ext_no_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)ns, (void)d, (void)n;
	errmsg_set(err, errn, "this directory cannot be removed");
	return -EPERM;
}

int ext_no_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
		  const char *newname, char *err, size_t errn)
{
	(void)ns, (void)n, (void)t, (void)d, (void)nd, (void)newname;
	errmsg_set(err, errn, "reports, the api control file and the operations files cannot "
			      "be renamed or moved");
	return -EPERM;
}

/* Readahead for a walk (docs/SEMANTICS.md "Load scripts", "Data model and
 * lineage"): a listing of scripts/, data-model/ or lineage/ fetches nothing
 * (find needs no sizes), and its stale entries are listed without
 * attributes.  When a stale entry n is looked up or opened in a walk that
 * listed its directory (ls -l, tar, rsync, grep -r), this fetches n with the
 * next stale entries side by side: 1 at the first miss, then 8, 16, 32 and
 * 64 at each further miss in the same directory and walk, so a walk costs
 * one request per file (no more) with the latency of a side-by-side fetch,
 * and a single cat after an ls costs one. */
#define RA_MAX 64
void ext_readahead(struct ns *ns, struct ext_ra *ra, struct node *n, bool stale,
		   void (*prefetch)(struct ns *ns, struct node *d, struct node *first, size_t max))
{
	struct node *d = n->parent;
	if (!d || !ra || d->walk_id != ns->walk_id || !(d->walk_ops & WALK_OPENDIR) || !stale)
		return;
	if (ra->dir == d->ino && ra->walk == d->walk_id) {
		ra->run++;
	} else {
		ra->dir = d->ino;
		ra->walk = d->walk_id;
		ra->run = 1;
	}
	if (ra->run < 2)
		return; /* a lone lookup fetches its own file */
	size_t max = ra->run >= 5 ? RA_MAX : (size_t)8 << (ra->run - 2); /* 8, 16, 32 */
	prefetch(ns, d, n, max);
}
