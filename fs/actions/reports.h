/*
 * reports.h - report requests (reference section 15): create one
 * (POST /api/v1/reports answers 202), follow its status (queued ->
 * processing -> done | failed | aborted), list and download its outputs, and
 * remember the requests this mount created: the API can neither list past
 * reports nor fetch one by id, so qlikfs keeps their ids in the state
 * directory (reports.json).
 *
 * The request functions are stateless and thread-safe; the registry is
 * thread-safe (one mutex).  Nothing here logs.
 */
#ifndef QLIKFS_REPORTS_H
#define QLIKFS_REPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "client/qclient.h"

#define REPORTS_REQUEST_MAX (1u << 20) /* bytes of a report request document */
#define REPORTS_ID_MAX 64
#define REPORTS_NAME_MAX 255
#define REPORTS_TYPE_MAX 32
#define REPORTS_REG_MAX 10000          /* requests the registry keeps */
#define REPORTS_REG_FILE "reports.json"

/*
 * Sends a report request: json[0..len) is the document the reports API takes
 * (ReportRequest: "type", "output" {outputId, type, ...}, a template ...).
 * It must be a JSON object with a string "type" and an "output" object with
 * a string "type" (checked here; the tenant checks the rest).  The POST is
 * not repeated after an ambiguous failure (only after 429).
 * On success returns 0, *id (malloc'd: the requestId, or the id in the
 * Location .../reports/{id}/status) and, when output_type is not NULL, a
 * malloc'd copy of output.type.  On failure returns -EINVAL (not a report
 * request, or refused by the tenant: REP-400000...), -ENOENT (the template
 * app does not exist: REP-404001), -EACCES, -EIO, with err saying why.
 */
int reports_create(struct qclient *qc, const char *json, size_t len, char **id,
		   char **output_type, char *err, size_t n);

/* GET /api/v1/reports/{id}/status: 0 and *status (the ReportStatus object,
 * owned), or -errno with err (-ENOENT: unknown or expired request). */
int reports_status(struct qclient *qc, const char *id, cJSON **status, char *err, size_t n);

/* Every output of the request (GET .../outputs, all pages): 0 and *outputs,
 * a JSON array of OutputListItem {outputId, status, location?, sizeBytes,
 * ...} (owned), or -errno with err. */
int reports_outputs(struct qclient *qc, const char *id, cJSON **outputs, char *err, size_t n);

/*
 * Downloads an output: GET of its location (absolute, or a path; a location
 * on another origin is fetched from the tenant's, as the credentials never
 * leave it), streamed into fd from offset 0 (fd is truncated first and again
 * before a retry).  timeout_ms: budget (0: the client's).  Returns 0 and
 * *size, or -errno with err: -ENOENT (expired: 404/410), -ENOSPC (fd's disk).
 */
int reports_download(struct qclient *qc, const char *location, int fd, long timeout_ms,
		     uint64_t *size, char *err, size_t n);

/* A file extension for an output type ("pdf" -> "pdf", "image" -> "png",
 * "excel" -> "xlsx", "pptxcomposition" -> "pptx", ...; "bin" when unknown).
 * Static string. */
const char *reports_output_ext(const char *output_type);

/* ---- the registry of created requests ---- */

struct report_entry {
	char id[REPORTS_ID_MAX + 1];
	char name[REPORTS_NAME_MAX + 1];        /* the name it was created under */
	char output_type[REPORTS_TYPE_MAX + 1]; /* output.type of the request, or "" */
	int64_t created_ms;                     /* ms since the epoch */
};

struct reports_reg;

/*
 * Loads <state_dir>/reports.json ({"version":1,"reports":[{"id","name",
 * "outputType","created" (RFC 3339)}...]}); a missing file is an empty
 * registry.  Returns 0 and *out, or -EINVAL (the file is not such a
 * document: it is left untouched), -EFBIG, -ENOMEM, or the errno of reading
 * it.  state_dir is copied.
 */
int reports_reg_open(const char *state_dir, struct reports_reg **out);
void reports_reg_free(struct reports_reg *r); /* NULL-safe */

/* Adds an entry and rewrites the file atomically (statedir_write_atomic).
 * Returns 0, -EEXIST (id already there), -EINVAL (id empty or longer than
 * REPORTS_ID_MAX; name and output_type are cut to their bounds), -ENOSPC
 * (REPORTS_REG_MAX entries), or the write's errno (then nothing changed). */
int reports_reg_add(struct reports_reg *r, const char *id, const char *name,
		    const char *output_type, int64_t created_ms);

/* Removes an entry and rewrites the file.  Returns 0, -ENOENT, or the
 * write's errno (then nothing changed). */
int reports_reg_remove(struct reports_reg *r, const char *id);

/* Removes the entries created before before_ms; returns how many, or the
 * write's errno. */
int reports_reg_prune(struct reports_reg *r, int64_t before_ms);

/* Copies entry id into *out: 0 or -ENOENT. */
int reports_reg_get(struct reports_reg *r, const char *id, struct report_entry *out);

/* A copy of every entry, oldest first: 0 with *out (malloc'd, may be NULL
 * when *n == 0) or -ENOMEM. */
int reports_reg_list(struct reports_reg *r, struct report_entry **out, size_t *n);

#endif
