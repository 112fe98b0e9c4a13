/*
 * ns_reports.c - reports/: one directory per report this tenant's state
 * directory remembers, its status.json, request.json and outputs/ (docs/SEMANTICS.md
 * "Reports").  Creating and forgetting reports: ns_reports_mut.c.
 *
 * Where things come from:
 *  - the report directories: the registry (reports.c, <state>/reports.json),
 *    read once per mount, then changed by this mount's creates and forgets;
 *  - status.json: GET /api/v1/reports/{id}/status, kept STATUS_TTL_MS while
 *    the report is queued or processing, the mount's TTL once it is final
 *    (done, failed, aborted); a request the tenant no longer knows (404,
 *    410: expired) shows {"status": "gone", "error": ...};
 *  - outputs/: when the status is done, GET .../outputs (every output that is
 *    done and has a location), plus the local copies already made;
 *  - an output file: a local copy in <state>/reports/<id>/outputs/, made by
 *    the first open (or stat, when the listing gave no size) with
 *    reports_download() streaming to disk (memory stays bounded), fsync'd and
 *    renamed into place; never downloaded again.  It stays readable after the
 *    tenant dropped the output, until the report is forgotten.
 *
 * Invariants: an xrep is never freed while the namespace lives (forgotten
 * ones leave x->reps but stay in x->all), so a pointer to one stays valid
 * across a dropped lock.  One request per report at a time for the status
 * (st_busy) and for the outputs (out_busy), one download per output (busy);
 * waiters sleep on ns->cv.
 *
 * Locks: ns->lock held on entry everywhere (see ns_ext.h); it is dropped
 * around every request and download, never around local file work (small
 * files in the state directory).
 */
#include "ns/kinds/ns_reports.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/errmap.h"
#include "util/jsonfmt.h"
#include "util/names.h"
#include "ns/core/ns_mut.h"
#include "actions/reports.h"
#include "util/statedir.h"

#define STATUS_TTL_MS 2000    /* status of a report that is not final yet */
#define STATUS_ATTR_TTL_MS 1000 /* the kernel's copy of its attributes, meanwhile */
#define REQUEST_FILE "request.json"
#define OUTPUTS_DIR "outputs"

struct xout {
	char *file;     /* entry name = local copy's name: <encoded outputId>.<ext> */
	char *location; /* where the tenant serves it; NULL: only the local copy */
	uint64_t size;
	bool size_known;
	bool local; /* a complete copy is in <rdir>/<id>/outputs/<file> */
	bool busy;  /* a download is in flight */
	struct node *node;
};

struct xrep {
	char id[REPORTS_ID_MAX + 1];
	char otype[REPORTS_TYPE_MAX + 1];
	struct node *dir, *status, *outdir;
	char *stxt; /* status.json */
	size_t stlen;
	char state[16]; /* its "status" ("" before the first fetch) */
	int64_t st_at;  /* ns_now() of that fetch; 0: never */
	bool st_busy;
	int64_t out_at; /* the outputs listing */
	bool out_busy;
	bool scanned; /* local copies added */
	struct xout **outs;
	size_t nouts, capouts;
	bool forgetting, forgotten;
};

/* An open output: its local copy. */
struct xout_handle {
	struct xhandle h;
	int fd;
};

static bool final_state(const char *s)
{
	return !strcmp(s, "done") || !strcmp(s, "failed") || !strcmp(s, "aborted") ||
	       !strcmp(s, "gone");
}

struct xrep *rep_of(struct ns *ns, const struct node *n)
{
	return rep_state(ns) && n->id ? strmap_get(rep_state(ns)->reps, n->id) : NULL;
}

static void xout_free(struct xout *o)
{
	if (!o)
		return;
	free(o->file);
	free(o->location);
	free(o);
}

void rep_free_all(struct xreports *x)
{
	for (size_t i = 0; i < x->nall; i++) {
		struct xrep *r = x->all[i];
		for (size_t k = 0; k < r->nouts; k++)
			xout_free(r->outs[k]);
		free(r->outs);
		free(r->stxt);
		free(r);
	}
	free(x->all);
	x->all = NULL;
	x->nall = x->capall = 0;
}

void rep_drop_caches(struct xreports *x)
{
	for (size_t i = 0; i < x->nall; i++)
		x->all[i]->st_at = x->all[i]->out_at = 0;
}

/* <rdir>/<id>[/<sub>] into buf; false when it does not fit. */
static bool rep_path(const struct ns *ns, const char *id, const char *sub, char *buf, size_t n)
{
	const char *rdir = rep_state(ns)->rdir;
	int r = sub ? snprintf(buf, n, "%s/%s/%s", rdir, id, sub) : snprintf(buf, n, "%s/%s", rdir, id);
	return r > 0 && (size_t)r < n;
}

/* ---- the tree ---- */

static struct node *kid_new(struct ns *ns, struct node *parent, const char *name, bool dir,
			    enum repkind k, const char *id)
{
	struct node *n = node_new_of(ns, parent, name, rep_kind(ns), dir);
	if (!n)
		return NULL;
	n->xk = k;
	n->pinned = k != X_OUTPUT;
	n->id = id ? strdup(id) : NULL;
	n->mtime_ms = n->ctime_ms = parent->ctime_ms;
	return n;
}

static int rep_new(struct xreports *x, const char *id, const char *otype, struct xrep **out)
{
	if (x->nall == x->capall) {
		size_t cap = x->capall ? x->capall * 2 : 16;
		struct xrep **v = realloc(x->all, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		x->all = v;
		x->capall = cap;
	}
	struct xrep *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->otype, sizeof(r->otype), "%s", otype ? otype : "");
	if (strmap_put(x->reps, r->id, r) < 0) {
		free(r);
		return -ENOMEM;
	}
	x->all[x->nall++] = r;
	*out = r;
	return 0;
}

/* The directory of a report (and its fixed files) under reports/.  Returns
 * it, or NULL (out of memory, or an id no entry name can hold). */
struct node *rep_dir_add(struct ns *ns, const char *id, const char *name, const char *otype,
			 int64_t created_ms)
{
	struct xreports *x = rep_state(ns);
	struct node *top = ns_node(ns, NS_ROOT_INO);
	struct node *reports = top ? node_kid(top, REPORTS_DIR) : NULL;
	struct xrep *r = strmap_get(x->reps, id);
	char entry[NAMES_MAX + 1], path[4096];
	struct stat st;
	if (r)
		return r->dir;
	if (!reports || names_with_id(name ? name : "", id, "", entry, sizeof(entry)) < 0 ||
	    node_kid(reports, entry) || rep_new(x, id, otype, &r))
		return NULL;
	struct node *d = node_new_of(ns, reports, entry, rep_kind(ns), true);
	if (!d) {
		strmap_del(x->reps, id);
		r->forgotten = true;
		return NULL;
	}
	d->xk = X_REPORT;
	d->id = strdup(id);
	d->sname = strdup(name ? name : "");
	d->mtime_ms = d->ctime_ms = created_ms ? created_ms : ns_wall_ms();
	r->dir = d;
	r->status = kid_new(ns, d, "status.json", false, X_STATUS, id);
	if (rep_path(ns, id, REQUEST_FILE, path, sizeof(path)) && stat(path, &st) == 0) {
		struct node *q = kid_new(ns, d, REQUEST_FILE, false, X_REQUEST, id);
		if (q)
			q->size = (uint64_t)st.st_size;
	}
	r->outdir = kid_new(ns, d, OUTPUTS_DIR, true, X_OUTDIR, id);
	ns_inval_entry(ns, reports, entry); /* a negative entry the kernel may hold */
	return d;
}

static int reg_open(const char *state_dir, struct reports_reg **out, char *err, size_t errn)
{
	int rc = reports_reg_open(state_dir, out);
	if (rc)
		errmsg_set(err, errn, "%s/%s: %s", state_dir, REPORTS_REG_FILE,
		     rc == -EINVAL ? "not a registry of reports (left untouched)" : strerror(-rc));
	return rc == -ENOMEM || !rc ? rc : -EIO;
}

/* Fills reports/ from the registry, once per mount (then this mount's
 * creates and forgets keep it current). */
int rep_registry(struct ns *ns, char *err, size_t errn)
{
	struct xreports *x = rep_state(ns);
	struct reports_reg *reg = NULL;
	struct report_entry *v = NULL;
	size_t n = 0;
	if (x->listed)
		return 0;
	int rc = reg_open(ns->o.state_dir, &reg, err, errn);
	if (!rc)
		rc = reports_reg_list(reg, &v, &n);
	reports_reg_free(reg);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		rep_dir_add(ns, v[i].id, v[i].name, v[i].output_type, v[i].created_ms);
	free(v);
	x->listed = true;
	return 0;
}

/* Adds (name != NULL) or removes entry id in <state>/reports.json, starting
 * from the file's current content, under an exclusive flock() on
 * reports.lock: other mounts of the tenant with the same state directory
 * change it too, and none may write back a stale copy.  Called without
 * ns->lock.  Returns 0 or -errno with err set. */
int rep_reg_change(const char *state_dir, const char *id, const char *name, const char *otype,
		   int64_t created_ms, char *err, size_t errn)
{
	char path[4096];
	struct reports_reg *reg = NULL;
	if (snprintf(path, sizeof(path), "%s/reports.lock", state_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int rc = -errno;
		errmsg_set(err, errn, "%s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	int rc = reg_open(state_dir, &reg, err, errn);
	if (!rc)
		rc = name ? reports_reg_add(reg, id, name, otype, created_ms)
			  : reports_reg_remove(reg, id);
	if (rc == (name ? -EEXIST : -ENOENT))
		rc = 0; /* already so */
	else if (rc && reg)
		errmsg_set(err, errn, "%s/%s cannot be rewritten: %s", state_dir, REPORTS_REG_FILE,
		     strerror(-rc));
	reports_reg_free(reg);
	close(fd); /* releases the lock */
	return rc;
}

/* ---- status ---- */

static bool status_fresh(struct ns *ns, const struct xrep *r)
{
	int64_t ttl = final_state(r->state) ? ns->o.ttl_ms : STATUS_TTL_MS;
	return r->st_at && ns_now(ns) - r->st_at < ttl;
}

/* What status.json shows for a request the tenant no longer knows. */
static cJSON *gone_doc(const char *why)
{
	cJSON *o = cJSON_CreateObject();
	if (o && (!cJSON_AddStringToObject(o, "status", "gone") ||
		  !cJSON_AddStringToObject(o, "error", why))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

static void status_apply(struct ns *ns, struct xrep *r, char *txt, size_t len, const char *state)
{
	snprintf(r->state, sizeof(r->state), "%s", state);
	if (r->stxt && r->stlen == len && !memcmp(r->stxt, txt, len)) {
		free(txt);
		return;
	}
	free(r->stxt);
	r->stxt = txt;
	r->stlen = len;
	struct node *s = r->status;
	if (s) {
		s->mtime_ms = ns_wall_ms();
		s->size = len;
		if (s->reported)
			ns_inval_inode(ns, s);
	}
}

/* Makes r's status fresh: one GET when stale (the lock dropped meanwhile). */
static int rep_status(struct ns *ns, struct xrep *r, char *err, size_t errn)
{
	char id[sizeof(r->id)], state[sizeof(r->state)] = "";
	const int64_t deadline = ns_deadline(ns);
	while (r->st_busy) {
		int rc = ns_wait(ns, deadline, "a report's status", err, errn);
		if (rc)
			return rc;
	}
	if (status_fresh(ns, r))
		return 0;
	memcpy(id, r->id, sizeof(id));
	int64_t started = ns_now(ns);
	r->st_busy = true;
	pthread_mutex_unlock(&ns->lock);
	cJSON *st = NULL;
	char *txt = NULL;
	size_t len = 0;
	int rc = reports_status(ns->o.client, id, &st, err, errn);
	if (rc == -ENOENT) {
		st = gone_doc(err ? err : "");
		rc = st ? 0 : -ENOMEM;
	}
	if (!rc) {
		const char *s = json_str(st, "status");
		snprintf(state, sizeof(state), "%s", s ? s : "unknown");
		if (!(txt = jsonfmt_pretty(st, &len)))
			rc = -ENOMEM;
	}
	cJSON_Delete(st);
	pthread_mutex_lock(&ns->lock);
	r->st_busy = false;
	pthread_cond_broadcast(&ns->cv);
	if (rc)
		return rc;
	ns->stats.gets++;
	status_apply(ns, r, txt, len, state);
	r->st_at = started ? started : 1;
	return 0;
}

/* ---- outputs ---- */

static struct xout *out_find(const struct xrep *r, const char *file)
{
	for (size_t i = 0; i < r->nouts; i++)
		if (!strcmp(r->outs[i]->file, file))
			return r->outs[i];
	return NULL;
}

/* The output named file, made (with its node) when missing. */
static struct xout *out_get(struct ns *ns, struct xrep *r, const char *file)
{
	struct xout *o = out_find(r, file);
	if (o || !r->outdir)
		return o;
	if (r->nouts == r->capouts) {
		size_t cap = r->capouts ? r->capouts * 2 : 4;
		struct xout **v = realloc(r->outs, cap * sizeof(*v));
		if (!v)
			return NULL;
		r->outs = v;
		r->capouts = cap;
	}
	if (!(o = calloc(1, sizeof(*o))) || !(o->file = strdup(file))) {
		free(o);
		return NULL;
	}
	o->node = kid_new(ns, r->outdir, file, false, X_OUTPUT, r->id);
	if (!o->node) {
		xout_free(o);
		return NULL;
	}
	o->node->sname = strdup(file);
	o->node->mtime_ms = o->node->ctime_ms = ns_wall_ms();
	r->outs[r->nouts++] = o;
	ns_inval_entry(ns, r->outdir, file);
	return o;
}

static void out_set_size(struct ns *ns, struct xout *o, uint64_t size)
{
	bool changed = !o->size_known || o->size != size;
	o->size = size;
	o->size_known = true;
	o->node->size = size;
	if (changed && o->node->reported)
		ns_inval_inode(ns, o->node);
}

/* Adds the complete local copies of r's outputs, once per mount. */
static void out_scan_local(struct ns *ns, struct xrep *r)
{
	char path[4096];
	if (r->scanned || !rep_path(ns, r->id, OUTPUTS_DIR, path, sizeof(path)))
		return;
	r->scanned = true;
	DIR *dir = opendir(path);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		struct stat st;
		if (de->d_name[0] == '.' || mut_ends_with(de->d_name, ".part") ||
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		struct xout *o = out_get(ns, r, de->d_name);
		if (!o)
			continue;
		o->local = true;
		o->node->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		out_set_size(ns, o, (uint64_t)st.st_size);
	}
	if (dir)
		closedir(dir);
}

/* One item of GET .../outputs: an output that is done becomes a file. */
static void out_merge(struct ns *ns, struct xrep *r, const cJSON *item)
{
	const char *oid = json_str(item, "outputId"), *loc = json_str(item, "location");
	const char *st = json_str(item, "status");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(item, "sizeBytes");
	char enc[NAMES_MAX + 1], file[NAMES_MAX + 1];
	if (!oid || !loc || (st && strcmp(st, "done")) ||
	    names_encode(oid, enc, sizeof(enc)) < 0 ||
	    snprintf(file, sizeof(file), "%s.%s", enc, reports_output_ext(r->otype)) >=
		    (int)sizeof(file))
		return;
	struct xout *o = out_get(ns, r, file);
	if (!o)
		return;
	char *l = strdup(loc);
	if (l) {
		free(o->location);
		o->location = l;
	}
	if (!o->local && cJSON_IsNumber(sz) && sz->valuedouble > 0)
		out_set_size(ns, o, (uint64_t)sz->valuedouble);
}

/* Makes the outputs listing fresh (done reports only; the lock dropped
 * during the request). */
static int rep_outputs(struct ns *ns, struct xrep *r, char *err, size_t errn)
{
	char id[sizeof(r->id)];
	out_scan_local(ns, r);
	if (strcmp(r->state, "done"))
		return 0;
	const int64_t deadline = ns_deadline(ns);
	while (r->out_busy) {
		int rc = ns_wait(ns, deadline, "a report's outputs", err, errn);
		if (rc)
			return rc;
	}
	if (r->out_at && ns_now(ns) - r->out_at < ns->o.ttl_ms)
		return 0;
	memcpy(id, r->id, sizeof(id));
	int64_t started = ns_now(ns);
	r->out_busy = true;
	pthread_mutex_unlock(&ns->lock);
	cJSON *arr = NULL;
	int rc = reports_outputs(ns->o.client, id, &arr, err, errn);
	pthread_mutex_lock(&ns->lock);
	r->out_busy = false;
	pthread_cond_broadcast(&ns->cv);
	if (rc == -ENOENT) {
		r->st_at = 0; /* gone meanwhile: the next status says so */
		return 0;
	}
	if (rc)
		return rc;
	const cJSON *item;
	cJSON_ArrayForEach(item, arr)
		out_merge(ns, r, item);
	cJSON_Delete(arr);
	r->out_at = started ? started : 1;
	return 0;
}

/* Makes the local copy of an output (one download, the lock dropped). */
static int out_fetch(struct ns *ns, struct xrep *r, struct xout *o, char *err, size_t errn)
{
	char dir[4096], sub[REPORTS_ID_MAX + 16], part[4200], dst[4200];
	const int64_t deadline = ns_transfer_deadline(ns);
	while (o->busy) {
		int rc = ns_wait(ns, deadline, "the download of the same output", err, errn);
		if (rc)
			return rc;
	}
	if (o->local)
		return 0;
	if (r->forgetting || r->forgotten)
		return -ENOENT;
	if (!o->location) {
		errmsg_set(err, errn, "this output is no longer on the tenant");
		return -ENOENT;
	}
	snprintf(sub, sizeof(sub), "%s/%s", r->id, OUTPUTS_DIR);
	if (!rep_path(ns, r->id, OUTPUTS_DIR, dir, sizeof(dir)) ||
	    snprintf(part, sizeof(part), "%s/.%s.part", dir, o->file) >= (int)sizeof(part) ||
	    snprintf(dst, sizeof(dst), "%s/%s", dir, o->file) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	char *loc = strdup(o->location);
	if (!loc)
		return -ENOMEM;
	o->busy = true;
	pthread_mutex_unlock(&ns->lock);
	uint64_t size = 0;
	int rc = statedir_mkdir(rep_state(ns)->rdir, sub);
	int fd = rc ? -1 : open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (!rc && fd < 0)
		rc = -errno;
	if (rc)
		errmsg_set(err, errn, "%s: %s", dir, strerror(-rc));
	if (!rc)
		rc = reports_download(ns->o.client, loc, fd, ns->o.transfer_timeout_ms, &size, err,
				      errn);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(part, dst) < 0)
		rc = -errno;
	if (rc && fd >= 0)
		unlink(part);
	free(loc);
	pthread_mutex_lock(&ns->lock);
	o->busy = false;
	pthread_cond_broadcast(&ns->cv);
	if (rc)
		return rc;
	o->local = true;
	out_set_size(ns, o, size);
	return 0;
}

static struct xout *out_of(struct xrep *r, const struct node *n)
{
	return r && n->sname ? out_find(r, n->sname) : NULL;
}

/* ---- hooks ---- */

int rep_listed(struct ns *ns, struct node *d, char *err, size_t errn)
{
	struct xrep *r = d->xk == X_REPORTS ? NULL : rep_of(ns, d);
	int rc = 0;
	switch (d->xk) {
	case X_REPORTS:
		return rep_registry(ns, err, errn);
	case X_REPORT:
		/* status.json's size is handed out with the listing; a report's
		 * directory still lists (and can be removed) when the tenant does
		 * not answer: opening status.json then says why */
		if (r)
			rep_status(ns, r, NULL, 0);
		return 0;
	case X_OUTDIR:
		if (!r)
			return 0;
		if ((rc = rep_status(ns, r, err, errn)) || (rc = rep_outputs(ns, r, err, errn)))
			return rc;
		/* sizes must be exact at stat: outputs listed without one are
		 * downloaded now */
		for (size_t i = 0; !rc && i < r->nouts; i++)
			if (!r->outs[i]->size_known)
				rc = out_fetch(ns, r, r->outs[i], err, errn);
		return rc;
	default:
		return 0;
	}
}

int rep_fresh(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct xrep *r = rep_of(ns, n);
	struct xout *o;
	switch (n->xk) {
	case X_REPORTS:
		return rep_registry(ns, err, errn);
	case X_STATUS:
		return r ? rep_status(ns, r, err, errn) : 0;
	case X_OUTPUT:
		o = out_of(r, n);
		return o && !o->size_known ? out_fetch(ns, r, o, err, errn) : 0;
	default:
		return 0;
	}
}

void rep_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a)
{
	struct xrep *r;
	switch (n->xk) {
	case X_NEW:
		a->size = n->reported_size = body_of(n)->memlen;
		break;
	case X_STATUS:
		r = rep_of(ns, n);
		if (r && !final_state(r->state))
			a->attr_ttl_ms = STATUS_ATTR_TTL_MS;
		break;
	default:
		break;
	}
}

/* A handle's snapshot of len bytes of data. */
static int snapshot(struct ns_file *f, const char *data, size_t len)
{
	struct cache_blob *b = cache_blob_new(data, len);
	if (!b)
		return -ENOMEM;
	f->blob = b;
	return 0;
}

static int open_request(struct ns *ns, struct node *n, struct ns_file *f)
{
	char dir[4096], *txt = NULL;
	size_t len = 0;
	if (!rep_path(ns, n->id, NULL, dir, sizeof(dir)))
		return -ENAMETOOLONG;
	int rc = statedir_read(dir, REQUEST_FILE, REPORTS_REQUEST_MAX * 4, &txt, &len);
	if (!rc) {
		rc = snapshot(f, txt, len);
		n->size = len;
	}
	free(txt);
	return rc;
}

static int open_output(struct ns *ns, struct xrep *r, struct node *n, struct ns_file *f,
		       char *err, size_t errn)
{
	struct xout *o = out_of(r, n);
	char path[4200];
	struct stat st;
	if (!o)
		return -ENOENT;
	int rc = out_fetch(ns, r, o, err, errn);
	if (rc)
		return rc;
	if (!rep_path(ns, r->id, OUTPUTS_DIR, path, sizeof(path)) ||
	    strlen(path) + strlen(o->file) + 2 > sizeof(path))
		return -ENAMETOOLONG;
	strcat(strcat(path, "/"), o->file);
	struct xout_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->h.kind = X_OUTPUT;
	h->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (h->fd < 0 || fstat(h->fd, &st) < 0) {
		rc = -errno;
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		errmsg_set(err, errn, "the local copy of this output cannot be read");
		return rc;
	}
	out_set_size(ns, o, (uint64_t)st.st_size);
	f->ext = h;
	return 0;
}

int rep_open(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed, char *err,
	     size_t errn)
{
	struct xrep *r = rep_of(ns, n);
	uint64_t reported = n->reported_size;
	int rc;
	switch (n->xk) {
	case X_NEW:
		mut_mem_open(n, f);
		*size_changed = true;
		return 0;
	case X_STATUS:
		if (!r)
			return -ENOENT;
		if ((rc = rep_status(ns, r, err, errn)))
			return rc;
		if (n->gone)
			return -ENOENT;
		rc = snapshot(f, r->stxt, r->stlen);
		break;
	case X_REQUEST:
		rc = open_request(ns, n, f);
		break;
	case X_OUTPUT:
		rc = open_output(ns, r, n, f, err, errn);
		break;
	default:
		return -EISDIR;
	}
	if (!rc)
		*size_changed = n->size != reported;
	return rc;
}

ssize_t rep_read(struct ns_file *f, char *buf, size_t size, off_t off)
{
	const struct xout_handle *h = f->ext;
	for (;;) {
		ssize_t n = pread(h->fd, buf, size, off);
		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

void rep_release(struct ns_file *f)
{
	struct xout_handle *h = f->ext;
	close(h->fd);
	free(h);
}

/* ---- forgetting ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static bool rep_busy(const struct xrep *r)
{
	if (r->st_busy || r->out_busy)
		return true;
	for (size_t i = 0; i < r->nouts; i++)
		if (r->outs[i]->busy)
			return true;
	return false;
}

/* rmdir of a report's directory: the registry forgets it and its local
 * copies (request, outputs) are removed.  The tenant keeps the report until
 * it expires: the API cannot delete reports. */
int rep_forget(struct ns *ns, struct node *dir, char *err, size_t errn)
{
	struct xrep *r = rep_of(ns, dir);
	struct xreports *x = rep_state(ns);
	char path[4096], id[REPORTS_ID_MAX + 1];
	if (!r)
		return -ENOENT;
	const int64_t deadline = ns_transfer_deadline(ns);
	int rc;
	while (rep_busy(r) || dir->busy)
		if ((rc = ns_wait(ns, deadline, "the report's requests and downloads", err, errn)))
			return rc;
	if (r->forgotten || dir->gone)
		return -ENOENT;
	snprintf(id, sizeof(id), "%s", r->id);
	if ((rc = mut_node_lock_change(ns, dir, err, errn)))
		return rc;
	r->forgetting = true; /* no download starts meanwhile */
	pthread_mutex_unlock(&ns->lock);
	rc = rep_reg_change(ns->o.state_dir, id, NULL, NULL, 0, err, errn);
	if (!rc && rep_path(ns, id, NULL, path, sizeof(path)))
		nftw(path, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	pthread_mutex_lock(&ns->lock);
	mut_node_unlock_change(ns, dir);
	r->forgetting = false;
	if (rc)
		return rc;
	strmap_del(x->reps, id);
	r->forgotten = true;
	node_detach(ns, dir);
	return 0;
}
