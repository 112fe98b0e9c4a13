/*
 * scripts.h - load scripts of apps (reference section 9a): the history of
 * an app's script versions, one version's text, a new version.  The API
 * gives a version's id, time and size only in the history list, and the
 * text only by version: what a file needs (its exact bytes, its time) takes
 * the list and one GET.
 *
 * Stateless and thread-safe; nothing here logs.  Every function returns 0
 * or -errno with a one-line explanation in err (may be NULL).
 */
#ifndef QLIKFS_SCRIPTS_H
#define QLIKFS_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "client/qclient.h"

#define SCRIPTS_ID_MAX 64
#define SCRIPTS_TEXT_MAX ((size_t)16 << 20) /* bytes of one script we accept */
#define SCRIPTS_MSG_MAX 1024                /* bytes of a version message */

struct script_ver {
	char id[SCRIPTS_ID_MAX + 1]; /* scriptId */
	int64_t mtime_ms;            /* modifiedTime, ms since the epoch (0: unknown) */
	int64_t size;                /* size as the list gives it (-1: absent) */
};

/* GET /api/v1/apps/{app}/scripts: every version (all pages), newest first
 * (sorted here by modifiedTime, whatever order the tenant used).  *versions
 * is a JSON array of {scriptId, modifiedTime, modifierId, size,
 * versionMessage} (owned by the caller). */
int scripts_history(struct qclient *qc, const char *app, cJSON **versions, char *err, size_t n);

/* The newest version of the history (its first page only when the tenant
 * sorts newest first: one request).  -ENOENT: the app has no script. */
int scripts_head(struct qclient *qc, const char *app, struct script_ver *out, char *err,
		 size_t n);

/* GET /api/v1/apps/{app}/scripts/{id} (id may be "current"): the text
 * (malloc'd, NUL-terminated, *len bytes) and, when msg is not NULL, its
 * versionMessage (malloc'd). */
int scripts_get(struct qclient *qc, const char *app, const char *id, char **text, size_t *len,
		char **msg, char *err, size_t n);

/* The current version and its text: scripts_head() then scripts_get() of
 * that version (two requests), so the text and the time go together. */
int scripts_current(struct qclient *qc, const char *app, struct script_ver *ver, char **text,
		    size_t *len, char *err, size_t n);

/* POST /api/v1/apps/{app}/scripts {script, versionMessage}: a new version,
 * made current.  Not repeated after an ambiguous failure (only 429). */
int scripts_set(struct qclient *qc, const char *app, const char *text, size_t len,
		const char *msg, char *err, size_t n);

/* A version's fields from one history entry; false when it has no id. */
bool scripts_ver_parse(const cJSON *entry, struct script_ver *out);

#endif
