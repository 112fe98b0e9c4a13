/*
 * sim_items_apps.c - /api/v1/items (the catalogue) and /api/v1/apps.
 *
 * Invariants: every app has exactly one item (resourceType "app",
 * resourceId = app id); app rec->aux holds the item id and t->item_by_res
 * maps the app id to the item.  The item mirrors the app (name, description,
 * attributes, space, owner, times at second precision) and is re-synced on
 * every app change, which also bumps the item's updatedAt.  Each app stores a
 * qvf blob (rec->blob) starting with QVF_MAGIC; import accepts only such blobs.
 * Export with NoData=true gives the header and the first KiB of the payload
 * (a smaller file that still imports).
 * Personal content (no spaceId) is visible only to its owner.
 *
 * Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QVF_MAGIC "QVFSIM\001\n"
#define QVF_MAGIC_LEN 8

static const char *const app_privs[] = { "read",	 "create",	"update",     "delete",
					  "reload",	 "import",	"publish",    "duplicate",
					  "export",	 "exportdata", "change_owner", "change_space" };
static const char *const item_actions[] = { "create", "read", "update", "delete", "publish",
					    "duplicate", "export" };

/* ------------------------------------------------------------------ qvf */

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int qvf_make(struct sim_tenant *t, const char *name, const char *app_id, unsigned char **out,
	     size_t *out_n)
{
	(void)t;
	char *hdr = xasprintf("%sappid:%s\nname:%s\n\n", QVF_MAGIC, app_id, name);
	if (!hdr)
		return -ENOMEM;
	for (char *p = hdr + QVF_MAGIC_LEN; *p; p++)
		if (*p == '\r')
			*p = ' ';
	uint64_t h = fnv(app_id);
	size_t hl = strlen(hdr);
	size_t n = hl + 2048 + (size_t)(h % 12288);
	unsigned char *b = malloc(n);
	if (!b) {
		free(hdr);
		return -ENOMEM;
	}
	memcpy(b, hdr, hl);
	free(hdr);
	uint64_t x = h | 1;
	for (size_t i = hl; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)(x >> 24);
	}
	*out = b;
	*out_n = n;
	return 0;
}

/* Returns a malloc'd embedded name, or NULL if the blob is not a qvf. */
static char *qvf_name(const char *b, size_t n, bool *ok)
{
	*ok = n > QVF_MAGIC_LEN && !memcmp(b, QVF_MAGIC, QVF_MAGIC_LEN);
	if (!*ok)
		return NULL;
	const char *end = memmem(b, n, "\n\n", 2);
	const char *p = memmem(b, end ? (size_t)(end - b) : n, "\nname:", 6);
	if (!p)
		return NULL;
	p += 6;
	const char *e = memchr(p, '\n', n - (size_t)(p - b));
	return e ? strndup(p, (size_t)(e - p)) : NULL;
}

/* ---------------------------------------------------------------- items */

static const char *owner_subject(struct sim_tenant *t, const char *uid)
{
	struct rec *u = coll_get(&t->users, uid);
	const char *s = u ? jstr(u->j, "subject") : NULL;
	return s ? s : "";
}

static void to_secs(const char *ms_ts, char *out, size_t n)
{
	long long v = parse_time_ms(ms_ts);
	if (v < 0)
		snprintf(out, n, "%s", "");
	else
		fmt_s(out, n, v);
}

/* Re-derives the item of app a; bumps updatedAt to now when now >= 0. */
static int item_sync(struct sim_tenant *t, struct rec *a, long long now, const char *updater)
{
	struct rec *it = coll_get(&t->items, a->aux);
	if (!it)
		return -ENOENT;
	cJSON *at = cJSON_GetObjectItemCaseSensitive(a->j, "attributes");
	cJSON *j = it->j;
	char ts[40];
	jset_str(j, "name", jstr(at, "name"));
	jset_str(j, "description", jstr(at, "description"));
	jset(j, "resourceAttributes", cJSON_Duplicate(at, 1));
	to_secs(jstr(at, "createdDate"), ts, sizeof(ts));
	jset_str(j, "resourceCreatedAt", ts);
	to_secs(jstr(at, "modifiedDate"), ts, sizeof(ts));
	jset_str(j, "resourceUpdatedAt", ts);
	to_secs(jstr(at, "lastReloadTime"), ts, sizeof(ts));
	jset_str(j, "resourceReloadEndTime", ts);
	jset_str(j, "resourceReloadStatus", ts[0] ? "ok" : "");
	cJSON *sz = cJSON_CreateObject();
	cJSON_AddNumberToObject(sz, "appFile", (double)a->blob_len);
	cJSON_AddNumberToObject(sz, "appMemory", (double)a->blob_len * 3);
	jset(j, "resourceSize", sz);
	const char *sp = jstr(at, "spaceId");
	jset_str(j, "spaceId", sp ? sp : "");
	jset_str(j, "ownerId", jstr(at, "ownerId"));
	if (now >= 0) {
		fmt_s(ts, sizeof(ts), now);
		jset_str(j, "updatedAt", ts);
		if (updater)
			jset_str(j, "updaterId", updater);
	}
	return 0;
}

static int item_create(struct sim_tenant *t, struct rec *a, long long created)
{
	char id[25], ts[40];
	gen_oid(t, created, id);
	cJSON *at = cJSON_GetObjectItemCaseSensitive(a->j, "attributes");
	cJSON *j = cJSON_CreateObject();
	fmt_s(ts, sizeof(ts), created);
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "name", "");
	cJSON_AddStringToObject(j, "description", "");
	cJSON_AddStringToObject(j, "resourceType", "app");
	cJSON_AddStringToObject(j, "resourceSubType", "");
	cJSON_AddStringToObject(j, "resourceId", a->id);
	cJSON_AddStringToObject(j, "resourceLink", "");
	cJSON_AddNullToObject(j, "resourceCustomAttributes");
	cJSON_AddStringToObject(j, "creatorId", jstr(at, "ownerId"));
	cJSON_AddStringToObject(j, "updaterId", jstr(at, "ownerId"));
	cJSON_AddStringToObject(j, "tenantId", t->tenant_id);
	cJSON_AddStringToObject(j, "createdAt", ts);
	cJSON_AddStringToObject(j, "updatedAt", ts);
	cJSON_AddStringToObject(j, "thumbnailId", "");
	cJSON_AddArrayToObject(j, "collectionIds");
	cJSON_AddFalseToObject(j, "isFavorited");
	cJSON *iv = cJSON_AddObjectToObject(j, "itemViews");
	cJSON_AddNumberToObject(iv, "total", 0);
	cJSON_AddNumberToObject(iv, "unique", 0);
	cJSON_AddNumberToObject(iv, "trend", 0);
	cJSON_AddArrayToObject(iv, "week");
	struct rec *it = rec_new(id, j);
	if (!it) {
		cJSON_Delete(j);
		return -ENOMEM;
	}
	if (coll_add(&t->items, it)) {
		rec_free(it);
		return -ENOMEM;
	}
	hm_put(&t->item_by_res, a->id, it);
	free(a->aux);
	a->aux = strdup(id);
	return item_sync(t, a, -1, NULL);
}

cJSON *render_item(struct sim_ctx *c, struct rec *r)
{
	cJSON *o = cJSON_Duplicate(r->j, 1);
	if (!o)
		return NULL;
	bool no_actions = q_bool(c, "noActions");
	if (!no_actions)
		cJSON_AddItemToObject(o, "actions", jstrarr(item_actions, 7));
	cJSON *meta = cJSON_AddObjectToObject(o, "meta");
	if (!no_actions)
		cJSON_AddItemToObject(meta, "actions", jstrarr(item_actions, 7));
	cJSON_AddArrayToObject(meta, "collections");
	cJSON_AddArrayToObject(meta, "tags");
	cJSON_AddFalseToObject(meta, "isFavorited");
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	const char *res = jstr(r->j, "resourceId");
	char *h = abs_url(c->base, "/api/v1/items/%s", r->id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(links, "self"), "href", h ? h : "");
	free(h);
	h = abs_url(c->base, "/sense/app/%s", res ? res : "");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(links, "open"), "href", h ? h : "");
	free(h);
	h = abs_url(c->base, "/api/v1/items/%s/collections", r->id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(links, "collections"), "href", h ? h : "");
	free(h);
	return o;
}

static bool item_visible(struct sim_ctx *c, struct rec *it)
{
	const char *sp = jstr(it->j, "spaceId");
	if (sp && *sp)
		return true;
	const char *ow = jstr(it->j, "ownerId");
	return ow && c->caller && !strcmp(ow, c->caller);
}

/* "app,qvapp" or "app[qvd,]" -> does type/subtype match? */
static bool type_matches(const char *spec, const char *type, const char *sub)
{
	const char *p = spec;
	size_t tl = strlen(type);
	while (*p) {
		const char *e = p;
		int depth = 0;
		while (*e && (depth || *e != ',')) {
			if (*e == '[')
				depth++;
			else if (*e == ']')
				depth--;
			e++;
		}
		const char *br = memchr(p, '[', (size_t)(e - p));
		size_t nl = (size_t)((br ? br : e) - p);
		if (nl == tl && !strncmp(p, type, tl)) {
			if (!br)
				return true;
			/* subtype list inside brackets; "" matches empty subtype */
			const char *s = br + 1, *close = e - 1;
			const char *q = s;
			while (q <= close) {
				const char *c2 = q;
				while (c2 < close && *c2 != ',')
					c2++;
				size_t sl = (size_t)(c2 - q);
				if (sl == strlen(sub ? sub : "") && !strncmp(q, sub ? sub : "", sl))
					return true;
				q = c2 + 1;
			}
		}
		p = *e ? e + 1 : e;
	}
	return false;
}

int h_items_list(struct sim_ctx *c)
{
	static const char *const allowed[] = { "createdAt", "createdAt", "name", "name",
					       "updatedAt", "updatedAt", "recentlyUsed", "updatedAt",
					       NULL };
	struct sortspec s;
	long limit;
	struct sim_tenant *t = c->t;
	if (q_limit(c, "limit", 10, 1, 100, &limit))
		return 0;
	const char *sort = q_get(c, "sort");
	if (sort_parse(&s, sort && *sort ? sort : "+createdAt", allowed))
		return reply_err(c, 400, NULL, "Bad request", "invalid sort");
	const char *rtype = q_get(c, "resourceType"), *space = q_get(c, "spaceId");
	const char *name = q_get(c, "name"), *query = q_get(c, "query");
	const char *rid = q_get(c, "resourceId"), *rids = q_get(c, "resourceIds");
	const char *owner = q_get(c, "ownerId"), *notowner = q_get(c, "notOwnerId");
	const char *creator = q_get(c, "createdByUserId"), *id = q_get(c, "id");
	const char *stype = q_get(c, "spaceType"), *rsub = q_get(c, "resourceSubType");
	if ((rid || rids) && !(rtype && *rtype))
		return reply_err(c, 400, NULL, "Bad request",
				 "resourceId/resourceIds require resourceType");
	struct rec **v = malloc((t->items.n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < t->items.n; i++) {
		struct rec *r = t->items.v[i];
		const cJSON *j = r->j;
		const char *sp = jstr(j, "spaceId");
		if (!item_visible(c, r))
			continue;
		if (rtype && *rtype &&
		    !type_matches(rtype, jstr(j, "resourceType"), jstr(j, "resourceSubType")))
			continue;
		if (rsub && *rsub && !sim_csv_has(rsub, jstr(j, "resourceSubType")))
			continue;
		if (space && *space) {
			if (!strcmp(space, "personal") ? (sp && *sp) : (!sp || strcmp(sp, space)))
				continue;
		}
		if (stype && *stype) {
			const char *ty = "personal";
			struct rec *srec = sp && *sp ? coll_get(&t->spaces, sp) : NULL;
			if (srec)
				ty = jstr(srec->j, "type");
			if (!sim_csv_has(stype, ty))
				continue;
		}
		if (name && *name && !strcasestr_utf8(jstr(j, "name"), name))
			continue;
		if (query && *query && !strcasestr_utf8(jstr(j, "name"), query) &&
		    !strcasestr_utf8(jstr(j, "description"), query))
			continue;
		if (rid && *rid && strcmp(rid, jstr(j, "resourceId")))
			continue;
		if (rids && *rids && !sim_csv_has(rids, jstr(j, "resourceId")))
			continue;
		if (owner && *owner && strcmp(owner, jstr(j, "ownerId")))
			continue;
		if (notowner && *notowner && !strcmp(notowner, jstr(j, "ownerId")))
			continue;
		if (creator && *creator && strcmp(creator, jstr(j, "creatorId")))
			continue;
		if (id && *id && strcmp(id, r->id))
			continue;
		v[n++] = r;
	}
	cJSON *out = cJSON_CreateObject();
	int rc = page_cursor(c, v, n, &s, limit, "next", "prev", 0, render_item, out, NULL);
	free(v);
	if (rc || c->resp->status) {
		cJSON_Delete(out);
		return rc;
	}
	cJSON *links = cJSON_GetObjectItemCaseSensitive(out, "links");
	char *h = abs_url(c->base, "/api/v1/collections");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(links, "collection"), "href", h ? h : "");
	free(h);
	return reply_json(c, 200, out);
}

static struct rec *item_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->items, c->ids[0]);
	if (!r || !item_visible(c, r)) {
		reply_err(c, 404, NULL, "Not found", "item not found");
		return NULL;
	}
	return r;
}

int h_item_get(struct sim_ctx *c)
{
	struct rec *r = item_or_404(c);
	return r ? reply_json(c, 200, render_item(c, r)) : 0;
}

int h_item_put(struct sim_ctx *c)
{
	struct rec *r = item_or_404(c);
	if (!r)
		return 0;
	cJSON *b = parse_body(c);
	if (!cJSON_IsObject(b) || !jstr(b, "resourceType")) {
		cJSON_Delete(b);
		return reply_err(c, 400, NULL, "Bad request", "resourceType is required");
	}
	static const char *const f[] = { "name", "description", "resourceLink", "resourceSubType",
					 "resourceAttributes", "resourceCustomAttributes",
					 "resourceUpdatedAt", "spaceId", "thumbnailId" };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(b, f[i]);
		if (v)
			jset(r->j, f[i], cJSON_Duplicate(v, 1));
	}
	cJSON_Delete(b);
	char ts[40];
	fmt_s(ts, sizeof(ts), c->now);
	jset_str(r->j, "updatedAt", ts);
	jset_str(r->j, "updaterId", c->caller);
	return reply_json(c, 200, render_item(c, r));
}

static void app_remove(struct sim_tenant *t, struct rec *a)
{
	if (a->aux) {
		hm_del(&t->item_by_res, a->id);
		rec_free(coll_remove(&t->items, a->aux));
	}
	scripts_forget(t, a->id);
	rec_free(coll_remove(&t->apps, a->id));
}

int h_item_delete(struct sim_ctx *c)
{
	struct rec *r = item_or_404(c);
	if (!r)
		return 0;
	const char *res = jstr(r->j, "resourceId");
	struct rec *a = res ? coll_get(&c->t->apps, res) : NULL;
	if (a)
		app_remove(c->t, a); /* the app goes with its item */
	else
		rec_free(coll_remove(&c->t->items, r->id));
	return reply_empty(c, 204);
}

/* ----------------------------------------------------------------- apps */

cJSON *render_app(struct sim_ctx *c, struct rec *r)
{
	(void)c;
	return cJSON_Duplicate(r->j, 1);
}

struct rec *app_new(struct sim_tenant *t, const char *name, const char *desc, const char *space,
		    const char *owner, long long created, long long modified,
		    const unsigned char *blob, size_t blob_len)
{
	char id[37], ts[40];
	gen_uuid(t, id);
	cJSON *j = cJSON_CreateObject();
	cJSON *at = cJSON_AddObjectToObject(j, "attributes");
	cJSON_AddStringToObject(at, "id", id);
	cJSON_AddStringToObject(at, "name", name);
	cJSON_AddStringToObject(at, "description", desc ? desc : "");
	cJSON_AddStringToObject(at, "thumbnail", "");
	fmt_ms(ts, sizeof(ts), created);
	cJSON_AddStringToObject(at, "createdDate", ts);
	fmt_ms(ts, sizeof(ts), modified);
	cJSON_AddStringToObject(at, "modifiedDate", ts);
	if (modified > created && (modified / 1000) % 3 != 0) /* some apps never reloaded */
		cJSON_AddStringToObject(at, "lastReloadTime", ts);
	else
		cJSON_AddStringToObject(at, "lastReloadTime", "");
	cJSON_AddStringToObject(at, "owner", owner_subject(t, owner));
	cJSON_AddStringToObject(at, "ownerId", owner);
	if (space && *space)
		cJSON_AddStringToObject(at, "spaceId", space);
	cJSON_AddStringToObject(at, "_resourcetype", "app");
	cJSON_AddStringToObject(at, "dynamicColor", "");
	cJSON_AddFalseToObject(at, "published");
	cJSON_AddStringToObject(at, "publishTime", "");
	cJSON_AddStringToObject(at, "originAppId", "");
	cJSON_AddObjectToObject(at, "custom");
	cJSON_AddFalseToObject(at, "hasSectionAccess");
	cJSON_AddFalseToObject(at, "encrypted");
	cJSON_AddFalseToObject(at, "isDirectQueryMode");
	cJSON_AddStringToObject(at, "usage", "ANALYTICS");
	cJSON_AddItemToObject(j, "privileges", jstrarr(app_privs, 12));
	cJSON *cr = cJSON_AddArrayToObject(j, "create");
	static const char *const res[] = { "sheet", "bookmark", "story" };
	for (int i = 0; i < 3; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "resource", res[i]);
		cJSON_AddTrueToObject(o, "canCreate");
		cJSON_AddItemToArray(cr, o);
	}
	struct rec *r = rec_new(id, j);
	if (!r) {
		cJSON_Delete(j);
		return NULL;
	}
	if (blob) {
		r->blob = malloc(blob_len ? blob_len : 1);
		if (r->blob) {
			memcpy(r->blob, blob, blob_len);
			r->blob_len = blob_len;
		}
	} else if (qvf_make(t, name, id, &r->blob, &r->blob_len)) {
		r->blob = NULL;
	}
	if (!r->blob || coll_add(&t->apps, r)) {
		rec_free(r);
		return NULL;
	}
	if (item_create(t, r, created)) {
		rec_free(coll_remove(&t->apps, id));
		return NULL;
	}
	return r;
}

static cJSON *attrs_of(cJSON *b)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(b, "attributes");
	return cJSON_IsObject(a) ? a : NULL;
}

static bool check_space(struct sim_ctx *c, const char *sp)
{
	if (!sp || !*sp || coll_get(&c->t->spaces, sp))
		return true;
	reply_err(c, 404, NULL, "Not found", "space not found");
	return false;
}

int h_apps_create(struct sim_ctx *c)
{
	cJSON *b = parse_body(c);
	cJSON *at = attrs_of(b);
	if (c->body_len && !b) {
		return reply_err(c, 400, NULL, "Bad request", "invalid JSON");
	}
	const char *name = jstr(at, "name"), *sp = jstr(at, "spaceId");
	int rc = 0;
	if (check_space(c, sp)) {
		struct rec *r = app_new(c->t, name && *name ? name : "Untitled", jstr(at, "description"),
					sp, c->caller, c->now, c->now, NULL, 0);
		if (r) {
			cJSON *a2 = cJSON_GetObjectItemCaseSensitive(r->j, "attributes");
			if (jstr(at, "locale"))
				jset_str(a2, "locale", jstr(at, "locale"));
			if (jstr(at, "usage"))
				jset_str(a2, "usage", jstr(at, "usage"));
			item_sync(c->t, r, c->now, c->caller);
		}
		rc = r ? reply_json(c, 200, render_app(c, r)) : -ENOMEM;
	}
	cJSON_Delete(b);
	return rc;
}

int h_apps_privileges(struct sim_ctx *c)
{
	static const char *const p[] = { "can_create_app", "can_import_app",
					 "can_create_session_app" };
	return reply_json(c, 200, jstrarr(p, 3));
}

static struct rec *app_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->apps, c->ids[0]);
	if (!r) {
		reply_err(c, 404, "App.NotFound", "Not found", "app not found");
		return NULL;
	}
	return r;
}

static void app_touch(struct sim_ctx *c, struct rec *a)
{
	char ts[40];
	fmt_ms(ts, sizeof(ts), c->now);
	jset_str(cJSON_GetObjectItemCaseSensitive(a->j, "attributes"), "modifiedDate", ts);
	item_sync(c->t, a, c->now, c->caller);
}

void app_touched(struct sim_ctx *c, struct rec *a)
{
	app_touch(c, a);
}

void app_reloaded(struct sim_tenant *t, struct rec *a, long long end_ms)
{
	char ts[40];
	fmt_ms(ts, sizeof(ts), end_ms);
	jset_str(cJSON_GetObjectItemCaseSensitive(a->j, "attributes"), "lastReloadTime", ts);
	item_sync(t, a, end_ms, NULL);
}

int h_app_get(struct sim_ctx *c)
{
	struct rec *r = app_or_404(c);
	return r ? reply_json(c, 200, render_app(c, r)) : 0;
}

int h_app_put(struct sim_ctx *c)
{
	struct rec *r = app_or_404(c);
	if (!r)
		return 0;
	cJSON *b = parse_body(c);
	cJSON *at = attrs_of(b);
	if (!at) {
		cJSON_Delete(b);
		return reply_err(c, 400, NULL, "Bad request", "attributes object required");
	}
	cJSON *dst = cJSON_GetObjectItemCaseSensitive(r->j, "attributes");
	if (jstr(at, "name"))
		jset_str(dst, "name", jstr(at, "name"));
	if (jstr(at, "description"))
		jset_str(dst, "description", jstr(at, "description"));
	cJSON_Delete(b);
	app_touch(c, r);
	return reply_json(c, 200, render_app(c, r));
}

int h_app_delete(struct sim_ctx *c)
{
	struct rec *r = app_or_404(c);
	if (!r)
		return 0;
	app_remove(c->t, r);
	return reply_empty(c, 200);
}

int h_app_space_put(struct sim_ctx *c)
{
	struct rec *r = app_or_404(c);
	if (!r)
		return 0;
	cJSON *b = parse_body(c);
	const char *sp = jstr(b, "spaceId");
	int rc = 0;
	if (!sp || !*sp) {
		rc = reply_err(c, 400, NULL, "Bad request", "spaceId required");
	} else if (check_space(c, sp)) {
		jset_str(cJSON_GetObjectItemCaseSensitive(r->j, "attributes"), "spaceId", sp);
		app_touch(c, r);
		rc = reply_json(c, 200, render_app(c, r));
	}
	cJSON_Delete(b);
	return rc;
}

int h_app_space_delete(struct sim_ctx *c)
{
	struct rec *r = app_or_404(c);
	if (!r)
		return 0;
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(r->j, "attributes"),
						"spaceId");
	app_touch(c, r);
	return reply_json(c, 200, render_app(c, r));
}

int h_app_owner_put(struct sim_ctx *c)
{
	struct rec *r = app_or_404(c);
	if (!r)
		return 0;
	cJSON *b = parse_body(c);
	const char *ow = jstr(b, "ownerId");
	int rc;
	if (!ow || !coll_get(&c->t->users, ow)) {
		rc = reply_err(c, 404, NULL, "Not found", "owner not found");
	} else {
		cJSON *at = cJSON_GetObjectItemCaseSensitive(r->j, "attributes");
		jset_str(at, "ownerId", ow);
		jset_str(at, "owner", owner_subject(c->t, ow));
		app_touch(c, r);
		rc = reply_json(c, 200, render_app(c, r));
	}
	cJSON_Delete(b);
	return rc;
}

int h_app_copy(struct sim_ctx *c)
{
	struct rec *src = app_or_404(c);
	if (!src)
		return 0;
	cJSON *b = parse_body(c);
	cJSON *at = attrs_of(b);
	cJSON *sat = cJSON_GetObjectItemCaseSensitive(src->j, "attributes");
	const char *name = jstr(at, "name") ? jstr(at, "name") : jstr(sat, "name");
	const char *desc = jstr(at, "description") ? jstr(at, "description")
						     : jstr(sat, "description");
	const char *sp = jstr(at, "spaceId") ? jstr(at, "spaceId") : jstr(sat, "spaceId");
	int rc = 0;
	if (check_space(c, sp)) {
		struct rec *r = app_new(c->t, name, desc, sp, c->caller, c->now, c->now, src->blob,
					src->blob_len);
		rc = r ? reply_json(c, 200, render_app(c, r)) : -ENOMEM;
	}
	cJSON_Delete(b);
	return rc;
}

int h_app_export(struct sim_ctx *c)
{
	struct rec *r = app_or_404(c);
	if (!r)
		return 0;
	const char *name = jstr(cJSON_GetObjectItemCaseSensitive(r->j, "attributes"), "name");
	char *fn = xasprintf("%s.qvf", name ? name : "app");
	size_t n = r->blob_len;
	if (q_bool(c, "NoData")) {
		/* objects only: the header and the first KiB of the payload */
		const unsigned char *hend = r->blob ? memmem(r->blob, n, "\n\n", 2) : NULL;
		size_t keep = hend ? (size_t)(hend - r->blob) + 2 + 1024 : n;
		if (keep < n)
			n = keep;
	}
	struct rec *tc = fn ? temp_new(c->t, fn, r->blob, n, 3600, c->caller) : NULL;
	free(fn);
	if (!tc)
		return -ENOMEM;
	char *loc = xasprintf("/api/v1/temp-contents/%s", tc->id);
	if (!loc)
		return -ENOMEM;
	add_header(c, "Location", loc);
	free(loc);
	return reply_empty(c, 201);
}

int h_apps_import(struct sim_ctx *c)
{
	const char *qname = q_get(c, "name"), *sp = q_get(c, "spaceId"), *fid = q_get(c, "fileId");
	const char *data = c->body;
	size_t n = c->body_len;
	if (fid && *fid) {
		struct rec *tc = coll_get(&c->t->temps, fid);
		if (!tc)
			return reply_err(c, 404, NULL, "Not found", "fileId not found");
		data = (const char *)tc->blob;
		n = tc->blob_len;
	}
	bool ok;
	char *ename = qvf_name(data ? data : "", data ? n : 0, &ok);
	if (!ok)
		return reply_err(c, 400, NULL, "Bad request", "the body is not a valid app file");
	if (!check_space(c, sp)) {
		free(ename);
		return 0;
	}
	const char *name = qname && *qname ? qname : ename ? ename : "Imported app";
	struct rec *r = app_new(c->t, name, "", sp, c->caller, c->now, c->now,
				(const unsigned char *)data, n);
	free(ename);
	return r ? reply_json(c, 200, render_app(c, r)) : -ENOMEM;
}
