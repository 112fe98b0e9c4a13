/*
 * oauth_login.c - PKCE, state, the authorize URL and the loopback redirect
 * listener of an interactive login (see oauth_login.h).
 *
 * The listener serves one connection at a time, each bounded in size (8 KiB
 * of request head) and time (the caller's deadline), and answers every
 * request with "Connection: close".  It only ever binds a loopback address.
 * No threads, no locks, no logging.
 */
#include "app/oauth_login.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/url.h"
#include "util/clock.h"

#define REQ_MAX 8192

/* base64url without padding of in[0..n) into out (4 * ceil(n / 3) + 1 bytes). */
static void b64url(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

static int random32(char out[OAUTH_B64_32])
{
	unsigned char b[32];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	b64url(b, sizeof(b), out);
	explicit_bzero(b, sizeof(b));
	return 0;
}

int oauth_pkce_challenge(const char *verifier, char challenge[OAUTH_B64_32])
{
	size_t n = verifier ? strlen(verifier) : 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (n < 43 || n > 128 ||
	    strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") !=
		    n)
		return -EINVAL;
	if (!EVP_Digest(verifier, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	b64url(md, 32, challenge);
	return 0;
}

int oauth_pkce_new(char verifier[OAUTH_B64_32], char challenge[OAUTH_B64_32])
{
	int rc = random32(verifier);
	return rc ? rc : oauth_pkce_challenge(verifier, challenge);
}

int oauth_state_new(char state[OAUTH_B64_32])
{
	return random32(state);
}

char *oauth_authorize_url(const char *authorize_url, const char *client_id,
			  const char *redirect_uri, const char *scope, const char *state,
			  const char *challenge)
{
	if (!authorize_url || strchr(authorize_url, '?') || !strstr(authorize_url, "://"))
		return NULL;
	struct url_buf *u = url_new(authorize_url);
	url_query(u, "response_type", "code");
	url_query(u, "client_id", client_id);
	url_query(u, "redirect_uri", redirect_uri);
	url_query(u, "scope", scope);
	url_query(u, "state", state);
	url_query(u, "code_challenge", challenge);
	url_query(u, "code_challenge_method", "S256");
	return url_finish(u);
}

/* ------------------------------------------------------------- listener */

struct oauth_listener {
	int fd;
	char *uri;  /* the redirect URI, with the bound port */
	char *path; /* its path, e.g. "/" */
};

void oauth_listener_free(struct oauth_listener *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->uri);
	free(l->path);
	free(l);
}

const char *oauth_listener_uri(const struct oauth_listener *l)
{
	return l->uri;
}

/* Binds fd to host:port (loopback only).  Returns the bound port or -errno. */
static int bind_loopback(int *fd, bool v6, int port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	*fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons((uint16_t)port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons((uint16_t)port);
		len = sizeof(*a);
	}
	int one = 1;
	setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(*fd, (struct sockaddr *)&ss, len) < 0 || listen(*fd, 8) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			: ((struct sockaddr_in *)&ss)->sin_port);
}

int oauth_listen(const char *redirect_uri, struct oauth_listener **out, char *err, size_t n)
{
	char host[64] = "127.0.0.1";
	int port = 0;
	const char *path = "/";
	if (redirect_uri) {
		const char *auth = strstr(redirect_uri, "://");
		if (strncmp(redirect_uri, "http://", 7) || !url_is_loopback(redirect_uri) ||
		    url_host(redirect_uri, host, sizeof(host)) < 0 ||
		    !strchr(auth + 3, ':') || (port = url_port(redirect_uri)) <= 0 ||
		    strpbrk(redirect_uri, "?#")) {
			snprintf(err, n, "invalid redirect URI %s: expected http://127.0.0.1:PORT/PATH "
					 "(or localhost, [::1])", redirect_uri);
			return -EINVAL;
		}
		path = strchr(auth + 3, '/') ? strchr(auth + 3, '/') : "/";
	}
	struct oauth_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	bool v6 = strchr(host, ':') != NULL;
	int rc = bind_loopback(&l->fd, v6, port);
	if (rc < 0) {
		snprintf(err, n, "cannot listen on %s port %d: %s", v6 ? "[::1]" : "127.0.0.1", port,
			 strerror(-rc));
		oauth_listener_free(l);
		return rc;
	}
	l->path = strdup(path);
	if (redirect_uri)
		l->uri = strdup(redirect_uri);
	else if (asprintf(&l->uri, "http://127.0.0.1:%d/", rc) < 0)
		l->uri = NULL;
	if (!l->path || !l->uri) {
		oauth_listener_free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

/* Reads a request head into buf (NUL-terminated).  Returns 0, -ETIMEDOUT,
 * -EMSGSIZE or -ECONNRESET. */
static int read_head(int fd, char *buf, size_t max, int64_t deadline)
{
	size_t got = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)(left > 5000 ? 5000 : left)) <= 0)
			return -ETIMEDOUT;
		ssize_t r = recv(fd, buf + got, max - 1 - got, 0);
		if (r <= 0)
			return -ECONNRESET;
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
		if (got >= max - 1)
			return -EMSGSIZE;
	}
}

static void answer(int fd, int status, const char *title, const char *text)
{
	char body[1024], head[256];
	int bl = snprintf(body, sizeof(body),
			  "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>qlikfs: %s"
			  "</title></head>\n<body><h1>%s</h1><p>%s</p></body></html>\n",
			  title, title, text);
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
			  "Content-Length: %d\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
			  status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request",
			  bl);
	if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl)
		send(fd, body, (size_t)bl, MSG_NOSIGNAL);
}

/* Handles one request.  Returns 1 to keep waiting, else 0 (*code set) or -errno. */
static int handle(struct oauth_listener *l, int fd, const char *state, int64_t deadline,
		  char **code, char *err, size_t n)
{
	char *req = malloc(REQ_MAX), *v = NULL, *sv = NULL, *detail = NULL;
	int rc = 1;
	if (!req)
		return -ENOMEM;
	if (read_head(fd, req, REQ_MAX, deadline) || strncmp(req, "GET ", 4)) {
		answer(fd, 400, "Bad request", "qlikfs expected the login redirect here.");
		goto out;
	}
	char *target = req + 4;
	target[strcspn(target, " \r\n")] = '\0';
	size_t plen = strcspn(target, "?#");
	if (plen != strlen(l->path) || strncmp(target, l->path, plen)) {
		answer(fd, 404, "Not found", "");
		goto out;
	}
	if (url_query_get(target, "error", &v) == 0) {
		url_query_get(target, "error_detail", &detail);
		snprintf(err, n, "the authorization server refused the login: %.80s%s%.200s", v,
			 detail ? ": " : "", detail ? detail : "");
		answer(fd, 400, "Login failed", "The authorization server refused the login; "
						 "see the terminal.");
		rc = -EACCES;
	} else if (url_query_get(target, "state", &sv) || strcmp(sv, state)) {
		snprintf(err, n, "the redirect's state does not match this login (a stale or "
				 "forged redirect): login abandoned");
		answer(fd, 400, "Login failed", "The redirect does not belong to this login.");
		rc = -EPROTO;
	} else if (url_query_get(target, "code", code) || !**code) {
		free(*code);
		*code = NULL;
		snprintf(err, n, "the redirect carries no authorization code");
		answer(fd, 400, "Login failed", "The redirect carries no authorization code.");
		rc = -EPROTO;
	} else {
		answer(fd, 200, "Logged in", "qlikfs received the authorization. "
					     "You can close this window.");
		rc = 0;
	}
out:
	free(v);
	free(sv);
	free(detail);
	explicit_bzero(req, REQ_MAX);
	free(req);
	return rc;
}

int oauth_listener_wait(struct oauth_listener *l, const char *state, long timeout_ms, char **code,
			char *err, size_t n)
{
	const int64_t deadline = clock_mono_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0) {
			snprintf(err, n, "no login redirect within %ld s", timeout_ms / 1000);
			return -ETIMEDOUT;
		}
		int pr = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (pr < 0 && errno != EINTR)
			return -errno;
		if (pr <= 0)
			continue;
		int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		int rc = handle(l, c, state, deadline, code, err, n);
		close(c);
		if (rc <= 0)
			return rc;
	}
}
