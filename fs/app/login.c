/*
 * login.c - `qlikfs login [options] TENANT`: the interactive OAuth login
 * (authorization code with PKCE through a loopback redirect).  It prints the
 * URL to open, waits for the browser's redirect on 127.0.0.1, exchanges the
 * code, stores the tokens in the tenant's state directory (0600) and checks
 * them with GET /api/v1/users/me.  Messages go to standard error; nothing
 * printed contains a token or a secret.
 */
#include "app/login.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/creds.h"
#include "http/http_curl.h"
#include "client/oauth.h"
#include "app/oauth_login.h"
#include "app/options.h"
#include "client/qclient.h"

#define ERRN 768

/* Writes the URL to path, replacing it, mode 0600. */
static int write_url_file(const char *path, const char *url)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	size_t len = strlen(url);
	int rc = write(fd, url, len) == (ssize_t)len && write(fd, "\n", 1) == 1 ? 0 : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/* The redirect URI to listen on, from -o redirect_uri / redirect_port. */
static int redirect_of(const struct options *o, char *buf, size_t n, const char **out)
{
	*out = NULL;
	if (o->redirect_uri) {
		*out = o->redirect_uri;
	} else if (o->redirect_port) {
		char *end;
		long p = strtol(o->redirect_port, &end, 10);
		if (*end || p < 1 || p > 65535)
			return -EINVAL;
		snprintf(buf, n, "http://127.0.0.1:%ld/", p);
		*out = buf;
	}
	return 0;
}

/* Checks the stored tokens with GET /users/me; prints who logged in. */
static int verify(const struct creds *c, struct http_transport *tr, long timeout_ms)
{
	char err[ERRN] = "";
	struct qauth *a = NULL;
	cJSON *me = NULL;
	int rc = creds_auth(c, tr, timeout_ms, &a, err, sizeof(err));
	struct qclient_opts qo = { .base = c->base, .transport = tr, .auth = a,
				   .timeout_ms = timeout_ms };
	struct qclient *qc = rc ? NULL : qclient_new(&qo);
	if (!rc && !qc)
		rc = -ENOMEM;
	if (!rc)
		rc = qclient_get_json(qc, "/api/v1/users/me", &me, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "qlikfs login: the tokens were stored but do not work: %s\n", err);
	} else {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(me, "name");
		char name[OAUTH_NAME_MAX] = "";
		oauth_file_name(c->client_id, "json", name, sizeof(name));
		fprintf(stderr, "qlikfs login: logged in to %s as %s; tokens in %s/%s\n", c->base,
			cJSON_IsString(nm) ? nm->valuestring : "(unnamed user)", c->state_dir, name);
	}
	cJSON_Delete(me);
	qclient_free(qc);
	auth_free(a);
	return rc;
}

/* Exchanges the code for tokens and stores them.  Returns 0 or -errno (printed). */
static int exchange(const struct creds *c, struct http_transport *tr, long timeout_ms,
		    const char *code, const char *redirect, const char *verifier)
{
	struct oauth_client cl = { .transport = tr, .token_url = c->token_url,
				   .client_id = c->client_id, .client_secret = c->client_secret,
				   .timeout_ms = timeout_ms };
	const char *kv[] = { "grant_type", "authorization_code", "code", code, "redirect_uri",
			     redirect, "code_verifier", verifier, NULL };
	struct oauth_token t = { 0 };
	char err[ERRN] = "";
	int rc = oauth_grant(&cl, kv, false, (int64_t)time(NULL), &t, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "qlikfs login: the token endpoint refused the code: %s\n", err);
		return rc;
	}
	if (!t.refresh_token)
		fprintf(stderr, "qlikfs login: warning: no refresh token was granted (is the "
				"offline_access scope allowed for this client?): mounts will need a new "
				"login when the access token expires\n");
	rc = oauth_tokens_save(c->state_dir, c->client_id, &t);
	if (rc)
		fprintf(stderr, "qlikfs login: cannot store the tokens in %s: %s\n", c->state_dir,
			strerror(-rc));
	oauth_token_clear(&t);
	return rc;
}

static int run(const struct options *o, const struct creds *c, long timeout_ms, long wait_s)
{
	char err[ERRN] = "", rbuf[64], verifier[OAUTH_B64_32], challenge[OAUTH_B64_32];
	char state[OAUTH_B64_32], *url = NULL, *code = NULL;
	const char *redirect;
	struct oauth_listener *l = NULL;
	struct http_transport *tr = NULL;
	int rc;

	if (redirect_of(o, rbuf, sizeof(rbuf), &redirect)) {
		fprintf(stderr, "qlikfs login: invalid redirect_port '%s'\n", o->redirect_port);
		return -EINVAL;
	}
	if ((rc = oauth_listen(redirect, &l, err, sizeof(err)))) {
		fprintf(stderr, "qlikfs login: %s\n", err);
		return rc;
	}
	if ((rc = oauth_pkce_new(verifier, challenge)) || (rc = oauth_state_new(state)))
		goto out;
	url = oauth_authorize_url(c->authorize_url, c->client_id, oauth_listener_uri(l), c->scope,
				  state, challenge);
	if (!url) {
		fprintf(stderr, "qlikfs login: cannot build the authorize URL from %s\n",
			c->authorize_url);
		rc = -EINVAL;
		goto out;
	}
	fprintf(stderr, "Open this URL in a browser to log in to %s:\n\n  %s\n\n"
			"Waiting up to %ld s for the browser to come back to %s ...\n",
		c->base, url, wait_s, oauth_listener_uri(l));
	if (o->url_file && (rc = write_url_file(o->url_file, url))) {
		fprintf(stderr, "qlikfs login: cannot write %s: %s\n", o->url_file, strerror(-rc));
		goto out;
	}
	rc = oauth_listener_wait(l, state, wait_s * 1000, &code, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "qlikfs login: %s\n", err);
		goto out;
	}
	struct http_curl_opts co = { .connect_timeout_ms = 10000, .default_timeout_ms = timeout_ms };
	if (!(tr = http_curl_new(&co))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = exchange(c, tr, timeout_ms, code, oauth_listener_uri(l), verifier);
	if (!rc)
		rc = verify(c, tr, timeout_ms);
out:
	if (code) {
		explicit_bzero(code, strlen(code));
		free(code);
	}
	explicit_bzero(verifier, sizeof(verifier));
	free(url);
	http_transport_free(tr);
	oauth_listener_free(l);
	return rc;
}

int login_main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc - 1, argv + 1);
	struct options o = { 0 };
	struct creds c = { 0 };
	struct mount_numbers nums;
	char err[ERRN] = "";
	int ret = 1;
	long wait_s;

	if (options_parse(&args, &o, true))
		goto out;
	if (o.help) {
		options_login_usage(argv[0]);
		ret = 0;
		goto out;
	}
	if (options_numbers(&o, &nums))
		goto out;
	if ((wait_s = options_login_timeout(&o)) < 0) {
		fprintf(stderr, "qlikfs login: invalid login_timeout '%s'\n", o.login_timeout);
		goto out;
	}
	if (!o.tenant && !o.context) {
		fprintf(stderr, "usage: %s login [options] TENANT (see %s login --help)\n", argv[0],
			argv[0]);
		goto out;
	}
	if (creds_resolve(&o, true, &c, err, sizeof(err))) {
		fprintf(stderr, "qlikfs login: %s\n", err);
		goto out;
	}
	ret = run(&o, &c, (long)(nums.timeout * 1000), wait_s) ? 1 : 0;
out:
	creds_clear(&c);
	options_free(&o);
	fuse_opt_free_args(&args);
	return ret;
}
