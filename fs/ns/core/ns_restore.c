/*
 * ns_restore.c - a backup copied back into the mount (docs/SEMANTICS.md
 * "Restore").
 *
 *  - The map (res/idmap.c, <state_dir>/restore/ids) keeps which resource of
 *    this tenant a backup's id stands for.  Listings show a restored
 *    resource under the backup's id ("Sales (OLD).json"), so rsync, cp and
 *    tar find on their next run what they wrote on the first.
 *  - A new file named after (or holding) an id the map knows updates the
 *    resource restored from it, sending only the writable fields that
 *    differ; an id still in the tenant (a restore over the tenant the backup
 *    came from) updates that resource; any other becomes a create, recorded
 *    before (an intent, so that a restore killed mid-way adopts what it made)
 *    and after.
 *  - References (restab's refs: an app's spaceId, a data set's asset and
 *    store) are rewritten to the restored objects.  One that is neither
 *    mapped nor in the tenant is inferred from the directory the file is
 *    written in (spaces/X/apps/: space X) or else holds the file: it stays
 *    in the mount with its content, and goes through when the object it
 *    waits for is restored.  An unknown owner is left out and reported.
 *  - Apps' .qvf: imported under the name without the id; an app first made
 *    from its JSON (no content yet) is replaced by the import.  Data files'
 *    bytes equal to what was last uploaded to an unchanged file are not sent
 *    again.
 *  - The report (<state_dir>/restore/report.jsonl) gets a JSON line for
 *    what was created, updated, held, released and refused, with why.
 *
 * Locks: ns->lock held on entry; requests drop it (the node being written
 * is busy meanwhile).
 */
#include "ns/core/ns_restore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "client/qclient.h"
#include "ns/core/ns_mut.h"
#include "res/idmap.h"
#include "util/log.h"
#include "util/names.h"
#include "util/url.h"
#include "util/statedir.h"

int restore_open(struct ns *ns)
{
	char dir[4096], bdir[4200];
	if (!ns->o.state_dir || ns->restore)
		return 0;
	struct restore *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/restore", ns->o.state_dir);
	snprintf(bdir, sizeof(bdir), "%s/bytes", dir);
	int rc = statedir_mkdir(ns->o.state_dir, "restore");
	if (!rc)
		rc = idmap_open(dir, &r->map);
	if (!rc)
		rc = idmap_open(bdir, &r->bytes);
	if (!rc && (asprintf(&r->report, "%s/report.jsonl", dir) < 0 ||
		    !(r->absent = strmap_new()) || !(r->told = strmap_new())))
		rc = -ENOMEM;
	if (rc) {
		log_warn("restore: cannot use %s: %s; backups copied in are created as new files",
			 dir, strerror(-rc));
		ns->restore = r;
		restore_free(ns);
		return rc;
	}
	ns->restore = r;
	ns->idmap = r->map;
	return 0;
}

static void free_absent(struct restore *r)
{
	strmap_free(r->absent);
	r->absent = strmap_new();
}

void restore_free(struct ns *ns)
{
	struct restore *r = ns->restore;
	if (!r)
		return;
	for (size_t i = 0; i < r->nheld; i++) {
		if (r->held[i].ino)
			restore_report(ns, "held-unmounted", NULL, restab_get(r->held[i].kind)->type,
				       r->held[i].id, NULL,
				       "still waiting at unmount: not sent (copy it again)");
		free(r->held[i].doc);
	}
	free(r->held);
	free(r->fixes);
	idmap_free(r->map);
	idmap_free(r->bytes);
	free(r->report);
	strmap_free(r->absent);
	strmap_free(r->told);
	free(r);
	ns->restore = NULL;
	ns->idmap = NULL;
}

/* ---- the report ---- */

void restore_report(struct ns *ns, const char *action, const struct node *n, const char *kind,
		    const char *old, const char *new_id, const char *why)
{
	struct restore *r = ns->restore;
	char path[4096] = "";
	cJSON *o;
	if (!r || !r->report || !(o = statedir_report_new(action)))
		return;
	if (n && node_path(n, path + 1, sizeof(path) - 1) > 0)
		path[0] = '/';
	if (path[0])
		cJSON_AddStringToObject(o, "path", path);
	if (kind)
		cJSON_AddStringToObject(o, "kind", kind);
	if (old)
		cJSON_AddStringToObject(o, "backupId", old);
	if (new_id)
		cJSON_AddStringToObject(o, "id", new_id);
	if (why && why[0])
		cJSON_AddStringToObject(o, "why", why);
	if (statedir_report_append(r->report, o, STATEDIR_REPORT_MAX))
		log_warn("restore: cannot write the report %s", r->report);
}

/* ---- ids ---- */

const char *restore_real_id(struct ns *ns, enum rkind k, const char *id, char *buf, size_t n)
{
	if (ns->restore && id && idmap_new_id(ns->restore->map, k, id, buf, n))
		return buf;
	return id;
}

/* Is id of kind k in the tenant?  1 yes, 0 no, or -errno.  A listing that
 * holds it answers; else one GET (the lock dropped). */
int rs_in_tenant(struct ns *ns, enum rkind k, const char *id, char *err, size_t errn)
{
	char key[200];
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *c = ns->tab[i];
		if (c && c->role == R_COLL && c->rt && c->rt->kind == k && cs_of(c)->by_id &&
		    strmap_get(cs_of(c)->by_id, id))
			return 1;
	}
	snprintf(key, sizeof(key), "%d:%s", (int)k, id);
	if (strmap_get(ns->restore->absent, key))
		return 0;
	cJSON *root = NULL;
	const cJSON *obj = NULL;
	int rc = fetch_obj(ns, restab_get(k), id, &root, &obj, err, errn);
	cJSON_Delete(root);
	if (rc == -ENOENT || rc == -EACCES || rc == -EPERM) {
		strmap_put(ns->restore->absent, key, (void *)1);
		return 0;
	}
	return rc ? rc : 1;
}

static void release(struct ns *ns, enum rkind k, const char *old);

/* Records old -> new and lets go what waited for it. */
void rs_mapped(struct ns *ns, enum rkind k, const char *old, const char *new_id,
		   const char *note)
{
	struct restore *r = ns->restore;
	int rc = idmap_add(r->map, k, old, new_id, note);
	if (rc)
		log_warn("restore: cannot record %s %s -> %s: %s", restab_get(k)->type, old, new_id,
			 strerror(-rc));
	free_absent(r);
	mut_colls_stale(ns, k); /* shown under the backup's id from the next listing */
	release(ns, k, old);
}

/* ---- references ---- */

/* The id the directory a file is written in gives for kind k. */
static const char *scope_id(const struct res_scope *sc, enum rkind k)
{
	const char *v = (unsigned)k < RK_COUNT ? sc->id[k] : NULL;
	return v && v[0] && strcmp(v, "personal") ? v : NULL;
}

static void owner_fix_add(struct ns *ns, enum rkind k, const char *obj, const char *owner)
{
	struct restore *r = ns->restore;
	if (!obj || strlen(obj) >= 128 || strlen(owner) >= 128)
		return;
	for (size_t i = 0; i < r->nfix; i++)
		if (r->fixes[i].kind == k && !strcmp(r->fixes[i].obj, obj))
			return;
	if (r->nfix == r->capfix) {
		size_t nc = r->capfix ? r->capfix * 2 : 16;
		struct owner_fix *v = realloc(r->fixes, nc * sizeof(*v));
		if (!v)
			return;
		r->fixes = v;
		r->capfix = nc;
	}
	struct owner_fix *f = &r->fixes[r->nfix++];
	f->kind = k;
	snprintf(f->obj, sizeof(f->obj), "%s", obj);
	snprintf(f->owner, sizeof(f->owner), "%s", owner);
}

/* The backup's user `owner` now stands for user id: the objects restored
 * without their owner get it. */
static void owner_fix_run(struct ns *ns, const char *owner, const char *id)
{
	struct restore *r = ns->restore;
	for (size_t i = 0; i < r->nfix;) {
		struct owner_fix f = r->fixes[i];
		char nid[128], err[512] = "";
		bool changed;
		if (strcmp(f.owner, owner)) {
			i++;
			continue;
		}
		r->fixes[i] = r->fixes[--r->nfix];
		if (!idmap_new_id(r->map, f.kind, f.obj, nid, sizeof(nid)))
			continue;
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "ownerId", id);
		int rc = rs_converge(ns, restab_get(f.kind), nid, doc, &changed, err, sizeof(err));
		cJSON_Delete(doc);
		restore_report(ns, rc ? "failed" : "owner-set", NULL, restab_get(f.kind)->type, f.obj,
			       nid, rc ? err : "its user is in the tenant now");
		i = 0;
	}
}

/* Rewrites doc's references.  0, 1 when held (what it waits for in *wk,
 * wid), or -errno. */
static int translate(struct ns *ns, const struct node *n, const struct rtype *rt, cJSON *doc,
		     const cJSON *base, const struct res_scope *sc, enum rkind *wk, char *wid,
		     size_t widn, char *err, size_t errn)
{
	char nid[128];
	for (size_t i = 0; i < sizeof(rt->refs) / sizeof(rt->refs[0]) && rt->refs[i].path; i++) {
		const struct rref *f = &rt->refs[i];
		cJSON *parent = NULL;
		const char *leaf = NULL;
		cJSON *v = json_at_path(doc, f->path, &parent, &leaf);
		if (!cJSON_IsString(v) || !v->valuestring[0] || !strcmp(v->valuestring, "personal"))
			continue;
		cJSON *bp = NULL;
		const char *bl = NULL;
		const cJSON *bv = base ? json_at_path((cJSON *)base, f->path, &bp, &bl) : NULL;
		if (cJSON_IsString(bv) && !strcmp(bv->valuestring, v->valuestring))
			continue; /* as the resource has it: nothing to rewrite or check */
		char old[128];
		snprintf(old, sizeof(old), "%s", v->valuestring);
		const char *to = NULL;
		if (idmap_new_id(ns->restore->map, f->to, old, nid, sizeof(nid))) {
			to = nid;
		} else {
			int rc = rs_in_tenant(ns, f->to, old, err, errn);
			if (rc < 0)
				return rc;
			if (rc == 1)
				continue;
			const char *s = scope_id(sc, f->to);
			if (s) {
				snprintf(nid, sizeof(nid), "%s", s);
				rs_mapped(ns, f->to, old, nid, "from the directory");
				to = nid;
			}
		}
		if (to) {
			cJSON_ReplaceItemInObjectCaseSensitive(parent, leaf, cJSON_CreateString(to));
		} else if (f->owner) {
			owner_fix_add(ns, rt->kind, restab_id(rt, doc), old);
			char why[300], key[160];
			snprintf(why, sizeof(why), "%s %s is not a user of this tenant: left out (the "
						   "restoring user owns what it makes)", f->path, old);
			snprintf(key, sizeof(key), "owner:%s", old); /* reported once a mount */
			if (!strmap_get(ns->restore->told, key)) {
				strmap_put(ns->restore->told, key, (void *)1);
				restore_report(ns, "field-left-out", n, rt->type, NULL, NULL, why);
			}
			cJSON_DeleteItemFromObjectCaseSensitive(parent, leaf);
		} else {
			*wk = f->to;
			snprintf(wid, widn, "%s", old);
			return 1;
		}
	}
	return 0;
}

static int hold_add(struct ns *ns, const struct hold *h)
{
	struct restore *r = ns->restore;
	if (r->nheld == r->capheld) {
		size_t nc = r->capheld ? r->capheld * 2 : 16;
		struct hold *v = realloc(r->held, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->held = v;
		r->capheld = nc;
	}
	r->held[r->nheld++] = *h;
	return 0;
}

static void held_update_run(struct ns *ns, struct hold *h);

/* What waited for (k, old) goes through now. */
static void release(struct ns *ns, enum rkind k, const char *old)
{
	struct restore *r = ns->restore;
	for (size_t i = 0; i < r->nheld;) {
		if (r->held[i].kind != k || strcmp(r->held[i].id, old)) {
			i++;
			continue;
		}
		struct hold h = r->held[i];
		r->held[i] = r->held[--r->nheld];
		if (h.ino) {
			char err[512] = "";
			struct node *n = ns_node(ns, h.ino);
			if (n && !n->gone && n->role == R_NEW && !body_of(n)->created && n->parent) {
				restore_report(ns, "released", n, n->rt ? n->rt->type : NULL, old,
					       NULL, NULL);
				n->mem_dirty = true;
				if (mut_commit_create(ns, n, err, sizeof(err)))
					restore_report(ns, "failed", n, NULL, NULL, NULL, err);
			}
		} else {
			held_update_run(ns, &h);
		}
		free(h.doc);
		i = 0; /* the list may have changed meanwhile */
	}
}

/* ---- updates ---- */

/* Sends the writable fields of doc that differ from resource id's state
 * now.  0 (with *changed) or -errno. */
int rs_converge(struct ns *ns, const struct rtype *rt, const char *id, const cJSON *doc,
		    bool *changed, char *err, size_t errn)
{
	cJSON *root = NULL, *now = NULL;
	const cJSON *obj = NULL;
	*changed = false;
	int rc = fetch_obj(ns, rt, id, &root, &obj, err, errn);
	if (rc)
		return rc;
	char *idc = strdup(id);
	pthread_mutex_unlock(&ns->lock);
	rc = idc ? res_update(ns->o.client, rt, idc, obj, doc, &now, err, errn) : -ENOMEM;
	pthread_mutex_lock(&ns->lock);
	if (rc == 1) { /* moved out of sight (an app to a personal space) */
		mut_apply_delete(ns, rt, idc);
		rc = 0;
	}
	if (!rc && now) {
		*changed = true;
		mut_apply_change(ns, rt, idc, now);
	}
	free(idc);
	cJSON_Delete(now);
	cJSON_Delete(root);
	return rc;
}

static void held_update_run(struct ns *ns, struct hold *h)
{
	const struct rtype *rt = restab_get(h->tkind);
	char err[512] = "", wid[128];
	enum rkind wk;
	struct res_scope sc = { 0 };
	bool changed;
	cJSON *doc = cJSON_Parse(h->doc);
	int rc = doc ? translate(ns, NULL, rt, doc, NULL, &sc, &wk, wid, sizeof(wid), err, sizeof(err))
		     : -ENOMEM;
	if (rc == 1) {
		h->kind = wk;
		snprintf(h->id, sizeof(h->id), "%s", wid);
		if (!hold_add(ns, h)) {
			h->doc = NULL; /* the list owns it now */
			cJSON_Delete(doc);
			return;
		}
		rc = -ENOMEM;
	}
	if (!rc)
		rc = rs_converge(ns, rt, h->tid, doc, &changed, err, sizeof(err));
	restore_report(ns, rc ? "failed" : "released", NULL, rt->type, NULL, h->tid,
		       rc ? err : "the held update was sent");
	cJSON_Delete(doc);
}

int restore_before_update(struct ns *ns, struct node *rn, cJSON *edited, const cJSON *base,
			  char *err, size_t errn)
{
	if (!ns->restore || !rn->rt || !rn->id)
		return 0;
	const struct rtype *rt = rn->rt;
	const char *own = restab_id(rt, edited);
	char buf[128];
	if (own && strcmp(own, rn->id) &&
	    !idmap_new_id(ns->restore->map, rt->kind, own, buf, sizeof(buf))) {
		/* the backup's JSON of this object (space.json in spaces/X/) */
		char old[128];
		snprintf(old, sizeof(old), "%s", own);
		int rc = rs_in_tenant(ns, rt->kind, old, err, errn);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			char id[128];
			snprintf(id, sizeof(id), "%s", rn->id);
			rs_mapped(ns, rt->kind, old, id, "from the directory");
		}
	}
	struct node *c = rn->parent ? mut_dir_coll(rn->parent) : NULL;
	struct res_scope sc;
	mut_coll_scope(c, &sc);
	enum rkind wk;
	char wid[128];
	int rc = translate(ns, rn, rt, edited, base, &sc, &wk, wid, sizeof(wid), err, errn);
	if (rc != 1)
		return rc;
	struct hold h = { .kind = wk, .tkind = rt->kind, .doc = cJSON_PrintUnformatted(edited) };
	snprintf(h.id, sizeof(h.id), "%s", wid);
	snprintf(h.tid, sizeof(h.tid), "%s", rn->id);
	if (!h.doc || hold_add(ns, &h)) {
		free(h.doc);
		return -ENOMEM;
	}
	char why[300];
	snprintf(why, sizeof(why), "waits for %s %s to be restored", restab_get(wk)->type, wid);
	restore_report(ns, "held", rn, rt->type, NULL, rn->id, why);
	return 1;
}

/* ---- creates ---- */

/* A user of this tenant with the backup user's subject, else its email
 * (GET /users?filter=...&limit=1, the lock dropped): its id in out, true. */
static bool user_match(struct ns *ns, const cJSON *doc, char *out, size_t len)
{
	static const char *const fields[] = { "subject", "email" };
	bool found = false;
	for (size_t i = 0; i < 2 && !found; i++) {
		const char *v = json_str(doc, fields[i]);
		char filter[600], err[256];
		if (!v || strchr(v, '"') || strchr(v, '\\') ||
		    snprintf(filter, sizeof(filter), "%s eq \"%s\"", fields[i], v) >= (int)sizeof(filter))
			continue;
		char *esc = url_escape(filter), *url = NULL;
		if (!esc || asprintf(&url, "/api/v1/users?limit=1&filter=%s", esc) < 0)
			url = NULL;
		free(esc);
		cJSON *r = NULL;
		pthread_mutex_unlock(&ns->lock);
		int rc = url ? qclient_get_json(ns->o.client, url, &r, err, sizeof(err)) : -ENOMEM;
		pthread_mutex_lock(&ns->lock);
		free(url);
		const cJSON *first = rc ? NULL : cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "data"), 0);
		const char *id = json_str(first, "id");
		if (id && !strcmp(json_str(first, fields[i]) ? json_str(first, fields[i]) : "", v)) {
			snprintf(out, len, "%s", id);
			found = true;
		}
		cJSON_Delete(r);
	}
	return found;
}

/* A backup's user: the user of this tenant with its subject or email stands
 * for it (owners of what is restored are rewritten to that user); else it
 * cannot come back.  0 (n leaves: the user shows under the backup's name),
 * or -EPERM. */
static int restore_user(struct ns *ns, struct node *n, const cJSON *doc, const char *old,
			char *err, size_t errn)
{
	char id[128], key[160];
	snprintf(key, sizeof(key), "nouser:%s", old); /* no match: asked again after the TTL */
	intptr_t until = (intptr_t)strmap_get(ns->restore->told, key);
	bool miss = until > ns_now(ns) || !user_match(ns, doc, id, sizeof(id));
	if (miss && until <= ns_now(ns))
		strmap_put(ns->restore->told, key, (void *)(intptr_t)(ns_now(ns) + ns->o.ttl_ms));
	if (miss) {
		errmsg_set(err, errn, "a user is not created by a restore (its id %s is the backup "
				      "tenant's): invite the user in this tenant (same subject or "
				      "email) and copy the file again", old);
		restore_report(ns, "refused", n, "user", old, NULL, err);
		return -EPERM;
	}
	rs_mapped(ns, RK_USER, old, id, "matched by subject or email");
	owner_fix_run(ns, old, id);
	restore_report(ns, "matched", n, "user", old, id, "a user of this tenant with the same "
						     "subject or email: not changed");
	n->mem_dirty = false;
	node_detach(ns, n);
	return 0;
}

/* The backup id a new file stands for: its name's "(id)" when its content
 * is that object's (a backup's file: "Sales (OLD).json" holding id OLD; a
 * pending directory's own file: the directory's name).  False otherwise (a
 * plain new file, or a copy of another file). */
static bool backup_id(const struct node *n, const struct node *c, const cJSON *doc, char *out,
		      size_t len)
{
	bool dirs = coll_kids_are_dirs(c);
	const char *nm = dirs && n->parent && n->parent->pending ? n->parent->name : n->name;
	const char *own = restab_id(c->rt, doc);
	return names_parse_id(nm, dirs ? "" : ".json", out, len) > 0 && own && !strcmp(own, out);
}

const char *restore_own_file(enum rkind k)
{
	const struct rtype *rt = restab_get(k);
	return rt->self_file && !rt->mkdir_creates ? rt->self_file : ""; /* (data-store.json ...) */
}

bool restore_pending_wanted(struct ns *ns, struct node *d, const char *name)
{
	char old[128], id[128];
	if (!ns->restore)
		return false;
	if (d->pending)
		return true;
	return d->role == R_COLL && d->rt && restore_own_file(d->rt->kind)[0] &&
	       d->rt->creatable && names_parse_id(name, "", old, sizeof(old)) > 0 &&
	       !idmap_new_id(ns->restore->map, d->rt->kind, old, id, sizeof(id));
}

/* A pending directory whose resource now exists: it leaves (the resource
 * shows by that name from the next listing); what was written into it
 * besides its own file is reported as not sent. */
static void pending_done(struct ns *ns, struct node *p, struct node *own)
{
	for (size_t i = 0; i < p->nkids; i++) {
		struct node *k = p->kidv[i];
		if (k == own)
			continue;
		if (k->dir && k->pending) {
			pending_done(ns, k, NULL);
		} else if (body_of(k)->memlen) {
			restore_report(ns, "not-sent", k, NULL, NULL, NULL,
				       "written into the directory of a backup's resource before "
				       "its own JSON: copy it again");
		}
	}
	if (p->parent && !p->parent->pending) {
		ns_inval_entry(ns, p->parent, p->name);
		node_detach(ns, p);
	}
}

/* An update of the existing resource id from a new file n. */
static int create_as_update(struct ns *ns, struct node *n, const struct rtype *rt,
			    const char *old, const char *id, cJSON *doc, char *err, size_t errn)
{
	char idc[128];
	bool changed = false;
	snprintf(idc, sizeof(idc), "%s", id);
	int rc = mut_node_lock_change(ns, n, err, errn);
	if (rc)
		return rc;
	n->mem_dirty = false;
	rc = rs_converge(ns, rt, idc, doc, &changed, err, errn);
	mut_node_unlock_change(ns, n);
	if (rc)
		return rc;
	restore_report(ns, changed ? "updated" : "unchanged", n, rt->type, old, idc, NULL);
	if (n->parent && n->parent->pending)
		pending_done(ns, n->parent, n);
	mut_colls_stale(ns, rt->kind);
	node_detach(ns, n); /* the resource shows under this name from the next listing */
	return 0;
}

/* A create killed after its POST and before its record: the object of that
 * name made after the intent, if the listing of c holds one. */
bool rs_adopt(struct ns *ns, struct node *c, const struct idmap_rec *intent,
		  const char *name, char *out, size_t len)
{
	long long t0 = atoll(intent->note);
	for (size_t i = 1; i < ns->ntab; i++) {
		struct node *k = ns->tab[i];
		if (!k || k->gone || k->parent != c || !k->rt || k->rt->kind != c->rt->kind || !k->id ||
		    !k->sname || strcmp(k->sname, name) || k->ctime_ms < t0 - 1000)
			continue;
		char b[128];
		if (idmap_old_id(ns->restore->map, k->rt->kind, k->id, b, sizeof(b)))
			continue;
		snprintf(out, len, "%s", k->id);
		return true;
	}
	return false;
}

int restore_create(struct ns *ns, struct node *n, struct node *c, cJSON *doc, char *err,
		   size_t errn)
{
	struct restore *r = ns->restore;
	const struct rtype *rt = c->rt;
	char old[128], id[128], wid[128];
	if (!r || !rt || !backup_id(n, c, doc, old, sizeof(old)))
		return 1;
	int rc;
	if (rt->kind == RK_USER && idmap_new_id(r->map, RK_USER, old, id, sizeof(id))) {
		n->mem_dirty = false; /* a matched user is not changed by a restore */
		node_detach(ns, n);
		return 0;
	}
	if (rt->kind == RK_USER && (rc = rs_in_tenant(ns, RK_USER, old, err, errn)) <= 0)
		return rc < 0 ? rc : restore_user(ns, n, doc, old, err, errn);
	bool target = false; /* id: the resource to update */
	if (idmap_new_id(r->map, rt->kind, old, id, sizeof(id))) {
		if ((rc = rs_in_tenant(ns, rt->kind, id, err, errn)) < 0)
			return rc;
		target = rc == 1;
	}
	if (!target) {
		if ((rc = rs_in_tenant(ns, rt->kind, old, err, errn)) < 0)
			return rc;
		if (rc == 1) /* the tenant the backup came from */
			snprintf(id, sizeof(id), "%s", old);
		target = rc == 1;
	}
	struct res_scope sc;
	mut_coll_scope(c, &sc);
	enum rkind wk;
	if ((rc = translate(ns, n, rt, doc, NULL, &sc, &wk, wid, sizeof(wid), err, errn)) < 0)
		return rc;
	if (rc == 1 && target) {
		/* the resource exists: its update waits, and it shows as it is */
		struct hold h = { .kind = wk, .tkind = rt->kind, .doc = cJSON_PrintUnformatted(doc) };
		snprintf(h.id, sizeof(h.id), "%s", wid);
		snprintf(h.tid, sizeof(h.tid), "%s", id);
		if (!h.doc || hold_add(ns, &h)) {
			free(h.doc);
			return -ENOMEM;
		}
		char why[300];
		snprintf(why, sizeof(why), "waits for %s %s to be restored", restab_get(wk)->type,
			 wid);
		restore_report(ns, "held", n, rt->type, old, id, why);
		n->mem_dirty = false;
		mut_colls_stale(ns, rt->kind);
		node_detach(ns, n);
		return 0;
	}
	if (rc == 1) {
		struct hold h = { .ino = n->ino, .kind = wk };
		snprintf(h.id, sizeof(h.id), "%s", wid);
		if (hold_add(ns, &h))
			return -ENOMEM;
		n->mem_dirty = false;
		char why[300];
		snprintf(why, sizeof(why), "held: waits for %s %s to be restored (the file stays "
					   "here until then)", restab_get(wk)->type, wid);
		mut_node_set_errmsg(n, why);
		restore_report(ns, "held", n, rt->type, old, NULL, why);
		return 0;
	}
	if (target)
		goto update;
	struct idmap_rec prev;
	const char *name = json_str(doc, "name") ? json_str(doc, "name") : "";
	if (idmap_get(r->map, rt->kind, old, &prev) && !strcmp(prev.new_id, "?") &&
	    rs_adopt(ns, c, &prev, name, id, sizeof(id))) {
		rs_mapped(ns, rt->kind, old, id, "adopted after an interrupted restore");
		goto update;
	}
	char note[600];
	snprintf(note, sizeof(note), "%lld %.500s", (long long)ns_wall_ms(), name);
	for (char *p = note; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	idmap_add(r->map, rt->kind, old, "?", note);
	return 1; /* the caller creates; restore_created records it */
update:
	return create_as_update(ns, n, rt, old, id, doc, err, errn);
}

void restore_created(struct ns *ns, struct node *n, struct node *c, const cJSON *doc,
		     const cJSON *now)
{
	char old[128], id[128], err[512] = "";
	const struct rtype *rt = c->rt;
	const char *nid = now ? restab_id(rt, now) : NULL;
	bool changed;
	if (!ns->restore || !rt || !nid || !backup_id(n, c, doc, old, sizeof(old)))
		return;
	snprintf(id, sizeof(id), "%s", nid);
	rs_mapped(ns, rt->kind, old, id, rt->kind == RK_APP ? NOTE_JSON : "created");
	if (n->parent && n->parent->pending)
		pending_done(ns, n->parent, n);
	/* what the create could not send (an app's owner, a space's) */
	int rc = rs_converge(ns, rt, id, doc, &changed, err, sizeof(err));
	restore_report(ns, rc ? "created-partly" : "created", n, rt->type, old, id,
		       rc ? err : NULL);
}

