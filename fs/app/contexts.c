/*
 * contexts.c - qlik-cli's contexts file (see contexts.h), parsed into a libyaml
 * document and walked.  Scalars are compared as written (no tags); the first
 * of duplicate keys wins.  Secrets are copied only out of the chosen context,
 * and every buffer that held file content is zeroed before it is freed.  No
 * logging, no locks.
 */
#include "app/contexts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void qlik_context_clear(struct qlik_context *c)
{
	free(c->name);
	free(c->server);
	wipe_free(c->api_key);
	free(c->client_id);
	wipe_free(c->client_secret);
	memset(c, 0, sizeof(*c));
}

static const char *scalar(yaml_node_t *nd)
{
	return nd && nd->type == YAML_SCALAR_NODE ? (const char *)nd->data.scalar.value : NULL;
}

/* The value of key in mapping m (keys compared with cmp), or NULL. */
static yaml_node_t *lookup(yaml_document_t *d, yaml_node_t *m, const char *key,
			   int (*cmp)(const char *, const char *))
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));
		if (k && !cmp(k, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* The first of several spellings of a key. */
static const char *lookup_any(yaml_document_t *d, yaml_node_t *m, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *v = scalar(lookup(d, m, *keys, strcmp));
		if (v)
			return v;
	}
	return NULL;
}

/* "a, b, c" of the context names, for messages. */
static void list_names(yaml_document_t *d, yaml_node_t *ctxs, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (yaml_node_pair_t *p = ctxs->data.mapping.pairs.start;
	     p < ctxs->data.mapping.pairs.top && o < n; p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));
		if (k)
			o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", k);
	}
}

static int dup_to(char **dst, const char *v)
{
	if (!v || !*v)
		return 0;
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* Copies the keys qlikfs reads out of context node c. */
static int read_context(yaml_document_t *d, yaml_node_t *c, const char *name,
			struct qlik_context *out, char *err, size_t n)
{
	static const char *const ids[] = { "oauth-client-id", "oauthClientId", "oauth_client_id",
					   NULL };
	static const char *const secrets[] = { "oauth-client-secret", "oauthClientSecret",
					       "oauth_client_secret", NULL };
	struct qlik_context q = { 0 };
	if (!c || c->type != YAML_MAPPING_NODE) {
		snprintf(err, n, "context %s is not a map of settings", name);
		return -EINVAL;
	}
	const char *auth = scalar(lookup(d, lookup(d, c, "headers", strcmp), "Authorization",
					 strcasecmp));
	if (auth && strncasecmp(auth, "Bearer ", 7)) {
		snprintf(err, n, "context %s: the Authorization header is not \"Bearer <API key>\"",
			 name);
		return -EINVAL;
	}
	const char *key = auth ? auth + 7 : NULL;
	while (key && *key == ' ')
		key++;
	int rc = dup_to(&q.name, name);
	if (!rc)
		rc = dup_to(&q.server, scalar(lookup(d, c, "server", strcmp)));
	if (!rc)
		rc = dup_to(&q.api_key, key);
	if (!rc)
		rc = dup_to(&q.client_id, lookup_any(d, c, ids));
	if (!rc)
		rc = dup_to(&q.client_secret, lookup_any(d, c, secrets));
	if (rc) {
		qlik_context_clear(&q);
		return rc;
	}
	*out = q;
	return 0;
}

int contexts_parse(const char *text, size_t len, const char *name, struct qlik_context *out,
		   char *err, size_t n)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, n, "not valid YAML (line %zu: %s)", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *ctxs = lookup(&doc, root, "contexts", strcmp);
	const char *cur = scalar(lookup(&doc, root, "current-context", strcmp));
	char names[512];
	if (!ctxs || ctxs->type != YAML_MAPPING_NODE) {
		snprintf(err, n, "no \"contexts:\" map");
		rc = -EINVAL;
	} else if ((!name || !*name) && (!cur || !*cur)) {
		list_names(&doc, ctxs, names, sizeof(names));
		snprintf(err, n, "no current-context; name one of: %s", names[0] ? names : "(none)");
		rc = -ENOENT;
	} else {
		const char *want = name && *name ? name : cur;
		yaml_node_t *c = lookup(&doc, ctxs, want, strcmp);
		list_names(&doc, ctxs, names, sizeof(names));
		if (!c) {
			snprintf(err, n, "no context \"%s\" (contexts: %s)", want,
				 names[0] ? names : "none");
			rc = -ENOENT;
		} else {
			rc = read_context(&doc, c, want, out, err, n);
		}
	}
	/* libyaml does not wipe: zero every scalar before the document is freed */
	for (yaml_node_t *nd = doc.nodes.start; nd && nd < doc.nodes.top; nd++)
		if (nd->type == YAML_SCALAR_NODE)
			explicit_bzero(nd->data.scalar.value, nd->data.scalar.length);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int contexts_path(char *out, size_t n)
{
	const char *dir = getenv("QLIK_CLI_USER_HOME_DIR"), *home = getenv("HOME");
	int r;
	if (dir && *dir) {
		if (is_file(dir))
			r = snprintf(out, n, "%s", dir);
		else {
			r = snprintf(out, n, "%s/.qlik/contexts.yml", dir);
			if (r >= 0 && (size_t)r < n && !is_file(out))
				r = snprintf(out, n, "%s/contexts.yml", dir);
			if (r >= 0 && (size_t)r < n && !is_file(out))
				r = snprintf(out, n, "%s/.qlik/contexts.yml", dir);
		}
	} else if (home && *home) {
		r = snprintf(out, n, "%s/.qlik/contexts.yml", home);
	} else {
		return -ENOENT;
	}
	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

int contexts_load(const char *path, const char *name, struct qlik_context *out, char *err,
		  size_t n)
{
	struct qlik_context q = { 0 };
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, n, "cannot read %s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONTEXTS_MAX) {
		snprintf(err, n, "%s is not a contexts file (or larger than %d bytes)", path,
			 CONTEXTS_MAX);
		close(fd);
		return -EINVAL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (got < 0) {
		free(buf);
		return -ENOMEM;
	}
	char why[400] = "";
	rc = contexts_parse(buf, (size_t)got, name, &q, why, sizeof(why));
	explicit_bzero(buf, (size_t)got);
	free(buf);
	if (rc) {
		snprintf(err, n, "%s: %s", path, why);
		return rc;
	}
	if ((q.api_key || q.client_secret) && (st.st_mode & 077)) {
		snprintf(err, n,
			 "%s holds the secret of context %s and is readable by group or others "
			 "(mode %04o); run: chmod 600 %s",
			 path, q.name, (unsigned)(st.st_mode & 07777), path);
		qlik_context_clear(&q);
		return -EPERM;
	}
	*out = q;
	return 0;
}
