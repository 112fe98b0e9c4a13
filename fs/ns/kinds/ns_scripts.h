/*
 * ns_scripts.h - what ns_scripts.c (scripts/ and its NAME.qvs files) and
 * ns_scripts_hist.c (scripts/.history/) share.  Locks: ns->lock held.
 */
#ifndef QLIKFS_NS_SCRIPTS_H
#define QLIKFS_NS_SCRIPTS_H

#include "actions/scripts.h"
#include "ns/kinds/ns_ext.h"

#define SCRIPTS_DIR "scripts"
#define HISTORY_DIR ".history"
#define SCR_DEFAULT_MSG "saved through qlikfs"

/* The kind (its table in ns_scripts_mut.c; the other files find it by
 * name); its nodes' xk: */
extern const struct ns_kind ns_scripts_kind;
enum scrkind {
	X_SCRDIR = 1, /* scripts/: at the root, in each space and @personal */
	X_QVS,        /* NAME.qvs: an app's load script (id: the app's id) */
	X_HISTROOT,   /* .history/, hidden: reached by name */
	X_HISTDIR,    /* NAME/: one per script (id: the app's id) */
	X_HISTVER,    /* <time>.qvs: an older version (sname: its scriptId) */
};
#define X_IS_HISTORY(k) ((k) == X_HISTROOT || (k) == X_HISTDIR)

struct xhist;

/* The kind's state (ns_kstate of ns_scripts_kind): every app's script, by
 * app id and in a vector (freed with the namespace), and a walk's readahead. */
struct xscripts {
	struct strmap *scripts; /* app id -> struct xscript */
	struct xscript **sall;
	size_t nsall, capsall;
	struct ext_ra ra;
};
#define SCRIPTS_KIND "scripts" /* its table's name (ns_kind_named) */
static inline const struct ns_kind *scr_kind(const struct ns *ns)
{
	return ns_kind_named(ns, SCRIPTS_KIND);
}
static inline struct xscripts *scr_state(const struct ns *ns)
{
	return ns_kstate(ns, scr_kind(ns));
}

/* One app's script, shared by every NAME.qvs of that app (the top
 * scripts/ and its space's).  Never freed while the namespace lives. */
struct xscript {
	char app[SCRIPTS_ID_MAX + 1];
	struct script_ver ver; /* ver.id "" before the first fetch */
	char *text;
	size_t len;
	int64_t at; /* ns_now() of the fetch; 0: stale */
	/* one at a time: the fetch in flight (readers share its outcome) or
	 * the save (not shared: readers and other saves wait for it) */
	struct flight fetch, save;
	char *msg;  /* user.qlik.message: the next save's version message */
	struct node *nodes[4];
	int64_t hidden_until; /* ns_now(): a removed NAME.qvs stays away until then */
	struct xhist *hist; /* ns_scripts_hist.c */
};

/* An open script: its private copy. */
struct xqvs_handle {
	struct xhandle h;
	char *buf;
	size_t len, cap;
	bool written; /* changed through this handle since the last save */
	char base[SCRIPTS_ID_MAX + 1];
};
struct xscript *xs_get(struct ns *ns, const char *app); /* made when new; NULL on OOM */
struct xscript *scr_of(struct ns *ns, const struct node *n); /* an X_QVS node's, or NULL */
/* Waits (bounded) until no fetch or save of s is in flight: 0 or -EIO. */
int xs_wait(struct ns *ns, struct xscript *s, char *err, size_t errn);
/* Takes text (owned) as s's current version ver, fetched at `at`. */
void xs_apply(struct ns *ns, struct xscript *s, const struct script_ver *ver, char *text,
	      size_t len, int64_t at);
/* Makes s fresh: one fetch (two requests) when stale, the lock dropped. */
int scr_fetch(struct ns *ns, struct xscript *s, char *err, size_t errn);
/* A NAME.qvs node of app in scripts/ directory d (registered in cs_of(d)->by_id). */
struct node *qvs_node_new(struct ns *ns, struct node *d, const char *name, const char *app);
/* The app whose script `name` names in scripts/ directory d, or NULL. */
const char *scr_app_for_name(struct node *d, const char *name);
bool xs_fresh(struct ns *ns, const struct xscript *s);
void xs_note_node(struct xscript *s, struct node *n); /* n shows s: invalidated with it */
void scr_hist_stale(struct xscript *s); /* its history is listed again at next use */
bool qvs_name(const char *json_name, char *out, size_t n); /* NAME.json -> NAME.qvs */

/* ns_scripts.c, ns_scripts_mut.c, ns_scripts_hist.c */
struct xscript;
struct xscripts;
void scr_add_dir(struct ns *ns, struct node *parent);
void scr_free_all(struct xscripts *x);
void scr_drop_caches(struct xscripts *x);
void scr_note_changed(struct ns *ns, const char *app);
int scr_sync(struct ns *ns, struct node *d, char *err, size_t errn);
int scr_listed(struct ns *ns, struct node *d, char *err, size_t errn);
void scr_prefetch(struct ns *ns, struct node *d, struct node *first, size_t max);
/* scripts/ gives its scripts nodes only when looked up (ns_kind list_lazy) */
size_t scr_list_lazy(struct ns *ns, struct node *d, struct ns_dir *dir);
struct node *scr_lookup_lazy(struct ns *ns, struct node *d, const char *name);
/* n (an X_QVS node about to be freed) is no longer one of its script's nodes. */
void scr_forget_node(struct ns *ns, struct node *n);
int scr_fresh(struct ns *ns, struct node *n, char *err, size_t errn);
bool scr_attrs_need_fetch(struct ns *ns, struct node *n);
void scr_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
int scr_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	     size_t errn);
ssize_t scr_read(struct ns_file *f, char *buf, size_t size, off_t off);
ssize_t scr_write(struct ns_file *f, const char *data, size_t size, off_t off);
int scr_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size);
void scr_release(struct ns_file *f);
int scr_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn);
int scr_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn);
int scr_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
int scr_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
	       const char *newname, char *err, size_t errn);
int scr_set_message(struct ns *ns, struct node *n, const char *value, size_t size);
const char *scr_message(struct ns *ns, const struct node *n);
void scr_hist_free(struct xscript *s);
int scr_hist_listed(struct ns *ns, struct node *d, char *err, size_t errn);
int scr_hist_fresh(struct ns *ns, struct node *n, char *err, size_t errn);
void scr_hist_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
int scr_hist_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		  char *err, size_t errn);
const char *scr_hist_xattr(struct ns *ns, const struct node *n, const char *name);

#endif
