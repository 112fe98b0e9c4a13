/*
 * qvf.h - apps as .qvf files: export into a byte-bounded on-disk cache, and
 * import (reference sections 9 and 16).
 *
 * Export: POST /api/v1/apps/{id}/export[?NoData=true] answers 201 with a
 * Location to a temporary content; GET of that Location streams the .qvf
 * into a temporary file of the cache directory, which is renamed into place
 * only once complete (fsync'd): a partial or failed download never becomes
 * a cache entry.
 *
 * Why a cache on disk: tar, rsync and cp need a file's exact size from
 * stat() before they read it, and the API cannot tell the size of an export
 * without making it.  So the first stat (or open) of an app's .qvf exports
 * it once, and later stats, opens and reads are answered from the cached
 * file, for as long as the app is unchanged.
 *
 * Entries are keyed by (app id, the app's modification time in ms, with or
 * without data): a modified app gets a new key and is exported again, and
 * the entry of its older version is dropped.  Files are named
 * "<app id>.<mtime ms>.<data|nodata>.qvf", mode 0600, in a 0700 directory
 * (qvf_cache_new() creates it; statedir_cache_resolve() + "/qvf" is the
 * suggested place).  They survive a remount: qvf_cache_new() adopts the
 * entries it finds (and removes leftover temporary files).
 *
 * Bound: the bytes of the entries on disk are kept <= max_bytes by evicting
 * the least recently used entries that no handle pins.  Pinned entries are
 * never evicted, so the bound can be exceeded while handles are open (an
 * export larger than max_bytes is kept only while it is open).
 *
 * Single flight: concurrent requests for one key share one export.
 *
 * Thread-safe.  The cache never logs; errors come back as -errno plus a
 * message with the tenant's text.
 */
#ifndef QLIKFS_QVF_H
#define QLIKFS_QVF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "client/qclient.h"

#define QVF_DEFAULT_MAX_BYTES ((uint64_t)2 << 30) /* 2 GiB */
#define QVF_APP_ID_MAX 128

struct qvf_cache_opts {
	const char *dir;        /* cache directory, created 0700 if missing (copied) */
	struct qclient *client; /* not owned */
	uint64_t max_bytes;     /* bound of the cache (0: QVF_DEFAULT_MAX_BYTES) */
	long timeout_ms;        /* budget of one export, POST and download (0: 10 minutes) */
};

struct qvf_cache;
struct qvf_file; /* a pinned entry: an open descriptor on a complete export */

/* Opens (creating) the cache directory and adopts the entries in it.
 * Returns the cache or NULL with *err set (-ENOMEM, or the errno of the
 * directory). */
struct qvf_cache *qvf_cache_new(const struct qvf_cache_opts *o, int *err);

/* Frees the cache (the files stay on disk).  Every qvf_file must have been
 * released.  NULL-safe. */
void qvf_cache_free(struct qvf_cache *c);

/*
 * The export of app app_id as it was at mtime_ms (nodata: without its data),
 * from the cache or exported now.  On success returns 0 and *out, a handle
 * that pins the entry: read it with pread(qvf_file_fd(*out), ...), its size
 * is qvf_file_size(*out), release it with qvf_release().  On failure returns
 * -EINVAL (an app id that is not [A-Za-z0-9_-]{1,128}), -ENOENT (no such
 * app), -EACCES (not allowed to export), -EIO (network, tenant, or an empty
 * export), -ENOSPC / -EDQUOT (the cache's disk) or -ENOMEM, with err filled.
 */
int qvf_open(struct qvf_cache *c, const char *app_id, int64_t mtime_ms, bool nodata,
	     struct qvf_file **out, char *err, size_t n);

int qvf_file_fd(const struct qvf_file *f);        /* read-only, owned by the handle */
uint64_t qvf_file_size(const struct qvf_file *f); /* exact byte length */
void qvf_release(struct qvf_file *f);             /* NULL-safe */

/* qvf_open() + qvf_release(): the exact size of the export (exporting if
 * needed), for stat(). */
int qvf_size(struct qvf_cache *c, const char *app_id, int64_t mtime_ms, bool nodata,
	     uint64_t *size, char *err, size_t n);

/* The size of a cached export without any request: 0, or -ENOENT when that
 * key is not cached. */
int qvf_peek(struct qvf_cache *c, const char *app_id, int64_t mtime_ms, bool nodata,
	     uint64_t *size);

struct qvf_stats {
	uint64_t bytes;     /* bytes of the entries on disk */
	uint64_t entries;
	uint64_t exports;   /* completed exports */
	uint64_t hits;      /* qvf_open() answered from the cache */
	uint64_t evictions;
};
void qvf_get_stats(struct qvf_cache *c, struct qvf_stats *st);

/*
 * Imports bytes [0, size) of fd as a new app named name, into space space_id
 * (NULL: the caller's personal space): the bytes stream to
 * POST /api/v1/temp-contents (octet-stream), then
 * POST /api/v1/apps/import?fileId=...&name=...[&spaceId=...].  The import
 * POST is never repeated after an ambiguous failure (it would create a
 * second app).  fd is borrowed (read with pread).  timeout_ms: budget of
 * each of the two requests (0: 10 minutes).
 * Returns 0 and, when app_out is not NULL, the new NxApp (owned; its id is
 * attributes.id); or -EINVAL (empty name or file, or a file the tenant does
 * not take as an app), -ENOENT (no such space), -EACCES, -EFBIG, -EIO, with
 * err saying why.  Nothing is created on failure (a temporary content may
 * remain; it expires after 10 minutes).
 */
int qvf_import(struct qclient *qc, int fd, uint64_t size, const char *name,
	       const char *space_id, long timeout_ms, cJSON **app_out, char *err, size_t n);

#endif
