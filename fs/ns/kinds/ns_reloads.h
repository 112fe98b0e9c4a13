/*
 * ns_reloads.h - what ns_reloads.c (reloads/ and each reload's directory)
 * and ns_reloads_app.c (reloads/by-app/) share.  Locks: ns->lock held.
 */
#ifndef QLIKFS_NS_RELOADS_H
#define QLIKFS_NS_RELOADS_H

#include <cjson/cJSON.h>

#include "ns/kinds/ns_ext.h"

#define RELOADS_DIR "reloads"
#define RL_BYAPP "by-app"

/* The kind (its table in ns_reloads_app.c; ns_reloads.c finds it by name),
 * a role of its own; its nodes' xk: */
extern const struct ns_kind ns_reloads_kind;
#define RELOADS_KIND "reloads"
static inline const struct ns_kind *rl_kind(const struct ns *ns)
{
	return ns_kind_named(ns, RELOADS_KIND);
}
enum rlkind {
	X_RELOADS = 1, /* reloads/ */
	X_RLNEW,       /* reloads/new: a write starts a reload */
	X_RELOAD,      /* <reloadId>/ (id: the reload's id, for it and its files) */
	X_RLJSON,      /* reload.json */
	X_RLLOG,       /* log */
	X_RLWAIT,      /* wait: a read blocks until the reload ends */
	X_RLCANCEL,    /* cancel: a write cancels it */
	X_RLBYAPP,     /* by-app/, hidden: reached by name */
	X_RLAPP,       /* <app> (<app id>)/: one per app of apps/ (id: the app's id) */
};

/* The kind's state on the namespace (ns_kstate): every reload seen. */
struct xreloads;

struct xreload; /* one reload's state, shared by every directory showing it */

/* ns_reloads.c */
/* reloads/ and reloads/new in root (the rest of rl_add_root); NULL when
 * they cannot be made. */
struct node *rl_setup(struct ns *ns, struct node *root);
/* rl_listed of reloads/ and of a reload's directory. */
int rl_listed_own(struct ns *ns, struct node *d, char *err, size_t errn);
/* The reload's state (made when new; never freed while the namespace
 * lives), or NULL for a name that cannot be a reload id. */
struct xreload *rl_entry(struct ns *ns, const char *id);
/* Its directory in d (an app's directory of by-app/) with its four files,
 * made when missing.  created_ms: the reload's creationTime (0: unknown). */
struct node *rl_view(struct ns *ns, struct node *d, struct xreload *x, int64_t created_ms);
/* n, a reload's directory of by-app/, is being detached. */
void rl_view_gone(struct ns *ns, struct node *n);
/* Takes a listing's entry (without its log) for x while x is active. */
void rl_take_listed(struct ns *ns, struct xreload *x, cJSON *e);
/* A time field of a Reload in ms since the epoch (0: absent). */
int64_t rl_time_of(const cJSON *o, const char *k);

/* the kind's operations on reloads/ and a reload's directory and files */
void rl_free(struct ns *ns);
void rl_drop_caches(struct ns *ns);
int rl_fresh(struct ns *ns, struct node *n, char *err, size_t errn);
void rl_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
int rl_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	    size_t errn);
ssize_t rl_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err, size_t errn);
ssize_t rl_write(struct ns_file *f, const char *data, size_t size, off_t off);
void rl_release(struct ns_file *f);
int rl_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn);
int rl_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
int rl_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
const char *rl_xattr(struct ns *ns, const struct node *n, const char *name);

/* ns_reloads_app.c holds the kind's table, with the entry points that cover
 * both files (its root_kids and listed): calls go one way, app -> reloads. */

#endif
