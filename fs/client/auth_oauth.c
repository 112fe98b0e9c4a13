/*
 * auth_oauth.c - the OAuth 2.0 provider of struct qauth (see oauth.h for the
 * refresh policy).
 *
 * Two modes: LOGIN (tokens from `qlikfs login`: refresh_token grants, the
 * rotated refresh token written back to the token file) and CLIENT (machine
 * to machine: client_credentials grants, nothing stored).
 *
 * Invariants:
 *  - at most one grant is in flight (o->grant, util/flight.h); it runs
 *    without o->mu held, and callers that need its outcome share it;
 *  - the access token is never handed out after expires_ms;
 *  - in LOGIN mode the token file is read and written only under its
 *    flock(), so that two mounts of one tenant never both spend the same
 *    refresh token (rotation would make the loser's refused);
 *  - a refresh token the server refused (dead_refresh) is never sent again.
 *
 * Locks: o->mu guards every field marked GUARDED_BY; o->cv signals the end
 * of a grant.  No lock is held across a network call except the token
 * file's flock (a grant is bounded by its timeout).
 */
#include "client/oauth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/flight.h"
#include "util/url.h"

#define RENEW_MAX_MS 60000 /* renew at most this long before expiry ... */
#define RENEW_FRACTION 10  /* ... or a tenth of the lifetime when shorter */
#define TRANSIENT_PAUSE_MS 2000
#define CLIENT_REFUSED_PAUSE_MS 30000

enum mode { MODE_CLIENT, MODE_LOGIN };

struct oauth {
	struct qauth base; /* must be first */
	struct oauth_client cl; /* strings owned */
	char *scope, *state_dir, *relogin;
	enum mode mode;
	int64_t (*now_ms)(void);
	int64_t (*wall_s)(void);

	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *access;         /* GUARDED_BY(mu); NULL when none */
	char *refresh;        /* GUARDED_BY(mu); LOGIN mode */
	char *dead_refresh;   /* GUARDED_BY(mu); the refresh token the server refused */
	int64_t expires_ms;   /* GUARDED_BY(mu); monotonic */
	int64_t renew_ms;     /* GUARDED_BY(mu); monotonic */
	int64_t pause_until;  /* GUARDED_BY(mu); no grant before (after a failure) */
	struct flight grant;  /* GUARDED_BY(mu); its rc: the last grant's outcome */
	char why[400];        /* GUARDED_BY(mu) */
};

static int64_t real_wall_s(void)
{
	return (int64_t)time(NULL);
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* How long before expiry a token of that lifetime is renewed. */
static int64_t margin_ms(int64_t life_ms)
{
	return life_ms / RENEW_FRACTION < RENEW_MAX_MS ? life_ms / RENEW_FRACTION : RENEW_MAX_MS;
}

/* Takes t's access and refresh tokens (t is cleared).  Called with o->mu held;
 * now is when the grant started, so that the expiry errs on the early side. */
static void install(struct oauth *o, struct oauth_token *t, int64_t now)
{
	int64_t life = t->lifetime_s * 1000, left = (t->expires_at - o->wall_s()) * 1000;
	if (left > life || left <= 0)
		left = left <= 0 ? 0 : life; /* file tokens: what is left of their lifetime */
	int64_t margin = margin_ms(life);
	wipe_free(o->access);
	o->access = t->access_token;
	t->access_token = NULL;
	if (t->refresh_token) {
		wipe_free(o->refresh);
		o->refresh = t->refresh_token;
		t->refresh_token = NULL;
	}
	o->expires_ms = now + left;
	o->renew_ms = o->expires_ms - margin;
	oauth_token_clear(t);
}

/* ------------------------------------------------------------- grants */

static int lock_file(const struct oauth *o)
{
	char path[4096], name[OAUTH_NAME_MAX];
	if (oauth_file_name(o->cl.client_id, "lock", name, sizeof(name)) ||
	    snprintf(path, sizeof(path), "%s/%s", o->state_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	return fd;
}

/*
 * LOGIN mode: under the file lock, adopts newer tokens from the file (another
 * mount refreshed, or a new login), else spends the refresh token and writes
 * the answer back.  stale is the access token being replaced; refresh/dead
 * are copies of o's.  Returns as oauth_grant().
 */
static int grant_login(struct oauth *o, const char *stale, const char *refresh, const char *dead,
		       struct oauth_token *out, char **refused, char *why, size_t n)
{
	struct oauth_token f = { 0 };
	int fd = lock_file(o), rc;
	if (fd < 0) {
		snprintf(why, n, "cannot lock the token file of client %s in %s: %s",
			 o->cl.client_id, o->state_dir, strerror(-fd));
		return -EIO;
	}
	int64_t now_s = o->wall_s();
	rc = oauth_tokens_load(o->state_dir, o->cl.client_id, &f);
	if (rc == 0 && !same(f.access_token, stale) && !same(f.refresh_token, dead) &&
	    (f.expires_at - now_s) * 1000 > margin_ms(f.lifetime_s * 1000)) {
		*out = f; /* fresher than ours */
		close(fd);
		return 0;
	}
	const char *rt = rc == 0 && f.refresh_token ? f.refresh_token : refresh;
	if (!rt || same(rt, dead)) {
		snprintf(why, n, "OAuth: %s; run: %s",
			 rt ? "the refresh token was refused" : "no refresh token (log in with "
							       "the offline_access scope)",
			 o->relogin);
		oauth_token_clear(&f);
		close(fd);
		return -EACCES;
	}
	const char *kv[] = { "grant_type", "refresh_token", "refresh_token", rt, NULL };
	char err[320] = "";
	rc = oauth_grant(&o->cl, kv, false, now_s, out, err, sizeof(err));
	if (rc == 0) {
		if (!out->refresh_token && !(out->refresh_token = strdup(rt))) {
			oauth_token_clear(out);
			rc = -ENOMEM;
		}
		/* The old refresh token is spent: keep the new one in memory even
		 * when it cannot be stored (only a later mount would miss it). */
		if (!rc)
			oauth_tokens_save(o->state_dir, o->cl.client_id, out);
	} else if (rc == -EACCES) {
		snprintf(why, n, "OAuth refresh failed: %s; run: %s", err, o->relogin);
		*refused = strdup(rt);
	} else {
		snprintf(why, n, "OAuth refresh failed: %s", err);
	}
	oauth_token_clear(&f);
	close(fd);
	return rc;
}

static int grant_client(struct oauth *o, struct oauth_token *out, char *why, size_t n)
{
	const char *kv[] = { "grant_type", "client_credentials", "scope", o->scope, NULL };
	char err[320] = "";
	int rc = oauth_grant(&o->cl, kv, true, o->wall_s(), out, err, sizeof(err));
	if (rc == -EACCES)
		snprintf(why, n, "OAuth client_credentials grant failed: %s; check the client id "
				 "(%s) and the client secret", err, o->cl.client_id);
	else if (rc)
		snprintf(why, n, "OAuth client_credentials grant failed: %s", err);
	return rc;
}

/*
 * Runs one grant with o->mu released (o->grant running), then installs its
 * result.
 * stale is the access token being replaced (NULL: the current one).  Called
 * and returns with o->mu held.
 */
static int run_grant(struct oauth *o, const char *stale)
{
	if (!stale)
		stale = o->access;
	char *st = stale ? strdup(stale) : NULL, *rt = o->refresh ? strdup(o->refresh) : NULL;
	char *dead = o->dead_refresh ? strdup(o->dead_refresh) : NULL, *refused = NULL;
	char why[sizeof(o->why)] = "";
	struct oauth_token t = { 0 };
	int64_t start = o->now_ms();
	int rc;

	flight_begin(&o->grant);
	pthread_mutex_unlock(&o->mu);
	if ((stale && !st) || (o->refresh && !rt) || (o->dead_refresh && !dead))
		rc = -ENOMEM;
	else if (o->mode == MODE_LOGIN)
		rc = grant_login(o, st, rt, dead, &t, &refused, why, sizeof(why));
	else
		rc = grant_client(o, &t, why, sizeof(why));
	wipe_free(st);
	wipe_free(rt);
	wipe_free(dead);
	pthread_mutex_lock(&o->mu);

	if (refused) {
		wipe_free(o->dead_refresh);
		o->dead_refresh = refused;
	}
	if (rc == 0) {
		install(o, &t, start);
		o->pause_until = 0;
	} else {
		snprintf(o->why, sizeof(o->why), "%s", why[0] ? why : strerror(-rc));
		o->pause_until = o->now_ms() + (rc == -EACCES && o->mode == MODE_CLIENT
						? CLIENT_REFUSED_PAUSE_MS : TRANSIENT_PAUSE_MS);
	}
	flight_end(&o->grant, rc, &o->cv);
	if (rc && rc != -EACCES && rc != -ENOMEM)
		rc = -EIO;
	return rc;
}

/*
 * Makes o->access usable, granting when needed.  stale (may be NULL) is an
 * access token the server rejected: it no longer counts as valid.  Called and
 * returns with o->mu held.  Returns 0 or the failing grant's -errno.
 */
static int obtain(struct oauth *o, const char *stale)
{
	int waited_rc = 0;
	for (;;) {
		int64_t now = o->now_ms();
		bool valid = o->access && now < o->expires_ms && !same(o->access, stale);
		if (valid && (now < o->renew_ms || o->grant.running || now < o->pause_until))
			return 0;
		if (o->grant.running) {
			/* another caller's grant: its outcome is ours, within the
			 * same bound as a grant of our own */
			const int64_t deadline =
				clock_mono_ms() + (o->cl.timeout_ms > 0 ? o->cl.timeout_ms : 30000);
			if (flight_wait(&o->grant, &o->mu, &o->cv, deadline, &waited_rc))
				return -EIO; /* timed out: a network failure */
			continue;
		}
		if (!valid && (waited_rc || now < o->pause_until))
			return waited_rc ? waited_rc : (o->grant.rc ? o->grant.rc : -EACCES);
		int rc = run_grant(o, stale);
		if (rc == 0 || (o->access && o->now_ms() < o->expires_ms && !same(o->access, stale)))
			return 0; /* a failed early renewal: the current token still serves */
		if (stale && same(o->access, stale)) {
			wipe_free(o->access); /* rejected and not replaced: never send it again */
			o->access = NULL;
		}
		return rc;
	}
}

/* ------------------------------------------------------------- qauth ops */

static int format_header(const struct oauth *o, char *buf, size_t n)
{
	int len = snprintf(buf, n, "Bearer %s", o->access);
	return (len < 0 || (size_t)len >= n) ? -ENOSPC : 0;
}

static int oauth_header(struct qauth *a, char *buf, size_t n)
{
	struct oauth *o = (struct oauth *)a;
	pthread_mutex_lock(&o->mu);
	int rc = obtain(o, NULL);
	if (rc == 0)
		rc = format_header(o, buf, n);
	pthread_mutex_unlock(&o->mu);
	return rc;
}

static int oauth_refresh(struct qauth *a, const char *used)
{
	struct oauth *o = (struct oauth *)a;
	const char *tok = used && !strncmp(used, "Bearer ", 7) ? used + 7 : used;
	pthread_mutex_lock(&o->mu);
	/* Another thread may already have replaced the token the server rejected. */
	int rc = o->access && !same(o->access, tok) ? 0 : obtain(o, tok);
	if (rc == 0 && !o->access)
		rc = -EACCES;
	pthread_mutex_unlock(&o->mu);
	return rc == 0 ? 0 : -EACCES;
}

static void oauth_why(struct qauth *a, char *buf, size_t n)
{
	struct oauth *o = (struct oauth *)a;
	pthread_mutex_lock(&o->mu);
	snprintf(buf, n, "%s", o->why);
	pthread_mutex_unlock(&o->mu);
}

static void oauth_destroy(struct qauth *a)
{
	struct oauth *o = (struct oauth *)a;
	if (!o)
		return;
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cv);
	wipe_free(o->access);
	wipe_free(o->refresh);
	wipe_free(o->dead_refresh);
	wipe_free((char *)o->cl.client_secret);
	free((char *)o->cl.token_url);
	free((char *)o->cl.client_id);
	free(o->scope);
	free(o->state_dir);
	free(o->relogin);
	free(o);
}

static const struct qauth_ops oauth_ops = {
	.header = oauth_header,
	.refresh = oauth_refresh,
	.destroy = oauth_destroy,
	.why = oauth_why,
};

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = true;
	return d;
}

int auth_oauth_new(const struct oauth_opts *opts, struct qauth **out, char *err, size_t n)
{
	const struct oauth_client *c = &opts->client;
	struct oauth_token t = { 0 };
	bool oom = false;
	int rc;

	if (!c->client_id || !*c->client_id) {
		snprintf(err, n, "OAuth needs a client id (-o client_id=ID)");
		return -EINVAL;
	}
	if ((rc = url_check_endpoint(c->token_url))) {
		snprintf(err, n, "invalid token URL %s%s", c->token_url ? c->token_url : "(none)",
			 rc == -EPERM ? ": plain http is only allowed to a loopback address" : "");
		return -EINVAL;
	}
	struct oauth *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->base.ops = &oauth_ops;
	pthread_mutex_init(&o->mu, NULL);
	clock_cond_init(&o->cv);
	o->now_ms = opts->now_ms ? opts->now_ms : clock_mono_ms;
	o->wall_s = opts->wall_s ? opts->wall_s : real_wall_s;
	o->cl.transport = c->transport;
	o->cl.timeout_ms = c->timeout_ms;
	o->cl.now_ms = c->now_ms;
	o->cl.sleep_ms = c->sleep_ms;
	o->cl.token_url = dup_or_null(c->token_url, &oom);
	o->cl.client_id = dup_or_null(c->client_id, &oom);
	o->cl.client_secret = dup_or_null(c->client_secret, &oom);
	o->scope = dup_or_null(opts->scope ? opts->scope : OAUTH_SCOPE_DEFAULT, &oom);
	o->state_dir = dup_or_null(opts->state_dir, &oom);
	o->relogin = dup_or_null(opts->relogin ? opts->relogin : "qlikfs login", &oom);
	if (oom) {
		oauth_destroy(&o->base);
		return -ENOMEM;
	}
	rc = opts->state_dir ? oauth_tokens_load(opts->state_dir, c->client_id, &t) : -ENOENT;
	if (rc == 0) {
		o->mode = MODE_LOGIN;
		pthread_mutex_lock(&o->mu);
		install(o, &t, o->now_ms());
		pthread_mutex_unlock(&o->mu);
	} else if (c->client_secret) {
		o->mode = MODE_CLIENT;
	} else {
		if (rc == -ENOENT)
			snprintf(err, n, "no OAuth login for client %s and no client secret; run: %s "
					 "(or give the client secret)", c->client_id, o->relogin);
		else
			snprintf(err, n, "cannot read the OAuth tokens of client %s (%s); run: %s",
				 c->client_id, strerror(-rc), o->relogin);
		oauth_destroy(&o->base);
		return rc == -ENOENT ? -ENOENT : -EINVAL;
	}
	*out = &o->base;
	return 0;
}
