/*
 * inval.h - asks the kernel to forget entries and inodes, from a worker
 * thread.  The namespace cannot call the kernel's notify functions itself: it
 * runs inside request handlers, where the kernel may hold the very locks the
 * notification needs.  SIGHUP also lands here: it drops every cache.
 */
#ifndef QLIKFS_INVAL_H
#define QLIKFS_INVAL_H

#include <stdint.h>

struct fuse_session;
struct ns;
struct inval;

/* Starts the worker.  Returns NULL on failure. */
struct inval *inval_start(struct fuse_session *se);
/* Connects the namespace whose caches SIGHUP drops (set once, before signals). */
void inval_set_ns(struct inval *iv, struct ns *ns);
void inval_stop(struct inval *iv); /* joins the worker; NULL-safe */

/* ns_invalidator callbacks (arg = struct inval *). */
void inval_entry_cb(void *arg, uint64_t parent, const char *name);
void inval_inode_cb(void *arg, uint64_t ino);

/* Async-signal-safe: schedules ns_drop_caches() on the worker. */
void inval_sighup(struct inval *iv);

#endif
