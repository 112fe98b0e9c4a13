/*
 * ns_restore_content.c - a restore's content (docs/SEMANTICS.md "Restore",
 * "Apps' content"): a backup's .qvf imported once (by its sha256), an app
 * its JSON made replaced by the import, an import interrupted adopted; data
 * files' bytes equal to the last upload not sent again; the trash's undo
 * recorded in the map.
 *
 * Locks: as ns_restore.c.
 */
#include "ns/core/ns_restore_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "actions/qvf.h"
#include "ns/core/ns_mut.h"

/* sha256 of bytes [0, end) of fd in hex.  0 or -errno.  Lock dropped. */
static int fd_sha(struct ns *ns, int fd, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdl = 0;
	char *buf = malloc(1 << 16);
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	int rc = buf && x && EVP_DigestInit_ex(x, EVP_sha256(), NULL) ? 0 : -ENOMEM;
	off_t off = 0;
	ssize_t got = 0;
	pthread_mutex_unlock(&ns->lock);
	while (!rc && (got = pread(fd, buf, 1 << 16, off)) > 0) {
		EVP_DigestUpdate(x, buf, (size_t)got);
		off += got;
	}
	pthread_mutex_lock(&ns->lock);
	if (!rc && got < 0)
		rc = -errno;
	if (!rc && !EVP_DigestFinal_ex(x, md, &mdl))
		rc = -EIO;
	for (unsigned i = 0; !rc && i < mdl && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(x);
	free(buf);
	return rc;
}

/* The app made from its JSON (id), replaced by an import of fd: same name,
 * space and description; the empty one deleted. */
static int swap_in(struct ns *ns, const char *old, const char *id, int fd, uint64_t size,
		   const char *note, char *err, size_t errn)
{
	const struct rtype *rt = restab_get(RK_APP);
	cJSON *root = NULL, *app = NULL;
	const cJSON *obj = NULL;
	char sid[128];
	snprintf(sid, sizeof(sid), "%s", id);
	int rc = fetch_obj(ns, rt, sid, &root, &obj, err, errn);
	if (rc)
		return rc;
	char *name = strdup(json_str(obj, "name") ? json_str(obj, "name") : "app");
	const char *sp = json_str(obj, "spaceId");
	char *space = sp ? strdup(sp) : NULL;
	cJSON *fields = cJSON_CreateObject();
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(obj, "description");
	if (cJSON_IsString(desc) && desc->valuestring[0])
		cJSON_AddStringToObject(fields, "description", desc->valuestring);
	cJSON_Delete(root);
	pthread_mutex_unlock(&ns->lock);
	rc = name ? qvf_import(ns->o.client, fd, size, name, space, ns->o.transfer_timeout_ms, &app,
			       err, errn)
		  : -ENOMEM;
	pthread_mutex_lock(&ns->lock);
	const char *nid = json_str(cJSON_GetObjectItemCaseSensitive(app, "attributes"), "id");
	char newid[128] = "";
	if (!rc && nid)
		snprintf(newid, sizeof(newid), "%s", nid);
	else if (!rc)
		rc = -EIO;
	cJSON_Delete(app);
	free(name);
	free(space);
	if (!rc) {
		bool changed;
		char ferr[256];
		if (rs_converge(ns, rt, newid, fields, &changed, ferr, sizeof(ferr)))
			restore_report(ns, "field-left-out", NULL, rt->type, old, newid, ferr);
		pthread_mutex_unlock(&ns->lock);
		int drc = res_delete(ns->o.client, rt, sid, err, errn);
		pthread_mutex_lock(&ns->lock);
		if (!drc || drc == -ENOENT)
			mut_apply_delete(ns, rt, sid);
		else
			restore_report(ns, "failed", NULL, rt->type, old, sid,
				       "the app made from the JSON could not be deleted");
		rs_mapped(ns, RK_APP, old, newid, note);
		restore_report(ns, "imported", NULL, rt->type, old, newid,
			       "replaces the app first made from its JSON");
	}
	cJSON_Delete(fields);
	return rc;
}

/* The import of a backup's .qvf, about to be sent: an intent recorded, or
 * the import an interrupted restore made adopted (0).  1: to send. */
static int import_intent(struct ns *ns, struct node *c, const char *old, const char *name,
			 const char *note)
{
	struct restore *r = ns->restore;
	struct idmap_rec prev;
	char nid[128], in[600];
	if (idmap_get(r->map, RK_APP, old, &prev) && !strcmp(prev.new_id, "?") &&
	    rs_adopt(ns, c, &prev, name, nid, sizeof(nid))) {
		rs_mapped(ns, RK_APP, old, nid, note);
		restore_report(ns, "adopted", NULL, "app", old, nid,
			       "imported by a restore that was interrupted");
		return 0;
	}
	snprintf(in, sizeof(in), "%lld %.500s", (long long)ns_wall_ms(), name);
	for (char *p = in; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	idmap_add(r->map, RK_APP, old, "?", in);
	return 1;
}

int restore_qvf(struct ns *ns, struct node *c, const char *old, const char *name, int fd,
		uint64_t size, char *note, size_t noten, char *err, size_t errn)
{
	struct restore *r = ns->restore;
	char sha[65] = "";
	struct idmap_rec rec;
	if (!r)
		return 1;
	int rc = fd_sha(ns, fd, sha);
	if (rc)
		return rc;
	snprintf(note, noten, NOTE_QVF "%s", sha);
	const char *id = old;
	if (idmap_get(r->map, RK_APP, old, &rec) && strcmp(rec.new_id, "?"))
		id = rec.new_id;
	if ((rc = rs_in_tenant(ns, RK_APP, id, err, errn)) < 0)
		return rc;
	if (rc == 0) /* not here (any more): the caller imports */
		return name ? import_intent(ns, c, old, name, note) : 1;
	if (id != old && !strcmp(rec.note, note)) {
		restore_report(ns, "unchanged", NULL, "app", old, id, "this export was imported");
		return 0;
	}
	if (id != old && !strcmp(rec.note, NOTE_JSON))
		return swap_in(ns, old, id, fd, size, note, err, errn);
	errmsg_set(err, errn, "app %s exists: a restore does not replace an app's content (rm "
			      "the app first to restore it from this file)", id);
	restore_report(ns, "refused", NULL, "app", old, id, err);
	return -EPERM;
}

void restore_record(struct ns *ns, enum rkind k, const char *old, const char *new_id,
		    const char *note)
{
	char o[128], id[128];
	if (!ns->restore || !old || !new_id || !strcmp(old, new_id))
		return;
	snprintf(o, sizeof(o), "%s", old);
	snprintf(id, sizeof(id), "%s", new_id);
	rs_mapped(ns, k, o, id, note);
	restore_report(ns, "restored", NULL, restab_get(k)->type, o, id, note);
}

void restore_imported(struct ns *ns, const char *old, const char *new_id, const char *note)
{
	if (!ns->restore || !new_id)
		return;
	char o[128], id[128];
	snprintf(o, sizeof(o), "%s", old);
	snprintf(id, sizeof(id), "%s", new_id);
	rs_mapped(ns, RK_APP, o, id, note);
	restore_report(ns, "imported", NULL, "app", o, id, NULL);
}

bool restore_app_is_empty(struct ns *ns, const char *old)
{
	struct idmap_rec rec;
	return ns->restore && idmap_get(ns->restore->map, RK_APP, old, &rec) &&
	       strcmp(rec.new_id, "?") && !strcmp(rec.note, NOTE_JSON);
}

bool restore_same_bytes(struct ns *ns, const char *id, int64_t mtime_ms, int fd)
{
	struct idmap_rec rec;
	char sha[65] = "";
	if (!ns->restore || !id || !idmap_get(ns->restore->bytes, RK_DATAFILE, id, &rec) ||
	    atoll(rec.note) != (long long)mtime_ms || fd_sha(ns, fd, sha))
		return false;
	return !strcmp(rec.new_id, sha);
}

void restore_uploaded(struct ns *ns, const cJSON *now, int fd)
{
	const struct rtype *rt = restab_get(RK_DATAFILE);
	const char *nid = now ? restab_id(rt, now) : NULL;
	char sha[65] = "", id[128], note[32];
	if (!ns->restore || !nid || fd_sha(ns, fd, sha))
		return;
	snprintf(id, sizeof(id), "%s", nid);
	snprintf(note, sizeof(note), "%lld", (long long)restab_mtime_ms(rt, now));
	idmap_add(ns->restore->bytes, RK_DATAFILE, id, sha, note);
}
