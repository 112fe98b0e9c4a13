/*
 * multipart.c - see multipart.h.
 *
 * The body is a list of segments laid end to end: in-memory bytes (part
 * headers, the boundaries, small parts) and file ranges.  Each segment knows
 * its start offset in the body, so read(off) finds its segment by a scan
 * (at most 2 * MULTIPART_MAX_PARTS + 1 segments) and copies from there.
 *
 * Invariants: segs[i].start == sum of the lengths of segs[0..i); total ==
 * sum of all lengths; once finished, nothing is appended.  No locks: see
 * the header for the threading rules.
 */
#include "actions/multipart.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MAX_SEGS (2 * MULTIPART_MAX_PARTS + 1)
#define BOUNDARY_LEN 44 /* "qlikfs-form-" + 32 hex digits (RFC 2046 allows 70) */

struct seg {
	char *mem; /* owned; NULL for a file range */
	int fd;
	uint64_t len;
	uint64_t start;
};

struct multipart {
	struct seg segs[MAX_SEGS];
	size_t nsegs;
	size_t nparts;
	size_t mem_bytes;
	uint64_t total;
	bool finished;
	char boundary[BOUNDARY_LEN + 1];
	char ctype[64 + BOUNDARY_LEN];
	struct http_body_source src;
};

struct multipart *multipart_new(void)
{
	unsigned char rnd[16];
	size_t got = 0;
	while (got < sizeof(rnd)) {
		ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		got += (size_t)r;
	}
	struct multipart *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	int n = snprintf(m->boundary, sizeof(m->boundary), "qlikfs-form-");
	for (size_t i = 0; i < sizeof(rnd); i++)
		n += snprintf(m->boundary + n, sizeof(m->boundary) - (size_t)n, "%02x", rnd[i]);
	snprintf(m->ctype, sizeof(m->ctype), "multipart/form-data; boundary=%s", m->boundary);
	return m;
}

void multipart_free(struct multipart *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nsegs; i++)
		free(m->segs[i].mem);
	free(m);
}

const char *multipart_content_type(const struct multipart *m)
{
	return m->ctype;
}

const struct http_body_source *multipart_source(const struct multipart *m)
{
	return m->finished ? &m->src : NULL;
}

/* Appends a segment (taking mem); the caller checked there is room. */
static void push(struct multipart *m, char *mem, int fd, uint64_t len)
{
	m->segs[m->nsegs++] = (struct seg){ .mem = mem, .fd = fd, .len = len, .start = m->total };
	m->total += len;
}

/* Writes s quoted-string-safe into out (bounded); returns bytes written. */
static size_t put_escaped(char *out, const char *s)
{
	size_t o = 0;
	for (; *s; s++) {
		const char *rep = *s == '"' ? "%22" : *s == '\r' ? "%0D" : *s == '\n' ? "%0A" : NULL;
		if (rep) {
			memcpy(out + o, rep, 3);
			o += 3;
		} else {
			out[o++] = *s;
		}
	}
	return o;
}

/* Builds the delimiter and header lines of one part (malloc'd) into *out. */
static int part_head(const struct multipart *m, const char *name, const char *filename,
		     const char *ctype, char **out, size_t *len)
{
	if (!name || !*name || strlen(name) > MULTIPART_MAX_NAME ||
	    (filename && strlen(filename) > MULTIPART_MAX_NAME) ||
	    (ctype && (strlen(ctype) > 255 || strpbrk(ctype, "\r\n"))))
		return -EINVAL;
	/* each name byte may become 3; fixed text well under 256 bytes */
	size_t cap = 256 + BOUNDARY_LEN + 3 * strlen(name) +
		     (filename ? 3 * strlen(filename) : 0) + (ctype ? strlen(ctype) : 0);
	char *h = malloc(cap);
	if (!h)
		return -ENOMEM;
	size_t o = (size_t)sprintf(h, "%s--%s\r\nContent-Disposition: form-data; name=\"",
				   m->nparts ? "\r\n" : "", m->boundary);
	o += put_escaped(h + o, name);
	h[o++] = '"';
	if (filename) {
		o += (size_t)sprintf(h + o, "; filename=\"");
		o += put_escaped(h + o, filename);
		h[o++] = '"';
	}
	o += (size_t)sprintf(h + o, "\r\n");
	if (ctype)
		o += (size_t)sprintf(h + o, "Content-Type: %s\r\n", ctype);
	o += (size_t)sprintf(h + o, "\r\n");
	*out = h;
	*len = o;
	return 0;
}

static int add_part(struct multipart *m, const char *name, const char *filename,
		    const char *ctype, const void *data, int fd, uint64_t len)
{
	if (m->finished)
		return -EINVAL;
	if (m->nparts >= MULTIPART_MAX_PARTS)
		return -E2BIG;
	if (data && len > MULTIPART_MAX_MEM - m->mem_bytes)
		return -E2BIG;
	char *head, *copy = NULL;
	size_t hlen;
	int rc = part_head(m, name, filename, ctype, &head, &hlen);
	if (rc)
		return rc;
	if (data && !(copy = malloc(len ? (size_t)len : 1))) {
		free(head);
		return -ENOMEM;
	}
	if (copy && len)
		memcpy(copy, data, (size_t)len);
	push(m, head, -1, hlen);
	push(m, copy, data ? -1 : fd, len);
	m->nparts++;
	if (data)
		m->mem_bytes += (size_t)len;
	return 0;
}

int multipart_add_data(struct multipart *m, const char *name, const char *filename,
		       const char *ctype, const void *data, size_t len)
{
	static const char empty[1];
	return add_part(m, name, filename, ctype, data ? data : empty, -1, len);
}

int multipart_add_fd(struct multipart *m, const char *name, const char *filename,
		     const char *ctype, int fd, uint64_t len)
{
	if (fd < 0)
		return -EINVAL;
	return add_part(m, name, filename, ctype, NULL, fd, len);
}

static ssize_t mp_read(void *arg, uint64_t off, char *buf, size_t n)
{
	const struct multipart *m = arg;
	size_t i = 0;
	while (i < m->nsegs && off >= m->segs[i].start + m->segs[i].len)
		i++;
	if (i == m->nsegs)
		return 0;
	const struct seg *s = &m->segs[i];
	uint64_t in = off - s->start;
	if (n > s->len - in)
		n = (size_t)(s->len - in);
	if (s->mem) {
		memcpy(buf, s->mem + in, n);
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t r = pread(s->fd, buf, n, (off_t)in);
		if (r >= 0)
			return r; /* 0: the file is shorter than announced */
		if (errno != EINTR)
			return -errno;
	}
}

int multipart_finish(struct multipart *m)
{
	if (m->finished || !m->nparts)
		return -EINVAL;
	char *tail;
	int n = asprintf(&tail, "\r\n--%s--\r\n", m->boundary);
	if (n < 0)
		return -ENOMEM;
	push(m, tail, -1, (uint64_t)n);
	m->src = (struct http_body_source){ .read = mp_read, .arg = m, .len = m->total };
	m->finished = true;
	return 0;
}
