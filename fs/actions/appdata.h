/*
 * appdata.h - an app's data model and lineage (reference section 9):
 * GET /api/v1/apps/{id}/data/metadata (fields, tables, reload_meta,
 * static_byte_size) and GET /api/v1/apps/{id}/data/lineage
 * ([{discriminator, statement}]).  They describe the app's last reload.
 * Stateless and thread-safe; nothing here logs.
 */
#ifndef QLIKFS_APPDATA_H
#define QLIKFS_APPDATA_H

#include <cjson/cJSON.h>

#include "client/qclient.h"

enum appdata_kind { APPDATA_METADATA, APPDATA_LINEAGE };

/* "metadata" or "lineage". */
const char *appdata_name(enum appdata_kind k);

/* GETs one of them: 0 and *out (the JSON answer, owned), or -errno with a
 * one-line explanation in err (-ENOENT: no such app, or no data yet). */
int appdata_get(struct qclient *qc, const char *app, enum appdata_kind k, cJSON **out,
		char *err, size_t n);

#endif
