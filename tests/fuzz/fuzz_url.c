/*
 * fuzz_url.c - url.c: TENANT arguments, Location headers and pagination
 * links resolved against a request URL, query parameters, escaping.
 *
 * Input: lines "TENANT-or-BASE\nLOCATION\nKEY".  Invariants (url.h):
 *  - url_parse_tenant() output parses to itself and passes
 *    url_check_endpoint(); its port is 1..65535;
 *  - url_resolve() output is an absolute http(s) URL without bytes <= 0x20
 *    or >= 0x7F, at most URL_MAX bytes, has a host, is its own origin, and
 *    resolving it again (against any base) gives it back;
 *  - url_escape() writes only unreserved bytes and %XX, and
 *    url_query_get() decodes it back;
 *  - url_set_query_int() sets a value url_query_get() reads back;
 *  - the builder never yields a URL with bytes <= 0x20 or >= 0x7F.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"
#include "util/url.h"

static void check_clean(const char *u)
{
	FZ_CHECK(strlen(u) <= URL_MAX);
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		FZ_CHECK(*p > 0x20 && *p < 0x7F);
}

static void check_absolute(const char *u)
{
	char host[URL_MAX + 1];
	check_clean(u);
	FZ_CHECK(!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8));
	FZ_CHECK(url_host(u, host, sizeof(host)) >= 0);
	int port = url_port(u);
	FZ_CHECK(port >= 1 && port <= 65535);
	FZ_CHECK(url_same_origin(u, u));
	FZ_CHECK(!strchr(u, '#'));
}

static void check_resolved(const char *base, const char *loc)
{
	char *r = url_resolve(base, loc);
	if (!r)
		return;
	check_absolute(r);
	/* an absolute URL without dot segments resolves to itself */
	char *again = url_resolve("https://other.example/x/y", r);
	FZ_CHECK(again && !strcmp(again, r));
	free(again);
	char *v = NULL;
	char *set = url_set_query_int(r, "page", 7);
	if (set) {
		check_absolute(set);
		FZ_CHECK(url_query_get(set, "page", &v) == 0 && !strcmp(v, "7"));
		free(v);
		free(set);
	}
	free(r);
}

static void check_tenant(const char *arg)
{
	char *base = NULL, *again = NULL;
	int rc = url_parse_tenant(arg, &base);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EPERM);
	if (rc)
		return;
	check_absolute(base);
	FZ_CHECK(url_check_endpoint(base) == 0);
	FZ_CHECK(url_parse_tenant(base, &again) == 0 && !strcmp(again, base));
	/* a tenant base has no path: "/" resolves to base + "/" */
	char *root = url_resolve(base, "/");
	char want[URL_MAX + 2];
	snprintf(want, sizeof(want), "%s/", base);
	FZ_CHECK(root && !strcmp(root, want));
	free(root);
	free(again);
	free(base);
}

static void check_escape(const char *s)
{
	char *e = url_escape(s);
	FZ_CHECK(e);
	for (const char *p = e; *p; p++) {
		if (*p == '%') {
			FZ_CHECK(strchr("0123456789ABCDEF", p[1]) && p[1]);
			FZ_CHECK(strchr("0123456789ABCDEF", p[2]) && p[2]);
			p += 2;
		} else {
			FZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789-._~",
					*p));
		}
	}
	size_t n = strlen(e) + 3;
	char *q = malloc(n);
	FZ_CHECK(q);
	snprintf(q, n, "k=%s", e);
	char *v = NULL;
	int rc = url_query_get(q, "k", &v);
	FZ_CHECK(rc == 0 && !strcmp(v, s));
	free(v);
	free(q);
	free(e);
}

static void check_builder(const char *a, const char *b)
{
	struct url_buf *u = url_new("https://tenant.example");
	url_path(u, "/api/v1/items");
	url_seg(u, a);
	url_raw(u, b);
	url_query(u, a, b);
	url_query_int(u, "limit", 100);
	char *s = url_finish(u);
	if (s) {
		check_absolute(s);
		free(s);
	}
	u = url_new(a);
	url_raw(u, b);
	s = url_finish(u);
	if (s) {
		check_clean(s);
		free(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * URL_MAX)
		return 0;
	char *in = fz_strndup(data, size);
	char *line[3] = { in, "", "code" };
	fz_split(in, "\n", line, 3);

	check_tenant(line[0]);
	check_resolved(line[0], line[1]);
	check_resolved("https://acme.us.qlikcloud.com/api/v1/items?limit=2", line[1]);
	check_resolved("http://127.0.0.1:8080/a/b/c", line[0]);
	check_escape(line[0]);
	check_builder(line[0], line[1]);

	char *v = NULL;
	int rc = url_query_get(line[0], line[2], &v);
	FZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
	if (rc == 0) {
		FZ_CHECK(strlen(v) <= strlen(line[0]));
		free(v);
	}
	rc = url_check_endpoint(line[0]);
	FZ_CHECK(rc == 0 || rc == -EPERM || rc == -EINVAL);
	(void)url_is_loopback(line[0]);
	(void)url_same_origin(line[0], line[1]);
	free(in);
	return 0;
}
