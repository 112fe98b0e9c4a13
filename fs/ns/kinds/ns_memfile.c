/*
 * ns_memfile.c - files whose content lives in the node's own memory:
 *  - a tool's temporary file (R_SCRATCH: `.x.swp`, `4913`, `f.json~`,
 *    rsync's `.f.json.AbCdEf`; docs/SEMANTICS.md "Temporary files"): never
 *    sent; renamed onto a resource file it is that resource's update
 *    (ns_dirops.c);
 *  - a file being created in a collection (R_NEW): POSTed when closed with
 *    content (an empty close creates nothing yet: a shell's `> f` closes a
 *    duplicate of the descriptor first), later closes update what it made.
 * Their handles read and write node_body's mem through the dispatcher's
 * memory path (f->mem), which reports/' requests share; this file says
 * what the two kinds do at open, flush, truncate, unlink and getxattr.
 *
 * Locks: ns->lock held by every caller (the dispatcher's).
 */
#include "ns/core/ns_internal.h"

#include <errno.h>

#include "ns/core/ns_mut.h"

static bool mem_writable(const struct node *n)
{
	(void)n;
	return true;
}

static int mem_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		    char *err, size_t errn)
{
	(void)ns;
	(void)err;
	(void)errn;
	mut_mem_open(n, f);
	*size_changed = true;
	return 0;
}

/* Its size is what it holds now. */
static void mem_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	(void)ns;
	a->size = n->reported_size = body_of(n)->memlen;
}

static int mem_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	(void)f;
	return mut_mem_truncate(ns, n, size);
}

static int mem_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	(void)d;
	(void)err;
	(void)errn;
	mut_mem_node_remove(ns, n);
	return 0;
}

/* A new file's close: creates the resource from the content written (the
 * first time), else updates the one it created. */
static int new_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	(void)f;
	struct node_body *b = n->body; /* (none: nothing written yet) */
	if (!n->mem_dirty || !b)
		return 0;
	if (!b->created)
		return !n->gone && b->memlen ? mut_commit_create(ns, n, err, errn) : 0;
	cJSON *nb = NULL;
	n->mem_dirty = false;
	int rc = mut_commit_update(ns, n, b->mem, b->memlen, b->created, &nb, err, errn);
	if (!rc) {
		cJSON_Delete(b->created);
		b->created = nb;
	}
	return rc;
}

/* mv of a temporary file, or of a new file not created yet: onto a
 * resource file (its update), to a temporary name, or to a name that
 * creates a resource (ns/core/ns_move.c). */
static int mem_move(struct ns *ns, struct node *n, struct node *t, struct node *d,
		    struct node *nd, const char *newname, char *err, size_t errn)
{
	(void)d;
	if (n->role == R_NEW && body_of(n)->created) {
		errmsg_set(err, errn, MUT_NO_MOVE); /* (a resource now, by its own file) */
		return -EPERM;
	}
	return mut_rename_new(ns, n, t, nd, newname, mut_name_is_scratch(nd, newname), err,
			      errn);
}

const struct ns_kind ns_scratch_kind = {
	.name = "scratch",
	.writable = mem_writable,
	.fill_attr = mem_fill_attr,
	.xattr = node_xattr_error, /* (no resource: only why its last rename failed) */
	.open = mem_open,
	.truncate = mem_truncate,
	.unlink = mem_unlink,
	.move = mem_move,
};

const struct ns_kind ns_new_kind = {
	.name = "new",
	.writable = mem_writable,
	.fill_attr = mem_fill_attr,
	.open = mem_open,
	.flush = new_flush,
	.truncate = mem_truncate,
	.unlink = mem_unlink,
	.move = mem_move,
};
