/*
 * sim_control.c - the /_sim/ control API (stats, log, reset, faults, config,
 * state dump, issued OAuth tokens, extra API keys, clock shift), shared by the HTTP server and the
 * in-process sim_control() entry point.
 *
 * Invariants: control requests are never counted or logged, never delayed and
 * never subject to faults or rate limits.  Locking: sim_control() takes t->mu
 * for the whole operation.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_seq(const void *a, const void *b)
{
	const struct logent *x = *(const struct logent *const *)a, *y = *(const struct logent *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static cJSON *stats(struct sim_tenant *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total", (double)t->total);
	cJSON_AddNumberToObject(o, "max_inflight", (double)t->max_inflight);
	cJSON *r = cJSON_AddObjectToObject(o, "routes");
	for (size_t i = 0; i < t->routes.nb; i++)
		for (struct hent *e = t->routes.b[i]; e; e = e->next)
			cJSON_AddNumberToObject(r, e->key, (double)*(long *)e->val);
	return o;
}

/* "headers": {name: value} (names lower-cased) from "Name: value\n" lines. */
static void add_headers(cJSON *e, const char *lines)
{
	cJSON *h = cJSON_AddObjectToObject(e, "headers");
	for (const char *p = lines; h && p && *p;) {
		const char *nl = strchrnul(p, '\n'), *colon = memchr(p, ':', (size_t)(nl - p));
		if (colon && colon + 2 <= nl) {
			char *k = strndup(p, (size_t)(colon - p));
			char *val = strndup(colon + 2, (size_t)(nl - colon - 2));
			for (char *q = k; q && *q; q++)
				*q = (char)tolower((unsigned char)*q);
			if (k && val)
				cJSON_AddStringToObject(h, k, val);
			free(k);
			free(val);
		}
		p = *nl ? nl + 1 : nl;
	}
}

static cJSON *log_dump(struct sim_tenant *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(o, "requests");
	const struct logent **v = malloc((t->nlog + 1) * sizeof(*v));
	if (!v) {
		cJSON_Delete(o);
		return NULL;
	}
	for (size_t i = 0; i < t->nlog; i++)
		v[i] = &t->log[i];
	qsort(v, t->nlog, sizeof(*v), cmp_seq);
	for (size_t i = 0; i < t->nlog; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "method", v[i]->method);
		cJSON_AddStringToObject(e, "path", v[i]->path);
		jset_str(e, "query", v[i]->query);
		cJSON_AddNumberToObject(e, "status", (double)v[i]->status);
		jset_str(e, "body", v[i]->body);
		add_headers(e, v[i]->headers);
		cJSON_AddItemToArray(a, e);
	}
	free(v);
	return o;
}

static long num(const cJSON *o, const char *k, long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : def;
}

static int faults(struct sim_tenant *t, const cJSON *b)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "clear"))) {
		for (size_t i = 0; i < t->nfaults; i++)
			free(t->faults[i].match);
		free(t->faults);
		t->faults = NULL;
		t->nfaults = 0;
		return 0;
	}
	const char *mode = jstr(b, "mode"), *match = jstr(b, "match");
	struct fault f = { 0 };
	if (!mode || !strcmp(mode, "status"))
		f.mode = 0;
	else if (!strcmp(mode, "drop"))
		f.mode = 1;
	else if (!strcmp(mode, "stall"))
		f.mode = 2;
	else
		return -EINVAL;
	f.status = (int)num(b, "status", 503);
	f.count = num(b, "count", 1);
	f.retry_after = num(b, "retry_after", 1);
	f.stall_ms = num(b, "stall_ms", 5000);
	if (f.status < 400 || f.status > 599 || f.count < 0)
		return -EINVAL;
	if (match && *match && !(f.match = strdup(match)))
		return -ENOMEM;
	struct fault *n = realloc(t->faults, (t->nfaults + 1) * sizeof(*n));
	if (!n) {
		free(f.match);
		return -ENOMEM;
	}
	t->faults = n;
	t->faults[t->nfaults++] = f;
	return 0;
}

static void rate_free_all(struct sim_tenant *t)
{
	for (size_t i = 0; i < t->rate.nb; i++)
		for (struct hent *e = t->rate.b[i]; e; e = e->next) {
			struct rate_state *rs = e->val;
			free(rs->ts);
			free(rs);
		}
	hm_clear(&t->rate, NULL);
}

static int config(struct sim_tenant *t, const cJSON *b)
{
	if (!cJSON_IsObject(b))
		return -EINVAL;
	t->latency_ms = num(b, "latency_ms", t->latency_ms);
	t->clock_skew_ms = num(b, "clock_skew_ms", t->clock_skew_ms);
	t->report_delay_ms = num(b, "report_delay_ms", t->report_delay_ms);
	t->reload_delay_ms = num(b, "reload_delay_ms", t->reload_delay_ms);
	const cJSON *rf = cJSON_GetObjectItemCaseSensitive(b, "report_fail");
	if (cJSON_IsBool(rf))
		t->report_fail = cJSON_IsTrue(rf);
	t->token_ttl_s = num(b, "token_ttl_s", t->token_ttl_s);
	const cJSON *rl = cJSON_GetObjectItemCaseSensitive(b, "rate_limit");
	if (rl) {
		t->rl_tier1 = num(rl, "tier1", 0);
		t->rl_tier2 = num(rl, "tier2", 0);
		t->rl_window_s = num(rl, "window_s", 60);
		rate_free_all(t);
	}
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(b, "oauth_clients");
	if (oc) {
		if (!cJSON_IsArray(oc))
			return -EINVAL;
		cJSON *d = cJSON_Duplicate(oc, 1);
		if (!d)
			return -ENOMEM;
		cJSON_Delete(t->oauth_clients);
		t->oauth_clients = d;
	}
	return 0;
}

static cJSON *config_dump(struct sim_tenant *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "latency_ms", (double)t->latency_ms);
	cJSON_AddNumberToObject(o, "clock_skew_ms", (double)t->clock_skew_ms);
	cJSON_AddNumberToObject(o, "report_delay_ms", (double)t->report_delay_ms);
	cJSON_AddNumberToObject(o, "reload_delay_ms", (double)t->reload_delay_ms);
	cJSON_AddBoolToObject(o, "report_fail", t->report_fail);
	cJSON_AddNumberToObject(o, "token_ttl_s", (double)t->token_ttl_s);
	cJSON *rl = cJSON_AddObjectToObject(o, "rate_limit");
	cJSON_AddNumberToObject(rl, "tier1", (double)t->rl_tier1);
	cJSON_AddNumberToObject(rl, "tier2", (double)t->rl_tier2);
	cJSON_AddNumberToObject(rl, "window_s", (double)t->rl_window_s);
	cJSON_AddNumberToObject(o, "shift_ms", (double)t->shift_ms);
	return o;
}

/* Every OAuth token the tenant ever issued (tests look for leaks). */
static cJSON *tokens_dump(struct sim_tenant *t)
{
	return cJSON_Duplicate(t->oauth_issued, 1);
}

static int api_keys(struct sim_tenant *t, const cJSON *b)
{
	const char *key = jstr(b, "key"), *user = jstr(b, "user");
	if (!key || !*key)
		return -EINVAL;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "revoke"))) {
		key_free(hm_del(&t->keys, key));
		return 0;
	}
	if (!user)
		user = t->me;
	if (!coll_get(&t->users, user))
		return -EINVAL;
	long exp = num(b, "expires_in", 0);
	return key_add(t, key, user, exp > 0 ? sim_now(t) + exp * 1000LL : 0, 0) ? 0 : -ENOMEM;
}

static void dump_coll(struct sim_ctx *c, cJSON *o, const char *name, struct coll *cl,
		      render_fn render)
{
	cJSON *a = cJSON_AddArrayToObject(o, name);
	for (size_t i = 0; i < cl->n; i++)
		cJSON_AddItemToArray(a, render(c, cl->v[i]));
}

static cJSON *state_dump(struct sim_tenant *t, const char *base)
{
	struct sim_ctx c = { 0 };
	struct http_request req = { 0 };
	c.t = t;
	c.base = (char *)base;
	c.raw_path = (char *)"/";
	c.method = "GET";
	c.caller = t->me;
	c.now = sim_now(t);
	c.req = &req;
	cJSON *o = cJSON_CreateObject();
	dump_coll(&c, o, "spaces", &t->spaces, render_space);
	dump_coll(&c, o, "apps", &t->apps, render_app);
	dump_coll(&c, o, "items", &t->items, render_item);
	dump_coll(&c, o, "data_files", &t->files, render_df);
	dump_coll(&c, o, "data_stores", &t->stores, render_plain);
	dump_coll(&c, o, "data_assets", &t->assets, render_plain);
	dump_coll(&c, o, "data_sets", &t->sets, render_plain);
	dump_coll(&c, o, "users", &t->users, render_user);
	cJSON_AddStringToObject(o, "me", t->me);
	cJSON_AddTrueToObject(o, "personal_space");
	cJSON_AddStringToObject(o, "tenantId", t->tenant_id);
	return o;
}

cJSON *sim_state_dump(struct sim_tenant *t)
{
	return state_dump(t, SIM_NO_BASE);
}

int sim_control_base(struct sim_tenant *t, const char *base, const char *method,
		     const char *path, const char *body, char **out_json)
{
	*out_json = NULL;
	if (!method || !path)
		return -EINVAL;
	size_t pl = strcspn(path, "?#");
	char *p = strndup(path, pl);
	if (!p)
		return -ENOMEM;
	while (pl > 1 && p[pl - 1] == '/')
		p[--pl] = 0;
	cJSON *b = body && *body ? cJSON_Parse(body) : NULL;
	if (body && *body && !b) {
		free(p);
		return -EINVAL;
	}
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	cJSON *out = NULL;
	int rc = 0;
	pthread_mutex_lock(&t->mu);
	if (get && !strcmp(p, "/_sim/stats")) {
		out = stats(t);
	} else if (get && !strcmp(p, "/_sim/log")) {
		out = log_dump(t);
	} else if (post && !strcmp(p, "/_sim/reset")) {
		counts_reset_locked(t);
	} else if (post && !strcmp(p, "/_sim/faults")) {
		rc = b ? faults(t, b) : -EINVAL;
	} else if (post && !strcmp(p, "/_sim/config")) {
		rc = config(t, b);
		if (!rc)
			out = config_dump(t);
	} else if (get && !strcmp(p, "/_sim/config")) {
		out = config_dump(t);
	} else if (get && !strcmp(p, "/_sim/state")) {
		out = state_dump(t, base ? base : SIM_NO_BASE);
	} else if (get && !strcmp(p, "/_sim/tokens")) {
		out = tokens_dump(t);
	} else if (post && !strcmp(p, "/_sim/api-keys")) {
		rc = b ? api_keys(t, b) : -EINVAL;
	} else if (post && !strcmp(p, "/_sim/time")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "shift_ms");
		if (!cJSON_IsNumber(v)) {
			rc = -EINVAL;
		} else {
			char ts[40];
			t->shift_ms += (long long)v->valuedouble;
			out = cJSON_CreateObject();
			fmt_ms(ts, sizeof(ts), sim_now(t));
			cJSON_AddStringToObject(out, "now", ts);
			cJSON_AddNumberToObject(out, "shift_ms", (double)t->shift_ms);
		}
	} else {
		rc = -ENOENT;
	}
	pthread_mutex_unlock(&t->mu);
	cJSON_Delete(b);
	free(p);
	if (rc)
		return rc;
	if (!out) {
		out = cJSON_CreateObject();
		cJSON_AddTrueToObject(out, "ok");
	}
	*out_json = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return *out_json ? 0 : -ENOMEM;
}

int sim_control(struct sim_tenant *t, const char *method, const char *path, const char *body,
		char **out_json)
{
	return sim_control_base(t, SIM_NO_BASE, method, path, body, out_json);
}
