/*
 * qvf.c - the .qvf export cache and app import; see qvf.h.
 *
 * Invariants:
 *  - every listed entry names a complete file "<id>.<mtime>.<data|nodata>.qvf"
 *    in c->dir whose size is e->size; c->bytes is the sum of the listed
 *    entries' sizes;
 *  - files are written as ".<id>.tmp.<pid>.<n>" and renamed into place only
 *    when complete and fsync'd; such files found at start-up are leftovers
 *    and removed, unless their process still runs (another mount sharing
 *    the directory, mid-download: util/statedir.h);
 *  - an entry is freed when it is neither listed nor pinned (e->pins counts
 *    the qvf_file handles and the waiters it was promised to);
 *  - at most one export per key is in progress: c->flights (util/flight.h),
 *    keyed "<app id>.<mtime>.<data|nodata>"; its leader leaves a struct
 *    outcome (the entry, pinned once per waiter still waiting, or why it
 *    failed), and a waiter gives up at its own deadline (an export's).
 *
 * Locks: c->lock guards the entry list, the flights, the counters and the
 * LRU ticks.  It is never held across a request; it is held across the
 * unlink() of an evicted or superseded file (a short local syscall).
 */
#include "actions/qvf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/flight.h"
#include "util/opstats.h"
#include "util/statedir.h"
#include "util/url.h"

#define DEFAULT_TIMEOUT_MS (10L * 60 * 1000)
#define RESP_MAX ((size_t)1 << 20)
#define IMPORT_NAME_MAX 1024
#define IMPORT_TTL_S "600"

struct entry {
	struct entry *next; /* c->entries, while listed */
	char app_id[QVF_APP_ID_MAX + 1];
	int64_t mtime;
	bool nodata;
	bool listed;
	int pins;
	uint64_t size;
	uint64_t used; /* LRU tick */
};

/* What an export's leader leaves for its waiters (a flight_set result). */
struct outcome {
	struct entry *e; /* on success, pinned once per waiter */
	char errmsg[512];
};

struct qvf_cache {
	char *dir;
	struct qclient *qc;
	uint64_t max_bytes;
	long timeout_ms;

	pthread_mutex_t lock;
	struct entry *entries;  /* GUARDED_BY(lock) */
	struct flight_set flights; /* GUARDED_BY(lock): exports by key, results outcomes */
	uint64_t bytes;         /* GUARDED_BY(lock) */
	uint64_t tick;          /* GUARDED_BY(lock) */
	struct qvf_stats stats; /* GUARDED_BY(lock) */
	unsigned long tmp_seq;  /* GUARDED_BY(lock) */
};

struct qvf_file {
	struct qvf_cache *c;
	struct entry *e;
	int fd;
	uint64_t size;
};

static int64_t now_ms(void)
{
	return clock_mono_ms();
}

static bool valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > QVF_APP_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

static int entry_path(const struct qvf_cache *c, const char *id, int64_t mtime, bool nodata,
		      char *buf, size_t n)
{
	int r = snprintf(buf, n, "%s/%s.%lld.%s.qvf", c->dir, id, (long long)mtime,
			 nodata ? "nodata" : "data");
	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ the index */

static struct entry *find(struct qvf_cache *c, const char *id, int64_t mtime, bool nodata)
{
	for (struct entry *e = c->entries; e; e = e->next)
		if (e->mtime == mtime && e->nodata == nodata && !strcmp(e->app_id, id))
			return e;
	return NULL;
}

/* Takes e out of the list (the caller unlinked its file or will not need to). */
static void unlist(struct qvf_cache *c, struct entry *e)
{
	for (struct entry **pp = &c->entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	e->listed = false;
	c->bytes -= e->size;
	c->stats.entries--;
	if (!e->pins)
		free(e);
}

/* Drops one pin of e; with forget, also takes e out of the list.  Frees e
 * once it is neither pinned nor listed. */
static void unpin(struct qvf_cache *c, struct entry *e, bool forget)
{
	e->pins--;
	if (forget && e->listed)
		unlist(c, e);
	else if (!e->pins && !e->listed)
		free(e);
}

/* Removes e's file and the entry (readers keep their open descriptors). */
static void drop(struct qvf_cache *c, struct entry *e)
{
	char path[PATH_MAX];
	if (!entry_path(c, e->app_id, e->mtime, e->nodata, path, sizeof(path)))
		unlink(path);
	unlist(c, e);
}

/* Evicts unpinned entries, least recently used first, down to the bound. */
static void evict(struct qvf_cache *c)
{
	while (c->bytes > c->max_bytes) {
		struct entry *victim = NULL;
		for (struct entry *e = c->entries; e; e = e->next)
			if (!e->pins && (!victim || e->used < victim->used))
				victim = e;
		if (!victim)
			return;
		drop(c, victim);
		c->stats.evictions++;
	}
}

static struct entry *insert(struct qvf_cache *c, const char *id, int64_t mtime, bool nodata,
			    uint64_t size, uint64_t used)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->app_id, sizeof(e->app_id), "%s", id);
	e->mtime = mtime;
	e->nodata = nodata;
	e->size = size;
	e->used = used;
	e->listed = true;
	e->next = c->entries;
	c->entries = e;
	c->bytes += size;
	c->stats.entries++;
	return e;
}

/* Drops the entries of older versions of the same app (same nodata). */
static void supersede(struct qvf_cache *c, const struct entry *newer)
{
	struct entry *e = c->entries, *next;
	for (; e; e = next) {
		next = e->next;
		if (e != newer && e->nodata == newer->nodata && e->mtime < newer->mtime &&
		    !strcmp(e->app_id, newer->app_id))
			drop(c, e);
	}
}

/* ------------------------------------------------------------ start-up */

/* Parses "<id>.<mtime>.<data|nodata>.qvf". */
static bool parse_name(const char *name, char *id, int64_t *mtime, bool *nodata)
{
	size_t n = strlen(name);
	if (n < 5 || strcmp(name + n - 4, ".qvf"))
		return false;
	char buf[NAME_MAX + 1];
	snprintf(buf, sizeof(buf), "%.*s", (int)(n - 4), name);
	char *kind = strrchr(buf, '.');
	if (!kind)
		return false;
	*kind++ = '\0';
	if (!strcmp(kind, "nodata"))
		*nodata = true;
	else if (!strcmp(kind, "data"))
		*nodata = false;
	else
		return false;
	char *num = strrchr(buf, '.'), *end;
	if (!num)
		return false;
	*num++ = '\0';
	errno = 0;
	long long v = strtoll(num, &end, 10);
	if (errno || end == num || *end || !valid_id(buf))
		return false;
	*mtime = v;
	strcpy(id, buf); /* valid_id() bounded it to QVF_APP_ID_MAX */
	return true;
}

static int adopt(struct qvf_cache *c)
{
	DIR *d = opendir(c->dir);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		char id[QVF_APP_ID_MAX + 1];
		int64_t mtime;
		bool nodata;
		struct stat st;
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp.")) {
			/* (a download another mount sharing the directory still
			 * runs is not a leftover) */
			if (!statedir_tmp_in_use(de->d_name))
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (!parse_name(de->d_name, id, &mtime, &nodata) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_size <= 0)
			continue;
		uint64_t used = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
		if (!insert(c, id, mtime, nodata, (uint64_t)st.st_size, used)) {
			closedir(d);
			return -ENOMEM;
		}
		if (used > c->tick)
			c->tick = used;
	}
	closedir(d);
	evict(c);
	return 0;
}

struct qvf_cache *qvf_cache_new(const struct qvf_cache_opts *o, int *err)
{
	struct qvf_cache *c = calloc(1, sizeof(*c));
	*err = -ENOMEM;
	if (!c || !o->dir || !(c->dir = strdup(o->dir))) {
		free(c);
		if (!o->dir)
			*err = -EINVAL;
		return NULL;
	}
	c->qc = o->client;
	c->max_bytes = o->max_bytes ? o->max_bytes : QVF_DEFAULT_MAX_BYTES;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	pthread_mutex_init(&c->lock, NULL);
	c->flights.free_result = free;
	struct stat st;
	if (mkdir(c->dir, 0700) < 0 && errno != EEXIST)
		*err = -errno;
	else if (stat(c->dir, &st) < 0)
		*err = -errno;
	else if (!S_ISDIR(st.st_mode))
		*err = -ENOTDIR;
	else
		*err = adopt(c);
	if (*err) {
		qvf_cache_free(c);
		return NULL;
	}
	return c;
}

void qvf_cache_free(struct qvf_cache *c)
{
	if (!c)
		return;
	struct entry *e = c->entries, *next;
	for (; e; e = next) {
		next = e->next;
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
}

/* ------------------------------------------------------------ export */

/* The part of an absolute URL after its origin. */
/* POST .../export; returns 0 and the download URL (malloc'd, on the tenant). */
static int start_export(struct qvf_cache *c, const char *id, bool nodata, char **loc,
			char *err, size_t n)
{
	struct url_buf *u = url_new(qclient_base(c->qc));
	url_path(u, "/api/v1/apps");
	url_seg(u, id);
	url_path(u, "/export");
	if (nodata)
		url_query(u, "NoData", "true");
	char *url = url_finish(u);
	if (!url)
		return -ENOMEM;
	/* Repeating an export only leaves one more temporary content behind. */
	struct qcall call = { .method = "POST", .url = url, .op = QOP_READ, .idempotent = true,
			      .timeout_ms = c->timeout_ms, .max_body = RESP_MAX };
	struct qresp r;
	int rc = qclient_call(c->qc, &call, &r);
	if (rc) {
		errmsg_set(err, n, "export of app %s: %s", id, r.errmsg);
	} else if (!r.location) {
		errmsg_set(err, n, "export of app %s: HTTP %ld without a Location", id, r.status);
		rc = -EIO;
	} else {
		/* never send the credentials elsewhere: keep the path on our tenant */
		*loc = url_same_origin(r.location, qclient_base(c->qc))
			       ? strdup(r.location)
			       : url_resolve(qclient_base(c->qc), url_tail(r.location));
		rc = *loc ? 0 : -ENOMEM;
	}
	qresp_clear(&r);
	free(url);
	return rc;
}

/* Downloads loc into a new temporary file; renames it to the entry's name. */
static int download(struct qvf_cache *c, const char *id, int64_t mtime, bool nodata,
		    const char *loc, long budget, uint64_t *size, char *err, size_t n)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	pthread_mutex_lock(&c->lock);
	unsigned long seq = ++c->tmp_seq;
	pthread_mutex_unlock(&c->lock);
	if (entry_path(c, id, mtime, nodata, dst, sizeof(dst)) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld.%lu", c->dir, id, (long)getpid(), seq) >=
		    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	struct http_fd_sink d = { .fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600) };
	if (d.fd < 0) {
		int rc = -errno;
		errmsg_set(err, n, "export of app %s: %s: %s", id, c->dir, strerrordesc_np(-rc));
		return rc;
	}
	struct qcall call = { .method = "GET", .url = loc, .op = QOP_READ, .sink = http_fd_sink_write,
			      .sink_arg = &d, .sink_reset = http_fd_sink_reset, .timeout_ms = budget };
	struct qresp r;
	int rc = qclient_call(c->qc, &call, &r);
	if (rc)
		errmsg_set(err, n, "export of app %s: %s", id, r.errmsg);
	qresp_clear(&r);
	if (!rc && d.off == 0) {
		errmsg_set(err, n, "export of app %s: the tenant sent an empty file", id);
		rc = -EIO;
	}
	if (!rc && fsync(d.fd) < 0)
		rc = -errno;
	if (close(d.fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc) {
		if (err && n && !err[0])
			errmsg_set(err, n, "export of app %s: %s: %s", id, c->dir, strerrordesc_np(-rc));
		unlink(tmp);
		return rc;
	}
	*size = d.off;
	return 0;
}

static int export_app_run(struct qvf_cache *c, const char *id, int64_t mtime, bool nodata,
			  uint64_t *size, char *err, size_t n)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	char *loc = NULL;
	if (err && n)
		err[0] = '\0';
	int rc = start_export(c, id, nodata, &loc, err, n);
	if (rc)
		return rc;
	int64_t left = deadline - now_ms();
	rc = download(c, id, mtime, nodata, loc, left > 1 ? (long)left : 1, size, err, n);
	free(loc);
	return rc;
}

/* export_app_run(), shown in the status file while it runs. */
static int export_app(struct qvf_cache *c, const char *id, int64_t mtime, bool nodata,
		      uint64_t *size, char *err, size_t n)
{
	struct opstats_op *op = opstats_op_begin("export", id, 0);
	int rc = export_app_run(c, id, mtime, nodata, size, err, n);
	opstats_op_end(op);
	return rc;
}

/* ------------------------------------------------------------ handles */

/* Opens the file of e, already pinned for the caller; unpins on failure
 * (dropping the entry when its file vanished). */
static int open_pinned(struct qvf_cache *c, struct entry *e, struct qvf_file **out)
{
	char path[PATH_MAX];
	int rc = entry_path(c, e->app_id, e->mtime, e->nodata, path, sizeof(path));
	int fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct qvf_file *f = fd >= 0 ? malloc(sizeof(*f)) : NULL;
	if (!f) {
		rc = rc ? rc : fd < 0 ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&c->lock);
		unpin(c, e, rc == -ENOENT); /* removed behind our back: export again */
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	*f = (struct qvf_file){ .c = c, .e = e, .fd = fd, .size = e->size };
	*out = f;
	return 0;
}

/* The key of an export's flight: what names its file. */
static void flight_key_of(const char *id, int64_t mtime, bool nodata, char *buf, size_t n)
{
	snprintf(buf, n, "%s.%lld.%s", id, (long long)mtime, nodata ? "nodata" : "data");
}

/* Exports as the leader of k's flight (c->lock held on entry, dropped
 * around the export, released on return); returns the entry pinned for us
 * and once for each waiter still waiting. */
static int lead_export(struct qvf_cache *c, struct flight_key *k, const char *id, int64_t mtime,
		       bool nodata, struct entry **out, char *err, size_t n)
{
	struct outcome *o = calloc(1, sizeof(*o));
	char *why = o ? o->errmsg : err;
	size_t whyn = o ? sizeof(o->errmsg) : n;
	uint64_t size = 0;
	int rc = o ? 0 : -ENOMEM;
	if (rc)
		errmsg_set(why, whyn, "export of app %s: out of memory", id);
	pthread_mutex_unlock(&c->lock);
	if (!rc)
		rc = export_app(c, id, mtime, nodata, &size, why, whyn);
	pthread_mutex_lock(&c->lock);
	struct entry *e = NULL;
	if (!rc) {
		/* a stale entry of the same key (file removed meanwhile) is replaced */
		struct entry *old = find(c, id, mtime, nodata);
		if (old)
			unlist(c, old);
		e = insert(c, id, mtime, nodata, size, ++c->tick);
		if (!e) {
			rc = -ENOMEM;
			errmsg_set(why, whyn, "export of app %s: out of memory", id);
		}
	}
	if (e) {
		e->pins = 1 + flight_key_waiters(k);
		c->stats.exports++;
		supersede(c, e);
	}
	if (o)
		o->e = e;
	if (rc && o)
		errmsg_set(err, n, "%s", o->errmsg);
	flight_set_end(&c->flights, k, rc, o);
	flight_key_put(&c->flights, k);
	evict(c);
	pthread_mutex_unlock(&c->lock);
	*out = e;
	return rc;
}

/* Waits for the export of k another reader leads (c->lock held on entry,
 * released on return), bounded like an export of our own; takes the entry
 * it pinned for us. */
static int join_export(struct qvf_cache *c, struct flight_key *k, const char *id,
		       struct entry **out, char *err, size_t n)
{
	int rc;
	if (flight_key_wait(k, &c->lock, now_ms() + c->timeout_ms, &rc)) {
		flight_key_put(&c->flights, k);
		pthread_mutex_unlock(&c->lock);
		errmsg_set(err, n, "timed out waiting for the export of app %s (started by "
			   "another reader)", id);
		return -EIO;
	}
	const struct outcome *o = k->result;
	*out = o ? o->e : NULL;
	if (rc)
		errmsg_set(err, n, "%s", o ? o->errmsg : "export: out of memory");
	flight_key_put(&c->flights, k);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* The entry of the key, pinned for the caller: cached, or exported once
 * however many readers ask at the same time. */
static int pin_export(struct qvf_cache *c, const char *app_id, int64_t mtime_ms, bool nodata,
		      struct entry **out, char *err, size_t n)
{
	char key[QVF_APP_ID_MAX + 48];
	bool lead;
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, app_id, mtime_ms, nodata);
	if (e) {
		e->pins++;
		e->used = ++c->tick;
		c->stats.hits++;
		pthread_mutex_unlock(&c->lock);
		*out = e;
		return 0;
	}
	flight_key_of(app_id, mtime_ms, nodata, key, sizeof(key));
	struct flight_key *k = flight_set_join(&c->flights, key, &lead);
	if (!k) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	if (lead)
		return lead_export(c, k, app_id, mtime_ms, nodata, out, err, n);
	return join_export(c, k, app_id, out, err, n);
}

int qvf_open(struct qvf_cache *c, const char *app_id, int64_t mtime_ms, bool nodata,
	     struct qvf_file **out, char *err, size_t n)
{
	if (!valid_id(app_id)) {
		errmsg_set(err, n, "%.64s: not an app id", app_id ? app_id : "");
		return -EINVAL;
	}
	for (int round = 0;; round++) {
		struct entry *e;
		int rc = pin_export(c, app_id, mtime_ms, nodata, &e, err, n);
		if (rc)
			return rc;
		rc = open_pinned(c, e, out);
		if (rc != -ENOENT || round > 0) {
			if (rc)
				errmsg_set(err, n, "cached export of app %s: %s", app_id,
				    strerrordesc_np(-rc));
			return rc;
		}
	}
}

int qvf_file_fd(const struct qvf_file *f)
{
	return f->fd;
}

uint64_t qvf_file_size(const struct qvf_file *f)
{
	return f->size;
}

void qvf_release(struct qvf_file *f)
{
	if (!f)
		return;
	struct qvf_cache *c = f->c;
	close(f->fd);
	pthread_mutex_lock(&c->lock);
	unpin(c, f->e, false);
	evict(c);
	pthread_mutex_unlock(&c->lock);
	free(f);
}

int qvf_size(struct qvf_cache *c, const char *app_id, int64_t mtime_ms, bool nodata,
	     uint64_t *size, char *err, size_t n)
{
	struct qvf_file *f;
	int rc = qvf_open(c, app_id, mtime_ms, nodata, &f, err, n);
	if (rc)
		return rc;
	*size = f->size;
	qvf_release(f);
	return 0;
}

int qvf_peek(struct qvf_cache *c, const char *app_id, int64_t mtime_ms, bool nodata,
	     uint64_t *size)
{
	if (!valid_id(app_id))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, app_id, mtime_ms, nodata);
	if (e)
		*size = e->size;
	pthread_mutex_unlock(&c->lock);
	return e ? 0 : -ENOENT;
}

void qvf_get_stats(struct qvf_cache *c, struct qvf_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->stats;
	st->bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------ import */

/* Uploads the bytes to temp-contents; returns the temp content's id. */
static int upload_temp(struct qclient *qc, int fd, uint64_t size, long timeout_ms,
		       char **temp_id, char *err, size_t n)
{
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/temp-contents");
	url_query(u, "filename", "import.qvf");
	url_query(u, "ttl", IMPORT_TTL_S);
	char *url = url_finish(u);
	if (!url)
		return -ENOMEM;
	struct http_fd_source src;
	http_fd_source_init(&src, fd, 0, size);
	/* repeating the upload only leaves one more temporary content behind */
	struct qcall call = { .method = "POST", .url = url, .source = &src.src,
			      .content_type = "application/octet-stream", .op = QOP_CREATE,
			      .idempotent = true, .timeout_ms = timeout_ms, .max_body = RESP_MAX };
	struct qresp r;
	int rc = qclient_call(qc, &call, &r);
	const char *loc = r.location ? url_tail(r.location) : NULL;
	const char *slash = loc ? strrchr(loc, '/') : NULL;
	size_t idlen = slash ? strcspn(slash + 1, "?#") : 0;
	if (rc) {
		errmsg_set(err, n, "%s", r.errmsg);
	} else if (!idlen || idlen > 128) {
		errmsg_set(err, n, "POST /api/v1/temp-contents: HTTP %ld without a usable Location",
		    r.status);
		rc = -EIO;
	} else {
		*temp_id = strndup(slash + 1, idlen);
		rc = *temp_id ? 0 : -ENOMEM;
	}
	qresp_clear(&r);
	free(url);
	return rc;
}

static int import_run(struct qclient *qc, int fd, uint64_t size, const char *name,
		      const char *space_id, long timeout_ms, cJSON **app_out, char *err, size_t n)
{
	if (!name || !*name || strlen(name) > IMPORT_NAME_MAX) {
		errmsg_set(err, n, "import: an app needs a name of 1 to %d bytes", IMPORT_NAME_MAX);
		return -EINVAL;
	}
	if (fd < 0 || size == 0) {
		errmsg_set(err, n, "import of \"%s\": an empty file is not an app", name);
		return -EINVAL;
	}
	if (timeout_ms <= 0)
		timeout_ms = DEFAULT_TIMEOUT_MS;
	char *temp_id = NULL, inner[512] = "";
	int rc = upload_temp(qc, fd, size, timeout_ms, &temp_id, inner, sizeof(inner));
	if (rc) {
		errmsg_set(err, n, "import of \"%s\": %s", name, inner);
		return rc;
	}
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/apps/import");
	url_query(u, "fileId", temp_id);
	url_query(u, "name", name);
	if (space_id && *space_id)
		url_query(u, "spaceId", space_id);
	char *url = url_finish(u);
	free(temp_id);
	if (!url) {
		errmsg_set(err, n, "import of \"%s\": the name is too long for a URL", name);
		return -ENAMETOOLONG;
	}
	struct qcall call = { .method = "POST", .url = url, .op = QOP_CREATE,
			      .timeout_ms = timeout_ms, .max_body = RESP_MAX };
	struct qresp r;
	rc = qclient_call(qc, &call, &r);
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(r.json, "attributes");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(at, "id");
	if (rc) {
		errmsg_set(err, n, "import of \"%s\": %s", name, r.errmsg);
	} else if (!cJSON_IsString(id)) {
		errmsg_set(err, n, "import of \"%s\": HTTP %ld without an app", name, r.status);
		rc = -EIO;
	} else if (app_out) {
		*app_out = r.json;
		r.json = NULL;
	}
	qresp_clear(&r);
	free(url);
	return rc;
}

int qvf_import(struct qclient *qc, int fd, uint64_t size, const char *name,
	       const char *space_id, long timeout_ms, cJSON **app_out, char *err, size_t n)
{
	struct opstats_op *op = opstats_op_begin("import", name, size); /* the status file */
	int rc = import_run(qc, fd, size, name, space_id, timeout_ms, app_out, err, n);
	opstats_op_end(op);
	return rc;
}
