/*
 * ns_reports.h - what ns_reports.c (reports/, a report's directory, its
 * status and outputs) and ns_reports_mut.c (new requests; the kind's table)
 * share (docs/SEMANTICS.md "Reports"):
 *
 *   reports/                     X_REPORTS one directory per remembered report
 *     NAME.json                  X_NEW     a request being written: POSTed at close
 *     <name> (<id>)/             X_REPORT
 *       status.json              X_STATUS  GET /reports/{id}/status (cached 2 s)
 *       request.json             X_REQUEST the request as sent (a local copy)
 *       outputs/                 X_OUTDIR
 *         <outputId>.<ext>       X_OUTPUT  an output, downloaded to a local copy
 *
 * Every reports node but X_REPORTS and X_NEW has node->id = the report id.
 * Locks: ns->lock held on entry (see ns_ext.h).
 */
#ifndef QLIKFS_NS_REPORTS_H
#define QLIKFS_NS_REPORTS_H

#include "ns/kinds/ns_ext.h"

#define REPORTS_DIR "reports"

/* The kind (its table in ns_reports_mut.c; ns_reports.c finds it by name);
 * its nodes' xk: */
extern const struct ns_kind ns_reports_kind;
enum repkind {
	X_REPORTS = 1,
	X_NEW,
	X_REPORT,
	X_STATUS,
	X_REQUEST,
	X_OUTDIR,
	X_OUTPUT,
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

#endif
