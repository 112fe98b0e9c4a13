/*
 * sim_scripts.c - load scripts and reloads (reference section 9a):
 *  - /api/v1/apps/{id}/scripts: every app has a history of script versions
 *    (oldest first; the last is current).  An app's first version is made
 *    on first use from its id and name (deterministic, so sizes are stable),
 *    dated at the app's creation.  POST adds a version (and touches the
 *    app's modifiedDate, as saving a script does), PATCH changes a version's
 *    message, DELETE removes a version that is not the current one.
 *  - /api/v1/reloads: a reload is QUEUED for reload_delay_ms, RELOADING for
 *    as long again, then final: FAILED when the script held "//FAIL" when
 *    the reload was created, EXCEEDED_LIMIT for "//EXCEED", else SUCCEEDED;
 *    a cancel before the end makes it CANCELED at once.  The log grows with
 *    time while it reloads (one line per script line).  A reload that ends
 *    SUCCEEDED sets its app's lastReloadTime (reloads_settle, called before
 *    every request).
 *  - /api/v1/apps/{id}/reloads/logs[/{reloadId}]: the logs of ended reloads.
 *
 * Private fields of a reload's JSON start with '_' and are never rendered.
 * Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT_MAX (4u << 20)
#define MSG_MAX 1024

/* ------------------------------------------------------------- scripts */

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The first script of an app: deterministic from its id and name. */
static char *default_script(const char *id, const char *name)
{
	static const char *const files[] = { "sales_2023.csv", "customers.csv", "products.qvd",
					     "ledger.csv" };
	const char *f = files[hash_str(id) % 4];
	return xasprintf("///$tab Main\n"
			 "SET ThousandSep=',';\n"
			 "SET DecimalSep='.';\n"
			 "// app: %s\n"
			 "// id: %s\n"
			 "\n"
			 "Data:\n"
			 "LOAD *\n"
			 "FROM [lib://DataFiles/%s]\n"
			 "(txt, utf8, embedded labels, delimiter is ',');\n",
			 name, id, f);
}

static struct rec *version_new(struct sim_tenant *t, const char *app_id, const char *text,
			       size_t len, const char *msg, const char *modifier, long long ms)
{
	char id[25], ts[40];
	gen_oid(t, ms, id);
	fmt_ms(ts, sizeof(ts), ms);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "scriptId", id);
	cJSON_AddStringToObject(j, "modifiedTime", ts);
	cJSON_AddStringToObject(j, "modifierId", modifier ? modifier : "");
	cJSON_AddNumberToObject(j, "size", (double)len);
	cJSON_AddStringToObject(j, "versionMessage", msg ? msg : "");
	struct rec *r = rec_new(id, j);
	if (!r) {
		cJSON_Delete(j);
		return NULL;
	}
	r->blob = malloc(len + 1);
	r->aux = strdup(app_id);
	if (!r->blob || !r->aux) {
		rec_free(r);
		return NULL;
	}
	memcpy(r->blob, text, len);
	r->blob[len] = 0;
	r->blob_len = len;
	r->t_ms = ms;
	return r;
}

static void hist_free(void *p)
{
	struct coll *h = p;
	if (!h)
		return;
	coll_clear(h);
	free(h);
}

void scripts_forget(struct sim_tenant *t, const char *app_id)
{
	hist_free(hm_del(&t->scripts, app_id));
	appdata_forget(t, app_id);
}

void scripts_free_all(struct sim_tenant *t)
{
	hm_clear(&t->scripts, hist_free);
	hm_clear(&t->reloaded, free);
	coll_clear(&t->reloads);
}

/* The versions of app a (made with its first one when new), or NULL. */
static struct coll *hist_of(struct sim_tenant *t, struct rec *a)
{
	struct coll *h = hm_get(&t->scripts, a->id);
	if (h)
		return h;
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(a->j, "attributes");
	long long cr = parse_time_ms(jstr(at, "createdDate"));
	char *txt = default_script(a->id, jstr(at, "name") ? jstr(at, "name") : "");
	struct rec *v = txt ? version_new(t, a->id, txt, strlen(txt), "created", jstr(at, "ownerId"),
					  cr > 0 ? cr : sim_now(t))
			    : NULL;
	free(txt);
	if (!v || !(h = calloc(1, sizeof(*h))) || coll_add(h, v) || hm_put(&t->scripts, a->id, h)) {
		if (h && h->n)
			v = NULL; /* owned by h */
		hist_free(h);
		rec_free(v);
		return NULL;
	}
	return h;
}

static struct rec *current_version(struct sim_tenant *t, struct rec *a)
{
	struct coll *h = hist_of(t, a);
	return h && h->n ? h->v[h->n - 1] : NULL;
}

char *scripts_current_text(struct sim_tenant *t, const char *app_id)
{
	struct rec *a = coll_get(&t->apps, app_id), *v = a ? current_version(t, a) : NULL;
	return v ? strdup((const char *)v->blob) : NULL;
}

static struct rec *app_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->apps, c->ids[0]);
	if (!r)
		reply_err(c, 404, "App.NotFound", "Not found", "app not found");
	return r;
}

int h_app_scripts_list(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c);
	long limit;
	if (!a || q_limit(c, "limit", 100, 1, 100, &limit))
		return 0;
	struct coll *h = hist_of(c->t, a);
	if (!h)
		return -ENOMEM;
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "scripts");
	for (size_t i = h->n; i > 0 && (long)(h->n - i) < limit; i--)
		cJSON_AddItemToArray(arr, cJSON_Duplicate(h->v[i - 1]->j, 1));
	cJSON *links = cJSON_AddObjectToObject(o, "links"), *self = cJSON_CreateObject();
	char *sl = self_link(c);
	cJSON_AddStringToObject(self, "href", sl ? sl : "");
	free(sl);
	cJSON_AddItemToObject(links, "self", self);
	return reply_json(c, 200, o);
}

int h_app_scripts_create(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c);
	if (!a)
		return 0;
	cJSON *b = parse_body(c);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "script");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(b, "versionMessage");
	int rc;
	if (!cJSON_IsString(s) || strlen(s->valuestring) > SCRIPT_MAX ||
	    (m && !cJSON_IsString(m)) || (cJSON_IsString(m) && strlen(m->valuestring) > MSG_MAX)) {
		rc = reply_err(c, 400, "App.BadRequest", "Bad request",
			       "body must be {script: string, versionMessage?: string}");
		cJSON_Delete(b);
		return rc;
	}
	struct coll *h = hist_of(c->t, a);
	long long ms = c->now;
	if (h && h->n && h->v[h->n - 1]->t_ms >= ms)
		ms = h->v[h->n - 1]->t_ms + 1; /* versions keep distinct times */
	struct rec *v = h ? version_new(c->t, a->id, s->valuestring, strlen(s->valuestring),
				      cJSON_IsString(m) ? m->valuestring : "", c->caller, ms)
			  : NULL;
	cJSON_Delete(b);
	if (!v || coll_add(h, v)) {
		rec_free(v);
		return -ENOMEM;
	}
	app_touched(c, a);
	return reply_empty(c, 200);
}

static struct rec *version_or_404(struct sim_ctx *c, struct rec *a, struct coll **hp)
{
	struct coll *h = hist_of(c->t, a);
	struct rec *v = NULL;
	if (h && !strcmp(c->ids[1], "current"))
		v = h->n ? h->v[h->n - 1] : NULL;
	else if (h)
		v = coll_get(h, c->ids[1]);
	if (!v)
		reply_err(c, 404, "App.NotFound", "Not found", "script version not found");
	if (hp)
		*hp = h;
	return v;
}

int h_app_script_get(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c), *v = a ? version_or_404(c, a, NULL) : NULL;
	if (!v)
		return 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "script", (const char *)v->blob);
	cJSON_AddStringToObject(o, "versionMessage", jstr(v->j, "versionMessage"));
	return reply_json(c, 200, o);
}

int h_app_script_patch(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c), *v = a ? version_or_404(c, a, NULL) : NULL;
	if (!v)
		return 0;
	cJSON *b = parse_body(c);
	const cJSON *op;
	int rc = 0;
	bool bad = !cJSON_IsArray(b) || !cJSON_GetArraySize(b);
	cJSON_ArrayForEach(op, b)
	{
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(op, "Value");
		if (strcmp(jstr(op, "Op") ? jstr(op, "Op") : "", "replace") ||
		    strcmp(jstr(op, "Path") ? jstr(op, "Path") : "", "/versionMessage") ||
		    !cJSON_IsString(val) || strlen(val->valuestring) > MSG_MAX)
			bad = true;
	}
	if (bad) {
		rc = reply_err(c, 400, "App.BadRequest", "Bad request",
			       "only [{Op:\"replace\",Path:\"/versionMessage\",Value}] is allowed");
	} else {
		cJSON_ArrayForEach(op, b)
			jset_str(v->j, "versionMessage", jstr(op, "Value"));
		rc = reply_empty(c, 200);
	}
	cJSON_Delete(b);
	return rc;
}

int h_app_script_delete(struct sim_ctx *c)
{
	struct coll *h = NULL;
	struct rec *a = app_or_404(c), *v = a ? version_or_404(c, a, &h) : NULL;
	if (!v)
		return 0;
	if (v == h->v[h->n - 1])
		return reply_err(c, 400, "App.BadRequest", "Bad request",
				 "the current script cannot be deleted");
	rec_free(coll_remove(h, v->id));
	return reply_empty(c, 200);
}

/* ------------------------------------------------------------- reloads */

static const char *const active_states[] = { "QUEUED", "RELOADING", "CANCELING" };

static bool is_active(const char *s)
{
	for (size_t i = 0; i < 3; i++)
		if (s && !strcmp(s, active_states[i]))
			return true;
	return false;
}

static long long jms(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static void set_time(cJSON *j, const char *k, long long ms)
{
	char ts[40];
	fmt_ms(ts, sizeof(ts), ms);
	jset_str(j, k, ts);
}

/* The lines the log of a reload of `script` shows at `frac` (0..1) of its run. */
static char *log_text(const cJSON *j, double frac, const char *final)
{
	const char *script = jstr(j, "_script");
	long long start = jms(j, "_start");
	char ts[40];
	size_t cap = 256 + (script ? strlen(script) * 2 : 0), len = 0;
	char *out = malloc(cap + 256);
	if (!out)
		return NULL;
	fmt_ms(ts, sizeof(ts), start);
	len += (size_t)snprintf(out + len, cap - len, "%s Execution started.\n%s Reload of app %s\n",
				ts, ts, jstr(j, "appId"));
	size_t nlines = 0;
	for (const char *p = script; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		nlines++;
	size_t show = (size_t)(frac * (double)nlines);
	size_t i = 0;
	for (const char *p = script; p && *p && i < show; i++) {
		size_t l = strcspn(p, "\n");
		if (len + l + 8 < cap) {
			memcpy(out + len, "  ", 2);
			memcpy(out + len + 2, p, l);
			len += l + 2;
			out[len++] = '\n';
		}
		p += l + (p[l] == '\n');
	}
	if (final)
		len += (size_t)snprintf(out + len, cap + 256 - len, "%s\n", final);
	out[len] = 0;
	return out;
}

/* Moves r to the state its times say (now).  Returns true when it ended now. */
static bool reload_advance(struct sim_tenant *t, struct rec *r, long long now)
{
	cJSON *j = r->j;
	const char *st = jstr(j, "status");
	if (!is_active(st))
		return false;
	long long cr = jms(j, "_created"), cancel = jms(j, "_cancel"), d = t->reload_delay_ms;
	long long start = cr + d, end = cr + 2 * d;
	const char *fin = NULL, *code = NULL, *msg = NULL;
	long long at = end;
	if (cancel >= 0 && cancel < end) {
		fin = "CANCELED";
		at = cancel;
	} else if (now >= end) {
		const char *s = jstr(j, "_script");
		if (s && strstr(s, "//FAIL")) {
			fin = "FAILED";
			code = "RELOADS-009";
			msg = "The script failed: //FAIL marker in the load script";
		} else if (s && strstr(s, "//EXCEED")) {
			fin = "EXCEEDED_LIMIT";
			code = "RELOADS-010";
			msg = "The reload exceeded its capacity limit";
		} else {
			fin = "SUCCEEDED";
		}
	}
	if (!fin) {
		bool running = now >= start;
		jset_str(j, "status", running ? "RELOADING" : "QUEUED");
		if (running) {
			set_time(j, "startTime", start);
			jset_num(j, "_start", (double)start);
			char *log = log_text(j, (double)(now - start) / (double)(d ? d : 1), NULL);
			if (log)
				jset_str(j, "log", log);
			free(log);
		}
		return false;
	}
	if (at >= start) {
		set_time(j, "startTime", start);
		jset_num(j, "_start", (double)start);
	}
	jset_num(j, "_start", (double)(at >= start ? start : at));
	set_time(j, "endTime", at);
	char dur[32];
	snprintf(dur, sizeof(dur), "%lldms", at >= start ? at - start : 0);
	jset_str(j, "duration", dur);
	jset_str(j, "engineTime", dur);
	jset_str(j, "status", fin);
	if (code) {
		jset_str(j, "errorCode", code);
		jset_str(j, "errorMessage", msg);
	}
	char last[160], ts[40];
	fmt_ms(ts, sizeof(ts), at);
	if (!strcmp(fin, "SUCCEEDED"))
		snprintf(last, sizeof(last), "%s Execution finished.", ts);
	else if (!strcmp(fin, "CANCELED"))
		snprintf(last, sizeof(last), "%s Execution canceled by user.", ts);
	else
		snprintf(last, sizeof(last), "%s Error: %s\n%s Execution failed.", ts, msg, ts);
	char *log = log_text(j, at >= start ? (double)(at - start) / (double)(d ? d : 1) : 0, last);
	if (log)
		jset_str(j, "log", log);
	free(log);
	if (!strcmp(fin, "SUCCEEDED")) {
		struct rec *a = coll_get(&t->apps, jstr(j, "appId"));
		if (a) {
			app_reloaded(t, a, at);
			appdata_set_reloaded(t, a->id, jstr(j, "_script"));
		}
	}
	return true;
}

void reloads_settle(struct sim_tenant *t, long long now)
{
	for (size_t i = 0; t->reloads_active && i < t->reloads.n; i++)
		if (reload_advance(t, t->reloads.v[i], now))
			t->reloads_active--;
}

static cJSON *render_reload_log(struct sim_ctx *c, struct rec *r, bool log)
{
	(void)c;
	cJSON *o = cJSON_CreateObject();
	const cJSON *e;
	cJSON_ArrayForEach(e, r->j)
	{
		if (e->string[0] == '_' || (!log && !strcmp(e->string, "log")))
			continue;
		cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, 1));
	}
	return o;
}

static cJSON *render_reload_nolog(struct sim_ctx *c, struct rec *r)
{
	return render_reload_log(c, r, false);
}

static cJSON *render_reload_full(struct sim_ctx *c, struct rec *r)
{
	return render_reload_log(c, r, true);
}

static bool caller_is_admin(struct sim_ctx *c)
{
	struct rec *u = coll_get(&c->t->users, c->caller);
	const cJSON *e, *roles = u ? cJSON_GetObjectItemCaseSensitive(u->j, "assignedRoles") : NULL;
	cJSON_ArrayForEach(e, roles)
		if (jstr(e, "name") && !strcmp(jstr(e, "name"), "TenantAdmin"))
			return true;
	return false;
}

static bool variables_ok(const cJSON *v)
{
	if (!v)
		return true;
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) > 20)
		return false;
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
		if (!cJSON_IsString(e) || strlen(e->valuestring) > 256)
			return false;
	return true;
}

int h_reloads_create(struct sim_ctx *c)
{
	cJSON *b = parse_body(c);
	const char *app = jstr(b, "appId");
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(b, "partial");
	const cJSON *vars = cJSON_GetObjectItemCaseSensitive(b, "variables");
	int rc;
	struct rec *a = app ? coll_get(&c->t->apps, app) : NULL;
	if (!cJSON_IsObject(b) || !app || (part && !cJSON_IsBool(part)) || !variables_ok(vars)) {
		rc = reply_err(c, 400, "RELOADS-001", "Bad request",
			       "body must be {appId, partial?: bool, variables?: {name: string} (<= 20)}");
		goto out;
	}
	if (!a) {
		rc = reply_err(c, 404, "RELOADS-004", "Not found", "app not found");
		goto out;
	}
	struct rec *cur = current_version(c->t, a);
	char id[25];
	gen_oid(c->t, c->now, id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "appId", app);
	cJSON_AddStringToObject(j, "tenantId", c->t->tenant_id);
	cJSON_AddStringToObject(j, "userId", c->caller ? c->caller : "");
	cJSON_AddStringToObject(j, "type", "external");
	cJSON_AddStringToObject(j, "status", "QUEUED");
	cJSON_AddBoolToObject(j, "partial", cJSON_IsTrue(part));
	set_time(j, "creationTime", c->now);
	cJSON_AddStringToObject(j, "log", "");
	if (vars)
		cJSON_AddItemToObject(j, "variables", cJSON_Duplicate(vars, 1));
	cJSON *links = cJSON_AddObjectToObject(j, "links"), *self = cJSON_CreateObject();
	char *href = abs_url(c->base, "/api/v1/reloads/%s", id);
	cJSON_AddStringToObject(self, "href", href ? href : "");
	free(href);
	cJSON_AddItemToObject(links, "self", self);
	cJSON_AddNumberToObject(j, "_created", (double)c->now);
	cJSON_AddStringToObject(j, "_script", cur ? (const char *)cur->blob : "");
	struct rec *r = rec_new(id, j);
	if (!r) {
		cJSON_Delete(j);
		rc = -ENOMEM;
		goto out;
	}
	r->t_ms = c->now;
	if (coll_add(&c->t->reloads, r)) {
		rec_free(r);
		rc = -ENOMEM;
		goto out;
	}
	c->t->reloads_active++;
	rc = reply_json(c, 201, render_reload_nolog(c, r));
out:
	cJSON_Delete(b);
	return rc;
}

/* `status eq "X"` (the SCIM filter the API takes on status), or NULL. */
static int parse_filter(const char *f, char *status, size_t n)
{
	status[0] = 0;
	if (!f || !*f)
		return 0;
	const char *q1 = strchr(f, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
	if (strncmp(f, "status eq", 9) || !q2 || (size_t)(q2 - q1) >= n)
		return -EINVAL;
	memcpy(status, q1 + 1, (size_t)(q2 - q1 - 1));
	status[q2 - q1 - 1] = 0;
	return 0;
}

int h_reloads_list(struct sim_ctx *c)
{
	static const char *const allowed[] = { "creationTime", "creationTime", NULL };
	const char *app = q_get(c, "appId");
	char status[32];
	long limit;
	struct sortspec s;
	if (q_limit(c, "limit", 10, 1, 100, &limit))
		return 0;
	if ((!app || !*app) && !caller_is_admin(c))
		return reply_err(c, 400, "RELOADS-002", "Bad request",
				 "appId is required unless the caller is a tenant admin");
	if (parse_filter(q_get(c, "filter"), status, sizeof(status)))
		return reply_err(c, 400, "RELOADS-003", "Bad request", "invalid filter");
	sort_parse(&s, "-creationTime", allowed);
	struct rec **v = malloc((c->t->reloads.n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < c->t->reloads.n; i++) {
		struct rec *r = c->t->reloads.v[i];
		if ((app && *app && strcmp(jstr(r->j, "appId"), app)) ||
		    (status[0] && strcmp(jstr(r->j, "status"), status)))
			continue;
		v[n++] = r;
	}
	cJSON *out = cJSON_CreateObject();
	int rc = page_cursor(c, v, n, &s, limit, "next", "prev", 0,
			     q_bool(c, "log") ? render_reload_full : render_reload_nolog, out,
			     "RELOADS-003");
	free(v);
	if (rc || c->resp->status) {
		cJSON_Delete(out);
		return rc;
	}
	return reply_json(c, 200, out);
}

static struct rec *reload_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->reloads, c->ids[0]);
	if (!r)
		reply_err(c, 404, "RELOADS-005", "Not found", "reload not found");
	return r;
}

int h_reload_get(struct sim_ctx *c)
{
	struct rec *r = reload_or_404(c);
	return r ? reply_json(c, 200, render_reload_full(c, r)) : 0;
}

int h_reload_cancel(struct sim_ctx *c)
{
	struct rec *r = reload_or_404(c);
	if (!r)
		return 0;
	const char *st = jstr(r->j, "status");
	if (!strcmp(st, "CANCELED"))
		return reply_empty(c, 204);
	if (!is_active(st))
		return reply_err(c, 409, "RELOADS-007", "Conflict", "the reload has already ended");
	jset_num(r->j, "_cancel", (double)c->now);
	if (reload_advance(c->t, r, c->now))
		c->t->reloads_active--;
	return reply_empty(c, 202);
}

int h_app_reload_logs(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c);
	if (!a)
		return 0;
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "data");
	for (size_t i = c->t->reloads.n; i > 0; i--) {
		const cJSON *j = c->t->reloads.v[i - 1]->j;
		if (strcmp(jstr(j, "appId"), a->id) || is_active(jstr(j, "status")))
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "reloadId", jstr(j, "id"));
		cJSON_AddStringToObject(e, "endTime", jstr(j, "endTime"));
		cJSON_AddStringToObject(e, "duration", jstr(j, "duration"));
		cJSON_AddBoolToObject(e, "success", !strcmp(jstr(j, "status"), "SUCCEEDED"));
		cJSON *l = cJSON_AddObjectToObject(e, "links"), *lg = cJSON_AddObjectToObject(l, "log");
		char *href = abs_url(c->base, "/api/v1/apps/%s/reloads/logs/%s", a->id, jstr(j, "id"));
		cJSON_AddStringToObject(lg, "href", href ? href : "");
		free(href);
		cJSON_AddItemToArray(arr, e);
	}
	return reply_json(c, 200, o);
}

int h_app_reload_log(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c);
	if (!a)
		return 0;
	struct rec *r = coll_get(&c->t->reloads, c->ids[1]);
	if (!r || strcmp(jstr(r->j, "appId"), a->id) || is_active(jstr(r->j, "status")))
		return reply_err(c, 404, "App.NotFound", "Not found", "no log for this reload");
	const char *log = jstr(r->j, "log");
	return reply_raw(c, 200, "text/plain; charset=utf-8", log, strlen(log));
}
