/*
 * Layer res/, actions/ and changes/ (one layer): may include each other
 * (no circle), client/, http/, util/ and cache/.
 *
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

/* How an edited file becomes an update (docs/QLIK-API.md section 8). */
enum rupd {
	UPD_NONE,          /* read-only kind */
	UPD_PATCH_REPLACE, /* PATCH [{op:"replace",path:"/f",value}] on get_path/id (spaces, users) */
	UPD_APP,           /* PUT /apps/id {attributes}, PUT|DELETE /apps/id/space, PUT /apps/id/owner */
	UPD_DATAFILE,      /* PUT /data-files/id multipart Json{name} (rename/move) */
	UPD_PATCH_VERSION, /* PATCH RFC 6902 led by {op:"test",path:"/version"} (data stores family) */
};

enum rdel {
	DEL_NONE,
	DEL_ONE,   /* DELETE <write_path>/<id> */
	DEL_BATCH, /* DELETE <write_path> {"ids":[id]} (data stores family: no single delete) */
};

/* An id of another resource that an object holds ("spaceId", or a dotted
 * path "dataStoreInfo.id"): a restore rewrites it to the restored object
 * (docs/SEMANTICS.md "Restore").  owner: a user who may not exist in the
 * target; such a field is left out rather than waited for. */
struct rref {
	const char *path;
	enum rkind to;
	bool owner;
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
	/* Where it shows (docs/SEMANTICS.md "The tree"): the tenant-wide
	 * collection `dir` at the root, in the enum's order; when `in` is set,
	 * a collection of the same name in the directory of each resource of
	 * kind in_kind (a space's apps/), scoped to that resource's id (data
	 * sets: and to the asset's store, scope_store) or, wide_only, the
	 * tenant-wide listing's objects of that resource with no request of its
	 * own; in_personal: also in the personal space's directory, which the
	 * spaces row names (personal_dir).  A kind shown as directories names
	 * its own file inside each (self_file).  in_field names the object's
	 * field that holds the resource it shows in ("spaceId"); without it an
	 * in_personal kind's object is the personal space's (personal_by: only
	 * its owner's, "ownerId"). */
	const char *dir;
	const char *in_field, *personal_by;
	bool in, scope_store, wide_only, in_personal;
	enum rkind in_kind;
	const char *personal_dir;
	const char *self_file;
	/* ...except in its tenant-wide collection, which shows it as files (data
	 * assets: directories only under their store) */
	bool wide_as_files;
	/* the tenant-wide listing: GET <list_path>?<list_query>&<list_query2>.
	 * A listing scoped to a resource (in) puts the scope in list_path's
	 * `*` segments (scope_store: the first is the store's id, the second
	 * the resource's; else the first the resource's), or in the query
	 * parameter scope_query, or (by_connection: data files) lists the
	 * space's DataFiles connection, connectionId=<its id>, without
	 * list_query */
	const char *list_path;
	const char *list_query[2], *list_query2[2];
	const char *scope_query;
	bool by_connection;
	/* the root's file of the caller's own object (users: me.json, GET
	 * /api/v1/users/me) */
	const char *me_file;
	/* usually the tenant's longest listing (users): listed first when a
	 * walk's readahead knows no listing's length yet */
	bool list_first;
	/* data files: names are "/"-separated paths, shown as folders (a
	 * folder directory for each segment); a listed object whose field
	 * folder_flag is true is a folder's own record, not a file */
	const char *folder_flag;
	/* changes/ (the poller): the kind's file and folder name there (NULL:
	 * not polled), the sort of a poll, and whether that sort puts the
	 * latest updates first (an early stop) or is a creation-order scan.
	 * The rows with a poll_name are the types changes/ polls, in the
	 * enum's order, and the names -o changes_types accepts.  A kind the
	 * API cannot sort by update time is scanned whole, in creation order
	 * (+createdAt), which keeps the cursors stable while records are
	 * renamed */
	const char *poll_name;
	const char *poll_sort;
	bool poll_by_update;

	/* writes */
	const char *write_path;    /* base of updates, creates and deletes (apps: /api/v1/apps) */
	enum rupd upd;
	enum rdel del;
	bool creatable;            /* POST <write_path> creates one */
	/* A create's body: the file's fields but the read-only ones, or only
	 * the non-empty strings of the fields named in create_fields;
	 * name_fields[0] defaults to the entry's name, each create_defaults
	 * pair's field to its value, create_same[0] to the body's
	 * create_same[1]; then the
	 * place (in_field) from the directory; all of it wrapped in an object
	 * named create_wrap when set.  create_answer_id: where the answer holds
	 * the new id when the answer is not the object, which is then fetched
	 * (with a few short retries: the catalogue publishes it a moment
	 * later).  NULL-ended lists. */
	const char *create_fields[4];
	const char *create_defaults[2][2];
	const char *create_same[2];
	const char *create_wrap;
	const char *create_answer_id;
	/* array fields written as [{id}] or [{name}]: a bare string is a name
	 * (users' roles and groups); NULL-ended */
	const char *id_or_name_lists[3];
	/* a kind shown as directories that mkdir creates (spaces: a name is
	 * all it needs); the others (data stores, data assets) are created by
	 * their own file (self_file) written in a directory made for it */
	bool mkdir_creates;
	/* made by copying their bytes in (data files: an upload kind), never
	 * by a JSON file: NAME.json there is refused, any other name is a
	 * candidate for the upload */
	bool bytes_only;
	/* a rename into another collection of the same kind (a space's apps/
	 * to another's) is a move that sets this field to the target's scope
	 * id ("" for the personal space); the others move only between
	 * folders of one collection (folder_flag) or not at all */
	const char *move_field;
	const char *writable[8];   /* top-level fields an update may change; NULL-ended */
	bool all_writable;         /* every top-level field but `readonly` (data stores family) */
	const char *readonly[10];  /* never sent, whatever the file says; NULL-ended */
	const char *stale_field;   /* field ("f" or "obj.f") whose change since open means "changed on the server" */
	struct rref refs[3];       /* the ids of other resources it holds; path NULL ends */
};

/* Returns the row for kind (never NULL for a valid kind). */
const struct rtype *restab_get(enum rkind kind);

/* Are rt's scoped collections found (through in_kind, at any depth) in
 * the directories of kind k's resources?  (data sets: in data assets',
 * and so in data stores' and spaces') */
bool restab_below(const struct rtype *rt, enum rkind k);

/* Must a resource of rt remember its place (in_field's id) in its node?
 * True when a kind inside it is scoped by that place too (scope_store). */
bool restab_keeps_place(const struct rtype *rt);

/* Field accessors on a resource object; they return borrowed strings or NULL. */
const char *restab_id(const struct rtype *rt, const cJSON *obj);
const char *restab_name(const struct rtype *rt, const cJSON *obj);

/* Creation / last-update times in ms since the epoch; 0 when absent or
 * unparsable (the update time falls back to the creation time). */
int64_t restab_ctime_ms(const struct rtype *rt, const cJSON *obj);
int64_t restab_mtime_ms(const struct rtype *rt, const cJSON *obj);

/* Is s one of the first n entries of list l (a NULL entry ends it)?  The
 * macro takes a row's array column whole: RESTAB_IN_LIST(rt->readonly, f). */
bool restab_in_list(const char *const *l, size_t n, const char *s);
#define RESTAB_IN_LIST(arr, s) restab_in_list((arr), sizeof(arr) / sizeof((arr)[0]), (s))

/* Is field one an update of rt may send? */
bool restab_writable(const struct rtype *rt, const char *field);

/* Helpers on plain cJSON objects. */
const char *json_str(const cJSON *obj, const char *field);   /* non-empty string or NULL */
bool json_bool(const cJSON *obj, const char *field);
/* The same at a dotted path ("dataStoreInfo.id"); and the item there (NULL
 * when a step is not an object), with the object that holds it and its
 * last name. */
const char *json_str_at(const cJSON *obj, const char *path);
cJSON *json_at_path(cJSON *o, const char *path, cJSON **parent, const char **leaf);

#endif
