/*
 * Layer res/, actions/ and changes/ (one layer): may include each other
 * (no circle), client/, http/, util/ and cache/.
 *
 * changes.h - the change poller behind changes/ (docs/SEMANTICS.md "Changes"): the
 * file form of the "New and Updated Records" trigger.
 *
 * For each watched resource type, a poll lists the type's records and
 * reports those created, updated (and deleted) since the previous poll of
 * that type.  The first poll of a type only records the tenant's time and
 * reports nothing.  The types are the kinds of the resource table whose row
 * names a poll_name (res/restab.h), polled in the table's order; bit k of a
 * type mask is kind k (enum rkind).  Results go to the state directory:
 *
 *   <state_dir>/changes/<type>.json            the latest poll's result
 *   <state_dir>/changes/<type>/<time>.json     one spool file per non-empty
 *                                              result, until a consumer deletes it
 *   <state_dir>/changes/.status.json           what the last polls did; "polls"
 *                                              counts the polls made with this
 *                                              state directory
 *   <state_dir>/changes-state/<type>.json      the poller's own state
 *
 * Poll boundaries are the tenant's time (the Date header of a poll's first
 * response), never the local clock.
 */
#ifndef QLIKFS_CHANGES_H
#define QLIKFS_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/qclient.h"
#include "res/restab.h"

/* Records stamped this long before the tenant's time of the previous poll
 * are looked at again (and deduplicated): it covers the 1 s precision of
 * the Date header and of item timestamps, and some drift between the
 * tenant's services. */
#define CHG_DEFAULT_OVERLAP_MS 5000

struct changes_opts {
	struct qclient *client;  /* not owned; thread-safe */
	const char *state_dir;   /* the per-tenant state directory (copied) */
	int64_t interval_ms;     /* scheduled polls; 0: only on changes_trigger() */
	bool created, updated, deleted; /* which lists results show */
	unsigned full_scan_every; /* sorted types: full id scan (deletions) every Nth poll; 0 never */
	unsigned types;           /* mask of watched types (bit k: enum rkind k); 0 = all */
	int64_t overlap_ms;       /* 0 = CHG_DEFAULT_OVERLAP_MS */
	int64_t (*realtime_ms)(void); /* used only when the tenant sends no Date; NULL = CLOCK_REALTIME */
	int64_t (*mono_ms)(void);     /* schedule; NULL = CLOCK_MONOTONIC */

	/* Called from the polling thread after a type's result is on disk.
	 * ids: every record created, updated or deleted (whatever the switches
	 * show); relpath: a file under <state_dir>/changes that was (re)written,
	 * e.g. "apps.json", "apps/2026-11-28T01-02-03.000Z.json", ".status.json".
	 * on_error: a failed poll of `type` (rc, message); the poller logs nothing. */
	void (*on_changed)(void *arg, enum rkind kind, const char *const *ids, size_t n);
	void (*on_written)(void *arg, const char *relpath);
	void (*on_error)(void *arg, const char *type, int rc, const char *msg);
	void *arg;
};

struct changes;

/* Loads the persisted state (an unreadable state file makes that type start
 * over with a bootstrap poll, noted in .status.json) and creates the
 * directories.  Returns 0 with *out, or -errno with a message in err. */
int changes_new(const struct changes_opts *o, struct changes **out, char *err, size_t errn);

/* Starts the polling thread: a poll at once when interval_ms > 0, then every
 * interval_ms, and one whenever changes_trigger() is called.  Returns 0 or -errno. */
int changes_start(struct changes *ch);

/* Asks the thread for a poll now.  Async-signal-safe (SIGUSR1). */
void changes_trigger(struct changes *ch);

/* Runs one poll of every watched type in the calling thread (serialised with
 * the thread's polls).  Returns 0, or the first type's -errno (the other
 * types are still polled). */
int changes_poll_now(struct changes *ch);

/* Stops the thread (an ongoing poll stops at its next page) and frees.  NULL-safe. */
void changes_free(struct changes *ch);

/* "spaces:apps" (or with commas) -> mask.  Returns 0 or -EINVAL (unknown name,
 * empty list).  The -o option uses ':' since FUSE splits options at commas. */
int changes_parse_types(const char *list, unsigned *mask);

/* The mask of every type polled: a bit for each row with a poll_name. */
unsigned changes_all_types(void);

/* The name of a type ("data-files"): its file and spool directory names,
 * the row's poll_name.  NULL for a kind that is not polled. */
const char *changes_type_name(enum rkind kind);

#endif
