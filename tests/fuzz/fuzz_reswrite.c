/*
 * fuzz_reswrite.c - user-written JSON edits -> the requests that apply them
 * (reswrite.c: the diff of an edited file against the object it was opened
 * with, JSON Patch / PUT / multipart builders, create bodies, deletes).
 *
 * Input: a kind byte, then "BASE\n%%\nEDITED" and the tenant's responses
 * (fuzz_common.h), "\n%%\n" between all of them.  Invariants:
 *  - nothing is sent when no writable field of EDITED differs from BASE;
 *  - every PATCH body is a JSON array of {op,path[,value]} with op
 *    test/replace/add and a path that unescapes (RFC 6901) to a field
 *    the kind may write ("version" only for test);
 *  - a create's body holds no read-only field; every body sent is JSON
 *    (or one multipart part holding JSON);
 *  - results are 0/1 or a negative errno, *now only on success;
 *  - res_pointer() escapes '~' and '/' and unescapes back to the field.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "res/reswrite.h"
#include "util/url.h"

#define MAX_RESP 16

/* RFC 6901 unescape of a one-level pointer "/f"; NULL when not one level. */
static char *unpointer(const char *p)
{
	if (p[0] != '/' || strchr(p + 1, '/'))
		return NULL;
	char *out = malloc(strlen(p) + 1), *o = out;
	FZ_CHECK(out);
	for (p++; *p; p++) {
		if (*p == '~') {
			FZ_CHECK(p[1] == '0' || p[1] == '1');
			*o++ = p[1] == '0' ? '~' : '/';
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static bool readonly(const struct rtype *rt, const char *f)
{
	for (size_t i = 0; i < sizeof(rt->readonly) / sizeof(rt->readonly[0]) && rt->readonly[i]; i++)
		if (!strcmp(rt->readonly[i], f))
			return true;
	return false;
}

static void check_patch(const struct rtype *rt, const char *body)
{
	cJSON *ops = cJSON_Parse(body);
	const cJSON *op;
	FZ_CHECK(cJSON_IsArray(ops) && cJSON_GetArraySize(ops) > 0);
	cJSON_ArrayForEach(op, ops)
	{
		const char *o = json_str(op, "op"), *path = json_str(op, "path");
		FZ_CHECK(o && path);
		char *field = unpointer(path);
		FZ_CHECK(field);
		if (!strcmp(o, "test"))
			FZ_CHECK(!strcmp(field, "version") && rt->upd == UPD_PATCH_VERSION);
		else
			FZ_CHECK((!strcmp(o, "replace") || !strcmp(o, "add")) &&
				 restab_writable(rt, field) &&
				 cJSON_GetObjectItemCaseSensitive(op, "value"));
		free(field);
	}
	cJSON_Delete(ops);
}

static void check_requests(const struct rtype *rt, const struct fz_transport *t, bool create)
{
	for (size_t i = 0; i < t->n_req; i++) {
		const struct fz_request *r = &t->req[i];
		FZ_CHECK(url_same_origin(r->url, "https://tenant.example"));
		if (!r->body)
			continue;
		if (!strcmp(r->method, "PATCH")) {
			check_patch(rt, r->body);
			continue;
		}
		const char *json = r->body;
		if (!strncmp(json, "--", 2)) { /* multipart: the Json part */
			json = strstr(json, "\r\n\r\n");
			FZ_CHECK(json);
			json += 4;
		}
		cJSON *b = cJSON_ParseWithOpts(json, NULL, false);
		FZ_CHECK(b);
		if (create && !strcmp(r->method, "POST")) {
			const cJSON *f;
			cJSON_ArrayForEach(f, b)
				FZ_CHECK(!readonly(rt, f->string));
		}
		cJSON_Delete(b);
	}
}

static bool writable_change(const struct rtype *rt, const cJSON *base, const cJSON *ed)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, ed)
	{
		if (!f->string || !restab_writable(rt, f->string))
			continue;
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(base, f->string);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(ed, f->string);
		if (a ? !cJSON_Compare(a, b, true) : !cJSON_IsNull(b))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 << 16)
		return 0;
	const struct rtype *rt = restab_get((enum rkind)(data[0] % RK_COUNT));
	char *in = fz_strndup(data + 1, size - 1);
	char *part[MAX_RESP + 2];
	size_t n = fz_split(in, "\n%%\n", part, MAX_RESP + 2);
	if (n > MAX_RESP + 2)
		n = MAX_RESP + 2;
	cJSON *base = cJSON_Parse(part[0]);
	cJSON *ed = n > 1 ? cJSON_Parse(part[1]) : NULL;
	char **resp = part + (n > 2 ? 2 : n);
	size_t nresp = n > 2 ? n - 2 : 0;
	char err[512];

	/* update */
	struct fz_transport t;
	fz_transport_init(&t, resp, nresp);
	struct qclient *qc = fz_client(&t);
	FZ_CHECK(qc);
	cJSON *now = (cJSON *)1;
	int rc = res_update(qc, rt, "id/1", base, ed, &now, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == 1 || (rc < 0 && rc > -4096));
	if (rc)
		FZ_CHECK(now == NULL);
	if (cJSON_IsObject(ed) && rt->upd != UPD_NONE && !writable_change(rt, base, ed))
		FZ_CHECK(rc == 0 && now == NULL && t.n_req == 0);
	check_requests(rt, &t, false);
	cJSON_Delete(now);
	qclient_free(qc);
	fz_transport_clear(&t);

	/* create (apps wait for their catalogue item: too slow to fuzz) */
	if (rt->kind != RK_APP) {
		struct res_scope sc = { .id = { [RK_SPACE] = "space1", [RK_DATASTORE] = "store1",
						[RK_DATAASSET] = "asset1" } };
		fz_transport_init(&t, resp, nresp);
		qc = fz_client(&t);
		FZ_CHECK(qc);
		now = (cJSON *)1;
		rc = res_create(qc, rt, &sc, ed, "New name", &now, err, sizeof(err));
		FZ_CHECK(rc == 0 || (rc < 0 && rc > -4096));
		FZ_CHECK(rc ? now == NULL : now != NULL);
		check_requests(rt, &t, true);
		cJSON_Delete(now);
		qclient_free(qc);
		fz_transport_clear(&t);
	}

	/* delete */
	fz_transport_init(&t, resp, nresp);
	qc = fz_client(&t);
	FZ_CHECK(qc);
	rc = res_delete(qc, rt, part[0], err, sizeof(err));
	FZ_CHECK(rc <= 0);
	check_requests(rt, &t, false);
	qclient_free(qc);
	fz_transport_clear(&t);

	/* JSON Pointer of a field */
	char ptr[512];
	if (res_pointer(part[0], ptr, sizeof(ptr)) == 0) {
		char *f = unpointer(ptr);
		FZ_CHECK(f && !strcmp(f, part[0]));
		free(f);
	}
	cJSON_Delete(base);
	cJSON_Delete(ed);
	free(in);
	return 0;
}
