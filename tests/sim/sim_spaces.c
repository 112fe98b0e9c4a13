/*
 * sim_spaces.c - /api/v1/spaces: list (cursor paging, meta.count), get,
 * create, PATCH/PUT updates, delete with the 412 "not empty" rule.
 *
 * Invariants: space names are unique tenant-wide (case-insensitive); every
 * shared/managed space owns one DataFiles connection id (rec->aux).
 * Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const shared_roles[] = { "codeveloper", "consumer", "dataconsumer",
					    "facilitator", "producer" };
static const char *const managed_roles[] = { "consumer", "contributor", "dataconsumer",
					     "facilitator", "publisher", "basicconsumer" };
static const char *const data_roles[] = { "consumer", "dataconsumer", "datapreview", "facilitator",
					  "operator", "producer", "publisher" };
static const char *const space_actions[] = { "change_owner", "create", "read", "update", "delete",
					     "publish" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

cJSON *render_space(struct sim_ctx *c, struct rec *r)
{
	cJSON *o = cJSON_Duplicate(r->j, 1);
	if (!o)
		return NULL;
	const char *type = jstr(r->j, "type");
	cJSON *meta = cJSON_AddObjectToObject(o, "meta");
	cJSON_AddItemToObject(meta, "actions", jstrarr(space_actions, NELEM(space_actions)));
	cJSON_AddArrayToObject(meta, "roles");
	if (type && !strcmp(type, "managed"))
		cJSON_AddItemToObject(meta, "assignableRoles",
				      jstrarr(managed_roles, NELEM(managed_roles)));
	else if (type && !strcmp(type, "data"))
		cJSON_AddItemToObject(meta, "assignableRoles", jstrarr(data_roles, NELEM(data_roles)));
	else
		cJSON_AddItemToObject(meta, "assignableRoles",
				      jstrarr(shared_roles, NELEM(shared_roles)));
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	char *h = abs_url(c->base, "/api/v1/spaces/%s", r->id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(links, "self"), "href", h ? h : "");
	free(h);
	h = abs_url(c->base, "/api/v1/spaces/%s/assignments", r->id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(links, "assignments"), "href", h ? h : "");
	free(h);
	return o;
}

struct rec *space_new(struct sim_tenant *t, const char *name, const char *type, const char *desc,
		      const char *owner, long long created)
{
	char id[25], ts[40];
	gen_oid(t, created, id);
	fmt_ms(ts, sizeof(ts), created);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "description", desc ? desc : "");
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "ownerId", owner);
	cJSON_AddStringToObject(o, "tenantId", t->tenant_id);
	cJSON_AddStringToObject(o, "createdAt", ts);
	cJSON_AddStringToObject(o, "createdBy", owner);
	cJSON_AddStringToObject(o, "updatedAt", ts);
	struct rec *r = rec_new(id, o);
	if (!r) {
		cJSON_Delete(o);
		return NULL;
	}
	if (strcmp(type, "data")) {
		char u[37];
		gen_uuid(t, u);
		r->aux = strdup(u);
	}
	if (coll_add(&t->spaces, r)) {
		rec_free(r);
		return NULL;
	}
	return r;
}

struct rec *space_by_conn(struct sim_tenant *t, const char *conn_id)
{
	for (size_t i = 0; conn_id && i < t->spaces.n; i++)
		if (t->spaces.v[i]->aux && !strcmp(t->spaces.v[i]->aux, conn_id))
			return t->spaces.v[i];
	return NULL;
}

static bool name_ok(const char *n)
{
	if (!n || !*n || strlen(n) > 256)
		return false;
	return strcspn(n, "\"*?<>/|\\:") == strlen(n);
}

static struct rec *space_by_name(struct sim_tenant *t, const char *name)
{
	for (size_t i = 0; i < t->spaces.n; i++) {
		const char *n = jstr(t->spaces.v[i]->j, "name");
		if (n && !strcasecmp(n, name))
			return t->spaces.v[i];
	}
	return NULL;
}

int h_spaces_list(struct sim_ctx *c)
{
	static const char *const allowed[] = { "name", "name", "createdAt", "createdAt",
					       "type", "type", NULL };
	struct sortspec s;
	long limit;
	if (q_limit(c, "limit", 10, 1, 100, &limit))
		return 0;
	const char *sort = q_get(c, "sort");
	if (sort_parse(&s, sort && *sort ? sort : "+name", allowed))
		return reply_err(c, 400, NULL, "Bad request", "invalid sort");
	const char *name = q_get(c, "name"), *type = q_get(c, "type"), *owner = q_get(c, "ownerId");
	struct rec **v = malloc((c->t->spaces.n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < c->t->spaces.n; i++) {
		struct rec *r = c->t->spaces.v[i];
		if (name && *name && !strcasestr_utf8(jstr(r->j, "name"), name))
			continue;
		if (type && *type && !sim_csv_has(type, jstr(r->j, "type")))
			continue;
		if (owner && *owner && strcmp(owner, jstr(r->j, "ownerId")))
			continue;
		v[n++] = r;
	}
	cJSON *out = cJSON_CreateObject();
	int rc = page_cursor(c, v, n, &s, limit, "next", "prev", 0, render_space, out, NULL);
	free(v);
	if (rc || c->resp->status) {
		cJSON_Delete(out);
		return rc;
	}
	cJSON *meta = cJSON_AddObjectToObject(out, "meta");
	cJSON_AddNumberToObject(meta, "count", (double)n);
	cJSON *ps = cJSON_AddObjectToObject(meta, "personalSpace");
	static const char *const pa[] = { "create", "read" };
	cJSON_AddItemToObject(ps, "actions", jstrarr(pa, 2));
	cJSON_AddStringToObject(ps, "resourceType", "space");
	return reply_json(c, 200, out);
}

int h_spaces_types(struct sim_ctx *c)
{
	static const char *const types[] = { "shared", "managed", "data" };
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "data", jstrarr(types, 3));
	return reply_json(c, 200, o);
}

int h_spaces_create(struct sim_ctx *c)
{
	cJSON *b = parse_body(c);
	const char *name = jstr(b, "name"), *type = jstr(b, "type"), *desc = jstr(b, "description");
	int rc;
	if (!b || !cJSON_IsObject(b))
		rc = reply_err(c, 400, NULL, "Bad request", "body must be a JSON object");
	else if (!name_ok(name))
		rc = reply_err(c, 400, NULL, "Invalid space name",
			       "name is required, at most 256 characters, no \"*?<>/|\\:");
	else if (!type || (strcmp(type, "shared") && strcmp(type, "managed") && strcmp(type, "data")))
		rc = reply_err(c, 400, NULL, "Invalid space type",
			       "type must be shared, managed or data");
	else if (space_by_name(c->t, name))
		rc = reply_err(c, 409, NULL, "Conflict", "a space with that name already exists");
	else {
		struct rec *r = space_new(c->t, name, type, desc, c->caller, c->now);
		rc = r ? reply_json(c, 201, render_space(c, r)) : -ENOMEM;
	}
	cJSON_Delete(b);
	return rc;
}

static struct rec *space_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->spaces, c->ids[0]);
	if (!r)
		reply_err(c, 404, NULL, "Not found", "space not found or access denied");
	return r;
}

int h_space_get(struct sim_ctx *c)
{
	struct rec *r = space_or_404(c);
	return r ? reply_json(c, 200, render_space(c, r)) : 0;
}

int h_space_assignments(struct sim_ctx *c)
{
	if (!space_or_404(c))
		return 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddArrayToObject(o, "data");
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	char *h = self_link(c);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(links, "self"), "href", h ? h : "");
	free(h);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "meta"), "count", 0);
	return reply_json(c, 200, o);
}

/* Validates and applies one field change; returns 0 or replies and returns 1. */
static int space_set(struct sim_ctx *c, struct rec *r, const char *field, const cJSON *val)
{
	if (!cJSON_IsString(val))
		return reply_err(c, 400, NULL, "Bad request", "value must be a string"), 1;
	const char *v = val->valuestring;
	if (!strcmp(field, "name")) {
		if (!name_ok(v))
			return reply_err(c, 400, NULL, "Invalid space name", "bad name"), 1;
		struct rec *o = space_by_name(c->t, v);
		if (o && o != r)
			return reply_err(c, 409, NULL, "Conflict", "space name exists"), 1;
	} else if (!strcmp(field, "ownerId")) {
		if (!coll_get(&c->t->users, v))
			return reply_err(c, 400, NULL, "Bad request", "unknown ownerId"), 1;
	}
	jset_str(r->j, field, v);
	return 0;
}

static void touch(struct sim_ctx *c, struct rec *r)
{
	char ts[40];
	fmt_ms(ts, sizeof(ts), c->now);
	jset_str(r->j, "updatedAt", ts);
}

int h_space_patch(struct sim_ctx *c)
{
	struct rec *r = space_or_404(c);
	if (!r)
		return 0;
	cJSON *b = parse_body(c), *op;
	if (!cJSON_IsArray(b)) {
		cJSON_Delete(b);
		return reply_err(c, 400, NULL, "Bad request", "body must be a JSON patch array");
	}
	/* validate all first, then apply on a copy so failures leave no trace */
	cJSON *saved = cJSON_Duplicate(r->j, 1);
	cJSON_ArrayForEach(op, b)
	{
		const char *o = jstr(op, "op"), *p = jstr(op, "path");
		if (!o || strcmp(o, "replace") || !p ||
		    (strcmp(p, "/name") && strcmp(p, "/description") && strcmp(p, "/ownerId"))) {
			cJSON_Delete(r->j);
			r->j = saved;
			cJSON_Delete(b);
			return reply_err(c, 400, NULL, "Bad request",
					 "only replace on /name, /description, /ownerId");
		}
		if (space_set(c, r, p + 1, cJSON_GetObjectItemCaseSensitive(op, "value"))) {
			cJSON_Delete(r->j);
			r->j = saved;
			cJSON_Delete(b);
			return 0;
		}
	}
	cJSON_Delete(saved);
	cJSON_Delete(b);
	touch(c, r);
	return reply_json(c, 200, render_space(c, r));
}

int h_space_put(struct sim_ctx *c)
{
	struct rec *r = space_or_404(c);
	if (!r)
		return 0;
	cJSON *b = parse_body(c);
	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		return reply_err(c, 400, NULL, "Bad request", "body must be a JSON object");
	}
	cJSON *saved = cJSON_Duplicate(r->j, 1);
	static const char *const f[] = { "name", "description", "ownerId" };
	for (size_t i = 0; i < 3; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(b, f[i]);
		if (v && space_set(c, r, f[i], v)) {
			cJSON_Delete(r->j);
			r->j = saved;
			cJSON_Delete(b);
			return 0;
		}
	}
	cJSON_Delete(saved);
	cJSON_Delete(b);
	touch(c, r);
	return reply_json(c, 200, render_space(c, r));
}

static bool refs_space(const struct coll *cl, const char *sid)
{
	for (size_t i = 0; i < cl->n; i++) {
		const char *s = jstr(cl->v[i]->j, "spaceId");
		if (!s) {
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(cl->v[i]->j, "attributes");
			s = jstr(a, "spaceId");
		}
		if (s && !strcmp(s, sid))
			return true;
	}
	return false;
}

int h_space_delete(struct sim_ctx *c)
{
	struct rec *r = space_or_404(c);
	if (!r)
		return 0;
	struct sim_tenant *t = c->t;
	if (refs_space(&t->apps, r->id) || refs_space(&t->files, r->id) ||
	    refs_space(&t->stores, r->id) || refs_space(&t->assets, r->id) ||
	    refs_space(&t->sets, r->id))
		return reply_err(c, 412, NULL, "Precondition Failed",
				 "the space is not empty; delete or move its content first");
	rec_free(coll_remove(&t->spaces, r->id));
	return reply_empty(c, 204);
}
