/*
 * test_render.c - JSON rendering (must equal `jq .`), the errno table, and
 * the page-URL rewrite used for offset pagination.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "client/errmap.h"
#include "res/reswrite.h"
#include "util/jsonfmt.h"
#include "util/url.h"

static void render(const char *in, const char *want)
{
	cJSON *j = cJSON_Parse(in);
	size_t len = 0;
	char *out = j ? jsonfmt_pretty(j, &len) : NULL;
	CHECK_STR(out, want);
	CHECK(out && len == strlen(want));
	free(out);
	cJSON_Delete(j);
}

static void test_jsonfmt(void)
{
	render("{}", "{}\n");
	render("[]", "[]\n");
	render("{\"a\":1,\"b\":[1,2],\"c\":{},\"d\":[],\"e\":null,\"f\":true,\"g\":false}",
	       "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": {},\n  \"d\": [],\n"
	       "  \"e\": null,\n  \"f\": true,\n  \"g\": false\n}\n");
	/* escapes: quote, backslash, control characters; UTF-8 passes through */
	render("{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u007f \\u00e9\\u65e5 \\ud83d\\ude80\"}",
	       "{\n  \"s\": \"q\\\"b\\\\n\\n\\t\\u0001\\u007f \xc3\xa9\xe6\x97\xa5 \xf0\x9f\x9a\x80\"\n}\n");
	/* numbers: integers stay integers, fractions round-trip */
	render("[0,-7,1700000000000,1.5,0.1,-2.25e-7,9007199254740993]",
	       "[\n  0,\n  -7,\n  1700000000000,\n  1.5,\n  0.1,\n  -2.25e-07,\n  9007199254740992\n]\n");
	/* key order is the server's */
	render("{\"z\":1,\"a\":2}", "{\n  \"z\": 1,\n  \"a\": 2\n}\n");
	render("\"x\"", "\"x\"\n");
}

static void test_errmap(void)
{
	CHECK_INT(errmap_http(400, NULL, QOP_UPDATE), -EINVAL);
	CHECK_INT(errmap_http(401, NULL, QOP_READ), -EACCES);
	CHECK_INT(errmap_http(403, NULL, QOP_READ), -EACCES);
	CHECK_INT(errmap_http(404, "USERS-7", QOP_READ), -ENOENT);
	CHECK_INT(errmap_http(410, NULL, QOP_READ), -ENOENT);
	CHECK_INT(errmap_http(409, NULL, QOP_CREATE), -EEXIST);
	CHECK_INT(errmap_http(409, NULL, QOP_UPDATE), -ESTALE);
	CHECK_INT(errmap_http(409, NULL, QOP_RENAME), -EEXIST);
	CHECK_INT(errmap_http(409, NULL, QOP_CREATE), -EEXIST);
	CHECK_INT(errmap_http(409, NULL, QOP_DELETE), -EBUSY);
	{
		char ptr[16];
		CHECK_INT(res_pointer("name", ptr, sizeof(ptr)), 0);
		CHECK_STR(ptr, "/name");
		CHECK_INT(res_pointer("a/b~c", ptr, sizeof(ptr)), 0);
		CHECK_STR(ptr, "/a~1b~0c");
		CHECK_INT(res_pointer("0123456789abcdef", ptr, sizeof(ptr)), -ENAMETOOLONG);
		CHECK(restab_writable(restab_get(RK_SPACE), "name"));
		CHECK(!restab_writable(restab_get(RK_SPACE), "id"));
		CHECK(restab_writable(restab_get(RK_DATASET), "schema"));
		CHECK(!restab_writable(restab_get(RK_DATASET), "version"));
		CHECK(!restab_writable(restab_get(RK_USER), "email"));
	}
	CHECK_INT(errmap_http(409, NULL, QOP_DELETE), -EBUSY);
	CHECK_INT(errmap_http(412, NULL, QOP_DELETE), -ENOTEMPTY);
	CHECK_INT(errmap_http(413, NULL, QOP_CREATE), -EFBIG);
	CHECK_INT(errmap_http(423, NULL, QOP_UPDATE), -EBUSY);
	CHECK_INT(errmap_http(429, NULL, QOP_READ), -EIO);
	CHECK_INT(errmap_http(500, NULL, QOP_READ), -EIO);
	CHECK_INT(errmap_http(501, NULL, QOP_READ), -EOPNOTSUPP);
	CHECK_INT(errmap_http(503, NULL, QOP_READ), -EIO);
	CHECK_INT(errmap_transport(-ETIMEDOUT), -EIO);
	CHECK_INT(errmap_transport(-ECONNREFUSED), -EIO);
	CHECK_INT(errmap_transport(-ENOMEM), -ENOMEM);
}

static void page_url(const char *in, long long v, const char *want)
{
	char *out = url_set_query_int(in, "page", v);
	CHECK_STR(out, want);
	free(out);
}

static void test_page_urls(void)
{
	page_url("http://h/api/v1/data-stores", 1, "http://h/api/v1/data-stores?page=1");
	page_url("http://h/x?limit=100", 2, "http://h/x?limit=100&page=2");
	page_url("http://h/x?page=1&limit=100", 2, "http://h/x?limit=100&page=2");
	page_url("http://h/x?pages=9&page=3", 4, "http://h/x?pages=9&page=4");
	page_url("http://h/x?a=%26page%3D1", 1, "http://h/x?a=%26page%3D1&page=1");
	/* a bare "page" (no value) would shadow the new one */
	page_url("http://h/x?page&limit=5", 2, "http://h/x?limit=5&page=2");
	page_url("http://h/x?pagex&page", 2, "http://h/x?pagex&page=2");
}

int main(void)
{
	test_jsonfmt();
	test_errmap();
	test_page_urls();
	return check_done();
}
