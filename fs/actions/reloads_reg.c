/*
 * reloads_reg.c - the registry of reloads a mount started; see reloads_reg.h.
 *
 * Invariants: what is written is bounded (reloads_reg_bound) and sorted
 * oldest first; a file that does not parse is never overwritten.
 * Locks: none in memory; the file's flock() serializes writers.
 */
#include "actions/reloads_reg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "client/errmap.h"
#include "util/clock.h"
#include "util/jsonfmt.h"
#include "util/qtime.h"
#include "util/statedir.h"
#include "util/strmap.h"

#define DAY_MS (24LL * 3600 * 1000)
#define PARSE_MAX (4 * RELOADS_REG_KEEP)
#define FILE_MAX ((size_t)1 << 20)
#define LOCK_WAIT_MS 5000

static const char *jstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static bool valid_id(const char *s)
{
	size_t l = s ? strlen(s) : 0;
	return l && l <= RELOADS_ID_MAX && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* One entry into *m: false when it is junk. */
static bool mark_of(const cJSON *e, struct reload_mark *m)
{
	const char *id = jstr(e, "id"), *app = jstr(e, "appId"), *ts = jstr(e, "created");
	int64_t ms = 0;
	memset(m, 0, sizeof(*m));
	if (!valid_id(id) || (app && strlen(app) > RELOADS_ID_MAX) || !ts ||
	    qtime_parse_ms(ts, &ms) || ms <= 0)
		return false;
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->app, sizeof(m->app), "%s", app ? app : "");
	m->created_ms = ms;
	return true;
}

int reloads_reg_parse(const char *text, size_t len, struct reload_mark **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	cJSON *doc = text ? cJSON_ParseWithLength(text, len) : NULL;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "reloads"), *e;
	if (!cJSON_IsObject(doc) || !cJSON_IsArray(arr)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	int cnt = cJSON_GetArraySize(arr);
	if (cnt > PARSE_MAX) {
		cJSON_Delete(doc);
		return -EFBIG;
	}
	struct reload_mark *v = calloc(cnt ? (size_t)cnt : 1, sizeof(*v));
	struct strmap *seen = strmap_new();
	if (!v || !seen) {
		free(v);
		strmap_free(seen);
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	size_t k = 0;
	cJSON_ArrayForEach(e, arr)
	{
		if (!mark_of(e, &v[k]) || strmap_get(seen, v[k].id))
			continue; /* hand-edited junk: dropped at the next write */
		if (strmap_put(seen, v[k].id, (void *)1) < 0) {
			free(v);
			strmap_free(seen);
			cJSON_Delete(doc);
			return -ENOMEM;
		}
		k++;
	}
	strmap_free(seen);
	cJSON_Delete(doc);
	if (!k) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = k;
	return 0;
}

char *reloads_reg_render(const struct reload_mark *v, size_t n, size_t *len)
{
	cJSON *doc = cJSON_CreateObject(), *arr = NULL;
	if (doc && cJSON_AddNumberToObject(doc, "version", 1))
		arr = cJSON_AddArrayToObject(doc, "reloads");
	for (size_t i = 0; arr && i < n; i++) {
		char ts[QTIME_BUFSZ];
		cJSON *e = cJSON_CreateObject();
		if (!e || qtime_format_ms(v[i].created_ms, ts, sizeof(ts)) < 0 ||
		    !cJSON_AddStringToObject(e, "id", v[i].id) ||
		    !cJSON_AddStringToObject(e, "appId", v[i].app) ||
		    !cJSON_AddStringToObject(e, "created", ts)) {
			cJSON_Delete(e);
			arr = NULL;
			break;
		}
		cJSON_AddItemToArray(arr, e);
	}
	char *text = arr ? jsonfmt_pretty(doc, len) : NULL;
	cJSON_Delete(doc);
	return text;
}

static int by_created(const void *a, const void *b)
{
	const struct reload_mark *x = a, *y = b;
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

size_t reloads_reg_bound(struct reload_mark *v, size_t n, int64_t now_ms)
{
	const int64_t oldest = now_ms - RELOADS_REG_DAYS * DAY_MS, newest = now_ms + DAY_MS;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].created_ms > oldest && v[i].created_ms <= newest)
			v[k++] = v[i];
	if (k > 1)
		qsort(v, k, sizeof(*v), by_created);
	if (k > RELOADS_REG_KEEP) {
		memmove(v, v + (k - RELOADS_REG_KEEP), RELOADS_REG_KEEP * sizeof(*v));
		k = RELOADS_REG_KEEP;
	}
	return k;
}

int reloads_reg_load(const char *state_dir, int64_t now_ms, struct reload_mark **out, size_t *n)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	*n = 0;
	int rc = statedir_read(state_dir, RELOADS_REG_FILE, FILE_MAX, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (!rc)
		rc = reloads_reg_parse(text, len, out, n);
	free(text);
	if (!rc)
		*n = reloads_reg_bound(*out, *n, now_ms);
	return rc;
}

/* The registry read under the lock, m added (or its entry replaced). */
static int add_locked(const char *dir, const struct reload_mark *m, int64_t now_ms, char *err,
		      size_t errn)
{
	struct reload_mark *v = NULL;
	size_t n = 0;
	int rc = reloads_reg_load(dir, now_ms, &v, &n);
	if (rc) {
		errmsg_set(err, errn, "%s/%s: %s", dir, RELOADS_REG_FILE,
			   rc == -EINVAL ? "not a registry of reloads (left untouched)"
					 : strerror(-rc));
		free(v);
		return rc;
	}
	size_t i = 0;
	while (i < n && strcmp(v[i].id, m->id))
		i++;
	if (i == n) {
		struct reload_mark *w = realloc(v, (n + 1) * sizeof(*v));
		if (!w) {
			free(v);
			return -ENOMEM;
		}
		v = w;
		n++;
	}
	v[i] = *m;
	n = reloads_reg_bound(v, n, now_ms);
	size_t len = 0;
	char *text = reloads_reg_render(v, n, &len);
	free(v);
	if (!text)
		return -ENOMEM;
	rc = statedir_write_atomic(dir, RELOADS_REG_FILE, text, len);
	free(text);
	if (rc)
		errmsg_set(err, errn, "%s/%s cannot be rewritten: %s", dir, RELOADS_REG_FILE,
			   strerror(-rc));
	return rc;
}

int reloads_reg_add(const char *state_dir, const struct reload_mark *m, int64_t now_ms, char *err,
		    size_t errn)
{
	char path[4096];
	if (!state_dir || !valid_id(m->id))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, RELOADS_REG_LOCK) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), got = -1;
	/* another writer holds it for one local rewrite: waited for, bounded */
	for (int64_t end = clock_mono_ms() + LOCK_WAIT_MS; fd >= 0; clock_sleep_ms(10))
		if ((got = flock(fd, LOCK_EX | LOCK_NB)) == 0 || errno != EWOULDBLOCK ||
		    clock_mono_ms() >= end)
			break;
	if (fd < 0 || got < 0) {
		int rc = -errno;
		errmsg_set(err, errn, "%s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	int rc = add_locked(state_dir, m, now_ms, err, errn);
	close(fd); /* releases the lock */
	return rc;
}
