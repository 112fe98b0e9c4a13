/*
 * sim_oauth.c - the tenant authorization server: POST /oauth/token
 * (client_credentials, authorization_code + PKCE S256, refresh_token with
 * rotation; JSON or form bodies), GET /oauth/authorize (auto-approving as the
 * admin user), POST /oauth/revoke, and the discovery document.
 *
 * Invariants: access tokens, refresh tokens and authorization codes live in
 * t->keys (kinds 1, 2, 3); only kinds 0 (API keys) and 1 are accepted as
 * Bearer credentials.  Codes are single use; a refresh token is consumed when
 * it is used (rotation).  Every token issued is also remembered in
 * t->oauth_issued (GET /_sim/tokens), so that tests can look for leaks.
 * Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- sha256 */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = hh + S1 + ch + K256[i] + w[i];
		uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
		uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = S0 + mj;
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256(const void *data, size_t n, unsigned char out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	size_t i = 0;
	for (; i + 64 <= n; i += 64)
		sha256_block(h, p + i);
	unsigned char buf[128] = { 0 };
	size_t rem = n - i;
	memcpy(buf, p + i, rem);
	buf[rem] = 0x80;
	size_t tot = rem + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;
	for (int k = 0; k < 8; k++)
		buf[tot - 1 - k] = (unsigned char)(bits >> (8 * k));
	sha256_block(h, buf);
	if (tot == 128)
		sha256_block(h, buf + 64);
	for (int k = 0; k < 8; k++) {
		out[4 * k] = (unsigned char)(h[k] >> 24);
		out[4 * k + 1] = (unsigned char)(h[k] >> 16);
		out[4 * k + 2] = (unsigned char)(h[k] >> 8);
		out[4 * k + 3] = (unsigned char)h[k];
	}
}

/* ---------------------------------------------------------------- helpers */

static void rand_token(struct sim_tenant *t, const char *prefix, char *out, size_t n)
{
	snprintf(out, n, "%s%016llx%016llx%08llx", prefix, (unsigned long long)rng_next(t),
		 (unsigned long long)rng_next(t), (unsigned long long)(rng_next(t) & 0xffffffff));
}

/* JSON or application/x-www-form-urlencoded body -> object of strings. */
static cJSON *token_body(struct sim_ctx *c)
{
	if (!c->body || !c->body_len)
		return NULL;
	bool form = c->content_type &&
		    !strncasecmp(c->content_type, "application/x-www-form-urlencoded", 33);
	if (!form)
		return parse_body(c);
	cJSON *o = cJSON_CreateObject();
	const char *p = c->body, *end = c->body + c->body_len;
	while (o && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		if (!amp)
			amp = end;
		const char *eq = memchr(p, '=', (size_t)(amp - p));
		char *k = url_decode(p, (size_t)((eq ? eq : amp) - p));
		char *v = eq ? url_decode(eq + 1, (size_t)(amp - eq - 1)) : strdup("");
		if (k && v && *k)
			jset_str(o, k, v);
		free(k);
		free(v);
		p = amp + 1;
	}
	return o;
}

static const cJSON *find_client(struct sim_tenant *t, const char *id)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, t->oauth_clients)
	{
		const char *cid = jstr(e, "client_id");
		if (id && cid && !strcmp(cid, id))
			return e;
	}
	return NULL;
}

static bool redirect_ok(const cJSON *client, const char *uri)
{
	const cJSON *e, *a = cJSON_GetObjectItemCaseSensitive(client, "redirect_uris");
	if (!uri)
		return false;
	cJSON_ArrayForEach(e, a)
	{
		if (cJSON_IsString(e) && !strcmp(e->valuestring, uri))
			return true;
	}
	return false;
}

static bool has_scope(const char *scopes, const char *s)
{
	size_t l = strlen(s);
	const char *p = scopes;
	while (p && *p) {
		while (*p == ' ')
			p++;
		const char *e = strchrnul(p, ' ');
		if ((size_t)(e - p) == l && !strncmp(p, s, l))
			return true;
		p = e;
	}
	return false;
}

static int oauth_err(struct sim_ctx *c, long status, const char *code, const char *detail)
{
	return reply_err(c, status, code, status == 401 ? "Unauthorized" : "Bad Request", detail);
}

/* Remembers an issued token under kind ("access", "refresh", "code"). */
static void remember(struct sim_tenant *t, const char *kind, const char *tok)
{
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(t->oauth_issued, kind),
			     cJSON_CreateString(tok));
}

/* Issues an access token (+ refresh token when offline_access) for user. */
static int issue(struct sim_ctx *c, const char *user, const char *scope, const char *client_id,
		 bool refresh)
{
	struct sim_tenant *t = c->t;
	char at[80], rt[80], ts[40];
	rand_token(t, "simat_", at, sizeof(at));
	long long exp = c->now + t->token_ttl_s * 1000LL;
	struct keyent *k = key_add(t, at, user, exp, 1);
	if (!k)
		return -ENOMEM;
	k->scope = xstrdup(scope);
	k->client_id = xstrdup(client_id);
	remember(t, "access", at);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "access_token", at);
	cJSON_AddStringToObject(o, "token_type", "bearer");
	cJSON_AddStringToObject(o, "scope", scope);
	fmt_ms(ts, sizeof(ts), exp);
	cJSON_AddStringToObject(o, "expires_at", ts);
	cJSON_AddNumberToObject(o, "expires_in", (double)t->token_ttl_s);
	cJSON_AddNumberToObject(o, "auth_time", (double)(c->now / 1000));
	if (refresh) {
		rand_token(t, "simrt_", rt, sizeof(rt));
		struct keyent *r = key_add(t, rt, user, c->now + 30LL * 86400 * 1000, 2);
		if (!r) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		r->scope = xstrdup(scope);
		r->client_id = xstrdup(client_id);
		remember(t, "refresh", rt);
		cJSON_AddStringToObject(o, "refresh_token", rt);
	}
	return reply_json(c, 200, o);
}

/* ---------------------------------------------------------------- handlers */

int h_oauth_token(struct sim_ctx *c)
{
	struct sim_tenant *t = c->t;
	cJSON *b = token_body(c);
	const char *gt = jstr(b, "grant_type"), *cid = jstr(b, "client_id");
	const char *secret = jstr(b, "client_secret"), *scope = jstr(b, "scope");
	const cJSON *cl = find_client(t, cid);
	int rc;
	if (!cJSON_IsObject(b) || !gt) {
		rc = oauth_err(c, 400, "OAUTH-1", "grant_type is required");
	} else if (!strcmp(gt, "client_credentials")) {
		const char *cs = jstr(cl, "client_secret");
		if (!cl || !secret || !cs || strcmp(cs, secret))
			rc = oauth_err(c, 401, "OAUTH-14", "invalid client credentials");
		else
			rc = issue(c, t->me, scope && *scope ? scope : "user_default", cid, false);
	} else if (!strcmp(gt, "authorization_code")) {
		const char *code = jstr(b, "code"), *ru = jstr(b, "redirect_uri");
		const char *ver = jstr(b, "code_verifier");
		struct keyent *k = code ? hm_get(&t->keys, code) : NULL;
		unsigned char dig[32];
		char *chal = NULL;
		if (ver) {
			sha256(ver, strlen(ver), dig);
			chal = b64url_encode(dig, 32);
		}
		size_t vl = ver ? strlen(ver) : 0;
		if (!cl) {
			rc = oauth_err(c, 401, "OAUTH-14", "unknown client");
		} else if (!ver || vl < 43 || vl > 128 ||
			   strspn(ver, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-._~") != vl) {
			rc = oauth_err(c, 400, "OAUTH-1", "invalid code_verifier");
		} else if (!k || k->kind != 3 || c->now >= k->expires_ms || !k->client_id ||
			   strcmp(k->client_id, cid) || !ru || !k->redirect_uri ||
			   strcmp(k->redirect_uri, ru) || !chal || !k->challenge ||
			   strcmp(chal, k->challenge)) {
			rc = oauth_err(c, 401, "OAUTH-13", "invalid authorization code");
		} else {
			char *sc = xstrdup(k->scope ? k->scope : "user_default");
			char *user = xstrdup(k->user);
			key_free(hm_del(&t->keys, code));
			rc = sc && user ? issue(c, user, sc, cid, has_scope(sc, "offline_access"))
					: -ENOMEM;
			free(sc);
			free(user);
		}
		free(chal);
	} else if (!strcmp(gt, "refresh_token")) {
		const char *tok = jstr(b, "refresh_token");
		struct keyent *k = tok ? hm_get(&t->keys, tok) : NULL;
		const cJSON *kc = k && k->client_id ? find_client(t, k->client_id) : NULL;
		const char *cs = jstr(kc, "client_secret");
		if (!k || k->kind != 2 || c->now >= k->expires_ms) {
			rc = oauth_err(c, 401, "OAUTH-13", "invalid refresh token");
		} else if ((cid && k->client_id && strcmp(cid, k->client_id)) ||
			   (secret && cs && strcmp(secret, cs))) {
			rc = oauth_err(c, 401, "OAUTH-14", "invalid client credentials");
		} else {
			char *sc = xstrdup(k->scope ? k->scope : "user_default");
			char *user = xstrdup(k->user), *kcid = xstrdup(k->client_id);
			key_free(hm_del(&t->keys, tok)); /* rotation */
			rc = sc && user ? issue(c, user, sc, kcid, true) : -ENOMEM;
			free(sc);
			free(user);
			free(kcid);
		}
	} else {
		rc = oauth_err(c, 400, "OAUTH-2", "unsupported grant_type");
	}
	cJSON_Delete(b);
	return rc;
}

int h_oauth_authorize(struct sim_ctx *c)
{
	struct sim_tenant *t = c->t;
	const char *cid = q_get(c, "client_id"), *ru = q_get(c, "redirect_uri");
	const char *state = q_get(c, "state"), *chal = q_get(c, "code_challenge");
	const char *meth = q_get(c, "code_challenge_method"), *rt = q_get(c, "response_type");
	const char *scope = q_get(c, "scope");
	const cJSON *cl = find_client(t, cid);
	if (!cl || !redirect_ok(cl, ru))
		return oauth_err(c, 400, "OAUTH-1", "invalid client_id or redirect_uri");
	char sep = strchr(ru, '?') ? '&' : '?';
	char *loc;
	if (!rt || strcmp(rt, "code") || !chal || !*chal || !meth || strcmp(meth, "S256")) {
		char *es = url_encode(state ? state : "");
		loc = xasprintf("%s%cerror=invalid_request&error_code=OAUTH-1&error_detail=%s%s%s",
				ru, sep, "PKCE%20S256%20and%20response_type%3Dcode%20required",
				state ? "&state=" : "", state ? es : "");
		free(es);
	} else {
		char code[80];
		rand_token(t, "simac_", code, sizeof(code));
		struct keyent *k = key_add(t, code, t->me, c->now + 60000, 3);
		if (!k)
			return -ENOMEM;
		k->client_id = xstrdup(cid);
		k->redirect_uri = xstrdup(ru);
		k->challenge = xstrdup(chal);
		k->scope = xstrdup(scope && *scope ? scope : "user_default");
		remember(t, "code", code);
		char *es = url_encode(state ? state : "");
		loc = xasprintf("%s%ccode=%s%s%s", ru, sep, code, state ? "&state=" : "",
				state ? es : "");
		free(es);
	}
	if (!loc)
		return -ENOMEM;
	add_header(c, "Location", loc);
	free(loc);
	return reply_empty(c, 302);
}

int h_oauth_revoke(struct sim_ctx *c)
{
	cJSON *b = token_body(c);
	const char *tok = jstr(b, "token");
	int rc;
	if (!tok) {
		rc = oauth_err(c, 400, "OAUTH-1", "token is required");
	} else {
		struct keyent *k = hm_get(&c->t->keys, tok);
		if (k && (k->kind == 1 || k->kind == 2))
			key_free(hm_del(&c->t->keys, tok));
		rc = reply_empty(c, 200);
	}
	cJSON_Delete(b);
	return rc;
}

int h_wellknown(struct sim_ctx *c)
{
	cJSON *o = cJSON_CreateObject();
	char *u;
	cJSON_AddStringToObject(o, "issuer", c->base);
	u = abs_url(c->base, "/oauth/authorize");
	cJSON_AddStringToObject(o, "authorization_endpoint", u ? u : "");
	free(u);
	u = abs_url(c->base, "/oauth/token");
	cJSON_AddStringToObject(o, "token_endpoint", u ? u : "");
	free(u);
	u = abs_url(c->base, "/oauth/revoke");
	cJSON_AddStringToObject(o, "revocation_endpoint", u ? u : "");
	free(u);
	u = abs_url(c->base, "/oauth/jwks");
	cJSON_AddStringToObject(o, "jwks_uri", u ? u : "");
	free(u);
	static const char *const gt[] = { "authorization_code", "client_credentials",
					  "refresh_token" };
	cJSON_AddItemToObject(o, "grant_types_supported", jstrarr(gt, 3));
	static const char *const cm[] = { "S256" };
	cJSON_AddItemToObject(o, "code_challenge_methods_supported", jstrarr(cm, 1));
	return reply_json(c, 200, o);
}
