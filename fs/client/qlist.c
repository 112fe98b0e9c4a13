/*
 * qlist.c - walking every page of a list endpoint (qclient_list,
 * qclient_list_ex in client/qclient.h): cursor links, opaque and numbered
 * pages, a total that moved between pages.  Each page is one qclient call,
 * with its retries and deadline.
 */
#include "client/qclient.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/url.h"

#define MAX_PAGES 1000000 /* a bound on a listing that never ends */

/* A page number or count of a list page: a whole number in [0, 1e15], else -1
 * (a server's 1e300 or -5 must not reach an integer conversion). */
static long long page_number(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e15))
		return -1;
	return (long long)v->valuedouble;
}

/* The URL of the next page, or NULL at the end (or on OOM: *err set). */
static char *next_page_url(struct qclient *c, const char *cur, const cJSON *page, int *err)
{
	const cJSON *links = cJSON_GetObjectItemCaseSensitive(page, "links");
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(links, "next");
	const cJSON *href = cJSON_GetObjectItemCaseSensitive(next, "href");
	if (cJSON_IsString(href) && href->valuestring[0]) {
		char *abs = url_resolve(cur, href->valuestring);
		if (abs && !url_same_origin(abs, qclient_base(c))) {
			/* Never send the credentials elsewhere: keep the path on our tenant. */
			char *fixed = url_resolve(qclient_base(c), url_tail(abs));
			free(abs);
			abs = fixed;
		}
		if (!abs)
			*err = -ENOMEM;
		return abs;
	}
	/* 0-based offset pages without a next link. */
	long long pg = page_number(cJSON_GetObjectItemCaseSensitive(page, "page"));
	long long pages = page_number(cJSON_GetObjectItemCaseSensitive(page, "pages"));
	if (pg >= 0 && pages >= 0 && pg + 1 < pages) {
		char *u = url_set_query_int(cur, "page", pg + 1);
		if (!u)
			*err = -ENOMEM;
		return u;
	}
	return NULL;
}

long qclient_list(struct qclient *c, const char *url, qlist_fn fn, void *arg, int *pages_out,
		  char *errmsg, size_t n)
{
	struct qlist_info info;
	long r = qclient_list_ex(c, url, fn, arg, &info, errmsg, n);
	if (pages_out)
		*pages_out = info.pages;
	return r;
}

long qclient_list_ex(struct qclient *c, const char *url, qlist_fn fn, void *arg,
		     struct qlist_info *info, char *errmsg, size_t n)
{
	char *cur = (url[0] == '/' ? url_resolve(qclient_base(c), url) : strdup(url));
	long seen = 0;
	int pages = 0, rc = 0;
	bool stop = false;
	struct qlist_info dummy;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	info->first_total = info->last_total = -1;

	if (!cur)
		return -ENOMEM;
	while (cur) {
		cJSON *page = NULL;
		if (++pages > MAX_PAGES) {
			if (errmsg)
				snprintf(errmsg, n, "GET %s: more than %d pages", url_tail(url), MAX_PAGES);
			rc = -EIO;
			break;
		}
		int64_t date = 0;
		rc = qclient_get_json_date(c, cur, &page, &date, errmsg, n);
		if (rc)
			break;
		long long total = page_number(cJSON_GetObjectItemCaseSensitive(page, "total"));
		if (total >= 0) {
			info->last_total = (long)total;
			if (pages == 1)
				info->first_total = info->last_total;
		}
		if (pages == 1)
			info->first_date_ms = date;
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(page, "data");
		if (!cJSON_IsArray(data)) {
			if (errmsg)
				snprintf(errmsg, n, "GET %s: list response without a data array",
					 url_tail(cur));
			rc = -EIO;
			cJSON_Delete(page);
			break;
		}
		const cJSON *it;
		stop = false;
		cJSON_ArrayForEach(it, data)
		{
			rc = fn(arg, it);
			if (rc < 0)
				break;
			seen++;
			stop = rc == QLIST_STOP;
		}
		rc = rc < 0 ? rc : 0;
		char *next = rc < 0 ? NULL : next_page_url(c, cur, page, &rc);
		if (next && stop) {
			info->stopped = true;
			free(next);
			next = NULL;
		}
		cJSON_Delete(page);
		if (next && !strcmp(next, cur)) {
			if (errmsg)
				snprintf(errmsg, n, "GET %s: the next page link points to itself",
					 url_tail(cur));
			free(next);
			next = NULL;
			rc = -EIO;
		}
		free(cur);
		cur = next;
		if (rc < 0)
			break;
	}
	free(cur);
	info->pages = pages;
	return rc < 0 ? rc : seen;
}

