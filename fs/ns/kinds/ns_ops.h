/*
 * ns_ops.h - the operations files' services that the FUSE glue calls too
 * (ns_ops.c); part of the namespace's public API (ns/ns.h includes it).
 */
#ifndef QLIKFS_NS_OPS_H
#define QLIKFS_NS_OPS_H

#include "ns/core/ns_types.h"

/* The operations files (ns_ops.c).  ns_report_failure() is the boundary's
 * report of a failed operation `op` ("close", "rename"...) on inode ino, or on
 * the entry `name` of directory ino when name is not NULL: it logs one
 * warning naming the file's path in the mount and the explanation err, and
 * appends a change's failure to the errors file (.errors; every op but
 * lookup, getattr, open, opendir and read is a change).  ENOENT is neither
 * logged nor recorded (except for a read: the api file's 404).  ns_path() writes the path of ino (and name) in the
 * mount, without a leading '/' ("" for the root); returns 0 or -ENOENT. */
void ns_report_failure(struct ns *ns, const char *op, uint64_t ino, const char *name, int rc,
		       const char *err);
int ns_path(struct ns *ns, uint64_t ino, const char *name, char *buf, size_t len);

#endif
