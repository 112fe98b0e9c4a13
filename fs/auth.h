/*
 * auth.h - where the Authorization header comes from.  An API key never
 * changes; an OAuth provider (auth_oauth.c) refreshes its token.  The value
 * is a secret: it goes into the request header and nowhere else.
 */
#ifndef QLIKFS_AUTH_H
#define QLIKFS_AUTH_H

#include <stddef.h>

struct qauth;

struct qauth_ops {
	/* Writes "Bearer <token>" into buf.  Returns 0, -ENOSPC, or -EACCES when
	 * no valid credential can be had. */
	int (*header)(struct qauth *a, char *buf, size_t n);
	/* Called after a 401 that was sent with the header value `used`.  Returns 0
	 * when a new credential is available (retry once) or -EACCES. */
	int (*refresh)(struct qauth *a, const char *used);
	void (*destroy)(struct qauth *a);
};

struct qauth {
	const struct qauth_ops *ops;
};

/* A static API key; the key is copied and wiped on destroy.  NULL on OOM. */
struct qauth *auth_apikey_new(const char *key);

static inline void auth_free(struct qauth *a)
{
	if (a)
		a->ops->destroy(a);
}

#endif
