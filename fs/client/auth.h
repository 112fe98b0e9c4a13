/*
 * auth.h - where the Authorization header comes from.  An API key never
 * changes; an OAuth provider (auth_oauth.c) refreshes its token.  The value
 * is a secret: it goes into the request header and nowhere else.
 *
 * Providers do not log.  When header() or refresh() fails, why() explains it
 * (never with a secret in it) and the caller puts that into its own error
 * message, which the boundary logs once.
 */
#ifndef QLIKFS_AUTH_H
#define QLIKFS_AUTH_H

#include <stddef.h>

struct qauth;

struct qauth_ops {
	/* Writes "Bearer <token>" into buf.  Returns 0, -ENOSPC, -EACCES when
	 * no valid credential can be had, or -EIO when the authorization server
	 * could not be reached (a later call may succeed). */
	int (*header)(struct qauth *a, char *buf, size_t n);
	/* Called after a 401 that was sent with the header value `used`.  Returns 0
	 * when a new credential is available (retry once) or -EACCES. */
	int (*refresh)(struct qauth *a, const char *used);
	void (*destroy)(struct qauth *a);
	/* Optional (may be NULL).  Copies into buf why the last failing header()
	 * or refresh() failed, e.g. "OAuth refresh failed: HTTP 401 ...; run:
	 * qlikfs login ..."; "" when there is nothing to say. */
	void (*why)(struct qauth *a, char *buf, size_t n);
};

struct qauth {
	const struct qauth_ops *ops;
};

/* A static API key; the key is copied and wiped on destroy.  NULL on OOM. */
struct qauth *auth_apikey_new(const char *key);

/* why() of a, or "" when a has none. */
static inline void auth_why(struct qauth *a, char *buf, size_t n)
{
	if (n)
		buf[0] = '\0';
	if (a && a->ops->why)
		a->ops->why(a, buf, n);
}

static inline void auth_free(struct qauth *a)
{
	if (a)
		a->ops->destroy(a);
}

#endif
