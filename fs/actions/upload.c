/*
 * upload.c - data-file uploads; see upload.h.
 *
 * Responsibility: refuse what the API would refuse (name rules, extension,
 * size) before sending a byte, then send one multipart request whose File
 * part streams from the caller's descriptor.  The tenant's quotas (allowed
 * extensions, maximum file size) are fetched lazily and reused for
 * quota_ttl_ms; a failed fetch is remembered for as long, so a tenant that
 * refuses GET /data-files/quotas costs one request per TTL, not one per
 * upload.
 *
 * Locks: u->lock guards the quota fields; it is never held across a request.
 */
#include "actions/upload.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "actions/multipart.h"
#include "util/opstats.h"
#include "util/url.h"
#include "util/clock.h"

#define DEFAULT_TIMEOUT_MS (10L * 60 * 1000)
#define DEFAULT_QUOTA_TTL_MS (10L * 60 * 1000)
#define MAX_EXTS 256
#define EXT_MAX 32
#define RESP_MAX ((size_t)1 << 20)

struct upload {
	struct qclient *qc;
	long timeout_ms, quota_ttl_ms;
	int64_t (*now_ms)(void);

	pthread_mutex_t lock;
	bool quota_tried;           /* GUARDED_BY(lock) */
	int64_t quota_at;           /* GUARDED_BY(lock): when it was (last) fetched */
	bool have_exts;             /* GUARDED_BY(lock) */
	char exts[MAX_EXTS][EXT_MAX]; /* GUARDED_BY(lock): lower case */
	size_t n_exts;              /* GUARDED_BY(lock) */
	double max_file_size;       /* GUARDED_BY(lock): 0 = unknown */
};

struct upload *upload_new(const struct upload_opts *o)
{
	struct upload *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->qc = o->client;
	u->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	u->quota_ttl_ms = o->quota_ttl_ms > 0 ? o->quota_ttl_ms : DEFAULT_QUOTA_TTL_MS;
	u->now_ms = o->now_ms ? o->now_ms : clock_mono_ms;
	pthread_mutex_init(&u->lock, NULL);
	return u;
}

void upload_free(struct upload *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* ------------------------------------------------------------ quotas */

/* Fetches the quotas when never fetched or older than the TTL. */
static void refresh_quota(struct upload *u)
{
	int64_t now = u->now_ms();
	pthread_mutex_lock(&u->lock);
	bool fresh = u->quota_tried && now - u->quota_at < u->quota_ttl_ms;
	pthread_mutex_unlock(&u->lock);
	if (fresh)
		return;

	cJSON *q = NULL;
	int rc = qclient_get_json(u->qc, "/api/v1/data-files/quotas", &q, NULL, 0);
	const cJSON *exts = rc ? NULL : cJSON_GetObjectItemCaseSensitive(q, "allowedExtensions");
	const cJSON *max = rc ? NULL : cJSON_GetObjectItemCaseSensitive(q, "maxFileSize");

	pthread_mutex_lock(&u->lock);
	u->quota_tried = true;
	u->quota_at = now;
	u->have_exts = cJSON_IsArray(exts) && cJSON_GetArraySize(exts) > 0;
	u->n_exts = 0;
	const cJSON *e, *list = u->have_exts ? exts : NULL;
	cJSON_ArrayForEach(e, list)
	{
		if (!cJSON_IsString(e) || strlen(e->valuestring) >= EXT_MAX ||
		    u->n_exts >= MAX_EXTS)
			continue;
		char *d = u->exts[u->n_exts++];
		const char *s = e->valuestring[0] == '.' ? e->valuestring + 1 : e->valuestring;
		size_t i = 0;
		for (; s[i]; i++)
			d[i] = (char)tolower((unsigned char)s[i]);
		d[i] = '\0';
	}
	u->max_file_size = cJSON_IsNumber(max) && max->valuedouble > 0 ? max->valuedouble : 0;
	pthread_mutex_unlock(&u->lock);
	cJSON_Delete(q);
}

/* 0 when ext is allowed (or the list is unknown); else -EINVAL with the list in err. */
static int check_ext(struct upload *u, const char *name, const char *ext, char *err, size_t n)
{
	int rc = 0;
	pthread_mutex_lock(&u->lock);
	if (u->have_exts) {
		rc = -EINVAL;
		for (size_t i = 0; i < u->n_exts; i++)
			if (!strcasecmp(ext, u->exts[i]))
				rc = 0;
		if (rc && err && n) {
			int o = snprintf(err, n, "%s: the extension \".%s\" is not allowed by the tenant "
					 "(allowed:", name, ext);
			for (size_t i = 0; i < u->n_exts && o > 0 && (size_t)o < n; i++)
				o += snprintf(err + o, n - (size_t)o, " %s", u->exts[i]);
			if (o > 0 && (size_t)o < n)
				snprintf(err + o, n - (size_t)o, ")");
		}
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* ------------------------------------------------------------ checks */

/* The rules of the name itself (reference: ^[^<>":\u0000|?*]+$, '/' separates
 * folders, an extension is required).  Sets *ext to the extension. */
static int check_name_rules(const char *name, const char **ext, char *err, size_t n)
{
	if (!name || !*name) {
		errmsg_set(err, n, "a data file needs a name");
		return -EINVAL;
	}
	size_t len = strnlen(name, UPLOAD_NAME_MAX + 1);
	if (len > UPLOAD_NAME_MAX) {
		errmsg_set(err, n, "%.64s...: the name is longer than the %d bytes the API accepts", name,
		    UPLOAD_NAME_MAX);
		return -EINVAL;
	}
	const char *bad = strpbrk(name, "<>\":|?*");
	if (bad) {
		errmsg_set(err, n, "%s: the character '%c' is not allowed in data-file names "
			    "(none of < > \" : | ? *)", name, *bad);
		return -EINVAL;
	}
	for (const char *seg = name;;) {
		const char *end = strchrnul(seg, '/');
		size_t sl = (size_t)(end - seg);
		if (sl == 0 || (sl == 1 && seg[0] == '.') || (sl == 2 && !strncmp(seg, "..", 2))) {
			errmsg_set(err, n, "%s: empty, \".\" or \"..\" folder names are not allowed", name);
			return -EINVAL;
		}
		if (!*end)
			break;
		seg = end + 1;
	}
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *dot = strrchr(base, '.');
	if (!dot || !dot[1]) {
		errmsg_set(err, n, "%s: a data file needs an extension (such as .csv, .qvd, .xlsx)", name);
		return -EINVAL;
	}
	*ext = dot + 1;
	return 0;
}

int upload_check(struct upload *u, const char *name, uint64_t size, char *err, size_t n)
{
	const char *ext;
	int rc = check_name_rules(name, &ext, err, n);
	if (rc)
		return rc;
	refresh_quota(u);
	if ((rc = check_ext(u, name, ext, err, n)))
		return rc;
	pthread_mutex_lock(&u->lock);
	double max = u->max_file_size;
	pthread_mutex_unlock(&u->lock);
	if (max > 0 && (double)size > max) {
		errmsg_set(err, n, "%s: %llu bytes is more than the tenant's maximum file size (%.0f bytes)",
		    name, (unsigned long long)size, max);
		return -EFBIG;
	}
	return 0;
}

/* ------------------------------------------------------------ upload */

static char *json_part(const char *name, const char *connection_id)
{
	cJSON *j = cJSON_CreateObject();
	if (!j || (name && !cJSON_AddStringToObject(j, "name", name)) ||
	    (connection_id && !cJSON_AddStringToObject(j, "connectionId", connection_id))) {
		cJSON_Delete(j);
		return NULL;
	}
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

/* Builds the multipart body: Json (when there is something to say), File. */
static int build_body(struct multipart **out, int fd, uint64_t size, const char *name,
		      const char *connection_id, bool create)
{
	struct multipart *m = multipart_new();
	if (!m)
		return -ENOMEM;
	int rc = 0;
	if (create || name || connection_id) {
		char *js = json_part(name, connection_id);
		rc = js ? multipart_add_data(m, "Json", NULL, "application/json", js, strlen(js))
			: -ENOMEM;
		free(js);
	}
	const char *base = name ? strrchr(name, '/') : NULL;
	base = base ? base + 1 : name ? name : "data";
	if (!rc)
		rc = multipart_add_fd(m, "File", base, "application/octet-stream", fd, size);
	if (!rc)
		rc = multipart_finish(m);
	if (rc) {
		multipart_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

static int upload_run(struct upload *u, int fd, uint64_t size, const char *name,
		      const char *connection_id, const char *replace_id, cJSON **out, char *err,
		      size_t n)
{
	bool create = !replace_id;
	int rc;
	if (create || name) {
		rc = upload_check(u, name, size, err, n);
		if (rc)
			return rc;
	}
	if (fd < 0 || (replace_id && !*replace_id)) {
		errmsg_set(err, n, "upload: bad arguments");
		return -EINVAL;
	}
	struct url_buf *ub = url_new(qclient_base(u->qc));
	url_path(ub, "/api/v1/data-files");
	if (replace_id)
		url_seg(ub, replace_id);
	char *url = url_finish(ub);
	struct multipart *m = NULL;
	if (!url || (rc = build_body(&m, fd, size, name, connection_id, create))) {
		free(url);
		errmsg_set(err, n, "%s: %s", name ? name : replace_id, url ? strerrordesc_np(-rc) : "bad id");
		return url ? rc : -EINVAL;
	}
	struct qcall call = {
		.method = create ? "POST" : "PUT",
		.url = url,
		.source = multipart_source(m),
		.content_type = multipart_content_type(m),
		.op = create ? QOP_CREATE : QOP_UPDATE,
		.timeout_ms = u->timeout_ms,
		.max_body = RESP_MAX,
	};
	struct qresp r;
	rc = qclient_call(u->qc, &call, &r);
	if (rc == 0 && !cJSON_IsObject(r.json)) {
		snprintf(r.errmsg, sizeof(r.errmsg), "%s %s: HTTP %ld without a data file object",
			 call.method, "/api/v1/data-files", r.status);
		rc = -EIO;
	}
	if (rc)
		errmsg_set(err, n, "%s", r.errmsg);
	else if (out) {
		*out = r.json;
		r.json = NULL;
	}
	qresp_clear(&r);
	multipart_free(m);
	free(url);
	return rc;
}

int upload_datafile(struct upload *u, int fd, uint64_t size, const char *name,
		    const char *connection_id, const char *replace_id, cJSON **out, char *err,
		    size_t n)
{
	/* shown in the status file while it runs */
	struct opstats_op *op = opstats_op_begin("upload", name ? name : replace_id, size);
	int rc = upload_run(u, fd, size, name, connection_id, replace_id, out, err, n);
	opstats_op_end(op);
	return rc;
}

int upload_connection_id(struct upload *u, const char *space_id, char **conn_id, char *err,
			 size_t n)
{
	struct url_buf *ub = url_new(qclient_base(u->qc));
	url_path(ub, "/api/v1/data-files/connections");
	url_query(ub, "spaceId", space_id);
	url_query(ub, "limit", "1");
	char *url = space_id && *space_id ? url_finish(ub) : (url_free(ub), NULL);
	if (!url) {
		errmsg_set(err, n, "data-files connection: bad space id");
		return -EINVAL;
	}
	cJSON *j = NULL;
	int rc = qclient_get_json(u->qc, url, &j, err, n);
	free(url);
	if (rc)
		return rc;
	const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
	if (cJSON_IsString(id) && id->valuestring[0]) {
		*conn_id = strdup(id->valuestring);
		rc = *conn_id ? 0 : -ENOMEM;
	} else {
		errmsg_set(err, n, "space %s has no data-files connection", space_id);
		rc = -ENOENT;
	}
	cJSON_Delete(j);
	return rc;
}
