/*
 * ns_types.h - the namespace's types, shared by its public API (ns/ns.h)
 * and the node table below the kinds (ns/core/): options, attributes,
 * directory snapshots, counters.
 */
#ifndef QLIKFS_NS_TYPES_H
#define QLIKFS_NS_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cache.h"
#include "client/qclient.h"
#include "res/restab.h"

#define NS_ROOT_INO 1
#define INDEX_NAME ".index.json" /* in every collection: id, name, entry of each */
#define QVF_DIR ".qvf"           /* in every apps collection: an export of each app */

struct ns;

struct ns_invalidator {
	/* Called when the kernel must forget something.  Must not block on the
	 * kernel: the FUSE glue queues these for a worker thread. */
	void (*inval_entry)(void *arg, uint64_t parent, const char *name);
	void (*inval_inode)(void *arg, uint64_t ino);
	void *arg;
};

struct ns_opts {
	struct qclient *client;  /* not owned */
	struct cache *cache;     /* not owned: resource contents and negative lookups */
	int64_t ttl_ms;          /* listings, attributes and contents */
	int64_t neg_ttl_ms;      /* names that do not exist */
	/* A walk (a run of operations without a pause longer than min(1 s,
	 * ttl_ms)) keeps the listings it made fresh while it lasts, at most
	 * walk_max_ms from its start (0: listings live ttl_ms, walks or not). */
	int64_t walk_max_ms;
	/* Tenant-wide listings a walk of the tree will need, listed in the
	 * background at most this many at once (0: none). */
	int prefetch;
	/* Entries of the per-app views (scripts/, data-model/, lineage/, .qvf/)
	 * whose nodes are kept after their lookup: past this many, the oldest
	 * are dropped from the kernel's cache (their nodes freed at its forget,
	 * made again at the next lookup with the same inode number).  0: kept
	 * as long as the kernel keeps them. */
	unsigned view_nodes;
	uid_t uid;
	gid_t gid;
	mode_t umask;            /* applied to 0666 files / 0777 dirs; default 077 */
	bool read_only;
	struct ns_invalidator inval;
	int64_t (*now_ms)(void); /* wall clock for freshness; NULL = CLOCK_MONOTONIC */

	/* actions (all optional) */
	struct qvf_cache *qvf;   /* not owned; NULL: no .qvf files */
	bool qvf_nodata;         /* exports without data */
	struct upload *upload;   /* not owned; NULL: no data-file uploads */
	const char *tmp_dir;     /* temporary files of uploads and imports (default /var/tmp) */
	long transfer_timeout_ms;/* one upload or import */
	/* reports/ and the api control file (ns_ext.h) exist only with a state
	 * directory: the registry of reports, the requests as sent and the local
	 * copies of their outputs live there.  Report outputs download within
	 * transfer_timeout_ms too (0: the client's timeout); raw requests'
	 * answers go to tmp_dir. */
	const char *state_dir;    /* not owned; NULL: neither reports/ nor api */
	/* load scripts and reloads (ns_ext.h) */
	bool no_scripts;          /* no scripts/ directories */
	long reload_wait_ms;      /* bound on a read of reloads/<id>/wait (0: 1 hour) */
	/* The user object of the mount-time credential check (GET /users/me):
	 * me.json's first content, so that it needs no request of its own
	 * (read by ns_new only; may be NULL). */
	const cJSON *me;
	/* rm of a resource file sends its DELETE this much later; a create of
	 * the same name before then takes the resource back (ns_defer.c).
	 * 0: at once. */
	int64_t delete_delay_ms;
	/* The trash (docs/SEMANTICS.md "Trash"; needs state_dir): what a delete
	 * through the mount needs to be undone is kept trash_keep_ms (0: no
	 * trash), an app's export when it is at most trash_qvf_max bytes;
	 * trash_required: a delete whose copy cannot be kept is refused. */
	int64_t trash_keep_ms;
	uint64_t trash_qvf_max;
	bool trash_required;
};

struct ns_attr {
	uint64_t ino;
	mode_t mode;      /* with S_IFDIR / S_IFREG */
	uint64_t size;
	int64_t mtime_ms; /* resource last update */
	int64_t ctime_ms; /* resource creation */
	unsigned nlink;
	uid_t uid;
	gid_t gid;
	uint32_t attr_ttl_ms; /* > 0: the kernel may keep these attributes at most this
				 long (content that changes by itself); 0: the mount's TTL */
	bool transient;       /* not to be kept at all (a writer's unsent size) */
};

/* The inode number of an entry that has no node yet (list_lazy): "unknown",
 * as libfuse's high-level API reports d_ino; the lookup gives the real one. */
#define NS_INO_UNKNOWN 0xffffffffu

struct ns_dirent {
	char *name;
	struct ns_attr attr;
	bool noattr; /* attributes unknown without a request: the kernel must look it up */
};

/* A link in one of the namespace's lists of open handles. */
struct ns_hlink {
	struct ns_hlink *prev, *next;
};

struct ns_dir {
	struct ns_dirent *ents; /* ".", "..", then the entries */
	size_t n;
	struct ns *ns;
	struct ns_hlink link; /* in ns->dirs until closed */
};

struct ns_file;

struct ns_stats {
	uint64_t nodes;
	uint64_t listings; /* listing refreshes done */
	uint64_t gets;     /* single-resource GETs */
};

/* Frees a directory snapshot (ns_opendir, ns_local). */
void ns_closedir(struct ns_dir *d);

#endif
