/*
 * url.c - building URLs (see url.h; parsing and resolving: url_parse.c).
 *
 * Responsibility: every URL qlikfs sends is assembled here, so escaping is
 * decided in one place (libcurl's curl_easy_escape does the escaping), and
 * every URL it receives (tenant argument, Location headers) is checked here.
 *
 * Invariants:
 *  - a url_buf's text is always NUL-terminated, at most URL_MAX bytes, and
 *    once u->err is set nothing is appended any more;
 *  - path pieces are never appended after the query has started;
 *  - parse_parts() only accepts "http"/"https" + "://" + authority and
 *    never reads past the terminating NUL.
 */
#include "util/url.h"
#include "util/url_chars.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct url_buf {
	char *buf;
	size_t len, cap;
	int err;
	bool in_query;
};

/* libcurl's escaping, which is RFC 3986's for one component: unreserved
 * [A-Za-z0-9-._~] kept, every other byte "%XX" in upper-case hex
 * (test_url.c checks all 255 bytes).  NULL on OOM. */
static char *curl_escaped(const char *s, size_t len)
{
	return curl_easy_escape(NULL, s, (int)len);
}

char *url_escape(const char *s)
{
	size_t len = s ? strnlen(s, URL_ESCAPE_MAX + 1) : 0;
	if (!s || len > URL_ESCAPE_MAX)
		return NULL;
	char *c = curl_escaped(s, len), *r = c ? strdup(c) : NULL; /* ours is free()d */
	curl_free(c);
	return r;
}

/* Makes room for n more bytes (plus NUL).  Returns 0 or sets/returns u->err. */
static int reserve(struct url_buf *u, size_t n)
{
	if (u->err)
		return u->err;
	if (n > URL_MAX - u->len)
		return u->err = -ENAMETOOLONG;
	if (u->len + n + 1 > u->cap) {
		size_t cap = u->cap ? u->cap : 128;

		while (cap < u->len + n + 1)
			cap *= 2;
		if (cap > URL_MAX + 1)
			cap = URL_MAX + 1;
		char *b = realloc(u->buf, cap);

		if (!b)
			return u->err = -ENOMEM;
		u->buf = b;
		u->cap = cap;
	}
	return 0;
}

static int append(struct url_buf *u, const char *s, size_t n)
{
	int r = reserve(u, n);

	if (r)
		return r;
	memcpy(u->buf + u->len, s, n);
	u->len += n;
	u->buf[u->len] = '\0';
	return 0;
}

static int append_escaped(struct url_buf *u, const char *s)
{
	size_t len = strnlen(s, URL_MAX + 1);
	if (u->err)
		return u->err;
	if (len > URL_MAX)
		return u->err = -ENAMETOOLONG;
	char *e = curl_escaped(s, len);
	int r = e ? append(u, e, strlen(e)) : (u->err = -ENOMEM);
	curl_free(e);
	return r;
}

struct url_buf *url_new(const char *base)
{
	struct url_buf *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	if (!base || !*base || strnlen(base, URL_MAX + 1) > URL_MAX) {
		u->err = -EINVAL;
		return u;
	}
	size_t n = strlen(base);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)base[i];

		if (c <= 0x20 || c >= 0x7F) {
			u->err = -EINVAL;
			return u;
		}
	}
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n == 0) {
		u->err = -EINVAL;
		return u;
	}
	if (append(u, base, n) == -ENOMEM) {
		free(u->buf);
		free(u);
		return NULL;
	}
	return u;
}

int url_path(struct url_buf *u, const char *literal)
{
	if (!u)
		return -ENOMEM;
	if (u->err)
		return u->err;
	if (!literal || literal[0] != '/' || u->in_query)
		return u->err = -EINVAL;
	for (const char *p = literal; *p; p++)
		if (!is_unreserved((unsigned char)*p) && !strchr("/:@!$&'()*+,;=", *p))
			return u->err = -EINVAL;
	return append(u, literal, strlen(literal));
}

static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int url_raw(struct url_buf *u, const char *escaped)
{
	if (!u)
		return -ENOMEM;
	if (u->err)
		return u->err;
	if (!escaped || escaped[0] != '/' || escaped[1] == '/' || u->in_query)
		return u->err = -EINVAL;
	bool query = false;
	for (const unsigned char *p = (const unsigned char *)escaped; *p; p++) {
		if (*p == '%') {
			if (!is_hex(p[1]) || !is_hex(p[2]))
				return u->err = -EINVAL;
			p += 2;
		} else if (*p == '?' && !query) {
			query = true;
		} else if (!is_unreserved(*p) && !strchr("/:@!$&'()*+,;=", *p) &&
			   !(query && *p == '?')) {
			return u->err = -EINVAL; /* '#', spaces, controls, non-ASCII, '"', '<'... */
		}
	}
	size_t len = strlen(escaped);
	if (escaped[len - 1] == '?') { /* an empty query: dropped */
		len--;
		query = false;
	}
	int r = append(u, escaped, len);
	if (!r && query)
		u->in_query = true;
	return r;
}

int url_seg(struct url_buf *u, const char *segment)
{
	if (!u)
		return -ENOMEM;
	if (u->err)
		return u->err;
	if (!segment || !*segment || !strcmp(segment, ".") || !strcmp(segment, "..") ||
	    u->in_query)
		return u->err = -EINVAL;
	int r = append(u, "/", 1);

	return r ? r : append_escaped(u, segment);
}

int url_query(struct url_buf *u, const char *key, const char *value)
{
	if (!u)
		return -ENOMEM;
	if (u->err)
		return u->err;
	if (!key || !*key)
		return u->err = -EINVAL;
	if (!value)
		return 0;
	int r = append(u, u->in_query ? "&" : "?", 1);

	u->in_query = true;
	if (!r)
		r = append_escaped(u, key);
	if (!r)
		r = append(u, "=", 1);
	if (!r)
		r = append_escaped(u, value);
	return r;
}

int url_query_int(struct url_buf *u, const char *key, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	return url_query(u, key, num);
}

char *url_finish(struct url_buf *u)
{
	if (!u)
		return NULL;
	char *r = u->err ? NULL : u->buf;

	if (!r)
		free(u->buf);
	free(u);
	return r;
}

void url_free(struct url_buf *u)
{
	if (!u)
		return;
	free(u->buf);
	free(u);
}

const char *url_tail(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return url;
	p = strchr(p + 3, '/');
	return p ? p : "/";
}
