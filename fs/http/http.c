/*
 * http.c - helpers shared by every HTTP transport (response header list) and
 * the file-descriptor request body source.  No state, no locks.
 */
#include "http/http.h"

#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *http_response_header(const struct http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

int http_response_add_header(struct http_response *resp, const char *name, const char *value)
{
	struct http_header *h = realloc(resp->headers, (resp->n_headers + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	resp->headers = h;
	char *n = strdup(name);
	char *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	for (char *p = n; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	h[resp->n_headers].name = n;
	h[resp->n_headers].value = v;
	resp->n_headers++;
	return 0;
}

void http_response_clear(struct http_response *resp)
{
	for (size_t i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

static ssize_t fd_source_read(void *arg, uint64_t off, char *buf, size_t n)
{
	const struct http_fd_source *fs = arg;
	if (off >= fs->src.len)
		return 0;
	if (n > fs->src.len - off)
		n = (size_t)(fs->src.len - off);
	for (;;) {
		ssize_t r = pread(fs->fd, buf, n, (off_t)(fs->base + off));
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

void http_fd_source_init(struct http_fd_source *fs, int fd, uint64_t base, uint64_t len)
{
	fs->fd = fd;
	fs->base = base;
	fs->src.read = fd_source_read;
	fs->src.arg = fs;
	fs->src.len = len;
}

int http_fd_sink_write(void *arg, const char *data, size_t len)
{
	struct http_fd_sink *d = arg;
	while (len) {
		ssize_t w = pwrite(d->fd, data, len, (off_t)d->off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		d->off += (uint64_t)w;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int http_fd_sink_reset(void *arg)
{
	struct http_fd_sink *d = arg;
	d->off = 0;
	return ftruncate(d->fd, 0) < 0 ? -errno : 0;
}
