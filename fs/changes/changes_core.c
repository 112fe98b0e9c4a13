/*
 * changes_core.c - the pure parts of the change poller: see the algorithm in
 * changes_internal.h.  No I/O, no locks, no clock: everything is a function
 * of its arguments, so the unit tests drive it with hand-made records.
 *
 * Invariants: a chg_set's idx maps each id to its index + 1 in v; entries own
 * their id and obj.  In a chg_state, every recent entry has t > boundary_ms
 * after a commit.
 */
#include "changes/changes_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonfmt.h"
#include "client/qclient.h"
#include "util/qtime.h"
#include "util/strmap.h"

#define STATE_VERSION 1

/* ---- id sets ---- */

int chg_set_init(struct chg_set *s)
{
	memset(s, 0, sizeof(*s));
	s->idx = strmap_new();
	return s->idx ? 0 : -ENOMEM;
}

void chg_set_free(struct chg_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].id);
		cJSON_Delete(s->v[i].obj);
	}
	free(s->v);
	strmap_free(s->idx);
	memset(s, 0, sizeof(*s));
}

struct chg_ent *chg_set_get(const struct chg_set *s, const char *id)
{
	uintptr_t i = (uintptr_t)strmap_get(s->idx, id);
	return i ? &s->v[i - 1] : NULL;
}

struct chg_ent *chg_set_put(struct chg_set *s, const char *id)
{
	struct chg_ent *e = chg_set_get(s, id);
	if (e)
		return e;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct chg_ent *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	char *dup = strdup(id);
	if (!dup || strmap_put(s->idx, id, (void *)(uintptr_t)(s->n + 1)) < 0) {
		free(dup);
		return NULL;
	}
	e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->id = dup;
	return e;
}

void chg_set_del(struct chg_set *s, const char *id)
{
	uintptr_t i = (uintptr_t)strmap_del(s->idx, id);
	if (!i)
		return;
	struct chg_ent *e = &s->v[i - 1];
	free(e->id);
	cJSON_Delete(e->obj);
	if (i != s->n) {
		*e = s->v[s->n - 1];
		strmap_put(s->idx, e->id, (void *)i); /* replaces: cannot fail */
	}
	s->n--;
}

cJSON *chg_stub(const struct rtype *rt, const cJSON *obj)
{
	cJSON *o = cJSON_CreateObject();
	const char *id = json_str(obj, "id"), *rid = restab_id(rt, obj), *name = restab_name(rt, obj);
	if (!o)
		return NULL;
	if ((id && !cJSON_AddStringToObject(o, "id", id)) ||
	    (rid && strcmp(rt->id_field, "id") && !cJSON_AddStringToObject(o, rt->id_field, rid)) ||
	    (name && !cJSON_AddStringToObject(o, "name", name))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

uint64_t chg_fingerprint(const cJSON *obj)
{
	static const char *const volatile_fields[] = { "itemViews", "meta", "actions",
						       "isFavorited", "links" };
	cJSON *dup = cJSON_Duplicate(obj, 1);
	char *txt;
	if (!dup)
		return 0;
	for (size_t i = 0; i < sizeof(volatile_fields) / sizeof(volatile_fields[0]); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(dup, volatile_fields[i]);
	txt = cJSON_PrintUnformatted(dup);
	cJSON_Delete(dup);
	if (!txt)
		return 0;
	uint64_t h = strmap_hash(txt); /* (FNV-1a) */
	free(txt);
	return h ? h : 1;
}

/* ---- state ---- */

int chg_state_init(struct chg_state *st)
{
	memset(st, 0, sizeof(*st));
	if (chg_set_init(&st->recent) || chg_set_init(&st->known)) {
		chg_state_free(st);
		return -ENOMEM;
	}
	return 0;
}

void chg_state_free(struct chg_state *st)
{
	chg_set_free(&st->recent);
	chg_set_free(&st->known);
}

char *chg_state_dump(const struct chg_state *st, size_t *len)
{
	char when[QTIME_BUFSZ] = "";
	cJSON *o = cJSON_CreateObject(), *rec, *known;
	char *txt = NULL;
	if (!o)
		return NULL;
	qtime_format_ms(st->boundary_ms, when, sizeof(when));
	if (!cJSON_AddNumberToObject(o, "version", STATE_VERSION) ||
	    !cJSON_AddNumberToObject(o, "boundary_ms", (double)st->boundary_ms) ||
	    !cJSON_AddStringToObject(o, "boundary", when) ||
	    !cJSON_AddNumberToObject(o, "last_spool_ms", (double)st->last_spool_ms) ||
	    !cJSON_AddNumberToObject(o, "since_full", st->since_full) ||
	    !(rec = cJSON_AddObjectToObject(o, "recent")) ||
	    !(known = cJSON_AddObjectToObject(o, "known")))
		goto out;
	for (size_t i = 0; i < st->recent.n; i++) {
		char hx[17];
		cJSON *pair = cJSON_AddArrayToObject(rec, st->recent.v[i].id);
		snprintf(hx, sizeof(hx), "%016llx", (unsigned long long)st->recent.v[i].h);
		if (!pair)
			goto out;
		cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)st->recent.v[i].t));
		cJSON_AddItemToArray(pair, cJSON_CreateString(hx));
		if (cJSON_GetArraySize(pair) != 2)
			goto out;
	}
	for (size_t i = 0; i < st->known.n; i++) {
		cJSON *s = st->known.v[i].obj ? cJSON_Duplicate(st->known.v[i].obj, 1)
					      : cJSON_CreateObject();
		if (!s)
			goto out;
		cJSON_AddItemToObject(known, st->known.v[i].id, s);
	}
	txt = cJSON_PrintUnformatted(o);
	if (txt)
		*len = strlen(txt);
out:
	cJSON_Delete(o);
	return txt;
}

static bool num_field(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15)
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

int chg_state_load(struct chg_state *st, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	struct chg_state n;
	int64_t ver = 0, full = 0;
	int rc = -EINVAL;
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(o, "recent");
	const cJSON *known = cJSON_GetObjectItemCaseSensitive(o, "known"), *it;

	if (chg_state_init(&n)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	if (!num_field(o, "version", &ver) || ver != STATE_VERSION ||
	    !num_field(o, "boundary_ms", &n.boundary_ms) ||
	    !num_field(o, "last_spool_ms", &n.last_spool_ms) || !num_field(o, "since_full", &full) ||
	    !cJSON_IsObject(rec) || !cJSON_IsObject(known))
		goto out;
	n.since_full = full > 1000000 ? 1000000 : (unsigned)full;
	rc = -ENOMEM;
	cJSON_ArrayForEach(it, rec)
	{
		struct chg_ent *e;
		const cJSON *t = cJSON_GetArrayItem(it, 0), *h = cJSON_GetArrayItem(it, 1);
		char *end = NULL;
		if (!cJSON_IsArray(it) || !it->string || !cJSON_IsNumber(t) || !cJSON_IsString(h) ||
		    !(t->valuedouble >= -9e15 && t->valuedouble <= 9e15)) {
			rc = -EINVAL;
			goto out;
		}
		if (!(e = chg_set_put(&n.recent, it->string)))
			goto out;
		e->t = (int64_t)t->valuedouble;
		e->h = strtoull(h->valuestring, &end, 16);
		if (!end || *end) {
			rc = -EINVAL;
			goto out;
		}
	}
	cJSON_ArrayForEach(it, known)
	{
		struct chg_ent *e;
		if (!cJSON_IsObject(it) || !it->string || !it->string[0]) {
			rc = -EINVAL;
			goto out;
		}
		if (!(e = chg_set_put(&n.known, it->string)))
			goto out;
		if (e->obj)
			continue; /* a repeated id: the first wins */
		if (!(e->obj = cJSON_Duplicate(it, 1)))
			goto out;
	}
	chg_state_free(st);
	*st = n;
	cJSON_Delete(o);
	return 0;
out:
	chg_state_free(&n);
	cJSON_Delete(o);
	return rc;
}

/* ---- scans ---- */

int chg_scan_init(struct chg_scan *sc, const struct rtype *rt, int64_t prev, bool sorted)
{
	memset(sc, 0, sizeof(*sc));
	sc->rt = rt;
	sc->prev = prev;
	sc->sorted = sorted;
	if (chg_set_init(&sc->seen) || chg_set_init(&sc->cand)) {
		chg_scan_free(sc);
		return -ENOMEM;
	}
	return 0;
}

void chg_scan_free(struct chg_scan *sc)
{
	chg_set_free(&sc->seen);
	chg_set_free(&sc->cand);
}

int chg_scan_add(struct chg_scan *sc, const cJSON *obj)
{
	const char *id = restab_id(sc->rt, obj); /* apps: the app id */
	if (!id)
		return 0; /* not a record we can name */
	int64_t t = restab_mtime_ms(sc->rt, obj), c = restab_ctime_ms(sc->rt, obj);
	struct chg_ent *e = chg_set_get(&sc->seen, id);
	if (!e) {
		if (!(e = chg_set_put(&sc->seen, id)) || !(e->obj = chg_stub(sc->rt, obj)))
			return -ENOMEM;
		e->t = t;
		e->c = c;
	}
	if (t > sc->prev) {
		/* the newest version listed; at equal times the later listed */
		struct chg_ent *k = chg_set_get(&sc->cand, id);
		if (!k || t >= k->t) {
			cJSON *dup = cJSON_Duplicate(obj, 1);
			if (!dup || (!k && !(k = chg_set_put(&sc->cand, id)))) {
				cJSON_Delete(dup);
				return -ENOMEM;
			}
			cJSON_Delete(k->obj);
			k->obj = dup;
			k->t = t;
			k->c = c;
			k->h = chg_fingerprint(obj);
		}
	}
	if (!sc->sorted)
		return 0;
	if (sc->any && t > sc->last_t)
		sc->order_broken = true; /* the tenant ignored the sort: look at everything */
	sc->any = true;
	sc->last_t = t;
	return !sc->order_broken && t <= sc->prev ? QLIST_STOP : 0;
}

/* ---- classification ---- */

int chg_result_init(struct chg_result *r)
{
	r->created = cJSON_CreateArray();
	r->updated = cJSON_CreateArray();
	r->deleted = cJSON_CreateArray();
	r->deleted_ids = cJSON_CreateArray();
	if (!r->created || !r->updated || !r->deleted || !r->deleted_ids) {
		chg_result_free(r);
		return -ENOMEM;
	}
	return 0;
}

void chg_result_free(struct chg_result *r)
{
	cJSON_Delete(r->created);
	cJSON_Delete(r->updated);
	cJSON_Delete(r->deleted);
	cJSON_Delete(r->deleted_ids);
	memset(r, 0, sizeof(*r));
}

size_t chg_result_count(const struct chg_result *r)
{
	return (size_t)(cJSON_GetArraySize(r->created) + cJSON_GetArraySize(r->updated) +
			cJSON_GetArraySize(r->deleted));
}

struct pick {
	const struct chg_ent *e;
	int64_t key;
};

static int cmp_pick(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->e->id, y->e->id);
}

static int add_sorted(cJSON *arr, struct pick *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_pick);
	for (size_t i = 0; i < n; i++) {
		cJSON *dup = cJSON_Duplicate(v[i].e->obj, 1);
		if (!dup)
			return -ENOMEM;
		cJSON_AddItemToArray(arr, dup);
	}
	return 0;
}

int chg_classify(const struct chg_state *st, const struct chg_scan *sc, struct chg_result *r)
{
	size_t n = sc->cand.n, nc = 0, nu = 0;
	struct pick *cr = calloc(n ? n : 1, sizeof(*cr)), *up = calloc(n ? n : 1, sizeof(*up));
	int rc = -ENOMEM;
	if (!cr || !up)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct chg_ent *e = &sc->cand.v[i], *seen = chg_set_get(&st->recent, e->id);
		if (seen && (seen->t > e->t || (seen->t == e->t && seen->h == e->h && e->h)))
			continue; /* reported by an earlier poll (overlap window) */
		if (e->c > sc->prev && !seen && !chg_set_get(&st->known, e->id))
			cr[nc++] = (struct pick){ e, e->c };
		else
			up[nu++] = (struct pick){ e, e->t };
	}
	rc = add_sorted(r->created, cr, nc);
	if (!rc)
		rc = add_sorted(r->updated, up, nu);
out:
	free(cr);
	free(up);
	return rc;
}

long chg_missing(const struct chg_state *st, const struct chg_scan *sc, const char ***out)
{
	const char **v = malloc((st->known.n + 1) * sizeof(*v));
	long n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < st->known.n; i++)
		if (!chg_set_get(&sc->seen, st->known.v[i].id))
			v[n++] = st->known.v[i].id;
	*out = v;
	return n;
}

int chg_add_deleted(const struct chg_state *st, const char *id, struct chg_result *r)
{
	const struct chg_ent *k = chg_set_get(&st->known, id);
	cJSON *o = k && k->obj ? cJSON_Duplicate(k->obj, 1) : cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	cJSON *key = cJSON_CreateString(id);
	if (!key ||
	    (!cJSON_GetObjectItemCaseSensitive(o, "id") && !cJSON_AddStringToObject(o, "id", id))) {
		cJSON_Delete(key);
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(r->deleted, o);
	cJSON_AddItemToArray(r->deleted_ids, key);
	return 0;
}

int chg_commit(struct chg_state *st, const struct chg_scan *sc, const struct chg_result *r,
	       bool complete, int64_t new_boundary)
{
	const cJSON *d;
	if (new_boundary < st->boundary_ms)
		new_boundary = st->boundary_ms; /* the boundary never moves back */
	/* known: refreshed stubs of everything seen; new entries added */
	for (size_t i = 0; i < sc->seen.n; i++) {
		const struct chg_ent *s = &sc->seen.v[i];
		cJSON *stub = cJSON_Duplicate(s->obj, 1);
		struct chg_ent *k = stub ? chg_set_put(&st->known, s->id) : NULL;
		if (!k) {
			cJSON_Delete(stub);
			return -ENOMEM;
		}
		cJSON_Delete(k->obj);
		k->obj = stub;
	}
	/* recent: the newest update time of each candidate beyond the new boundary */
	for (size_t i = 0; i < sc->cand.n; i++) {
		const struct chg_ent *c = &sc->cand.v[i];
		struct chg_ent *e;
		if (c->t <= new_boundary)
			continue;
		if (!(e = chg_set_put(&st->recent, c->id)))
			return -ENOMEM;
		if (c->t >= e->t) {
			e->t = c->t;
			e->h = c->h;
		}
	}
	/* by the known id each deletion was confirmed for, not by what its stub
	 * says: a stub naming another id (a hand-edited state file) would leave
	 * the id known and reported deleted again at every complete scan */
	const cJSON *dl = r ? r->deleted_ids : NULL;
	cJSON_ArrayForEach(d, dl)
	{
		if (cJSON_IsString(d)) {
			chg_set_del(&st->known, d->valuestring);
			chg_set_del(&st->recent, d->valuestring);
		}
	}
	for (size_t i = 0; i < st->recent.n;)
		if (st->recent.v[i].t <= new_boundary)
			chg_set_del(&st->recent, st->recent.v[i].id); /* swaps the last one into i */
		else
			i++;
	st->boundary_ms = new_boundary;
	st->since_full = complete ? 0 : st->since_full + 1;
	return 0;
}

/* ---- output ---- */

char *chg_result_render(const struct chg_result *r, bool created, bool updated, bool deleted,
			size_t *len)
{
	cJSON *o = cJSON_CreateObject(), *data = o ? cJSON_AddObjectToObject(o, "data") : NULL;
	const struct {
		const char *k;
		const cJSON *v;
		bool on;
	} lists[] = { { "created", r->created, created },
		      { "updated", r->updated, updated },
		      { "deleted", r->deleted, deleted } };
	char *txt = NULL;
	if (!data)
		goto out;
	for (size_t i = 0; i < 3; i++) {
		cJSON *a = lists[i].on && lists[i].v ? cJSON_Duplicate(lists[i].v, 1)
						     : cJSON_CreateArray();
		if (!a)
			goto out;
		cJSON_AddItemToObject(data, lists[i].k, a);
	}
	txt = jsonfmt_pretty(o, len);
out:
	cJSON_Delete(o);
	return txt;
}

int chg_spool_name(int64_t poll_ms, int64_t last_ms, char *buf, size_t n, int64_t *used)
{
	char t[QTIME_BUFSZ];
	if (poll_ms <= last_ms && last_ms == INT64_MAX)
		return -ERANGE;
	int64_t ms = poll_ms > last_ms ? poll_ms : last_ms + 1;
	if (qtime_format_ms(ms, t, sizeof(t)) < 0)
		return -ERANGE;
	for (char *p = t; *p; p++)
		if (*p == ':')
			*p = '-'; /* portable file names; still sorted by time */
	if (snprintf(buf, n, "%s.json", t) >= (int)n)
		return -ERANGE;
	*used = ms;
	return 0;
}
