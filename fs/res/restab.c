/*
 * restab.c - the rows of the resource table (see docs/QLIK-API.md sections 6 and 7).
 *
 * Apps are listed through the items catalogue (there is no app list); the
 * file of an app is its catalogue item, whose resourceId is the app id and
 * whose resourceAttributes are the app's attributes.  The item's own
 * updatedAt moves whenever the app changes, so it is the file's mtime.
 */
#include "res/restab.h"

#include <stddef.h>
#include <string.h>

#include "util/qtime.h"

static const struct rtype rows[RK_COUNT] = {
	[RK_SPACE] = {
		.kind = RK_SPACE, .type = "space", .id_field = "id",
		.dir = "spaces", .personal_dir = "@personal", .self_file = "space.json",
		.mkdir_creates = true,
		.name_fields = { "name" },
		.created_fields = { "createdAt" },
		.updated_fields = { "updatedAt" },
		.unique_names = true,
		.get_path = "/api/v1/spaces",
		.page_limit = 100,
		.list_path = "/api/v1/spaces",
		/* no sort by update time (docs/QLIK-API.md section 7.1): a scan */
		.poll_name = "spaces", .poll_sort = "+createdAt",
		.write_path = "/api/v1/spaces", .upd = UPD_PATCH_REPLACE, .del = DEL_ONE,
		.creatable = true, .writable = { "name", "description", "ownerId" },
		.create_fields = { "name", "type", "description" },
		.create_defaults = { { "type", "shared" } },
		.stale_field = "updatedAt",
		.refs = { { "ownerId", RK_USER, true } },
	},
	[RK_APP] = {
		.kind = RK_APP, .type = "app", .id_field = "resourceId",
		.dir = "apps", .in = true, .in_kind = RK_SPACE, .in_personal = true,
		.in_field = "spaceId", .personal_by = "ownerId",
		.name_fields = { "name" },
		.created_fields = { "createdAt", "resourceCreatedAt" },
		.updated_fields = { "updatedAt", "resourceUpdatedAt" },
		.unique_names = false,
		.get_path = "/api/v1/items",
		.get_query_id = "resourceId",
		.get_query_fixed = { "resourceType", "app" },
		.page_limit = 100,
		.list_path = "/api/v1/items", .list_query = { "resourceType", "app" },
		.scope_query = "spaceId",
		.poll_name = "apps", .poll_sort = "-updatedAt", .poll_by_update = true,
		.write_path = "/api/v1/apps", .upd = UPD_APP, .del = DEL_ONE, .creatable = true,
		.move_field = "spaceId",
		.create_fields = { "name", "description", "spaceId" },
		.create_wrap = "attributes", .create_answer_id = "attributes.id",
		.writable = { "name", "description", "spaceId", "ownerId" },
		/* the item's updatedAt has whole seconds: the app's own ms */
		.stale_field = "resourceAttributes.modifiedDate",
		.refs = { { "spaceId", RK_SPACE, false }, { "ownerId", RK_USER, true } },
	},
	[RK_DATAFILE] = {
		.kind = RK_DATAFILE, .type = "data-file", .id_field = "id",
		.dir = "data-files", .in = true, .in_kind = RK_SPACE, .in_personal = true,
		.in_field = "spaceId",
		.name_fields = { "name" },
		.created_fields = { "createdDate" },
		.updated_fields = { "modifiedDate", "contentUpdatedDate" },
		.unique_names = true,
		.get_path = "/api/v1/data-files",
		.page_limit = 1000,
		.list_path = "/api/v1/data-files", .list_query = { "includeAllSpaces", "true" },
		.list_query2 = { "includeFolders", "true" }, .by_connection = true,
		.folder_flag = "folder", .bytes_only = true,
		.poll_name = "data-files", .poll_sort = "-modifiedDate", .poll_by_update = true,
		.write_path = "/api/v1/data-files", .upd = UPD_DATAFILE, .del = DEL_ONE,
		.writable = { "name" },
		.stale_field = "modifiedDate",
	},
	[RK_DATASTORE] = {
		.kind = RK_DATASTORE, .type = "data-store", .id_field = "id",
		.dir = "data-stores", .in = true, .in_kind = RK_SPACE, .wide_only = true,
		.in_field = "spaceId",
		.self_file = "data-store.json",
		.name_fields = { "name", "technicalName" },
		.created_fields = { "createdTime" },
		.updated_fields = { "lastModifiedTime" },
		.unique_names = false,
		.get_path = "/api/v1/data-stores",
		.page_limit = 100,
		.list_path = "/api/v1/data-stores",
		/* the sort is unconfirmed: a 400 or a listing out of order falls
		 * back to a scan (changes.c) */
		.poll_name = "data-stores", .poll_sort = "-lastModifiedTime", .poll_by_update = true,
		.write_path = "/api/v1/data-stores", .upd = UPD_PATCH_VERSION, .del = DEL_BATCH,
		.creatable = true, .all_writable = true, .create_same = { "technicalName", "name" },
		.readonly = { "id", "tenantId", "createdBy", "createdTime", "lastModifiedBy",
			      "lastModifiedTime", "version", "ownerId" },
		.refs = { { "spaceId", RK_SPACE, false } },
	},
	[RK_DATAASSET] = {
		.kind = RK_DATAASSET, .type = "data-asset", .id_field = "id",
		.dir = "data-assets", .in = true, .in_kind = RK_DATASTORE, .in_field = "dataStoreInfo.id",
		.self_file = "data-asset.json", .wide_as_files = true,
		.name_fields = { "name", "technicalName" },
		.created_fields = { "createdTime" },
		.updated_fields = { "lastModifiedTime" },
		.unique_names = false,
		.get_path = "/api/v1/data-assets",
		.page_limit = 100,
		.list_path = "/api/v1/data-stores/*/data-assets",
		.write_path = "/api/v1/data-assets", .upd = UPD_PATCH_VERSION, .del = DEL_BATCH,
		.creatable = true, .all_writable = true, .create_same = { "technicalName", "name" },
		.readonly = { "id", "tenantId", "createdBy", "createdTime", "lastModifiedBy",
			      "lastModifiedTime", "version", "ownerId" },
		.refs = { { "dataStoreInfo.id", RK_DATASTORE, false } },
	},
	[RK_DATASET] = {
		.kind = RK_DATASET, .type = "data-set", .id_field = "id",
		.dir = "data-sets", .in = true, .in_kind = RK_DATAASSET, .scope_store = true,
		.in_field = "dataAssetInfo.id",
		.name_fields = { "name", "technicalName" },
		.created_fields = { "createdTime" },
		.updated_fields = { "lastModifiedTime" },
		.unique_names = false,
		.get_path = "/api/v1/data-sets",
		.page_limit = 100,
		.list_path = "/api/v1/data-stores/*/data-assets/*/data-sets",
		.write_path = "/api/v1/data-sets", .upd = UPD_PATCH_VERSION, .del = DEL_BATCH,
		.creatable = true, .all_writable = true, .create_same = { "technicalName", "name" },
		.readonly = { "id", "tenantId", "createdBy", "createdTime", "lastModifiedBy",
			      "lastModifiedTime", "version", "ownerId" },
		.refs = { { "dataAssetInfo.id", RK_DATAASSET, false },
			  { "dataAssetInfo.dataStoreInfo.id", RK_DATASTORE, false } },
	},
	[RK_USER] = {
		.kind = RK_USER, .type = "user", .id_field = "id",
		.dir = "users",
		.name_fields = { "name", "email", "subject" },
		.created_fields = { "createdAt", "created" },
		.updated_fields = { "lastUpdatedAt", "lastUpdated" },
		.unique_names = false,
		.get_path = "/api/v1/users",
		.page_limit = 100,
		.list_path = "/api/v1/users", .list_first = true, .me_file = "me.json",
		/* no sort by update time (docs/QLIK-API.md section 7.5): a scan */
		.poll_name = "users", .poll_sort = "+createdAt",
		.write_path = "/api/v1/users", .upd = UPD_PATCH_REPLACE, .del = DEL_ONE,
		.creatable = true,
		.writable = { "name", "status", "assignedRoles", "assignedGroups", "preferredLocale",
			      "preferredZoneinfo" },
		.id_or_name_lists = { "assignedRoles", "assignedGroups" },
		.readonly = { "id", "tenantId", "createdAt", "lastUpdatedAt", "assignedScopes",
			      "inviteExpiry", "links", "created", "lastUpdated" },
		.stale_field = "lastUpdatedAt",
	},
};

const struct rtype *restab_get(enum rkind kind)
{
	return &rows[kind];
}

bool restab_below(const struct rtype *rt, enum rkind k)
{
	for (int depth = 0; rt->in && depth < RK_COUNT; depth++) {
		if (rt->in_kind == k)
			return true;
		rt = restab_get(rt->in_kind);
	}
	return false;
}

bool restab_keeps_place(const struct rtype *rt)
{
	for (int k = 0; k < RK_COUNT; k++)
		if (rows[k].in && rows[k].scope_store && rows[k].in_kind == rt->kind)
			return true;
	return false;
}

bool restab_in_list(const char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n && l[i]; i++)
		if (!strcmp(l[i], s))
			return true;
	return false;
}

bool restab_writable(const struct rtype *rt, const char *field)
{
	return rt->all_writable ? !RESTAB_IN_LIST(rt->readonly, field)
				: RESTAB_IN_LIST(rt->writable, field);
}

const char *json_str(const cJSON *obj, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

cJSON *json_at_path(cJSON *o, const char *path, cJSON **parent, const char **leaf)
{
	char part[64];
	const char *p = path;
	for (;;) {
		const char *dot = strchr(p, '.');
		if (!dot) {
			*parent = o;
			*leaf = p;
			return cJSON_GetObjectItemCaseSensitive(o, p);
		}
		size_t l = (size_t)(dot - p);
		if (l >= sizeof(part))
			return NULL;
		memcpy(part, p, l);
		part[l] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, part);
		if (!cJSON_IsObject(o))
			return NULL;
		p = dot + 1;
	}
}

const char *json_str_at(const cJSON *obj, const char *path)
{
	cJSON *parent = NULL;
	const char *leaf = NULL;
	const cJSON *v = json_at_path((cJSON *)obj, path, &parent, &leaf);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

bool json_bool(const cJSON *obj, const char *field)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, field));
}

const char *restab_id(const struct rtype *rt, const cJSON *obj)
{
	return json_str(obj, rt->id_field);
}

const char *restab_name(const struct rtype *rt, const cJSON *obj)
{
	for (size_t i = 0; i < 3 && rt->name_fields[i]; i++) {
		const char *s = json_str(obj, rt->name_fields[i]);
		if (s)
			return s;
	}
	return NULL;
}

static int64_t first_time(const char *const *fields, size_t n, const cJSON *obj)
{
	for (size_t i = 0; i < n && fields[i]; i++) {
		int64_t ms;
		const char *s = json_str(obj, fields[i]);
		if (s && qtime_parse_ms(s, &ms) == 0)
			return ms;
	}
	return 0;
}

int64_t restab_ctime_ms(const struct rtype *rt, const cJSON *obj)
{
	return first_time(rt->created_fields, 2, obj);
}

int64_t restab_mtime_ms(const struct rtype *rt, const cJSON *obj)
{
	int64_t t = first_time(rt->updated_fields, 3, obj);
	return t ? t : restab_ctime_ms(rt, obj);
}
