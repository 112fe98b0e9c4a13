/*
 * tenant.c - core of the Qlik Cloud tenant simulator: tenant lifetime,
 * request parsing, routing, authentication, fault injection, rate limiting,
 * request counters and log, and the reply/link helpers every handler uses.
 *
 * Invariants: every /api/ and /oauth/ request is counted exactly once on
 * arrival and logged once on completion, and its response carries a Date
 * header from the tenant's clock (sim_now: real clock + skew + shift), taken
 * when the handler ran (log entries carry an arrival sequence
 * number and are dumped in that order).  Handlers always produce a response
 * (they return 0 after replying, or a negative errno which becomes a 500).
 *
 * Locking: one mutex (t->mu) protects the whole model.  sim_handle() takes it
 * for bookkeeping, releases it while sleeping for latency/stalls, and holds it
 * for the handler call.  Handlers run with the lock held and never sleep.
 * Sleeps wait on t->sleep_cv (own mutex) so that a stopping server can cut
 * them short (sim_wake_sleepers).
 */
#include "sim_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------------------------------------------------------------- routes */

struct route {
	const char *method;
	const char *pat;
	handler_fn h;
	int noauth;
};

static const struct route routes[] = {
	{ "GET", "/api/v1/spaces", h_spaces_list, 0 },
	{ "POST", "/api/v1/spaces", h_spaces_create, 0 },
	{ "GET", "/api/v1/spaces/types", h_spaces_types, 0 },
	{ "GET", "/api/v1/spaces/{id}", h_space_get, 0 },
	{ "PATCH", "/api/v1/spaces/{id}", h_space_patch, 0 },
	{ "PUT", "/api/v1/spaces/{id}", h_space_put, 0 },
	{ "DELETE", "/api/v1/spaces/{id}", h_space_delete, 0 },
	{ "GET", "/api/v1/spaces/{id}/assignments", h_space_assignments, 0 },

	{ "GET", "/api/v1/items", h_items_list, 0 },
	{ "GET", "/api/v1/items/{id}", h_item_get, 0 },
	{ "PUT", "/api/v1/items/{id}", h_item_put, 0 },
	{ "DELETE", "/api/v1/items/{id}", h_item_delete, 0 },

	{ "POST", "/api/v1/apps", h_apps_create, 0 },
	{ "POST", "/api/v1/apps/import", h_apps_import, 0 },
	{ "GET", "/api/v1/apps/privileges", h_apps_privileges, 0 },
	{ "GET", "/api/v1/apps/{id}", h_app_get, 0 },
	{ "PUT", "/api/v1/apps/{id}", h_app_put, 0 },
	{ "DELETE", "/api/v1/apps/{id}", h_app_delete, 0 },
	{ "PUT", "/api/v1/apps/{id}/space", h_app_space_put, 0 },
	{ "DELETE", "/api/v1/apps/{id}/space", h_app_space_delete, 0 },
	{ "PUT", "/api/v1/apps/{id}/owner", h_app_owner_put, 0 },
	{ "POST", "/api/v1/apps/{id}/copy", h_app_copy, 0 },
	{ "POST", "/api/v1/apps/{id}/export", h_app_export, 0 },
	{ "GET", "/api/v1/apps/{id}/scripts", h_app_scripts_list, 0 },
	{ "POST", "/api/v1/apps/{id}/scripts", h_app_scripts_create, 0 },
	{ "GET", "/api/v1/apps/{id}/scripts/{id}", h_app_script_get, 0 },
	{ "PATCH", "/api/v1/apps/{id}/scripts/{id}", h_app_script_patch, 0 },
	{ "DELETE", "/api/v1/apps/{id}/scripts/{id}", h_app_script_delete, 0 },
	{ "GET", "/api/v1/apps/{id}/reloads/logs", h_app_reload_logs, 0 },
	{ "GET", "/api/v1/apps/{id}/data/metadata", h_app_data_metadata, 0 },
	{ "GET", "/api/v1/apps/{id}/data/lineage", h_app_data_lineage, 0 },
	{ "GET", "/api/v1/apps/{id}/reloads/logs/{id}", h_app_reload_log, 0 },
	{ "POST", "/api/v1/reloads", h_reloads_create, 0 },
	{ "GET", "/api/v1/reloads", h_reloads_list, 0 },
	{ "GET", "/api/v1/reloads/{id}", h_reload_get, 0 },
	{ "POST", "/api/v1/reloads/{id}/actions/cancel", h_reload_cancel, 0 },

	{ "GET", "/api/v1/users", h_users_list, 0 },
	{ "POST", "/api/v1/users", h_users_create, 0 },
	{ "GET", "/api/v1/users/me", h_users_me, 0 },
	{ "GET", "/api/v1/users/actions/count", h_users_count, 0 },
	{ "GET", "/api/v1/users/{id}", h_user_get, 0 },
	{ "PATCH", "/api/v1/users/{id}", h_user_patch, 0 },
	{ "DELETE", "/api/v1/users/{id}", h_user_delete, 0 },

	{ "GET", "/api/v1/data-files", h_df_list, 0 },
	{ "POST", "/api/v1/data-files", h_df_create, 0 },
	{ "GET", "/api/v1/data-files/connections", h_df_connections, 0 },
	{ "GET", "/api/v1/data-files/connections/{id}", h_df_connection_get, 0 },
	{ "GET", "/api/v1/data-files/quotas", h_df_quotas, 0 },
	{ "POST", "/api/v1/data-files/actions/delete", h_df_batch_delete, 0 },
	{ "GET", "/api/v1/data-files/{id}", h_df_get, 0 },
	{ "PUT", "/api/v1/data-files/{id}", h_df_put, 0 },
	{ "DELETE", "/api/v1/data-files/{id}", h_df_delete, 0 },

	{ "GET", "/api/v1/data-stores", h_ds_list, 0 },
	{ "POST", "/api/v1/data-stores", h_ds_create, 0 },
	{ "DELETE", "/api/v1/data-stores", h_ds_batch_delete, 0 },
	{ "GET", "/api/v1/data-stores/{id}", h_ds_get, 0 },
	{ "PUT", "/api/v1/data-stores/{id}", h_ds_put, 0 },
	{ "PATCH", "/api/v1/data-stores/{id}", h_ds_patch, 0 },
	{ "GET", "/api/v1/data-stores/{id}/data-assets", h_ds_assets_list, 0 },
	{ "DELETE", "/api/v1/data-stores/{id}/data-assets", h_ds_assets_delete, 0 },
	{ "GET", "/api/v1/data-stores/{id}/data-assets/{id}/data-sets", h_ds_sets_list, 0 },
	{ "DELETE", "/api/v1/data-stores/{id}/data-assets/{id}/data-sets", h_ds_sets_delete, 0 },
	{ "POST", "/api/v1/data-assets", h_da_create, 0 },
	{ "DELETE", "/api/v1/data-assets", h_da_batch_delete, 0 },
	{ "GET", "/api/v1/data-assets/{id}", h_da_get, 0 },
	{ "PUT", "/api/v1/data-assets/{id}", h_da_put, 0 },
	{ "PATCH", "/api/v1/data-assets/{id}", h_da_patch, 0 },
	{ "POST", "/api/v1/data-sets", h_dset_create, 0 },
	{ "DELETE", "/api/v1/data-sets", h_dset_batch_delete, 0 },
	{ "GET", "/api/v1/data-sets/{id}", h_dset_get, 0 },
	{ "PUT", "/api/v1/data-sets/{id}", h_dset_put, 0 },
	{ "PATCH", "/api/v1/data-sets/{id}", h_dset_patch, 0 },

	{ "POST", "/api/v1/temp-contents", h_temp_create, 0 },
	{ "GET", "/api/v1/temp-contents/{id}", h_temp_get, 0 },
	{ "GET", "/api/v1/temp-contents/{id}/details", h_temp_details, 0 },

	{ "POST", "/api/v1/reports", h_reports_create, 0 },
	{ "GET", "/api/v1/reports/{id}/status", h_report_status, 0 },
	{ "GET", "/api/v1/reports/{id}/outputs", h_report_outputs, 0 },

	{ "POST", "/oauth/token", h_oauth_token, 1 },
	{ "GET", "/oauth/authorize", h_oauth_authorize, 1 },
	{ "POST", "/oauth/revoke", h_oauth_revoke, 1 },
	{ "GET", "/.well-known/oauth-authorization-server", h_wellknown, 1 },
};

/* Matches the raw (escaped) segments of c against pat; fills c->ids. */
static bool route_match(struct sim_ctx *c, const char *pat)
{
	int i = 0, nids = 0;
	const char *p = pat + 1;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);
		if (i >= c->nseg)
			return false;
		if (len == 4 && memcmp(p, "{id}", 4) == 0) {
			if (!c->segs[i][0] || nids >= 4)
				return false;
			c->ids[nids++] = c->segs[i];
		} else if (strlen(c->segs[i]) != len || memcmp(c->segs[i], p, len) != 0) {
			return false;
		}
		i++;
		p = *e ? e + 1 : e;
	}
	if (i != c->nseg)
		return false;
	c->nids = nids;
	return true;
}

/* Returns the route for c, or NULL with *status 404/405. */
static const struct route *route_find(struct sim_ctx *c, long *status)
{
	bool path_ok = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(c, routes[i].pat))
			continue;
		if (strcmp(routes[i].method, c->method) == 0)
			return &routes[i];
		path_ok = true;
	}
	c->nids = 0;
	*status = path_ok ? 405 : 404;
	return NULL;
}

/* --------------------------------------------------------------- parsing */

static void ctx_clear(struct sim_ctx *c)
{
	free(c->base);
	free(c->raw_path);
	free(c->path);
	for (int i = 0; i < c->nseg; i++)
		free(c->segs[i]);
	for (int i = 0; i < c->nq; i++) {
		free(c->q[i].k);
		free(c->q[i].v);
		free(c->q[i].raw);
	}
	free(c->q);
}

static const char *req_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

static int ctx_parse(struct sim_ctx *c, const struct http_request *req)
{
	const char *url = req->url ? req->url : "/";
	const char *rest = url;
	if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
		const char *h = strstr(url, "://") + 3;
		rest = strchrnul(h, '/');
		c->base = strndup(url, (size_t)(rest - url));
		if (!*rest)
			rest = "/";
	} else {
		c->base = strdup(SIM_NO_BASE);
	}
	if (!c->base)
		return -ENOMEM;
	size_t plen = strcspn(rest, "?#");
	c->raw_path = strndup(rest, plen);
	c->path = url_decode_path(rest, plen);
	if (!c->raw_path || !c->path)
		return -ENOMEM;
	/* segments (decoded individually) */
	const char *p = c->raw_path;
	if (*p == '/')
		p++;
	while (*p) {
		const char *e = strchrnul(p, '/');
		if (c->nseg >= SIM_MAX_SEGS)
			return -EINVAL;
		c->segs[c->nseg] = url_decode_path(p, (size_t)(e - p));
		if (!c->segs[c->nseg])
			return -ENOMEM;
		c->nseg++;
		p = *e ? e + 1 : e;
	}
	/* query */
	if (rest[plen] == '?') {
		const char *q = rest + plen + 1;
		size_t qlen = strcspn(q, "#");
		const char *end = q + qlen;
		while (q < end) {
			const char *amp = memchr(q, '&', (size_t)(end - q));
			if (!amp)
				amp = end;
			if (amp > q) {
				struct qparam *nq = realloc(c->q, (size_t)(c->nq + 1) * sizeof(*nq));
				if (!nq)
					return -ENOMEM;
				c->q = nq;
				const char *eq = memchr(q, '=', (size_t)(amp - q));
				struct qparam *qp = &c->q[c->nq++];
				qp->raw = strndup(q, (size_t)(amp - q));
				qp->k = url_decode(q, (size_t)((eq ? eq : amp) - q));
				qp->v = eq ? url_decode(eq + 1, (size_t)(amp - eq - 1)) : strdup("");
				if (!qp->raw || !qp->k || !qp->v)
					return -ENOMEM;
			}
			q = amp + 1;
		}
	}
	c->method = req->method ? req->method : "GET";
	c->body = req->body;
	c->body_len = req->body ? req->body_len : 0;
	c->content_type = req_header(req, "Content-Type");
	c->req = req;
	if (c->nseg >= 3 && strcmp(c->segs[0], "api") == 0)
		c->api = c->segs[2];
	else if (c->nseg >= 1)
		c->api = c->segs[0];
	else
		c->api = "";
	return 0;
}

/* ------------------------------------------------------------- counters */

static void count_inc(struct hmap *m, const char *key)
{
	long *p = hm_get(m, key);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || hm_put(m, key, p)) {
			free(p);
			return;
		}
	}
	(*p)++;
}

static void logent_free(struct logent *e)
{
	free(e->method);
	free(e->path);
	free(e->query);
	free(e->body);
	free(e->headers);
}

void counts_reset_locked(struct sim_tenant *t)
{
	hm_clear(&t->counts, free);
	hm_clear(&t->routes, free);
	t->total = 0;
	t->max_inflight = t->inflight;
	for (size_t i = 0; i < t->nlog; i++)
		logent_free(&t->log[i]);
	t->nlog = 0;
	t->log_epoch++;
}

long sim_count(struct sim_tenant *t, const char *method, const char *path_prefix)
{
	long sum = 0;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->counts.nb; i++)
		for (struct hent *e = t->counts.b[i]; e; e = e->next) {
			const char *sp = strchr(e->key, ' ');
			if (!sp)
				continue;
			if (method && (strlen(method) != (size_t)(sp - e->key) ||
				       strncasecmp(e->key, method, (size_t)(sp - e->key))))
				continue;
			if (path_prefix && strncmp(sp + 1, path_prefix, strlen(path_prefix)))
				continue;
			sum += *(long *)e->val;
		}
	pthread_mutex_unlock(&t->mu);
	return sum;
}

long sim_count_total(struct sim_tenant *t)
{
	pthread_mutex_lock(&t->mu);
	long n = t->total;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void sim_reset_counts(struct sim_tenant *t)
{
	pthread_mutex_lock(&t->mu);
	counts_reset_locked(t);
	pthread_mutex_unlock(&t->mu);
}

static void log_append(struct sim_tenant *t, struct sim_ctx *c, long long seq,
		       long long epoch, long status)
{
	if (epoch != t->log_epoch || t->nlog >= SIM_LOG_MAX)
		return;
	if (t->nlog == t->caplog) {
		size_t cap = t->caplog ? t->caplog * 2 : 256;
		struct logent *n = realloc(t->log, cap * sizeof(*n));
		if (!n)
			return;
		t->log = n;
		t->caplog = cap;
	}
	struct logent *e = &t->log[t->nlog];
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->method = strdup(c->method);
	e->path = strdup(c->raw_path);
	const char *url = c->req->url ? c->req->url : "";
	const char *q = strchr(url, '?');
	e->query = q ? strdup(q + 1) : NULL;
	if (c->body && c->body_len) {
		size_t n = c->body_len < SIM_LOG_BODY_MAX ? c->body_len : SIM_LOG_BODY_MAX;
		e->body = strndup(c->body, n);
	}
	for (size_t i = 0; i < c->req->n_headers; i++) {
		const struct http_header *h = &c->req->headers[i];
		if (!h->name || !h->value || !strcasecmp(h->name, "Authorization") ||
		    !strcasecmp(h->name, "Cookie"))
			continue;
		char *line = xasprintf("%s%s: %s\n", e->headers ? e->headers : "", h->name, h->value);
		free(e->headers);
		e->headers = line;
	}
	e->status = status;
	if (!e->method || !e->path) {
		logent_free(e);
		return;
	}
	t->nlog++;
}

/* -------------------------------------------------------------- faults */

static bool fault_take(struct sim_tenant *t, const char *key, struct fault *out)
{
	for (size_t i = 0; i < t->nfaults; i++) {
		struct fault *f = &t->faults[i];
		if (f->count <= 0)
			continue;
		if (f->match && strncmp(key, f->match, strlen(f->match)))
			continue;
		f->count--;
		*out = *f;
		out->match = NULL;
		return true;
	}
	return false;
}

static int rate_check(struct sim_tenant *t, const char *token, int tier, long long now,
		      long *retry)
{
	long limit = tier == 1 ? t->rl_tier1 : t->rl_tier2;
	if (limit <= 0)
		return 0;
	long long window = (t->rl_window_s > 0 ? t->rl_window_s : 60) * 1000LL;
	char *key = xasprintf("%s|%d", token ? token : "-", tier);
	if (!key)
		return 0;
	struct rate_state *rs = hm_get(&t->rate, key);
	if (!rs) {
		rs = calloc(1, sizeof(*rs));
		if (rs)
			rs->ts = calloc((size_t)limit, sizeof(long long));
		if (!rs || !rs->ts || hm_put(&t->rate, key, rs)) {
			if (rs)
				free(rs->ts);
			free(rs);
			free(key);
			return 0;
		}
		rs->cap = limit;
		rs->key = NULL;
	}
	free(key);
	while (rs->n && rs->ts[rs->head] <= now - window) {
		rs->head = (rs->head + 1) % rs->cap;
		rs->n--;
	}
	if (rs->n >= rs->cap) {
		long long wait = rs->ts[rs->head] + window - now;
		*retry = (long)((wait + 999) / 1000);
		if (*retry < 1)
			*retry = 1;
		return -EAGAIN;
	}
	rs->ts[(rs->head + rs->n) % rs->cap] = now;
	rs->n++;
	return 0;
}

static void rate_free(void *p)
{
	struct rate_state *rs = p;
	free(rs->ts);
	free(rs);
}

static int reply_429(struct sim_ctx *c, long retry)
{
	char buf[32], *d;
	snprintf(buf, sizeof(buf), "%ld", retry);
	add_header(c, "Retry-After", buf);
	d = xasprintf("You need to wait %ld seconds until limit is lifted.", retry);
	c->api = "";
	int rc = reply_err(c, 429, "HTTP-429", "API rate limit reached.", d);
	free(d);
	return rc;
}

/* --------------------------------------------------------------- auth */

static int authenticate(struct sim_ctx *c, const char **token_out)
{
	const char *h = req_header(c->req, "Authorization");
	*token_out = NULL;
	if (!h || strncasecmp(h, "Bearer ", 7))
		return -EACCES;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	struct keyent *k = hm_get(&c->t->keys, tok);
	if (!k || (k->kind != 0 && k->kind != 1))
		return -EACCES;
	*token_out = k->token;
	if (k->expires_ms && c->now >= k->expires_ms)
		return -EACCES;
	struct rec *u = coll_get(&c->t->users, k->user);
	if (!u)
		return -EACCES;
	const char *st = jstr(u->j, "status");
	if (st && (!strcmp(st, "disabled") || !strcmp(st, "deleted")))
		return -EACCES;
	c->caller = k->user;
	return 0;
}

/* --------------------------------------------------------------- handle */

void sim_sleep(struct sim_tenant *t, long ms)
{
	if (ms <= 0)
		return;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->sleep_mu);
	while (!t->stopping)
		if (pthread_cond_timedwait(&t->sleep_cv, &t->sleep_mu, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&t->sleep_mu);
}

void sim_wake_sleepers(struct sim_tenant *t, bool stopping)
{
	pthread_mutex_lock(&t->sleep_mu);
	t->stopping = stopping;
	pthread_cond_broadcast(&t->sleep_cv);
	pthread_mutex_unlock(&t->sleep_mu);
}

static int handle_control(struct sim_tenant *t, struct sim_ctx *c, struct http_response *resp)
{
	char *body = NULL, *out = NULL;
	if (c->body_len) {
		body = strndup(c->body, c->body_len);
		if (!body)
			return -ENOMEM;
	}
	int rc = sim_control_base(t, c->base, c->method, c->path, body, &out);
	free(body);
	c->resp = resp;
	if (rc == -ENOMEM)
		return -ENOMEM;
	if (rc) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "error", rc == -ENOENT ? "not found" : "bad request");
		free(out);
		return reply_json(c, rc == -ENOENT ? 404 : 400, e);
	}
	resp->status = 200;
	resp->body = out;
	resp->body_len = out ? strlen(out) : 0;
	return http_response_add_header(resp, "Content-Type", "application/json; charset=utf-8");
}

int sim_handle(struct sim_tenant *t, const struct http_request *req, struct http_response *resp)
{
	struct sim_ctx c = { 0 };
	int rc;
	memset(resp, 0, sizeof(*resp));
	c.t = t;
	c.resp = resp;
	rc = ctx_parse(&c, req);
	if (rc == -ENOMEM) {
		ctx_clear(&c);
		return -ENOMEM;
	}
	if (rc) {
		pthread_mutex_lock(&t->mu);
		reply_err(&c, 400, NULL, "Bad request", "malformed URL");
		pthread_mutex_unlock(&t->mu);
		ctx_clear(&c);
		return 0;
	}
	if (c.nseg >= 1 && strcmp(c.segs[0], "_sim") == 0) {
		rc = handle_control(t, &c, resp);
		ctx_clear(&c);
		return rc;
	}
	bool counted = c.nseg >= 1 && (!strcmp(c.segs[0], "api") || !strcmp(c.segs[0], "oauth"));
	long nf_status = 0;
	const struct route *rt = route_find(&c, &nf_status);
	char *rkey = xasprintf("%s %s", c.method, rt ? rt->pat : c.path);
	char *pkey = xasprintf("%s %s", c.method, c.path);
	struct fault f;
	bool faulted = false;
	long long seq, epoch;
	long latency;

	pthread_mutex_lock(&t->mu);
	seq = ++t->seq;
	epoch = t->log_epoch;
	bool tracked = counted && rkey && pkey;
	if (tracked) {
		t->total++;
		if (++t->inflight > t->max_inflight)
			t->max_inflight = t->inflight;
		count_inc(&t->routes, rkey);
		count_inc(&t->counts, pkey);
		faulted = fault_take(t, pkey, &f);
	}
	latency = counted ? t->latency_ms : 0;
	pthread_mutex_unlock(&t->mu);
	free(rkey);
	free(pkey);

	sim_sleep(t, latency);
	if (faulted && f.mode == 1) {
		pthread_mutex_lock(&t->mu);
		t->inflight--;
		log_append(t, &c, seq, epoch, 0);
		pthread_mutex_unlock(&t->mu);
		ctx_clear(&c);
		return -ECONNRESET;
	}
	if (faulted && f.mode == 2) {
		if (req->timeout_ms > 0 && f.stall_ms >= req->timeout_ms) {
			sim_sleep(t, req->timeout_ms);
			pthread_mutex_lock(&t->mu);
			t->inflight--;
			log_append(t, &c, seq, epoch, 0);
			pthread_mutex_unlock(&t->mu);
			ctx_clear(&c);
			return -ETIMEDOUT;
		}
		sim_sleep(t, f.stall_ms);
		faulted = false;
	}

	pthread_mutex_lock(&t->mu);
	c.now = sim_now(t);
	reloads_settle(t, c.now); /* reloads that ended by now show it everywhere */
	if (faulted) {
		if (f.status == 429)
			rc = reply_429(&c, f.retry_after > 0 ? f.retry_after : 1);
		else
			rc = reply_err(&c, f.status, NULL, NULL, "injected fault");
	} else if (!rt) {
		rc = reply_err(&c, nf_status, NULL, NULL,
			       nf_status == 404 ? "no such route" : "method not allowed");
	} else {
		const char *tok = NULL;
		long retry = 0;
		if (!rt->noauth && authenticate(&c, &tok)) {
			rc = reply_err(&c, 401, NULL, "Unauthorized",
				       "missing, invalid or expired credentials");
		} else if (rate_check(t, rt->noauth ? "anonymous" : tok,
				      strcmp(c.method, "GET") ? 2 : 1, c.now, &retry)) {
			rc = reply_429(&c, retry);
		} else {
			c.token = tok;
			rc = rt->h(&c);
		}
	}
	if (rc) {
		http_response_clear(resp);
		c.resp = resp;
		reply_err(&c, 500, NULL, NULL, strerror(-rc));
	}
	/* Like every HTTP server, the tenant dates its answers with its own
	 * (possibly skewed or shifted) clock, at the time it built them. */
	char date[40];
	fmt_http_date(date, sizeof(date), c.now);
	http_response_add_header(resp, "Date", date);
	log_append(t, &c, seq, epoch, resp->status);
	if (tracked)
		t->inflight--;
	pthread_mutex_unlock(&t->mu);
	ctx_clear(&c);
	return 0;
}

/* ------------------------------------------------------------ lifetime */

void key_free(void *p)
{
	struct keyent *k = p;
	if (!k)
		return;
	free(k->token);
	free(k->user);
	free(k->scope);
	free(k->client_id);
	free(k->redirect_uri);
	free(k->challenge);
	free(k);
}

struct keyent *key_add(struct sim_tenant *t, const char *token, const char *user,
		       long long expires_ms, int kind)
{
	struct keyent *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->token = strdup(token);
	k->user = strdup(user ? user : "");
	k->expires_ms = expires_ms;
	k->kind = kind;
	if (!k->token || !k->user) {
		key_free(k);
		return NULL;
	}
	key_free(hm_del(&t->keys, token));
	if (hm_put(&t->keys, token, k)) {
		key_free(k);
		return NULL;
	}
	return k;
}

struct sim_tenant *sim_new(const struct sim_config *cfg)
{
	struct sim_tenant *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (cfg)
		t->cfg = *cfg;
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->sleep_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->sleep_cv, &ca);
	pthread_condattr_destroy(&ca);
	t->admin_key = strdup(t->cfg.api_key ? t->cfg.api_key : "sim-admin-key");
	t->cfg.api_key = t->admin_key;
	t->rng = ((uint64_t)t->cfg.seed + 1) * 0x9E3779B97F4A7C15ull;
	if (!t->rng)
		t->rng = 88172645463325252ull;
	for (int i = 0; i < 8; i++)
		rng_next(t);
	snprintf(t->oid_mid, sizeof(t->oid_mid), "%010llx",
		 (unsigned long long)(rng_next(t) & 0xffffffffffull));
	t->oid_counter = (uint32_t)rng_range(t, 0x100000);
	t->latency_ms = t->cfg.latency_ms;
	t->clock_skew_ms = t->cfg.clock_skew_ms;
	t->report_delay_ms = 1000;
	t->reload_delay_ms = 1000;
	t->token_ttl_s = 21600;
	t->oauth_clients = cJSON_CreateArray();
	t->oauth_issued = cJSON_CreateObject();
	if (t->oauth_issued && (!cJSON_AddArrayToObject(t->oauth_issued, "access") ||
				!cJSON_AddArrayToObject(t->oauth_issued, "refresh") ||
				!cJSON_AddArrayToObject(t->oauth_issued, "code"))) {
		cJSON_Delete(t->oauth_issued);
		t->oauth_issued = NULL;
	}
	char tid[33];
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	for (int i = 0; i < 32; i++)
		tid[i] = alpha[rng_range(t, 64)];
	tid[32] = 0;
	t->tenant_id = strdup(tid);
	if (!t->admin_key || !t->tenant_id || !t->oauth_clients || !t->oauth_issued) {
		sim_free(t);
		return NULL;
	}
	pthread_mutex_lock(&t->mu);
	int rc = sim_seed(t);
	pthread_mutex_unlock(&t->mu);
	if (rc) {
		sim_free(t);
		return NULL;
	}
	return t;
}

void sim_free(struct sim_tenant *t)
{
	if (!t)
		return;
	coll_clear(&t->spaces);
	coll_clear(&t->apps);
	coll_clear(&t->items);
	coll_clear(&t->users);
	coll_clear(&t->files);
	coll_clear(&t->stores);
	coll_clear(&t->assets);
	coll_clear(&t->sets);
	coll_clear(&t->temps);
	coll_clear(&t->reports);
	scripts_free_all(t);
	hm_clear(&t->item_by_res, NULL);
	hm_clear(&t->keys, key_free);
	hm_clear(&t->rate, rate_free);
	counts_reset_locked(t);
	free(t->log);
	for (size_t i = 0; i < t->nfaults; i++)
		free(t->faults[i].match);
	free(t->faults);
	cJSON_Delete(t->oauth_clients);
	cJSON_Delete(t->oauth_issued);
	free(t->me);
	free(t->tenant_id);
	free(t->admin_key);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->sleep_mu);
	pthread_cond_destroy(&t->sleep_cv);
	free(t);
}
