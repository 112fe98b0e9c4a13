/*
 * oauth.h - OAuth 2.0 against the tenant's authorization server: the token
 * endpoint (client_credentials, authorization_code + PKCE, refresh_token),
 * the token file `qlikfs login` leaves in the state directory
 * (oauth_token.c), and the struct qauth provider that keeps an access token
 * fresh (auth_oauth.c).
 * The interactive login's pieces (PKCE, authorize URL, loopback redirect)
 * are in oauth_login.c.
 *
 * Nothing here logs.  Messages (err buffers, why()) never contain a secret:
 * only HTTP statuses, the server's error code and text, file names and the
 * client id.
 */
#ifndef QLIKFS_OAUTH_H
#define QLIKFS_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/auth.h"
#include "http/http.h"

#define OAUTH_NAME_MAX 160 /* bytes of a token or lock file name */
#define OAUTH_SCOPE_DEFAULT "user_default"
#define OAUTH_SCOPE_LOGIN "user_default offline_access"

/* A token endpoint answer. */
struct oauth_token {
	char *access_token;  /* never NULL after a successful parse */
	char *refresh_token; /* NULL when the server sent none */
	char *scope;         /* NULL when absent */
	int64_t lifetime_s;  /* the access token's lifetime when issued (> 0) */
	int64_t expires_at;  /* wall clock, unix seconds */
};

/* Parses a 200 answer of the token endpoint.  The lifetime is expires_in when
 * present, else expires_at (ISO-8601) - now_s, else 6 h (the documented
 * lifetime).  token_type, when present, must be "bearer" (any case).
 * Returns 0 with *out filled (release with oauth_token_clear()), -EPROTO for
 * a body that is not such an answer, -ENOMEM.  *out untouched on failure. */
int oauth_token_parse(const char *body, size_t len, int64_t now_s, struct oauth_token *out);

/* Zeroes and frees the strings of t and zeroes t.  Safe on a zeroed token. */
void oauth_token_clear(struct oauth_token *t);

/* The explanation of an error answer, "OAUTH-13: invalid refresh token":
 * Qlik's {errors:[{code,title,detail}]} or RFC 6749's {error,
 * error_description}; "" when the body has neither. */
void oauth_error_text(const char *body, char *buf, size_t n);

/* Where and as whom tokens are requested. */
struct oauth_client {
	struct http_transport *transport; /* not owned */
	const char *token_url;            /* https, or http on loopback */
	const char *client_id;
	const char *client_secret; /* NULL for a public (native) client */
	long timeout_ms;           /* bound on one grant, retries included; 0 = 30 s */
	/* The clock of the grant's deadline and the sleep of its waits (NULL:
	 * util/clock.h's), as qclient_opts: tests run retries without sleeping. */
	int64_t (*now_ms)(void);
	void (*sleep_ms)(int64_t ms);
};

/*
 * POSTs one grant to the token endpoint (JSON body) through the client's
 * one retry engine (qclient.c, with no credentials of its own).  kv holds
 * the grant's fields as key, value, ..., NULL (grant_type first); client_id
 * and, when set, client_secret are added from c.  A POST is repeated only
 * when it cannot have been processed (connection refused, 429 after
 * Retry-After) or when `repeatable` (the client_credentials grant, whose
 * repetition is harmless: 5xx but 501 and network failures too), at most 4
 * attempts, 0.5 s then doubling between them, all within c->timeout_ms.
 * Redirects are not followed.  Returns 0 with *out, -EACCES when the server
 * refused the grant (400, 401, 403), -EIO when it could not be had
 * (network, 5xx, 429 beyond the budget, bad answer); err says why.
 */
int oauth_grant(const struct oauth_client *c, const char *const *kv, bool repeatable,
		int64_t now_s, struct oauth_token *out, char *err, size_t n);

/* The names of a client's files in the tenant's state directory:
 * "oauth-<client id>.json" (the tokens, 0600) and "oauth-<client id>.lock"
 * (flock()ed around every refresh), where bytes of the client id other than
 * [A-Za-z0-9_-] are written '_' (the file also holds the exact client id).
 * ext is "json" or "lock".  Returns 0 or -ENAMETOOLONG. */
int oauth_file_name(const char *client_id, const char *ext, char *buf, size_t n);

/* The token file.  oauth_tokens_save() writes it atomically with mode 0600;
 * oauth_tokens_load() returns 0, -ENOENT (no file, or one for another client
 * id: it is not ours to use), -EPROTO (unreadable content), other -errno. */
int oauth_tokens_save(const char *state_dir, const char *client_id, const struct oauth_token *t);
int oauth_tokens_load(const char *state_dir, const char *client_id, struct oauth_token *out);

struct oauth_opts {
	struct oauth_client client;
	const char *scope;     /* client_credentials scope; NULL = OAUTH_SCOPE_DEFAULT */
	const char *state_dir; /* where the login's token file is; NULL = none */
	const char *relogin;   /* command that logs in again, quoted in messages */
	int64_t (*now_ms)(void); /* monotonic milliseconds; NULL = CLOCK_MONOTONIC */
	int64_t (*wall_s)(void); /* unix seconds; NULL = CLOCK_REALTIME */
};

/*
 * Creates the OAuth provider.  When state_dir holds a token file for the
 * client id (left by `qlikfs login`), the provider uses its tokens and the
 * refresh_token grant (sending the client secret too when there is one);
 * otherwise, with a client secret, the client_credentials grant.  No request
 * is sent before the first header().
 *
 * Refresh policy: a token is renewed before it expires (60 s before, or a
 * tenth of its lifetime when that is shorter), and once more when a request
 * sent with it gets a 401 (refresh()).  One grant is in flight at a time:
 * the other threads keep using the current token while it is valid, or wait
 * for the grant.  A refused refresh token is not sent again: header() fails
 * with -EACCES and why() says how to log in again, until a new login
 * replaces the token file (which is re-read before every refresh and
 * locked across processes).  A refused client_credentials grant is retried
 * at most every 30 s.
 *
 * Returns 0 with *out, -ENOENT (no token file and no client secret),
 * -EINVAL (bad token URL or missing client id), -ENOMEM; err says why.
 */
int auth_oauth_new(const struct oauth_opts *o, struct qauth **out, char *err, size_t n);

#endif
