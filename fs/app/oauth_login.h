/*
 * oauth_login.h - the pieces of an interactive OAuth login (authorization
 * code with PKCE, RFC 7636 S256, through a loopback redirect, RFC 8252): the
 * verifier and challenge, the state value, the authorize URL, and the
 * one-shot HTTP listener on 127.0.0.1 that receives the code.
 */
#ifndef QLIKFS_OAUTH_LOGIN_H
#define QLIKFS_OAUTH_LOGIN_H

#include <stddef.h>

#define OAUTH_B64_32 44 /* base64url of 32 bytes (43 chars) + NUL */

/* The S256 challenge of verifier: base64url(SHA-256(verifier)) without
 * padding.  Returns 0 or -EINVAL (verifier not 43..128 of [A-Za-z0-9-._~]). */
int oauth_pkce_challenge(const char *verifier, char challenge[OAUTH_B64_32]);

/* A fresh verifier (32 random bytes, base64url) and its challenge.
 * Returns 0 or -errno (no randomness). */
int oauth_pkce_new(char verifier[OAUTH_B64_32], char challenge[OAUTH_B64_32]);

/* A fresh random state value (32 random bytes, base64url).  Returns 0 or -errno. */
int oauth_state_new(char state[OAUTH_B64_32]);

/* authorize_url?response_type=code&client_id=..&redirect_uri=..&scope=..
 * &state=..&code_challenge=..&code_challenge_method=S256 (every value
 * escaped).  Returns a malloc'd URL, or NULL (OOM, authorize_url already has a
 * query or is not a URL). */
char *oauth_authorize_url(const char *authorize_url, const char *client_id,
			  const char *redirect_uri, const char *scope, const char *state,
			  const char *challenge);

struct oauth_listener;

/*
 * Listens for the redirect.  redirect_uri: an http URL on 127.0.0.1,
 * localhost or [::1] with an explicit port and a path ("http://127.0.0.1:8123/
 * callback"), or NULL for "http://127.0.0.1:<ephemeral port>/".
 * Returns 0 with *out, -EINVAL (redirect_uri not such a URL), or the socket's
 * -errno (-EADDRINUSE ...); err says why.
 */
int oauth_listen(const char *redirect_uri, struct oauth_listener **out, char *err, size_t n);

/* The redirect URI to send (with the bound port).  Borrowed. */
const char *oauth_listener_uri(const struct oauth_listener *l);

/*
 * Waits at most timeout_ms for the browser's GET <path>?code=..&state=..,
 * answers it with a small HTML page and returns 0 with the code (malloc'd) in
 * *code.  Requests for other paths get 404 and are otherwise ignored.
 * Returns -ETIMEDOUT, -EACCES (the server sent ?error=...: the user refused or
 * the client is misconfigured), -EPROTO (state does not match: the login is
 * abandoned), or another -errno; err says why.
 */
int oauth_listener_wait(struct oauth_listener *l, const char *state, long timeout_ms, char **code,
			char *err, size_t n);

void oauth_listener_free(struct oauth_listener *l);

#endif
