/*
 * scripts.c - load scripts of apps; see scripts.h.
 */
#include "actions/scripts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/qtime.h"
#include "util/url.h"

#define RESP_MAX ((size_t)24 << 20)
#define HISTORY_PAGES_MAX 100

static char *app_url(struct qclient *qc, const char *app, const char *id)
{
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/apps");
	url_seg(u, app && *app ? app : ".");
	url_path(u, "/scripts");
	if (id)
		url_seg(u, id);
	return url_finish(u);
}

bool scripts_ver_parse(const cJSON *e, struct script_ver *out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "scriptId");
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(e, "modifiedTime");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(e, "size");
	if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) > SCRIPTS_ID_MAX ||
	    strchr(id->valuestring, '/'))
		return false;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id->valuestring);
	if (!cJSON_IsString(mt) || qtime_parse_ms(mt->valuestring, &out->mtime_ms))
		out->mtime_ms = 0;
	out->size = cJSON_IsNumber(sz) ? (int64_t)sz->valuedouble : -1;
	return true;
}

static int64_t entry_ms(const cJSON *e)
{
	struct script_ver v;
	return scripts_ver_parse(e, &v) ? v.mtime_ms : 0;
}

static int cmp_newest(const void *a, const void *b)
{
	int64_t x = entry_ms(*(cJSON *const *)a), y = entry_ms(*(cJSON *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Sorts arr newest first (a stable result for equal times is not needed). */
static int sort_newest(cJSON *arr)
{
	int n = cJSON_GetArraySize(arr);
	cJSON **v = malloc(sizeof(*v) * (size_t)(n ? n : 1));
	if (!v)
		return -ENOMEM;
	for (int i = n - 1; i >= 0; i--)
		v[i] = cJSON_DetachItemFromArray(arr, i);
	qsort(v, (size_t)n, sizeof(*v), cmp_newest);
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, v[i]);
	free(v);
	return 0;
}

/* One page: appends its "scripts" to arr; *next = links.next.href or NULL. */
static int history_page(struct qclient *qc, const char *url, cJSON *arr, char **next, char *err,
			size_t n)
{
	cJSON *o = NULL;
	int rc = qclient_get_json(qc, url, &o, err, n);
	if (rc)
		return rc;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "scripts"), *e;
	const cJSON *nx = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "links"), "next"),
		"href");
	if (!cJSON_IsArray(s)) {
		errmsg_set(err, n, "GET %s: no \"scripts\" in the answer", url);
		cJSON_Delete(o);
		return -EIO;
	}
	cJSON_ArrayForEach(e, s)
	{
		cJSON *c = cJSON_Duplicate(e, 1);
		if (!c) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		cJSON_AddItemToArray(arr, c);
	}
	*next = cJSON_IsString(nx) && nx->valuestring[0] ? strdup(nx->valuestring) : NULL;
	cJSON_Delete(o);
	return 0;
}

int scripts_history(struct qclient *qc, const char *app, cJSON **versions, char *err, size_t n)
{
	char *url = app_url(qc, app, NULL);
	cJSON *arr = cJSON_CreateArray();
	int rc = url && arr ? 0 : -ENOMEM;
	for (int page = 0; !rc && url && page < HISTORY_PAGES_MAX; page++) {
		char *next = NULL;
		rc = history_page(qc, url, arr, &next, err, n);
		free(url);
		url = next;
	}
	free(url);
	if (!rc)
		rc = sort_newest(arr);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*versions = arr;
	return 0;
}

int scripts_head(struct qclient *qc, const char *app, struct script_ver *out, char *err,
		 size_t n)
{
	cJSON *arr = NULL;
	int rc = scripts_history(qc, app, &arr, err, n);
	if (rc)
		return rc;
	if (!scripts_ver_parse(cJSON_GetArrayItem(arr, 0), out)) {
		errmsg_set(err, n, "app %s has no script version", app);
		rc = -ENOENT;
	}
	cJSON_Delete(arr);
	return rc;
}

int scripts_get(struct qclient *qc, const char *app, const char *id, char **text, size_t *len,
		char **msg, char *err, size_t n)
{
	char *url = app_url(qc, app, id);
	cJSON *o = NULL;
	int rc = url ? qclient_get_json(qc, url, &o, err, n) : -ENOMEM;
	free(url);
	if (rc)
		return rc;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "script");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "versionMessage");
	if (!cJSON_IsString(s)) {
		errmsg_set(err, n, "app %s script %s: no \"script\" in the answer", app, id);
		cJSON_Delete(o);
		return -EIO;
	}
	size_t l = strlen(s->valuestring);
	char *t = l <= SCRIPTS_TEXT_MAX ? strdup(s->valuestring) : NULL;
	char *mm = msg ? strdup(cJSON_IsString(m) ? m->valuestring : "") : NULL;
	cJSON_Delete(o);
	if (!t || (msg && !mm)) {
		free(t);
		free(mm);
		errmsg_set(err, n, "app %s: a script of %zu bytes", app, l);
		return l > SCRIPTS_TEXT_MAX ? -EFBIG : -ENOMEM;
	}
	*text = t;
	*len = l;
	if (msg)
		*msg = mm;
	return 0;
}

int scripts_current(struct qclient *qc, const char *app, struct script_ver *ver, char **text,
		    size_t *len, char *err, size_t n)
{
	int rc = scripts_head(qc, app, ver, err, n);
	return rc ? rc : scripts_get(qc, app, ver->id, text, len, NULL, err, n);
}

int scripts_set(struct qclient *qc, const char *app, const char *text, size_t len,
		const char *msg, char *err, size_t n)
{
	if (len > SCRIPTS_TEXT_MAX || memchr(text, 0, len)) {
		errmsg_set(err, n, "a load script is text of at most %zu MiB without NUL bytes",
			   SCRIPTS_TEXT_MAX >> 20);
		return len > SCRIPTS_TEXT_MAX ? -EFBIG : -EINVAL;
	}
	char *url = app_url(qc, app, NULL);
	cJSON *o = cJSON_CreateObject();
	char *copy = malloc(len + 1); /* text is not NUL-terminated */
	int rc = url && o && copy ? 0 : -ENOMEM;
	char *body = NULL;
	if (!rc) {
		memcpy(copy, text, len);
		copy[len] = 0;
		if (!cJSON_AddStringToObject(o, "script", copy) ||
		    !cJSON_AddStringToObject(o, "versionMessage", msg ? msg : "") ||
		    !(body = cJSON_PrintUnformatted(o)))
			rc = -ENOMEM;
	}
	if (!rc) {
		struct qcall call = { .method = "POST", .url = url, .body = body,
				      .body_len = strlen(body), .op = QOP_UPDATE,
				      .max_body = RESP_MAX };
		struct qresp r;
		rc = qclient_call(qc, &call, &r);
		if (rc)
			errmsg_set(err, n, "%s", r.errmsg);
		qresp_clear(&r);
	}
	cJSON_Delete(o);
	free(body);
	free(copy);
	free(url);
	return rc;
}
