/*
 * restab.h - the resource table: one row per Qlik resource kind, with the
 * data the namespace needs to list, fetch, name and date it.  A new Qlik
 * resource is a new row here, not a new set of functions.
 */
#ifndef QLIKFS_RESTAB_H
#define QLIKFS_RESTAB_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum rkind {
	RK_SPACE,
	RK_APP,
	RK_DATAFILE,
	RK_DATASTORE,
	RK_DATAASSET,
	RK_DATASET,
	RK_USER,
	RK_COUNT
};

struct rtype {
	enum rkind kind;
	const char *type;          /* value of the user.qlik.type xattr */
	const char *id_field;      /* the id the entry name carries and GETs use */
	const char *name_fields[3];/* first non-empty string wins */
	const char *created_fields[2];
	const char *updated_fields[3];
	bool unique_names;         /* names unique per directory: plain entry names */
	const char *get_path;      /* GET <get_path>/<id> fetches one object */
	const char *get_query_id;  /* or: GET <get_path>?<get_query_id>=<id> answers a list (apps) */
	const char *get_query_fixed[2]; /* extra fixed query for get_query_id lookups */
	int page_limit;            /* largest page size the list endpoint allows */
};

/* Returns the row for kind (never NULL for a valid kind). */
const struct rtype *restab_get(enum rkind kind);

/* Field accessors on a resource object; they return borrowed strings or NULL. */
const char *restab_id(const struct rtype *rt, const cJSON *obj);
const char *restab_name(const struct rtype *rt, const cJSON *obj);

/* Creation / last-update times in ms since the epoch; 0 when absent or
 * unparsable (the update time falls back to the creation time). */
int64_t restab_ctime_ms(const struct rtype *rt, const cJSON *obj);
int64_t restab_mtime_ms(const struct rtype *rt, const cJSON *obj);

/* Helpers on plain cJSON objects. */
const char *json_str(const cJSON *obj, const char *field);   /* non-empty string or NULL */
bool json_bool(const cJSON *obj, const char *field);

#endif
