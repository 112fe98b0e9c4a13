/*
 * sim_util.c - pure helpers of the simulator: string hash map, record
 * collections, clock and timestamp formatting, the seeded PRNG and id
 * generators, base64url and URL escaping, small cJSON conveniences.
 *
 * Invariants: a collection's idx maps every record id to the record stored in
 * v[]; records are owned by exactly one collection.  Locking: functions that
 * take a struct sim_tenant (rng, ids, clock) need t->mu held; the rest touch no
 * shared state.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------------------------------------------------------------- hmap */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

void *hm_get(const struct hmap *m, const char *key)
{
	if (!m->nb || !key)
		return NULL;
	for (struct hent *e = m->b[hash_str(key) & (m->nb - 1)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->val;
	return NULL;
}

static int hm_grow(struct hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct hent **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct hent *e = m->b[i], *nx;
		for (; e; e = nx) {
			nx = e->next;
			size_t k = hash_str(e->key) & (nb - 1);
			e->next = b[k];
			b[k] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int hm_put(struct hmap *m, const char *key, void *val)
{
	if (m->n >= m->nb && hm_grow(m))
		return -ENOMEM;
	size_t k = hash_str(key) & (m->nb - 1);
	for (struct hent *e = m->b[k]; e; e = e->next)
		if (strcmp(e->key, key) == 0) {
			e->val = val;
			return 0;
		}
	struct hent *e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return -ENOMEM;
	}
	e->val = val;
	e->next = m->b[k];
	m->b[k] = e;
	m->n++;
	return 0;
}

void *hm_del(struct hmap *m, const char *key)
{
	if (!m->nb)
		return NULL;
	struct hent **pp = &m->b[hash_str(key) & (m->nb - 1)];
	for (; *pp; pp = &(*pp)->next) {
		struct hent *e = *pp;
		if (strcmp(e->key, key) == 0) {
			void *v = e->val;
			*pp = e->next;
			free(e->key);
			free(e);
			m->n--;
			return v;
		}
	}
	return NULL;
}

void hm_clear(struct hmap *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nb; i++) {
		struct hent *e = m->b[i], *nx;
		for (; e; e = nx) {
			nx = e->next;
			if (free_val)
				free_val(e->val);
			free(e->key);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------- collections */

struct rec *rec_new(const char *id, cJSON *j)
{
	struct rec *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->id = strdup(id);
	if (!r->id) {
		free(r);
		return NULL;
	}
	r->j = j;
	return r;
}

void rec_free(struct rec *r)
{
	if (!r)
		return;
	free(r->id);
	cJSON_Delete(r->j);
	free(r->blob);
	free(r->aux);
	free(r);
}

int coll_add(struct coll *c, struct rec *r)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct rec **v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	if (hm_put(&c->idx, r->id, r))
		return -ENOMEM;
	c->v[c->n++] = r;
	return 0;
}

struct rec *coll_get(const struct coll *c, const char *id)
{
	return id ? hm_get(&c->idx, id) : NULL;
}

struct rec *coll_remove(struct coll *c, const char *id)
{
	struct rec *r = hm_del(&c->idx, id);
	if (!r)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i] == r) {
			memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(*c->v));
			c->n--;
			break;
		}
	return r;
}

void coll_clear(struct coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		rec_free(c->v[i]);
	free(c->v);
	hm_clear(&c->idx, NULL);
	memset(c, 0, sizeof(*c));
}

/* ----------------------------------------------------------------- time */

long long sim_realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long sim_now(struct sim_tenant *t)
{
	return sim_realtime_ms() + t->clock_skew_ms + t->shift_ms;
}

void fmt_ms(char *buf, size_t n, long long ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

void fmt_s(char *buf, size_t n, long long ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void fmt_http_date(char *buf, size_t n, long long ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	static const char wd[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char mo[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday], tm.tm_mday,
		 mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

long long parse_time_ms(const char *s)
{
	struct tm tm = {0};
	int ms = 0;
	if (!s)
		return -1;
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		int digits = 0;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
			digits++;
			p++;
		}
		while (digits++ < 3)
			ms *= 10;
	}
	return (long long)timegm(&tm) * 1000 + ms;
}

/* ------------------------------------------------------------------ ids */

uint64_t rng_next(struct sim_tenant *t)
{
	/* xorshift64* */
	uint64_t x = t->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return x * 2685821657736338717ull;
}

uint64_t rng_range(struct sim_tenant *t, uint64_t n)
{
	return n ? rng_next(t) % n : 0;
}

void gen_uuid(struct sim_tenant *t, char out[37])
{
	uint64_t a = rng_next(t), b = rng_next(t);
	a = (a & ~0xf000ull) | 0x4000ull;                       /* version 4 */
	b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* variant */
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
		 (unsigned long long)(b & 0xffffffffffffull));
}

void gen_oid(struct sim_tenant *t, long long ms, char out[25])
{
	t->oid_counter = (t->oid_counter + 1) & 0xffffff;
	snprintf(out, 25, "%08x%s%06x", (unsigned)(ms / 1000), t->oid_mid, t->oid_counter);
}

bool is_hex24(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 24;
}

bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------- encoding */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *b64url_encode(const unsigned char *d, size_t n)
{
	char *o = malloc(n / 3 * 4 + 5), *p = o;
	if (!o)
		return NULL;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		*p++ = b64[v >> 18];
		*p++ = b64[(v >> 12) & 63];
		*p++ = b64[(v >> 6) & 63];
		*p++ = b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)d[i] << 16;
		*p++ = b64[v >> 18];
		*p++ = b64[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
		*p++ = b64[v >> 18];
		*p++ = b64[(v >> 12) & 63];
		*p++ = b64[(v >> 6) & 63];
	}
	*p = 0;
	return o;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return p ? (int)(p - b64) : -1;
}

unsigned char *b64url_decode(const char *s, size_t *out_n)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	unsigned char *o = malloc(n / 4 * 3 + 4);
	if (!o)
		return NULL;
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);
		if (v < 0) {
			free(o);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	o[k] = 0;
	*out_n = k;
	return o;
}

char *url_encode(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n * 3 + 1), *p = o;
	if (!o)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			*p++ = (char)ch;
		} else {
			sprintf(p, "%%%02X", ch);
			p += 3;
		}
	}
	*p = 0;
	return o;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *decode(const char *s, size_t n, bool plus)
{
	char *o = malloc(n + 1), *p = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			*p++ = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+') {
			*p++ = ' ';
		} else {
			*p++ = s[i];
		}
	}
	*p = 0;
	return o;
}

char *url_decode(const char *s, size_t n)
{
	return decode(s, n, true);
}

char *url_decode_path(const char *s, size_t n)
{
	return decode(s, n, false);
}

/* -------------------------------------------------------------- strings */

char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* ASCII case-insensitive substring (UTF-8 bytes >= 0x80 compared exactly). */
bool strcasestr_utf8(const char *hay, const char *needle)
{
	if (!hay || !needle)
		return false;
	return strcasestr(hay, needle) != NULL;
}

/* ----------------------------------------------------------------- json */

const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void jset(cJSON *o, const char *k, cJSON *v)
{
	if (!v)
		return;
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, v);
	else
		cJSON_AddItemToObject(o, k, v);
}

void jset_str(cJSON *o, const char *k, const char *v)
{
	jset(o, k, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

void jset_num(cJSON *o, const char *k, double v)
{
	jset(o, k, cJSON_CreateNumber(v));
}

void jset_bool(cJSON *o, const char *k, bool v)
{
	jset(o, k, cJSON_CreateBool(v));
}

cJSON *jstrarr(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* True when v is one of the comma-separated values of list (false for NULL v). */
bool sim_csv_has(const char *list, const char *v)
{
	if (!v)
		return false;
	size_t l = strlen(v);
	const char *p = list;
	while (*p) {
		const char *e = strchrnul(p, ',');
		if ((size_t)(e - p) == l && !strncmp(p, v, l))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}
