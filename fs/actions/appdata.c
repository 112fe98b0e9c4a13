/*
 * appdata.c - an app's data model and lineage; see appdata.h.
 */
#include "actions/appdata.h"

#include <errno.h>
#include <stdlib.h>

#include "util/url.h"

const char *appdata_name(enum appdata_kind k)
{
	return k == APPDATA_LINEAGE ? "lineage" : "metadata";
}

int appdata_get(struct qclient *qc, const char *app, enum appdata_kind k, cJSON **out,
		char *err, size_t n)
{
	struct url_buf *u = url_new(qclient_base(qc));
	url_path(u, "/api/v1/apps");
	url_seg(u, app && *app ? app : ".");
	url_path(u, "/data");
	url_seg(u, appdata_name(k));
	char *url = url_finish(u);
	int rc = url ? qclient_get_json(qc, url, out, err, n) : -ENOMEM;
	free(url);
	return rc;
}
