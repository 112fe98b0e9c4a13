/*
 * oauth_token.c - the token endpoint and the token file (see oauth.h).
 *
 * Invariants: every buffer that held a secret (request body, token strings,
 * file contents) is zeroed before it is freed; messages carry the HTTP
 * status and the server's error text only.  Bounds: answers and token files
 * are at most 64 KiB, an access token at most 7 KiB (it must fit the
 * Authorization header buffer).  No locks: callers serialise.
 */
#include "client/oauth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "client/qclient.h"
#include "util/qtime.h"
#include "util/statedir.h"

#define ANSWER_MAX (64 * 1024)
#define ACCESS_MAX 7168
#define DEFAULT_LIFETIME_S 21600
#define MAX_ATTEMPTS 4
#define BACKOFF_MS 500

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Zeroes every string of a cJSON tree, then frees it. */
static void json_wipe_delete(cJSON *j)
{
	for (cJSON *c = j ? j->child : NULL; c; c = c->next)
		if (cJSON_IsString(c) && c->valuestring)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
	cJSON_Delete(j);
}

void oauth_token_clear(struct oauth_token *t)
{
	wipe_free(t->access_token);
	wipe_free(t->refresh_token);
	free(t->scope);
	memset(t, 0, sizeof(*t));
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills *out from a parsed answer or token file.  file: expires_at is a number. */
static int token_from_json(const cJSON *j, int64_t now_s, bool file, struct oauth_token *out)
{
	const char *at = jstr(j, "access_token"), *rt = jstr(j, "refresh_token");
	const char *tt = jstr(j, "token_type"), *sc = jstr(j, "scope");
	const cJSON *ei = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	const cJSON *ea = cJSON_GetObjectItemCaseSensitive(j, "expires_at");
	const cJSON *lt = cJSON_GetObjectItemCaseSensitive(j, "lifetime_s");
	struct oauth_token t = { 0 };
	int64_t ms;

	if (!at || !*at || strlen(at) > ACCESS_MAX || strcspn(at, " \t\r\n") != strlen(at) ||
	    (tt && strcasecmp(tt, "bearer")))
		return -EPROTO;
	if (file) {
		if (!cJSON_IsNumber(ea) || !cJSON_IsNumber(lt) || lt->valuedouble < 1)
			return -EPROTO;
		t.expires_at = (int64_t)ea->valuedouble;
		t.lifetime_s = (int64_t)lt->valuedouble;
	} else {
		if (cJSON_IsNumber(ei) && ei->valuedouble >= 1 && ei->valuedouble < 1e9)
			t.lifetime_s = (int64_t)ei->valuedouble;
		else if (cJSON_IsString(ea) && qtime_parse_ms(ea->valuestring, &ms) == 0 &&
			 ms / 1000 > now_s)
			t.lifetime_s = ms / 1000 - now_s;
		else
			t.lifetime_s = DEFAULT_LIFETIME_S;
		t.expires_at = now_s + t.lifetime_s;
	}
	t.access_token = strdup(at);
	t.refresh_token = rt && *rt ? strdup(rt) : NULL;
	t.scope = sc ? strdup(sc) : NULL;
	if (!t.access_token || (rt && *rt && !t.refresh_token) || (sc && !t.scope)) {
		oauth_token_clear(&t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

int oauth_token_parse(const char *body, size_t len, int64_t now_s, struct oauth_token *out)
{
	cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
	int rc = cJSON_IsObject(j) ? token_from_json(j, now_s, false, out) : -EPROTO;
	json_wipe_delete(j);
	return rc;
}

void oauth_error_text(const char *body, char *buf, size_t n)
{
	char code[64], text[256];
	qclient_error_text(body, code, sizeof(code), text, sizeof(text));
	if (!code[0] && !text[0]) {
		cJSON *j = body ? cJSON_Parse(body) : NULL;
		snprintf(code, sizeof(code), "%s", jstr(j, "error") ? jstr(j, "error") : "");
		snprintf(text, sizeof(text), "%s",
			 jstr(j, "error_description") ? jstr(j, "error_description") : "");
		cJSON_Delete(j);
	}
	snprintf(buf, n, "%s%s%s", code, code[0] && text[0] ? ": " : "", text);
}

/* ---------------------------------------------------------- token endpoint */

/* The JSON body of a grant (malloc'd; wipe it), or NULL on OOM. */
static char *grant_body(const struct oauth_client *c, const char *const *kv)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	for (size_t i = 0; ok && kv[i]; i += 2)
		ok = kv[i + 1] == NULL || cJSON_AddStringToObject(o, kv[i], kv[i + 1]);
	ok = ok && cJSON_AddStringToObject(o, "client_id", c->client_id);
	if (ok && c->client_secret)
		ok = cJSON_AddStringToObject(o, "client_secret", c->client_secret) != NULL;
	char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
	json_wipe_delete(o);
	return s;
}

/*
 * POSTs body to the token endpoint through the client's retry engine
 * (qclient.c), with a client of its own that sends no credentials: 429
 * waited out (Retry-After) and a refused connection retried for every
 * grant, 5xx and other network failures only when repeatable; attempts
 * and waits bounded by the grant's timeout; redirects not followed.
 * Returns qclient_call()'s rc with *r (release with answer_clear()).
 */
static int post_grant(const struct oauth_client *c, const char *body, bool repeatable,
		      struct qresp *r)
{
	struct qclient_opts qo = {
		.base = c->token_url, .transport = c->transport, .auth = NULL,
		.timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 30000,
		.max_attempts = MAX_ATTEMPTS, .now_ms = c->now_ms, .sleep_ms = c->sleep_ms,
	};
	struct qcall call = {
		.method = "POST", .url = c->token_url, .body = body, .body_len = strlen(body),
		.op = QOP_CREATE, .idempotent = repeatable, .no_redirect = true,
		.max_body = ANSWER_MAX, .retry_delay_ms = BACKOFF_MS,
	};
	struct qclient *qc = qclient_new(&qo);
	memset(r, 0, sizeof(*r));
	if (!qc)
		return -ENOMEM;
	int rc = qclient_call(qc, &call, r);
	qclient_free(qc);
	return rc;
}

/* Zeroes the answer's body and parsed strings (a token), then frees it. */
static void answer_clear(struct qresp *r)
{
	if (r->body)
		explicit_bzero(r->body, r->body_len);
	json_wipe_delete(r->json);
	r->json = NULL;
	qresp_clear(r);
}

int oauth_grant(const struct oauth_client *c, const char *const *kv, bool repeatable,
		int64_t now_s, struct oauth_token *out, char *err, size_t n)
{
	struct qresp r;
	char text[320];
	char *body = grant_body(c, kv);
	if (!body)
		return -ENOMEM;
	int rc = post_grant(c, body, repeatable, &r);
	wipe_free(body);
	long st = r.status;
	if (rc == -ENOMEM && !st) {
		/* nothing to say */
	} else if (!st) {
		snprintf(err, n, "%s", r.errmsg); /* "POST /oauth/token: timed out (after 4 attempts)" */
		rc = -EIO;
	} else if (st == 200 || st == 201) {
		rc = oauth_token_parse(r.body, r.body_len, now_s, out);
		if (rc == -EPROTO) {
			snprintf(err, n, "POST %s: HTTP %ld with an answer that is not a token",
				 c->token_url, st);
			rc = -EIO;
		}
	} else if (st == 429) {
		snprintf(err, n, "POST %s: HTTP 429 rate limited (after %d attempt%s)", c->token_url,
			 r.attempts, r.attempts == 1 ? "" : "s");
		rc = -EIO;
	} else {
		oauth_error_text(r.body, text, sizeof(text));
		snprintf(err, n, "HTTP %ld%s%s", st, text[0] ? " " : "", text);
		rc = st == 400 || st == 401 || st == 403 ? -EACCES : -EIO;
	}
	answer_clear(&r);
	return rc;
}

/* ---------------------------------------------------------- token file */

int oauth_file_name(const char *client_id, const char *ext, char *buf, size_t n)
{
	size_t idlen = strlen(client_id);
	int r = idlen <= 128 ? snprintf(buf, n, "oauth-%s.%s", client_id, ext) : -1;
	if (r < 0 || (size_t)r >= n)
		return -ENAMETOOLONG;
	for (size_t i = 6; i < 6 + idlen; i++)
		if (!isalnum((unsigned char)buf[i]) && buf[i] != '_' && buf[i] != '-')
			buf[i] = '_';
	return 0;
}

int oauth_tokens_save(const char *state_dir, const char *client_id, const struct oauth_token *t)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "client_id", client_id) &&
		  cJSON_AddStringToObject(o, "access_token", t->access_token) &&
		  (!t->refresh_token ||
		   cJSON_AddStringToObject(o, "refresh_token", t->refresh_token)) &&
		  (!t->scope || cJSON_AddStringToObject(o, "scope", t->scope)) &&
		  cJSON_AddNumberToObject(o, "expires_at", (double)t->expires_at) &&
		  cJSON_AddNumberToObject(o, "lifetime_s", (double)t->lifetime_s);
	char *s = ok ? cJSON_Print(o) : NULL, name[OAUTH_NAME_MAX];
	json_wipe_delete(o);
	if (!s)
		return -ENOMEM;
	int rc = oauth_file_name(client_id, "json", name, sizeof(name));
	if (!rc)
		rc = statedir_write_atomic(state_dir, name, s, strlen(s));
	wipe_free(s);
	return rc;
}

int oauth_tokens_load(const char *state_dir, const char *client_id, struct oauth_token *out)
{
	char *buf = NULL, name[OAUTH_NAME_MAX];
	size_t len = 0;
	int rc = oauth_file_name(client_id, "json", name, sizeof(name));
	if (!rc)
		rc = statedir_read(state_dir, name, ANSWER_MAX, &buf, &len);
	if (rc)
		return rc == -EFBIG ? -EPROTO : rc;
	cJSON *j = cJSON_ParseWithLength(buf, len);
	explicit_bzero(buf, len);
	free(buf);
	const char *cid = jstr(j, "client_id");
	if (!cJSON_IsObject(j) || !cid)
		rc = -EPROTO;
	else if (strcmp(cid, client_id))
		rc = -ENOENT;
	else
		rc = token_from_json(j, 0, true, out);
	json_wipe_delete(j);
	return rc;
}
