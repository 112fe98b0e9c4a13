/*
 * nswalk.h - resolving a relative path through the namespace, as the
 * kernel would with one lookup per component; shared by the in-process
 * namespace tests.  Header-only.
 */
#ifndef QLIKFS_NSWALK_H
#define QLIKFS_NSWALK_H

#include <stdio.h>
#include <string.h>

#include "ns/ns.h"

/* Returns the inode of path (relative to the root; "" is the root) with its
 * attributes in *a, or the negative errno of the first failing lookup. */
__attribute__((unused)) static long long ns_walk(struct ns *ns, const char *path,
						 struct ns_attr *a)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", path);
	uint64_t ino = NS_ROOT_INO;
	for (char *save, *seg = strtok_r(buf, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		int rc = ns_lookup(ns, ino, seg, a, NULL, 0);
		if (rc)
			return rc;
		ino = a->ino;
	}
	return (long long)ino;
}

#endif
