/*
 * test_oauth.c - the OAuth provider against the in-process simulator, with
 * fake clocks: token answers, client credentials, proactive renewal, refresh
 * on 401, refresh-token rotation and the token file, a revoked refresh token,
 * one grant for many threads, and PKCE.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "client/oauth.h"
#include "app/oauth_login.h"
#include "client/qclient.h"
#include "sim.h"
#include "util/statedir.h"
#include "util/url.h"

#define BASE "http://127.0.0.1:9"
#define TOKEN_URL BASE "/oauth/token"
#define SECRET "m2m-secret-0123456789"

static struct sim_tenant *sim;
static struct http_transport *tr;
static int64_t mono = 5000000, wall = 1700000000;

static int64_t now_ms(void)
{
	return __atomic_load_n(&mono, __ATOMIC_SEQ_CST);
}

static int64_t wall_s(void)
{
	return __atomic_load_n(&wall, __ATOMIC_SEQ_CST);
}

static void ctl(const char *path, const char *body)
{
	char *out = NULL;
	CHECK_INT(sim_control(sim, "POST", path, body, &out), 0);
	free(out);
}

/* Moves our clocks and the simulator's by ms. */
static void advance(int64_t ms)
{
	char body[64];
	__atomic_add_fetch(&mono, ms, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&wall, ms / 1000, __ATOMIC_SEQ_CST);
	snprintf(body, sizeof(body), "{\"shift_ms\":%lld}", (long long)ms);
	ctl("/_sim/time", body);
}

static long token_posts(void)
{
	return sim_count(sim, "POST", "/oauth/token");
}

/* A request to the simulator; returns the status, *location if wanted. */
static long sim_req(const char *method, const char *url, const char *json, char **location)
{
	struct http_header h[] = { { "Content-Type", "application/json" } };
	struct http_request req = { .method = method, .url = url, .headers = h, .n_headers = 1,
				    .body = json, .body_len = json ? strlen(json) : 0 };
	struct http_response resp = { 0 };
	if (http_perform(tr, &req, &resp))
		return -1;
	long st = resp.status;
	const char *loc = http_response_header(&resp, "location");
	if (location)
		*location = loc ? strdup(loc) : NULL;
	http_response_clear(&resp);
	return st;
}

static struct qclient *client_for(struct qauth *a)
{
	struct qclient_opts qo = { .base = BASE, .transport = tr, .auth = a, .timeout_ms = 5000 };
	return qclient_new(&qo);
}

static int get_me(struct qclient *qc, char *err, size_t n)
{
	cJSON *me = NULL;
	int rc = qclient_get_json(qc, "/api/v1/users/me", &me, err, n);
	cJSON_Delete(me);
	return rc;
}

static struct oauth_opts opts_for(const char *client_id, const char *secret, const char *dir)
{
	struct oauth_opts o = {
		.client = { .transport = tr, .token_url = TOKEN_URL, .client_id = client_id,
			    .client_secret = secret, .timeout_ms = 5000 },
		.state_dir = dir,
		.relogin = "qlikfs login -o client_id=native " BASE,
		.now_ms = now_ms,
		.wall_s = wall_s,
	};
	return o;
}

static void test_parse(void)
{
	struct oauth_token t = { 0 };
	const char *ok = "{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"expires_in\":300,"
			 "\"refresh_token\":\"RT\",\"scope\":\"user_default offline_access\"}";
	CHECK_INT(oauth_token_parse(ok, strlen(ok), 1000, &t), 0);
	CHECK_STR(t.access_token, "AT");
	CHECK_STR(t.refresh_token, "RT");
	CHECK_STR(t.scope, "user_default offline_access");
	CHECK_INT(t.lifetime_s, 300);
	CHECK_INT(t.expires_at, 1300);
	oauth_token_clear(&t);

	const char *at = "{\"access_token\":\"A\",\"expires_at\":\"2023-11-14T22:23:20.000Z\"}";
	CHECK_INT(oauth_token_parse(at, strlen(at), 1700000000, &t), 0);
	CHECK_INT(t.lifetime_s, 600);
	CHECK(t.refresh_token == NULL && t.scope == NULL);
	oauth_token_clear(&t);

	const char *none = "{\"access_token\":\"A\"}";
	CHECK_INT(oauth_token_parse(none, strlen(none), 0, &t), 0);
	CHECK_INT(t.lifetime_s, 21600);
	oauth_token_clear(&t);

	const char *bad[] = { "", "[]", "{}", "not json", "{\"access_token\":\"\"}",
			      "{\"access_token\":7}", "{\"access_token\":\"a b\"}",
			      "{\"access_token\":\"A\",\"token_type\":\"mac\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(oauth_token_parse(bad[i], strlen(bad[i]), 0, &t), -EPROTO);
	CHECK(t.access_token == NULL);

	char buf[128];
	oauth_error_text("{\"errors\":[{\"code\":\"OAUTH-13\",\"title\":\"Unauthorized\","
			 "\"detail\":\"invalid refresh token\"}]}", buf, sizeof(buf));
	CHECK_STR(buf, "OAUTH-13: Unauthorized: invalid refresh token");
	oauth_error_text("{\"error\":\"invalid_grant\",\"error_description\":\"expired\"}", buf,
			 sizeof(buf));
	CHECK_STR(buf, "invalid_grant: expired");
	oauth_error_text("<html>", buf, sizeof(buf));
	CHECK_STR(buf, "");
}

static void test_file_names(void)
{
	char b[OAUTH_NAME_MAX];
	CHECK_INT(oauth_file_name("0123abcd", "json", b, sizeof(b)), 0);
	CHECK_STR(b, "oauth-0123abcd.json");
	CHECK_INT(oauth_file_name("../a b/.c", "lock", b, sizeof(b)), 0);
	CHECK_STR(b, "oauth-___a_b__c.lock");
	char longid[200];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	CHECK_INT(oauth_file_name(longid, "json", b, sizeof(b)), -ENAMETOOLONG);
}

static void test_pkce(void)
{
	char ch[OAUTH_B64_32], v[OAUTH_B64_32], s[OAUTH_B64_32];
	/* RFC 7636, appendix B */
	CHECK_INT(oauth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch), 0);
	CHECK_STR(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	CHECK_INT(oauth_pkce_challenge("short", ch), -EINVAL);
	CHECK_INT(oauth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX!", ch), -EINVAL);
	CHECK_INT(oauth_pkce_new(v, ch), 0);
	CHECK_INT(strlen(v), 43);
	CHECK_INT(oauth_state_new(s), 0);
	CHECK(strcmp(s, v) != 0);

	char *u = oauth_authorize_url("https://t.eu.qlikcloud.com/oauth/authorize", "cid",
				      "http://127.0.0.1:8123/", "user_default offline_access", "st",
				      "CH");
	CHECK_STR(u, "https://t.eu.qlikcloud.com/oauth/authorize?response_type=code&client_id=cid"
		     "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8123%2F"
		     "&scope=user_default%20offline_access&state=st&code_challenge=CH"
		     "&code_challenge_method=S256");
	free(u);
	CHECK(oauth_authorize_url("https://h/a?x=1", "c", "r", "s", "t", "c") == NULL);
}

static void test_client_credentials(void)
{
	struct qauth *a = NULL;
	struct oauth_opts o = opts_for("m2m", SECRET, NULL);
	char err[512] = "", hdr[8192];
	CHECK_INT(auth_oauth_new(&o, &a, err, sizeof(err)), 0);
	struct qclient *qc = client_for(a);
	long before = token_posts();

	CHECK_INT(get_me(qc, err, sizeof(err)), 0);
	CHECK_INT(get_me(qc, err, sizeof(err)), 0);
	CHECK_INT(token_posts() - before, 1);

	/* lifetime 100 s: renewed from 90 s on (a tenth), not before */
	advance(89000);
	CHECK_INT(a->ops->header(a, hdr, sizeof(hdr)), 0);
	CHECK_INT(token_posts() - before, 1);
	advance(2000);
	CHECK_INT(get_me(qc, err, sizeof(err)), 0);
	CHECK_INT(token_posts() - before, 2);

	/* the server forgets the token (revoked, or expired early): 401, one
	 * grant, the request is retried and succeeds */
	CHECK_INT(a->ops->header(a, hdr, sizeof(hdr)), 0);
	char body[8300];
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", hdr + 7);
	CHECK_INT(sim_req("POST", BASE "/oauth/revoke", body, NULL), 200);
	CHECK_INT(get_me(qc, err, sizeof(err)), 0);
	CHECK_INT(token_posts() - before, 3);

	/* a stale 401 (the token was already replaced) costs no grant */
	CHECK_INT(a->ops->refresh(a, "Bearer something-old"), 0);
	CHECK_INT(token_posts() - before, 3);
	qclient_free(qc);
	auth_free(a);
}

static void test_wrong_secret(void)
{
	struct qauth *a = NULL;
	struct oauth_opts o = opts_for("m2m", "not-the-secret", NULL);
	char err[512] = "", hdr[8192];
	CHECK_INT(auth_oauth_new(&o, &a, err, sizeof(err)), 0);
	struct qclient *qc = client_for(a);
	long before = token_posts();
	CHECK_INT(get_me(qc, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, "client_credentials grant failed: HTTP 401") != NULL);
	CHECK(strstr(err, "check the client id (m2m)") != NULL);
	CHECK(strstr(err, "not-the-secret") == NULL);
	/* refused: not asked again for 30 s */
	CHECK_INT(a->ops->header(a, hdr, sizeof(hdr)), -EACCES);
	CHECK_INT(token_posts() - before, 1);
	advance(31000);
	CHECK_INT(a->ops->header(a, hdr, sizeof(hdr)), -EACCES);
	CHECK_INT(token_posts() - before, 2);
	qclient_free(qc);
	auth_free(a);

	/* no secret and no login */
	o = opts_for("m2m", NULL, NULL);
	CHECK_INT(auth_oauth_new(&o, &a, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "run: qlikfs login") != NULL);
	o = opts_for("m2m", SECRET, NULL);
	o.client.token_url = "http://example.com/oauth/token";
	CHECK_INT(auth_oauth_new(&o, &a, err, sizeof(err)), -EINVAL);
}

/* Logs in as the native client through the simulator; stores the tokens in dir. */
static void login(const char *dir)
{
	char ver[OAUTH_B64_32], ch[OAUTH_B64_32], err[512] = "";
	char *loc = NULL, *code = NULL;
	CHECK_INT(oauth_pkce_new(ver, ch), 0);
	char *u = oauth_authorize_url(BASE "/oauth/authorize", "native", "http://127.0.0.1:1/",
				      OAUTH_SCOPE_LOGIN, "st", ch);
	CHECK_INT(sim_req("GET", u, NULL, &loc), 302);
	CHECK_INT(url_query_get(loc, "code", &code), 0);
	struct oauth_client c = { .transport = tr, .token_url = TOKEN_URL, .client_id = "native",
				  .timeout_ms = 5000 };
	const char *kv[] = { "grant_type", "authorization_code", "code", code, "redirect_uri",
			     "http://127.0.0.1:1/", "code_verifier", ver, NULL };
	struct oauth_token t = { 0 };
	CHECK_INT(oauth_grant(&c, kv, false, wall_s(), &t, err, sizeof(err)), 0);
	CHECK(t.refresh_token != NULL);
	/* a code is single use */
	struct oauth_token t2 = { 0 };
	CHECK_INT(oauth_grant(&c, kv, false, wall_s(), &t2, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, "HTTP 401") != NULL);
	CHECK_INT(oauth_tokens_save(dir, "native", &t), 0);
	oauth_token_clear(&t);
	free(u);
	free(loc);
	free(code);
}

static char *file_refresh_token(const char *dir)
{
	struct oauth_token t = { 0 };
	if (oauth_tokens_load(dir, "native", &t))
		return NULL;
	char *r = strdup(t.refresh_token);
	oauth_token_clear(&t);
	return r;
}

static void test_login_refresh_rotation_revocation(void)
{
	char tmpl[] = "/tmp/qlikfs-oauth-XXXXXX", path[512], err[512] = "", hdr[8192];
	char *dir = mkdtemp(tmpl);
	struct stat st;
	struct qauth *a = NULL;
	login(dir);
	snprintf(path, sizeof(path), "%s/oauth-native.json", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	struct oauth_opts o = opts_for("native", NULL, dir);
	CHECK_INT(auth_oauth_new(&o, &a, err, sizeof(err)), 0);
	struct qclient *qc = client_for(a);
	long before = token_posts();
	CHECK_INT(get_me(qc, err, sizeof(err)), 0);
	CHECK_INT(token_posts() - before, 0); /* the login's access token serves */

	char *rt1 = file_refresh_token(dir);
	advance(95000);
	CHECK_INT(get_me(qc, err, sizeof(err)), 0);
	CHECK_INT(token_posts() - before, 1);
	char *rt2 = file_refresh_token(dir);
	CHECK(rt1 && rt2 && strcmp(rt1, rt2) != 0); /* rotated and stored */
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* revoke the refresh token and the access token: the next request gets
	 * 401, the refresh is refused, EACCES with a message saying what to run */
	char body[8300];
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", rt2);
	CHECK_INT(sim_req("POST", BASE "/oauth/revoke", body, NULL), 200);
	CHECK_INT(a->ops->header(a, hdr, sizeof(hdr)), 0);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", hdr + 7);
	CHECK_INT(sim_req("POST", BASE "/oauth/revoke", body, NULL), 200);
	CHECK_INT(get_me(qc, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, "OAuth refresh failed: HTTP 401") != NULL);
	CHECK(strstr(err, "run: qlikfs login -o client_id=native") != NULL);
	CHECK(strstr(err, rt2) == NULL);
	long after = token_posts();
	CHECK_INT(after - before, 2);
	/* the refused refresh token is not sent again */
	CHECK_INT(get_me(qc, err, sizeof(err)), -EACCES);
	advance(5000);
	CHECK_INT(get_me(qc, err, sizeof(err)), -EACCES);
	CHECK(strstr(err, "run: qlikfs login") != NULL);
	CHECK_INT(token_posts(), after);

	/* a new login replaces the token file: the mount recovers by itself */
	login(dir);
	advance(3000);
	long l2 = token_posts();
	CHECK_INT(get_me(qc, err, sizeof(err)), 0);
	CHECK_INT(token_posts(), l2);
	free(rt1);
	free(rt2);
	qclient_free(qc);
	auth_free(a);

	/* tokens of another client are not used */
	o = opts_for("other", NULL, dir);
	CHECK_INT(auth_oauth_new(&o, &a, err, sizeof(err)), -ENOENT);
	unlink(path);
	snprintf(path, sizeof(path), "%s/oauth-native.lock", dir);
	unlink(path);
	rmdir(dir);
}

struct par {
	struct qauth *a;
	int rc;
};

static void *par_header(void *arg)
{
	struct par *p = arg;
	char hdr[8192];
	p->rc = p->a->ops->header(p->a, hdr, sizeof(hdr));
	return NULL;
}

static void test_one_grant_for_many_threads(void)
{
	struct qauth *a = NULL;
	struct oauth_opts o = opts_for("m2m", SECRET, NULL);
	char err[256];
	pthread_t th[8];
	struct par p[8];
	CHECK_INT(auth_oauth_new(&o, &a, err, sizeof(err)), 0);
	ctl("/_sim/config", "{\"latency_ms\":100}");
	long before = token_posts();
	for (int i = 0; i < 8; i++) {
		p[i].a = a;
		pthread_create(&th[i], NULL, par_header, &p[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(p[i].rc, 0);
	}
	CHECK_INT(token_posts() - before, 1);
	ctl("/_sim/config", "{\"latency_ms\":0}");
	auth_free(a);
}

/* ------------------------------------------- the token POST's retries */

/* A transport that answers the next scripted token POSTs itself (a status
 * with an optional Retry-After, or a transport error) and hands every other
 * request to the simulator; it counts the token POSTs it saw. */
struct script {
	struct http_transport base;
	struct { long status; int err; const char *retry_after; } step[8];
	int n, next, posts;
};

static int script_perform(struct http_transport *t, const struct http_request *req,
			  struct http_response *resp)
{
	struct script *s = (struct script *)t;
	if (!strstr(req->url, "/oauth/token"))
		return http_perform(tr, req, resp);
	s->posts++;
	if (s->next >= s->n)
		return http_perform(tr, req, resp);
	int i = s->next++;
	memset(resp, 0, sizeof(*resp));
	if (s->step[i].err)
		return s->step[i].err;
	resp->status = s->step[i].status;
	resp->body = strdup("{\"error\":\"temporarily_unavailable\"}");
	resp->body_len = strlen(resp->body);
	if (s->step[i].retry_after)
		http_response_add_header(resp, "Retry-After", s->step[i].retry_after);
	return 0;
}

static void script_destroy(struct http_transport *t)
{
	(void)t;
}

static const struct http_transport_ops script_ops = { script_perform, script_destroy };

/* The fake pair the grant's retries run on: a sleep moves the clock. */
static int64_t grant_clock = 1000000;
static int64_t grant_now(void)
{
	return grant_clock;
}
static void grant_sleep(int64_t ms)
{
	if (ms > 0)
		grant_clock += ms;
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The token POST goes through the client's retry engine on the injected
 * clock: a repeatable grant retries a 503 after the first backoff (0.5 s)
 * and a 429 after its Retry-After; a grant that is not repeatable is never
 * sent again after an answer or a failure that may have been processed, but
 * is after a 429 or a refused connection; a Retry-After past the deadline
 * gives up at once.  Nothing sleeps for real, and no secret is in a message. */
static void test_token_post_retries(void)
{
	struct script s = { .base.ops = &script_ops };
	struct oauth_client c = { .transport = &s.base, .token_url = TOKEN_URL, .client_id = "m2m",
				  .client_secret = SECRET, .timeout_ms = 30000,
				  .now_ms = grant_now, .sleep_ms = grant_sleep };
	const char *cc[] = { "grant_type", "client_credentials", "scope", "user_default", NULL };
	const char *code[] = { "grant_type", "authorization_code", "code", "no-such-code",
			       "redirect_uri", "http://127.0.0.1:1/", "code_verifier", "v", NULL };
	struct oauth_token t = { 0 };
	char err[512] = "";
	int64_t real0 = real_ms(), t0 = grant_clock;
	long sim0 = token_posts();

	/* repeatable: 503, then 429 with Retry-After: 3, then the simulator's token */
	s.step[0].status = 503;
	s.step[1] = (typeof(s.step[1])){ 429, 0, "3" };
	s.n = 2;
	CHECK_INT(oauth_grant(&c, cc, true, wall_s(), &t, err, sizeof(err)), 0);
	CHECK(t.access_token != NULL);
	oauth_token_clear(&t);
	CHECK_INT(s.posts, 3);
	CHECK_INT(token_posts() - sim0, 1);
	CHECK_INT(grant_clock - t0, 500 + 3000);

	/* not repeatable: a 503 or a timeout may have spent the code: not sent again */
	s = (struct script){ .base.ops = &script_ops, .n = 1 };
	s.step[0].status = 503;
	t0 = grant_clock;
	CHECK_INT(oauth_grant(&c, code, false, wall_s(), &t, err, sizeof(err)), -EIO);
	CHECK_INT(s.posts, 1);
	CHECK(strstr(err, "HTTP 503") != NULL);
	s = (struct script){ .base.ops = &script_ops, .n = 1 };
	s.step[0].err = -ETIMEDOUT;
	CHECK_INT(oauth_grant(&c, code, false, wall_s(), &t, err, sizeof(err)), -EIO);
	CHECK_INT(s.posts, 1);
	CHECK(strstr(err, "timed out") != NULL);
	CHECK_INT(grant_clock - t0, 0);
	/* ... but a 429 and a refused connection were not processed: sent again */
	s = (struct script){ .base.ops = &script_ops, .n = 2 };
	s.step[0] = (typeof(s.step[0])){ 429, 0, "2" };
	s.step[1].err = -ECONNREFUSED;
	CHECK_INT(oauth_grant(&c, code, false, wall_s(), &t, err, sizeof(err)), -EACCES);
	CHECK_INT(s.posts, 3); /* the third reached the simulator, which refused the code */
	CHECK_INT(grant_clock - t0, 2000 + 1000); /* Retry-After, then the second backoff */

	/* a Retry-After beyond the grant's deadline: given up without waiting */
	c.timeout_ms = 5000;
	s = (struct script){ .base.ops = &script_ops, .n = 1 };
	s.step[0] = (typeof(s.step[0])){ 429, 0, "60" };
	t0 = grant_clock;
	CHECK_INT(oauth_grant(&c, cc, true, wall_s(), &t, err, sizeof(err)), -EIO);
	CHECK_INT(s.posts, 1);
	CHECK_INT(grant_clock - t0, 0);
	CHECK(strstr(err, "429") != NULL);
	CHECK(strstr(err, SECRET) == NULL && strstr(err, "no-such-code") == NULL);
	CHECK(real_ms() - real0 < 2000); /* nothing slept for real */
}

int main(void)
{
	struct sim_config cfg = { .seed = 3, .api_key = "k" };
	sim = sim_new(&cfg);
	tr = sim_transport_new(sim);
	ctl("/_sim/config",
	    "{\"token_ttl_s\":100,\"oauth_clients\":["
	    "{\"client_id\":\"m2m\",\"client_secret\":\"" SECRET "\"},"
	    "{\"client_id\":\"native\",\"redirect_uris\":[\"http://127.0.0.1:1/\"]}]}");
	test_parse();
	test_pkce();
	test_file_names();
	test_client_credentials();
	test_wrong_secret();
	test_login_refresh_rotation_revocation();
	test_one_grant_for_many_threads();
	test_token_post_retries();
	http_transport_free(tr);
	sim_free(sim);
	return check_done();
}
