/*
 * creds.h - which tenant and which credentials: resolved from the options,
 * the environment and a qlik-cli context, in that order of precedence.
 */
#ifndef QLIKFS_CREDS_H
#define QLIKFS_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "client/auth.h"
#include "http/http.h"
#include "app/options.h"

enum auth_kind { AUTH_APIKEY, AUTH_OAUTH };

struct creds {
	char *base;      /* tenant base URL ("https://acme.eu.qlikcloud.com") */
	char *state_dir; /* created, 0700 */
	enum auth_kind kind;
	char *api_key;   /* AUTH_APIKEY (secret) */
	/* AUTH_OAUTH */
	char *client_id;
	char *client_secret; /* secret; NULL for a public client */
	char *scope;
	char *authorize_url, *token_url;
	char *relogin;   /* "qlikfs login -o client_id=ID TENANT", for messages */
	char *context;   /* name of the context used, or NULL */
};

/*
 * Resolves the tenant (TENANT, or the context's server; both must agree), the
 * state directory and the credentials:
 *  - API key: -o api_key_file, else $QLIK_API_KEY, else the context's
 *    Authorization header;
 *  - OAuth (-o auth=oauth, a client id, or login): client id from -o
 *    client_id or the context; secret from -o client_secret_file, else
 *    $QLIK_CLIENT_SECRET, else the context (none is fine for a login's tokens).
 * $QLIK_API_KEY and $QLIK_CLIENT_SECRET are wiped from the environment
 * whichever is used.  login: for `qlikfs login` (OAuth, login scopes).
 * Returns 0, or -errno with err saying why (never with a secret in it).
 */
int creds_resolve(const struct options *o, bool login, struct creds *c, char *err, size_t n);

/* The auth provider for c (a copy of the secrets is taken).  Returns 0 with
 * *out or -errno with err set. */
int creds_auth(const struct creds *c, struct http_transport *tr, long timeout_ms,
	       struct qauth **out, char *err, size_t n);

/* Zeroes the secrets and frees everything. */
void creds_clear(struct creds *c);

#endif
