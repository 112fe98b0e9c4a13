/*
 * Layer res/, actions/ and changes/ (one layer): may include each other
 * (no circle), client/, http/, util/ and cache/.
 *
 * upload.h - data-file uploads (Qlik data-files API, reference section 10):
 * create with a multipart POST /api/v1/data-files (parts "Json" {name,
 * connectionId?} and "File"), replace the content with a multipart
 * PUT /api/v1/data-files/{id}.  The content streams from a file descriptor
 * (pread while sending: memory stays bounded whatever the size), and names
 * and sizes the API would reject are refused before anything is sent.
 *
 * The content of a data file cannot be read back through the API: this
 * module only writes.
 *
 * Thread-safe: one struct upload serves every thread of a mount.
 */
#ifndef QLIKFS_UPLOAD_H
#define QLIKFS_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "client/qclient.h"

#define UPLOAD_NAME_MAX 1024 /* bytes of a data-file name (its whole folder path) */

struct upload_opts {
	struct qclient *client;   /* not owned */
	long timeout_ms;          /* budget of one upload, retries included (0: 10 minutes) */
	long quota_ttl_ms;        /* reuse of GET /data-files/quotas (0: 10 minutes) */
	int64_t (*now_ms)(void);  /* monotonic clock; NULL: CLOCK_MONOTONIC */
};

struct upload;

/* Returns a context (strings copied) or NULL on OOM. */
struct upload *upload_new(const struct upload_opts *o);
void upload_free(struct upload *u); /* NULL-safe */

/*
 * Checks a data-file name and size against what the API accepts, without
 * uploading: the name is the full path ("folder/sales.csv"), 1..1024 bytes,
 * without any of < > " : | ? * or NUL, without an empty, "." or ".."
 * folder segment or a leading/trailing '/', and its last segment ends in an
 * extension the tenant allows (GET /data-files/quotas "allowedExtensions",
 * fetched at most once per quota_ttl; when the quotas cannot be read, only
 * the presence of an extension is checked here and the tenant decides).
 * size must not exceed the quota's maxFileSize.
 * Returns 0, -EINVAL (bad name, with err saying which rule) or -EFBIG
 * (too large); err (may be NULL) receives the message.
 */
int upload_check(struct upload *u, const char *name, uint64_t size, char *err, size_t n);

/*
 * Uploads bytes [0, size) of fd as data file `name` (checked with
 * upload_check() first).
 *  - replace_id NULL: creates the file (POST) in the space whose data-files
 *    connection is connection_id, or in the caller's personal space when
 *    connection_id is NULL.  Never retried after a 5xx or a network failure
 *    (a POST may have reached the tenant), only after 429.
 *  - replace_id set: replaces that file's content (PUT, retried like every
 *    PUT); name and connection_id, when not NULL, also rename / move it.
 * fd is borrowed and read with pread (its offset does not move); it must not
 * change during the call.  On success returns 0 and, when out is not NULL,
 * the DataFile object the tenant answered (owned by the caller).  On failure
 * returns a negative errno with err saying why, with the tenant's text:
 * -EINVAL (name rejected, DF-010/DF-011), -EEXIST (name taken, 409 on
 * create), -ESTALE (409 on replace), -EFBIG (413 too large), -EDQUOT (quota
 * exhausted, DF-016), -EBUSY (423 locked), -ENOENT (replace_id gone),
 * -EACCES, -EIO; nothing was created then (except after an ambiguous network
 * failure of a POST, reported as -EIO).
 */
int upload_datafile(struct upload *u, int fd, uint64_t size, const char *name,
		    const char *connection_id, const char *replace_id, cJSON **out, char *err,
		    size_t n);

/*
 * The id of the data-files connection of a shared or managed space
 * (GET /data-files/connections?spaceId=...), for upload_datafile().
 * Returns 0 with a malloc'd id in *conn_id, -ENOENT when the space has none,
 * or another negative errno with err filled.
 */
int upload_connection_id(struct upload *u, const char *space_id, char **conn_id, char *err,
			 size_t n);

#endif
