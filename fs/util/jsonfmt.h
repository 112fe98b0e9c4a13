/*
 * jsonfmt.h - renders a cJSON tree the way `jq .` prints it: 2-space indent,
 * "key": value, [] and {} for empty containers, UTF-8 passed through, a final
 * newline.  Resource files hold exactly these bytes, so st_size is their length.
 */
#ifndef QLIKFS_JSONFMT_H
#define QLIKFS_JSONFMT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Returns a malloc'd NUL-terminated rendering of j and its length in *len, or
 * NULL on OOM or when the nesting is deeper than 512 levels. */
char *jsonfmt_pretty(const cJSON *j, size_t *len);

#endif
