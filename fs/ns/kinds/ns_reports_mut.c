/*
 * ns_reports_mut.c - creating reports through reports/ (docs/SEMANTICS.md "Reports"):
 * a new NAME.json there (X_NEW) holds a report request in memory until its
 * close, which POSTs it (reports_create); the report's id then goes into the
 * registry and the file's name gives way to the report's directory
 * "NAME (<id>)/" (ns_reports.c).
 *
 * Rules, as for new resource files (ns_mut.c):
 *  - an empty file creates nothing; content that is not one JSON object, or
 *    not a report request, fails the close with EINVAL before anything is
 *    sent, keeps the content, and says why in user.qlik.error;
 *  - the POST is never repeated after a failure that may have reached the
 *    tenant (reports_create retries only 429); a failed create keeps the
 *    file, so it can be fixed and saved again;
 *  - once created, the open handle keeps its content, but later writes
 *    through it create nothing (EPERM at close): a report cannot be changed;
 *  - names tools use for temporary files, and names not ending in .json,
 *    are scratch files in memory (R_SCRATCH); renaming one to NAME.json
 *    sends it (`jq ... > reports/t && mv reports/t reports/q1.json`).
 *
 * Locks: ns->lock held on entry; dropped around the POST and the writes to
 * the state directory that follow it.
 */
#include "ns/kinds/ns_reports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/errmap.h"
#include "util/jsonfmt.h"
#include "util/names.h"
#include "ns/core/ns_mut.h"
#include "actions/reports.h"
#include "util/statedir.h"

#define REQUEST_FILE "request.json"

/* Is name, in reports/, a report request (else a scratch file)? */
static bool is_request_name(const char *name)
{
	return !names_is_scratch(name) && !mut_ends_with(name, REJECTED) &&
	       mut_ends_with(name, ".json") && strcmp(name, ".json");
}

int rep_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn)
{
	struct node *n;
	if (!is_request_name(name)) {
		n = mut_scratch_new(ns, d, name);
	} else {
		n = node_new_of(ns, d, name, &ns_reports_kind, false);
		if (n) {
			n->xk = X_NEW;
			n->mtime_ms = n->ctime_ms = ns_wall_ms();
			n->mem_dirty = true;
		}
	}
	(void)err, (void)errn;
	if (!n)
		return -ENOMEM;
	*out = n;
	return 0;
}

int rep_truncate(struct ns *ns, struct node *n, uint64_t size)
{
	return mut_mem_truncate(ns, n, size);
}

/* Parses what was written: one JSON object, else -EINVAL saying where. */
static int parse_request(const char *data, size_t len, cJSON **out, char *err, size_t errn)
{
	cJSON *j = NULL;
	int rc = mut_parse_json(data, len, &j, err, errn);
	if (rc)
		return rc;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		errmsg_set(err, errn, "a report request is one JSON object (the body of "
				      "POST /api/v1/reports): nothing was sent");
		return -EINVAL;
	}
	*out = j;
	return 0;
}

/* The report's name: the file's name without ".json", decoded. */
static char *report_name(const char *file)
{
	char base[NAMES_MAX + 1], dec[NAMES_MAX + 1];
	size_t l = strlen(file) - 5;
	if (l >= sizeof(base))
		l = sizeof(base) - 1;
	memcpy(base, file, l);
	base[l] = '\0';
	return strdup(names_decode(base, dec, sizeof(dec)) > 0 ? dec : base);
}

/* Keeps the request as sent, for request.json (best effort: without it the
 * report only lacks that file). */
static void save_request(const char *rdir, const char *id, const cJSON *doc)
{
	char dir[4096];
	size_t len;
	if (snprintf(dir, sizeof(dir), "%s/%s", rdir, id) >= (int)sizeof(dir) ||
	    statedir_mkdir(rdir, id))
		return;
	char *txt = jsonfmt_pretty(doc, &len);
	if (txt)
		statedir_write_atomic(dir, REQUEST_FILE, txt, len);
	free(txt);
}

/* Sends the request n holds.  Lock held; dropped during the POST. */
static int send_request(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct xreports *x = rep_state(ns);
	cJSON *doc = NULL;
	char *id = NULL, *otype = NULL;
	int rc = rep_registry(ns, err, errn);
	if (!rc)
		rc = parse_request(body_of(n)->mem, body_of(n)->memlen, &doc, err, errn);
	if (rc) {
		mut_node_set_errmsg(n, err);
		return rc;
	}
	char *name = report_name(n->name), *body = malloc(body_of(n)->memlen);
	size_t len = body_of(n)->memlen;
	if (!name || !body) {
		free(name);
		free(body);
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	memcpy(body, body_of(n)->mem, len);
	if ((rc = mut_node_lock_change(ns, n, err, errn))) {
		free(name);
		free(body);
		cJSON_Delete(doc);
		mut_node_set_errmsg(n, err);
		return rc;
	}
	n->mem_dirty = false;
	pthread_mutex_unlock(&ns->lock);
	int64_t now = ns_wall_ms();
	int reg_rc = 0;
	char regerr[512] = "";
	rc = reports_create(ns->o.client, body, len, &id, &otype, err, errn);
	if (!rc) {
		save_request(x->rdir, id, doc);
		reg_rc = rep_reg_change(ns->o.state_dir, id, name, otype ? otype : "", now, regerr,
					sizeof(regerr));
	}
	pthread_mutex_lock(&ns->lock);
	mut_node_unlock_change(ns, n);
	if (!rc) {
		n->id = id;
		id = NULL;
		node_detach(ns, n); /* the report's directory takes over */
		if (!rep_dir_add(ns, n->id, name, otype, now) && !reg_rc)
			reg_rc = -ENOMEM;
		if (reg_rc)
			errmsg_set(err, errn, "report %s was created, but it will not be listed after a "
				  "remount: %s", n->id, regerr[0] ? regerr : strerror(-reg_rc));
		rc = reg_rc;
	}
	mut_node_set_errmsg(n, rc ? err : NULL);
	free(id);
	free(otype);
	free(name);
	free(body);
	cJSON_Delete(doc);
	return rc;
}

int rep_flush(struct ns *ns, struct node *n, char *err, size_t errn)
{
	if (!n->mem_dirty)
		return 0;
	if (n->id) {
		n->mem_dirty = false;
		errmsg_set(err, errn, "this file already created report %s, which cannot be changed: "
			  "write a new file for another report", n->id);
		return -EPERM;
	}
	/* An empty file creates nothing (yet): a shell's `> f` closes a
	 * duplicate of the descriptor before anything is written. */
	if (n->gone || !body_of(n)->memlen)
		return 0;
	return send_request(ns, n, err, errn);
}

int rep_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
	       const char *newname, char *err, size_t errn)
{
	bool mine = node_is(ns, n, &ns_reports_kind), t_mine = node_is(ns, t, &ns_reports_kind);
	bool mem = n->role == R_SCRATCH || (mine && n->xk == X_NEW && !n->id);
	bool t_mem = t && (t->role == R_SCRATCH || (t_mine && t->xk == X_NEW && !t->id));
	(void)d;
	if (!mem || (t && !t_mem)) {
		errmsg_set(err, errn, "a report cannot be renamed, nor replaced by renaming onto it");
		return -EPERM;
	}
	if (t && t != n)
		mut_mem_node_remove(ns, t);
	node_detach(ns, n);
	int rc = node_attach(ns, nd, n, newname);
	if (rc)
		return rc;
	if (!is_request_name(newname)) {
		n->role = R_SCRATCH;
		n->xk = 0;
		return 0;
	}
	node_set_kind(ns, n, &ns_reports_kind);
	n->xk = X_NEW;
	n->mem_dirty = true;
	return rep_flush(ns, n, err, errn); /* a file renamed here is a request: sent now */
}

/* ---- the kind: reports/ and what is in it ---- */

/* reports/ at the root, with its state, when there is a state directory */
static void rk_root_kids(struct ns *ns, struct node *root)
{
	if (!ns->o.state_dir || rep_state(ns))
		return;
	struct xreports *x = calloc(1, sizeof(*x));
	if (!x || !(x->reps = strmap_new()) ||
	    asprintf(&x->rdir, "%s/%s", ns->o.state_dir, REPORTS_DIR) < 0) {
		if (x)
			strmap_free(x->reps);
		free(x);
		return;
	}
	ns_kstate_set(ns, &ns_reports_kind, x);
	struct node *rep = node_new_of(ns, root, REPORTS_DIR, &ns_reports_kind, true);
	if (rep) {
		rep->pinned = true;
		rep->xk = X_REPORTS;
	}
}

static void rk_free(struct ns *ns)
{
	struct xreports *x = rep_state(ns);
	if (!x)
		return;
	rep_free_all(x);
	strmap_free(x->reps);
	free(x->rdir);
	free(x);
	ns_kstate_set(ns, &ns_reports_kind, NULL);
}

static void rk_drop_caches(struct ns *ns)
{
	if (rep_state(ns))
		rep_drop_caches(rep_state(ns));
}

static int rk_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	int rc = rep_listed(ns, d, err, errn);
	return rc ? rc : ext_still_there(d);
}

static int rk_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	int rc = rep_fresh(ns, n, err, errn);
	return rc ? rc : ext_still_there(n);
}

static bool rk_writable(const struct node *n)
{
	return n->xk == X_NEW;
}

static const char *rk_xattr(struct ns *ns, const struct node *n, const char *name)
{
	(void)ns;
	if (!strcmp(name, "user.qlik.error"))
		return n->errmsg;
	if (n->xk == X_REPORTS || n->xk == X_NEW)
		return NULL;
	if (!strcmp(name, "user.qlik.id"))
		return n->id;
	if (!strcmp(name, "user.qlik.type"))
		return n->xk == X_REPORT ? "report" : n->xk == X_OUTPUT ? "report-output" : NULL;
	return NULL;
}

static ssize_t rk_read(struct ns_file *f, char *buf, size_t size, off_t off, char *err,
		       size_t errn)
{
	(void)err, (void)errn;
	return rep_read(f, buf, size, off);
}

static void rk_release(struct ns_file *f)
{
	rep_release(f);
	f->ext = NULL;
}

static int rk_flush(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn)
{
	(void)f;
	return n->xk == X_NEW ? rep_flush(ns, n, err, errn) : 0;
}

static int rk_truncate(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size)
{
	(void)f;
	return n->xk == X_NEW ? rep_truncate(ns, n, size) : -EACCES;
}

static int rk_create(struct ns *ns, struct node *d, const char *name, struct node **out,
		     char *err, size_t errn)
{
	if (d->xk == X_REPORTS)
		return rep_create(ns, d, name, out, err, errn);
	return ext_no_create(ns, d, name, out, err, errn);
}

static int rk_unlink(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	switch (n->xk) {
	case X_NEW:
		mut_mem_node_remove(ns, n);
		return 0;
	case X_STATUS:
	case X_REQUEST:
	case X_OUTPUT:
		/* these go with their report (rmdir of its directory forgets it);
		 * removing one alone is accepted and changes nothing, so that
		 * rm -r of the report's directory works */
		ns_inval_entry(ns, d, n->name);
		return 0;
	default:
		errmsg_set(err, errn, "this file cannot be removed");
		return -EPERM;
	}
}

static int rk_rmdir(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn)
{
	switch (n->xk) {
	case X_REPORT:
		return rep_forget(ns, n, err, errn);
	case X_OUTDIR:
		/* goes with its report, as above: rm -r works */
		ns_inval_entry(ns, d, n->name);
		return 0;
	default:
		errmsg_set(err, errn, "reports/ cannot be removed (rmdir a report's directory "
				      "to forget that report)");
		return -EPERM;
	}
}

/* Within reports/: a request file's rename (rep_rename).  A request moved
 * into another kind's directory (scripts/) is that kind's to judge. */
static int rk_rename(struct ns *ns, struct node *n, struct node *t, struct node *d,
		     struct node *nd, const char *newname, char *err, size_t errn)
{
	if (d == nd && node_is(ns, d, &ns_reports_kind) && d->xk == X_REPORTS)
		return rep_rename(ns, n, t, d, nd, newname, err, errn);
	const struct ns_kind *k = KIND(ns, nd);
	if (d != nd && k && k != &ns_reports_kind && k->rename)
		return k->rename(ns, n, t, d, nd, newname, err, errn);
	return ext_no_rename(ns, n, t, d, nd, newname, err, errn);
}

const struct ns_kind ns_reports_kind = {
	.name = REPORTS_KIND,
	.root_kids = rk_root_kids,
	.drop_caches = rk_drop_caches,
	.free = rk_free,
	.fresh = rk_fresh,
	.listed = rk_listed,
	.fill_attr = rep_fill_attr,
	.writable = rk_writable,
	.xattr = rk_xattr,
	.open = rep_open,
	.read = rk_read,
	.write = ext_no_write,
	.release = rk_release,
	.flush = rk_flush,
	.truncate = rk_truncate,
	.create = rk_create,
	.unlink = rk_unlink,
	.rmdir = rk_rmdir,
	.rename = rk_rename,
	.attrs_need_fetch = ext_attrs_known,
};
