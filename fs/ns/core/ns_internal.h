/*
 * Layer ns/core/: may include res/, actions/, changes/ and below; calls up
 * only through struct ns_hooks.
 *
 * ns_internal.h - the node table shared by ns.c (lookups, attributes, files)
 * and ns_coll.c (collections: fetching and applying listings).
 *
 * Invariants:
 *  - Nodes are never freed while the namespace lives: a pointer to a node
 *    stays valid after ns->lock is dropped, and an inode number names the
 *    same resource (at the same path) for the life of the mount.
 *    A node's side structures (body, cs) are made once and freed with it;
 *    a collection (R_COLL) has its cs from node_new.
 *  - Every field of every node (its side structures' too) is
 *    GUARDED_BY(ns->lock).  The lock is never held across an HTTP request:
 *    a refresh begins the collection's `listing` flight, drops the lock,
 *    fetches, retakes it and applies (single flight per collection,
 *    util/flight.h; waiters sleep on ns->cv).
 *  - A non-hidden child is in its parent's `kids` map and `kidv` vector under
 *    its entry name; a hidden child (reached by bare id) only in `kids`.
 *  - Collection children are also in the collection's `by_id` map.
 */
#ifndef QLIKFS_NS_INTERNAL_H
#define QLIKFS_NS_INTERNAL_H

#include <pthread.h>

#include <cjson/cJSON.h>

#include "ns/core/ns_types.h"
#include "res/restab.h"
#include "util/flight.h"
#include "util/strmap.h"

enum nrole {
	R_STATIC,  /* fixed directory: root, spaces/@personal, ... */
	R_COLL,    /* directory listed from a list endpoint */
	R_FOLDER,  /* data-file folder inside a data-files collection */
	R_RESDIR,  /* a resource shown as a directory (space, data store, data asset) */
	R_FILE,    /* a resource's JSON file */
	R_ME,      /* me.json */
	R_SCRATCH, /* a tool's temporary file: in memory only, never sent */
	R_NEW,     /* a file being created: POSTed when closed */
	R_QVF,     /* an app's export, ".qvf/Name (id).qvf" (ns_qvf.c) */
	R_QVFDIR,  /* the .qvf directory of an apps collection */
	R_UPLOAD,  /* a file copied into data-files/ or a .qvf into apps/: on disk, sent when closed */
	R_COUNT    /* the roles from here on are given at start-up (ns_kind_add) */
};

/* What a node keeps of its own content: a memory file's (R_SCRATCH, R_NEW,
 * reports/' requests), a script's being rewritten, an upload's temporary
 * file, .index.json's snapshot, a delete waiting.  Most nodes keep none:
 * made on first need (node_body), freed with the node, read through
 * body_of (the values of none: 0, NULL, tmpfd -1). */
struct node_body {
	/* writes (ns_mut.c) */
	char *mem;              /* R_SCRATCH, R_NEW: the content */
	size_t memlen, memcap;
	cJSON *created;         /* R_NEW: the resource it created (later closes update it) */
	uint64_t wsize;         /* size of the latest such write buffer */

	/* R_UPLOAD: the content, in an unlinked temporary file */
	uint64_t tmplen;
	int tmpfd;              /* R_UPLOAD */

	/* .index.json (ns_index.c) */
	unsigned idx_gen; /* ns->gen then (changes through the mount move it) */
	char *ixbuf;
	size_t ixlen;
	int64_t idx_at;   /* listed_at of the listing it was made from */

	/* R_FILE unlinked, its DELETE waiting (ns_defer.c) */
	int64_t del_due; /* CLOCK_MONOTONIC ms */
};

/* A collection's listing state (R_COLL; an app's reloads directory, X_RLAPP,
 * has its listing too): made with the collection (node_new) or on first need
 * (node_cs), freed with the node, read through cs_of (the values of none: 0,
 * NULL, no flight). */
struct coll_state {
	/* its kids by resource id (a collection's, scripts/ ...), or NULL */
	struct strmap *by_id;
	int64_t listed_at;      /* ns_now() of the listing it shows; 0: stale */
	/* the collection whose listing fills it (a data-file folder's, .qvf/'s,
	 * scripts/' and data-model/'s: apps/), or NULL */
	struct node *coll_root;
	unsigned refresh_gen;   /* a kind's listings of it: its kids' mark */
	char *refresh_err;      /* why the last one failed (waiters share it too) */
	char *conn;             /* a space's data-files/: its DataFiles connection id */
	/* R_COLL inside a space (its data-stores/): the objects of the tenant-wide
	 * collection whose spaceId is space_filter (a view, below, with no request
	 * of its own) */
	char *space_filter;
	/* A view (docs/SEMANTICS.md "Caching and consistency"): a collection
	 * scoped to one space, store or asset that is answered from the
	 * tenant-wide collection `view_of` (the objects whose in_field, the
	 * resource table's, is view_key; for the personal space, PERSONAL_KEY)
	 * while that one is fresh or being listed, else by its own request. */
	struct node *view_of;
	char *view_key;
	/* R_COLL that views are made from: its objects by view key (ns_view.c),
	 * made from the listing of listed_at; the views it answered by their
	 * own requests since it was last listed (the rule's count) */
	struct view_index *vindex;
	unsigned view_misses;
	struct flight listing;  /* R_COLL, X_RLAPP: the refresh in flight; waiters
				 * share its outcome */
};

/* (Fields are grouped by size and flags are bit fields: a walk of a tenant
 * holds a node per entry, tens of thousands; docs/SEMANTICS.md "Memory".) */
struct node {
	uint64_t ino;
	struct node *parent;
	char *name;
	uint64_t nlookup;

	const struct rtype *rt; /* R_FILE, R_RESDIR, R_COLL */
	char *id;               /* resource id; for R_COLL the scope (space/store/asset id, "personal") */
	char *store_id;         /* data assets (dirs, files, their data-sets/ collection) and
				 * data sets: the data store they belong to */
	char *sname;            /* server name the entry name was made from */

	int64_t mtime_ms, ctime_ms;
	uint64_t size;
	uint64_t reported_size; /* the size last handed to the kernel */
	int64_t fetched_at;     /* hidden nodes and R_ME: when fetched alone */

	/* directories: children by name (node_kid; chained through their
	 * knext, no allocation per child) and in order (kidv) */
	struct kidmap *kids;
	struct node **kidv;
	struct node *knext; /* next in its parent's kids bucket */

	/* a directory with a listing (collections, folders, scripts/ ...): its
	 * state, else NULL (coll_state above; read through cs_of) */
	struct coll_state *cs;

	/* writes (ns_mut.c) */
	char *errmsg;           /* why the last change through this file failed */
	/* the content it keeps itself, or NULL (node_body above) */
	struct node_body *body;

	enum nrole role;
	unsigned mark;          /* refresh generation that last saw it */
	uint32_t nkids, capkids; /* directories: kidv's length and room */
	uint32_t idx;           /* position in parent->kidv */
	/* walks (node.c): the walk that last visited the node, and by
	 * which operations (WALK_*) */
	unsigned walk_id;
	unsigned dirty_handles; /* open handles holding unsent writes */
	unsigned char walk_ops;
	unsigned char xk;         /* a kind's own sub-kind (api, reports/, scripts/ ...: their enums) */

	bool dir : 1;
	bool hidden : 1;  /* reached by bare id; not listed */
	bool pinned : 1;  /* a fixed child: never removed by a refresh */
	bool gone : 1;    /* no longer in its parent */
	bool self : 1;    /* the resource's own file inside its R_RESDIR */
	bool reported : 1;          /* the kernel has been given attributes of n */
	bool refresh_outdated : 1;  /* a change was noted during the refresh: its listing
				     * is applied but not counted fresh */
	bool queued : 1;            /* waits for a prefetch worker (ns_prefetch.c) */
	bool mem_dirty : 1;         /* R_NEW: written since the last attempt to create it */
	bool busy : 1;              /* a change is in flight (ns->cv waits) */
	bool sent : 1;              /* R_UPLOAD: uploaded or imported: its content cannot be read back */
	/* R_FOLDER made by mkdir of a backup's resource directory ("Store (OLD)")
	 * not restored yet, or a directory inside one: it holds what is written
	 * into it, in memory, until its own JSON (rt's) creates the resource
	 * (ns_restore.c; rt NULL inside) */
	bool pending : 1;
	/* made by a lookup in a lazy directory (ns_kind lookup_lazy): freed
	 * when the kernel forgets it (its inode evicted), if its kind's
	 * reclaim agrees (node_reclaim) */
	bool lazy : 1;
	bool in_kids : 1; /* linked in its parent's kids */
};

/* An open file.  Resource files opened for writing get a private copy of the
 * content (buf) and the object it was made from (base): a close sends the
 * difference, and refuses it if the resource moved since base.  Scratch and
 * new files are read and written in the node's own memory. */
struct ns_file {
	struct ns *ns;
	uint64_t ino;
	int flags;
	bool writable, append, dirty, mem;
	bool written; /* a write or truncate came through this handle */
	struct cache_blob *blob; /* read-only handles: the snapshot */
	char *buf;
	size_t len, cap;
	cJSON *base;
	char *opened_as; /* resource files opened for writing: the entry name then */
	/* a kind's handle with state of its own (api's, a script's ...; R_QVF's
	 * pinned export), else NULL: the kind's read and release take it */
	void *ext;
	const struct ns_kind *kind; /* the node's kind at open (its read, write, release) */
	struct ns_hlink link; /* in ns->files until released */
};

/* The calls from the node table up to the layers above it, by pointer: the
 * dispatcher (ns.c) sets them in ns_new, so that nothing here names a kind
 * or the dispatcher. */
struct listing; /* ns_coll.c: a listing as fetched */

/*
 * A node kind: the operations the dispatcher (ns/) calls for the nodes of
 * the kind, instead of doing its own work.  An operation left NULL is the
 * dispatcher's default.  Kind files (ns/kinds/) define their tables; ns_new
 * registers each, one line per kind: for a built-in role (ns->kinds[role]:
 * collections, resources, .qvf ...) or for a role of its own past R_COUNT
 * (ns_kind_add: api, reports/, scripts/, reloads/ ...), and a node has the
 * kind of its role (KIND; node_new, node_new_of).  A kind's state on the
 * namespace hangs off ns->kstate[its role] (ns_kstate), made and freed by
 * the kind.  The dispatcher never names a kind's functions.  Locks: read,
 * write, release and opened without ns->lock; the rest with it.
 */
struct ns_kind {
	const char *name;
	/* the fixed entries of a directory of the kind, made with it (a
	 * space's space.json, apps/ ...; node_fixed_kids) */
	void (*fixed_kids)(struct ns *ns, struct node *n);
	/* the kind's own children of the root (api, reports/) */
	void (*root_kids)(struct ns *ns, struct node *root);
	void (*coll_kids)(struct ns *ns, struct node *coll); /* ... of every collection (.qvf/, .index.json) */
	bool aside; /* its nodes leave a directory empty for rmdir (.qvf/ in apps/) */
	void (*drop_caches)(struct ns *ns); /* SIGHUP */
	void (*free)(struct ns *ns);
	/* attributes and freshness (may drop the lock) */
	int (*fresh)(struct ns *ns, struct node *n, char *err, size_t errn);
	int (*listed)(struct ns *ns, struct node *d, char *err, size_t errn);
	void (*fill_attr)(struct ns *ns, struct node *n, struct ns_attr *a);
	bool (*writable)(const struct node *n);
	const char *(*xattr)(struct ns *ns, const struct node *n, const char *name);
	int (*setxattr)(struct ns *ns, struct node *n, const char *name, const char *value,
			size_t size);
	/* the kind's children of a space's directory (scripts/), entries whose
	 * attributes take a request (listed without them), work before a
	 * directory of the kind is listed (the trash's expired entries go),
	 * and resources changed behind the mount's back (their scripts, data
	 * models) */
	void (*space_kids)(struct ns *ns, struct node *space);
	bool (*attrs_need_fetch)(struct ns *ns, struct node *n);
	void (*opendir)(struct ns *ns, struct node *d);
	/* A directory whose entries get nodes only when looked up (a view of
	 * apps/ per app, 25k nodes a walk would not need): list_lazy appends
	 * those without a node to dir (NULL: returns how many at most), and
	 * lookup_lazy makes the node of one (NULL: no such entry). */
	size_t (*list_lazy)(struct ns *ns, struct node *d, struct ns_dir *dir);
	struct node *(*lookup_lazy)(struct ns *ns, struct node *d, const char *name);
	/* A name the directory's listing does not hold, after the lazy ones:
	 * 0 with *out the node reached another way (a collection's resource by
	 * bare id: one GET) or left NULL, else -errno. */
	int (*lookup_missing)(struct ns *ns, struct node *d, const char *name, struct node **out,
			      char *err, size_t errn);
	/* A lazily made node the kernel forgot: false to keep it (it holds
	 * state of its own), else drop the kind's pointers to it (it is freed). */
	bool (*reclaim)(struct ns *ns, struct node *n);
	void (*note_changed)(struct ns *ns, enum rkind kind, const char *const *ids, size_t n);
	/* files: open_as first (before the open's checks; may turn n into
	 * another kind's node: 0 or -errno), then open fills f (f->kind is the
	 * node's kind) */
	int (*open_as)(struct ns *ns, struct node *n, int flags);
	int (*open)(struct ns *ns, struct node *n, struct ns_file *f, bool *size_changed,
		    char *err, size_t errn);
	ssize_t (*read)(struct ns_file *f, char *buf, size_t size, off_t off, char *err,
			size_t errn);
	ssize_t (*write)(struct ns_file *f, const char *data, size_t size, off_t off);
	void (*release)(struct ns_file *f);
	/* content the node keeps itself (an upload's file), whichever handle:
	 * read and written with ns->lock held, by the node's kind now */
	ssize_t (*node_read)(struct ns_file *f, struct node *n, char *buf, size_t size, off_t off);
	ssize_t (*node_write)(struct ns_file *f, struct node *n, const char *data, size_t size,
			      off_t off);
	bool (*opened)(struct ns_file *f, uid_t caller);
	int (*flush)(struct ns *ns, struct node *n, struct ns_file *f, char *err, size_t errn);
	int (*truncate)(struct ns *ns, struct node *n, struct ns_file *f, uint64_t size);
	/* directory operations; claims: a name in a directory of no kind that
	 * makes a node of this one (a data file copied in), by its create and
	 * rename_onto (t NULL or a scratch file) */
	bool (*claims)(struct ns *ns, struct node *d, const char *name);
	int (*create)(struct ns *ns, struct node *d, const char *name, struct node **out,
		      char *err, size_t errn);
	int (*unlink)(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
	int (*rmdir)(struct ns *ns, struct node *d, struct node *n, char *err, size_t errn);
	/* mkdir in directory d of the kind: 0 with *out the directory made (the
	 * dispatcher fills its attributes and counts the kernel's lookup) */
	int (*mkdir)(struct ns *ns, struct node *d, const char *name, struct node **out,
		     char *err, size_t errn);
	int (*rename)(struct ns *ns, struct node *n, struct node *t, struct node *d,
		      struct node *nd, const char *newname, char *err, size_t errn);
	/* The renamed entry's own rule, when no kind's rename above is
	 * involved (n of the kind; t the target, or NULL). */
	int (*move)(struct ns *ns, struct node *n, struct node *t, struct node *d,
		    struct node *nd, const char *newname, char *err, size_t errn);
	/* a file not yet a resource (scratch, new) n renamed onto t of the kind */
	int (*rename_onto)(struct ns *ns, struct node *n, struct node *t, struct node *nd,
			   const char *newname, char *err, size_t errn);
	/* Whole operations, for a kind that runs them itself without ns->lock
	 * (changes/, shown from a local directory): called for an inode of the
	 * kind, or for an entry of a directory of the kind. */
	int (*lookup_in)(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *out);
	int (*getattr_ino)(struct ns *ns, uint64_t ino, struct ns_attr *out);
	int (*opendir_ino)(struct ns *ns, uint64_t ino, struct ns_dir **out);
	int (*open_ino)(struct ns *ns, uint64_t ino, int flags, struct ns_file **out,
			bool *size_changed);
	int (*unlink_in)(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn);
	/* (its directories are read-only: create, mkdir, rmdir and rename in
	 * them are EACCES) */
};
/* Roles past R_COUNT go to the kinds registered with ns_kind_add, which need
 * no role of the core's: api, reports/, .status.json and .errors, scripts/,
 * reloads/, data-model/ and lineage/ (ns_life.c), in the order registered. */
#define NS_MORE_KINDS 16
#define NS_ROLES (R_COUNT + NS_MORE_KINDS)
/* A node's kind: the one registered for its role (a node may change role:
 * a tool's temporary file renamed onto a script becomes one), or NULL. */
#define KIND(ns, n) ((unsigned)(n)->role < NS_ROLES ? (ns)->kinds[(n)->role] : NULL)
/* Every registered kind once (one registered for two roles is not run twice):
 *   const struct ns_kind *kd; FOR_EACH_KIND(ns, kd) if (kd->free) kd->free(ns); */
#define FOR_EACH_KIND(ns, kd)                                 \
	for (unsigned r_ = 0; r_ < NS_ROLES; r_++)            \
		if (((kd) = ns_kind_once((ns), r_)) != NULL)

struct ns_hooks {
	/* a listing placed or refreshed resource node n (apps: their export) */
	void (*placed)(struct ns *ns, struct node *n);
	/* a change that failed away from any caller (a delayed delete): logged and
	 * recorded in .errors (ns_ops.c) */
	void (*report)(struct ns *ns, const char *op, uint64_t ino, const char *name, int rc,
		       const char *err);
	/* a listing of coll was fetched and applied: the views index it */
	void (*listed)(struct ns *ns, struct node *coll, const struct listing *l);
	/* the trash (ns_trash_keep.c), around the DELETE of the resource node n
	 * shows: trash_keep keeps what undoing it needs before it is sent (*kept:
	 * the entry, or NULL) and returns 0, or -errno to refuse the delete (why
	 * in err); trash_done, after it (rc: its result), keeps or drops the
	 * entry.  Lock held (n busy); trash_keep drops it meanwhile. */
	int (*trash_keep)(struct ns *ns, struct node *n, void **kept, char *err, size_t errn);
	void (*trash_done)(struct ns *ns, void *kept, int rc);
	/* a restore (ns_restore.c), around a create and an update (may be
	 * NULL): see restore_create, restore_created, restore_before_update */
	int (*restore_create)(struct ns *ns, struct node *n, struct node *c, cJSON *doc,
			      char *err, size_t errn);
	void (*restore_created)(struct ns *ns, struct node *n, struct node *c, const cJSON *doc,
				const cJSON *now);
	int (*restore_update)(struct ns *ns, struct node *rn, cJSON *edited,
			      const cJSON *base, char *err, size_t errn);
	/* n was attached under a new name or parent (node_attach): what shows
	 * it elsewhere follows (an app's export, ns_qvf.c) */
	void (*attached)(struct ns *ns, struct node *n);
};

struct ns {
	struct ns_opts o;
	struct ns_hooks hooks;
	const struct ns_kind *kinds[NS_ROLES]; /* registered by ns_new, by role */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct node **tab; /* by inode number; tab[0] unused */
	size_t ntab, captab;
	unsigned gen;
	int64_t mount_ms;
	struct ns_stats stats;
	size_t mem_bytes; /* held by scratch and new files */
	/* a kind's own state, by role (ns_kstate): made and freed by the kind */
	void *kstate[NS_ROLES];
	struct ns_trash *trash; /* the trash (ns_trash.h); NULL: none */
	struct restore *restore; /* ns_restore.c; NULL: no state dir */
	struct idmap *idmap;     /* its map (backup id -> restored id), or NULL */
	/* the open handles (a release the kernel never sent, at unmount, frees
	 * them in ns_free); GUARDED_BY(files_lock), a leaf lock */
	pthread_mutex_t files_lock;
	struct ns_hlink *files, *dirs; /* (ns_handle.c; files_lock) */
	/* deletes waiting for delete_delay_ms (ns_defer.c) */
	struct node **dq;
	size_t ndq, capdq;
	pthread_t defer_thr;
	pthread_cond_t defer_cv;
	bool defer_on, defer_stopping;
	/* walks (node.c) */
	unsigned walk_id;
	int64_t walk_start, walk_last;
	char *me_id;               /* the caller's user id (personal-space views) */
	struct prefetch *prefetch; /* ns_prefetch.c; NULL: none */
	/* per-app view entries made by lookups, oldest first (a ring of
	 * o.view_nodes inode numbers; node_lazy_made), and the inode numbers of
	 * those freed, by directory and name (inomap_key) */
	/* the batch a listing being applied stores its contents in (packed
	 * together; coll_apply_listing), else NULL */
	struct cache_batch *batch;
	/* a view is being applied from contents the cache holds (view_refresh):
	 * node_set_obj keeps a content that is already there, byte for byte,
	 * instead of storing it again (in a small batch of the view's own) */
	bool from_cache;
	uint64_t *lazy_ring;
	size_t lazy_head, lazy_len;
	struct inomap *lazy_inos;
};

/* node.c (the node table) */
void node_destroy(struct node *n);
/* n's body to change, made on first need; NULL when it cannot be (ENOMEM). */
struct node_body *node_body(struct node *n);
/* n's body to read: an empty one (0, NULL; tmpfd -1) when it has none. */
extern const struct node_body node_body_none;
static inline const struct node_body *body_of(const struct node *n)
{
	return n->body ? n->body : &node_body_none;
}
/* n's listing state to change (a collection's is made with it), made on
 * first need; NULL when it cannot be (ENOMEM). */
struct coll_state *node_cs(struct node *n);
/* n's listing state to read: an empty one (0, NULL, no flight) when it has
 * none. */
extern const struct coll_state coll_state_none;
static inline const struct coll_state *cs_of(const struct node *n)
{
	return n->cs ? n->cs : &coll_state_none;
}
/* n's listing comes from root's (coll_root, may be NULL) and, with_ids, it
 * keeps its kids by id (by_id): set in its listing state, made now.
 * -ENOMEM when it cannot be. */
int node_listing_init(struct node *n, struct node *root, bool with_ids);
/* n's listing is of `at` (0: stale) */
static inline void node_set_listed(struct node *n, int64_t at)
{
	struct coll_state *cs = at || n->cs ? node_cs(n) : NULL;
	if (cs)
		cs->listed_at = at;
}
/* The next mark of n's kids (a kind's listing of n), 0 on ENOMEM. */
static inline unsigned node_next_gen(struct node *n)
{
	struct coll_state *cs = node_cs(n);
	return cs ? ++cs->refresh_gen : 0;
}
/* The kind of inode ino when it runs whole operations itself (a kind with
 * lookup_in...), else NULL; takes ns->lock briefly. */
const struct ns_kind *ns_ino_kind(struct ns *ns, uint64_t ino);
/* The kind registered for role r, unless an earlier role has the same one. */
const struct ns_kind *ns_kind_once(const struct ns *ns, unsigned r);
/* Registers k for the next role past R_COUNT (ns_new, at start-up): its
 * nodes are made with node_new_of.  Returns the role, or -ENOSPC. */
int ns_kind_add(struct ns *ns, const struct ns_kind *k);
/* The kind registered under name (its table's .name), or NULL: a kind whose
 * table is in one of its files finds it so from the others, which then
 * use that file no more than it uses them. */
const struct ns_kind *ns_kind_named(const struct ns *ns, const char *name);
/* The role k has (the first, if several), or NS_ROLES when it has none. */
unsigned ns_role_of(const struct ns *ns, const struct ns_kind *k);
/* Is n a node of kind k? */
static inline bool node_is(const struct ns *ns, const struct node *n, const struct ns_kind *k)
{
	return n && KIND(ns, n) == k;
}
/* k's own state on the namespace (NULL until it sets it; a kind that is
 * not registered has none and cannot set it: NULL) */
void *ns_kstate(const struct ns *ns, const struct ns_kind *k);
void ns_kstate_set(struct ns *ns, const struct ns_kind *k, void *state);
/* A handle joins / leaves ns->files (ns_open, ns_file_new / ns_release). */
void ns_file_track(struct ns *ns, struct ns_file *f);
void ns_file_untrack(struct ns *ns, struct ns_file *f);
/* An open handle (files: tracked ones; NULL: none): at the exit, those
 * whose release the kernel never sent. */
struct ns_file *ns_file_any(struct ns *ns);
struct ns_dir *ns_dir_any(struct ns *ns);
/* The attributes every node has, from its own fields (writable: its write
 * bits before the umask); ns_fill_attr (the dispatcher) adds the kinds'. */
void node_fill_attr(struct ns *ns, struct node *n, bool writable, struct ns_attr *a);
/* Kinds that show a directory of the local disk (changes/, .trash/): p's
 * child `name` brought in line with a file whose lstat is st (NULL: absent;
 * not a regular file or directory counts as absent): made of kind k,
 * updated, or detached (unless pinned).  0 with *out, -ENOENT or -ENOMEM. */
struct stat;
int node_mirror(struct ns *ns, struct node *p, const char *name, const struct stat *st,
		const struct ns_kind *k, struct node **out);
/* n's path in the mount ("spaces/X/space.json", no leading '/'; "" for the
 * root and a node out of the tree) into buf.  Returns its length, or -1
 * when it does not fit.  ns->lock held. */
int node_path(const struct node *n, char *buf, size_t len);
/* n's times and (files) size from st. */
void node_mirror_stat(struct node *n, const struct stat *st);
int64_t ns_now(struct ns *ns);
/* The deadline of an operation starting now (the client's timeout), and a
 * wait on ns->cv bounded by it: 0 when woken, or -EIO (a timeout, like a request's own) with why in err
 * (`what` names what was waited for). */
int64_t ns_deadline(struct ns *ns);
/* The deadline of a wait on a transfer (a download, an export): transfer_timeout. */
int64_t ns_transfer_deadline(struct ns *ns);
int ns_wait(struct ns *ns, int64_t deadline, const char *what, char *err, size_t errn);
int64_t ns_wall_ms(void);
struct node *ns_node(struct ns *ns, uint64_t ino);
/* Make n's attributes / d's entries fresh (may drop and retake the lock). */
int ensure_node_fresh(struct ns *ns, struct node *n, char *err, size_t errn);
int ensure_node_listed(struct ns *ns, struct node *d, char *err, size_t errn);
void ns_fill_attr(struct ns *ns, struct node *n, struct ns_attr *a);
/* A directory snapshot's end: checks the names and sorts the entries after
 * "." and ".." (0 or -ENOMEM); then unlocks ns->lock and hands d out (or
 * frees it when rc is not 0) and returns rc. */
/* A directory handle with room for `cap` entries, tracked until ns_closedir
 * (or ns_free, for one whose release the kernel never sent); NULL: ENOMEM. */
struct ns_dir *ns_dir_new(struct ns *ns, size_t cap);
int ns_dir_sort(struct ns_dir *d);
int ns_dir_done(struct ns *ns, struct ns_dir *d, int rc, struct ns_dir **out);
/* Appends a file entry without a node to d (room made by the caller): its
 * name and type only, for the kernel to look up (ns_kind list_lazy). */
void ns_dir_add_lazy(struct ns *ns, struct ns_dir *d, const char *name);
/* Frees lazily made node n if nothing holds it (the kernel forgot it, no
 * handle, no change or error of its own, its kind agrees): its inode number
 * is not used again and ns->tab keeps NULL there.  True when freed. */
bool node_reclaim(struct ns *ns, struct node *n);
/* dir's child named name (hidden ones too), or NULL. */
struct node *node_kid(const struct node *dir, const char *name);
/* n was just made by its directory's lookup_lazy: it takes the inode number
 * it had before it was freed, if any, and joins the ring of view entries;
 * the oldest past o.view_nodes is dropped from the kernel's cache. */
void node_lazy_made(struct ns *ns, struct node *n);
/* Where the kid of dir with resource id `id` (cs_of(dir)->by_id) stands in
 * dir->kidv, or 0 when it has none there (a walk's readahead starts there). */
size_t node_kid_pos(const struct node *dir, const char *id);
/* Is a listing or fetch made at t fresh?  Within cache_ttl, or for the
 * length of the walk that made it (node.c). */
bool ns_fresh(struct ns *ns, int64_t t);
struct node *node_new(struct ns *ns, struct node *parent, const char *name, enum nrole role,
		      bool dir);
/* The same for a node of kind k (registered with ns_kind_add); NULL when k
 * is not registered. */
struct node *node_new_of(struct ns *ns, struct node *parent, const char *name,
			 const struct ns_kind *k, bool dir);
/* n becomes a node of kind k (a temporary file renamed to a report request). */
void node_set_kind(struct ns *ns, struct node *n, const struct ns_kind *k);
/* The fixed entries of directory n (its kind's fixed_kids: a space's
 * space.json, apps/ ...), made with it; a collection or a fixed directory
 * made pinned under parent (node_tree.c). */
void node_fixed_kids(struct ns *ns, struct node *n);
/* The extended attribute every node has: user.qlik.error, why the last
 * change through it failed (an ns_kind xattr for nodes that show no other). */
const char *node_xattr_error(struct ns *ns, const struct node *n, const char *name);
/* Resources of kind changed behind the mount's back (ids: those, NULL: any):
 * the collections of the kind are listed again at next use, the nodes
 * showing them fetched again, the kernel told (node_tree.c). */
void node_table_changed(struct ns *ns, enum rkind kind, struct strmap *ids);
struct node *node_add_coll(struct ns *ns, struct node *parent, const char *name, enum rkind kind,
			   const char *scope, const char *scope2);
struct node *node_add_static(struct ns *ns, struct node *parent, const char *name);
void node_detach(struct ns *ns, struct node *n);
int node_attach(struct ns *ns, struct node *parent, struct node *n, const char *name);
int node_set_obj(struct ns *ns, struct node *n, const cJSON *obj, struct cache_blob **out);
void content_key(const struct node *n, char *buf, size_t len);
struct node *node_self(const struct node *dir);
void ns_inval_entry(struct ns *ns, struct node *parent, const char *name);
void ns_inval_inode(struct ns *ns, struct node *n);

/* ns_mut.c */
void node_drop_mem(struct ns *ns, struct node *n);
bool node_writable(const struct ns *ns, const struct node *n);

/* ns_qvf.c (.qvf files) and ns_upload.c (uploads and imports) */
extern const struct ns_kind ns_qvf_kind; /* .qvf/ and the exports (R_QVFDIR, R_QVF) */
extern const struct ns_kind ns_upload_kind; /* files copied in to be sent (R_UPLOAD) */
/* A listing placed app file `app`: a sent import that holds its export's
 * name gives it up (the export itself gets its node when looked up). */
void qvf_placed(struct ns *ns, struct node *app);
void qvf_attached(struct ns *ns, struct node *n);
int upload_tmpfile(struct ns *ns); /* an unlinked 0600 file in tmp_dir, or -errno */

extern const struct ns_kind ns_index_kind; /* .index.json (ns_index.c) */
/* A read-only file handle of node ino over a content snapshot (takes the
 * reference); NULL on OOM. */
struct ns_file *ns_file_new(struct ns *ns, uint64_t ino, struct cache_blob *b);

extern const struct ns_kind ns_local_kind; /* changes/ (ns_local.c) */
/* ns_memfile.c: content in the node's memory (R_SCRATCH, R_NEW) */
extern const struct ns_kind ns_scratch_kind, ns_new_kind;
/* ns_colls.c: collections, data-file folders, me.json (R_COLL, R_FOLDER, R_ME) */
extern const struct ns_kind ns_coll_kind, ns_folder_kind, ns_me_kind;
/* ns_res.c: a resource's file and directory (R_FILE, R_RESDIR) */
extern const struct ns_kind ns_res_kind, ns_resdir_kind;
/* ns_local.c: the nodes of changes/, a kind of whole operations (ns_local_kind):
 * the dispatcher hands them an inode whose kind it is (for lookup: the parent). */
int ns_local_lookup(struct ns *ns, uint64_t parent, const char *name, struct ns_attr *out);
int ns_local_getattr(struct ns *ns, uint64_t ino, struct ns_attr *out);
int ns_local_opendir(struct ns *ns, uint64_t ino, struct ns_dir **out);
int ns_local_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out,
		  bool *size_changed);
int ns_local_unlink(struct ns *ns, uint64_t parent, const char *name, char *err, size_t errn);

/* ns_coll.c */
int coll_refresh(struct ns *ns, struct node *coll, char *err, size_t errn);
int coll_entry_name(const struct node *coll, const struct rtype *rt, const char *sname,
		    const char *id, bool plain, char *out, size_t n);
/* GETs one resource (me.json when rt is NULL), dropping ns->lock meanwhile.
 * Returns 0 with the parsed body in *root (the caller frees it) and the
 * resource object inside it in *obj, or -errno with *root NULL. */
int fetch_obj(struct ns *ns, const struct rtype *rt, const char *id, cJSON **root,
	      const cJSON **obj, char *err, size_t errn);
int fetch_one(struct ns *ns, struct node *n, struct cache_blob **out, char *err, size_t errn);
bool coll_kids_are_dirs(const struct node *coll);
/* A listing as it arrived: one compact JSON text per object (a fraction of
 * the memory of parsed objects, which a walk of 10k users would hold all at
 * once), past its first LISTING_PLAIN bytes kept deflated side by side in
 * blocks of LISTING_BLOCK bytes (a fifth to a third of the texts: a walk's
 * prefetch holds several big listings at once); objects are parsed one at a
 * time when applied. */
#define LISTING_PLAIN (128 * 1024)
#define LISTING_BLOCK (16 * 1024)
struct listing_item {
	struct cache_blob *b; /* its text, or the block holding it; NULL: in `open` */
	uint32_t off, len;    /* where in b (unpacked) or in `open` */
	uint32_t blen;        /* b's length unpacked */
	bool packed;          /* b is deflated (cache_pack) */
};
/* The block last inflated (objects are read in order: each block once). */
struct listing_memo {
	struct cache_blob *blk, *plain;
};
struct listing {
	struct listing_item *v;
	size_t n, cap;
	size_t bytes; /* the texts' length */
	/* the texts of the items not in a block yet (their b NULL) */
	char *open;
	size_t open_len, open_cap;
	struct listing_memo *memo; /* made with the first deflated block; one
				    * reader at a time (the lock's holder) */
};
int listing_add(struct listing *l, char *text); /* takes text; 0 or -ENOMEM */
/* Adds item i of src to l (shared, not copied); 0 or -ENOMEM. */
int listing_add_item(struct listing *l, const struct listing *src, size_t i);
void listing_clear(struct listing *l);
/* Item i parsed (the caller frees it), or NULL on OOM or when it is not JSON. */
cJSON *listing_obj(const struct listing *l, size_t i);
/* Applies a listing to coll's entries, lock held. */
void coll_apply_listing(struct ns *ns, struct node *coll, const struct listing *l);
/* Joins the refresh of coll (or of any directory listed through its
 * `listing` flight, with refresh_err) in flight, within this caller's
 * deadline, and shares its outcome. */
int coll_join_refresh(struct ns *ns, struct node *coll, char *err, size_t errn);
/* Waits (on ns->cv) for the executions of f under way, one after another,
 * at most until deadline, and shares their outcome: 0 once none is under
 * way, the -errno of one that failed (why in err), or -EIO at the deadline
 * (a timeout, like ns_wait's; `what` names what was waited for). */
int ns_flight_join(struct ns *ns, struct flight *f, int64_t deadline, const char *what, char *err,
		   size_t errn);
/* The same without sharing a failure: 0 once no execution of f is under way
 * (for work that is not shared, such as a save, that must not overlap it). */
int ns_flight_idle(struct ns *ns, struct flight *f, int64_t deadline, const char *what, char *err,
		   size_t errn);

/* ns_view.c: views of tenant-wide collections. */
/* Makes c a view of the root collection `root_name`: its objects whose
 * in_field (the resource table's) is key, or with key NULL the personal
 * space's (lock held). */
void view_setup(struct ns *ns, struct node *c, const char *root_name, const char *key);
/* After `wide` applied the listing arr: indexes its objects by view key. */
void view_index_build(struct ns *ns, struct node *wide, const struct listing *l);
void view_index_free(struct view_index *vi);
/* Refreshes the view c from its tenant-wide collection when the rule says so:
 * 0 done (c listed), 1 the caller lists c by its own request, or -errno.
 * May drop the lock. */
int view_refresh(struct ns *ns, struct node *c, char *err, size_t errn);
/* A collection's refresh when stale, views included: from the tenant-wide
 * listing when the view rule says so, else coll_refresh (what the dispatcher
 * calls; coll_refresh itself knows no views). */
int coll_refresh_any(struct ns *ns, struct node *coll, char *err, size_t errn);
/* The same, then -ENOENT when the collection or a directory above it is gone:
 * what a kind calls to read a collection's entries (scripts/ from apps/). */
int coll_listed(struct ns *ns, struct node *coll, char *err, size_t errn);
/* A node's freshness as the dispatcher makes it: the listing (a collection's)
 * or the fetch of src, the node that vouches for n (NULL: none), refreshed
 * when stale; then -ENOENT when n or a directory above it is gone.  May drop
 * the lock. */
int node_refresh(struct ns *ns, struct node *n, struct node *src, char *err, size_t errn);
/* node.c: that node for the dispatcher's own nodes: a listed node's
 * collection, a hidden one (reached by bare id) or me.json itself; NULL for
 * fixed attributes and memory files. */
struct node *node_fresh_src(struct node *n);

/* node.c: walks (a run of operations without a pause of walk_gap).
 * ns_walk_visit() notes that operation op (WALK_*) visits n now, and sets
 * the freshness rule of this thread's operation: a listing made in this walk
 * stays fresh for the walk, unless this operation already visited n in it
 * (a second look sees cache_ttl).  ns_walk_end() clears it, and notes the
 * operation's end (the gap runs from there too). */
enum { WALK_LOOKUP = 1, WALK_GETATTR = 2, WALK_OPENDIR = 4, WALK_OPEN = 8, WALK_STRICT = 128 };
void ns_walk_visit(struct ns *ns, struct node *n, unsigned op);
void ns_walk_end(struct ns *ns);

/* ns_prefetch.c: the tenant-wide listings a walk of directory d will want,
 * started in the background (at most `prefetch` at once). */
void prefetch_for_dir(struct ns *ns, struct node *d);
void prefetch_free(struct ns *ns);

#endif
