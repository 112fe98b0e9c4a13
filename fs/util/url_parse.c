/*
 * url_parse.c - parsing, checking and resolving URLs (see url.h): the
 * tenant argument, origins and hosts, Location headers, query values.
 *
 * Invariants: parse_parts() only accepts "http"/"https" + "://" + authority
 * and never reads past the terminating NUL.
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

/* ---- parsing ---- */

struct url_parts {
	bool https;
	const char *auth; /* authority (with userinfo) */
	size_t auth_len;
	const char *host; /* without brackets */
	size_t host_len;
	bool bracketed;
	bool userinfo;
	int port;	  /* -1 when absent */
	const char *rest; /* path, query, fragment */
};

/* "http"/"https" followed by ':'?  Returns the scheme length or 0. */
static size_t http_scheme(const char *s, bool *https)
{
	if (strncasecmp(s, "https:", 6) == 0) {
		*https = true;
		return 5;
	}
	if (strncasecmp(s, "http:", 5) == 0) {
		*https = false;
		return 4;
	}
	return 0;
}

/* Parses "authority" a[0..n) into p's host/port/userinfo fields. */
static int parse_authority(const char *a, size_t n, struct url_parts *p)
{
	const char *at = NULL;

	for (size_t i = 0; i < n; i++)
		if (a[i] == '@')
			at = a + i;
	p->userinfo = at != NULL;
	if (at) {
		n -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	const char *end = a + n, *h = a, *q;

	if (h < end && *h == '[') {
		q = memchr(h, ']', n);
		if (!q || q == h + 1)
			return -EINVAL;
		p->host = h + 1;
		p->host_len = (size_t)(q - h - 1);
		p->bracketed = true;
		q++;
	} else {
		q = h;
		while (q < end && *q != ':')
			q++;
		p->host = h;
		p->host_len = (size_t)(q - h);
		p->bracketed = false;
	}
	if (p->host_len == 0)
		return -EINVAL;
	p->port = -1;
	if (q < end) {
		if (*q != ':' || q + 1 == end || end - (q + 1) > 5)
			return -EINVAL;
		long v = 0;

		for (q++; q < end; q++) {
			if (!is_digit((unsigned char)*q))
				return -EINVAL;
			v = v * 10 + (*q - '0');
		}
		if (v < 1 || v > 65535)
			return -EINVAL;
		p->port = (int)v;
	}
	for (size_t i = 0; i < p->host_len; i++) {
		unsigned char c = (unsigned char)p->host[i];

		if (c <= 0x20 || c >= 0x7F || strchr("/?#[]@\\", c))
			return -EINVAL;
	}
	return 0;
}

static int parse_parts(const char *url, struct url_parts *p)
{
	if (!url)
		return -EINVAL;
	size_t s = http_scheme(url, &p->https);

	if (!s || url[s + 1] != '/' || url[s + 2] != '/')
		return -EINVAL;
	p->auth = url + s + 3;
	p->auth_len = strcspn(p->auth, "/?#");
	p->rest = p->auth + p->auth_len;
	return parse_authority(p->auth, p->auth_len, p);
}

static int effective_port(const struct url_parts *p)
{
	return p->port >= 0 ? p->port : p->https ? 443 : 80;
}

bool url_same_origin(const char *a, const char *b)
{
	struct url_parts pa, pb;

	if (parse_parts(a, &pa) || parse_parts(b, &pb))
		return false;
	return pa.https == pb.https && effective_port(&pa) == effective_port(&pb) &&
	       pa.host_len == pb.host_len && strncasecmp(pa.host, pb.host, pa.host_len) == 0;
}

ssize_t url_host(const char *url, char *out, size_t n)
{
	struct url_parts p;

	if (!out || parse_parts(url, &p))
		return -EINVAL;
	if (p.host_len >= n)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < p.host_len; i++)
		out[i] = (char)lower((unsigned char)p.host[i]);
	out[p.host_len] = '\0';
	return (ssize_t)p.host_len;
}

static bool valid_hostname(const char *h, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		unsigned char c = (unsigned char)h[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return false;
		if (label == 0 && c == '-')
			return false;
		label++;
	}
	return true;
}

/* Strict dotted quad; stores the first octet. */
static bool ipv4_quad(const char *h, size_t n, int *first)
{
	int parts = 0;
	size_t i = 0;

	while (parts < 4) {
		size_t d = 0;
		int v = 0;

		while (i < n && is_digit((unsigned char)h[i]) && d < 4) {
			v = v * 10 + (h[i] - '0');
			i++;
			d++;
		}
		if (d == 0 || d > 3 || v > 255)
			return false;
		if (parts == 0)
			*first = v;
		parts++;
		if (parts < 4) {
			if (i >= n || h[i] != '.')
				return false;
			i++;
		}
	}
	return i == n;
}

static bool is_loopback(const struct url_parts *p)
{
	char buf[64];

	if (p->bracketed) {
		struct in6_addr a6;

		if (p->host_len >= sizeof(buf))
			return false;
		memcpy(buf, p->host, p->host_len);
		buf[p->host_len] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return false;
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	}
	int first;

	if (ipv4_quad(p->host, p->host_len, &first))
		return first == 127;
	return p->host_len == 9 && strncasecmp(p->host, "localhost", 9) == 0;
}

int url_parse_tenant(const char *arg, char **base_out)
{
	if (!arg || !*arg || !base_out)
		return -EINVAL;
	for (const char *c = arg; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7F)
			return -EINVAL;

	struct url_parts p = { .https = true };
	const char *auth = arg;
	size_t s;

	if (strstr(arg, "://")) {
		s = http_scheme(arg, &p.https);
		if (!s || strncmp(arg + s, "://", 3) != 0)
			return -EINVAL;
		auth = arg + s + 3;
	}
	size_t alen = strcspn(auth, "/?#");
	const char *rest = auth + alen;

	if (*rest && strcmp(rest, "/") != 0)
		return -EINVAL;
	if (parse_authority(auth, alen, &p) || p.userinfo)
		return -EINVAL;
	if (p.bracketed) {
		char buf[64];
		struct in6_addr a6;

		if (p.host_len >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, p.host, p.host_len);
		buf[p.host_len] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return -EINVAL;
	} else if (!valid_hostname(p.host, p.host_len)) {
		return -EINVAL;
	}
	if (!p.https && !is_loopback(&p))
		return -EPERM;

	char port[16] = "";

	if (p.port >= 0 && p.port != (p.https ? 443 : 80))
		snprintf(port, sizeof(port), ":%d", p.port);

	char *r;

	if (asprintf(&r, "%s://%s%.*s%s%s", p.https ? "https" : "http", p.bracketed ? "[" : "",
		     (int)p.host_len, p.host, p.bracketed ? "]" : "", port) < 0)
		return -ENOMEM;
	for (char *c = r; *c; c++)
		*c = (char)lower((unsigned char)*c);
	*base_out = r;
	return 0;
}

/*
 * RFC 3986 5.2.4 remove_dot_segments for a path in[0..n) that is empty or
 * starts with '/'.  out needs n + 1 bytes; returns the output length.
 */
static size_t remove_dots(char *out, const char *in, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (n - i >= 3 && memcmp(in + i, "/./", 3) == 0) {
			i += 2;
		} else if (n - i == 2 && memcmp(in + i, "/.", 2) == 0) {
			out[o++] = '/';
			i += 2;
		} else if ((n - i >= 4 && memcmp(in + i, "/../", 4) == 0) ||
			   (n - i == 3 && memcmp(in + i, "/..", 3) == 0)) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			i += 3;
			if (i == n)
				out[o++] = '/';
		} else {
			out[o++] = in[i++];
			while (i < n && in[i] != '/')
				out[o++] = in[i++];
		}
	}
	out[o] = '\0';
	return o;
}

static char *assemble(const char *prefix, size_t prefix_len, bool https, const char *location,
		      const char *dir, size_t dir_len, const char *lpath, size_t lpath_len,
		      const char *query, size_t query_len);

/* No white space, controls or bytes >= 0x7F. */
static bool plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F)
			return false;
	return true;
}

char *url_resolve(const char *request_url, const char *location)
{
	struct url_parts req, loc;

	if (parse_parts(request_url, &req) || !location || !*location)
		return NULL;
	/* Neither may hold white space, controls or bytes >= 0x7F: the part
	 * of request_url a relative location keeps would carry them over. */
	if (!plain_text(location) || !plain_text(request_url) ||
	    strnlen(location, URL_MAX + 1) > URL_MAX)
		return NULL;

	/* Drop the fragment of the location. */
	size_t llen = strcspn(location, "#");
	/* prefix = "scheme://authority"; then a path to merge and a query. */
	const char *prefix = request_url, *lpath, *query;
	size_t prefix_len = (size_t)(req.rest - request_url);
	const char *dir = NULL; /* base path for relative references */
	size_t dir_len = 0;
	size_t lpath_len, query_len;
	bool https = req.https;

	size_t colon = strcspn(location, ":/?#");
	if (location[colon] == ':' && colon > 0 && is_alpha((unsigned char)location[0])) {
		/* absolute URL */
		if (parse_parts(location, &loc))
			return NULL;
		prefix = location;
		prefix_len = (size_t)(loc.rest - location);
		lpath = loc.rest;
	} else if (location[0] == '/' && location[1] == '/') {
		/* network-path reference: keep the request's scheme */
		size_t alen = strcspn(location + 2, "/?#");

		if (parse_authority(location + 2, alen, &loc))
			return NULL;
		prefix = NULL;
		prefix_len = (https ? 6 : 5) + 2 + alen;
		lpath = location + 2 + alen;
	} else {
		lpath = location;
		if (location[0] != '/') {
			/* relative: merge with the request path's directory */
			const char *rp = req.rest;
			size_t rplen = strcspn(rp, "?#");

			if (location[0] == '?' || location[0] == '#') {
				dir = rp;
				dir_len = rplen;
			} else {
				dir_len = rplen;
				while (dir_len > 0 && rp[dir_len - 1] != '/')
					dir_len--;
				dir = dir_len ? rp : "/";
				if (!dir_len)
					dir_len = 1;
			}
		}
	}
	lpath_len = strcspn(lpath, "?#");
	if (lpath + lpath_len > location + llen)
		lpath_len = (size_t)(location + llen - lpath);
	query = lpath + lpath_len;
	query_len = (size_t)(location + llen - query);
	if (location[0] == '?' && dir == req.rest) {
		lpath_len = 0; /* "?y": keep the request path, replace the query */
	} else if (location[0] == '#') {
		/* "#frag": the request URL without its fragment */
		const char *rq = req.rest + strcspn(req.rest, "?#");

		lpath_len = 0;
		query = rq;
		query_len = *rq == '?' ? strcspn(rq, "#") : 0;
	}

	return assemble(prefix, prefix_len, https, location, dir, dir_len, lpath, lpath_len, query,
			query_len);
}

/* The resolved URL: prefix (NULL: "http[s]:" and the location's "//authority"),
 * then dir + lpath with its dot segments removed, then the query. */
static char *assemble(const char *prefix, size_t prefix_len, bool https, const char *location,
		      const char *dir, size_t dir_len, const char *lpath, size_t lpath_len,
		      const char *query, size_t query_len)
{
	size_t path_len = dir_len + lpath_len;

	if (prefix_len > URL_MAX || path_len > URL_MAX || query_len > URL_MAX ||
	    prefix_len + path_len + query_len > URL_MAX)
		return NULL;

	char *path = malloc(path_len + 1);
	char *r = malloc(prefix_len + path_len + query_len + 1);

	if (!path || !r) {
		free(path);
		free(r);
		return NULL;
	}
	if (dir)
		memcpy(path, dir, dir_len);
	memcpy(path + dir_len, lpath, lpath_len);

	size_t o = 0;

	if (prefix) {
		memcpy(r, prefix, prefix_len);
		o = prefix_len;
	} else {
		o = (size_t)sprintf(r, "%s:", https ? "https" : "http");
		memcpy(r + o, location, prefix_len - o);
		o = prefix_len;
	}
	o += remove_dots(r + o, path, path_len);
	memcpy(r + o, query, query_len);
	r[o + query_len] = '\0';
	free(path);
	return r;
}

char *url_set_query_int(const char *url, const char *key, long long v)
{
	size_t klen = strlen(key), ulen = strlen(url);
	char num[32];
	int nl = snprintf(num, sizeof(num), "%lld", v);
	if (ulen + klen + (size_t)nl + 3 > URL_MAX)
		return NULL;
	char *out = malloc(ulen + klen + (size_t)nl + 3);
	if (!out)
		return NULL;
	const char *q = strchr(url, '?');
	size_t pre = q ? (size_t)(q - url) : ulen;
	memcpy(out, url, pre);
	size_t o = pre;
	char sep = '?';
	for (const char *p = q ? q + 1 : NULL; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		/* "key=..." or a bare "key": both would shadow the new value */
		bool same = len >= klen && !strncmp(p, key, klen) && (len == klen || p[klen] == '=');
		if (!same && len) {
			out[o++] = sep;
			memcpy(out + o, p, len);
			o += len;
			sep = '&';
		}
		p = amp ? amp + 1 : NULL;
	}
	out[o++] = sep;
	memcpy(out + o, key, klen);
	o += klen;
	out[o++] = '=';
	memcpy(out + o, num, (size_t)nl);
	o += (size_t)nl;
	out[o] = '\0';
	return out;
}

int url_check_endpoint(const char *url)
{
	struct url_parts p;

	if (!url)
		return -EINVAL;
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7F)
			return -EINVAL;
	if (parse_parts(url, &p) || p.userinfo || strchr(p.rest, '#'))
		return -EINVAL;
	if (!p.https && !is_loopback(&p))
		return -EPERM;
	return 0;
}

int url_port(const char *url)
{
	struct url_parts p;

	if (parse_parts(url, &p))
		return -EINVAL;
	return effective_port(&p);
}

bool url_is_loopback(const char *url)
{
	struct url_parts p;

	return parse_parts(url, &p) == 0 && is_loopback(&p);
}

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes s[0..n) ('+' = space, %XX) into a malloc'd string. */
static int query_decode(const char *s, size_t n, char **out)
{
	char *r = malloc(n + 1);
	size_t o = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;

			if (lo < 0 || (hi == 0 && lo == 0)) {
				free(r);
				return -EINVAL;
			}
			c = hi * 16 + lo;
			i += 2;
		}
		r[o++] = (char)c;
	}
	r[o] = '\0';
	*out = r;
	return 0;
}

int url_query_get(const char *url, const char *key, char **out)
{
	if (!url || !key || !*key || !out)
		return -EINVAL;
	const char *q = strchr(url, '?');
	q = q ? q + 1 : (strstr(url, "://") ? NULL : url);
	if (!q)
		return -ENOENT;
	size_t qlen = strcspn(q, "#"), klen = strlen(key);

	for (const char *p = q, *end = q + qlen; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		size_t len = amp ? (size_t)(amp - p) : (size_t)(end - p);

		if (len >= klen && !strncmp(p, key, klen) && (len == klen || p[klen] == '='))
			return query_decode(p + klen + (len > klen), len - klen - (len > klen), out);
		p += len + 1;
	}
	return -ENOENT;
}

