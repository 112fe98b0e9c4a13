/*
 * reswrite.c - see reswrite.h.  The verbs follow docs/QLIK-API.md section 8:
 *   spaces      PATCH [{op:replace,path,value}]          -> 200 Space
 *   users       PATCH [{op:replace,path,value}]          -> 204, then GET
 *   apps        PUT /apps/id {attributes:{name,description}}, PUT|DELETE
 *               /apps/id/space, PUT /apps/id/owner        -> then GET the item
 *   data files  PUT multipart Json{name}                 -> 201 DataFile
 *   data stores, assets, sets: PATCH led by {op:test,path:/version} so that a
 *               concurrent change fails with 409 instead of being overwritten.
 * Kinds without a version are checked for staleness with one GET before the
 * update (their stale_field must not have moved since the file was opened).
 * No POST is ever repeated by the client (qclient retries only idempotent
 * calls and 429s), so a create is sent at most once.
 */
#include "res/reswrite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "util/url.h"

char *res_one_url(struct qclient *qc, const struct rtype *rt, const char *id)
{
	struct url_buf *u = url_new(qclient_base(qc));
	if (!rt) {
		url_path(u, "/api/v1/users/me");
		return url_finish(u);
	}
	url_path(u, rt->get_path);
	if (rt->get_query_id) {
		url_query(u, rt->get_query_fixed[0], rt->get_query_fixed[1]);
		url_query(u, rt->get_query_id, id);
	} else {
		url_seg(u, id);
	}
	return url_finish(u);
}

int res_get(struct qclient *qc, const struct rtype *rt, const char *id, cJSON **root,
	    const cJSON **obj, char *err, size_t errn)
{
	*root = NULL;
	char *url = (rt && !id) ? NULL : res_one_url(qc, rt, id);
	int rc = url ? qclient_get_json(qc, url, root, err, errn) : -ENOMEM;
	free(url);
	*obj = rc ? NULL : *root;
	if (!rc && rt && rt->get_query_id) {
		*obj = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(*root, "data"), 0);
		if (!*obj) {
			rc = -ENOENT;
			errmsg_set(err, errn, "no %s with that id", rt->type);
		}
	}
	if (rc) {
		cJSON_Delete(*root);
		*root = NULL;
	}
	return rc;
}

/* GETs one resource into a detached object (caller frees). */
static int get_obj(struct qclient *qc, const struct rtype *rt, const char *id, cJSON **out,
		   char *err, size_t errn)
{
	cJSON *root;
	const cJSON *obj;
	int rc = res_get(qc, rt, id, &root, &obj, err, errn);
	if (rc)
		return rc;
	*out = cJSON_Duplicate(obj, 1);
	cJSON_Delete(root);
	return *out ? 0 : -ENOMEM;
}

int res_pointer(const char *field, char *out, size_t n)
{
	size_t o = 0;
	if (n < 2)
		return -ENAMETOOLONG;
	out[o++] = '/';
	for (const char *p = field; *p; p++) {
		const char *rep = *p == '~' ? "~0" : *p == '/' ? "~1" : NULL;
		size_t l = rep ? 2 : 1;
		if (o + l >= n)
			return -ENAMETOOLONG;
		if (rep)
			memcpy(out + o, rep, 2);
		else
			out[o] = *p;
		o += l;
	}
	out[o] = '\0';
	return 0;
}

/* Sends one request with a JSON body (may be NULL).  Returns 0 with the
 * response in r (caller clears) or -errno with err set. */
static int send_json(struct qclient *qc, const char *method, const char *url, const cJSON *body,
		     enum qop op, struct qresp *r, char *err, size_t errn)
{
	char *txt = body ? cJSON_PrintUnformatted(body) : NULL;
	if (body && !txt)
		return -ENOMEM;
	struct qcall call = { .method = method, .url = url, .body = txt,
			      .body_len = txt ? strlen(txt) : 0, .op = op };
	memset(r, 0, sizeof(*r));
	int rc = qclient_call(qc, &call, r);
	free(txt);
	if (rc)
		errmsg_set(err, errn, "%s", r->errmsg);
	return rc;
}

static char *path_url(struct qclient *qc, const char *base, const char *id, const char *tail)
{
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, base);
	if (id)
		url_seg(u, id);
	if (tail)
		url_path(u, tail);
	return url_finish(u);
}

/* ---- what changed ---- */

static bool differs(const cJSON *base, const cJSON *edited, const char *field)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(base, field);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(edited, field);
	if (!b)
		return false; /* absent: unchanged */
	if (!a)
		return !cJSON_IsNull(b);
	return !cJSON_Compare(a, b, true);
}

/* The writable fields of edited that differ from base, as a new object
 * (caller frees); an empty object when nothing changed. */
static cJSON *changed_fields(const struct rtype *rt, const cJSON *base, const cJSON *edited)
{
	cJSON *ch = cJSON_CreateObject();
	const cJSON *f;
	if (!ch)
		return NULL;
	cJSON_ArrayForEach(f, edited)
	{
		if (!f->string || !restab_writable(rt, f->string) || !differs(base, edited, f->string))
			continue;
		if (cJSON_GetObjectItemCaseSensitive(ch, f->string))
			continue; /* a repeated key: the first wins */
		cJSON *dup = cJSON_Duplicate(f, 1);
		if (!dup) {
			cJSON_Delete(ch);
			return NULL;
		}
		cJSON_AddItemToObject(ch, f->string, dup);
	}
	return ch;
}

/* The string at a "field" or "object.field" path of o, or NULL. */
static const char *stale_value(const cJSON *o, const char *path)
{
	const char *dot = strchr(path, '.');
	if (!dot)
		return json_str(o, path);
	char parent[64];
	size_t n = (size_t)(dot - path);
	if (n >= sizeof(parent))
		return NULL;
	memcpy(parent, path, n);
	parent[n] = 0;
	return json_str(cJSON_GetObjectItemCaseSensitive(o, parent), dot + 1);
}

/* Refuses when the resource moved on the server since base. */
static int check_stale(struct qclient *qc, const struct rtype *rt, const char *id,
		       const cJSON *base, char *err, size_t errn)
{
	const char *was = rt->stale_field ? stale_value(base, rt->stale_field) : NULL;
	cJSON *cur = NULL;
	if (!was)
		return 0;
	int rc = get_obj(qc, rt, id, &cur, err, errn);
	if (rc)
		return rc;
	const char *is = stale_value(cur, rt->stale_field);
	if (!is || strcmp(is, was)) {
		if (err && errn)
			snprintf(err, errn,
				 "the %s changed on the server after the file was opened (%s %s -> %s); "
				 "not overwriting that change: re-open the file and edit again",
				 rt->type, rt->stale_field, was, is ? is : "?");
		rc = -ESTALE;
	}
	cJSON_Delete(cur);
	return rc;
}

/* The row's id_or_name_lists (users' roles and groups) are written as
 * [{id}] or [{name}]. */
static cJSON *patch_value(const struct rtype *rt, const char *field, const cJSON *v)
{
	if (!cJSON_IsArray(v) || !RESTAB_IN_LIST(rt->id_or_name_lists, field))
		return cJSON_Duplicate(v, 1);
	cJSON *out = cJSON_CreateArray();
	const cJSON *e;
	cJSON_ArrayForEach(e, v)
	{
		cJSON *o = cJSON_CreateObject();
		const char *id = json_str(e, "id"), *name = json_str(e, "name");
		if (cJSON_IsString(e))
			name = e->valuestring;
		if (!o || (!id && !name)) {
			cJSON_Delete(o);
			continue;
		}
		cJSON_AddStringToObject(o, id ? "id" : "name", id ? id : name);
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

static int add_op(cJSON *ops, const char *op, const char *field, cJSON *value)
{
	char ptr[512];
	cJSON *o = cJSON_CreateObject();
	if (!o || res_pointer(field, ptr, sizeof(ptr))) {
		cJSON_Delete(o);
		cJSON_Delete(value);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(o, "op", op);
	cJSON_AddStringToObject(o, "path", ptr);
	if (value)
		cJSON_AddItemToObject(o, "value", value);
	cJSON_AddItemToArray(ops, o);
	return 0;
}

/* PATCH with replace ops (spaces, users) or a version-led RFC 6902 patch. */
static int update_patch(struct qclient *qc, const struct rtype *rt, const char *id,
			const cJSON *base, const cJSON *ch, cJSON **now, char *err, size_t errn)
{
	cJSON *ops = cJSON_CreateArray();
	const cJSON *f;
	int rc = 0;
	bool versioned = rt->upd == UPD_PATCH_VERSION;
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(base, "version");
	if (!ops)
		return -ENOMEM;
	if (versioned && cJSON_IsNumber(ver))
		rc = add_op(ops, "test", "version", cJSON_Duplicate(ver, 1));
	cJSON_ArrayForEach(f, ch)
	{
		bool had = cJSON_GetObjectItemCaseSensitive(base, f->string) != NULL;
		if (!rc)
			rc = add_op(ops, versioned && !had ? "add" : "replace", f->string,
				    patch_value(rt, f->string, f));
	}
	char *url = rc ? NULL : path_url(qc, rt->write_path, id, NULL);
	struct qresp r = { 0 };
	if (!rc && !url)
		rc = -ENOMEM;
	if (!rc) {
		bool renames = cJSON_GetObjectItemCaseSensitive(ch, "name") != NULL;
		rc = send_json(qc, "PATCH", url, ops,
			       versioned ? QOP_UPDATE : (renames ? QOP_RENAME : QOP_UPDATE), &r, err,
			       errn);
		if (rc == -ESTALE && versioned && err && errn)
			snprintf(err, errn,
				 "the %s changed on the server after the file was opened (version %g is "
				 "no longer current); not overwriting that change: re-open the file and "
				 "edit again",
				 rt->type, cJSON_GetNumberValue(ver));
		if (!rc && r.json && cJSON_IsObject(r.json) && json_str(r.json, "id")) {
			*now = r.json;
			r.json = NULL;
		}
		qresp_clear(&r);
	}
	free(url);
	cJSON_Delete(ops);
	if (!rc && !*now)
		rc = get_obj(qc, rt, id, now, err, errn); /* 204: no body */
	return rc;
}

/* apps: attributes, then space, then owner; the item is re-read after. */
static int update_app(struct qclient *qc, const struct rtype *rt, const char *id,
		      const cJSON *ch, cJSON **now, char *err, size_t errn)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(ch, "name");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(ch, "description");
	const cJSON *space = cJSON_GetObjectItemCaseSensitive(ch, "spaceId");
	const cJSON *owner = cJSON_GetObjectItemCaseSensitive(ch, "ownerId");
	struct qresp r = { 0 };
	int rc = 0;
	char *url = NULL;

	if ((name && !cJSON_IsString(name)) || (owner && !cJSON_IsString(owner)) ||
	    (space && !cJSON_IsString(space) && !cJSON_IsNull(space))) {
		errmsg_set(err, errn, "app: name, ownerId and spaceId must be strings");
		return -EINVAL;
	}
	if (name || desc) {
		cJSON *body = cJSON_CreateObject(), *attrs = cJSON_AddObjectToObject(body, "attributes");
		if (name)
			cJSON_AddItemToObject(attrs, "name", cJSON_Duplicate(name, 1));
		if (desc)
			cJSON_AddItemToObject(attrs, "description",
					      cJSON_IsNull(desc) ? cJSON_CreateString("")
								 : cJSON_Duplicate(desc, 1));
		url = path_url(qc, rt->write_path, id, NULL);
		rc = url ? send_json(qc, "PUT", url, body, name ? QOP_RENAME : QOP_UPDATE, &r, err,
				     errn)
			 : -ENOMEM;
		qresp_clear(&r);
		free(url);
		cJSON_Delete(body);
	}
	if (!rc && space) {
		bool personal = cJSON_IsNull(space) || !space->valuestring[0] ||
				!strcmp(space->valuestring, "personal");
		cJSON *body = personal ? NULL : cJSON_CreateObject();
		if (body)
			cJSON_AddStringToObject(body, "spaceId", space->valuestring);
		url = path_url(qc, rt->write_path, id, "/space");
		rc = url ? send_json(qc, personal ? "DELETE" : "PUT", url, body, QOP_UPDATE, &r, err,
				     errn)
			 : -ENOMEM;
		qresp_clear(&r);
		free(url);
		cJSON_Delete(body);
	}
	if (!rc && owner) {
		cJSON *body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "ownerId", owner->valuestring);
		url = path_url(qc, rt->write_path, id, "/owner");
		rc = url ? send_json(qc, "PUT", url, body, QOP_UPDATE, &r, err, errn) : -ENOMEM;
		qresp_clear(&r);
		free(url);
		cJSON_Delete(body);
	}
	if (!rc) {
		rc = get_obj(qc, rt, id, now, err, errn);
		if (rc == -ENOENT)
			rc = 1; /* moved to its owner's personal space: out of our sight */
	}
	return rc;
}

/* A multipart/form-data body with one "Json" part.  Malloc'd; NULL on OOM. */
static char *multipart_json(const cJSON *json, const char *boundary, size_t *len)
{
	char *j = cJSON_PrintUnformatted(json);
	char *out = NULL;
	if (!j)
		return NULL;
	int n = asprintf(&out,
			 "--%s\r\nContent-Disposition: form-data; name=\"Json\"\r\n"
			 "Content-Type: application/json\r\n\r\n%s\r\n--%s--\r\n",
			 boundary, j, boundary);
	free(j);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

static int update_datafile(struct qclient *qc, const struct rtype *rt, const char *id,
			   const cJSON *ch, cJSON **now, char *err, size_t errn)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(ch, "name");
	char boundary[48], ctype[96];
	size_t len = 0;
	if (!cJSON_IsString(name) || !name->valuestring[0]) {
		errmsg_set(err, errn, "data file: name must be a non-empty string");
		return -EINVAL;
	}
	unsigned long long rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (unsigned long long)time(NULL) ^ (unsigned long long)(uintptr_t)&rnd;
	snprintf(boundary, sizeof(boundary), "qlikfs-%016llx", rnd);
	snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", name->valuestring);
	char *body = multipart_json(j, boundary, &len);
	cJSON_Delete(j);
	char *url = path_url(qc, rt->write_path, id, NULL);
	int rc = -ENOMEM;
	if (body && url) {
		struct qcall call = { .method = "PUT", .url = url, .body = body, .body_len = len,
				      .content_type = ctype, .op = QOP_RENAME };
		struct qresp r = { 0 };
		rc = qclient_call(qc, &call, &r);
		if (rc)
			errmsg_set(err, errn, "%s", r.errmsg);
		else if (r.json && json_str(r.json, "id")) {
			*now = r.json;
			r.json = NULL;
		}
		qresp_clear(&r);
	}
	free(body);
	free(url);
	if (!rc && !*now)
		rc = get_obj(qc, rt, id, now, err, errn);
	return rc;
}

int res_update(struct qclient *qc, const struct rtype *rt, const char *id, const cJSON *base,
	       const cJSON *edited, cJSON **now, char *err, size_t errn)
{
	*now = NULL;
	if (!cJSON_IsObject(edited)) {
		errmsg_set(err, errn, "the file must hold one JSON object");
		return -EINVAL;
	}
	if (rt->upd == UPD_NONE) {
		errmsg_set(err, errn, "a %s cannot be changed through the API", rt->type);
		return -EPERM;
	}
	cJSON *ch = changed_fields(rt, base, edited);
	if (!ch)
		return -ENOMEM;
	int rc = 0;
	if (!ch->child)
		goto out; /* nothing writable changed: no request */
	if (rt->upd != UPD_PATCH_VERSION && (rc = check_stale(qc, rt, id, base, err, errn)))
		goto out;
	switch (rt->upd) {
	case UPD_PATCH_REPLACE:
	case UPD_PATCH_VERSION:
		rc = update_patch(qc, rt, id, base, ch, now, err, errn);
		break;
	case UPD_APP:
		rc = update_app(qc, rt, id, ch, now, err, errn);
		break;
	case UPD_DATAFILE:
		rc = update_datafile(qc, rt, id, ch, now, err, errn);
		break;
	default:
		rc = -EPERM;
	}
out:
	cJSON_Delete(ch);
	return rc;
}

/* ---- create ---- */

static void set_default_str(cJSON *o, const char *field, const char *v)
{
	if (v && !json_str(o, field)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, field);
		cJSON_AddStringToObject(o, field, v);
	}
}

/* A created object's place, from the directory it is written in, unless the
 * file names it: the resource table's in_field (a data store's spaceId, a
 * data asset's dataStoreInfo.id, a data set's dataAssetInfo.id) and,
 * scope_store, the place's own inside it (a data set's asset's store:
 * dataAssetInfo.dataStoreInfo.id, at the asset row's in_field). */
static void set_place(cJSON *body, const struct rtype *rt, const struct res_scope *sc)
{
	const char *id = rt->in && rt->in_field ? sc->id[rt->in_kind] : NULL;
	if (id && !strcmp(id, "personal"))
		id = NULL; /* (the owner's personal space: no place to send) */
	const char *dot = id ? strchr(rt->in_field, '.') : NULL;
	char top[64];
	if (!dot) {
		if (id)
			set_default_str(body, rt->in_field, id);
		return;
	}
	snprintf(top, sizeof(top), "%.*s", (int)(dot - rt->in_field), rt->in_field);
	if (cJSON_GetObjectItemCaseSensitive(body, top))
		return; /* (the file names it) */
	cJSON *o = cJSON_AddObjectToObject(body, top);
	cJSON_AddStringToObject(o, dot + 1, id);
	const struct rtype *in = restab_get(rt->in_kind);
	const char *up = rt->scope_store && in->in ? sc->id[in->in_kind] : NULL;
	const char *udot = up && in->in_field ? strchr(in->in_field, '.') : NULL;
	if (udot) {
		snprintf(top, sizeof(top), "%.*s", (int)(udot - in->in_field), in->in_field);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, top), udot + 1, up);
	}
}

/* The body a create sends, from the file's JSON object doc written as
 * entry name in a directory of scope sc: the row's create_* columns
 * (restab.h).  Caller frees; NULL: no memory. */
static cJSON *create_body(const struct rtype *rt, const cJSON *doc, const char *name,
			  const struct res_scope *sc)
{
	cJSON *b = cJSON_CreateObject();
	const cJSON *f;
	if (!b)
		return NULL;
	cJSON_ArrayForEach(f, doc)
	{
		if (!f->string || cJSON_GetObjectItemCaseSensitive(b, f->string))
			continue;
		bool take = rt->create_fields[0]
				    ? RESTAB_IN_LIST(rt->create_fields, f->string) && json_str(doc, f->string)
				    : !RESTAB_IN_LIST(rt->readonly, f->string);
		if (take)
			cJSON_AddItemToObject(b, f->string, cJSON_Duplicate(f, 1));
	}
	set_default_str(b, rt->name_fields[0], name);
	for (size_t i = 0; i < 2 && rt->create_defaults[i][0]; i++)
		set_default_str(b, rt->create_defaults[i][0], rt->create_defaults[i][1]);
	if (rt->create_same[0])
		set_default_str(b, rt->create_same[0], json_str(b, rt->create_same[1]));
	set_place(b, rt, sc);
	if (rt->create_wrap) {
		cJSON *w = cJSON_CreateObject();
		if (!w || !cJSON_AddItemToObject(w, rt->create_wrap, b)) {
			cJSON_Delete(w);
			cJSON_Delete(b);
			return NULL;
		}
		b = w;
	}
	return b;
}

/* A created object the answer only names (create_answer_id): an app's
 * catalogue item, which the items service may publish a moment after the
 * app exists (docs/QLIK-API.md section 7.2): a few short retries. */
static int created_obj(struct qclient *qc, const struct rtype *rt, const char *id, cJSON **now,
		    char *err, size_t errn)
{
	int rc = -ENOENT;
	for (int i = 0; i < 8 && rc == -ENOENT; i++) {
		if (i) {
			struct timespec ts = { 0, 250 * 1000000L };
			nanosleep(&ts, NULL);
		}
		rc = get_obj(qc, rt, id, now, err, errn);
	}
	return rc;
}

int res_create(struct qclient *qc, const struct rtype *rt, const struct res_scope *scope,
	       const cJSON *doc, const char *name, cJSON **now, char *err, size_t errn)
{
	cJSON *body = NULL;
	*now = NULL;
	if (!rt->creatable) {
		errmsg_set(err, errn, "a %s cannot be created by writing a file", rt->type);
		return -EPERM;
	}
	if (!cJSON_IsObject(doc)) {
		errmsg_set(err, errn, "the file must hold one JSON object");
		return -EINVAL;
	}
	if (!(body = create_body(rt, doc, name, scope)))
		return -ENOMEM;
	char *url = path_url(qc, rt->write_path, NULL, NULL);
	struct qresp r = { 0 };
	int rc = url ? send_json(qc, "POST", url, body, QOP_CREATE, &r, err, errn) : -ENOMEM;
	free(url);
	cJSON_Delete(body);
	if (rc)
		goto out;
	const char *id = json_str_at(r.json, rt->create_answer_id ? rt->create_answer_id : "id");
	if (id && rt->create_answer_id) {
		rc = created_obj(qc, rt, id, now, err, errn);
	} else if (id) {
		*now = r.json;
		r.json = NULL;
	} else {
		rc = -EIO;
		errmsg_set(err, errn, "POST %s: no id in the answer", rt->write_path);
	}
out:
	qresp_clear(&r);
	return rc;
}

/* ---- delete ---- */

int res_delete(struct qclient *qc, const struct rtype *rt, const char *id, char *err,
	       size_t errn)
{
	struct qresp r = { 0 };
	cJSON *body = NULL;
	char *url;
	if (rt->del == DEL_NONE) {
		errmsg_set(err, errn, "a %s cannot be deleted through the API", rt->type);
		return -EPERM;
	}
	if (rt->del == DEL_BATCH) {
		body = cJSON_CreateObject();
		cJSON *ids = cJSON_AddArrayToObject(body, "ids");
		cJSON_AddItemToArray(ids, cJSON_CreateString(id));
		url = path_url(qc, rt->write_path, NULL, NULL);
	} else {
		url = path_url(qc, rt->write_path, id, NULL);
	}
	int rc = url ? send_json(qc, "DELETE", url, body, QOP_DELETE, &r, err, errn) : -ENOMEM;
	qresp_clear(&r);
	free(url);
	cJSON_Delete(body);
	if (rc == -EBUSY && rt->del == DEL_BATCH)
		rc = -ENOTEMPTY; /* 409: the store still has assets */
	return rc;
}
