/*
 * ns_trash_keep.c - the trash's store (docs/SEMANTICS.md "Trash"): before a
 * delete through the mount is sent, what its undo needs is kept in
 * <state dir>/trash/<entry>/ (trashent.h: the description, the resource's
 * JSON, an app's export); after it, the entry stays (the delete went
 * through) or goes (it failed), and a space's entry takes in the entries of
 * the apps and data files that were in it.  Expired entries are removed at
 * mount, at each listing of .trash and by a sweeper thread.
 *
 * An entry appears whole or not at all: it is written in a hidden
 * ".new.<pid>.<n>" directory and renamed into place (a crash leaves the
 * hidden directory, which the next sweep removes once its process is gone).
 * An app's export is taken from the on-disk export cache when the current
 * one is there (no request), else exported now; it is hard-linked into the
 * entry when the two directories share a filesystem, else copied.
 *
 * Locks: trash_keep and trash_done run with ns->lock held (the node being
 * deleted is busy); trash_keep drops it around the GET, the export and the
 * disk writes.  The sweeper takes only t->mu.  See ns_trash.h.
 */
#include "ns/kinds/ns_trash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions/qvf.h"
#include "ns/core/ns_mut.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/statedir.h"

#define SWEEP_MAX_MS (3600 * 1000)
#define SWEEP_MIN_MS 1000
#define NEW_PREFIX ".new."
#define NAMES_AT_ONCE 4096 /* entries one sweep or grouping looks at */

/* ---- the store on disk ---- */

int trash_path(char *out, size_t n, const char *dir, const char *name)
{
	int r = snprintf(out, n, "%s/%s", dir, name);
	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

static int rm_at(int dfd, const char *name, int depth)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth > 8)
		return -errno;
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = sub < 0 ? NULL : fdopendir(sub);
	if (!d) {
		if (sub >= 0)
			close(sub);
		return errno == ENOENT ? 0 : -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rm_at(dirfd(d), e->d_name, depth + 1);
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -errno;
}

int trash_rm_rf(const char *dir, const char *name)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int rc = rm_at(dfd, name, 0);
	close(dfd);
	return rc;
}

int trash_read_meta(const char *dir, const char *name, struct trash_meta *m)
{
	char path[4096], *buf = NULL;
	size_t len = 0;
	memset(m, 0, sizeof(*m));
	if (trash_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	int rc = statedir_read(path, TRASH_META, TRASH_META_MAX, &buf, &len);
	if (!rc)
		rc = trashent_parse(buf, len, m);
	free(buf);
	return rc;
}

/* The directories in dir whose names do not start with '.', or whose names
 * start with `dots` when it is given (at most NAMES_AT_ONCE).  Returns the
 * count. */
static size_t names_in(const char *dir, const char *dots, char ***v)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct stat st;
	*v = NULL;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < NAMES_AT_ONCE) {
		bool want = dots ? !strncmp(e->d_name, dots, strlen(dots)) : e->d_name[0] != '.';
		if (!want || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		char **nv = realloc(*v, (n + 1) * sizeof(**v));
		if (!nv)
			break;
		*v = nv;
		if (((*v)[n] = strdup(e->d_name)))
			n++;
	}
	closedir(d);
	return n;
}

size_t trash_names(const char *dir, char ***v)
{
	return names_in(dir, NULL, v);
}

void trash_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A hidden ".new.<pid>.<n>" directory whose process is gone. */
static bool orphan(const char *name)
{
	char *end;
	long pid = strtol(name + strlen(NEW_PREFIX), &end, 10);
	return pid > 0 && *end == '.' && !statedir_pid_running(pid);
}

/* How old entry `name` is: its description's time, else its directory's. */
static bool expired(struct ns_trash *t, const char *name, int64_t now)
{
	struct trash_meta m;
	int64_t at = 0;
	if (trash_read_meta(t->dir, name, &m) == 0) {
		at = m.deleted_ms;
		trashent_clear(&m);
	} else {
		char path[4096];
		struct stat st;
		if (trash_path(path, sizeof(path), t->dir, name) || lstat(path, &st) < 0)
			return false;
		at = (int64_t)st.st_mtim.tv_sec * 1000;
	}
	return trashent_expired(at, now, t->keep_ms);
}

int trash_sweep(struct ns_trash *t)
{
	char **v;
	int gone = 0;
	int64_t now = clock_wall_ms();
	size_t n = names_in(t->dir, NULL, &v);
	for (size_t i = 0; i < n; i++)
		if (expired(t, v[i], now) && trash_rm_rf(t->dir, v[i]) == 0)
			gone++;
	trash_names_free(v, n);
	n = names_in(t->dir, NEW_PREFIX, &v);
	for (size_t i = 0; i < n; i++)
		if (orphan(v[i]))
			trash_rm_rf(t->dir, v[i]);
	trash_names_free(v, n);
	return gone;
}

/* Renames dir/tmp to the entry's name at the top of the store (a free one:
 * " #2"... when taken).  Returns 0 with the name in out, or -errno. */
static int place(struct ns_trash *t, const char *from, const char *tmp, int64_t at,
		 const char *path, char *out, size_t outn)
{
	char src[4096], dst[4096];
	if (trash_path(src, sizeof(src), from, tmp))
		return -ENAMETOOLONG;
	for (unsigned nth = 1; nth < 100; nth++) {
		ssize_t l = trashent_name(at, path, nth, out, outn);
		if (l < 0)
			return (int)l;
		if (trash_path(dst, sizeof(dst), t->dir, out))
			return -ENAMETOOLONG;
		if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0) {
			int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
			return 0;
		}
		if (errno != EEXIST && errno != ENOTEMPTY)
			return -errno;
	}
	return -EEXIST;
}

int trash_lift(struct ns_trash *t, const char *from, const char *name, char *out, size_t outn)
{
	struct trash_meta m;
	int rc = trash_read_meta(from, name, &m);
	if (rc)
		return rc;
	rc = place(t, from, name, m.deleted_ms, m.path, out, outn);
	trashent_clear(&m);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies len bytes of src into dir/name (0600), or hard-links the file
 * when it can: the export cache's file never changes once complete. */
static int keep_file(int src, uint64_t len, const char *dir, const char *name)
{
	char dst[4096], proc[64];
	if (trash_path(dst, sizeof(dst), dir, name))
		return -ENAMETOOLONG;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	int rc = 0;
	char *buf = malloc(1 << 20);
	for (uint64_t off = 0; buf && !rc && off < len;) {
		size_t want = len - off < (1u << 20) ? (size_t)(len - off) : (1u << 20);
		ssize_t r = pread(src, buf, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO; /* shorter than its size */
			break;
		}
		rc = write_all(fd, buf, (size_t)r);
		off += (uint64_t)r;
	}
	if (!buf)
		rc = -ENOMEM;
	free(buf);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* Writes an entry (m, the JSON, the export when qfd >= 0) and puts it in
 * place.  Returns 0 with its name in out, or -errno (nothing left). */
static int write_entry(struct ns_trash *t, unsigned seq, const struct trash_meta *m,
		       const char *json, size_t jlen, int qfd, uint64_t qlen, char *out,
		       size_t outn)
{
	char tmp[64], path[4096], *meta = NULL;
	size_t mlen = 0;
	snprintf(tmp, sizeof(tmp), NEW_PREFIX "%ld.%u", (long)getpid(), seq);
	if (trash_path(path, sizeof(path), t->dir, tmp))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) < 0)
		return -errno;
	int rc = statedir_write_atomic(path, TRASH_JSON, json, jlen);
	if (!rc && qfd >= 0)
		rc = keep_file(qfd, qlen, path, TRASH_QVF);
	if (!rc)
		rc = trashent_format(m, &meta, &mlen);
	if (!rc)
		rc = statedir_write_atomic(path, TRASH_META, meta, mlen);
	free(meta);
	if (!rc)
		rc = place(t, t->dir, tmp, m->deleted_ms, m->path, out, outn);
	if (rc)
		trash_rm_rf(t->dir, tmp);
	return rc;
}

/* A space's entry takes in the entries of the apps and data files that were
 * in the space (it was deleted after them: rm -r). */
static void take_members(struct ns_trash *t, const char *entry, const char *space_id)
{
	char **v, into[4096], src[4096], dst[4096];
	size_t n = names_in(t->dir, NULL, &v);
	for (size_t i = 0; i < n && !trash_path(into, sizeof(into), t->dir, entry); i++) {
		struct trash_meta m;
		if (!strcmp(v[i], entry) || trash_read_meta(t->dir, v[i], &m))
			continue;
		bool member = (!strcmp(m.type, "app") || !strcmp(m.type, "data-file")) &&
			      !strcmp(m.space_id, space_id);
		trashent_clear(&m);
		if (member && !trash_path(src, sizeof(src), t->dir, v[i]) &&
		    !trash_path(dst, sizeof(dst), into, v[i]) && renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) < 0)
			log_warn("trash: cannot move %s into %s: %s", v[i], entry, strerror(errno));
	}
	trash_names_free(v, n);
}

/* ---- the sweeper ---- */

static void *sweeper(void *arg)
{
	struct ns_trash *t = arg;
	pthread_mutex_lock(&t->mu);
	while (!t->stopping) {
		int64_t due = clock_mono_ms() + t->sweep_ms;
		while (!t->stopping && clock_mono_ms() < due)
			clock_cond_wait_until(&t->cv, &t->mu, due);
		if (t->stopping)
			break;
		pthread_mutex_unlock(&t->mu);
		trash_sweep(t);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

void trash_init(struct ns *ns)
{
	struct ns_trash *t;
	if (ns->trash || !ns->o.state_dir || ns->o.trash_keep_ms <= 0 ||
	    !(t = calloc(1, sizeof(*t))))
		return;
	int rc = statedir_mkdir(ns->o.state_dir, TRASH_DIR);
	if (rc || asprintf(&t->dir, "%s/%s", ns->o.state_dir, TRASH_DIR) < 0) {
		log_warn("trash: cannot use %s/%s: %s; deletes are not kept", ns->o.state_dir,
			 TRASH_DIR, strerror(rc ? -rc : ENOMEM));
		free(t);
		return;
	}
	t->keep_ms = ns->o.trash_keep_ms;
	t->qvf_max = ns->o.trash_qvf_max;
	t->required = ns->o.trash_required;
	t->sweep_ms = t->keep_ms / 4 < SWEEP_MIN_MS   ? SWEEP_MIN_MS
		      : t->keep_ms / 4 > SWEEP_MAX_MS ? SWEEP_MAX_MS
						      : t->keep_ms / 4;
	int gone = trash_sweep(t);
	if (gone > 0)
		log_info("trash: %d expired entr%s removed", gone, gone == 1 ? "y" : "ies");
	pthread_mutex_init(&t->mu, NULL);
	if (clock_cond_init(&t->cv) == 0) {
		t->thr_on = pthread_create(&t->thr, NULL, sweeper, t) == 0;
		if (!t->thr_on)
			pthread_cond_destroy(&t->cv);
	}
	ns->trash = t;
}

void trash_fini(struct ns *ns)
{
	struct ns_trash *t = ns->trash;
	if (!t)
		return;
	if (t->thr_on) {
		pthread_mutex_lock(&t->mu);
		t->stopping = true;
		pthread_cond_broadcast(&t->cv);
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->thr, NULL);
		pthread_cond_destroy(&t->cv);
	}
	pthread_mutex_destroy(&t->mu);
	free(t->dir);
	free(t);
	ns->trash = NULL;
}

/* ---- keeping, around a delete (the hooks) ---- */

/* An entry kept for a delete in flight (trash_keep -> trash_done). */
struct kept {
	enum rkind kind;
	char *id;
	char name[NAMES_MAX + 1];
};

/* What a delete keeps: gathered with the lock held or dropped. */
struct keep_job {
	struct trash_meta m;
	struct cache_blob *json;
	struct qvf_file *qf;
	int miss;   /* the errno of what could not be kept (the first); 0: none */
	bool known; /* a miss known in advance (a data file's bytes): logged only */
	char why[600];
};

static void miss(struct keep_job *j, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void miss(struct keep_job *j, int rc, const char *fmt, ...)
{
	if (j->miss)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	j->miss = rc < 0 ? rc : -EIO;
	free(j->m.not_kept);
	j->m.not_kept = strdup(j->why);
}

/* The description's fields known before any request. */
static int gather(struct node *n, struct keep_job *j)
{
	char path[4096];
	if (node_path(n, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	snprintf(j->m.type, sizeof(j->m.type), "%s", n->rt->type);
	snprintf(j->m.id, sizeof(j->m.id), "%s", n->id);
	j->m.deleted_ms = ns_wall_ms();
	return (j->m.path = strdup(path)) ? 0 : -ENOMEM;
}

/* The app's export (no request when the current one is cached), unless it
 * is over the bound.  Lock held; dropped around the export. */
static void keep_qvf(struct ns *ns, struct ns_trash *t, struct node *n, const cJSON *obj,
		     struct keep_job *j)
{
	char err[512] = "";
	uint64_t size = 0;
	if (!ns->o.qvf) {
		miss(j, -EPERM, "app.qvf: exports are off (-o noqvf)");
		return;
	}
	/* the item's resourceSize.appFile: an app far over the bound is not
	 * exported at all (an export without data is smaller: not judged) */
	const cJSON *af = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "resourceSize"), "appFile");
	bool cached = qvf_peek(ns->o.qvf, n->id, n->mtime_ms, ns->o.qvf_nodata, &size) == 0;
	if (!cached && !ns->o.qvf_nodata && cJSON_IsNumber(af) && af->valuedouble > (double)t->qvf_max) {
		miss(j, -EFBIG, "app.qvf: the app is %.0f bytes, over trash_qvf_max (%llu)",
		     af->valuedouble, (unsigned long long)t->qvf_max);
		return;
	}
	char *id = strdup(n->id);
	int64_t mt = n->mtime_ms;
	if (!id) {
		miss(j, -ENOMEM, "app.qvf: out of memory");
		return;
	}
	pthread_mutex_unlock(&ns->lock);
	int rc = qvf_open(ns->o.qvf, id, mt, ns->o.qvf_nodata, &j->qf, err, sizeof(err));
	pthread_mutex_lock(&ns->lock);
	free(id);
	if (rc) {
		miss(j, rc, "app.qvf: the export failed: %s", err[0] ? err : strerror(-rc));
		return;
	}
	size = qvf_file_size(j->qf);
	if (size > t->qvf_max) {
		qvf_release(j->qf);
		j->qf = NULL;
		miss(j, -EFBIG, "app.qvf: the export is %llu bytes, over trash_qvf_max (%llu)",
		     (unsigned long long)size, (unsigned long long)t->qvf_max);
		return;
	}
	j->m.qvf = true;
	j->m.qvf_size = size;
}

/* The resource's JSON (cache, else one GET), its name and space, and what
 * else its kind keeps.  Lock held; may drop it. */
static void gather_content(struct ns *ns, struct ns_trash *t, struct node *n,
			   struct keep_job *j)
{
	char err[512] = "";
	int rc = mut_current_content(ns, n, &j->json, err, sizeof(err));
	if (rc) {
		j->json = NULL;
		miss(j, rc, "its JSON could not be read: %s", err[0] ? err : strerror(-rc));
		return;
	}
	cJSON *obj = mut_parse_blob(j->json);
	const char *name = obj ? restab_name(n->rt, obj) : NULL;
	const char *space = obj ? json_str(obj, "spaceId") : NULL;
	j->m.name = name ? strdup(name) : NULL;
	if (space && strlen(space) <= TRASH_ID_MAX)
		snprintf(j->m.space_id, sizeof(j->m.space_id), "%s", space);
	if (n->rt->kind == RK_APP) {
		keep_qvf(ns, t, n, obj, j);
	} else if (n->rt->kind == RK_DATAFILE) {
		miss(j, -EPERM, "the file's bytes: the API cannot download a data file's content");
		j->known = true;
	}
	cJSON_Delete(obj);
}

/* Tells of what could not be kept (the log, and .errors unless known in
 * advance).  Lock held; dropped meanwhile (the report takes it). */
static void tell(struct ns *ns, struct node *n, struct keep_job *j)
{
	if (j->known) {
		log_info("trash: %s: kept without %s", j->m.path, j->why);
		return;
	}
	char name[1024];
	uint64_t dir = n->parent ? n->parent->ino : NS_ROOT_INO;
	snprintf(name, sizeof(name), "%s", n->name ? n->name : "");
	pthread_mutex_unlock(&ns->lock);
	ns->hooks.report(ns, "trash", dir, name, j->miss, j->why);
	pthread_mutex_lock(&ns->lock);
}

static void job_clear(struct keep_job *j)
{
	cache_blob_unref(j->json);
	qvf_release(j->qf);
	trashent_clear(&j->m);
}

int trash_keep(struct ns *ns, struct node *n, void **kept, char *err, size_t errn)
{
	struct ns_trash *t = ns->trash;
	struct keep_job j = { 0 };
	struct kept *k = NULL;
	*kept = NULL;
	if (!t || !n->rt || !n->id)
		return 0;
	int rc = gather(n, &j);
	if (rc)
		miss(&j, rc, "its path is too long to keep");
	else
		gather_content(ns, t, n, &j);
	if (j.json && !(k = calloc(1, sizeof(*k))))
		miss(&j, -ENOMEM, "out of memory");
	if (k) {
		unsigned seq = ++t->seq;
		pthread_mutex_unlock(&ns->lock);
		rc = write_entry(t, seq, &j.m, cache_blob_data(j.json), cache_blob_len(j.json),
				 j.qf ? qvf_file_fd(j.qf) : -1, j.qf ? qvf_file_size(j.qf) : 0, k->name,
				 sizeof(k->name));
		pthread_mutex_lock(&ns->lock);
		if (rc) {
			j.known = false;
			j.miss = 0; /* this one says what matters: nothing was kept */
			miss(&j, rc, "the trash could not be written in %s: %s", t->dir, strerror(-rc));
			free(k);
			k = NULL;
		}
	}
	if (j.miss && t->required) {
		if (k)
			trash_rm_rf(t->dir, k->name);
		free(k);
		errmsg_set(err, errn, "not deleted: the trash cannot keep %s (-o trash_required)",
			   j.why);
		rc = j.miss;
		job_clear(&j);
		return rc;
	}
	if (j.miss)
		tell(ns, n, &j);
	if (k) {
		k->kind = n->rt->kind;
		k->id = strdup(n->id);
		*kept = k;
	}
	job_clear(&j);
	return 0;
}

void trash_done(struct ns *ns, void *kept, int rc)
{
	struct kept *k = kept;
	struct ns_trash *t = ns->trash;
	if (!k)
		return;
	if (t && rc && rc != -ENOENT)
		trash_rm_rf(t->dir, k->name); /* not deleted: nothing to undo */
	else if (t && k->kind == RK_SPACE && k->id)
		take_members(t, k->name, k->id);
	free(k->id);
	free(k);
}
