/*
 * ns_ext.h - the kinds of the namespace that are not resources of a
 * collection, each a kind of its own (its own role, its own table, its own
 * state on the namespace: ns_kind_add, ns_kstate), registered in ns_new:
 *
 *   api            ns_api.c            the raw-request control file
 *   reports/       ns_reports*.c       requested reports and their outputs
 *   .status.json,  ns_ops.c            the operations files (hidden)
 *   .errors
 *   scripts/       ns_scripts*.c       load scripts
 *   data-model/,   ns_appdata.c        an app's data model and lineage
 *   lineage/
 *
 * and reloads/ (ns_reloads*.c), which has a header of its own
 * (ns_reloads.h): it shares only the answers of ns_ext.c below.  What they
 * share is here: the sub-kinds of their nodes (node->xk; a kind compares
 * only its own nodes' xk), the answers that are the same for several of
 * them (ns_ext.c), and their declarations.
 *
 * The tree (docs/SEMANTICS.md "Reports", "Raw requests", "Load scripts",
 * "Data model and lineage"):
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
 * Every reports node but X_REPORTS and X_NEW has node->id = the report id.
 *
 *   scripts/                     X_SCRDIR  at the root, in each space and @personal
 *     NAME.qvs                   X_QVS     an app's load script (id: the app's id)
 *     .history/                  X_HISTROOT hidden: reached by name
 *       NAME/                    X_HISTDIR one per script (id: the app's id)
 *         <time>.qvs             X_HISTVER an older version (sname: its scriptId)
 *   data-model/, lineage/        X_ADDIR   (sname: "metadata", "lineage")
 *     NAME.json                  X_ADFILE  an app's (id: the app's id)
 *
 * Locks: as the rest of the namespace.  Every operation of these kinds runs
 * with ns->lock held (except read, write and release, which take what they
 * need); one that sends a request drops the lock meanwhile and says so.
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
	/* data model and lineage (ns_appdata.c) */
	X_ADDIR,
	X_ADFILE,
};

#define X_IS_SCRIPTS(k) ((k) >= X_SCRDIR && (k) <= X_HISTVER)
#define X_IS_HISTORY(k) ((k) == X_HISTROOT || (k) == X_HISTDIR)
#define X_IS_APPDATA(k) ((k) == X_ADDIR || (k) == X_ADFILE)

#define API_NAME "api"
#define REPORTS_DIR "reports"
#define SCRIPTS_DIR "scripts"
#define HISTORY_DIR ".history"
#define SCR_DEFAULT_MSG "saved through qlikfs"

/* ---- the kinds (each its own role, registered in ns_new) ---- */
extern const struct ns_kind ns_api_kind;     /* defined in ns_api.c */
extern const struct ns_kind ns_reports_kind; /* in ns_reports_mut.c */
extern const struct ns_kind ns_ops_kind;     /* in ns_ops.c */
extern const struct ns_kind ns_scripts_kind; /* in ns_scripts_mut.c */
extern const struct ns_kind ns_appdata_kind; /* in ns_appdata.c */

/* ---- shared answers (ns_ext.c): a kind's table names them where they are
 * its answer ---- */
/* n and its ancestors are still in the tree (0), else -ENOENT. */
int ext_still_there(const struct node *n);
/* fresh / listed of a node with nothing to fetch */
int ext_fresh_none(struct ns *ns, struct node *n, char *err, size_t errn);
/* attrs_need_fetch: never (attributes are known without a request) */
bool ext_attrs_known(struct ns *ns, struct node *n);
/* xattr: user.qlik.error (why its last change failed), nothing else */
const char *ext_xattr_error(struct ns *ns, const struct node *n, const char *name);
ssize_t ext_no_write(struct ns_file *f, const char *data, size_t size, off_t off); /* -EBADF */
int ext_flush_none(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn);
int ext_no_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size); /* -EACCES */
int ext_no_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
		  size_t errn); /* -EPERM, saying where files are created */
int ext_no_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
int ext_no_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
		  const char *newname, char *err, size_t errn);
/* A walk's readahead in a kind's directory (scripts/, data-model/,
 * lineage/): a kind keeps one ext_ra; stale: n's attributes take a request;
 * prefetch fetches first and up to max-1 stale entries after it. */
struct ext_ra {
	uint64_t dir;
	unsigned walk, run;
};
void ext_readahead(struct ns *ns, struct ext_ra *ra, struct node *n, bool stale,
		   void (*prefetch)(struct ns *ns, struct node *d, struct node *first, size_t max));

/* Handles with state of their own (f->ext) start with this. */
struct xhandle {
	unsigned kind; /* the node's xk at the open */
};

/* the reports' state (ns_kstate of ns_reports_kind), when there is a state dir */
struct xrep;
struct xreports {
	char *rdir;               /* <state dir>/reports: request copies and output copies */
	struct strmap *reps;      /* report id -> struct xrep (remembered reports) */
	struct xrep **all;        /* every xrep made, forgotten ones too: freed with ns */
	size_t nall, capall;
	bool listed;              /* reports/ was filled from the registry */
};
#define REPORTS_KIND "reports" /* its table's name (ns_kind_named) */
static inline const struct ns_kind *rep_kind(const struct ns *ns)
{
	return ns_kind_named(ns, REPORTS_KIND);
}
static inline struct xreports *rep_state(const struct ns *ns)
{
	return ns_kstate(ns, rep_kind(ns));
}

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
void rep_free_all(struct xreports *x);
void rep_drop_caches(struct xreports *x);
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
