/*
 * idmap.c - the restore map (idmap.h): an append-only file of OLD -> NEW
 * records per kind, and two in-memory indexes over it.
 *
 * Locks: m->lock is a leaf; the file is appended under it.
 */
#include "res/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/statedir.h"
#include "util/strmap.h"

#define IDMAP_MAX_FILE (64u << 20)

/* A record, and the one that held its new id in by_new before it (another
 * backup id restored to the same resource), to fall back on when this one
 * is replaced. */
struct node {
	struct idmap_rec rec;
	struct node *older;
};

struct idmap {
	pthread_mutex_t lock;
	char *dir, *path;       /* NULL: memory only */
	struct strmap *by_old;  /* "type\told" -> struct node * (latest) */
	struct strmap *by_new;  /* "type\tnew" -> struct node * (latest current mapping) */
	struct node **all;      /* every record made or loaded (owned) */
	size_t n, cap;
	size_t mapped;
};

static bool field_ok(const char *s, size_t max, bool empty_ok)
{
	size_t l = strlen(s);
	if ((!l && !empty_ok) || l >= max)
		return false;
	return !strpbrk(s, "\t\n\r");
}

static bool kind_of(const char *type, size_t tl, enum rkind *out)
{
	for (int k = 0; k < RK_COUNT; k++) {
		const char *t = restab_get((enum rkind)k)->type;
		if (strlen(t) == tl && !memcmp(t, type, tl)) {
			*out = (enum rkind)k;
			return true;
		}
	}
	return false;
}

static int copy_field(const char *s, size_t l, char *out, size_t n, bool empty_ok)
{
	if ((!l && !empty_ok) || l >= n || memchr(s, '\r', l) || memchr(s, '\0', l))
		return -EINVAL;
	memcpy(out, s, l);
	out[l] = '\0';
	return 0;
}

static int parse_fields(const char *line, size_t len, struct idmap_rec *out)
{
	const char *f[4];
	size_t fl[4], nf = 0;
	const char *p = line, *end = line + len;
	memset(out, 0, sizeof(*out));
	while (nf < 4) {
		const char *t = memchr(p, '\t', (size_t)(end - p));
		if (nf == 3)
			t = NULL; /* the note is the rest (no tab in it) */
		f[nf] = p;
		fl[nf] = t ? (size_t)(t - p) : (size_t)(end - p);
		nf++;
		if (!t)
			break;
		p = t + 1;
	}
	if (nf != 4 || memchr(f[3], '\t', fl[3]) || memchr(line, '\n', len))
		return -EINVAL;
	if (!kind_of(f[0], fl[0], &out->kind))
		return -EINVAL;
	if (copy_field(f[1], fl[1], out->old_id, sizeof(out->old_id), false) ||
	    copy_field(f[2], fl[2], out->new_id, sizeof(out->new_id), false) ||
	    copy_field(f[3], fl[3], out->note, sizeof(out->note), true))
		return -EINVAL;
	return 0;
}

int idmap_parse_line(const char *line, size_t len, struct idmap_rec *out)
{
	int rc = parse_fields(line, len, out);
	if (rc)
		memset(out, 0, sizeof(*out)); /* no half record */
	return rc;
}

int idmap_format_line(const struct idmap_rec *r, char *out, size_t n)
{
	if ((unsigned)r->kind >= RK_COUNT || !field_ok(r->old_id, sizeof(r->old_id), false) ||
	    !field_ok(r->new_id, sizeof(r->new_id), false) ||
	    !field_ok(r->note, sizeof(r->note), true))
		return -EINVAL;
	int l = snprintf(out, n, "%s\t%s\t%s\t%s\n", restab_get(r->kind)->type, r->old_id,
			 r->new_id, r->note);
	return l < 0 || (size_t)l >= n ? -ENAMETOOLONG : l;
}

static void key_of(enum rkind k, const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s\t%s", restab_get(k)->type, id);
}

/* prev (a mapping) no longer stands for its new id: the reverse index
 * falls back on the latest other backup id still mapped to it.  Lock held. */
static int unindex_new(struct idmap *m, struct node *prev)
{
	char key[160], ok[160];
	key_of(prev->rec.kind, prev->rec.new_id, key, sizeof(key));
	if (strmap_get(m->by_new, key) != prev)
		return 0;
	for (struct node *o = prev->older; o; o = o->older) {
		key_of(o->rec.kind, o->rec.old_id, ok, sizeof(ok));
		if (strmap_get(m->by_old, ok) == o && !strcmp(o->rec.new_id, prev->rec.new_id))
			return strmap_put(m->by_new, key, o);
	}
	strmap_del(m->by_new, key);
	return 0;
}

/* Indexes nd (owned from now on).  Lock held. */
static int remember(struct idmap *m, struct node *nd)
{
	char key[160];
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct node **v = realloc(m->all, cap * sizeof(*v));
		if (!v) {
			free(nd);
			return -ENOMEM;
		}
		m->all = v;
		m->cap = cap;
	}
	m->all[m->n++] = nd;
	key_of(nd->rec.kind, nd->rec.old_id, key, sizeof(key));
	struct node *prev = strmap_get(m->by_old, key);
	if (strmap_put(m->by_old, key, nd))
		return -ENOMEM;
	if (prev && strcmp(prev->rec.new_id, "?")) {
		m->mapped--;
		if (unindex_new(m, prev))
			return -ENOMEM;
	}
	if (strcmp(nd->rec.new_id, "?")) {
		m->mapped++;
		key_of(nd->rec.kind, nd->rec.new_id, key, sizeof(key));
		nd->older = strmap_get(m->by_new, key);
		if (strmap_put(m->by_new, key, nd))
			return -ENOMEM;
	}
	return 0;
}

static int load(struct idmap *m)
{
	char *data = NULL;
	size_t len = 0;
	int rc = statedir_read_path(m->path, IDMAP_MAX_FILE, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	for (char *p = data, *end = data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break; /* a torn last line: the record was never complete */
		struct node *r = calloc(1, sizeof(*r));
		if (!r) {
			rc = -ENOMEM;
			break;
		}
		if (idmap_parse_line(p, (size_t)(nl - p), &r->rec) == 0) {
			if ((rc = remember(m, r)))
				break;
		} else {
			free(r);
		}
		p = nl + 1;
	}
	free(data);
	return rc;
}

int idmap_open(const char *dir, struct idmap **out)
{
	struct idmap *m = calloc(1, sizeof(*m));
	int rc = -ENOMEM;
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	if (!(m->by_old = strmap_new()) || !(m->by_new = strmap_new()))
		goto fail;
	if (dir) {
		/* "." as the sub-directory: dir itself (and its parents) */
		if ((rc = statedir_mkdir(dir, ".")))
			goto fail;
		if (!(m->dir = strdup(dir)) || asprintf(&m->path, "%s/ids", dir) < 0) {
			m->path = NULL;
			rc = -ENOMEM;
			goto fail;
		}
		if ((rc = load(m)))
			goto fail;
	}
	*out = m;
	return 0;
fail:
	idmap_free(m);
	return rc;
}

void idmap_free(struct idmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->all[i]);
	free(m->all);
	strmap_free(m->by_old);
	strmap_free(m->by_new);
	free(m->dir);
	free(m->path);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static bool lookup(struct idmap *m, struct strmap *idx, enum rkind k, const char *id,
		   struct idmap_rec *out)
{
	char key[160];
	if (!id || (unsigned)k >= RK_COUNT)
		return false;
	key_of(k, id, key, sizeof(key));
	pthread_mutex_lock(&m->lock);
	struct node *r = strmap_get(idx, key);
	if (r)
		*out = r->rec;
	pthread_mutex_unlock(&m->lock);
	return r != NULL;
}

bool idmap_get(struct idmap *m, enum rkind k, const char *old_id, struct idmap_rec *out)
{
	return m && lookup(m, m->by_old, k, old_id, out);
}

bool idmap_new_id(struct idmap *m, enum rkind k, const char *old_id, char *out, size_t n)
{
	struct idmap_rec r;
	if (!idmap_get(m, k, old_id, &r) || !strcmp(r.new_id, "?"))
		return false;
	snprintf(out, n, "%s", r.new_id);
	return true;
}

bool idmap_old_id(struct idmap *m, enum rkind k, const char *new_id, char *out, size_t n)
{
	struct idmap_rec r;
	if (!m || !lookup(m, m->by_new, k, new_id, &r))
		return false;
	snprintf(out, n, "%s", r.old_id);
	return true;
}

/* Drops a torn last line (a write cut short, by this process or an earlier
 * one) before a record is appended: the record would end it and be lost
 * with it, or, cut in its note, the fragment would become a record that
 * was never made.  A fragment longer than any record is not ours: *sep
 * asks for a newline to end it instead.  Returns 0 or -errno. */
static int drop_torn(int fd, bool *sep)
{
	struct stat st;
	char buf[1024];
	*sep = false;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	size_t n = st.st_size < (off_t)sizeof(buf) ? (size_t)st.st_size : sizeof(buf);
	off_t at = st.st_size - (off_t)n;
	ssize_t r = pread(fd, buf, n, at);
	if (r != (ssize_t)n)
		return r < 0 ? -errno : -EIO;
	if (buf[n - 1] == '\n')
		return 0;
	const char *nl = memrchr(buf, '\n', n);
	if (!nl && at > 0) {
		*sep = true;
		return 0;
	}
	return ftruncate(fd, nl ? at + (nl - buf) + 1 : 0) < 0 ? -errno : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

/* Appends line and fsyncs it (and the directory when the file is new). */
static int append(struct idmap *m, const char *line, size_t len)
{
	bool created = false, sep = false;
	int fd = open(m->path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		fd = open(m->path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		created = fd >= 0;
	}
	if (fd < 0)
		return -errno;
	int rc = drop_torn(fd, &sep);
	if (!rc) {
		struct iovec iov[2] = { { "\n", sep }, { (void *)line, len } };
		ssize_t w = writev(fd, iov, 2);
		rc = w == (ssize_t)(len + sep) ? 0 : (w < 0 ? -errno : -EIO);
	}
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && created)
		rc = fsync_dir(m->dir);
	return rc;
}

int idmap_add(struct idmap *m, enum rkind k, const char *old_id, const char *new_id,
	      const char *note)
{
	if (!m)
		return -EINVAL;
	struct node *nd = calloc(1, sizeof(*nd));
	struct idmap_rec *r = nd ? &nd->rec : NULL;
	char line[1024];
	if (!nd)
		return -ENOMEM;
	r->kind = k;
	if (!old_id || !new_id || !field_ok(old_id, sizeof(r->old_id), false) ||
	    !field_ok(new_id, sizeof(r->new_id), false) ||
	    (note && !field_ok(note, sizeof(r->note), true))) {
		free(nd);
		return -EINVAL;
	}
	snprintf(r->old_id, sizeof(r->old_id), "%s", old_id);
	snprintf(r->new_id, sizeof(r->new_id), "%s", new_id);
	snprintf(r->note, sizeof(r->note), "%s", note ? note : "");
	int len = idmap_format_line(r, line, sizeof(line));
	if (len < 0) {
		free(nd);
		return len;
	}
	pthread_mutex_lock(&m->lock);
	int rc = m->path ? append(m, line, (size_t)len) : 0;
	if (!rc)
		rc = remember(m, nd);
	else
		free(nd);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

size_t idmap_count(struct idmap *m)
{
	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	size_t n = m->mapped;
	pthread_mutex_unlock(&m->lock);
	return n;
}
