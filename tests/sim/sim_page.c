/*
 * sim_page.c - sorting and the two pagination styles of the simulator.
 *
 * Cursor pagination (spaces, items, users, data files, report outputs) uses an
 * opaque cursor: base64url of {"d":dir,"k":[sort keys],"i":id} naming the row
 * a page ends (next) or starts (prev) at.  Rows are ordered by the sort keys
 * (case-insensitive) with the id as final tie-break, so a cursor stays valid
 * when rows are inserted or deleted between pages.  Offset pagination
 * (data-stores family) uses a 0-based integer page.
 *
 * Locking: called from handlers with t->mu held; no shared state here.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sent {
	struct rec *r;
	const char *k[SORT_MAX_KEYS];
	char num[SORT_MAX_KEYS][24];
};

int sort_parse(struct sortspec *s, const char *v, const char *const *allowed)
{
	memset(s, 0, sizeof(*s));
	if (!v || !*v)
		return 0;
	const char *p = v;
	while (*p) {
		const char *e = strchrnul(p, ',');
		int desc = 0;
		const char *f = p;
		if (*f == '-' || *f == '+' || *f == ' ') { /* '+' may arrive decoded as ' ' */
			desc = *f == '-';
			f++;
		}
		size_t len = (size_t)(e - f);
		if (s->n >= SORT_MAX_KEYS || !len)
			return -EINVAL;
		const char *field = NULL;
		for (size_t i = 0; allowed[i]; i += 2)
			if (strlen(allowed[i]) == len && !strncmp(allowed[i], f, len)) {
				field = allowed[i + 1];
				break;
			}
		if (!field)
			return -EINVAL;
		snprintf(s->k[s->n].field, sizeof(s->k[s->n].field), "%s", field);
		s->k[s->n].desc = desc;
		s->n++;
		p = *e ? e + 1 : e;
	}
	return 0;
}

static const char *key_of(struct rec *r, const char *field, char *num)
{
	if (!strcmp(field, "id"))
		return r->id;
	const cJSON *v = r->j;
	char tmp[48];
	const char *f = field;
	/* dotted path: "dataStoreInfo.name" */
	while (v && strchr(f, '.')) {
		size_t l = (size_t)(strchr(f, '.') - f);
		if (l >= sizeof(tmp))
			return "";
		memcpy(tmp, f, l);
		tmp[l] = 0;
		v = cJSON_GetObjectItemCaseSensitive(v, tmp);
		f += l + 1;
	}
	v = v ? cJSON_GetObjectItemCaseSensitive(v, f) : NULL;
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		snprintf(num, 24, "%020.0f", v->valuedouble);
		return num;
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "1" : "0";
	return "";
}

static int cmp_keys(const char *const *ka, const char *ia, const char *const *kb, const char *ib,
		    const struct sortspec *s)
{
	for (int i = 0; i < s->n; i++) {
		int d = strcasecmp(ka[i], kb[i]);
		if (!d)
			d = strcmp(ka[i], kb[i]);
		if (d)
			return s->k[i].desc ? -d : d;
	}
	return strcmp(ia, ib);
}

static int cmp_sent(const void *a, const void *b, void *arg)
{
	const struct sent *x = a, *y = b;
	return cmp_keys(x->k, x->r->id, y->k, y->r->id, arg);
}

static struct sent *build(struct rec **v, size_t n, const struct sortspec *s)
{
	struct sent *e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		e[i].r = v[i];
		for (int k = 0; k < s->n; k++)
			e[i].k[k] = key_of(v[i], s->k[k].field, e[i].num[k]);
	}
	qsort_r(e, n, sizeof(*e), cmp_sent, (void *)s);
	return e;
}

void sort_recs(struct rec **v, size_t n, const struct sortspec *s)
{
	struct sent *e = build(v, n, s);
	if (!e)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = e[i].r;
	free(e);
}

static char *cursor_make(const struct sent *e, const struct sortspec *s, const char *dir)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "d", dir);
	cJSON *k = cJSON_AddArrayToObject(o, "k");
	for (int i = 0; i < s->n; i++)
		cJSON_AddItemToArray(k, cJSON_CreateString(e->k[i]));
	cJSON_AddStringToObject(o, "i", e->r->id);
	char *js = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!js)
		return NULL;
	char *r = b64url_encode((unsigned char *)js, strlen(js));
	free(js);
	return r;
}

/* Decodes a cursor; returns the parsed object (caller deletes) or NULL. */
static cJSON *cursor_parse(const char *cur, const struct sortspec *s, const char *keys[],
			   const char **id, const char **dir)
{
	size_t n;
	unsigned char *raw = b64url_decode(cur, &n);
	if (!raw)
		return NULL;
	cJSON *o = cJSON_ParseWithLength((char *)raw, n);
	free(raw);
	if (!o)
		return NULL;
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "k");
	*id = jstr(o, "i");
	*dir = jstr(o, "d");
	if (!cJSON_IsArray(k) || cJSON_GetArraySize(k) != s->n || !*id || !*dir) {
		cJSON_Delete(o);
		return NULL;
	}
	for (int i = 0; i < s->n; i++) {
		const cJSON *x = cJSON_GetArrayItem(k, i);
		if (!cJSON_IsString(x)) {
			cJSON_Delete(o);
			return NULL;
		}
		keys[i] = x->valuestring;
	}
	return o;
}

static void add_href(cJSON *links, const char *name, char *href, bool null_ok)
{
	if (!href && !null_ok)
		return;
	cJSON *o = cJSON_CreateObject();
	if (href)
		cJSON_AddStringToObject(o, "href", href);
	else
		cJSON_AddNullToObject(o, "href");
	cJSON_AddItemToObject(links, name, o);
	free(href);
}

int page_cursor(struct sim_ctx *c, struct rec **v, size_t n, const struct sortspec *s, long limit,
		const char *cur_next, const char *cur_prev, int style, render_fn render, cJSON *out,
		const char *bad_cursor_code)
{
	bool same = !strcmp(cur_next, cur_prev);
	const char *nv = q_get(c, cur_next), *pv = same ? NULL : q_get(c, cur_prev);
	if (nv && pv)
		return reply_err(c, 400, bad_cursor_code, "Bad request",
				 "next and prev cannot be used together");
	struct sent *e = build(v, n, s);
	if (!e)
		return -ENOMEM;
	size_t start = 0, end = n;
	const char *cur = nv ? nv : pv;
	if (cur && *cur) {
		const char *keys[SORT_MAX_KEYS] = { 0 }, *id = NULL, *dir = NULL;
		cJSON *o = cursor_parse(cur, s, keys, &id, &dir);
		if (!o) {
			free(e);
			return reply_err(c, 400, bad_cursor_code, "Bad request", "invalid cursor");
		}
		bool fwd = same ? strcmp(dir, "p") != 0 : nv != NULL;
		size_t i = 0;
		if (fwd) {
			while (i < n && cmp_keys(e[i].k, e[i].r->id, keys, id, s) <= 0)
				i++;
			start = i;
		} else {
			while (i < n && cmp_keys(e[i].k, e[i].r->id, keys, id, s) < 0)
				i++;
			end = i;
			start = end > (size_t)limit ? end - (size_t)limit : 0;
		}
		cJSON_Delete(o);
	}
	size_t cnt = end - start < (size_t)limit ? end - start : (size_t)limit;
	cJSON *data = cJSON_AddArrayToObject(out, "data");
	for (size_t i = start; i < start + cnt; i++)
		cJSON_AddItemToArray(data, render(c, e[i].r));
	cJSON *links = cJSON_AddObjectToObject(out, "links");
	add_href(links, "self", self_link(c), false);
	char *nx = NULL, *pr = NULL;
	if (cnt && start + cnt < n) {
		char *cu = cursor_make(&e[start + cnt - 1], s, "n");
		nx = link_with(c, cur_next, cur_prev, cur_next, cu, NULL, NULL);
		free(cu);
	}
	if (cnt && start > 0) {
		char *cu = cursor_make(&e[start], s, "p");
		pr = link_with(c, cur_next, cur_prev, cur_prev, cu, NULL, NULL);
		free(cu);
	}
	add_href(links, "next", nx, style == 1);
	add_href(links, "prev", pr, style == 1);
	free(e);
	return 0;
}

int page_offset(struct sim_ctx *c, struct rec **v, size_t n, const struct sortspec *s,
		render_fn render, cJSON *out)
{
	long limit, page;
	if (q_limit(c, "limit", 20, 1, 100, &limit) || q_limit(c, "page", 0, 0, 1L << 30, &page))
		return 1;
	if (s->n)
		sort_recs(v, n, s);
	long total = (long)n;
	long pages = (total + limit - 1) / limit;
	cJSON *data = cJSON_AddArrayToObject(out, "data");
	for (long i = page * limit; i < total && i < (page + 1) * limit; i++)
		cJSON_AddItemToArray(data, render(c, v[i]));
	cJSON_AddNumberToObject(out, "page", (double)page);
	cJSON_AddNumberToObject(out, "limit", (double)limit);
	cJSON_AddNumberToObject(out, "pages", (double)pages);
	cJSON_AddNumberToObject(out, "total", (double)total);
	cJSON *links = cJSON_AddObjectToObject(out, "links");
	char pb[24], lb[24];
	snprintf(lb, sizeof(lb), "%ld", limit);
	snprintf(pb, sizeof(pb), "0");
	add_href(links, "first", link_with(c, NULL, NULL, "page", pb, "limit", lb), false);
	snprintf(pb, sizeof(pb), "%ld", pages > 0 ? pages - 1 : 0);
	add_href(links, "last", link_with(c, NULL, NULL, "page", pb, "limit", lb), false);
	snprintf(pb, sizeof(pb), "%ld", page);
	add_href(links, "self", link_with(c, NULL, NULL, "page", pb, "limit", lb), false);
	if (page + 1 < pages) {
		snprintf(pb, sizeof(pb), "%ld", page + 1);
		add_href(links, "next", link_with(c, NULL, NULL, "page", pb, "limit", lb), false);
	}
	if (page > 0) {
		snprintf(pb, sizeof(pb), "%ld", page - 1 < pages ? page - 1 : (pages ? pages - 1 : 0));
		add_href(links, "prev", link_with(c, NULL, NULL, "page", pb, "limit", lb), false);
	}
	return 0;
}
