/*
 * ns_life.c - a namespace's start and end: the node table's hooks, the
 * root's tree, me.json's first content, the deferred-delete sender; at the
 * end, the deletes still waiting, the handles never released, the nodes.
 */
#include "ns/ns.h"

#include <stdlib.h>
#include <string.h>

#include "ns/core/ns_internal.h"
#include "ns/core/ns_mut.h"
#include "ns/core/ns_restore.h"
#include "ns/kinds/ns_ext.h"
#include "ns/kinds/ns_reloads.h"
#include "ns/kinds/ns_reports.h"
#include "ns/kinds/ns_scripts.h"
#include "ns/kinds/ns_trash.h"
#include "util/inomap.h"
#include "util/clock.h"
#include "util/log.h"

/* The root's fixed entries: me.json, the tenant-wide collections and the
 * personal space's (where the resource table's rows put them: dir,
 * personal_dir, in_personal), and the kinds' own (api, reports/ ...). */
static void root_kids(struct ns *ns, struct node *n)
{
	for (int k = 0; k < RK_COUNT; k++) { /* the caller's own object: me.json */
		const struct rtype *rt = restab_get((enum rkind)k);
		struct node *me = rt->me_file ? node_new(ns, n, rt->me_file, R_ME, false) : NULL;
		if (me) {
			me->pinned = true;
			me->rt = rt;
		}
	}
	struct node *pers = NULL;
	for (int k = 0; k < RK_COUNT; k++) {
		const struct rtype *rt = restab_get((enum rkind)k);
		struct node *c = rt->dir ? node_add_coll(ns, n, rt->dir, rt->kind, NULL, NULL) : NULL;
		if (!c || !rt->personal_dir || !(pers = node_add_static(ns, c, rt->personal_dir)))
			continue;
		for (int j = 0; j < RK_COUNT; j++) { /* (spaces/@personal/apps/ ...) */
			const struct rtype *pt = restab_get((enum rkind)j);
			if (pt->in_personal)
				node_add_coll(ns, pers, pt->dir, pt->kind, "personal", NULL);
		}
	}
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd) /* the kinds' own: api, reports/ */
		if (kd->root_kids)
			kd->root_kids(ns, n);
	/* the personal space's views, now that the tenant-wide colls exist */
	for (int j = 0; pers && j < RK_COUNT; j++) {
		const struct rtype *rt = restab_get((enum rkind)j);
		struct node *c = rt->in_personal ? node_kid(pers, rt->dir) : NULL;
		if (c)
			view_setup(ns, c, rt->dir, NULL);
	}
}

struct ns *ns_new(const struct ns_opts *o)
{
	struct ns *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->o = *o;
	ns->hooks = (struct ns_hooks){ qvf_placed, ns_report_failure,
				       view_index_build, trash_keep, trash_done,
				       restore_create, restore_created, restore_before_update,
				       qvf_attached };
	/* the node kinds, one line each: a node of that role gets the kind */
	ns->kinds[R_QVF] = ns->kinds[R_QVFDIR] = &ns_qvf_kind; /* .qvf/ and the exports */
	ns->kinds[R_UPLOAD] = &ns_upload_kind; /* files copied in to be sent */
	ns->kinds[R_SCRATCH] = &ns_scratch_kind; /* a tool's temporary file */
	ns->kinds[R_NEW] = &ns_new_kind;         /* a file being created */
	ns->kinds[R_COLL] = &ns_coll_kind;       /* a directory a listing fills */
	ns->kinds[R_FOLDER] = &ns_folder_kind;   /* a data-file folder */
	ns->kinds[R_ME] = &ns_me_kind;           /* me.json */
	ns->kinds[R_FILE] = &ns_res_kind;        /* a resource's JSON file */
	ns->kinds[R_RESDIR] = &ns_resdir_kind;   /* a space, data store, data asset */
	/* kinds with a role of their own, in the order of their entries (a
	 * collection's .index.json after its .qvf/; at the root changes/ and
	 * .trash before the others) */
	ns_kind_add(ns, &ns_index_kind);    /* .index.json */
	ns_kind_add(ns, &ns_local_kind);    /* changes/ */
	ns_kind_add(ns, &ns_trash_kind);    /* .trash/ */
	ns_kind_add(ns, &ns_ops_kind);      /* .status.json, .errors */
	ns_kind_add(ns, &ns_api_kind);      /* api */
	ns_kind_add(ns, &ns_reports_kind);  /* reports/ */
	ns_kind_add(ns, &ns_scripts_kind);  /* scripts/ */
	ns_kind_add(ns, &ns_reloads_kind);  /* reloads/ */
	ns_kind_add(ns, &ns_appdata_kind);  /* data-model/, lineage/ */
	if (ns->o.ttl_ms <= 0)
		ns->o.ttl_ms = 1;
	pthread_mutex_init(&ns->lock, NULL);
	pthread_mutex_init(&ns->files_lock, NULL);
	clock_cond_init(&ns->cv);
	ns->mount_ms = ns_wall_ms();
	const char *me_id = o->me ? json_str(o->me, "id") : NULL;
	ns->me_id = me_id ? strdup(me_id) : NULL;
	ns->ntab = 1; /* inode 0 is invalid */
	ns->captab = 1024;
	ns->tab = calloc(ns->captab, sizeof(*ns->tab));
	if (!ns->tab || !(ns->lazy_inos = inomap_new())) {
		free(ns->tab);
		free(ns);
		return NULL;
	}
	struct node *root = node_new(ns, NULL, "/", R_STATIC, true);
	if (!root) {
		ns_free(ns);
		return NULL;
	}
	root->pinned = true;
	root_kids(ns, root);
	struct node *me = node_kid(root, "me.json");
	if (ns->o.me && me && node_set_obj(ns, me, ns->o.me, NULL) == 0)
		me->fetched_at = ns_now(ns) ? ns_now(ns) : 1;
	ns->o.me = NULL; /* borrowed for this call only */
	restore_open(ns); /* (without it, backups copied in are plain new files) */
	if (defer_start(ns)) {
		ns_free(ns);
		return NULL;
	}
	return ns;
}

void ns_free(struct ns *ns)
{
	if (!ns)
		return;
	prefetch_free(ns);
	defer_stop(ns); /* the deletes still waiting are sent now */
	/* handles whose release the kernel never sent (an unmount racing the
	 * last close) */
	struct ns_file *f;
	struct ns_dir *d;
	while ((f = ns_file_any(ns))) {
		struct node *n = f->dirty ? ns_node(ns, f->ino) : NULL;
		char path[1024];
		if (n && node_path(n, path, sizeof(path)) >= 0)
			log_warn("%s: written but never closed before the exit: not sent", path);
		ns_release(f);
	}
	while ((d = ns_dir_any(ns)))
		ns_closedir(d);
	const struct ns_kind *kd;
	FOR_EACH_KIND(ns, kd)
		if (kd->free)
			kd->free(ns);
	restore_free(ns);
	for (size_t i = 1; i < ns->ntab; i++) {
		if (!ns->tab[i])
			continue; /* (freed: node_reclaim) */
		view_index_free(cs_of(ns->tab[i])->vindex);
		node_destroy(ns->tab[i]);
	}
	free(ns->tab);
	free(ns->lazy_ring);
	inomap_free(ns->lazy_inos);
	free(ns->me_id);
	pthread_cond_destroy(&ns->cv);
	pthread_mutex_destroy(&ns->files_lock);
	pthread_mutex_destroy(&ns->lock);
	free(ns);
}
