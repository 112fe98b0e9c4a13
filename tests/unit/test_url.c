/*
 * test_url.c - fs/url.c: escaping, building with sticky errors and the
 * 16 KiB bound, tenant parsing, Location resolution, origins, hosts.
 */
#include "check.h"
#include "util/url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_escape(void)
{
	/* every byte 1..255 */
	for (int c = 1; c < 256; c++) {
		char in[2] = { (char)c, 0 }, want[4];
		char *e = url_escape(in);
		int unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';

		if (unreserved)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		if (!e || strcmp(e, want) != 0) {
			fprintf(stderr, "byte %d -> %s\n", c, e ? e : "(null)");
			CHECK(0);
		} else {
			CHECK(1);
		}
		free(e);
	}
	char *e = url_escape("a b/c%d?e#f+g&h=i\xc3\xa9..~");

	CHECK_STR(e, "a%20b%2Fc%25d%3Fe%23f%2Bg%26h%3Di%C3%A9..~");
	free(e);
	e = url_escape("");
	CHECK_STR(e, "");
	free(e);
	CHECK(url_escape(NULL) == NULL);

	char *big = malloc(URL_ESCAPE_MAX + 2);

	memset(big, '/', URL_ESCAPE_MAX + 1);
	big[URL_ESCAPE_MAX] = '\0';
	e = url_escape(big);
	CHECK(e && strlen(e) == 3 * URL_ESCAPE_MAX);
	free(e);
	big[URL_ESCAPE_MAX] = '/';
	big[URL_ESCAPE_MAX + 1] = '\0';
	CHECK(url_escape(big) == NULL);
	free(big);
}

static void test_build(void)
{
	struct url_buf *u = url_new("https://acme.us.qlikcloud.com/");

	CHECK_INT(url_path(u, "/api/v1/apps"), 0);
	CHECK_INT(url_seg(u, "f0714ca7/../x?y#z"), 0);
	CHECK_INT(url_path(u, "/data"), 0);
	CHECK_INT(url_query(u, "name", "Q1 & Q2=100%"), 0);
	CHECK_INT(url_query(u, "skip", NULL), 0);
	CHECK_INT(url_query_int(u, "limit", 100), 0);
	CHECK_INT(url_query_int(u, "n", -5), 0);
	char *s = url_finish(u);

	CHECK_STR(s, "https://acme.us.qlikcloud.com/api/v1/apps/f0714ca7%2F..%2Fx%3Fy%23z/data"
		     "?name=Q1%20%26%20Q2%3D100%25&limit=100&n=-5");
	free(s);

	/* segments that would change the path */
	static const char *const badseg[] = { "", ".", "..", NULL };

	for (size_t i = 0; i < 4; i++) {
		u = url_new("https://h");
		CHECK_INT(url_seg(u, badseg[i]), -EINVAL);
		CHECK_INT(url_path(u, "/x"), -EINVAL); /* sticky */
		CHECK(url_finish(u) == NULL);
	}
	u = url_new("https://h");
	CHECK_INT(url_seg(u, "..."), 0);
	CHECK_INT(url_seg(u, ".a"), 0);
	s = url_finish(u);
	CHECK_STR(s, "https://h/.../.a");
	free(s);

	/* literal path checks */
	static const char *const badpath[] = { "api", "/a b", "/a?b", "/a#b", "/a%20", "/\xc3\xa9",
					       "/a\n", NULL };

	for (size_t i = 0; i < sizeof(badpath) / sizeof(badpath[0]); i++) {
		u = url_new("https://h");
		CHECK_INT(url_path(u, badpath[i]), -EINVAL);
		url_free(u);
	}
	/* no path after query */
	u = url_new("https://h");
	CHECK_INT(url_query(u, "a", "b"), 0);
	CHECK_INT(url_path(u, "/x"), -EINVAL);
	CHECK_INT(url_query(u, "c", "d"), -EINVAL);
	CHECK(url_finish(u) == NULL);
	u = url_new("https://h");
	CHECK_INT(url_query(u, "a", "b"), 0);
	CHECK_INT(url_seg(u, "x"), -EINVAL);
	url_free(u);
	u = url_new("https://h");
	CHECK_INT(url_query(u, "", "b"), -EINVAL);
	url_free(u);
	u = url_new("https://h");
	CHECK_INT(url_query(u, NULL, "b"), -EINVAL);
	url_free(u);

	/* bad bases */
	u = url_new("");
	CHECK_INT(url_path(u, "/x"), -EINVAL);
	CHECK(url_finish(u) == NULL);
	u = url_new("https://h x");
	CHECK(url_finish(u) == NULL);
	u = url_new(NULL);
	CHECK(url_finish(u) == NULL);
	u = url_new("///");
	CHECK(url_finish(u) == NULL);

	/* NULL-safe */
	CHECK_INT(url_path(NULL, "/x"), -ENOMEM);
	CHECK_INT(url_seg(NULL, "x"), -ENOMEM);
	CHECK_INT(url_query(NULL, "x", "y"), -ENOMEM);
	CHECK(url_finish(NULL) == NULL);
	url_free(NULL);

	/* 16 KiB bound */
	u = url_new("https://h");
	char seg[1001];

	memset(seg, 'a', 1000);
	seg[1000] = '\0';
	int r = 0, i;

	for (i = 0; i < 100 && r == 0; i++)
		r = url_seg(u, seg);
	CHECK_INT(r, -ENAMETOOLONG);
	CHECK_INT(i, 17); /* 9 + 16 * 1001 fits, the 17th does not */
	CHECK_INT(url_seg(u, "x"), -ENAMETOOLONG);
	CHECK(url_finish(u) == NULL);

	/* exactly URL_MAX fits */
	u = url_new("https://h"); /* 9 bytes */
	char *path = malloc(URL_MAX + 2);

	path[0] = '/';
	memset(path + 1, 'p', URL_MAX - 9 - 1);
	path[URL_MAX - 9] = '\0';
	CHECK_INT(url_path(u, path), 0);
	s = url_finish(u);
	CHECK(s && strlen(s) == URL_MAX);
	free(s);
	u = url_new("https://h");
	memset(path + 1, 'p', URL_MAX - 9);
	path[URL_MAX - 9 + 1] = '\0';
	CHECK_INT(url_path(u, path), -ENAMETOOLONG);
	url_free(u);
	/* huge segments and values */
	char *huge = malloc(70000);

	memset(huge, '%', 69999);
	huge[69999] = '\0';
	u = url_new("https://h");
	CHECK_INT(url_seg(u, huge), -ENAMETOOLONG);
	url_free(u);
	u = url_new("https://h");
	CHECK_INT(url_query(u, "q", huge), -ENAMETOOLONG);
	url_free(u);
	free(huge);
	free(path);
}

struct tcase {
	const char *in;
	int rc;
	const char *out;
};

static void test_tenant(void)
{
	static const struct tcase t[] = {
		{ "acme.us.qlikcloud.com", 0, "https://acme.us.qlikcloud.com" },
		{ "acme.us.qlikcloud.com/", 0, "https://acme.us.qlikcloud.com" },
		{ "ACME.US.QlikCloud.com", 0, "https://acme.us.qlikcloud.com" },
		{ "acme.us.qlikcloud.com:8443", 0, "https://acme.us.qlikcloud.com:8443" },
		{ "https://acme.eu.qlikcloud.com", 0, "https://acme.eu.qlikcloud.com" },
		{ "https://acme.eu.qlikcloud.com/", 0, "https://acme.eu.qlikcloud.com" },
		{ "HTTPS://Acme.eu.qlikcloud.com:443/", 0, "https://acme.eu.qlikcloud.com" },
		{ "https://10.0.0.1", 0, "https://10.0.0.1" },
		{ "https://[2001:db8::1]:8443", 0, "https://[2001:db8::1]:8443" },
		{ "https://x", 0, "https://x" },
		{ "http://127.0.0.1:8080", 0, "http://127.0.0.1:8080" },
		{ "http://127.1.2.3", 0, "http://127.1.2.3" },
		{ "http://[::1]:80", 0, "http://[::1]" },
		{ "http://[::1]:8080/", 0, "http://[::1]:8080" },
		{ "http://[0:0:0:0:0:0:0:1]:9", 0, "http://[0:0:0:0:0:0:0:1]:9" },
		{ "http://localhost:1", 0, "http://localhost:1" },
		{ "http://LOCALHOST:65535", 0, "http://localhost:65535" },
		{ "http://10.0.0.1", -EPERM, NULL },
		{ "http://acme.us.qlikcloud.com", -EPERM, NULL },
		{ "http://128.0.0.1", -EPERM, NULL },
		{ "http://[::2]", -EPERM, NULL },
		{ "http://127.1", -EPERM, NULL },
		{ "http://localhost.evil.com", -EPERM, NULL },
		{ "http://127.0.0.1.evil.com", -EPERM, NULL },
		{ "https://a.b/path", -EINVAL, NULL },
		{ "https://a.b//", -EINVAL, NULL },
		{ "https://a.b?x=1", -EINVAL, NULL },
		{ "https://a.b/?x=1", -EINVAL, NULL },
		{ "https://a.b#f", -EINVAL, NULL },
		{ "user@host", -EINVAL, NULL },
		{ "https://user:pw@host", -EINVAL, NULL },
		{ "http://evil@127.0.0.1", -EINVAL, NULL },
		{ "ftp://host", -EINVAL, NULL },
		{ "https:/host", -EINVAL, NULL },
		{ "://host", -EINVAL, NULL },
		{ "", -EINVAL, NULL },
		{ "https://", -EINVAL, NULL },
		{ "a b.com", -EINVAL, NULL },
		{ " acme.com", -EINVAL, NULL },
		{ "acme.com\n", -EINVAL, NULL },
		{ "acme..com", -EINVAL, NULL },
		{ ".acme.com", -EINVAL, NULL },
		{ "acme.com.", -EINVAL, NULL },
		{ "-acme.com", -EINVAL, NULL },
		{ "acme-.com", -EINVAL, NULL },
		{ "ac_me.com", -EINVAL, NULL },
		{ "acme.com:", -EINVAL, NULL },
		{ "acme.com:0", -EINVAL, NULL },
		{ "acme.com:65536", -EINVAL, NULL },
		{ "acme.com:123456", -EINVAL, NULL },
		{ "acme.com:8x", -EINVAL, NULL },
		{ "acme.com:-1", -EINVAL, NULL },
		{ "https://[::1", -EINVAL, NULL },
		{ "https://[]", -EINVAL, NULL },
		{ "https://[zz::1]", -EINVAL, NULL },
		{ "https://[::1]x", -EINVAL, NULL },
		{ "https://a.com%2F@b.com", -EINVAL, NULL },
		{ "https://\xc3\xa9.com", -EINVAL, NULL },
		{ "https://a.com\\@b.com", -EINVAL, NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *out = (char *)"untouched";
		int rc = url_parse_tenant(t[i].in, &out);

		if (rc != t[i].rc || (t[i].out ? strcmp(out, t[i].out) != 0 : strcmp(out, "untouched") != 0)) {
			fprintf(stderr, "tenant '%s': rc %d out %s\n", t[i].in, rc, out);
			CHECK(0);
		} else {
			CHECK(1);
		}
		if (rc == 0)
			free(out);
	}
	char *out;

	CHECK_INT(url_parse_tenant(NULL, &out), -EINVAL);
	/* label and host length limits */
	char host[300];

	memset(host, 'a', 63);
	strcpy(host + 63, ".com");
	CHECK_INT(url_parse_tenant(host, &out), 0);
	free(out);
	memset(host, 'a', 64);
	strcpy(host + 64, ".com");
	CHECK_INT(url_parse_tenant(host, &out), -EINVAL);
}

struct rcase {
	const char *base, *loc, *want; /* want NULL: NULL result */
};

static void test_resolve(void)
{
	static const struct rcase t[] = {
		/* RFC 3986 5.4.1 (fragments dropped) */
		{ "http://a/b/c/d;p?q", "g", "http://a/b/c/g" },
		{ "http://a/b/c/d;p?q", "./g", "http://a/b/c/g" },
		{ "http://a/b/c/d;p?q", "g/", "http://a/b/c/g/" },
		{ "http://a/b/c/d;p?q", "/g", "http://a/g" },
		{ "http://a/b/c/d;p?q", "//g", "http://g" },
		{ "http://a/b/c/d;p?q", "?y", "http://a/b/c/d;p?y" },
		{ "http://a/b/c/d;p?q", "g?y", "http://a/b/c/g?y" },
		{ "http://a/b/c/d;p?q", "#s", "http://a/b/c/d;p?q" },
		{ "http://a/b/c/d;p?q", "g#s", "http://a/b/c/g" },
		{ "http://a/b/c/d;p?q", "g?y#s", "http://a/b/c/g?y" },
		{ "http://a/b/c/d;p?q", ";x", "http://a/b/c/;x" },
		{ "http://a/b/c/d;p?q", ".", "http://a/b/c/" },
		{ "http://a/b/c/d;p?q", "./", "http://a/b/c/" },
		{ "http://a/b/c/d;p?q", "..", "http://a/b/" },
		{ "http://a/b/c/d;p?q", "../", "http://a/b/" },
		{ "http://a/b/c/d;p?q", "../g", "http://a/b/g" },
		{ "http://a/b/c/d;p?q", "../..", "http://a/" },
		{ "http://a/b/c/d;p?q", "../../", "http://a/" },
		{ "http://a/b/c/d;p?q", "../../g", "http://a/g" },
		/* abnormal */
		{ "http://a/b/c/d;p?q", "../../../g", "http://a/g" },
		{ "http://a/b/c/d;p?q", "/./g", "http://a/g" },
		{ "http://a/b/c/d;p?q", "/../g", "http://a/g" },
		{ "http://a/b/c/d;p?q", "g.", "http://a/b/c/g." },
		{ "http://a/b/c/d;p?q", "..g", "http://a/b/c/..g" },
		{ "http://a/b/c/d;p?q", "./../g", "http://a/b/g" },
		{ "http://a/b/c/d;p?q", "g/./h", "http://a/b/c/g/h" },
		{ "http://a/b/c/d;p?q", "g/../h", "http://a/b/c/h" },
		{ "http://a/b/c/d;p?q", "g;x=1/./y", "http://a/b/c/g;x=1/y" },
		{ "http://a/b/c/d;p?q", "g;x=1/../y", "http://a/b/c/y" },
		{ "http://a/b/c/d;p?q", "g?y/./x", "http://a/b/c/g?y/./x" },
		{ "http://a/b/c/d;p?q", "http:g", NULL }, /* no authority */
		/* Qlik-ish */
		{ "https://acme.us.qlikcloud.com/api/v1/apps/x", "/api/v1/apps/x/data?a=1",
		  "https://acme.us.qlikcloud.com/api/v1/apps/x/data?a=1" },
		{ "https://acme.us.qlikcloud.com:8443/api", "/login",
		  "https://acme.us.qlikcloud.com:8443/login" },
		{ "https://acme.us.qlikcloud.com/api/v1/x", "https://cdn.example.com/f?sig=1#x",
		  "https://cdn.example.com/f?sig=1" },
		{ "https://acme.us.qlikcloud.com/api", "HTTP://Other/a/../b", "HTTP://Other/b" },
		{ "https://acme.us.qlikcloud.com/api", "//other.com/p", "https://other.com/p" },
		{ "https://acme.us.qlikcloud.com", "x", "https://acme.us.qlikcloud.com/x" },
		{ "https://acme.us.qlikcloud.com", "?a", "https://acme.us.qlikcloud.com?a" },
		{ "https://h/a?q#f", "#g", "https://h/a?q" },
		{ "https://h/a#f", "#g", "https://h/a" },
		/* rejected */
		{ "https://h/a", "", NULL },
		{ "https://h/a", "javascript:alert(1)", NULL },
		{ "https://h/a", "ftp://h/x", NULL },
		{ "https://h/a", "/x\r\nSet-Cookie: a", NULL },
		{ "https://h/a", "/a b", NULL },
		{ "https://h/a", "/\xc3\xa9", NULL },
		{ "https://h/a", "//", NULL },
		{ "https://h/a", "https://", NULL },
		{ "not a url", "/x", NULL },
		{ "/relative", "/x", NULL },
		{ "ftp://h/a", "/x", NULL },
		{ "https://h/\xc3\xa9/a", "b", NULL }, /* a dirty base would leak into the result */
		{ "https://h/a b/c", "d", NULL },
		{ "https://h/a\tb", "?q", NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *r = url_resolve(t[i].base, t[i].loc);

		if ((t[i].want == NULL) != (r == NULL) || (r && strcmp(r, t[i].want) != 0)) {
			fprintf(stderr, "resolve '%s' + '%s' = %s, want %s\n", t[i].base, t[i].loc,
				r ? r : "(null)", t[i].want ? t[i].want : "(null)");
			CHECK(0);
		} else {
			CHECK(1);
		}
		free(r);
	}
	CHECK(url_resolve(NULL, "/x") == NULL);
	CHECK(url_resolve("https://h", NULL) == NULL);
	/* length bound */
	char *loc = malloc(URL_MAX + 2);

	loc[0] = '/';
	memset(loc + 1, 'x', URL_MAX);
	loc[URL_MAX + 1] = '\0';
	CHECK(url_resolve("https://h", loc) == NULL);
	loc[URL_MAX - 9] = '\0'; /* "https://h" + loc == URL_MAX */
	char *r = url_resolve("https://h", loc);

	CHECK(r && strlen(r) == URL_MAX);
	free(r);
	loc[URL_MAX - 9] = 'x';
	loc[URL_MAX - 8] = '\0';
	CHECK(url_resolve("https://h", loc) == NULL);
	free(loc);
}

static void test_origin_host(void)
{
	CHECK(url_same_origin("https://a.com/x", "https://A.COM/y?z"));
	CHECK(url_same_origin("https://a.com", "https://a.com:443/"));
	CHECK(url_same_origin("http://a.com:80/", "http://a.com"));
	CHECK(url_same_origin("HTTPS://a.com", "https://a.com"));
	CHECK(url_same_origin("https://u:p@a.com/", "https://a.com"));
	CHECK(url_same_origin("https://[::1]:8/", "https://[::1]:8/x"));
	CHECK(!url_same_origin("https://a.com", "http://a.com"));
	CHECK(!url_same_origin("https://a.com", "https://a.com:8443"));
	CHECK(!url_same_origin("http://a.com", "http://a.com:443"));
	CHECK(!url_same_origin("https://a.com", "https://b.com"));
	CHECK(!url_same_origin("https://a.com", "https://a.com.evil.com"));
	CHECK(!url_same_origin("https://a.com", "https://evil.com?https://a.com"));
	CHECK(!url_same_origin("https://a.com", "https://a.com@evil.com"));
	CHECK(!url_same_origin("https://a.com", "https://a.com."));
	CHECK(!url_same_origin("https://a.com", "/x"));
	CHECK(!url_same_origin("https://a.com", NULL));
	CHECK(!url_same_origin("ftp://a.com", "ftp://a.com"));
	CHECK(!url_same_origin("https://a.com:99999", "https://a.com:99999"));

	char h[64] = "untouched";

	CHECK_INT(url_host("https://Acme.US.qlikcloud.com:8443/api?x", h, sizeof(h)), 21);
	CHECK_STR(h, "acme.us.qlikcloud.com");
	CHECK_INT(url_host("http://[::1]:8/", h, sizeof(h)), 3);
	CHECK_STR(h, "::1");
	CHECK_INT(url_host("https://u:p@h", h, sizeof(h)), 1);
	CHECK_STR(h, "h");
	CHECK_INT(url_host("https://h#x", h, sizeof(h)), 1);
	strcpy(h, "untouched");
	CHECK_INT(url_host("https://hostname", h, 8), -ENAMETOOLONG);
	CHECK_INT(url_host("hostname", h, sizeof(h)), -EINVAL);
	CHECK_INT(url_host("https://", h, sizeof(h)), -EINVAL);
	CHECK_INT(url_host("https://:80", h, sizeof(h)), -EINVAL);
	CHECK_INT(url_host(NULL, h, sizeof(h)), -EINVAL);
	CHECK_STR(h, "untouched");
	CHECK_INT(url_host("https://hostnam", h, 8), 7);
}

static void test_endpoint_query(void)
{
	CHECK_INT(url_check_endpoint("https://t.eu.qlikcloud.com/oauth/token"), 0);
	CHECK_INT(url_check_endpoint("http://127.0.0.1:8080/oauth/token"), 0);
	CHECK_INT(url_check_endpoint("http://localhost/x?y=1"), 0);
	CHECK_INT(url_check_endpoint("http://[::1]:9/"), 0);
	CHECK_INT(url_check_endpoint("http://example.com/oauth/token"), -EPERM);
	CHECK_INT(url_check_endpoint("http://127.0.0.1.evil.com/"), -EPERM);
	CHECK_INT(url_check_endpoint("https://u:p@h/"), -EINVAL);
	CHECK_INT(url_check_endpoint("https://h/x#frag"), -EINVAL);
	CHECK_INT(url_check_endpoint("https://h/a b"), -EINVAL);
	CHECK_INT(url_check_endpoint("ftp://h/"), -EINVAL);
	CHECK_INT(url_check_endpoint("/oauth/token"), -EINVAL);
	CHECK_INT(url_check_endpoint(NULL), -EINVAL);

	CHECK_INT(url_port("http://127.0.0.1:8123/"), 8123);
	CHECK_INT(url_port("https://h/x"), 443);
	CHECK_INT(url_port("http://h"), 80);
	CHECK_INT(url_port("nope"), -EINVAL);
	CHECK(url_is_loopback("http://127.0.0.1:1/"));
	CHECK(url_is_loopback("http://LOCALHOST/"));
	CHECK(!url_is_loopback("http://10.0.0.1/"));
	CHECK(!url_is_loopback("junk"));

	char *v = NULL;
	CHECK_INT(url_query_get("http://127.0.0.1:5/?code=ab%2Fc&state=x+y%21", "code", &v), 0);
	CHECK_STR(v, "ab/c");
	free(v);
	CHECK_INT(url_query_get("/?code=1&state=x+y%21#f", "state", &v), 0);
	CHECK_STR(v, "x y!");
	free(v);
	CHECK_INT(url_query_get("a=1&code&b=2", "code", &v), 0);
	CHECK_STR(v, "");
	free(v);
	CHECK_INT(url_query_get("codex=1&xcode=2", "code", &v), -ENOENT);
	CHECK_INT(url_query_get("https://h/path", "code", &v), -ENOENT);
	CHECK_INT(url_query_get("/?code=%4", "code", &v), -EINVAL);
	CHECK_INT(url_query_get("/?code=%zz", "code", &v), -EINVAL);
	CHECK_INT(url_query_get("/?code=a%00b", "code", &v), -EINVAL);
	CHECK_INT(url_query_get("/?error=access_denied&code=%41", "code", &v), 0);
	CHECK_STR(v, "A");
	free(v);
}

static void test_raw(void)
{
	struct url_buf *u = url_new("https://t.example.com");
	CHECK_INT(url_raw(u, "/api/v1/items/a%20b%2Fc"), 0);
	CHECK_INT(url_query(u, "limit", "5"), 0);
	char *s = url_finish(u);
	CHECK_STR(s, "https://t.example.com/api/v1/items/a%20b%2Fc?limit=5");
	free(s);
	u = url_new("https://t.example.com");
	CHECK_INT(url_raw(u, "/api/v1/items?resourceType=app,qvapp&sort=-name&q=a?b"), 0);
	CHECK_INT(url_query(u, "next", "x y"), 0);
	s = url_finish(u);
	CHECK_STR(s, "https://t.example.com/api/v1/items?resourceType=app,qvapp&sort=-name&q=a?b&next=x%20y");
	free(s);
	u = url_new("https://t.example.com");
	CHECK_INT(url_raw(u, "/x?"), 0);
	CHECK_INT(url_query(u, "a", "1"), 0);
	s = url_finish(u);
	CHECK_STR(s, "https://t.example.com/x?a=1");
	free(s);
	const char *bad[] = { "api/v1", "//evil.example.com/x", "/a b", "/a#frag", "/a%2",
			      "/a%zz", "/caf\xc3\xa9", "/a\"b", "/a<b>", "/a\r\nHost: x", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = url_new("https://t.example.com");
		CHECK_INT(url_raw(u, bad[i]), -EINVAL);
		CHECK(url_finish(u) == NULL);
	}
	u = url_new("https://t.example.com");
	url_query(u, "a", "1");
	CHECK_INT(url_raw(u, "/x"), -EINVAL); /* after the query */
	url_free(u);
	CHECK_INT(url_raw(NULL, "/x"), -ENOMEM);
}

int main(void)
{
	test_endpoint_query();
	test_escape();
	test_build();
	test_raw();
	test_tenant();
	test_resolve();
	test_origin_host();
	return check_done();
}
