/*
 * sim_reports.c - /api/v1/temp-contents (upload, download with expiry and a
 * single Range, details) and /api/v1/reports (asynchronous: POST 202, status
 * progressing queued -> processing -> done by server time, outputs pointing to
 * a temp content holding a small generated PDF-like blob; reports created
 * while the "report_fail" config knob is set end "failed" instead).
 *
 * Invariants: temp contents keep their bytes until sim_free(); after expiry
 * they answer 410.  A report's output temp content is created on the first
 * status/outputs request that sees the report done (rec->aux = its id).
 * Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --------------------------------------------------------- temp contents */

struct rec *temp_new(struct sim_tenant *t, const char *filename, const unsigned char *data,
		     size_t n, long ttl_s, const char *creator)
{
	char id[25], ts[40], sz[24];
	long long now = sim_now(t);
	gen_oid(t, now, id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ID", id);
	cJSON_AddStringToObject(o, "Name", filename);
	snprintf(sz, sizeof(sz), "%zu", n);
	cJSON_AddStringToObject(o, "Size", sz);
	cJSON_AddNumberToObject(o, "TTLSeconds", (double)ttl_s);
	fmt_ms(ts, sizeof(ts), now);
	cJSON_AddStringToObject(o, "CreatedAt", ts);
	cJSON_AddStringToObject(o, "UpdatedAt", ts);
	fmt_ms(ts, sizeof(ts), now + ttl_s * 1000LL);
	cJSON_AddStringToObject(o, "Expires", ts);
	cJSON_AddStringToObject(o, "CreatorID", creator ? creator : "");
	struct rec *r = rec_new(id, o);
	if (!r) {
		cJSON_Delete(o);
		return NULL;
	}
	r->blob = malloc(n ? n : 1);
	r->aux = strdup(filename);
	if (!r->blob || !r->aux) {
		rec_free(r);
		return NULL;
	}
	if (n)
		memcpy(r->blob, data, n);
	r->blob_len = n;
	r->t_ms = now + ttl_s * 1000LL;
	if (coll_add(&t->temps, r)) {
		rec_free(r);
		return NULL;
	}
	return r;
}

int h_temp_create(struct sim_ctx *c)
{
	const char *fn = q_get(c, "filename");
	long ttl;
	if (q_limit(c, "ttl", 3600, 1, 259200, &ttl))
		return 0;
	if (fn && (strchr(fn, '/') || strchr(fn, '\\') || strlen(fn) > 255))
		return reply_err(c, 400, NULL, "Bad request", "invalid filename");
	struct rec *r = temp_new(c->t, fn && *fn ? fn : "upload.bin",
				 (const unsigned char *)c->body, c->body_len, ttl, c->caller);
	if (!r)
		return -ENOMEM;
	char *loc = xasprintf("/api/v1/temp-contents/%s", r->id);
	if (!loc)
		return -ENOMEM;
	add_header(c, "Location", loc);
	free(loc);
	return reply_empty(c, 201);
}

static struct rec *temp_or_err(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->temps, c->ids[0]);
	if (!r) {
		reply_err(c, 404, NULL, "Not found", "temporary content not found");
		return NULL;
	}
	if (c->now >= r->t_ms) {
		reply_err(c, 410, NULL, "Gone", "temporary content expired");
		return NULL;
	}
	return r;
}

static const char *req_hdr(struct sim_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->req->n_headers; i++)
		if (!strcasecmp(c->req->headers[i].name, name))
			return c->req->headers[i].value;
	return NULL;
}

int h_temp_get(struct sim_ctx *c)
{
	struct rec *r = temp_or_err(c);
	if (!r)
		return 0;
	char *cd = xasprintf("%s; filename=\"%s\"", q_bool(c, "inline") ? "inline" : "attachment",
			     r->aux);
	if (cd)
		add_header(c, "Content-Disposition", cd);
	free(cd);
	if (!r->blob_len)
		return reply_empty(c, 204);
	const char *range = req_hdr(c, "Range");
	unsigned long long a, b;
	if (range && !strncmp(range, "bytes=", 6)) {
		int k = sscanf(range + 6, "%llu-%llu", &a, &b);
		if (k >= 1) {
			if (k == 1 || b >= r->blob_len)
				b = r->blob_len - 1;
			if (a > b || a >= r->blob_len) {
				char cr[64];
				snprintf(cr, sizeof(cr), "bytes */%zu", r->blob_len);
				add_header(c, "Content-Range", cr);
				return reply_err(c, 416, NULL, "Range Not Satisfiable", NULL);
			}
			char cr[96];
			snprintf(cr, sizeof(cr), "bytes %llu-%llu/%zu", a, b, r->blob_len);
			add_header(c, "Content-Range", cr);
			return reply_raw(c, 206, "application/octet-stream", r->blob + a,
					 (size_t)(b - a + 1));
		}
	}
	return reply_raw(c, 200, "application/octet-stream", r->blob, r->blob_len);
}

int h_temp_details(struct sim_ctx *c)
{
	struct rec *r = temp_or_err(c);
	return r ? reply_json(c, 200, cJSON_Duplicate(r->j, 1)) : 0;
}

/* --------------------------------------------------------------- reports */

static const char *const report_types[] = {
	"composition-1.0",	     "sense-image-1.0",
	"sense-sheet-1.0",	     "sense-data-1.0",
	"sense-excel-template-1.0", "sense-pixel-perfect-template-1.0",
	"sense-html-template-1.0",
};
static const char *const output_types[] = { "pdf",	     "pptx", "image",	  "xlsx",
					    "excel",	     "html", "pdfcomposition",
					    "pptxcomposition", "csv", "docx" };

static bool in_arr(const char *v, const char *const *a, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		if (!strcmp(v, a[i]))
			return true;
	return false;
}

/* Checks app references of one template holder; returns 0, 400 or 404. */
static int check_templates(struct sim_tenant *t, const cJSON *holder, bool *found)
{
	static const char *const tk[] = { "senseSheetTemplate", "senseImageTemplate",
					  "senseDataTemplate", "senseExcelTemplate",
					  "sensePixelPerfectTemplate", "senseHtmlTemplate" };
	for (size_t i = 0; i < sizeof(tk) / sizeof(tk[0]); i++) {
		const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(holder, tk[i]);
		if (!tpl)
			continue;
		*found = true;
		const char *app = jstr(tpl, "appId");
		if (!app) {
			if (cJSON_GetObjectItemCaseSensitive(tpl, "templateLocation"))
				continue;
			return 400;
		}
		if (!coll_get(&t->apps, app))
			return 404;
	}
	return 0;
}

int h_reports_create(struct sim_ctx *c)
{
	cJSON *b = parse_body(c);
	const char *type = jstr(b, "type");
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(b, "output");
	const char *oid = jstr(out, "outputId"), *otype = jstr(out, "type");
	int rc = 0, st = 0;
	bool found = false;
	if (!cJSON_IsObject(b) || !in_arr(type, report_types, 7) || !oid || !*oid ||
	    strpbrk(oid, " :") || strlen(oid) > 1000 || !in_arr(otype, output_types, 10)) {
		rc = reply_err(c, 400, "REP-400000", "Bad request",
			       "invalid type, output.outputId or output.type");
		goto out;
	}
	if (!strcmp(type, "composition-1.0")) {
		const cJSON *ct = cJSON_GetObjectItemCaseSensitive(b, "compositionTemplates"), *e;
		cJSON_ArrayForEach(e, ct)
		{
			int s2 = check_templates(c->t, e, &found);
			if (s2 > st)
				st = s2;
		}
	} else {
		st = check_templates(c->t, b, &found);
	}
	if (!found || st == 400) {
		rc = reply_err(c, 400, "REP-400000", "Bad request", "missing or invalid template");
		goto out;
	}
	if (st == 404) {
		rc = reply_err(c, 404, "REP-404001", "App not found",
			       "the template app does not exist");
		goto out;
	}
	char id[37];
	gen_uuid(c->t, id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", type);
	cJSON_AddStringToObject(j, "outputId", oid);
	cJSON_AddStringToObject(j, "outputType", otype);
	struct rec *r = rec_new(id, j);
	if (!r) {
		cJSON_Delete(j);
		rc = -ENOMEM;
		goto out;
	}
	r->t_ms = c->now;
	r->n = c->t->report_fail; /* 1: this one fails */
	if (coll_add(&c->t->reports, r)) {
		rec_free(r);
		rc = -ENOMEM;
		goto out;
	}
	char *loc = abs_url(c->base, "/api/v1/reports/%s/status", id);
	char *ou = abs_url(c->base, "/api/v1/reports/%s/outputs", id);
	if (loc)
		add_header(c, "Location", loc);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "message", "Report request accepted");
	cJSON_AddStringToObject(o, "requestId", id);
	cJSON_AddStringToObject(o, "outputsUrl", ou ? ou : "");
	free(loc);
	free(ou);
	rc = reply_json(c, 202, o);
out:
	cJSON_Delete(b);
	return rc;
}

static const char *report_state(struct sim_ctx *c, struct rec *r)
{
	long long el = c->now - r->t_ms, d = c->t->report_delay_ms;
	if (el < d)
		return "queued";
	if (el < 2 * d)
		return "processing";
	return r->n ? "failed" : "done";
}

static cJSON *failure_errors(void)
{
	cJSON *a = cJSON_CreateArray(), *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "code", "REP-500000");
	cJSON_AddStringToObject(e, "title", "Report generation failed");
	cJSON_AddStringToObject(e, "detail", "injected failure (report_fail)");
	cJSON_AddItemToArray(a, e);
	return a;
}

static const char *ext_for(const char *otype)
{
	if (!strcmp(otype, "pptx") || !strcmp(otype, "pptxcomposition"))
		return "pptx";
	if (!strcmp(otype, "image"))
		return "png";
	if (!strcmp(otype, "xlsx") || !strcmp(otype, "excel"))
		return "xlsx";
	if (!strcmp(otype, "html"))
		return "html";
	if (!strcmp(otype, "csv"))
		return "csv";
	if (!strcmp(otype, "docx"))
		return "docx";
	return "pdf";
}

/* Creates the output temp content once the report is done. */
static struct rec *report_output(struct sim_ctx *c, struct rec *r)
{
	if (r->aux)
		return coll_get(&c->t->temps, r->aux);
	const char *oid = jstr(r->j, "outputId"), *ot = jstr(r->j, "outputType");
	char *body = xasprintf("%%PDF-1.4\n%% qlik-sim report %s output %s (%s)\n1 0 obj "
			       "<< /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n",
			       r->id, oid, jstr(r->j, "type"));
	char *fn = xasprintf("%s.%s", oid, ext_for(ot));
	struct rec *tc = body && fn ? temp_new(c->t, fn, (unsigned char *)body, strlen(body), 3600,
					       c->caller)
				    : NULL;
	free(body);
	free(fn);
	if (tc)
		r->aux = strdup(tc->id);
	return tc;
}

static struct rec *report_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->reports, c->ids[0]);
	if (!r)
		reply_err(c, 404, "REP-404000", "Not found", "report request not found");
	return r;
}

int h_report_status(struct sim_ctx *c)
{
	struct rec *r = report_or_404(c);
	if (!r)
		return 0;
	const char *st = report_state(c, r);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", st);
	cJSON_AddNumberToObject(o, "resolutionAttempts", strcmp(st, "queued") ? 1 : 0);
	char *sl = xasprintf("/reports/%s/status", r->id);
	cJSON_AddStringToObject(o, "statusLocation", sl ? sl : "");
	free(sl);
	if (!strcmp(st, "failed")) {
		cJSON_AddItemToObject(o, "requestErrors", failure_errors());
		cJSON_AddItemToObject(o, "reasons", failure_errors());
	} else {
		cJSON_AddArrayToObject(o, "requestErrors");
	}
	if (!strcmp(st, "done")) {
		struct rec *tc = report_output(c, r);
		if (!tc) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		cJSON *res = cJSON_AddArrayToObject(o, "results");
		cJSON *e = cJSON_CreateObject();
		char *loc = abs_url(c->base, "/api/v1/temp-contents/%s?inline=1", tc->id);
		cJSON_AddStringToObject(e, "outputId", jstr(r->j, "outputId"));
		cJSON_AddStringToObject(e, "location", loc ? loc : "");
		free(loc);
		cJSON_AddItemToArray(res, e);
	}
	return reply_json(c, 200, o);
}

int h_report_outputs(struct sim_ctx *c)
{
	static const char *const allowed[] = { "outputId", "outputId", "sizeBytes", "sizeBytes",
					       NULL };
	struct rec *r = report_or_404(c);
	if (!r)
		return 0;
	struct sortspec s;
	long limit;
	if (q_limit(c, "limit", 20, 1, 100, &limit))
		return 0;
	const char *sort = q_get(c, "sort");
	if (sort_parse(&s, sort && *sort ? sort : "+outputId", allowed))
		return reply_err(c, 400, "REP-400000", "Bad request", "invalid sort");
	const char *st = report_state(c, r);
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "outputId", jstr(r->j, "outputId"));
	cJSON_AddStringToObject(e, "status", st);
	if (!strcmp(st, "done")) {
		struct rec *tc = report_output(c, r);
		if (!tc) {
			cJSON_Delete(e);
			return -ENOMEM;
		}
		char *loc = abs_url(c->base, "/api/v1/temp-contents/%s?inline=1", tc->id);
		cJSON_AddStringToObject(e, "location", loc ? loc : "");
		free(loc);
		cJSON_AddNumberToObject(e, "sizeBytes", (double)tc->blob_len);
	} else {
		cJSON_AddNumberToObject(e, "sizeBytes", 0);
	}
	if (!strcmp(st, "failed"))
		cJSON_AddItemToObject(e, "exportErrors", failure_errors());
	else
		cJSON_AddArrayToObject(e, "exportErrors");
	cJSON_AddArrayToObject(e, "cycleSelections");
	cJSON_AddStringToObject(e, "traceId", "0000000000000000");
	struct rec *tmp = rec_new(jstr(r->j, "outputId"), e);
	if (!tmp) {
		cJSON_Delete(e);
		return -ENOMEM;
	}
	const char *filter = q_get(c, "filter");
	size_t n = 1;
	if (filter && *filter) {
		const char *q1 = strchr(filter, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
		if (!q1 || !q2 || strncmp(filter, "outputId eq", 11)) {
			rec_free(tmp);
			return reply_err(c, 400, "REP-400000", "Bad request", "invalid filter");
		}
		n = (size_t)(q2 - q1 - 1) == strlen(tmp->id) && !strncmp(q1 + 1, tmp->id, strlen(tmp->id));
	}
	cJSON *out = cJSON_CreateObject();
	int rc = page_cursor(c, &tmp, n, &s, limit, "page", "page", 1, render_plain, out,
			     "REP-400000");
	rec_free(tmp);
	if (rc || c->resp->status) {
		cJSON_Delete(out);
		return rc;
	}
	return reply_json(c, 200, out);
}
