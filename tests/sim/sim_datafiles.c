/*
 * sim_datafiles.c - /api/v1/data-files: list (opaque page cursor, scope =
 * personal space / connection / all spaces, folder filters), get, multipart
 * upload and re-upload/rename/move, delete (recursive for folders), batch
 * delete (207), connections and quotas.
 *
 * Invariants: a file's "name" is its full '/'-separated path; every parent
 * folder exists as a folder record (folder:true, size 0) in the same scope
 * (a space, or one user's personal space); names are unique per scope
 * (case-insensitive).  Stored content is counted in t->stored_bytes, bounded by
 * SIM_MAX_STORED.  Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const allowed_ext[] = { "csv", "dat", "fix", "htm", "html", "kml", "log",
					   "php", "prn", "qvd", "qvo", "qvs", "qvx", "skv",
					   "tab", "txt", "xls", "xlsm", "xlsx", "xlw", "xml" };
#define N_EXT (sizeof(allowed_ext) / sizeof(allowed_ext[0]))
static const char *const df_actions[] = { "read", "update", "delete", "list", "change_owner",
					  "change_space" };

#define MAX_FILE_SIZE 524288000.0

/* ----------------------------------------------------------- multipart */

struct part {
	char name[32];
	const char *data;
	size_t len;
};

/* Parses a multipart/form-data body into at most max parts; returns count or -EINVAL. */
static int multipart_parse(const char *ctype, const char *body, size_t n, struct part *parts,
			   int max)
{
	if (!ctype || strncasecmp(ctype, "multipart/form-data", 19))
		return -EINVAL;
	const char *b = strcasestr(ctype, "boundary=");
	if (!b)
		return -EINVAL;
	b += 9;
	char bnd[200];
	size_t bl = 0;
	if (*b == '"') {
		b++;
		while (*b && *b != '"' && bl + 1 < sizeof(bnd) - 4)
			bnd[bl++] = *b++;
	} else {
		while (*b && *b != ';' && *b != ' ' && bl + 1 < sizeof(bnd) - 4)
			bnd[bl++] = *b++;
	}
	if (!bl)
		return -EINVAL;
	char delim[210];
	int dl = snprintf(delim, sizeof(delim), "--%.*s", (int)bl, bnd);
	const char *end = body + n;
	const char *p = memmem(body, n, delim, (size_t)dl);
	int np = 0;
	while (p) {
		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return np; /* closing delimiter */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (end - p >= 1 && p[0] == '\n')
			p += 1;
		const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		size_t hskip = 4;
		if (!hend) {
			hend = memmem(p, (size_t)(end - p), "\n\n", 2);
			hskip = 2;
		}
		if (!hend)
			return -EINVAL;
		char *hdr = strndup(p, (size_t)(hend - p));
		if (!hdr)
			return -ENOMEM;
		const char *data = hend + hskip;
		char ndelim[214];
		int ndl = snprintf(ndelim, sizeof(ndelim), "\r\n%s", delim);
		const char *next = memmem(data, (size_t)(end - data), ndelim, (size_t)ndl);
		size_t dlen;
		if (next) {
			dlen = (size_t)(next - data);
			next += 2;
		} else {
			next = memmem(data, (size_t)(end - data), delim, (size_t)dl);
			if (!next) {
				free(hdr);
				return -EINVAL;
			}
			dlen = (size_t)(next - data);
			if (dlen && data[dlen - 1] == '\n')
				dlen--;
		}
		const char *nm = strcasestr(hdr, "name=\"");
		/* skip "filename=" matches */
		while (nm && nm > hdr && (nm[-1] != ' ' && nm[-1] != ';'))
			nm = strcasestr(nm + 1, "name=\"");
		if (nm && np < max) {
			nm += 6;
			size_t k = 0;
			while (nm[k] && nm[k] != '"' && k + 1 < sizeof(parts[np].name)) {
				parts[np].name[k] = nm[k];
				k++;
			}
			parts[np].name[k] = 0;
			parts[np].data = data;
			parts[np].len = dlen;
			np++;
		}
		free(hdr);
		p = next;
	}
	return -EINVAL;
}

static const struct part *part_get(const struct part *p, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcasecmp(p[i].name, name))
			return &p[i];
	return NULL;
}

/* -------------------------------------------------------------- model */

cJSON *render_df(struct sim_ctx *c, struct rec *r)
{
	(void)c;
	cJSON *o = cJSON_Duplicate(r->j, 1);
	if (o)
		cJSON_AddItemToObject(o, "actions", jstrarr(df_actions, 6));
	return o;
}

static bool in_scope(const struct rec *r, const char *space, const char *owner)
{
	const char *sp = jstr(r->j, "spaceId");
	if (space)
		return sp && !strcmp(sp, space);
	const char *ow = jstr(r->j, "ownerId");
	return !sp && ow && owner && !strcmp(ow, owner);
}

static struct rec *df_find(struct sim_tenant *t, const char *space, const char *owner,
			   const char *name)
{
	for (size_t i = 0; i < t->files.n; i++) {
		struct rec *r = t->files.v[i];
		const char *n = jstr(r->j, "name");
		if (n && !strcasecmp(n, name) && in_scope(r, space, owner))
			return r;
	}
	return NULL;
}

static void set_path_fields(struct sim_tenant *t, struct rec *r, const char *name,
			    const char *space, const char *owner)
{
	const char *slash = strrchr(name, '/');
	jset_str(r->j, "name", name);
	jset_str(r->j, "baseName", slash ? slash + 1 : name);
	if (slash) {
		char *fp = strndup(name, (size_t)(slash - name));
		struct rec *f = fp ? df_find(t, space, owner, fp) : NULL;
		jset_str(r->j, "folderId", f ? f->id : NULL);
		jset_str(r->j, "folderPath", fp);
		free(fp);
	} else {
		jset_str(r->j, "folderId", NULL);
		jset_str(r->j, "folderPath", NULL);
	}
}

static struct rec *df_new(struct sim_tenant *t, const char *name, const char *space,
			  const char *owner, const unsigned char *data, size_t n, bool folder,
			  long long now)
{
	char id[37], ts[40];
	gen_uuid(t, id);
	fmt_ms(ts, sizeof(ts), now);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	struct rec *r = rec_new(id, o);
	if (!r) {
		cJSON_Delete(o);
		return NULL;
	}
	set_path_fields(t, r, name, space, owner);
	cJSON_AddBoolToObject(o, "folder", folder);
	cJSON_AddNumberToObject(o, "size", folder ? 0 : (double)n);
	cJSON_AddStringToObject(o, "ownerId", owner);
	if (space)
		cJSON_AddStringToObject(o, "spaceId", space);
	cJSON_AddNullToObject(o, "appId");
	cJSON_AddStringToObject(o, "createdDate", ts);
	cJSON_AddStringToObject(o, "modifiedDate", ts);
	if (folder)
		cJSON_AddNullToObject(o, "contentUpdatedDate");
	else
		cJSON_AddStringToObject(o, "contentUpdatedDate", ts);
	if (!folder) {
		r->blob = malloc(n ? n : 1);
		if (!r->blob) {
			rec_free(r);
			return NULL;
		}
		if (n)
			memcpy(r->blob, data, n);
		r->blob_len = n;
		t->stored_bytes += n;
	}
	if (coll_add(&t->files, r)) {
		t->stored_bytes -= r->blob_len;
		rec_free(r);
		return NULL;
	}
	return r;
}

/* Creates missing parent folders of name; returns 0 or -ENOMEM / -ENOTDIR. */
static int ensure_folders(struct sim_tenant *t, const char *name, const char *space,
			  const char *owner, long long now)
{
	char *buf = strdup(name);
	if (!buf)
		return -ENOMEM;
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		struct rec *f = df_find(t, space, owner, buf);
		if (!f) {
			if (!df_new(t, buf, space, owner, NULL, 0, true, now)) {
				free(buf);
				return -ENOMEM;
			}
		} else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->j, "folder"))) {
			free(buf);
			return -ENOTDIR;
		}
		*p = '/';
	}
	free(buf);
	return 0;
}

int df_seed_file(struct sim_tenant *t, const char *name, const char *space, const char *owner,
		 const unsigned char *data, size_t n, long long created)
{
	if (ensure_folders(t, name, space, owner, created))
		return -ENOMEM;
	return df_new(t, name, space, owner, data, n, false, created) ? 0 : -ENOMEM;
}

/* 0 ok, else replies with 400 (DF-010 / DF-011 / bad name) and returns 1. */
static int check_name(struct sim_ctx *c, const char *name, bool folder)
{
	if (!name || !*name || name[0] == '/' || name[strlen(name) - 1] == '/' ||
	    strstr(name, "//") || strcspn(name, "<>\":|?*") != strlen(name) ||
	    strlen(name) > 1024)
		return reply_err(c, 400, "DF-004", "Invalid name", "the name is not valid"), 1;
	if (folder)
		return 0;
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *dot = strrchr(base, '.');
	if (!dot || !dot[1])
		return reply_err(c, 400, "DF-011", "Missing file extension",
				 "the file name has no extension"), 1;
	for (size_t i = 0; i < N_EXT; i++)
		if (!strcasecmp(dot + 1, allowed_ext[i]))
			return 0;
	char *d = xasprintf("the extension '%s' is not allowed", dot + 1);
	reply_err(c, 400, "DF-010", "Invalid file extension", d);
	free(d);
	return 1;
}

static bool is_folder(const struct rec *r)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->j, "folder"));
}

/* Resolves connectionId -> space id; replies 400 DF-009 and returns false if unknown. */
static bool conn_space(struct sim_ctx *c, const char *conn, const char **space)
{
	*space = NULL;
	if (!conn || !*conn)
		return true;
	struct rec *s = space_by_conn(c->t, conn);
	if (!s) {
		reply_err(c, 400, "DF-009", "Space not found",
			  "the connection does not refer to an existing space");
		return false;
	}
	*space = s->id;
	return true;
}

static const char *scope_owner(struct sim_ctx *c, const char *space)
{
	return space ? NULL : c->caller;
}

/* ----------------------------------------------------------- handlers */

static bool visible(struct sim_ctx *c, struct rec *r)
{
	return jstr(r->j, "spaceId") || in_scope(r, NULL, c->caller);
}

int h_df_list(struct sim_ctx *c)
{
	static const char *const allowed[] = { "name",	       "name",		"size",
					       "size",	       "modifiedDate", "modifiedDate",
					       "folder",       "folder",	"baseName",
					       "baseName",     NULL };
	struct sim_tenant *t = c->t;
	struct sortspec s;
	long limit;
	if (q_limit(c, "limit", 20, 1, 1000, &limit))
		return 0;
	const char *sort = q_get(c, "sort");
	if (sort_parse(&s, sort && *sort ? sort : "+name", allowed))
		return reply_err(c, 400, "DF-002", "Invalid sort", "invalid sort field");
	const char *conn = q_get(c, "connectionId"), *fid = q_get(c, "folderId");
	const char *fpath = q_get(c, "folderPath"), *name = q_get(c, "name");
	const char *wild = q_get(c, "baseNameWildcard"), *owner = q_get(c, "ownerId");
	const char *notowner = q_get(c, "notOwnerId");
	bool all = q_bool(c, "includeAllSpaces"), excl_sub = q_bool(c, "excludeSubFolders");
	bool inc_folders = q_bool(c, "includeFolders"), excl_files = q_bool(c, "excludeFiles");
	const char *space = NULL;
	if (fid && *fid && fpath && *fpath)
		return reply_err(c, 400, "DF-003", "Bad request",
				 "folderId and folderPath cannot both be set");
	if (!conn_space(c, conn, &space))
		return 0;
	bool have_conn = conn && *conn;
	const char *base = NULL;
	if (fid && *fid) {
		struct rec *f = coll_get(&t->files, fid);
		if (!f || !is_folder(f) || !visible(c, f))
			return reply_err(c, 404, "DF-005", "Folder not found", "no such folder");
		base = jstr(f->j, "name");
	} else if (fpath && *fpath) {
		base = fpath;
	}
	size_t bl = base ? strlen(base) : 0;
	struct rec **v = malloc((t->files.n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < t->files.n; i++) {
		struct rec *r = t->files.v[i];
		if (have_conn ? !in_scope(r, space, NULL)
			      : all ? !visible(c, r) : !in_scope(r, NULL, c->caller))
			continue;
		bool fold = is_folder(r);
		if ((fold && !inc_folders) || (!fold && excl_files))
			continue;
		const char *nm = jstr(r->j, "name"), *fp = jstr(r->j, "folderPath");
		if (base) {
			if (strncmp(nm, base, bl) || nm[bl] != '/')
				continue;
			if (excl_sub && (!fp || strcmp(fp, base)))
				continue;
		} else if (excl_sub && fp) {
			continue;
		}
		if (name && *name && strcasecmp(nm, name))
			continue;
		if (wild && *wild && fnmatch(wild, jstr(r->j, "baseName"), FNM_CASEFOLD))
			continue;
		if (owner && *owner && strcmp(owner, jstr(r->j, "ownerId")))
			continue;
		if (notowner && *notowner && !strcmp(notowner, jstr(r->j, "ownerId")))
			continue;
		v[n++] = r;
	}
	cJSON *out = cJSON_CreateObject();
	int rc = page_cursor(c, v, n, &s, limit, "page", "page", 1, render_df, out, "DF-001");
	free(v);
	if (rc || c->resp->status) {
		cJSON_Delete(out);
		return rc;
	}
	return reply_json(c, 200, out);
}

static struct rec *df_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->files, c->ids[0]);
	if (!r || !visible(c, r)) {
		reply_err(c, 404, "HTTP-404", "Not found", "data file not found");
		return NULL;
	}
	return r;
}

int h_df_get(struct sim_ctx *c)
{
	struct rec *r = df_or_404(c);
	return r ? reply_json(c, 200, render_df(c, r)) : 0;
}

/* Content source for an upload: File part, sourceId or tempContentFileId. */
static int upload_content(struct sim_ctx *c, const struct part *file, const cJSON *js,
			  const char **data, size_t *n, bool *have)
{
	const char *src = jstr(js, "sourceId"), *tmp = jstr(js, "tempContentFileId");
	*have = true;
	if (file) {
		*data = file->data;
		*n = file->len;
	} else if (src && *src) {
		struct rec *s = coll_get(&c->t->files, src);
		if (!s || is_folder(s))
			return reply_err(c, 404, "HTTP-404", "Not found", "source not found"), 1;
		*data = (const char *)s->blob;
		*n = s->blob_len;
	} else if (tmp && *tmp) {
		struct rec *s = coll_get(&c->t->temps, tmp);
		if (!s)
			return reply_err(c, 404, "HTTP-404", "Not found", "temp content not found"),
			       1;
		*data = (const char *)s->blob;
		*n = s->blob_len;
	} else {
		*have = false;
		*data = NULL;
		*n = 0;
	}
	if (*n > MAX_FILE_SIZE)
		return reply_err(c, 413, "DF-014", "File too large", "maximum file size exceeded"),
		       1;
	if (c->t->stored_bytes + *n > SIM_MAX_STORED)
		return reply_err(c, 413, "DF-016", "Quota exceeded", "storage quota exceeded"), 1;
	return 0;
}

static cJSON *parse_json_part(const struct part *p)
{
	return p ? cJSON_ParseWithLength(p->data, p->len) : NULL;
}

int h_df_create(struct sim_ctx *c)
{
	struct part parts[8];
	int np = multipart_parse(c->content_type, c->body ? c->body : "", c->body_len, parts, 8);
	if (np < 0)
		return reply_err(c, 400, "HTTP-400", "Bad request", "invalid multipart body");
	cJSON *js = parse_json_part(part_get(parts, np, "Json"));
	const char *name = jstr(js, "name"), *space = NULL, *data;
	size_t n;
	bool have, folder = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(js, "folder"));
	char *full = NULL;
	int rc = 0;
	if (!cJSON_IsObject(js) || !name) {
		rc = reply_err(c, 400, "HTTP-400", "Bad request", "Json part with name required");
		goto out;
	}
	if (!conn_space(c, jstr(js, "connectionId"), &space))
		goto out;
	const char *fid = jstr(js, "folderId");
	if (fid && *fid) {
		struct rec *f = coll_get(&c->t->files, fid);
		if (!f || !is_folder(f)) {
			rc = reply_err(c, 400, "DF-005", "Parent folder not found", "no such folder");
			goto out;
		}
		full = xasprintf("%s/%s", jstr(f->j, "name"), name);
	} else {
		full = strdup(name);
	}
	if (!full) {
		rc = -ENOMEM;
		goto out;
	}
	if (check_name(c, full, folder))
		goto out;
	if (upload_content(c, part_get(parts, np, "File"), js, &data, &n, &have))
		goto out;
	if (!have && !folder) {
		rc = reply_err(c, 400, "HTTP-400", "Bad request", "File part required");
		goto out;
	}
	const char *owner = scope_owner(c, space);
	if (df_find(c->t, space, owner ? owner : c->caller, full)) {
		rc = reply_err(c, 409, "HTTP-409", "Conflict",
			       "a file with that name already exists in this space");
		goto out;
	}
	if (ensure_folders(c->t, full, space, c->caller, c->now)) {
		rc = reply_err(c, 409, "HTTP-409", "Conflict", "a parent path is a file");
		goto out;
	}
	struct rec *r = df_new(c->t, full, space, c->caller, (const unsigned char *)data, n, folder,
			       c->now);
	rc = r ? reply_json(c, 201, render_df(c, r)) : -ENOMEM;
out:
	free(full);
	cJSON_Delete(js);
	return rc;
}

static void df_remove(struct sim_tenant *t, struct rec *r)
{
	t->stored_bytes -= r->blob_len;
	rec_free(coll_remove(&t->files, r->id));
}

/* Deletes r and, for a folder, everything under it. */
static void df_delete_tree(struct sim_tenant *t, struct rec *r)
{
	if (is_folder(r)) {
		const char *sp = jstr(r->j, "spaceId"), *ow = jstr(r->j, "ownerId");
		char *pre = xasprintf("%s/", jstr(r->j, "name"));
		for (size_t i = t->files.n; pre && i-- > 0;) {
			struct rec *x = t->files.v[i];
			if (x != r && in_scope(x, sp, sp ? NULL : ow) &&
			    !strncmp(jstr(x->j, "name"), pre, strlen(pre))) {
				df_remove(t, x);
				if (i > t->files.n)
					i = t->files.n;
			}
		}
		free(pre);
	}
	df_remove(t, r);
}

int h_df_delete(struct sim_ctx *c)
{
	struct rec *r = df_or_404(c);
	if (!r)
		return 0;
	df_delete_tree(c->t, r);
	return reply_empty(c, 204);
}

static void batch_entry(cJSON *arr, const char *id, int status)
{
	cJSON *o = cJSON_CreateObject();
	char code[16];
	snprintf(code, sizeof(code), "HTTP-%d", status);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddNumberToObject(o, "status", status);
	cJSON_AddStringToObject(o, "code", code);
	if (status == 404)
		cJSON_AddStringToObject(o, "title", "Not found");
	cJSON_AddItemToArray(arr, o);
}

int h_df_batch_delete(struct sim_ctx *c)
{
	cJSON *b = parse_body(c), *e;
	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		return reply_err(c, 400, "HTTP-400", "Bad request", "JSON object body required");
	}
	cJSON *out = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(out, "data");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(b, "delete"))
	{
		const char *id = jstr(e, "id");
		if (!id)
			continue;
		struct rec *r = coll_get(&c->t->files, id);
		if (r && visible(c, r)) {
			df_delete_tree(c->t, r);
			batch_entry(arr, id, 204);
		} else {
			batch_entry(arr, id, 404);
		}
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(b, "deleteAllBySpace"))
	{
		const char *sid = jstr(e, "id");
		for (size_t i = c->t->files.n; sid && i-- > 0;) {
			if (i >= c->t->files.n)
				continue;
			struct rec *r = c->t->files.v[i];
			if (in_scope(r, sid, NULL)) {
				batch_entry(arr, r->id, 204);
				df_remove(c->t, r);
			}
		}
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "deleteAllFromPersonalSpace"))) {
		for (size_t i = c->t->files.n; i-- > 0;) {
			if (i >= c->t->files.n)
				continue;
			struct rec *r = c->t->files.v[i];
			if (in_scope(r, NULL, c->caller)) {
				batch_entry(arr, r->id, 204);
				df_remove(c->t, r);
			}
		}
	}
	cJSON_Delete(b);
	return reply_json(c, 207, out);
}

int h_df_put(struct sim_ctx *c)
{
	struct rec *r = df_or_404(c);
	if (!r)
		return 0;
	struct part parts[8];
	int np = multipart_parse(c->content_type, c->body ? c->body : "", c->body_len, parts, 8);
	if (np < 0)
		return reply_err(c, 400, "HTTP-400", "Bad request", "invalid multipart body");
	const struct part *jp = part_get(parts, np, "Json");
	cJSON *js = jp ? parse_json_part(jp) : cJSON_CreateObject();
	const char *data, *space = jstr(r->j, "spaceId");
	size_t n;
	bool have, folder = is_folder(r);
	char *newname = NULL, *space_copy = NULL;
	int rc = 0;
	if (!cJSON_IsObject(js)) {
		rc = reply_err(c, 400, "HTTP-400", "Bad request", "invalid Json part");
		goto out;
	}
	const char *conn = jstr(js, "connectionId");
	if (conn && !conn_space(c, conn, &space))
		goto out;
	if (!conn && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(js, "connectionId")))
		space = NULL;
	/* r's own spaceId is rewritten below: keep the value, not a pointer into r */
	if (space && !(space = space_copy = strdup(space))) {
		rc = -ENOMEM;
		goto out;
	}
	const char *nm = jstr(js, "name"), *fid = jstr(js, "folderId");
	if (fid && *fid) {
		struct rec *f = coll_get(&c->t->files, fid);
		if (!f || !is_folder(f)) {
			rc = reply_err(c, 400, "DF-005", "Parent folder not found", "no such folder");
			goto out;
		}
		const char *bn = nm ? nm : jstr(r->j, "baseName");
		newname = xasprintf("%s/%s", jstr(f->j, "name"), bn);
	} else {
		newname = strdup(nm ? nm : jstr(r->j, "name"));
	}
	if (!newname) {
		rc = -ENOMEM;
		goto out;
	}
	if (check_name(c, newname, folder))
		goto out;
	if (upload_content(c, part_get(parts, np, "File"), js, &data, &n, &have))
		goto out;
	const char *owner = space ? NULL : jstr(r->j, "ownerId");
	struct rec *clash = df_find(c->t, space, owner, newname);
	if (clash && clash != r) {
		rc = reply_err(c, 409, "HTTP-409", "Conflict", "target name exists");
		goto out;
	}
	char *oldname = strdup(jstr(r->j, "name"));
	if (!oldname || ensure_folders(c->t, newname, space, owner ? owner : c->caller, c->now)) {
		free(oldname);
		rc = reply_err(c, 409, "HTTP-409", "Conflict", "a parent path is a file");
		goto out;
	}
	const char *oldspace = jstr(r->j, "spaceId");
	char *oldsp = oldspace ? strdup(oldspace) : NULL;
	if (folder) { /* move/rename the subtree */
		size_t ol = strlen(oldname);
		for (size_t i = 0; i < c->t->files.n; i++) {
			struct rec *x = c->t->files.v[i];
			const char *xn = jstr(x->j, "name");
			if (x == r || !in_scope(x, oldsp, oldsp ? NULL : jstr(r->j, "ownerId")) ||
			    strncmp(xn, oldname, ol) || xn[ol] != '/')
				continue;
			char *nn = xasprintf("%s%s", newname, xn + ol);
			if (!nn)
				continue;
			if (space)
				jset_str(x->j, "spaceId", space);
			else
				cJSON_DeleteItemFromObjectCaseSensitive(x->j, "spaceId");
			set_path_fields(c->t, x, nn, space, owner ? owner : c->caller);
			free(nn);
		}
	}
	free(oldsp);
	free(oldname);
	if (space)
		jset_str(r->j, "spaceId", space);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(r->j, "spaceId");
	set_path_fields(c->t, r, newname, space, owner ? owner : c->caller);
	if (folder) /* children's folderId may refer to the renamed folder's new path */
		for (size_t i = 0; i < c->t->files.n; i++) {
			struct rec *x = c->t->files.v[i];
			const char *fp = jstr(x->j, "folderPath");
			if (fp && !strcmp(fp, newname))
				jset_str(x->j, "folderId", r->id);
		}
	char ts[40];
	fmt_ms(ts, sizeof(ts), c->now);
	jset_str(r->j, "modifiedDate", ts);
	if (have && !folder) {
		unsigned char *nb = malloc(n ? n : 1);
		if (!nb) {
			rc = -ENOMEM;
			goto out;
		}
		if (n)
			memcpy(nb, data, n);
		c->t->stored_bytes -= r->blob_len;
		free(r->blob);
		r->blob = nb;
		r->blob_len = n;
		c->t->stored_bytes += n;
		jset_num(r->j, "size", (double)n);
		jset_str(r->j, "contentUpdatedDate", ts);
		jset_str(r->j, "ownerId", c->caller);
	}
	rc = reply_json(c, 201, render_df(c, r));
out:
	free(newname);
	free(space_copy);
	cJSON_Delete(js);
	return rc;
}

static cJSON *conn_json(struct rec *s)
{
	cJSON *o = cJSON_CreateObject();
	char *cs = xasprintf("CUSTOM CONNECT TO \"provider=qix-datafiles.exe;path=%s:datafiles;\"",
			     jstr(s->j, "name"));
	cJSON_AddStringToObject(o, "id", s->aux);
	cJSON_AddStringToObject(o, "name", "DataFiles");
	cJSON_AddStringToObject(o, "type", "qix-datafiles.exe");
	cJSON_AddStringToObject(o, "connectStatement", cs ? cs : "");
	cJSON_AddStringToObject(o, "spaceId", s->id);
	free(cs);
	return o;
}

int h_df_connections(struct sim_ctx *c)
{
	static const char *const allowed[] = { "spaceId", "spaceId", "name", "name", NULL };
	struct sim_tenant *t = c->t;
	struct sortspec s;
	long limit;
	if (q_limit(c, "limit", 20, 1, 1000, &limit))
		return 0;
	const char *sort = q_get(c, "sort");
	if (sort_parse(&s, sort && *sort ? sort : "+spaceId", allowed))
		return reply_err(c, 400, "DF-002", "Invalid sort", "invalid sort field");
	const char *sid = q_get(c, "spaceId");
	struct rec **v = calloc(t->spaces.n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < t->spaces.n; i++) {
		struct rec *sp = t->spaces.v[i];
		if (!sp->aux || (sid && *sid && strcmp(sid, sp->id)))
			continue;
		struct rec *r = rec_new(sp->aux, conn_json(sp));
		if (!r) {
			rc = -ENOMEM;
			break;
		}
		v[n++] = r;
	}
	cJSON *out = cJSON_CreateObject();
	if (!rc)
		rc = page_cursor(c, v, n, &s, limit, "page", "page", 1, render_plain, out, "DF-001");
	for (size_t i = 0; i < n; i++)
		rec_free(v[i]);
	free(v);
	if (rc || c->resp->status) {
		cJSON_Delete(out);
		return rc;
	}
	return reply_json(c, 200, out);
}

int h_df_connection_get(struct sim_ctx *c)
{
	struct rec *s = space_by_conn(c->t, c->ids[0]);
	if (!s)
		return reply_err(c, 404, "HTTP-404", "Not found", "connection not found");
	return reply_json(c, 200, conn_json(s));
}

int h_df_quotas(struct sim_ctx *c)
{
	cJSON *o = cJSON_CreateObject();
	static const char *const internal[] = { "parquet", "json", "qvf" };
	cJSON_AddNumberToObject(o, "maxFileSize", MAX_FILE_SIZE);
	cJSON_AddNumberToObject(o, "maxLargeFileSize", 6442450944.0);
	cJSON_AddNumberToObject(o, "maxSize", (double)SIM_MAX_STORED);
	cJSON_AddNumberToObject(o, "size", (double)c->t->stored_bytes);
	cJSON_AddItemToObject(o, "allowedExtensions", jstrarr(allowed_ext, N_EXT));
	cJSON_AddItemToObject(o, "allowedInternalExtensions", jstrarr(internal, 3));
	return reply_json(c, 200, o);
}
