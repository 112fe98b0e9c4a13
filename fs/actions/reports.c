/*
 * reports.c - report requests and the registry of created requests; see
 * reports.h.
 *
 * Invariants of the registry: r->v[0..n) holds distinct ids in creation
 * order (oldest first) and equals the content of reports.json whenever the
 * lock is free: a change is written to a copy, persisted atomically, and
 * only then installed, so a failed write changes nothing.
 *
 * Locks: r->lock guards v, n and cap, and serialises the writes of
 * reports.json (statedir_write_atomic() needs one writer per file).  It is
 * held across that local write, never across a request.
 */
#include "actions/reports.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/jsonfmt.h"
#include "util/qtime.h"
#include "util/statedir.h"
#include "util/strmap.h"
#include "util/url.h"

#define REG_FILE_MAX ((size_t)16 << 20)
#define RESP_MAX ((size_t)4 << 20)

/* An id we can put in a URL segment and a file: no '/', bounded. */
static bool valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > REPORTS_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || id[i] == '/' || (unsigned char)id[i] >= 0x7f)
			return false;
	return true;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The part of an absolute URL after its origin. */
/* /api/v1/reports/{id}<suffix> on the tenant, or NULL. */
static char *report_url(struct qclient *qc, const char *id, const char *suffix)
{
	if (!valid_id(id))
		return NULL;
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/reports");
	url_seg(u, id);
	url_path(u, suffix);
	return url_finish(u);
}

/* ------------------------------------------------------------ requests */

/* The id in ".../reports/{id}/status". */
static char *id_from_location(const char *loc)
{
	const char *p = loc ? strstr(loc, "/reports/") : NULL;
	if (!p)
		return NULL;
	p += 9;
	char *id = strndup(p, strcspn(p, "/?#"));
	if (id && !valid_id(id)) {
		free(id);
		id = NULL;
	}
	return id;
}

static int check_request(const char *json, size_t len, cJSON **doc, char *err, size_t n)
{
	if (!json || !len || len > REPORTS_REQUEST_MAX) {
		errmsg_set(err, n, "a report request is a JSON document of 1 byte to %u KiB",
		    REPORTS_REQUEST_MAX >> 10);
		return -EINVAL;
	}
	cJSON *d = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(d)) {
		errmsg_set(err, n, "a report request must be a JSON object (the body of POST /api/v1/reports)");
		cJSON_Delete(d);
		return -EINVAL;
	}
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(d, "output");
	if (!jstr(d, "type") || !cJSON_IsObject(out) || !jstr(out, "type")) {
		errmsg_set(err, n, "a report request needs \"type\" and an \"output\" object with a "
			    "\"type\" (and \"outputId\")");
		cJSON_Delete(d);
		return -EINVAL;
	}
	*doc = d;
	return 0;
}

int reports_create(struct qclient *qc, const char *json, size_t len, char **id,
		   char **output_type, char *err, size_t n)
{
	cJSON *doc = NULL;
	int rc = check_request(json, len, &doc, err, n);
	if (rc)
		return rc;
	struct qcall call = { .method = "POST", .url = "/api/v1/reports", .body = json,
			      .body_len = len, .op = QOP_CREATE, .max_body = RESP_MAX };
	struct qresp r;
	rc = qclient_call(qc, &call, &r);
	char *rid = NULL, *otype = NULL;
	if (rc) {
		errmsg_set(err, n, "%s", r.errmsg);
	} else {
		const char *req_id = jstr(r.json, "requestId");
		rid = req_id && valid_id(req_id) ? strdup(req_id) : id_from_location(r.location);
		if (!rid) {
			errmsg_set(err, n, "POST /api/v1/reports: HTTP %ld without a request id", r.status);
			rc = -EIO;
		} else if (output_type &&
			   !(otype = strdup(jstr(cJSON_GetObjectItemCaseSensitive(doc, "output"),
						 "type")))) {
			rc = -ENOMEM;
		}
	}
	if (rc) {
		free(rid);
		free(otype);
	} else {
		*id = rid;
		if (output_type)
			*output_type = otype;
	}
	qresp_clear(&r);
	cJSON_Delete(doc);
	return rc;
}

int reports_status(struct qclient *qc, const char *id, cJSON **status, char *err, size_t n)
{
	char *url = report_url(qc, id, "/status");
	if (!url) {
		errmsg_set(err, n, "%.80s: not a report request id", id ? id : "");
		return -EINVAL;
	}
	int rc = qclient_get_json(qc, url, status, err, n);
	free(url);
	return rc;
}

static int add_output(void *arg, const cJSON *item)
{
	cJSON *copy = cJSON_Duplicate(item, 1);
	if (!copy)
		return -ENOMEM;
	cJSON_AddItemToArray(arg, copy);
	return 0;
}

int reports_outputs(struct qclient *qc, const char *id, cJSON **outputs, char *err, size_t n)
{
	char *url = report_url(qc, id, "/outputs");
	char *paged = url ? url_set_query_int(url, "limit", 100) : NULL;
	free(url);
	if (!paged) {
		errmsg_set(err, n, "%.80s: not a report request id", id ? id : "");
		return -EINVAL;
	}
	cJSON *arr = cJSON_CreateArray();
	long got = arr ? qclient_list(qc, paged, add_output, arr, NULL, err, n) : -ENOMEM;
	free(paged);
	if (got < 0) {
		cJSON_Delete(arr);
		return (int)got;
	}
	*outputs = arr;
	return 0;
}

int reports_download(struct qclient *qc, const char *location, int fd, long timeout_ms,
		     uint64_t *size, char *err, size_t n)
{
	const char *base = qclient_base(qc);
	char *url = NULL;
	if (location && location[0] == '/' && location[1] != '/')
		url = url_resolve(base, location);
	else if (location && url_same_origin(location, base))
		url = strdup(location);
	else if (location && (!strncmp(location, "http://", 7) || !strncmp(location, "https://", 8)))
		url = url_resolve(base, url_tail(location)); /* the credentials stay on the tenant */
	if (!url) {
		errmsg_set(err, n, "%.200s: not an output location", location ? location : "");
		return -EINVAL;
	}
	struct http_fd_sink d = { .fd = fd };
	int rc = http_fd_sink_reset(&d);
	if (rc) {
		errmsg_set(err, n, "report output: %s", strerrordesc_np(-rc));
		free(url);
		return rc;
	}
	struct qcall call = { .method = "GET", .url = url, .op = QOP_READ, .sink = http_fd_sink_write,
			      .sink_arg = &d, .sink_reset = http_fd_sink_reset, .timeout_ms = timeout_ms };
	struct qresp r;
	rc = qclient_call(qc, &call, &r);
	if (rc)
		errmsg_set(err, n, "%s", r.errmsg);
	else
		*size = d.off;
	qresp_clear(&r);
	free(url);
	return rc;
}

const char *reports_output_ext(const char *t)
{
	static const char *const map[][2] = {
		{ "pdf", "pdf" },	    { "pdfcomposition", "pdf" }, { "pptx", "pptx" },
		{ "pptxcomposition", "pptx" }, { "image", "png" },	 { "xlsx", "xlsx" },
		{ "excel", "xlsx" },	    { "html", "html" },		 { "csv", "csv" },
		{ "docx", "docx" },
	};
	for (size_t i = 0; t && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(t, map[i][0]))
			return map[i][1];
	return "bin";
}

/* ------------------------------------------------------------ registry */

struct reports_reg {
	char *dir;
	pthread_mutex_t lock;
	struct report_entry *v; /* GUARDED_BY(lock) */
	size_t n, cap;          /* GUARDED_BY(lock) */
};

static void copy_bounded(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static int persist(const char *dir, const struct report_entry *v, size_t n)
{
	cJSON *doc = cJSON_CreateObject(), *arr = NULL;
	if (doc && cJSON_AddNumberToObject(doc, "version", 1))
		arr = cJSON_AddArrayToObject(doc, "reports");
	for (size_t i = 0; arr && i < n; i++) {
		char ts[QTIME_BUFSZ];
		cJSON *e = cJSON_CreateObject();
		if (!e || qtime_format_ms(v[i].created_ms, ts, sizeof(ts)) < 0)
			ts[0] = '\0';
		if (!e || !cJSON_AddStringToObject(e, "id", v[i].id) ||
		    !cJSON_AddStringToObject(e, "name", v[i].name) ||
		    !cJSON_AddStringToObject(e, "outputType", v[i].output_type) ||
		    !cJSON_AddStringToObject(e, "created", ts)) {
			cJSON_Delete(e);
			arr = NULL;
			break;
		}
		cJSON_AddItemToArray(arr, e);
	}
	size_t len = 0;
	char *text = arr ? jsonfmt_pretty(doc, &len) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	int rc = statedir_write_atomic(dir, REPORTS_REG_FILE, text, len);
	free(text);
	return rc;
}

/* Parses the file's content into r (empty before). */
static int load(struct reports_reg *r, const char *text, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "reports"), *e;
	if (!cJSON_IsObject(doc) || !cJSON_IsArray(arr)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	if (cnt > REPORTS_REG_MAX) {
		cJSON_Delete(doc);
		return -EFBIG;
	}
	r->v = calloc(cnt ? cnt : 1, sizeof(*r->v));
	if (!r->v) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	r->cap = cnt ? cnt : 1;
	struct strmap *seen = strmap_new(); /* ids loaded: a repeated id keeps its first entry */
	if (!seen) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	cJSON_ArrayForEach(e, arr)
	{
		const char *id = jstr(e, "id"), *ts = jstr(e, "created");
		int64_t ms = 0;
		if (!valid_id(id) || strmap_get(seen, id))
			continue; /* hand-edited junk: skipped, dropped at the next write */
		if (strmap_put(seen, id, (void *)1)) {
			strmap_free(seen);
			cJSON_Delete(doc);
			return -ENOMEM;
		}
		struct report_entry *x = &r->v[r->n++];
		copy_bounded(x->id, sizeof(x->id), id);
		copy_bounded(x->name, sizeof(x->name), jstr(e, "name"));
		copy_bounded(x->output_type, sizeof(x->output_type), jstr(e, "outputType"));
		if (ts && qtime_parse_ms(ts, &ms) == 0)
			x->created_ms = ms;
	}
	strmap_free(seen);
	cJSON_Delete(doc);
	return 0;
}

int reports_reg_open(const char *state_dir, struct reports_reg **out)
{
	struct reports_reg *r = calloc(1, sizeof(*r));
	if (!r || !(r->dir = strdup(state_dir))) {
		free(r);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	char *text = NULL;
	size_t len = 0;
	int rc = statedir_read(state_dir, REPORTS_REG_FILE, REG_FILE_MAX, &text, &len);
	if (rc == -ENOENT)
		rc = 0;
	else if (rc == 0)
		rc = load(r, text, len);
	free(text);
	if (rc) {
		reports_reg_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void reports_reg_free(struct reports_reg *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->v);
	free(r->dir);
	free(r);
}

static ssize_t index_of(const struct reports_reg *r, const char *id)
{
	for (size_t i = 0; id && i < r->n; i++)
		if (!strcmp(r->v[i].id, id))
			return (ssize_t)i;
	return -1;
}

int reports_reg_add(struct reports_reg *r, const char *id, const char *name,
		    const char *output_type, int64_t created_ms)
{
	if (!valid_id(id))
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	if (index_of(r, id) >= 0) {
		rc = -EEXIST;
	} else if (r->n >= REPORTS_REG_MAX) {
		rc = -ENOSPC;
	} else if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct report_entry *v = realloc(r->v, cap * sizeof(*v));
		if (v) {
			r->v = v;
			r->cap = cap;
		} else {
			rc = -ENOMEM;
		}
	}
	if (!rc) {
		struct report_entry *x = &r->v[r->n]; /* installed only once written */
		memset(x, 0, sizeof(*x));
		copy_bounded(x->id, sizeof(x->id), id);
		copy_bounded(x->name, sizeof(x->name), name);
		copy_bounded(x->output_type, sizeof(x->output_type), output_type);
		x->created_ms = created_ms;
		rc = persist(r->dir, r->v, r->n + 1);
		if (!rc)
			r->n++;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* Keeps the entries for which drop() is false; persists, then installs. */
static int filter(struct reports_reg *r, bool (*drop)(const struct report_entry *, const void *),
		  const void *arg)
{
	struct report_entry *keep = malloc((r->n ? r->n : 1) * sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!drop(&r->v[i], arg))
			keep[k++] = r->v[i];
	int dropped = (int)(r->n - k);
	int rc = dropped ? persist(r->dir, keep, k) : 0;
	if (rc || !dropped) {
		free(keep);
		return rc;
	}
	free(r->v);
	r->v = keep;
	r->n = k;
	r->cap = r->n ? r->n : 1;
	return dropped;
}

static bool same_id(const struct report_entry *e, const void *id)
{
	return !strcmp(e->id, id);
}

static bool older(const struct report_entry *e, const void *before)
{
	return e->created_ms < *(const int64_t *)before;
}

int reports_reg_remove(struct reports_reg *r, const char *id)
{
	pthread_mutex_lock(&r->lock);
	int rc = index_of(r, id) < 0 ? -ENOENT : filter(r, same_id, id);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? rc : 0;
}

int reports_reg_prune(struct reports_reg *r, int64_t before_ms)
{
	pthread_mutex_lock(&r->lock);
	int rc = filter(r, older, &before_ms);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int reports_reg_get(struct reports_reg *r, const char *id, struct report_entry *out)
{
	pthread_mutex_lock(&r->lock);
	ssize_t i = index_of(r, id);
	if (i >= 0)
		*out = r->v[i];
	pthread_mutex_unlock(&r->lock);
	return i >= 0 ? 0 : -ENOENT;
}

int reports_reg_list(struct reports_reg *r, struct report_entry **out, size_t *n)
{
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	*out = NULL;
	*n = r->n;
	if (r->n && !(*out = malloc(r->n * sizeof(**out))))
		rc = -ENOMEM;
	else if (r->n)
		memcpy(*out, r->v, r->n * sizeof(**out));
	pthread_mutex_unlock(&r->lock);
	return rc;
}
