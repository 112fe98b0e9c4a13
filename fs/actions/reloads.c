/*
 * reloads.c - the Reloads API; see reloads.h.
 */
#include "actions/reloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/url.h"

#define RESP_MAX ((size_t)32 << 20) /* a Reload with a long log */

bool reloads_final(const char *s)
{
	return s && (!strcmp(s, "SUCCEEDED") || !strcmp(s, "FAILED") || !strcmp(s, "CANCELED") ||
		     !strcmp(s, "EXCEEDED_LIMIT"));
}

static bool valid_id(const char *id)
{
	size_t l = id ? strlen(id) : 0;
	return l && l <= RELOADS_ID_MAX && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

static char *reload_url(struct qclient *qc, const char *id, const char *suffix)
{
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/reloads");
	if (id)
		url_seg(u, id);
	if (suffix)
		url_path(u, suffix);
	return url_finish(u);
}

int reloads_create(struct qclient *qc, const char *body, size_t len, cJSON **reload, char *err,
		   size_t n)
{
	cJSON *d = len && len <= RELOADS_BODY_MAX ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *app = cJSON_GetObjectItemCaseSensitive(d, "appId");
	bool ok = cJSON_IsObject(d) && cJSON_IsString(app) && app->valuestring[0];
	cJSON_Delete(d);
	if (!ok) {
		errmsg_set(err, n, "a reload request is a JSON object {\"appId\", \"partial\"?, "
				   "\"variables\"?} of at most %d bytes", RELOADS_BODY_MAX);
		return -EINVAL;
	}
	struct qcall call = { .method = "POST", .url = "/api/v1/reloads", .body = body,
			      .body_len = len, .op = QOP_CREATE, .max_body = RESP_MAX };
	struct qresp r;
	int rc = qclient_call(qc, &call, &r);
	if (rc) {
		errmsg_set(err, n, "%s", r.errmsg);
	} else if (!cJSON_IsObject(r.json) ||
		   !valid_id(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r.json, "id")))) {
		errmsg_set(err, n, "POST /api/v1/reloads: HTTP %ld without a reload id", r.status);
		rc = -EIO;
	} else {
		*reload = r.json;
		r.json = NULL;
	}
	qresp_clear(&r);
	return rc;
}

int reloads_get(struct qclient *qc, const char *id, cJSON **reload, char *err, size_t n)
{
	if (!valid_id(id)) {
		errmsg_set(err, n, "%.80s: not a reload id", id ? id : "");
		return -EINVAL;
	}
	char *url = reload_url(qc, id, NULL);
	int rc = url ? qclient_get_json(qc, url, reload, err, n) : -ENOMEM;
	free(url);
	return rc;
}

int reloads_list(struct qclient *qc, const char *app, int limit, cJSON **reloads, char *err,
		 size_t n)
{
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/reloads");
	if (app)
		url_query(u, "appId", app);
	url_query_int(u, "limit", limit < 1 ? 1 : limit > 100 ? 100 : limit);
	char *url = url_finish(u);
	cJSON *o = NULL;
	int rc = url ? qclient_get_json(qc, url, &o, err, n) : -ENOMEM;
	free(url);
	if (rc)
		return rc;
	cJSON *data = cJSON_DetachItemFromObjectCaseSensitive(o, "data");
	cJSON_Delete(o);
	if (!cJSON_IsArray(data)) {
		cJSON_Delete(data);
		errmsg_set(err, n, "GET /api/v1/reloads: no \"data\" in the answer");
		return -EIO;
	}
	*reloads = data;
	return 0;
}

struct app_walk {
	cJSON *arr;
	int max, n;
};

static int take(void *arg, const cJSON *item)
{
	struct app_walk *w = arg;
	if (w->n >= w->max)
		return QLIST_STOP; /* (the rest of a page: no further page) */
	cJSON *c = cJSON_IsObject(item) ? cJSON_Duplicate(item, 1) : NULL;
	if (c && !cJSON_AddItemToArray(w->arr, c)) {
		cJSON_Delete(c);
		return -ENOMEM;
	}
	if (c)
		w->n++;
	return w->n >= w->max ? QLIST_STOP : 0;
}

int reloads_list_app(struct qclient *qc, const char *app, int max, cJSON **reloads, int *pages,
		     char *err, size_t n)
{
	if (pages)
		*pages = 0;
	if (!valid_id(app)) {
		errmsg_set(err, n, "%.80s: not an app id", app ? app : "");
		return -EINVAL;
	}
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/reloads");
	url_query(u, "appId", app);
	url_query_int(u, "limit", RELOADS_PAGE);
	char *url = url_finish(u);
	struct app_walk w = { cJSON_CreateArray(), max < 1 ? 1 : max, 0 };
	if (!url || !w.arr) {
		free(url);
		cJSON_Delete(w.arr);
		return -ENOMEM;
	}
	struct qlist_info info = { 0 };
	long rc = qclient_list_ex(qc, url, take, &w, &info, err, n);
	free(url);
	if (pages)
		*pages = info.pages;
	if (rc < 0) {
		cJSON_Delete(w.arr);
		return (int)rc;
	}
	*reloads = w.arr;
	return 0;
}

int reloads_cancel(struct qclient *qc, const char *id, char *err, size_t n)
{
	if (!valid_id(id)) {
		errmsg_set(err, n, "%.80s: not a reload id", id ? id : "");
		return -EINVAL;
	}
	char *url = reload_url(qc, id, "/actions/cancel");
	if (!url)
		return -ENOMEM;
	struct qcall call = { .method = "POST", .url = url, .op = QOP_UPDATE, .max_body = RESP_MAX };
	struct qresp r;
	int rc = qclient_call(qc, &call, &r);
	if (rc && r.status == 409) {
		errmsg_set(err, n, "reload %s has already ended", id);
		rc = -EALREADY;
	} else if (rc) {
		errmsg_set(err, n, "%s", r.errmsg);
	}
	qresp_clear(&r);
	free(url);
	return rc;
}
