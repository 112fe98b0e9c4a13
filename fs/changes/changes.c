/*
 * changes.c - the change poller's I/O: one listing per type and poll (sorted
 * by update time where the API can, stopping early), deletion checks, the
 * files in the state directory, and the polling thread.  The decisions are
 * made by the pure functions of changes_core.c.
 *
 * The types are the rows of the resource table with a poll_name, polled in
 * the table's order (enum rkind); what a poll of each asks (path, fixed
 * query, sort, early stop) is its row's (the sorts: fs/res/restab.c).  Per-type
 * arrays are indexed by enum rkind; a row without a poll_name is skipped
 * everywhere: never watched, no state file, no status entry.
 *
 * Per type and poll (docs/SEMANTICS.md "Changes"):
 *   1. list the type (sorted newest first where supported; a complete scan
 *      on bootstrap, for unsorted types, and every full_scan_every-th poll);
 *   2. complete scans: GET each known id the listing did not show; 404 = deleted;
 *   3. classify; write the spool file (non-empty results), then <type>.json,
 *      then the state: a crash in between repeats a result, never loses one;
 *   4. tell the caller what changed (cache invalidation) and what was written.
 *
 * Locks: poll_lock serialises polls (the thread's and changes_poll_now()) and
 * guards st[], status[], sort_ok[] and polls.  It is held across HTTP requests
 * and file writes: nothing else ever waits for it but another poll.  Across
 * mounts sharing a state directory, a poll also holds an flock() on
 * changes-state/poll.lock, taken without waiting (busy: the other mount's
 * poll serves both, this one is skipped), and first reads again the state
 * files another mount replaced since (catch_up).  `stop` is
 * atomic; the wake-up pipe is written from signal handlers.
 */
#include "changes/changes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "changes/changes_internal.h"
#include "util/jsonfmt.h"
#include "util/log.h"
#include "util/opstats.h"
#include "util/qtime.h"
#include "res/reswrite.h"
#include "util/statedir.h"
#include "util/url.h"
#include "util/clock.h"

#define STATE_MAX (512u << 20)
#define MAX_CONFIRMS 1000 /* deletion checks per poll and type; the rest wait */

/* Bit k of a type mask is kind k: the mask has room for every kind. */
_Static_assert(RK_COUNT <= sizeof(unsigned) * CHAR_BIT, "a type mask holds every kind");

struct tstatus {
	int64_t polled_ms;  /* tenant time of the last poll */
	bool local_clock;   /* the tenant sent no Date: the local clock was used */
	bool complete, sorted, bootstrap, state_reset;
	int requests;
	size_t created, updated, deleted;
	int rc;
	char err[512];
};

struct changes {
	struct changes_opts o;
	char *cdir;  /* <state_dir>/changes */
	char *sdir;  /* <state_dir>/changes-state */
	pthread_mutex_t poll_lock;
	/* by enum rkind; an unpolled kind's entries stay zero */
	struct chg_state st[RK_COUNT];   /* GUARDED_BY(poll_lock) */
	struct tstatus status[RK_COUNT]; /* GUARDED_BY(poll_lock) */
	bool sort_ok[RK_COUNT];         /* GUARDED_BY(poll_lock) */
	unsigned long polls;            /* GUARDED_BY(poll_lock) */
	/* the state file each type's st[] was last read from or written to
	 * (another mount with this state directory replaces it: read again) */
	dev_t st_dev[RK_COUNT];         /* GUARDED_BY(poll_lock) */
	ino_t st_ino[RK_COUNT];         /* GUARDED_BY(poll_lock) */
	int lockfd; /* <state_dir>/changes-state/poll.lock: one poll at a time across mounts */
	int stop;                       /* atomic */
	int pipe[2];
	pthread_t thread;
	bool started;
};

static int64_t realtime(const struct changes *ch)
{
	return ch->o.realtime_ms ? ch->o.realtime_ms() : clock_wall_ms();
}

static int64_t mono(const struct changes *ch)
{
	return ch->o.mono_ms ? ch->o.mono_ms() : clock_mono_ms();
}

static bool stopping(struct changes *ch)
{
	return __atomic_load_n(&ch->stop, __ATOMIC_RELAXED) != 0;
}

/* Is kind k polled at all (its row names a poll_name)? */
static bool polled(enum rkind k)
{
	return restab_get(k)->poll_name != NULL;
}

static bool watched(const struct changes *ch, enum rkind k)
{
	return (ch->o.types & (1u << k)) && polled(k);
}

unsigned changes_all_types(void)
{
	unsigned m = 0;
	for (int k = 0; k < RK_COUNT; k++)
		if (polled(k))
			m |= 1u << k;
	return m;
}

const char *changes_type_name(enum rkind kind)
{
	return (unsigned)kind < RK_COUNT ? restab_get(kind)->poll_name : NULL;
}

int changes_parse_types(const char *list, unsigned *mask)
{
	unsigned m = 0;
	const char *p = list;
	if (!list)
		return -EINVAL;
	while (*p) {
		size_t len = strcspn(p, ",:");
		bool found = false;
		for (int k = 0; k < RK_COUNT; k++) {
			const char *name = restab_get(k)->poll_name;
			if (name && strlen(name) == len && !strncmp(name, p, len)) {
				m |= 1u << k;
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
		p += len;
		if (*p)
			p++;
	}
	if (!m)
		return -EINVAL;
	*mask = m;
	return 0;
}

/* ---- state files ---- */

/* Is type t's state file the one st[t] came from or went to?  Else (with
 * remember) it is noted as that one now. */
static bool state_seen(struct changes *ch, enum rkind t, bool remember)
{
	char path[PATH_MAX];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s.json", ch->sdir, restab_get(t)->poll_name);
	if (stat(path, &sb) < 0)
		return true; /* (none yet: nothing to read) */
	bool same = sb.st_dev == ch->st_dev[t] && sb.st_ino == ch->st_ino[t];
	if (remember) {
		ch->st_dev[t] = sb.st_dev;
		ch->st_ino[t] = sb.st_ino;
	}
	return same;
}

static void load_state(struct changes *ch, enum rkind t)
{
	char name[64], *txt = NULL;
	size_t len;
	snprintf(name, sizeof(name), "%s.json", restab_get(t)->poll_name);
	state_seen(ch, t, true); /* (before the read: a newer one is read next time) */
	int rc = statedir_read(ch->sdir, name, STATE_MAX, &txt, &len);
	if (rc == 0)
		rc = chg_state_load(&ch->st[t], txt);
	free(txt);
	if (rc && rc != -ENOENT) {
		/* start over: the next poll of the type is a bootstrap */
		ch->status[t].state_reset = true;
		snprintf(ch->status[t].err, sizeof(ch->status[t].err),
			 "%s/%s was unreadable (%s): the type starts over", ch->sdir, name,
			 strerror(-rc));
	}
}

/* The status counts the polls made with this state directory: carried on
 * from the last status written. */
static void load_poll_count(struct changes *ch)
{
	char *txt = NULL;
	size_t len;
	if (statedir_read(ch->cdir, ".status.json", 1u << 20, &txt, &len))
		return;
	cJSON *j = cJSON_Parse(txt);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "polls");
	if (cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble < 1e15)
		ch->polls = (unsigned long)n->valuedouble;
	cJSON_Delete(j);
	free(txt);
}

static int save_state(struct changes *ch, enum rkind t)
{
	char name[64];
	size_t len;
	char *txt = chg_state_dump(&ch->st[t], &len);
	if (!txt)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s.json", restab_get(t)->poll_name);
	int rc = statedir_write_atomic(ch->sdir, name, txt, len);
	free(txt);
	if (!rc)
		state_seen(ch, t, true);
	return rc;
}

/* Another mount with this state directory may have polled since this one
 * did: its state files replace what this one holds, so that a change is
 * reported by one of them, once.  poll_lock and the cross-mount lock held. */
static void catch_up(struct changes *ch)
{
	for (int t = 0; t < RK_COUNT; t++)
		if (watched(ch, (enum rkind)t) && !state_seen(ch, (enum rkind)t, false))
			load_state(ch, (enum rkind)t);
	load_poll_count(ch);
}

/* ---- listing ---- */

struct walk {
	struct changes *ch;
	struct chg_scan *sc;
	const struct qlist_info *info;
	bool boot;      /* the scan's prev comes from this poll's own tenant time */
	bool prev_set;
};

static int64_t overlap(const struct changes *ch)
{
	return ch->o.overlap_ms > 0 ? ch->o.overlap_ms : CHG_DEFAULT_OVERLAP_MS;
}

static int walk_cb(void *arg, const cJSON *item)
{
	struct walk *w = arg;
	if (stopping(w->ch))
		return -ECANCELED;
	if (w->boot && !w->prev_set) {
		int64_t now = w->info->first_date_ms ? w->info->first_date_ms : realtime(w->ch);
		w->sc->prev = now - overlap(w->ch);
		w->prev_set = true;
	}
	return chg_scan_add(w->sc, item);
}

static char *list_url(struct changes *ch, const struct rtype *ct, bool sorted)
{
	struct url_buf *u = url_new(qclient_base(ch->o.client));
	url_path(u, ct->list_path);
	if (ct->list_query[0])
		url_query(u, ct->list_query[0], ct->list_query[1]);
	if (sorted)
		url_query(u, "sort", ct->poll_sort);
	url_query_int(u, "limit", ct->page_limit);
	return url_finish(u);
}

/* GETs one known record the listing did not show.  Returns 0 with the record
 * in *root and *obj (it exists: the listing missed it), -ENOENT (deleted), or
 * another -errno (unknown: asked again at the next complete scan). */
static int confirm(struct changes *ch, const struct rtype *rt, const char *id, cJSON **root,
		   const cJSON **obj, char *err, size_t errn)
{
	int rc = res_get(ch->o.client, rt, id, root, obj, err, errn);
	if (!rc && !restab_id(rt, *obj)) {
		cJSON_Delete(*root);
		*root = NULL;
		rc = -ENOENT;
	}
	return rc;
}

/* Known records missing from a complete scan: deleted (into r) or still
 * there (into the scan, as if listed).  Returns the requests made. */
static int check_missing(struct changes *ch, const struct chg_state *st, struct chg_scan *sc,
			 struct chg_result *r, int *rc_out)
{
	const char **miss = NULL;
	long n = chg_missing(st, sc, &miss);
	int reqs = 0;
	char err[256];
	*rc_out = n < 0 ? (int)n : 0;
	sc->sorted = false; /* GET answers come in no order */
	for (long i = 0; i < n && reqs < MAX_CONFIRMS && !stopping(ch); i++) {
		cJSON *root = NULL;
		const cJSON *obj = NULL;
		reqs++;
		int rc = confirm(ch, sc->rt, miss[i], &root, &obj, err, sizeof(err));
		if (rc == -ENOENT)
			rc = chg_add_deleted(st, miss[i], r);
		else if (rc == 0)
			rc = chg_scan_add(sc, obj) < 0 ? -ENOMEM : 0;
		else
			rc = rc == -ENOMEM ? rc : 0; /* unknown for now */
		cJSON_Delete(root);
		if (rc) {
			*rc_out = rc;
			break;
		}
	}
	free(miss);
	return reqs;
}

/* ---- one type ---- */

static void result_ids(const struct rtype *rt, const struct chg_result *r, const char ***ids,
		       size_t *n)
{
	size_t cap = chg_result_count(r), k = 0;
	const char **v = malloc((cap ? cap : 1) * sizeof(*v));
	const cJSON *lists[3] = { r->created, r->updated, r->deleted }, *o;
	for (int i = 0; v && i < 3; i++)
		cJSON_ArrayForEach(o, lists[i])
		{
			const char *id = i < 2 ? restab_id(rt, o) : json_str(o, rt->id_field);
			if (!id)
				id = json_str(o, "id");
			if (id)
				v[k++] = id;
		}
	*ids = v;
	*n = v ? k : 0;
}

/* Writes the result files; returns 0 or -errno (nothing committed then).
 * *spool receives the spool file's name ("" when the result was empty). */
static int write_result(struct changes *ch, enum rkind t, const struct chg_result *r,
			int64_t poll_ms, char *spool, size_t spooln, int64_t *spool_ms)
{
	const struct changes_opts *o = &ch->o;
	size_t len;
	char name[64], dir[4096];
	char *txt = chg_result_render(r, o->created, o->updated, o->deleted, &len);
	int rc = 0;
	if (!txt)
		return -ENOMEM;
	spool[0] = '\0';
	bool shown = (o->created && cJSON_GetArraySize(r->created)) ||
		     (o->updated && cJSON_GetArraySize(r->updated)) ||
		     (o->deleted && cJSON_GetArraySize(r->deleted));
	if (shown) {
		rc = chg_spool_name(poll_ms, ch->st[t].last_spool_ms, spool, spooln, spool_ms);
		if (!rc && snprintf(dir, sizeof(dir), "%s/%s", ch->cdir, restab_get(t)->poll_name) >=
				   (int)sizeof(dir))
			rc = -ENAMETOOLONG;
		if (!rc)
			rc = statedir_write_atomic(dir, spool, txt, len);
		if (rc)
			spool[0] = '\0';
	}
	snprintf(name, sizeof(name), "%s.json", restab_get(t)->poll_name);
	if (!rc)
		rc = statedir_write_atomic(ch->cdir, name, txt, len);
	free(txt);
	return rc;
}

static void notify(struct changes *ch, enum rkind t, const struct chg_result *r,
		   const char *spool)
{
	const struct changes_opts *o = &ch->o;
	char rel[128];
	if (o->on_written) {
		if (spool[0]) {
			snprintf(rel, sizeof(rel), "%s/%s", restab_get(t)->poll_name, spool);
			o->on_written(o->arg, rel);
		}
		snprintf(rel, sizeof(rel), "%s.json", restab_get(t)->poll_name);
		o->on_written(o->arg, rel);
	}
	if (o->on_changed && r && chg_result_count(r)) {
		const char **ids;
		size_t n;
		result_ids(restab_get(t), r, &ids, &n);
		if (n)
			o->on_changed(o->arg, t, ids, n);
		free(ids);
	}
}

/* Lists type t into sc; falls back to an unsorted scan when the tenant
 * refuses the sort.  Offset pages (data stores) shift when records go while
 * the walk is between pages, which can skip a record: when the total moved,
 * the listing is walked again (once).  Returns the number of records or -errno. */
static long list_type(struct changes *ch, enum rkind t, struct chg_scan *sc, bool boot,
		      struct qlist_info *info, struct tstatus *ts)
{
	const struct rtype *ct = restab_get(t);
	bool relisted = false;
	for (int attempt = 0;; attempt++) {
		struct walk w = { ch, sc, info, boot, false };
		bool sort = ch->sort_ok[t];
		char *url = list_url(ch, ct, sort);
		if (!url)
			return -ENOMEM;
		long n = qclient_list_ex(ch->o.client, url, walk_cb, &w, info, ts->err,
					 sizeof(ts->err));
		free(url);
		ts->requests += info->pages;
		bool moved = n >= 0 && info->pages > 1 && info->first_total != info->last_total;
		bool refused = n == -EINVAL && sort && !attempt && info->pages == 1;
		if (moved && !relisted) {
			relisted = true; /* candidates found so far stay: deduplicated by id */
			sc->any = false; /* the order check starts over */
			continue;
		}
		if (!refused)
			return n;
		/* 400 on the first page: this tenant does not sort this list so */
		ch->sort_ok[t] = false;
		ts->err[0] = '\0';
		chg_scan_free(sc);
		if (chg_scan_init(sc, ct, ch->st[t].boundary_ms, false))
			return -ENOMEM;
	}
}

static int poll_type(struct changes *ch, enum rkind t)
{
	const struct rtype *ct = restab_get(t);
	const struct rtype *rt = ct;
	struct chg_state *st = &ch->st[t];
	struct tstatus *ts = &ch->status[t];
	struct chg_scan sc;
	struct chg_result res;
	struct qlist_info info;
	char spool[96] = "";
	int64_t spool_ms = 0;
	bool boot = st->boundary_ms == 0;
	bool sorted = ct->poll_by_update && ch->sort_ok[t];
	bool full = boot || !sorted ||
		    (ch->o.full_scan_every && st->since_full + 1 >= ch->o.full_scan_every);
	int rc;

	ts->requests = 0;
	ts->err[0] = '\0';
	ts->bootstrap = boot;
	if (chg_result_init(&res))
		return -ENOMEM;
	if (chg_scan_init(&sc, rt, st->boundary_ms, sorted && !full)) {
		chg_result_free(&res);
		return -ENOMEM;
	}
	long n = list_type(ch, t, &sc, boot, &info, ts);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	int64_t now = info.first_date_ms;
	ts->local_clock = !now;
	if (!now)
		now = realtime(ch);
	ts->polled_ms = now;
	ts->sorted = ct->poll_by_update && ch->sort_ok[t] && !sc.order_broken;
	ts->complete = !info.stopped;
	if (boot) {
		/* nothing is reported: the scan only fills recent and known */
		rc = chg_commit(st, &sc, NULL, true, now - overlap(ch));
		if (!rc)
			rc = write_result(ch, t, &res, now, spool, sizeof(spool), &spool_ms);
		goto save;
	}
	if (ts->complete) {
		int crc;
		ts->requests += check_missing(ch, st, &sc, &res, &crc);
		if ((rc = crc))
			goto out;
	}
	if ((rc = chg_classify(st, &sc, &res)))
		goto out;
	if ((rc = write_result(ch, t, &res, now, spool, sizeof(spool), &spool_ms)))
		goto out;
	if ((rc = chg_commit(st, &sc, &res, ts->complete, now - overlap(ch))))
		goto out;
	if (spool[0])
		st->last_spool_ms = spool_ms;
save:
	if (!rc && (rc = save_state(ch, t)) == 0)
		notify(ch, t, &res, spool);
	ts->created = (size_t)cJSON_GetArraySize(res.created);
	ts->updated = (size_t)cJSON_GetArraySize(res.updated);
	ts->deleted = (size_t)cJSON_GetArraySize(res.deleted);
	if (rc && !ts->err[0])
		snprintf(ts->err, sizeof(ts->err), "cannot write the state of %s: %s", ct->poll_name,
			 strerror(-rc));
out:
	ts->rc = rc;
	if (rc && !ts->err[0])
		snprintf(ts->err, sizeof(ts->err), "%s", strerror(-rc));
	chg_scan_free(&sc);
	chg_result_free(&res);
	return rc;
}

/* ---- status ---- */

static void add_time(cJSON *o, const char *k, int64_t ms)
{
	char b[QTIME_BUFSZ];
	if (ms > 0 && qtime_format_ms(ms, b, sizeof(b)) > 0)
		cJSON_AddStringToObject(o, k, b);
	else
		cJSON_AddNullToObject(o, k);
}

static void write_status(struct changes *ch)
{
	cJSON *o = cJSON_CreateObject(), *tys = o ? cJSON_AddObjectToObject(o, "types") : NULL;
	size_t len;
	char *txt = NULL;
	if (!tys)
		goto out;
	cJSON_DetachItemViaPointer(o, tys);
	cJSON_AddNumberToObject(o, "polls", (double)ch->polls);
	cJSON_AddItemToObject(o, "types", tys); /* after the count, for people reading it */
	for (int t = 0; t < RK_COUNT; t++) {
		const struct tstatus *ts = &ch->status[t];
		cJSON *e;
		if (!watched(ch, t) || !(e = cJSON_AddObjectToObject(tys, restab_get(t)->poll_name)))
			continue;
		add_time(e, "polled_at", ts->polled_ms);
		add_time(e, "boundary", ch->st[t].boundary_ms);
		cJSON_AddStringToObject(e, "clock", ts->local_clock ? "local" : "tenant");
		cJSON_AddBoolToObject(e, "bootstrap", ts->bootstrap);
		cJSON_AddBoolToObject(e, "sorted", ts->sorted);
		cJSON_AddBoolToObject(e, "complete", ts->complete);
		cJSON_AddNumberToObject(e, "requests", ts->requests);
		cJSON_AddNumberToObject(e, "created", (double)ts->created);
		cJSON_AddNumberToObject(e, "updated", (double)ts->updated);
		cJSON_AddNumberToObject(e, "deleted", (double)ts->deleted);
		cJSON_AddNumberToObject(e, "known", (double)ch->st[t].known.n);
		if (ts->err[0])
			cJSON_AddStringToObject(e, "error", ts->err);
		else
			cJSON_AddNullToObject(e, "error");
	}
	txt = jsonfmt_pretty(o, &len);
	if (txt && statedir_write_atomic(ch->cdir, ".status.json", txt, len) == 0 &&
	    ch->o.on_written)
		ch->o.on_written(ch->o.arg, ".status.json");
out:
	free(txt);
	cJSON_Delete(o);
}

/* ---- public ---- */

int changes_poll_now(struct changes *ch)
{
	int first = 0;
	pthread_mutex_lock(&ch->poll_lock);
	if (ch->lockfd >= 0 && flock(ch->lockfd, LOCK_EX | LOCK_NB) < 0) {
		/* another mount with this state directory is polling: its
		 * results are this one's too (the same files) */
		log_info("changes: another mount with the state directory %s is polling; "
			 "this poll is left to it", ch->sdir);
		pthread_mutex_unlock(&ch->poll_lock);
		return 0;
	}
	catch_up(ch);
	struct opstats_op *op = opstats_op_begin("poll", "changes/", 0); /* the status file */
	for (int t = 0; t < RK_COUNT && !stopping(ch); t++) {
		if (!watched(ch, t))
			continue;
		int rc = poll_type(ch, t);
		if (rc && rc != -ECANCELED && ch->o.on_error)
			ch->o.on_error(ch->o.arg, restab_get(t)->poll_name, rc, ch->status[t].err);
		if (rc && !first)
			first = rc;
	}
	ch->polls++;
	write_status(ch);
	opstats_op_end(op);
	if (ch->lockfd >= 0)
		flock(ch->lockfd, LOCK_UN);
	pthread_mutex_unlock(&ch->poll_lock);
	return first;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

int changes_new(const struct changes_opts *o, struct changes **out, char *err, size_t errn)
{
	struct changes *ch = calloc(1, sizeof(*ch));
	int rc = -ENOMEM;
	if (!ch)
		return -ENOMEM;
	ch->o = *o;
	ch->o.state_dir = NULL;
	if (!ch->o.types)
		ch->o.types = changes_all_types();
	ch->pipe[0] = ch->pipe[1] = ch->lockfd = -1;
	pthread_mutex_init(&ch->poll_lock, NULL);
	for (int t = 0; t < RK_COUNT; t++) {
		if (!polled(t))
			continue;
		ch->sort_ok[t] = true;
		if (chg_state_init(&ch->st[t]))
			goto fail;
	}
	if (!(ch->cdir = join(o->state_dir, "changes")) ||
	    !(ch->sdir = join(o->state_dir, "changes-state")))
		goto fail;
	if ((rc = statedir_mkdir(o->state_dir, "changes")) ||
	    (rc = statedir_mkdir(o->state_dir, "changes-state"))) {
		snprintf(err, errn, "cannot create %s: %s", ch->cdir, strerror(-rc));
		goto fail;
	}
	for (int t = 0; t < RK_COUNT; t++) {
		if (!watched(ch, t))
			continue;
		if ((rc = statedir_mkdir(ch->cdir, restab_get(t)->poll_name))) {
			snprintf(err, errn, "cannot create %s/%s: %s", ch->cdir, restab_get(t)->poll_name,
				 strerror(-rc));
			goto fail;
		}
		load_state(ch, t);
	}
	load_poll_count(ch);
	char lock[PATH_MAX];
	snprintf(lock, sizeof(lock), "%s/poll.lock", ch->sdir);
	if ((ch->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		rc = -errno;
		snprintf(err, errn, "cannot open %s: %s", lock, strerror(errno));
		goto fail;
	}
	if (pipe2(ch->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errn, "pipe: %s", strerror(errno));
		goto fail;
	}
	*out = ch;
	return 0;
fail:
	changes_free(ch);
	return rc;
}

static void *poller(void *arg)
{
	struct changes *ch = arg;
	int64_t next = mono(ch); /* a scheduled poll at once */
	for (;;) {
		int timeout = -1;
		if (ch->o.interval_ms > 0) {
			int64_t left = next - mono(ch);
			timeout = left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
		}
		struct pollfd p = { .fd = ch->pipe[0], .events = POLLIN };
		poll(&p, 1, timeout);
		bool trig = false;
		char buf[64];
		ssize_t n;
		while ((n = read(ch->pipe[0], buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++)
				trig |= buf[i] == 't';
		if (stopping(ch))
			return NULL;
		if (trig || (ch->o.interval_ms > 0 && mono(ch) >= next)) {
			changes_poll_now(ch);
			next = mono(ch) + ch->o.interval_ms;
		}
	}
}

int changes_start(struct changes *ch)
{
	if (ch->started)
		return -EALREADY;
	int rc = pthread_create(&ch->thread, NULL, poller, ch);
	if (rc)
		return -rc;
	ch->started = true;
	return 0;
}

void changes_trigger(struct changes *ch)
{
	char c = 't';
	if (ch && write(ch->pipe[1], &c, 1) < 0) {
		/* pipe full: a poll is pending anyway */
	}
}

void changes_free(struct changes *ch)
{
	if (!ch)
		return;
	__atomic_store_n(&ch->stop, 1, __ATOMIC_RELAXED);
	if (ch->started) {
		char c = 'q';
		if (write(ch->pipe[1], &c, 1) < 0) {
			/* pipe full: the thread wakes anyway */
		}
		pthread_join(ch->thread, NULL);
	}
	for (int t = 0; t < RK_COUNT; t++)
		chg_state_free(&ch->st[t]); /* an unpolled kind's zeroed state too */
	if (ch->pipe[0] >= 0) {
		close(ch->pipe[0]);
		close(ch->pipe[1]);
	}
	if (ch->lockfd >= 0)
		close(ch->lockfd);
	pthread_mutex_destroy(&ch->poll_lock);
	free(ch->cdir);
	free(ch->sdir);
	free(ch);
}
