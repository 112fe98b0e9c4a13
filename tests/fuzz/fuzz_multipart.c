/*
 * fuzz_multipart.c - multipart/form-data bodies (multipart.c) built from
 * user-given part names, file names, content types and data (the `api`
 * file's "multipart" parts, data-file uploads).
 *
 * Input: parts "NAME\nFILENAME\nCTYPE\nDATA" with "\n%%\n" between them
 * (an empty FILENAME/CTYPE line means none; a part whose NAME starts with
 * '@' takes its data from a file descriptor).  Invariants: the body read
 * through its source (in uneven chunks, at any offsets) has exactly the
 * announced length, parses back (RFC 7578) into the parts accepted, in
 * order, with names and file names escaped ('"' CR LF as %22 %0D %0A) and
 * the data byte for byte; a refused part leaves the body unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "actions/multipart.h"

#define MAXP (MULTIPART_MAX_PARTS + 4)

struct want {
	char *name, *filename, *ctype, *data;
	size_t len;
};

static char *escaped(const char *s)
{
	char *o = malloc(strlen(s) * 3 + 1), *p = o;
	FZ_CHECK(o);
	for (; *s; s++) {
		const char *rep = *s == '"' ? "%22" : *s == '\r' ? "%0D" : *s == '\n' ? "%0A" : NULL;
		if (rep) {
			memcpy(p, rep, 3);
			p += 3;
		} else {
			*p++ = *s;
		}
	}
	*p = '\0';
	return o;
}

/* Reads the whole body with reads of varying sizes. */
static char *read_body(const struct http_body_source *src, const uint8_t *data, size_t size)
{
	char *b = malloc((size_t)src->len + 1);
	FZ_CHECK(b);
	uint64_t off = 0;
	size_t k = 0;
	while (off < src->len) {
		size_t chunk = 1 + (size ? data[k++ % size] : 7) * 13u;
		if (chunk > src->len - off)
			chunk = (size_t)(src->len - off);
		ssize_t r = src->read(src->arg, off, b + off, chunk);
		FZ_CHECK(r > 0 && (size_t)r <= chunk);
		off += (uint64_t)r;
	}
	/* a read at the very end gives 0 */
	char x;
	FZ_CHECK(src->read(src->arg, src->len, &x, 1) == 0);
	b[src->len] = '\0';
	return b;
}

static void check_body(const char *b, size_t len, const char *boundary, struct want *w, size_t n)
{
	char delim[128];
	int dl = snprintf(delim, sizeof(delim), "--%s\r\n", boundary);
	const char *p = b, *end = b + len;
	for (size_t i = 0; i < n; i++) {
		if (i) {
			FZ_CHECK(end - p >= 2 && !memcmp(p, "\r\n", 2));
			p += 2;
		}
		FZ_CHECK(end - p >= dl && !memcmp(p, delim, (size_t)dl));
		p += dl;
		char *en = escaped(w[i].name), *ef = w[i].filename ? escaped(w[i].filename) : NULL;
		char *head = NULL;
		int hl = asprintf(&head, "Content-Disposition: form-data; name=\"%s\"%s%s%s\r\n%s%s%s\r\n",
				  en, ef ? "; filename=\"" : "", ef ? ef : "", ef ? "\"" : "",
				  w[i].ctype ? "Content-Type: " : "", w[i].ctype ? w[i].ctype : "",
				  w[i].ctype ? "\r\n" : "");
		FZ_CHECK(hl > 0 && end - p >= hl && !memcmp(p, head, (size_t)hl));
		p += hl;
		FZ_CHECK((size_t)(end - p) >= w[i].len && !memcmp(p, w[i].data, w[i].len));
		p += w[i].len;
		free(head);
		free(en);
		free(ef);
	}
	char tail[128];
	int tl = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
	FZ_CHECK(end - p == tl && !memcmp(p, tail, (size_t)tl));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *in = fz_strndup(data, size);
	char *parts[MAXP];
	size_t np = fz_split(in, "\n%%\n", parts, MAXP);
	if (np > MAXP)
		np = MAXP;
	struct multipart *m = multipart_new();
	FZ_CHECK(m);
	struct want w[MAXP];
	size_t nw = 0;
	int fds[MAXP];
	size_t nfd = 0;

	for (size_t i = 0; i < np; i++) {
		/* NAME, FILENAME and CTYPE lines; DATA is the rest (may hold '\n') */
		char *f[4] = { parts[i], NULL, NULL, NULL };
		for (size_t k = 1; k < 4; k++) {
			char *nl = strchr(f[k - 1], '\n');
			if (!nl)
				break;
			*nl = '\0';
			f[k] = nl + 1;
		}
		struct want x = { f[0], f[1] && *f[1] ? f[1] : NULL, f[2] && *f[2] ? f[2] : NULL,
				  f[3] ? f[3] : "", 0 };
		x.len = strlen(x.data);
		int rc;
		if (x.name[0] == '@') {
			int fd = memfd_create("part", MFD_CLOEXEC);
			FZ_CHECK(fd >= 0 && write(fd, x.data, x.len) == (ssize_t)x.len);
			fds[nfd++] = fd;
			rc = multipart_add_fd(m, x.name, x.filename, x.ctype, fd, x.len);
		} else {
			rc = multipart_add_data(m, x.name, x.filename, x.ctype, x.data, x.len);
		}
		FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG);
		if (rc == 0)
			w[nw++] = x;
	}
	FZ_CHECK(!multipart_source(m));
	int rc = multipart_finish(m);
	FZ_CHECK(nw ? rc == 0 : rc == -EINVAL);
	if (rc == 0) {
		const struct http_body_source *src = multipart_source(m);
		const char *ct = multipart_content_type(m);
		const char *bd = strstr(ct, "boundary=");
		FZ_CHECK(src && !strncmp(ct, "multipart/form-data; ", 21) && bd);
		char *body = read_body(src, data, size);
		check_body(body, (size_t)src->len, bd + 9, w, nw);
		free(body);
		FZ_CHECK(multipart_add_data(m, "late", NULL, NULL, "x", 1) == -EINVAL);
		FZ_CHECK(multipart_finish(m) == -EINVAL);
	}
	multipart_free(m);
	for (size_t i = 0; i < nfd; i++)
		close(fds[i]);
	free(in);
	return 0;
}
