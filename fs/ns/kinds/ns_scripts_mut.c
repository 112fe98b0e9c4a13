/*
 * ns_scripts_mut.c - saving load scripts (docs/SEMANTICS.md "Load scripts"):
 * the close of a NAME.qvs written through, the files tools make and rename
 * in scripts/ (sed -i, vim, git checkout), and the version message
 * attribute.  The rules are in ns_scripts.c's header.
 *
 * Locks: ns->lock held on entry; dropped around the requests of a save.
 */
#include "ns/kinds/ns_scripts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/errmap.h"
#include "ns/core/ns_mut.h"
#include "util/names.h"

/* ---- saving ---- */

/* Saves data as app s's new script, if its newest version is still base
 * (else -ESTALE).  The lock is dropped around the requests (the head, the
 * POST, the new head: three). */
static int scr_save(struct ns *ns, struct node *n, struct xscript *s, const char *data, size_t len,
	     char *base, char *err, size_t errn)
{
	int rc = xs_wait(ns, s, err, errn);
	if (rc)
		return rc;
	if (s->ver.id[0] && !strcmp(s->ver.id, base) && s->len == len &&
	    (!len || !memcmp(s->text, data, len)) && xs_fresh(ns, s))
		return 0; /* unchanged: nothing is sent */
	/* s->text is the text of version s->ver.id: when that is the base and
	 * the tenant's newest, equal bytes need no new version */
	bool known_same = s->ver.id[0] && !strcmp(s->ver.id, base) && s->len == len &&
			  (!len || !memcmp(s->text, data, len));
	char app[sizeof(s->app)], was[sizeof(s->ver.id)];
	char *copy = malloc(len + 1), *msg = strdup(s->msg ? s->msg : SCR_DEFAULT_MSG);
	if (!copy || !msg) {
		free(copy);
		free(msg);
		return -ENOMEM;
	}
	if (len)
		memcpy(copy, data, len);
	copy[len] = 0;
	memcpy(app, s->app, sizeof(app));
	memcpy(was, base, sizeof(was));
	flight_begin(&s->save);
	pthread_mutex_unlock(&ns->lock);
	struct script_ver head, now;
	rc = scripts_head(ns->o.client, app, &head, err, errn);
	if (!rc && strcmp(head.id, was)) {
		errmsg_set(err, errn, "the script of app %s changed on the tenant since it was read "
				      "(version %s, now %s): nothing was sent; read it again and redo "
				      "the change", app, was[0] ? was : "?", head.id);
		rc = -ESTALE;
	}
	bool same = !rc && known_same;
	now = head;
	if (!rc && !same && !(rc = scripts_set(ns->o.client, app, copy, len, msg, err, errn)))
		rc = scripts_head(ns->o.client, app, &now, err, errn);
	pthread_mutex_lock(&ns->lock);
	flight_end(&s->save, rc, &ns->cv);
	free(msg);
	if (rc) {
		free(copy);
		mut_node_set_errmsg(n, err);
		mut_keep_rejected(ns, n, NULL, data, len, err);
		return rc;
	}
	if (!same) {
		free(s->msg);
		s->msg = NULL;
		mut_colls_stale(ns, RK_APP); /* the app's modifiedDate moved */
	}
	mut_node_set_errmsg(n, NULL);
	xs_apply(ns, s, &now, copy, len, ns_now(ns));
	memcpy(base, now.id, sizeof(now.id));
	return 0;
}

int scr_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	struct xqvs_handle *h = f->ext;
	struct xscript *s = scr_of(ns, n);
	if (!h || h->h.kind != X_QVS || !s)
		return 0;
	if (!h->written) {
		ns_inval_inode(ns, n); /* O_TRUNC without a write: the size stands */
		return 0;
	}
	int rc = scr_save(ns, n, s, h->buf ? h->buf : "", h->len, h->base, err, errn);
	if (!rc) {
		h->written = false;
		n->mem_dirty = false;
	}
	return rc;
}

/* ---- create, unlink, rename ---- */

int scr_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn)
{
	if (d->xk != X_SCRDIR) {
		errmsg_set(err, errn, "older script versions are read-only");
		return -EACCES;
	}
	if (!mut_ends_with(name, ".qvs") || names_is_scratch(name)) {
		*out = mut_scratch_new(ns, d, name);
		return *out ? 0 : -ENOMEM;
	}
	const char *app = scr_app_for_name(d, name);
	if (!app) {
		errmsg_set(err, errn, "a script is named after its app (the app's entry in apps/ "
				      "with .qvs): apps are made in apps/");
		return -EPERM;
	}
	struct node *old = strmap_get(cs_of(d)->by_id, app);
	if (old && !old->gone) {
		errmsg_set(err, errn, "app %s already has its script here as %s", app, old->name);
		return -EEXIST;
	}
	struct node *n = qvs_node_new(ns, d, name, app);
	if (!n)
		return -ENOMEM;
	scr_of(ns, n)->hidden_until = 0;
	n->mem_dirty = true; /* starts empty; its first close saves it */
	if (n->body)
		n->body->wsize = 0;
	n->mtime_ms = n->ctime_ms = ns_wall_ms();
	*out = n;
	return 0;
}

int scr_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	if (n->xk != X_QVS) {
		errmsg_set(err, errn, "older script versions are read-only");
		return -EACCES;
	}
	/* the tenant keeps the script (an app always has one): the entry is
	 * hidden until apps/ is listed again, or a new file takes its name */
	struct xscript *s = scr_of(ns, n);
	(void)d;
	if (s)
		s->hidden_until = ns_now(ns) + ns->o.ttl_ms;
	node_detach(ns, n);
	return 0;
}

/* Node n (whose inode the kernel now shows under `name` in d) becomes the
 * script of app s there; the node that held the name (t) goes. */
static void become_script(struct ns *ns, struct node *n, struct node *t, struct node *d,
			  const char *name, struct xscript *s)
{
	if (t && t != n)
		node_detach(ns, t);
	node_detach(ns, n);
	node_drop_mem(ns, n);
	free(n->id);
	n->id = strdup(s->app);
	node_set_kind(ns, n, &ns_scripts_kind);
	n->xk = X_QVS;
	n->mem_dirty = false;
	n->size = s->len;
	n->mtime_ms = s->ver.mtime_ms ? s->ver.mtime_ms : n->mtime_ms;
	s->hidden_until = 0;
	if (n->id && node_attach(ns, d, n, name) == 0) {
		strmap_put(cs_of(d)->by_id, s->app, n);
		xs_note_node(s, n);
	}
}

/* Renaming a scratch file onto a script's name: saves its content, and the
 * scratch file's node becomes the script's (the kernel moved its inode). */
static int rename_onto(struct ns *ns, struct node *n, struct node *t, struct node *d,
		       const char *newname, char *err, size_t errn)
{
	const char *app = node_is(ns, t, &ns_scripts_kind) && t->xk == X_QVS ? t->id
								   : scr_app_for_name(d, newname);
	struct xscript *s = app ? xs_get(ns, app) : NULL;
	if (!s) {
		errmsg_set(err, errn, "a script is named after its app (the app's entry in apps/ "
				      "with .qvs)");
		return -EPERM;
	}
	if (t && t->role == R_SCRATCH)
		t = NULL; /* should not happen: a .qvs name is never scratch */
	int rc = s->ver.id[0] ? 0 : scr_fetch(ns, s, err, errn);
	char base[SCRIPTS_ID_MAX + 1];
	memcpy(base, s->ver.id, sizeof(base));
	if (!rc) {
		const struct node_body *nb = body_of(n);
		rc = scr_save(ns, t ? t : n, s, nb->mem ? nb->mem : "", nb->memlen, base, err, errn);
	}
	if (rc) {
		mut_node_set_errmsg(n, err);
		return rc;
	}
	if (!n->gone && (!t || !t->gone))
		become_script(ns, n, t, d, newname, s);
	return 0;
}

/* Renaming NAME.qvs to a temporary name (vim's backup): the node moved
 * becomes a scratch copy, and a new node keeps showing the script. */
static int rename_away(struct ns *ns, struct node *n, struct node *t, struct node *d,
		       const char *newname, char *err, size_t errn)
{
	struct xscript *s = scr_of(ns, n);
	int rc = s ? scr_fetch(ns, s, err, errn) : -ENOENT;
	if (rc)
		return rc;
	if (t && t != n)
		mut_mem_node_remove(ns, t);
	char *oldname = strdup(n->name);
	if (!oldname)
		return -ENOMEM;
	node_detach(ns, n);
	n->role = R_SCRATCH;
	n->xk = 0;
	n->mem_dirty = false;
	if ((rc = mut_mem_set(ns, n, s->text ? s->text : "", s->len)) ||
	    (rc = node_attach(ns, d, n, newname))) {
		free(oldname);
		return rc;
	}
	if (strmap_get(cs_of(d)->by_id, s->app) == n)
		strmap_del(cs_of(d)->by_id, s->app);
	if (!qvs_node_new(ns, d, oldname, s->app))
		rc = -ENOMEM;
	free(oldname);
	return rc;
}

int scr_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
	       const char *newname, char *err, size_t errn)
{
	bool to_script = mut_ends_with(newname, ".qvs") && !names_is_scratch(newname);
	bool from = node_is(ns, d, &ns_scripts_kind) && d->xk == X_SCRDIR;
	bool to = node_is(ns, nd, &ns_scripts_kind) && nd->xk == X_SCRDIR;
	if (d != nd || !from) {
		errmsg_set(err, errn, "scripts stay in their scripts/ directory");
		return from || to ? -EXDEV : -EPERM;
	}
	if (t && t->dir)
		return -EISDIR;
	if (n->role == R_SCRATCH && to_script)
		return rename_onto(ns, n, t, d, newname, err, errn);
	if (n->role == R_SCRATCH && (!t || t->role == R_SCRATCH)) {
		if (t)
			mut_mem_node_remove(ns, t);
		node_detach(ns, n);
		return node_attach(ns, nd, n, newname);
	}
	if (node_is(ns, n, &ns_scripts_kind) && n->xk == X_QVS && !to_script && (!t || t->role == R_SCRATCH))
		return rename_away(ns, n, t, d, newname, err, errn);
	errmsg_set(err, errn, "scripts are named after their apps: rename the app in apps/");
	return -EPERM;
}

/* ---- the version message ---- */

int scr_set_message(struct ns *ns, struct node *n, const char *value, size_t size)
{
	struct xscript *s = n->xk == X_QVS ? scr_of(ns, n) : NULL;
	if (!s)
		return -ENOTSUP;
	if (size > SCRIPTS_MSG_MAX || memchr(value, 0, size))
		return -EINVAL;
	char *m = strndup(value, size);
	if (!m)
		return -ENOMEM;
	free(s->msg);
	s->msg = m;
	return 0;
}

const char *scr_message(struct ns *ns, const struct node *n)
{
	struct xscript *s = n->xk == X_QVS ? scr_of(ns, n) : NULL;
	return s ? s->msg : NULL;
}

/* ---- the kind: scripts/ (at the root, in each space and @personal) ---- */

static void sk_root_kids(struct ns *ns, struct node *root)
{
	if (!scr_state(ns)) {
		struct xscripts *x = calloc(1, sizeof(*x));
		if (!x || !(x->scripts = strmap_new())) {
			free(x);
			return;
		}
		ns_kstate_set(ns, &ns_scripts_kind, x);
	}
	scr_add_dir(ns, root);
	struct node *sp = node_kid(root, "spaces");
	struct node *pers = sp ? node_kid(sp, "@personal") : NULL;
	if (pers)
		scr_add_dir(ns, pers);
}

static void sk_free(struct ns *ns)
{
	struct xscripts *x = scr_state(ns);
	if (!x)
		return;
	for (size_t i = 0; i < x->nsall; i++)
		scr_hist_free(x->sall[i]);
	scr_free_all(x);
	strmap_free(x->scripts);
	free(x);
	ns_kstate_set(ns, &ns_scripts_kind, NULL);
}

static void sk_drop_caches(struct ns *ns)
{
	if (scr_state(ns))
		scr_drop_caches(scr_state(ns));
}

/* apps changed behind the mount's back: their scripts (and histories) are
 * fetched again at next use */
static void sk_note_changed(struct ns *ns, enum rkind kind, const char *const *ids, size_t n)
{
	for (size_t i = 0; scr_state(ns) && kind == RK_APP && i < n; i++) {
		scr_note_changed(ns, ids[i]);
		struct xscript *s = strmap_get(scr_state(ns)->scripts, ids[i]);
		if (s && s->hist)
			scr_hist_stale(s); /* listed again at next use */
	}
}

static int sk_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	int rc = X_IS_HISTORY(d->xk) ? scr_hist_listed(ns, d, err, errn)
				     : scr_listed(ns, d, err, errn);
	return rc ? rc : ext_still_there(d);
}

static bool sk_attrs_need_fetch(struct ns *ns, struct node *n)
{
	return n->xk == X_QVS && scr_attrs_need_fetch(ns, n);
}

static int sk_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	if (n->xk == X_QVS && scr_state(ns))
		ext_readahead(ns, &scr_state(ns)->ra, n, sk_attrs_need_fetch(ns, n), scr_prefetch);
	int rc = n->xk == X_HISTVER ? scr_hist_fresh(ns, n, err, errn) : scr_fresh(ns, n, err, errn);
	return rc ? rc : ext_still_there(n);
}

static void sk_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	if (n->xk == X_HISTVER)
		scr_hist_fill_attr(ns, n, a);
	else
		scr_fill_attr(ns, n, a);
}

static bool sk_writable(const struct node *n)
{
	return n->xk == X_QVS;
}

static const char *sk_xattr(struct ns *ns, const struct node *n, const char *name)
{
	if (!strcmp(name, "user.qlik.error"))
		return n->errmsg;
	if (n->xk == X_QVS && !strcmp(name, "user.qlik.message"))
		return scr_message(ns, n);
	if (n->xk == X_HISTVER)
		return scr_hist_xattr(ns, n, name);
	return !strcmp(name, "user.qlik.id") && (n->xk == X_QVS || n->xk == X_HISTDIR) ? n->id
										: NULL;
}

/* user.qlik.message of a load script: the version message of its next save */
static int sk_setxattr(struct ns *ns, struct node *n, const char *name, const char *value,
		       size_t size)
{
	if (strcmp(name, "user.qlik.message") || n->xk != X_QVS)
		return -ENOTSUP; /* a version message belongs to a script */
	return scr_set_message(ns, n, value, size);
}

static int sk_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		   char *err, size_t errn)
{
	if (n->xk == X_HISTVER)
		return scr_hist_open(ns, n, f, size_changed, err, errn);
	return scr_open(ns, n, f, size_changed, err, errn);
}

/* (only a script's handles have state of their own: X_QVS) */
static ssize_t sk_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err,
		       size_t errn)
{
	(void)err, (void)errn;
	return scr_read(f, buf, size, off);
}

static void sk_release(struct ns_file *f)
{
	scr_release(f);
	f->ext = NULL;
}

static int sk_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	return n->xk == X_QVS ? scr_flush(ns, n, f, err, errn) : 0;
}

static int sk_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	return n->xk == X_QVS ? scr_truncate(ns, n, f, size) : -EACCES;
}

static int sk_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	if (n->xk == X_SCRDIR) {
		/* goes with its space: rm -r of a space's directory works */
		ns_inval_entry(ns, d, n->name);
		return 0;
	}
	return ext_no_rmdir(ns, d, n, err, errn);
}

static int sk_rename(struct ns *ns, struct node *n, struct node *t, struct node *d,
		     struct node *nd, const char *newname, char *err, size_t errn)
{
	if ((node_is(ns, d, &ns_scripts_kind) && d->xk == X_SCRDIR) ||
	    (node_is(ns, nd, &ns_scripts_kind) && nd->xk == X_SCRDIR))
		return scr_rename(ns, n, t, d, nd, newname, err, errn);
	return ext_no_rename(ns, n, t, d, nd, newname, err, errn);
}

static size_t sk_list_lazy(struct ns *ns, struct node *d, struct ns_dir *dir)
{
	return d->xk == X_SCRDIR ? scr_list_lazy(ns, d, dir) : 0;
}

static struct node *sk_lookup_lazy(struct ns *ns, struct node *d, const char *name)
{
	return d->xk == X_SCRDIR ? scr_lookup_lazy(ns, d, name) : NULL;
}

/* A script's node the kernel forgot: its content stays with the app
 * (xscript); the node goes. */
static bool sk_reclaim(struct ns *ns, struct node *n)
{
	if (n->xk != X_QVS)
		return false;
	scr_forget_node(ns, n);
	struct node *d = n->parent;
	if (d && cs_of(d)->by_id && n->id && strmap_get(cs_of(d)->by_id, n->id) == n)
		strmap_del(cs_of(d)->by_id, n->id);
	return true;
}

const struct ns_kind ns_scripts_kind = {
	.name = SCRIPTS_KIND,
	.root_kids = sk_root_kids,
	.space_kids = scr_add_dir,
	.drop_caches = sk_drop_caches,
	.free = sk_free,
	.fresh = sk_fresh,
	.listed = sk_listed,
	.fill_attr = sk_fill_attr,
	.writable = sk_writable,
	.xattr = sk_xattr,
	.setxattr = sk_setxattr,
	.open = sk_open,
	.read = sk_read,
	.write = scr_write,
	.release = sk_release,
	.flush = sk_flush,
	.truncate = sk_truncate,
	.create = scr_create,
	.unlink = scr_unlink,
	.rmdir = sk_rmdir,
	.rename = sk_rename,
	.attrs_need_fetch = sk_attrs_need_fetch,
	.list_lazy = sk_list_lazy,
	.lookup_lazy = sk_lookup_lazy,
	.reclaim = sk_reclaim,
	.note_changed = sk_note_changed,
};
