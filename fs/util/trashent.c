/*
 * trashent.c - see trashent.h.  Pure: no I/O, no locks.
 */
#include "util/trashent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/jsonfmt.h"
#include "util/names.h"
#include "util/qtime.h"

#define PATH_MAX_BYTES 4096
#define TEXT_MAX_BYTES 4096
#define QVF_SIZE_MAX 9007199254740992.0 /* 2^53: exact in a JSON number */

void trashent_clear(struct trash_meta *m)
{
	free(m->name);
	free(m->path);
	free(m->not_kept);
	memset(m, 0, sizeof(*m));
}

/* No control characters (a name shows in logs and listings). */
static bool clean(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool valid_type(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > TRASH_TYPE_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
			return false;
	return true;
}

static bool valid_id(const char *s, bool empty_ok)
{
	size_t n = strlen(s);
	return (empty_ok || n) && n <= TRASH_ID_MAX && clean(s) && !strchr(s, '/');
}

/* Names and reasons may hold anything a server name holds (JSON escapes
 * it); only their length is bounded. */
static bool valid_text(const char *s, size_t max)
{
	return s && strlen(s) <= max;
}

/* A path in the mount is made of entry names: no control characters. */
static bool valid_path(const char *s)
{
	return s && s[0] && strlen(s) <= PATH_MAX_BYTES && clean(s);
}

int trashent_format(const struct trash_meta *m, char **out, size_t *len)
{
	char ts[QTIME_BUFSZ];
	bool app = !strcmp(m->type, "app");
	if (!valid_type(m->type) || !valid_id(m->id, false) || !valid_id(m->space_id, true) ||
	    !valid_path(m->path) ||
	    (m->name && !valid_text(m->name, TEXT_MAX_BYTES)) ||
	    (m->not_kept && !valid_text(m->not_kept, TEXT_MAX_BYTES)) ||
	    (double)m->qvf_size > QVF_SIZE_MAX || qtime_format_ms(m->deleted_ms, ts, sizeof(ts)) < 0)
		return -EINVAL;
	cJSON *j = cJSON_CreateObject();
	bool ok = j && cJSON_AddNumberToObject(j, "format", TRASH_FORMAT) &&
		  cJSON_AddStringToObject(j, "type", m->type) &&
		  cJSON_AddStringToObject(j, "id", m->id) &&
		  (!m->name || cJSON_AddStringToObject(j, "name", m->name)) &&
		  cJSON_AddStringToObject(j, "path", m->path) &&
		  (!m->space_id[0] || cJSON_AddStringToObject(j, "spaceId", m->space_id)) &&
		  cJSON_AddStringToObject(j, "deletedAt", ts) &&
		  (!app || (cJSON_AddBoolToObject(j, "qvf", m->qvf) &&
		    (!m->qvf || cJSON_AddNumberToObject(j, "qvfSize", (double)m->qvf_size)))) &&
		  (!m->not_kept || cJSON_AddStringToObject(j, "notKept", m->not_kept));
	*out = ok ? jsonfmt_pretty(j, len) : NULL;
	cJSON_Delete(j);
	return *out ? 0 : -ENOMEM;
}

/* A string field: 1 with *v (borrowed), 0 when absent, -EINVAL when not a string. */
static int str_field(const cJSON *j, const char *f, const char **v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, f);
	*v = NULL;
	if (!x)
		return 0;
	if (!cJSON_IsString(x) || !x->valuestring)
		return -EINVAL;
	*v = x->valuestring;
	return 1;
}

static int copy_fixed(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);
	if (l >= n)
		return -EINVAL;
	memcpy(dst, src, l + 1);
	return 0;
}

static int dup_opt(char **dst, const char *src, size_t max)
{
	if (!src)
		return 0;
	if (!valid_text(src, max))
		return -EINVAL;
	return (*dst = strdup(src)) ? 0 : -ENOMEM;
}

/* The fields of a parsed document into m (cleared by the caller on failure). */
static int take(const cJSON *j, struct trash_meta *m)
{
	const char *type, *id, *name, *path, *space, *at, *nk;
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
	const cJSON *qvf = cJSON_GetObjectItemCaseSensitive(j, "qvf");
	const cJSON *qs = cJSON_GetObjectItemCaseSensitive(j, "qvfSize");
	if (!cJSON_IsObject(j) || !cJSON_IsNumber(fmt) || fmt->valuedouble != TRASH_FORMAT ||
	    str_field(j, "type", &type) != 1 || str_field(j, "id", &id) != 1 ||
	    str_field(j, "path", &path) != 1 || str_field(j, "deletedAt", &at) != 1 ||
	    str_field(j, "name", &name) < 0 || str_field(j, "spaceId", &space) < 0 ||
	    str_field(j, "notKept", &nk) < 0 || (qvf && !cJSON_IsBool(qvf)) ||
	    (qs && (!cJSON_IsNumber(qs) || !(qs->valuedouble >= 0) ||
		    qs->valuedouble > QVF_SIZE_MAX ||
		    qs->valuedouble != (double)(uint64_t)qs->valuedouble)))
		return -EINVAL;
	if (!valid_type(type) || !valid_id(id, false) || (space && !valid_id(space, true)) ||
	    !valid_path(path) || qtime_parse_ms(at, &m->deleted_ms) ||
	    copy_fixed(m->type, sizeof(m->type), type) || copy_fixed(m->id, sizeof(m->id), id) ||
	    (space && copy_fixed(m->space_id, sizeof(m->space_id), space)))
		return -EINVAL;
	m->qvf = cJSON_IsTrue(qvf);
	m->qvf_size = m->qvf && qs ? (uint64_t)qs->valuedouble : 0;
	int rc = (m->path = strdup(path)) ? 0 : -ENOMEM;
	if (!rc)
		rc = dup_opt(&m->name, name, TEXT_MAX_BYTES);
	if (!rc)
		rc = dup_opt(&m->not_kept, nk, TEXT_MAX_BYTES);
	return rc;
}

int trashent_parse(const char *data, size_t len, struct trash_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (!data || len > TRASH_META_MAX)
		return -EINVAL;
	cJSON *j = cJSON_ParseWithLength(data, len);
	int rc = j ? take(j, m) : -EINVAL;
	cJSON_Delete(j);
	if (rc)
		trashent_clear(m);
	return rc;
}

/* "YYYY-MM-DDTHHMMSSZ" (18 bytes) into out[19]. */
static int entry_time(int64_t ms, char out[19])
{
	char ts[QTIME_BUFSZ];
	if (qtime_format_ms(ms, ts, sizeof(ts)) < 0)
		return -EINVAL;
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	snprintf(out, 19, "%.13s%.2s%.2sZ", ts, ts + 14, ts + 17);
	return 0;
}

ssize_t trashent_name(int64_t deleted_ms, const char *path, unsigned nth, char *out, size_t n)
{
	char tm[19], enc[3 * PATH_MAX_BYTES + 8], base[PATH_MAX_BYTES + 1], sfx[16] = "";
	size_t pl = path ? strlen(path) : 0;
	if (!pl || pl > PATH_MAX_BYTES || entry_time(deleted_ms, tm))
		return -EINVAL;
	if (pl > 5 && !strcmp(path + pl - 5, ".json"))
		pl -= 5;
	memcpy(base, path, pl);
	base[pl] = '\0';
	ssize_t el = names_encode(base, enc, sizeof(enc));
	if (el < 0)
		return el;
	if (nth > 1)
		snprintf(sfx, sizeof(sfx), " #%u", nth);
	const char *tail = enc;
	const char *ell = "";
	size_t room = NAMES_MAX - strlen(tm) - 1 - strlen(sfx);
	if ((size_t)el > room) {
		/* keep the end (the entry's own name) after "…" */
		ell = "\xe2\x80\xa6";
		tail = enc + el - (room - 3);
		while ((unsigned char)*tail >= 0x80 && (unsigned char)*tail < 0xc0)
			tail++; /* not inside a UTF-8 sequence */
	}
	int r = snprintf(out, n, "%s %s%s%s", tm, ell, tail, sfx);
	if (r < 0 || (size_t)r >= n)
		return -ENAMETOOLONG;
	return r;
}

bool trashent_expired(int64_t deleted_ms, int64_t now_ms, int64_t keep_ms)
{
	int64_t age;
	if (keep_ms <= 0 || deleted_ms >= now_ms)
		return false; /* (from the future: a clock set back) */
	return __builtin_sub_overflow(now_ms, deleted_ms, &age) || age > keep_ms;
}
