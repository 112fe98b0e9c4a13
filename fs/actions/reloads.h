/*
 * reloads.h - the Reloads API (reference section 9a): start a reload of an
 * app (POST /api/v1/reloads answers 201 with the Reload), follow it (GET
 * /api/v1/reloads/{id}: status QUEUED -> RELOADING -> SUCCEEDED | FAILED |
 * CANCELED | EXCEEDED_LIMIT, times, error, and the log so far), list them
 * (per app, or tenant-wide for a tenant admin), cancel one.
 *
 * Stateless and thread-safe; nothing here logs.  Every function returns 0
 * or -errno with a one-line explanation in err (may be NULL).
 */
#ifndef QLIKFS_RELOADS_H
#define QLIKFS_RELOADS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "client/qclient.h"

#define RELOADS_ID_MAX 64
#define RELOADS_BODY_MAX 65536 /* bytes of a reload request */

/* Is s a final status (SUCCEEDED, FAILED, CANCELED, EXCEEDED_LIMIT)? */
bool reloads_final(const char *status);

/* Starts a reload: body is the JSON the API takes ({appId, partial?,
 * variables?}; checked to be an object with a string appId).  Not repeated
 * after an ambiguous failure (only 429).  Returns 0 with *reload (owned):
 * the Reload object.  -EINVAL: not such a body, or refused (400); -ENOENT:
 * no such app. */
int reloads_create(struct qclient *qc, const char *body, size_t len, cJSON **reload, char *err,
		   size_t n);

/* GET /api/v1/reloads/{id}: the Reload, with its log so far (owned). */
int reloads_get(struct qclient *qc, const char *id, cJSON **reload, char *err, size_t n);

/* One page of GET /api/v1/reloads (newest first, at most limit 1..100):
 * of app `app`, or of the whole tenant when app is NULL (tenant admins
 * only: others get -EINVAL or -EACCES).  *reloads: a JSON array (owned). */
int reloads_list(struct qclient *qc, const char *app, int limit, cJSON **reloads, char *err,
		 size_t n);

/* Every page of GET /api/v1/reloads?appId=app&limit=100 (newest first),
 * following links.next.href, until max reloads are had (max >= 1) or the
 * last page: one request per 100.  *reloads: a JSON array of at most max
 * Reloads (owned); *pages (may be NULL): the pages fetched. */
#define RELOADS_PAGE 100
int reloads_list_app(struct qclient *qc, const char *app, int max, cJSON **reloads, int *pages,
		     char *err, size_t n);

/* POST /api/v1/reloads/{id}/actions/cancel.  0 when asked (202) or already
 * canceled (204); -EALREADY when it had ended otherwise (409). */
int reloads_cancel(struct qclient *qc, const char *id, char *err, size_t n);

#endif
