/*
 * ns_ext.h - the parts of the namespace that are not resources of a
 * collection: reports/ (ns_reports.c, ns_reports_mut.c) and the api control
 * file for raw requests (ns_api.c).  They are R_EXT nodes; node->xk says
 * which.  The core (ns.c, ns_file.c, ns_dirops.c, ns_mut.c) reaches them only
 * through the ext_* hooks below, each called where the core would otherwise
 * handle a role of its own; ns_ext.c dispatches on xk.
 *
 * The tree (docs/SEMANTICS.md "Reports", "Raw requests"):
 *
 *   api                          X_API     the raw-request control file
 *   reports/                     X_REPORTS one directory per remembered report
 *     NAME.json                  X_NEW     a request being written: POSTed at close
 *     <name> (<id>)/             X_REPORT
 *       status.json              X_STATUS  GET /reports/{id}/status (cached 2 s)
 *       request.json             X_REQUEST the request as sent (a local copy)
 *       outputs/                 X_OUTDIR
 *         <outputId>.<ext>       X_OUTPUT  an output, downloaded to a local copy
 *
 * Every ext node but X_API, X_REPORTS and X_NEW has node->id = the report id.
 *
 *   scripts/                     X_SCRDIR  at the root, in each space and @personal
 *     NAME.qvs                   X_QVS     an app's load script (id: the app's id)
 *     .history/                  X_HISTROOT hidden: reached by name
 *       NAME/                    X_HISTDIR one per script (id: the app's id)
 *         <time>.qvs             X_HISTVER an older version (sname: its scriptId)
 *   reloads/                     X_RELOADS (ns_reloads.c)
 *     new                        X_RLNEW   a write starts a reload
 *     <reloadId>/                X_RELOAD  (id: the reload's id, for it and its files)
 *       reload.json              X_RLJSON
 *       log                      X_RLLOG
 *       wait                     X_RLWAIT  a read blocks until the reload ends
 *       cancel                   X_RLCANCEL a write cancels it
 *     by-app/                    X_RLBYAPP hidden: reached by name (ns_reloads_app.c)
 *       <app> (<app id>)/        X_RLAPP   one per app of apps/ (id: the app's id)
 *         <reloadId>/            X_RELOAD  its reloads, as in reloads/
 *   data-model/, lineage/        X_ADDIR   (ns_appdata.c; sname: "metadata", "lineage")
 *     NAME.json                  X_ADFILE  an app's (id: the app's id)
 *
 * Locks: as the rest of the namespace.  Every hook runs with ns->lock held
 * (except ext_read, ext_write and ext_release, which take what they need); a
 * hook that sends a request drops the lock meanwhile and says so.
 */
#ifndef QLIKFS_NS_EXT_H
#define QLIKFS_NS_EXT_H

#include "ns/core/ns_internal.h"

enum xkind {
	X_API = 1,
	X_REPORTS,
	X_NEW,
	X_REPORT,
	X_STATUS,
	X_REQUEST,
	X_OUTDIR,
	X_OUTPUT,
	/* the operations files (ns_ops.c): hidden at the root, reachable by name */
	X_OPSTATUS, /* .status.json: counters, a snapshot made at stat and kept 1 s */
	X_ERRORS,   /* .errors: the changes that failed, read live (errlog.h) */
	/* load scripts (ns_scripts*.c) */
	X_SCRDIR,
	X_QVS,
	X_HISTROOT,
	X_HISTDIR,
	X_HISTVER,
	/* reloads (ns_reloads.c) */
	X_RELOADS,
	X_RLNEW,
	X_RELOAD,
	X_RLJSON,
	X_RLLOG,
	X_RLWAIT,
	X_RLCANCEL,
	X_RLBYAPP,
	X_RLAPP,
	/* data model and lineage (ns_appdata.c) */
	X_ADDIR,
	X_ADFILE,
};

#define X_IS_SCRIPTS(k) ((k) >= X_SCRDIR && (k) <= X_HISTVER)
#define X_IS_HISTORY(k) ((k) == X_HISTROOT || (k) == X_HISTDIR)
#define X_IS_RELOADS(k) ((k) >= X_RELOADS && (k) <= X_RLAPP)
#define X_IS_APPDATA(k) ((k) == X_ADDIR || (k) == X_ADFILE)

#define API_NAME "api"
#define REPORTS_DIR "reports"
#define SCRIPTS_DIR "scripts"
#define HISTORY_DIR ".history"
#define RELOADS_DIR "reloads"
#define SCR_DEFAULT_MSG "saved through qlikfs"

/* ---- the kind's operations (the table ns_ext_kind; the dispatcher calls
 * them through it) ---- */
extern const struct ns_kind ns_ext_kind;


/* the root's fixed entries (ns_life.c): api and reports/, when there is a state dir;
 * scripts/ (unless -o noscripts) and reloads/. */
void ext_add_root_kids(struct ns *ns, struct node *root);
/* a space's fixed entries (ns_res.c): its scripts/. */
void ext_add_space_kids(struct ns *ns, struct node *space);
/* ns_note_changed: resources of kind changed behind our back (apps: their
 * scripts and data models are fetched again at next use). */
void ext_note_changed(struct ns *ns, enum rkind kind, const char *const *ids, size_t n);
/* ns_opendir: would n's attributes take a request of their own? (then it
 * is listed without attributes and the kernel looks it up) */
bool ext_attrs_need_fetch(struct ns *ns, struct node *n);
/* ns_free: everything ns->ext holds. */
void ext_free(struct ns *ns);
/* ns_drop_caches (SIGHUP): statuses and output listings are fetched again. */
void ext_drop_caches(struct ns *ns);
/* ensure_node_listed / ensure_node_fresh of an R_EXT node (may drop the lock). */
int ext_listed(struct ns *ns, struct node *d, char *err, size_t errn);
int ext_fresh(struct ns *ns, struct node *n, char *err, size_t errn);
/* ns_fill_attr: adjusts what the core filled in (size, attribute lifetime). */
void ext_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
bool ext_writable(const struct node *n);
const char *ext_xattr(struct ns *ns, const struct node *n, const char *name);
/* ns_open: f is allocated and its flags set; fills the rest (f->mem, f->blob
 * or f->ext).  May drop the lock.  On failure f->ext is NULL. */
int ext_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	     size_t errn);
/* ns_read / ns_write / ns_release of a handle with f->ext (no lock held). */
ssize_t ext_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err, size_t errn);
ssize_t ext_write(struct ns_file *f, const char *data, size_t size, off_t off);
void ext_release(struct ns_file *f);
/* The glue opened f: with the caller's uid for the api file (ns_file_opened). */
bool ext_opened(struct ns_file *f, uid_t caller);
/* ns_flush and ns_truncate of an R_EXT node. */
int ext_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn);
int ext_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size);
/* ns_create in an R_EXT directory: *out is the new node (opened by the core). */
int ext_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn);
/* ns_unlink / ns_rmdir of an R_EXT node n (in d). */
int ext_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
int ext_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
/* ns_rename when n, t (the target, may be NULL), d or nd is an R_EXT node. */
int ext_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
	       const char *newname, char *err, size_t errn);

/* ---- shared by ns_ext.c, ns_reports*.c, ns_api.c ---- */

struct xrep;

struct ns_ext {
	/* reports/ and api: only with a state directory (rdir not NULL) */
	char *rdir;               /* <state dir>/reports: request copies and output copies */
	struct strmap *reps;      /* report id -> struct xrep (remembered reports) */
	struct xrep **all;        /* every xrep made, forgotten ones too: freed with ns */
	size_t nall, capall;
	bool listed;              /* reports/ was filled from the registry */
	/* scripts (ns_scripts.c) */
	struct strmap *scripts;   /* app id -> struct xscript */
	struct xscript **sall;
	size_t nsall, capsall;
	/* reloads (ns_reloads.c) */
	struct xreloads *rl;
	/* data model and lineage (ns_appdata.c): "<kind>:<app id>" -> struct xadata */
	struct strmap *adata;
	struct xadata **adall;
	size_t nadall, capadall;
	/* a walk's readahead in scripts/, data-model/, lineage/ (ext_readahead):
	 * the directory of the last miss, its walk, and the misses in a row */
	uint64_t ra_dir;
	unsigned ra_walk, ra_run;
};

/* Handles with state of their own (f->ext) start with this. */
struct xhandle {
	enum xkind kind;
};

/* ns_reports.c */
int rep_listed(struct ns *ns, struct node *d, char *err, size_t errn);
int rep_fresh(struct ns *ns, struct node *n, char *err, size_t errn);
void rep_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
int rep_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	     size_t errn);
ssize_t rep_read(struct ns_file *f, char *buf, size_t size, off_t off);
void rep_release(struct ns_file *f);
struct xrep *rep_of(struct ns *ns, const struct node *n);
struct node *rep_dir_add(struct ns *ns, const char *id, const char *name, const char *otype,
			 int64_t created_ms);
int rep_registry(struct ns *ns, char *err, size_t errn);
int rep_reg_change(const char *state_dir, const char *id, const char *name, const char *otype,
		   int64_t created_ms, char *err, size_t errn);
void rep_free_all(struct ns_ext *x);
void rep_drop_caches(struct ns_ext *x);
int rep_forget(struct ns *ns, struct node *dir, char *err, size_t errn);

/* ns_reports_mut.c */
int rep_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn);
int rep_flush(struct ns *ns, struct node *n, char *err, size_t errn);
int rep_truncate(struct ns *ns, struct node *n, uint64_t size);
int rep_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
	       const char *newname, char *err, size_t errn);

/* ns_ops.c: .status.json and .errors */
#define STATUS_NAME ".status.json"
#define ERRORS_NAME ".errors"
void ops_add_root_kids(struct ns *ns, struct node *root);
void ops_free(struct ns *ns);
bool ops_owns(const struct node *n);
void ops_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
int ops_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed);
ssize_t ops_read(struct ns_file *f, char *buf, size_t size, off_t off);
void ops_release(struct ns_file *f);

/* ns_scripts.c, ns_scripts_mut.c, ns_scripts_hist.c */
struct xscript;
void scr_add_dir(struct ns *ns, struct node *parent);
void scr_free_all(struct ns_ext *x);
void scr_drop_caches(struct ns_ext *x);
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

/* ns_reloads.c; rl_add_root and rl_listed: ns_reloads_app.c */
void rl_add_root(struct ns *ns, struct node *root);
void rl_free(struct ns_ext *x);
void rl_drop_caches(struct ns_ext *x);
int rl_listed(struct ns *ns, struct node *d, char *err, size_t errn);
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

/* ns_appdata.c */
struct xadata;
void ad_add_root(struct ns *ns, struct node *root);
void ad_free_all(struct ns_ext *x);
void ad_drop_caches(struct ns_ext *x);
void ad_note_changed(struct ns *ns, const char *app);
int ad_listed(struct ns *ns, struct node *d, char *err, size_t errn);
void ad_prefetch(struct ns *ns, struct node *d, struct node *first, size_t max);
size_t ad_list_lazy(struct ns *ns, struct node *d, struct ns_dir *dir);
struct node *ad_lookup_lazy(struct ns *ns, struct node *d, const char *name);
int ad_fresh_node(struct ns *ns, struct node *n, char *err, size_t errn);
bool ad_attrs_need_fetch(struct ns *ns, struct node *n);
void ad_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
int ad_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	    size_t errn);

/* ns_api.c */
int api_open(struct ns *ns, struct node *n, struct ns_file *f);
ssize_t api_read(struct ns_file *f, char *buf, size_t size, char *err, size_t errn);
ssize_t api_write(struct ns_file *f, const char *data, size_t size);
void api_release(struct ns_file *f);
void api_set_caller(struct ns_file *f, uid_t caller);

#endif
