/*
 * creds.c - see creds.h.  Runs once, before any thread starts.  Secrets are
 * held only in buffers that are zeroed before they are freed; messages name
 * files, variables and contexts, never values.
 */
#include "app/creds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/contexts.h"
#include "client/oauth.h"
#include "app/secret.h"
#include "util/statedir.h"
#include "util/url.h"

static void wipe_free(char *s)
{
	secret_free(s);
}

void creds_clear(struct creds *c)
{
	free(c->base);
	free(c->state_dir);
	wipe_free(c->api_key);
	free(c->client_id);
	wipe_free(c->client_secret);
	free(c->scope);
	free(c->authorize_url);
	free(c->token_url);
	free(c->relogin);
	free(c->context);
	memset(c, 0, sizeof(*c));
}

/* Reads and wipes an environment secret; NULL when unset or empty. */
static char *take_env(const char *name)
{
	char *v = NULL, err[128];
	secret_read(NULL, name, name, &v, err, sizeof(err));
	return v;
}

static int tenant(const struct options *o, const struct qlik_context *ctx, struct creds *c,
		  char *err, size_t n)
{
	const char *t = o->tenant ? o->tenant : ctx->server;
	char *other = NULL;
	if (!t) {
		if (ctx->name)
			snprintf(err, n, "context %s has no server: give TENANT", ctx->name);
		else
			snprintf(err, n, "no TENANT (see --help)");
		return -EINVAL;
	}
	int rc = url_parse_tenant(t, &c->base);
	if (rc) {
		snprintf(err, n, "invalid %s '%s': %s", o->tenant ? "TENANT" : "server of the context",
			 t, rc == -EPERM ? "plain http:// is only allowed to a loopback address "
					   "(use https://)"
					 : "expected a host name, https://host or http://127.0.0.1:PORT");
		return rc;
	}
	if (o->tenant && ctx->server &&
	    (url_parse_tenant(ctx->server, &other) || strcmp(other, c->base))) {
		snprintf(err, n, "TENANT %s is not the server of context %s (%s): its credentials "
				 "are not sent elsewhere", c->base, ctx->name, ctx->server);
		free(other);
		return -EINVAL;
	}
	free(other);
	return 0;
}

/* TENANT/oauth/<what> unless given. */
static int endpoint(const char *given, const char *base, const char *path, char **out)
{
	struct url_buf *u;
	if (given) {
		*out = strdup(given);
	} else {
		u = url_new(base);
		url_path(u, path);
		*out = url_finish(u);
	}
	return *out ? 0 : -ENOMEM;
}

static int oauth_settings(const struct options *o, bool login, struct qlik_context *ctx,
			  char **env_secret, struct creds *c, char *err, size_t n)
{
	const char *id = o->client_id ? o->client_id : ctx->client_id;
	int rc = 0;
	if (!id || !*id) {
		snprintf(err, n, "OAuth needs a client id: -o client_id=ID%s",
			 o->context ? " (or oauth-client-id in the context)" : "");
		return -EINVAL;
	}
	if (!(c->client_id = strdup(id)))
		return -ENOMEM;
	if (o->client_secret_file) {
		rc = secret_read(o->client_secret_file, NULL, "client_secret_file", &c->client_secret,
				 err, n);
		if (rc)
			return rc;
	} else if (*env_secret) {
		c->client_secret = *env_secret;
		*env_secret = NULL;
	} else if (ctx->client_secret) {
		c->client_secret = ctx->client_secret;
		ctx->client_secret = NULL;
	}
	const char *sc = o->scopes ? o->scopes : login ? OAUTH_SCOPE_LOGIN : OAUTH_SCOPE_DEFAULT;
	if (!(c->scope = strdup(sc)))
		return -ENOMEM;
	for (char *p = c->scope; *p; p++)
		if (*p == '+')
			*p = ' ';
	if ((rc = endpoint(o->token_url, c->base, "/oauth/token", &c->token_url)) ||
	    (rc = endpoint(o->authorize_url, c->base, "/oauth/authorize", &c->authorize_url)))
		return rc;
	if ((rc = url_check_endpoint(c->token_url)) ||
	    (rc = url_check_endpoint(c->authorize_url))) {
		snprintf(err, n, "invalid token_url or authorize_url%s",
			 rc == -EPERM ? ": plain http is only allowed to a loopback address" : "");
		return -EINVAL;
	}
	if (asprintf(&c->relogin, "qlikfs login -o client_id=%s%s%s %s", c->client_id,
		     o->state_dir ? ",state_dir=" : "", o->state_dir ? o->state_dir : "",
		     c->base) < 0) {
		c->relogin = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int apikey_settings(const struct options *o, struct qlik_context *ctx, char **env_key,
			   struct creds *c, char *err, size_t n)
{
	if (o->api_key_file)
		return secret_read(o->api_key_file, NULL, "api_key_file", &c->api_key, err, n);
	if (*env_key) {
		c->api_key = *env_key;
		*env_key = NULL;
	} else if (ctx->api_key) {
		c->api_key = ctx->api_key;
		ctx->api_key = NULL;
	} else {
		snprintf(err, n, "no API key: set QLIK_API_KEY, use -o api_key_file=PATH, "
				 "-o client_id=ID for OAuth, or -o context=NAME (see qlikfs --help)");
		return -ENOENT;
	}
	return 0;
}

int creds_resolve(const struct options *o, bool login, struct creds *c, char *err, size_t n)
{
	struct qlik_context ctx = { 0 };
	char *env_key = take_env("QLIK_API_KEY"), *env_secret = take_env("QLIK_CLIENT_SECRET");
	char path[4096];
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (o->context) {
		rc = contexts_path(path, sizeof(path));
		if (rc)
			snprintf(err, n, "no contexts file: set HOME or QLIK_CLI_USER_HOME_DIR");
		else
			rc = contexts_load(path, o->context, &ctx, err, n);
		if (!rc && !(c->context = strdup(ctx.name)))
			rc = -ENOMEM;
	}
	if (!rc)
		rc = tenant(o, &ctx, c, err, n);
	if (!rc && (rc = statedir_resolve(o->state_dir, c->base, &c->state_dir)))
		snprintf(err, n, "cannot use the state directory%s%s: %s",
			 o->state_dir ? " " : "", o->state_dir ? o->state_dir : "",
			 rc == -EPERM ? STATEDIR_PRIVATE_HINT : strerror(-rc));
	if (!rc) {
		bool oauth = login || (o->auth ? !strcmp(o->auth, "oauth")
					       : (o->client_id || ctx.client_id));
		c->kind = oauth ? AUTH_OAUTH : AUTH_APIKEY;
		rc = oauth ? oauth_settings(o, login, &ctx, &env_secret, c, err, n)
			   : apikey_settings(o, &ctx, &env_key, c, err, n);
	}
	qlik_context_clear(&ctx);
	wipe_free(env_key);
	wipe_free(env_secret);
	if (rc)
		creds_clear(c);
	return rc;
}

int creds_auth(const struct creds *c, struct http_transport *tr, long timeout_ms,
	       struct qauth **out, char *err, size_t n)
{
	if (c->kind == AUTH_APIKEY) {
		*out = auth_apikey_new(c->api_key);
		return *out ? 0 : -ENOMEM;
	}
	struct oauth_opts oo = {
		.client = { .transport = tr, .token_url = c->token_url, .client_id = c->client_id,
			    .client_secret = c->client_secret, .timeout_ms = timeout_ms },
		.scope = c->scope,
		.state_dir = c->state_dir,
		.relogin = c->relogin,
	};
	return auth_oauth_new(&oo, out, err, n);
}
