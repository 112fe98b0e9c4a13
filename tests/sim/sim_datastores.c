/*
 * sim_datastores.c - /api/v1/data-stores, /data-assets, /data-sets: offset
 * paged nested listings, get/put/patch (RFC 6902) with optimistic `version`,
 * create, batch and nested deletes.
 *
 * Invariants: version starts at 1 and increments on every successful PUT/PATCH;
 * a stale version in a PUT body (or a PATCH that changes /version, or a failing
 * "test" op) is 409.  Assets refer to their store via dataStoreInfo{id,name,
 * type}, sets via dataAssetInfo{id,name,dataStoreInfo}; renames propagate to
 * these copies.  A store with assets cannot be deleted (409); deleting assets
 * cascades to their sets.  Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STORE, K_ASSET, K_SET };

static struct coll *kcoll(struct sim_tenant *t, enum kind k)
{
	return k == K_STORE ? &t->stores : k == K_ASSET ? &t->assets : &t->sets;
}

static const char *const ro_fields[] = { "id", "tenantId", "createdBy", "createdTime",
					 "lastModifiedBy", "lastModifiedTime", "version" };

static const char *const ds_sort[] = {
	"name", "name", "createdTime", "createdTime", "lastModifiedTime", "lastModifiedTime",
	"type", "type", "technicalName", "technicalName", "id", "id", "version", "version",
	"spaceId", "spaceId", "appType", "appType", NULL
};

/* --------------------------------------------------------- json patch */

static char *ptr_token(const char **p)
{
	if (**p != '/')
		return NULL;
	(*p)++;
	const char *e = strchrnul(*p, '/');
	char *tok = malloc((size_t)(e - *p) + 1), *o = tok;
	if (!tok)
		return NULL;
	for (const char *s = *p; s < e; s++) {
		if (*s == '~' && s + 1 < e && (s[1] == '0' || s[1] == '1')) {
			*o++ = s[1] == '0' ? '~' : '/';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	*p = e;
	return tok;
}

/* Resolves the parent of path; *last = final token (malloc'd). */
static cJSON *ptr_parent(cJSON *doc, const char *path, char **last)
{
	const char *p = path;
	cJSON *cur = doc;
	*last = NULL;
	if (!*p)
		return NULL;
	for (;;) {
		char *tok = ptr_token(&p);
		if (!tok)
			return NULL;
		if (!*p) {
			*last = tok;
			return cur;
		}
		cJSON *nx = NULL;
		if (cJSON_IsObject(cur)) {
			nx = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else if (cJSON_IsArray(cur)) {
			char *end;
			long i = strtol(tok, &end, 10);
			if (*tok && !*end && i >= 0)
				nx = cJSON_GetArrayItem(cur, (int)i);
		}
		free(tok);
		if (!nx)
			return NULL;
		cur = nx;
	}
}

static cJSON *ptr_get(cJSON *doc, const char *path)
{
	char *last;
	cJSON *par = ptr_parent(doc, path, &last), *v = NULL;
	if (!par) {
		free(last);
		return *path ? NULL : doc;
	}
	if (cJSON_IsObject(par)) {
		v = cJSON_GetObjectItemCaseSensitive(par, last);
	} else if (cJSON_IsArray(par)) {
		char *end;
		long i = strtol(last, &end, 10);
		if (*last && !*end && i >= 0)
			v = cJSON_GetArrayItem(par, (int)i);
	}
	free(last);
	return v;
}

static int ptr_remove(cJSON *doc, const char *path, cJSON **out)
{
	char *last;
	cJSON *par = ptr_parent(doc, path, &last);
	int rc = -1;
	if (par && cJSON_IsObject(par) && cJSON_GetObjectItemCaseSensitive(par, last)) {
		cJSON *d = cJSON_DetachItemFromObjectCaseSensitive(par, last);
		if (out)
			*out = d;
		else
			cJSON_Delete(d);
		rc = 0;
	} else if (par && cJSON_IsArray(par)) {
		char *end;
		long i = strtol(last, &end, 10);
		if (*last && !*end && i >= 0 && i < cJSON_GetArraySize(par)) {
			cJSON *d = cJSON_DetachItemFromArray(par, (int)i);
			if (out)
				*out = d;
			else
				cJSON_Delete(d);
			rc = 0;
		}
	}
	free(last);
	return rc;
}

/* Takes v in all cases. */
static int ptr_add(cJSON *doc, const char *path, cJSON *v, bool must_exist)
{
	char *last;
	cJSON *par = ptr_parent(doc, path, &last);
	int rc = -1;
	if (par && cJSON_IsObject(par)) {
		bool exists = cJSON_GetObjectItemCaseSensitive(par, last) != NULL;
		if (!must_exist || exists) {
			jset(par, last, v);
			v = NULL;
			rc = 0;
		}
	} else if (par && cJSON_IsArray(par)) {
		int n = cJSON_GetArraySize(par);
		char *end;
		long i = strcmp(last, "-") ? strtol(last, &end, 10) : n;
		bool ok = !strcmp(last, "-") || (*last && !*end);
		if (ok && must_exist && i >= 0 && i < n) {
			cJSON_ReplaceItemInArray(par, (int)i, v);
			v = NULL;
			rc = 0;
		} else if (ok && !must_exist && i >= 0 && i <= n) {
			if (i == n)
				cJSON_AddItemToArray(par, v);
			else
				cJSON_InsertItemInArray(par, (int)i, v);
			v = NULL;
			rc = 0;
		}
	}
	cJSON_Delete(v);
	free(last);
	return rc;
}

int json_patch_apply(cJSON *doc, const cJSON *ops, int *status)
{
	const cJSON *op;
	*status = 400;
	if (!cJSON_IsArray(ops))
		return -1;
	cJSON_ArrayForEach(op, ops)
	{
		const char *o = jstr(op, "op"), *path = jstr(op, "path"), *from = jstr(op, "from");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(op, "value");
		if (!o || !path || !*path)
			return -1;
		if (!strcmp(o, "add") || !strcmp(o, "replace")) {
			if (!val || ptr_add(doc, path, cJSON_Duplicate(val, 1), !strcmp(o, "replace")))
				return -1;
		} else if (!strcmp(o, "remove")) {
			if (ptr_remove(doc, path, NULL))
				return -1;
		} else if (!strcmp(o, "test")) {
			cJSON *cur = ptr_get(doc, path);
			if (!val)
				return -1;
			if (!cur || !cJSON_Compare(cur, val, 1)) {
				*status = 409;
				return -1;
			}
		} else if (!strcmp(o, "move") || !strcmp(o, "copy")) {
			cJSON *v = NULL;
			if (!from)
				return -1;
			if (!strcmp(o, "move")) {
				if (ptr_remove(doc, from, &v))
					return -1;
			} else {
				cJSON *src = ptr_get(doc, from);
				if (!src)
					return -1;
				v = cJSON_Duplicate(src, 1);
			}
			if (ptr_add(doc, path, v, false))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- model */

cJSON *render_plain(struct sim_ctx *c, struct rec *r)
{
	cJSON *o = cJSON_Duplicate(r->j, 1);
	const char *proj = c ? q_get(c, "projections") : NULL;
	if (!o || !proj || !*proj)
		return o;
	cJSON *out = cJSON_CreateObject(), *e;
	cJSON_ArrayForEach(e, o)
	{
		size_t l = strlen(e->string);
		const char *p = proj;
		bool keep = false;
		while (*p && !keep) {
			const char *x = strchrnul(p, ',');
			keep = (size_t)(x - p) == l && !strncmp(p, e->string, l);
			p = *x ? x + 1 : x;
		}
		if (keep)
			cJSON_AddItemToObject(out, e->string, cJSON_Duplicate(e, 1));
	}
	cJSON_Delete(o);
	return out;
}

static void stamp(struct sim_tenant *t, cJSON *o, const char *id, const char *user,
		  long long created, long long modified, double version)
{
	char ts[40];
	jset_str(o, "id", id);
	jset_str(o, "tenantId", t->tenant_id);
	jset_str(o, "createdBy", user);
	fmt_ms(ts, sizeof(ts), created);
	jset_str(o, "createdTime", ts);
	jset_str(o, "lastModifiedBy", user);
	fmt_ms(ts, sizeof(ts), modified);
	jset_str(o, "lastModifiedTime", ts);
	jset_num(o, "version", version);
}

static cJSON *store_info(struct rec *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", s->id);
	cJSON_AddStringToObject(o, "name", jstr(s->j, "name") ? jstr(s->j, "name") : "");
	cJSON_AddStringToObject(o, "type", jstr(s->j, "type") ? jstr(s->j, "type") : "");
	return o;
}

static cJSON *asset_info(struct sim_tenant *t, struct rec *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", a->id);
	cJSON_AddStringToObject(o, "name", jstr(a->j, "name") ? jstr(a->j, "name") : "");
	const char *sid = jstr(cJSON_GetObjectItemCaseSensitive(a->j, "dataStoreInfo"), "id");
	struct rec *s = coll_get(&t->stores, sid);
	if (s)
		cJSON_AddItemToObject(o, "dataStoreInfo", store_info(s));
	return o;
}

static const char *store_of_asset(const struct rec *a)
{
	return jstr(cJSON_GetObjectItemCaseSensitive(a->j, "dataStoreInfo"), "id");
}

static const char *asset_of_set(const struct rec *s)
{
	return jstr(cJSON_GetObjectItemCaseSensitive(s->j, "dataAssetInfo"), "id");
}

/* Re-derives dataStoreInfo / dataAssetInfo copies after a rename. */
static void propagate(struct sim_tenant *t)
{
	for (size_t i = 0; i < t->assets.n; i++) {
		struct rec *a = t->assets.v[i];
		struct rec *s = coll_get(&t->stores, store_of_asset(a));
		if (s)
			jset(a->j, "dataStoreInfo", store_info(s));
	}
	for (size_t i = 0; i < t->sets.n; i++) {
		struct rec *d = t->sets.v[i];
		struct rec *a = coll_get(&t->assets, asset_of_set(d));
		if (a)
			jset(d->j, "dataAssetInfo", asset_info(t, a));
	}
}

static struct rec *add_rec(struct sim_tenant *t, enum kind k, cJSON *o, long long created,
			   const char *user)
{
	char id[25];
	gen_oid(t, created, id);
	stamp(t, o, id, user, created, created, 1);
	if (!cJSON_GetObjectItemCaseSensitive(o, "ownerId"))
		jset_str(o, "ownerId", user);
	if (!cJSON_GetObjectItemCaseSensitive(o, "tags"))
		cJSON_AddArrayToObject(o, "tags");
	if (!cJSON_GetObjectItemCaseSensitive(o, "properties"))
		cJSON_AddObjectToObject(o, "properties");
	struct rec *r = rec_new(id, o);
	if (!r) {
		cJSON_Delete(o);
		return NULL;
	}
	if (coll_add(kcoll(t, k), r)) {
		rec_free(r);
		return NULL;
	}
	return r;
}

struct rec *store_new(struct sim_tenant *t, const char *name, const char *type, const char *space,
		      const char *owner, long long created)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "technicalName", name);
	cJSON_AddStringToObject(o, "description", "");
	cJSON_AddStringToObject(o, "technicalDescription", "");
	cJSON_AddStringToObject(o, "uri", "");
	if (space)
		cJSON_AddStringToObject(o, "spaceId", space);
	cJSON_AddStringToObject(o, "ownerId", owner);
	return add_rec(t, K_STORE, o, created, owner);
}

struct rec *asset_new(struct sim_tenant *t, struct rec *store, const char *name,
		      long long created)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "technicalName", name);
	cJSON_AddStringToObject(o, "appType", "QIX-DF");
	cJSON_AddItemToObject(o, "dataStoreInfo", store_info(store));
	cJSON_AddStringToObject(o, "description", "");
	cJSON_AddStringToObject(o, "technicalDescription", "");
	char ts[40];
	fmt_ms(ts, sizeof(ts), created);
	cJSON_AddStringToObject(o, "dataFreshness", ts);
	if (jstr(store->j, "spaceId"))
		cJSON_AddStringToObject(o, "spaceId", jstr(store->j, "spaceId"));
	cJSON_AddStringToObject(o, "ownerId", jstr(store->j, "ownerId"));
	return add_rec(t, K_ASSET, o, created, jstr(store->j, "ownerId"));
}

struct rec *dset_new(struct sim_tenant *t, struct rec *asset, const char *name,
		     long long created)
{
	cJSON *o = cJSON_CreateObject();
	const char *sp = jstr(asset->j, "spaceId"), *owner = jstr(asset->j, "ownerId");
	const char *stype = jstr(cJSON_GetObjectItemCaseSensitive(asset->j, "dataStoreInfo"), "type");
	char *qri = sp ? xasprintf("qdf:%s:%s:sid@%s:%s", stype, t->tenant_id, sp, name)
		       : xasprintf("qdf:%s:%s:uid@%s:%s", stype, t->tenant_id, owner, name);
	char *sq = xasprintf("qri:qdf:space://%016llx#%016llx", (unsigned long long)rng_next(t),
			     (unsigned long long)rng_next(t));
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "description", "");
	cJSON_AddStringToObject(o, "technicalName", name);
	cJSON_AddStringToObject(o, "type", "DELIMETED");
	cJSON_AddStringToObject(o, "qri", qri ? qri : "qdf:unknown");
	cJSON_AddStringToObject(o, "secureQri", sq ? sq : "");
	free(qri);
	free(sq);
	cJSON_AddItemToObject(o, "dataAssetInfo", asset_info(t, asset));
	if (sp)
		cJSON_AddStringToObject(o, "spaceId", sp);
	cJSON_AddStringToObject(o, "ownerId", owner);
	cJSON *schema = cJSON_AddObjectToObject(o, "schema");
	cJSON *df = cJSON_AddArrayToObject(schema, "dataFields");
	static const char *const fn[] = { "Id", "Date", "Amount", "Region" };
	static const char *const ft[] = { "INTEGER", "DATE", "DOUBLE", "STRING" };
	for (int i = 0; i < 4; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "name", fn[i]);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(f, "dataType"), "type", ft[i]);
		cJSON_AddNumberToObject(f, "index", i);
		cJSON_AddBoolToObject(f, "nullable", i != 0);
		cJSON_AddBoolToObject(f, "primaryKey", i == 0);
		cJSON_AddItemToArray(df, f);
	}
	cJSON_AddStringToObject(schema, "schemaName", name);
	cJSON_AddObjectToObject(schema, "loadOptions");
	char ts[40];
	fmt_ms(ts, sizeof(ts), created);
	cJSON_AddStringToObject(schema, "effectiveDate", ts);
	cJSON *op = cJSON_AddObjectToObject(o, "operational");
	cJSON_AddNumberToObject(op, "size", 1024 + (double)(created % 100000));
	cJSON_AddNumberToObject(op, "rowCount", 10 + (double)(created % 5000));
	cJSON_AddStringToObject(op, "status", "ACTIVE");
	cJSON_AddStringToObject(op, "lastLoadTime", ts);
	cJSON_AddStringToObject(op, "lastUpdateTime", ts);
	return add_rec(t, K_SET, o, created, owner);
}

/* -------------------------------------------------------- validation */

/* Checks required fields / references of body for kind k; replies and returns 1 on error. */
static int validate(struct sim_ctx *c, enum kind k, cJSON *b)
{
	if (!cJSON_IsObject(b))
		return reply_err(c, 400, NULL, "Bad request", "body must be a JSON object"), 1;
	const char *tn = jstr(b, "technicalName");
	if (k == K_STORE) {
		const char *ty = jstr(b, "type");
		if (!ty || !*ty || strlen(ty) > 64 || !tn || !*tn)
			return reply_err(c, 400, NULL, "Bad request",
					 "type and technicalName are required"), 1;
		return 0;
	}
	if (k == K_ASSET) {
		const char *sid = jstr(cJSON_GetObjectItemCaseSensitive(b, "dataStoreInfo"), "id");
		if (!tn || !*tn || !jstr(b, "appType") || !sid)
			return reply_err(c, 400, NULL, "Bad request",
					 "technicalName, appType and dataStoreInfo.id are required"),
			       1;
		struct rec *s = coll_get(&c->t->stores, sid);
		if (!s)
			return reply_err(c, 404, NULL, "Not found", "data store not found"), 1;
		jset(b, "dataStoreInfo", store_info(s));
		return 0;
	}
	const char *aid = jstr(cJSON_GetObjectItemCaseSensitive(b, "dataAssetInfo"), "id");
	const char *qri = jstr(b, "qri");
	if (!tn || !*tn || !aid || !qri || strlen(qri) < 8)
		return reply_err(c, 400, NULL, "Bad request",
				 "technicalName, qri and dataAssetInfo.id are required"), 1;
	struct rec *a = coll_get(&c->t->assets, aid);
	if (!a)
		return reply_err(c, 404, NULL, "Not found", "data asset not found"), 1;
	jset(b, "dataAssetInfo", asset_info(c->t, a));
	return 0;
}

/* ---------------------------------------------------------- generic */

static int g_create(struct sim_ctx *c, enum kind k)
{
	cJSON *b = parse_body(c);
	if (validate(c, k, b)) {
		cJSON_Delete(b);
		return 0;
	}
	for (size_t i = 0; i < sizeof(ro_fields) / sizeof(ro_fields[0]); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(b, ro_fields[i]);
	struct rec *r = add_rec(c->t, k, b, c->now, c->caller);
	return r ? reply_json(c, 201, render_plain(c, r)) : -ENOMEM;
}

static struct rec *g_or_404(struct sim_ctx *c, enum kind k)
{
	struct rec *r = coll_get(kcoll(c->t, k), c->ids[0]);
	if (!r)
		reply_err(c, 404, NULL, "Not found",
			  k == K_STORE ? "data store not found"
			  : k == K_ASSET ? "data asset not found" : "data set not found");
	return r;
}

static int g_get(struct sim_ctx *c, enum kind k)
{
	struct rec *r = g_or_404(c, k);
	return r ? reply_json(c, 200, render_plain(c, r)) : 0;
}

/* Installs updated document nj (taken) into r: keeps ro fields, bumps version. */
static void install(struct sim_ctx *c, struct rec *r, cJSON *nj)
{
	static const char *const keep[] = { "id", "tenantId", "createdBy", "createdTime" };
	for (size_t i = 0; i < 4; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(r->j, keep[i]);
		if (v)
			jset(nj, keep[i], cJSON_Duplicate(v, 1));
	}
	double ver = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r->j, "version"));
	char ts[40];
	fmt_ms(ts, sizeof(ts), c->now);
	jset_str(nj, "lastModifiedBy", c->caller);
	jset_str(nj, "lastModifiedTime", ts);
	jset_num(nj, "version", ver + 1);
	if (!cJSON_GetObjectItemCaseSensitive(nj, "ownerId"))
		jset(nj, "ownerId", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r->j, "ownerId"), 1));
	cJSON_Delete(r->j);
	r->j = nj;
	propagate(c->t);
}

static bool stale(const cJSON *cur, const cJSON *given)
{
	if (!given || cJSON_IsNull(given))
		return false;
	return !cJSON_IsNumber(given) ||
	       given->valuedouble != cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cur, "version"));
}

static int g_put(struct sim_ctx *c, enum kind k)
{
	struct rec *r = g_or_404(c, k);
	if (!r)
		return 0;
	cJSON *b = parse_body(c);
	if (validate(c, k, b)) {
		cJSON_Delete(b);
		return 0;
	}
	if (stale(r->j, cJSON_GetObjectItemCaseSensitive(b, "version"))) {
		cJSON_Delete(b);
		return reply_err(c, 409, NULL, "Conflict",
				 "version does not match the current version");
	}
	install(c, r, b);
	return reply_json(c, 200, render_plain(c, r));
}

static int g_patch(struct sim_ctx *c, enum kind k)
{
	struct rec *r = g_or_404(c, k);
	if (!r)
		return 0;
	cJSON *ops = parse_body(c);
	cJSON *doc = cJSON_Duplicate(r->j, 1);
	int st;
	if (!doc) {
		cJSON_Delete(ops);
		return -ENOMEM;
	}
	if (json_patch_apply(doc, ops, &st)) {
		cJSON_Delete(ops);
		cJSON_Delete(doc);
		return reply_err(c, st, NULL, st == 409 ? "Conflict" : "Bad request",
				 st == 409 ? "test operation failed" : "invalid patch document");
	}
	cJSON_Delete(ops);
	if (stale(r->j, cJSON_GetObjectItemCaseSensitive(doc, "version"))) {
		cJSON_Delete(doc);
		return reply_err(c, 409, NULL, "Conflict",
				 "version does not match the current version");
	}
	if (validate(c, k, doc)) {
		cJSON_Delete(doc);
		return 0;
	}
	install(c, r, doc);
	return reply_json(c, 200, render_plain(c, r));
}

static void del_set(struct sim_tenant *t, const char *id)
{
	rec_free(coll_remove(&t->sets, id));
}

static void del_asset(struct sim_tenant *t, const char *id)
{
	for (size_t i = t->sets.n; i-- > 0;)
		if (i < t->sets.n) {
			const char *a = asset_of_set(t->sets.v[i]);
			if (a && !strcmp(a, id))
				del_set(t, t->sets.v[i]->id);
		}
	rec_free(coll_remove(&t->assets, id));
}

/* Reads {ids:[...]}; replies 400 on a bad body. Returns the array (owned by *b) or NULL. */
static cJSON *body_ids(struct sim_ctx *c, cJSON **b)
{
	*b = parse_body(c);
	cJSON *ids = cJSON_GetObjectItemCaseSensitive(*b, "ids");
	if (!cJSON_IsArray(ids)) {
		reply_err(c, 400, NULL, "Bad request", "body must be {\"ids\":[...]}");
		return NULL;
	}
	return ids;
}

static int g_batch_delete(struct sim_ctx *c, enum kind k)
{
	cJSON *b, *e;
	cJSON *ids = body_ids(c, &b);
	if (!ids) {
		cJSON_Delete(b);
		return 0;
	}
	cJSON_ArrayForEach(e, ids)
	{
		if (!cJSON_IsString(e) || !coll_get(kcoll(c->t, k), e->valuestring)) {
			cJSON_Delete(b);
			return reply_err(c, 404, NULL, "Not found", "unknown id in ids");
		}
		if (k == K_STORE)
			for (size_t i = 0; i < c->t->assets.n; i++) {
				const char *s = store_of_asset(c->t->assets.v[i]);
				if (s && !strcmp(s, e->valuestring)) {
					cJSON_Delete(b);
					return reply_err(c, 409, NULL, "Conflict",
							 "data store still has data assets");
				}
			}
	}
	cJSON_ArrayForEach(e, ids)
	{
		if (k == K_STORE)
			rec_free(coll_remove(&c->t->stores, e->valuestring));
		else if (k == K_ASSET)
			del_asset(c->t, e->valuestring);
		else
			del_set(c->t, e->valuestring);
	}
	cJSON_Delete(b);
	return reply_empty(c, 204);
}

/* Is id in the comma list (or list is "*")? */
static bool idlist_has(const char *list, const char *id)
{
	if (!strcmp(list, "*"))
		return true;
	size_t l = strlen(id);
	const char *p = list;
	while (*p) {
		const char *e = strchrnul(p, ',');
		if ((size_t)(e - p) == l && !strncmp(p, id, l))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

/* Every id of list must exist in coll; replies 404 otherwise. */
static bool idlist_ok(struct sim_ctx *c, const char *list, struct coll *cl)
{
	if (!strcmp(list, "*"))
		return true;
	const char *p = list;
	while (*p) {
		const char *e = strchrnul(p, ',');
		char *id = strndup(p, (size_t)(e - p));
		bool ok = id && coll_get(cl, id);
		free(id);
		if (!ok) {
			reply_err(c, 404, NULL, "Not found", "unknown id in path");
			return false;
		}
		p = *e ? e + 1 : e;
	}
	return true;
}

static int list_out(struct sim_ctx *c, struct rec **v, size_t n)
{
	struct sortspec s;
	const char *sort = q_get(c, "sort");
	if (sort_parse(&s, sort && *sort ? sort : "", ds_sort)) {
		free(v);
		return reply_err(c, 400, NULL, "Bad request", "invalid sort");
	}
	cJSON *out = cJSON_CreateObject();
	int rc = page_offset(c, v, n, &s, render_plain, out);
	free(v);
	if (rc) {
		cJSON_Delete(out);
		return rc < 0 ? rc : 0;
	}
	return reply_json(c, 200, out);
}

/* -------------------------------------------------------- handlers */

int h_ds_list(struct sim_ctx *c)
{
	struct coll *cl = &c->t->stores;
	struct rec **v = malloc((cl->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (cl->n) /* (an empty tenant: no array to copy from) */
		memcpy(v, cl->v, cl->n * sizeof(*v));
	return list_out(c, v, cl->n);
}

int h_ds_assets_list(struct sim_ctx *c)
{
	if (!idlist_ok(c, c->ids[0], &c->t->stores))
		return 0;
	struct coll *cl = &c->t->assets;
	struct rec **v = malloc((cl->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < cl->n; i++)
		if (idlist_has(c->ids[0], store_of_asset(cl->v[i]) ? store_of_asset(cl->v[i]) : ""))
			v[n++] = cl->v[i];
	return list_out(c, v, n);
}

static bool set_in(struct sim_ctx *c, struct rec *d)
{
	const char *aid = asset_of_set(d);
	struct rec *a = aid ? coll_get(&c->t->assets, aid) : NULL;
	const char *sid = a ? store_of_asset(a) : NULL;
	return a && sid && idlist_has(c->ids[1], aid) && idlist_has(c->ids[0], sid);
}

int h_ds_sets_list(struct sim_ctx *c)
{
	if (!idlist_ok(c, c->ids[0], &c->t->stores) || !idlist_ok(c, c->ids[1], &c->t->assets))
		return 0;
	struct coll *cl = &c->t->sets;
	struct rec **v = malloc((cl->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < cl->n; i++)
		if (set_in(c, cl->v[i]))
			v[n++] = cl->v[i];
	return list_out(c, v, n);
}

int h_ds_assets_delete(struct sim_ctx *c)
{
	if (!idlist_ok(c, c->ids[0], &c->t->stores))
		return 0;
	for (size_t i = c->t->assets.n; i-- > 0;) {
		if (i >= c->t->assets.n)
			continue;
		struct rec *a = c->t->assets.v[i];
		const char *sid = store_of_asset(a);
		if (sid && idlist_has(c->ids[0], sid))
			del_asset(c->t, a->id);
	}
	return reply_empty(c, 204);
}

int h_ds_sets_delete(struct sim_ctx *c)
{
	if (!idlist_ok(c, c->ids[0], &c->t->stores) || !idlist_ok(c, c->ids[1], &c->t->assets))
		return 0;
	for (size_t i = c->t->sets.n; i-- > 0;)
		if (i < c->t->sets.n && set_in(c, c->t->sets.v[i]))
			del_set(c->t, c->t->sets.v[i]->id);
	return reply_empty(c, 204);
}

int h_ds_create(struct sim_ctx *c) { return g_create(c, K_STORE); }
int h_ds_batch_delete(struct sim_ctx *c) { return g_batch_delete(c, K_STORE); }
int h_ds_get(struct sim_ctx *c) { return g_get(c, K_STORE); }
int h_ds_put(struct sim_ctx *c) { return g_put(c, K_STORE); }
int h_ds_patch(struct sim_ctx *c) { return g_patch(c, K_STORE); }
int h_da_create(struct sim_ctx *c) { return g_create(c, K_ASSET); }
int h_da_batch_delete(struct sim_ctx *c) { return g_batch_delete(c, K_ASSET); }
int h_da_get(struct sim_ctx *c) { return g_get(c, K_ASSET); }
int h_da_put(struct sim_ctx *c) { return g_put(c, K_ASSET); }
int h_da_patch(struct sim_ctx *c) { return g_patch(c, K_ASSET); }
int h_dset_create(struct sim_ctx *c) { return g_create(c, K_SET); }
int h_dset_batch_delete(struct sim_ctx *c) { return g_batch_delete(c, K_SET); }
int h_dset_get(struct sim_ctx *c) { return g_get(c, K_SET); }
int h_dset_put(struct sim_ctx *c) { return g_put(c, K_SET); }
int h_dset_patch(struct sim_ctx *c) { return g_patch(c, K_SET); }
