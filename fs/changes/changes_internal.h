/*
 * changes_internal.h - the pure parts of the change poller (changes_core.c),
 * shared with the I/O part (changes.c) and the unit tests: id sets, a scan of
 * one listing, classification, the poller's state and its (de)serialisation,
 * result rendering and spool file names.  Nothing here does I/O or locks.
 *
 * The algorithm (docs/SEMANTICS.md "Changes"), per type:
 *   prev   = boundary of the previous poll = its tenant time - overlap
 *   a scan lists the records; those with update time > prev are candidates;
 *     a listing sorted by update time, newest first, stops after the first
 *     page that reaches a record with update time <= prev;
 *   a candidate is already reported when `recent` holds its id with a later
 *     update time, or the same one and the same content fingerprint (two
 *     updates within one second of an item's precision differ in content);
 *     otherwise it is created when its creation time > prev
 *     and its id is new (neither recent nor known), else updated;
 *   a complete scan also yields every id: known ids it did not see are
 *     deletion suspects (the I/O part confirms each with a GET);
 *   commit: boundary = max(prev, tenant time of the poll's first response -
 *     overlap); recent keeps (id, update time, fingerprint) of candidates
 *     newer than the new boundary, so the overlap window is deduplicated.
 */
#ifndef QLIKFS_CHANGES_INTERNAL_H
#define QLIKFS_CHANGES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "res/restab.h"
#include "util/strmap.h"

/* ---- id sets: a vector for iteration + a map for lookup ---- */

struct chg_ent {
	char *id;
	int64_t t;   /* update time (ms) */
	int64_t c;   /* creation time (ms) */
	uint64_t h;  /* content fingerprint (chg_fingerprint) */
	cJSON *obj;  /* owned, may be NULL: a record or a stub */
};

struct chg_set {
	struct chg_ent *v;
	size_t n, cap;
	struct strmap *idx; /* id -> (void *)(index + 1) */
};

int chg_set_init(struct chg_set *s); /* 0 or -ENOMEM */
void chg_set_free(struct chg_set *s);
struct chg_ent *chg_set_get(const struct chg_set *s, const char *id);
/* The entry for id, added (zeroed) when absent.  The pointer is valid until
 * the next put or del.  NULL on OOM. */
struct chg_ent *chg_set_put(struct chg_set *s, const char *id);
void chg_set_del(struct chg_set *s, const char *id);

/* {"id", the kind's id field, "name"} of a record: what a deleted entry shows. */
cJSON *chg_stub(const struct rtype *rt, const cJSON *obj);

/* A 64-bit hash of a record's content without the fields that change with
 * no update (views, caller-specific actions and links): two versions stamped
 * with the same update time (items carry seconds) are told apart by it.
 * 0 on OOM (treated as "unknown": never equal to a real fingerprint). */
uint64_t chg_fingerprint(const cJSON *obj);

/* ---- the poller's state of one type ---- */

struct chg_state {
	int64_t boundary_ms;   /* 0: never polled (the next poll bootstraps) */
	int64_t last_spool_ms; /* time in the newest spool file's name */
	unsigned since_full;   /* polls since the last complete scan */
	struct chg_set recent; /* id -> (t, h): version reported (or seen at bootstrap), t > boundary */
	struct chg_set known;  /* id -> stub of every record the scans saw (deletions) */
};

int chg_state_init(struct chg_state *st);
void chg_state_free(struct chg_state *st);

/* Serialises st as JSON.  Returns a malloc'd string (length in *len) or NULL. */
char *chg_state_dump(const struct chg_state *st, size_t *len);

/* Replaces st (initialised) with the state in json.  Returns 0, -EINVAL
 * (st untouched: not a state file of this version) or -ENOMEM. */
int chg_state_load(struct chg_state *st, const char *json);

/* ---- one scan of a listing ---- */

struct chg_scan {
	const struct rtype *rt;
	int64_t prev;        /* candidates: update time > prev */
	bool sorted;         /* listed by update time, newest first: may stop early */
	int64_t last_t;      /* previous record's update time (order check) */
	bool any;            /* a record was seen */
	bool order_broken;   /* the listing was not in that order: no early stop */
	struct chg_set seen; /* every listed id -> stub */
	struct chg_set cand; /* candidates: id -> newest record seen */
};

int chg_scan_init(struct chg_scan *sc, const struct rtype *rt, int64_t prev, bool sorted);
void chg_scan_free(struct chg_scan *sc);

/* Takes one listed record.  Returns 0, QLIST_STOP (a sorted listing reached
 * records that cannot be candidates), or -ENOMEM. */
int chg_scan_add(struct chg_scan *sc, const cJSON *obj);

/* ---- classification and commit ---- */

struct chg_result {
	cJSON *created, *updated, *deleted; /* arrays (owned) */
	cJSON *deleted_ids; /* the known ids of `deleted`, in order: what commit removes */
};

int chg_result_init(struct chg_result *r); /* 0 or -ENOMEM */
void chg_result_free(struct chg_result *r);
size_t chg_result_count(const struct chg_result *r);

/* Sorts the candidates of a finished scan into r->created / r->updated
 * (oldest first; records are copies).  st is not modified.  0 or -ENOMEM. */
int chg_classify(const struct chg_state *st, const struct chg_scan *sc, struct chg_result *r);

/* Known ids a complete scan did not see: a malloc'd vector of borrowed ids
 * (valid until st changes) in *out, their number returned; -ENOMEM. */
long chg_missing(const struct chg_state *st, const struct chg_scan *sc, const char ***out);

/* Moves a confirmed deletion into r->deleted (the known stub).  0 or -ENOMEM. */
int chg_add_deleted(const struct chg_state *st, const char *id, struct chg_result *r);

/* Applies a finished poll to st: new boundary, recent (candidates newer than
 * it, older entries pruned), known (complete: the ids seen; else known plus
 * the candidates; deletions removed).  0 or -ENOMEM (st then unchanged in its
 * boundary, so the next poll looks at the same records again). */
int chg_commit(struct chg_state *st, const struct chg_scan *sc, const struct chg_result *r,
	       bool complete, int64_t new_boundary);

/* ---- output ---- */

/* {"data":{"created":[...],"updated":[...],"deleted":[...]}} rendered like
 * `jq .`; a list a switch turns off is empty.  NULL on OOM. */
char *chg_result_render(const struct chg_result *r, bool created, bool updated, bool deleted,
			size_t *len);

/* The spool file name of a poll at poll_ms, after a file named last_ms:
 * "YYYY-MM-DDTHH-MM-SS.mmmZ.json" of max(poll_ms, last_ms + 1), so names
 * sort in poll order and never repeat.  *used receives the time named.
 * Returns 0 or -ERANGE. */
int chg_spool_name(int64_t poll_ms, int64_t last_ms, char *buf, size_t n, int64_t *used);

#endif
