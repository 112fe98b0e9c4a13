/*
 * Layer fuse/: may include ns/ns.h only, and the layers below ns/; only app/
 * includes it.
 *
 * fuse_ops.h - the FUSE glue's state and operation table.
 */
#ifndef QLIKFS_FUSE_OPS_H
#define QLIKFS_FUSE_OPS_H

#include <stdbool.h>

#include "ns/ns.h"

struct qfs {
	struct ns *ns;
	double ttl_s;     /* kernel entry/attribute timeout = cache TTL */
	double neg_ttl_s; /* kernel negative-entry timeout */
	bool read_only;
};

struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops qfs_ops;

#endif
