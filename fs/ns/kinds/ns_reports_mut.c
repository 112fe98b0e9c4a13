/*
 * ns_reports_mut.c - creating reports through reports/ (docs/SEMANTICS.md "Reports"):
 * a new NAME.json there (X_NEW) holds a report request in memory until its
 * close, which POSTs it (reports_create); the report's id then goes into the
 * registry and the file's name gives way to the report's directory
 * "NAME (<id>)/" (ns_reports.c).
 *
 * Rules, as for new resource files (ns_mut.c):
 *  - an empty file creates nothing; content that is not one JSON object, or
 *    not a report request, fails the close with EINVAL before anything is
 *    sent, keeps the content, and says why in user.qlik.error;
 *  - the POST is never repeated after a failure that may have reached the
 *    tenant (reports_create retries only 429); a failed create keeps the
 *    file, so it can be fixed and saved again;
 *  - once created, the open handle keeps its content, but later writes
 *    through it create nothing (EPERM at close): a report cannot be changed;
 *  - names tools use for temporary files, and names not ending in .json,
 *    are scratch files in memory (R_SCRATCH); renaming one to NAME.json
 *    sends it (`jq ... > reports/t && mv reports/t reports/q1.json`).
 *
 * Locks: ns->lock held on entry; dropped around the POST and the writes to
 * the state directory that follow it.
 */
#include "ns/kinds/ns_ext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/errmap.h"
#include "util/jsonfmt.h"
#include "util/names.h"
#include "ns/core/ns_mut.h"
#include "actions/reports.h"
#include "util/statedir.h"

#define REQUEST_FILE "request.json"

/* Is name, in reports/, a report request (else a scratch file)? */
static bool is_request_name(const char *name)
{
	return !names_is_scratch(name) && !mut_ends_with(name, REJECTED) &&
	       mut_ends_with(name, ".json") && strcmp(name, ".json");
}

int rep_create(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
	       size_t errn)
{
	struct node *n;
	if (!is_request_name(name)) {
		n = mut_scratch_new(ns, d, name);
	} else {
		n = node_new(ns, d, name, R_EXT, false);
		if (n) {
			n->xk = X_NEW;
			n->mtime_ms = n->ctime_ms = ns_wall_ms();
			n->mem_dirty = true;
		}
	}
	(void)err, (void)errn;
	if (!n)
		return -ENOMEM;
	*out = n;
	return 0;
}

int rep_truncate(struct ns *ns, struct node *n, uint64_t size)
{
	return mut_mem_truncate(ns, n, size);
}

/* Parses what was written: one JSON object, else -EINVAL saying where. */
static int parse_request(const char *data, size_t len, cJSON **out, char *err, size_t errn)
{
	cJSON *j = NULL;
	int rc = mut_parse_json(data, len, &j, err, errn);
	if (rc)
		return rc;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		errmsg_set(err, errn, "a report request is one JSON object (the body of "
				      "POST /api/v1/reports): nothing was sent");
		return -EINVAL;
	}
	*out = j;
	return 0;
}

/* The report's name: the file's name without ".json", decoded. */
static char *report_name(const char *file)
{
	char base[NAMES_MAX + 1], dec[NAMES_MAX + 1];
	size_t l = strlen(file) - 5;
	if (l >= sizeof(base))
		l = sizeof(base) - 1;
	memcpy(base, file, l);
	base[l] = '\0';
	return strdup(names_decode(base, dec, sizeof(dec)) > 0 ? dec : base);
}

/* Keeps the request as sent, for request.json (best effort: without it the
 * report only lacks that file). */
static void save_request(const char *rdir, const char *id, const cJSON *doc)
{
	char dir[4096];
	size_t len;
	if (snprintf(dir, sizeof(dir), "%s/%s", rdir, id) >= (int)sizeof(dir) ||
	    statedir_mkdir(rdir, id))
		return;
	char *txt = jsonfmt_pretty(doc, &len);
	if (txt)
		statedir_write_atomic(dir, REQUEST_FILE, txt, len);
	free(txt);
}

/* Sends the request n holds.  Lock held; dropped during the POST. */
static int send_request(struct ns *ns, struct node *n, char *err, size_t errn)
{
	struct ns_ext *x = ns->ext;
	cJSON *doc = NULL;
	char *id = NULL, *otype = NULL;
	int rc = rep_registry(ns, err, errn);
	if (!rc)
		rc = parse_request(body_of(n)->mem, body_of(n)->memlen, &doc, err, errn);
	if (rc) {
		mut_node_set_errmsg(n, err);
		return rc;
	}
	char *name = report_name(n->name), *body = malloc(body_of(n)->memlen);
	size_t len = body_of(n)->memlen;
	if (!name || !body) {
		free(name);
		free(body);
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	memcpy(body, body_of(n)->mem, len);
	if ((rc = mut_node_lock_change(ns, n, err, errn))) {
		free(name);
		free(body);
		cJSON_Delete(doc);
		mut_node_set_errmsg(n, err);
		return rc;
	}
	n->mem_dirty = false;
	pthread_mutex_unlock(&ns->lock);
	int64_t now = ns_wall_ms();
	int reg_rc = 0;
	char regerr[512] = "";
	rc = reports_create(ns->o.client, body, len, &id, &otype, err, errn);
	if (!rc) {
		save_request(x->rdir, id, doc);
		reg_rc = rep_reg_change(ns->o.state_dir, id, name, otype ? otype : "", now, regerr,
					sizeof(regerr));
	}
	pthread_mutex_lock(&ns->lock);
	mut_node_unlock_change(ns, n);
	if (!rc) {
		n->id = id;
		id = NULL;
		node_detach(ns, n); /* the report's directory takes over */
		if (!rep_dir_add(ns, n->id, name, otype, now) && !reg_rc)
			reg_rc = -ENOMEM;
		if (reg_rc)
			errmsg_set(err, errn, "report %s was created, but it will not be listed after a "
				  "remount: %s", n->id, regerr[0] ? regerr : strerror(-reg_rc));
		rc = reg_rc;
	}
	mut_node_set_errmsg(n, rc ? err : NULL);
	free(id);
	free(otype);
	free(name);
	free(body);
	cJSON_Delete(doc);
	return rc;
}

int rep_flush(struct ns *ns, struct node *n, char *err, size_t errn)
{
	if (!n->mem_dirty)
		return 0;
	if (n->id) {
		n->mem_dirty = false;
		errmsg_set(err, errn, "this file already created report %s, which cannot be changed: "
			  "write a new file for another report", n->id);
		return -EPERM;
	}
	/* An empty file creates nothing (yet): a shell's `> f` closes a
	 * duplicate of the descriptor before anything is written. */
	if (n->gone || !body_of(n)->memlen)
		return 0;
	return send_request(ns, n, err, errn);
}

int rep_rename(struct ns *ns, struct node *n, struct node *t, struct node *d, struct node *nd,
	       const char *newname, char *err, size_t errn)
{
	bool mem = n->role == R_SCRATCH || (n->role == R_EXT && n->xk == X_NEW && !n->id);
	bool t_mem = t && (t->role == R_SCRATCH || (t->role == R_EXT && t->xk == X_NEW && !t->id));
	(void)d;
	if (!mem || (t && !t_mem)) {
		errmsg_set(err, errn, "a report cannot be renamed, nor replaced by renaming onto it");
		return -EPERM;
	}
	if (t && t != n)
		mut_mem_node_remove(ns, t);
	node_detach(ns, n);
	int rc = node_attach(ns, nd, n, newname);
	if (rc)
		return rc;
	if (!is_request_name(newname)) {
		n->role = R_SCRATCH;
		n->xk = 0;
		return 0;
	}
	n->role = R_EXT;
	n->xk = X_NEW;
	n->mem_dirty = true;
	return rep_flush(ns, n, err, errn); /* a file renamed here is a request: sent now */
}
