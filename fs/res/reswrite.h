/*
 * reswrite.h - changes to Qlik resources: update from an edited document,
 * create, delete.  One function per change, driven by the resource table
 * (restab.h: verb, writable fields, stale field); no namespace or FUSE types,
 * no locks, no logging: failures return -errno with a one-line explanation
 * (the server's error text included) in err.
 *
 * Errno (docs/SEMANTICS.md "Errors"): EINVAL bad document or a value the API rejects,
 * EEXIST name taken, ESTALE changed on the server since the file was opened,
 * EACCES not permitted, ENOENT gone, ENOTEMPTY space/store not empty, EPERM
 * the kind cannot do that, EIO network or server failure after the retries.
 */
#ifndef QLIKFS_RESWRITE_H
#define QLIKFS_RESWRITE_H

#include <cjson/cJSON.h>

#include "client/qclient.h"
#include "res/restab.h"

/* Where a new resource goes: the directory it was created in. */
/* Where a resource is created: by kind, the id of the resource of that kind
 * it is made in (a space for apps and data stores, "personal" or NULL for
 * none; a store for data assets; an asset and its store for data sets). */
struct res_scope {
	const char *id[RK_COUNT];
};

/* The URL of GET one resource (apps: the catalogue item).  Malloc'd; NULL on OOM. */
char *res_one_url(struct qclient *qc, const struct rtype *rt, const char *id);

/* GETs one resource: 0 with *root (caller frees) and *obj inside it, or -errno. */
int res_get(struct qclient *qc, const struct rtype *rt, const char *id, cJSON **root,
	    const cJSON **obj, char *err, size_t errn);

/* Applies the difference between base (the object when the file was opened)
 * and edited (the file's new content) to resource id: only writable fields
 * present in edited and different from base are sent; read-only and absent
 * fields are left alone.  Refuses with -ESTALE when the resource changed on
 * the server since base (its stale_field moved, or its version).
 * Returns 0 with *now = the resource's new state (caller frees; the object a
 * GET would give), or 0 with *now = NULL when nothing writable changed (no
 * request sent), or 1 when the change was applied but the resource is no
 * longer visible to the caller (an app moved to another user's personal
 * space), or -errno. */
int res_update(struct qclient *qc, const struct rtype *rt, const char *id, const cJSON *base,
	       const cJSON *edited, cJSON **now, char *err, size_t errn);

/* Creates a resource of kind rt from doc (read-only fields dropped) in scope;
 * name is used when doc has none.  Returns 0 with *now (caller frees) or
 * -errno (-EPERM when the kind cannot be created this way). */
int res_create(struct qclient *qc, const struct rtype *rt, const struct res_scope *scope,
	       const cJSON *doc, const char *name, cJSON **now, char *err, size_t errn);

/* Deletes resource id (batch endpoint for kinds without a single delete).
 * Returns 0, -ENOENT when already gone, -ENOTEMPTY when it still holds
 * content, or another -errno. */
int res_delete(struct qclient *qc, const struct rtype *rt, const char *id, char *err,
	       size_t errn);

/* A JSON Patch path for a top-level field ("/" + RFC 6901 escaping) into
 * out.  Returns 0 or -ENAMETOOLONG.  Pure; exposed for unit tests. */
int res_pointer(const char *field, char *out, size_t n);

#endif
