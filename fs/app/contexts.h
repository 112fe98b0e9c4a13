/*
 * contexts.h - qlik-cli's contexts file (~/.qlik/contexts.yml), read with
 * libyaml.  Shape (qlik-cli, like its predecessor corectl, stores each context
 * as a map of its `qlik context create` flags):
 *
 *   current-context: prod
 *   contexts:
 *     prod:
 *       server: https://acme.eu.qlikcloud.com
 *       headers:
 *         Authorization: Bearer <API key>
 *       server-type: cloud
 *       comment: ...
 *     robot:
 *       server: https://acme.eu.qlikcloud.com
 *       oauth-client-id: <id>
 *       oauth-client-secret: <secret>
 *
 * Keys read: server; headers.Authorization ("Bearer <key>", header name in
 * any case); oauth-client-id and oauth-client-secret (also spelled
 * oauthClientId / oauthClientSecret and oauth_client_id /
 * oauth_client_secret).  Every other key is ignored.
 */
#ifndef QLIKFS_CONTEXTS_H
#define QLIKFS_CONTEXTS_H

#include <stddef.h>

#define CONTEXTS_MAX (1024 * 1024) /* bytes of contexts file read */

struct qlik_context {
	char *name;
	char *server;        /* NULL when absent */
	char *api_key;       /* from the Authorization header; NULL when absent */
	char *client_id;     /* NULL when absent */
	char *client_secret; /* NULL when absent */
};

/*
 * Picks context `name` (NULL or "" = current-context) out of a contexts file's
 * text.  Returns 0 with *out filled (release with qlik_context_clear()), or
 * -EINVAL (not YAML, or not the shape above), -ENOENT (no such context, or no
 * current-context), -ENOMEM; err says why (naming contexts, never a value).
 */
int contexts_parse(const char *text, size_t len, const char *name, struct qlik_context *out,
		   char *err, size_t n);

/* The contexts file: $QLIK_CLI_USER_HOME_DIR when it names a file; else
 * $QLIK_CLI_USER_HOME_DIR/.qlik/contexts.yml, or .../contexts.yml when only
 * that exists; else $HOME/.qlik/contexts.yml.  Returns 0 or -ENAMETOOLONG,
 * -ENOENT (neither variable set). */
int contexts_path(char *out, size_t n);

/* Reads path and picks the context as contexts_parse().  A context that holds
 * a secret (API key, client secret) is refused (-EPERM) when the file may be
 * read by group or others.  Returns as contexts_parse() or -errno. */
int contexts_load(const char *path, const char *name, struct qlik_context *out, char *err,
		  size_t n);

/* Zeroes the secrets, frees everything and zeroes c.  Safe on a zeroed context. */
void qlik_context_clear(struct qlik_context *c);

#endif
