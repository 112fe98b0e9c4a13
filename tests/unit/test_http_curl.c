/*
 * test_http_curl.c - tests of the libcurl transport against a tiny loopback
 * HTTP/1.1 server run in threads of this process (plain sockets, one thread
 * per connection, keep-alive, canned responses chosen by path).
 */
#include "http/http_curl.h"
#include "check.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the loopback server ---- */

#define MAX_CONNS 128
#define REQ_MAX 65536
#define BIG_LEN 100000

struct seen {
	char method[16];
	char path[256];
	char auth[256];
	char ctype[128];
	char xempty[16];
	bool has_expect;
	bool has_xempty;
	bool has_te; /* Transfer-Encoding (chunked) seen */
	size_t clen; /* Content-Length */
	char body[1024];
	size_t body_len;
};

static struct server {
	int lfd;
	int port;
	int wake[2];
	pthread_t accept_th;
	pthread_mutex_t lock;
	int accepted; /* connections accepted */
	int nconns;
	int fds[MAX_CONNS];
	pthread_t ths[MAX_CONNS];
	struct seen last;
	bool stop;
} srv;

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int respond(int fd, const char *status, const char *extra, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n", status, len, extra);
	if (send_all(fd, head, (size_t)n) < 0)
		return -1;
	return len ? send_all(fd, body, len) : 0;
}

/* A 200 with n headers in all (Content-Length and n - 1 others). */
static int respond_many(int fd, int n)
{
	size_t cap = 64 + (size_t)n * 32, len;
	char *r = malloc(cap);
	len = (size_t)snprintf(r, cap, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
	for (int i = 1; i < n; i++)
		len += (size_t)snprintf(r + len, cap - len, "X-H%d: %d\r\n", i, i);
	len += (size_t)snprintf(r + len, cap - len, "\r\nok");
	int rc = send_all(fd, r, len);
	free(r);
	return rc;
}

/* Copies the value of header `name` from the header block into out. */
static bool find_header(const char *hdrs, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	for (const char *p = hdrs; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			const char *e = strstr(v, "\r\n");
			size_t l = e ? (size_t)(e - v) : strlen(v);
			if (l >= n)
				l = n - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return true;
		}
	}
	return false;
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(REQ_MAX + 1);
	size_t have = 0;
	char *big = NULL;

	for (;;) {
		/* read one request head */
		char *end;
		buf[have] = '\0';
		while (!(end = strstr(buf, "\r\n\r\n"))) {
			if (have >= REQ_MAX)
				goto out;
			ssize_t r = recv(fd, buf + have, REQ_MAX - have, 0);
			if (r <= 0)
				goto out;
			have += (size_t)r;
			buf[have] = '\0';
			if (buf[0] == 0x16) {
				/* a TLS ClientHello: answer in plain text */
				const char *r = "HTTP/1.1 400 Bad Request\r\n\r\n";
				send_all(fd, r, strlen(r));
				goto out;
			}
		}
		size_t head_len = (size_t)(end - buf) + 4;
		struct seen s = { 0 };
		sscanf(buf, "%15s %255s", s.method, s.path);
		char *hdrs = strstr(buf, "\r\n") + 2;
		*end = '\0';
		find_header(hdrs, "Authorization", s.auth, sizeof(s.auth));
		find_header(hdrs, "Content-Type", s.ctype, sizeof(s.ctype));
		s.has_xempty = find_header(hdrs, "X-Empty", s.xempty, sizeof(s.xempty));
		char tmp[64];
		s.has_expect = find_header(hdrs, "Expect", tmp, sizeof(tmp));
		size_t clen = 0;
		if (find_header(hdrs, "Content-Length", tmp, sizeof(tmp)))
			clen = strtoul(tmp, NULL, 10);
		s.clen = clen;
		s.has_te = find_header(hdrs, "Transfer-Encoding", tmp, sizeof(tmp));
		if (clen > REQ_MAX - head_len)
			goto out;
		while (have < head_len + clen) {
			ssize_t r = recv(fd, buf + have, REQ_MAX - have, 0);
			if (r <= 0)
				goto out;
			have += (size_t)r;
		}
		s.body_len = clen < sizeof(s.body) ? clen : sizeof(s.body) - 1;
		memcpy(s.body, buf + head_len, s.body_len);
		char *echo = malloc(clen + 1);
		memcpy(echo, buf + head_len, clen);
		memmove(buf, buf + head_len + clen, have - head_len - clen);
		have -= head_len + clen;

		pthread_mutex_lock(&srv.lock);
		srv.last = s;
		pthread_mutex_unlock(&srv.lock);

		int rc = 0;
		if (strcmp(s.path, "/hello") == 0) {
			rc = respond(fd, "200 OK",
				     "Content-Type: text/plain\r\nX-Test-Header:   spaced value  \r\n",
				     "hello world", 11);
		} else if (strcmp(s.path, "/echo") == 0) {
			char extra[64];
			snprintf(extra, sizeof(extra), "X-Method: %s\r\n", s.method);
			rc = respond(fd, "201 Created", extra, echo, clen);
		} else if (strcmp(s.path, "/redirect") == 0) {
			rc = respond(fd, "301 Moved Permanently", "Location: /hello\r\n", "moved", 5);
		} else if (strcmp(s.path, "/stall") == 0) {
			/* wait (at most 5 s) until the client gives up and closes */
			struct pollfd p = { .fd = fd, .events = POLLIN };
			poll(&p, 1, 5000);
			rc = -1;
		} else if (strcmp(s.path, "/drop") == 0) {
			rc = -1;
		} else if (strcmp(s.path, "/partial") == 0) {
			const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b";
			send_all(fd, r, strlen(r));
			rc = -1;
		} else if (strcmp(s.path, "/big") == 0) {
			if (!big) {
				big = malloc(BIG_LEN);
				for (size_t i = 0; i < BIG_LEN; i++)
					big[i] = (char)('a' + i % 26);
			}
			rc = respond(fd, "200 OK", "", big, BIG_LEN);
		} else if (strcmp(s.path, "/continue") == 0) {
			const char *r = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n";
			rc = send_all(fd, r, strlen(r));
			if (rc == 0)
				rc = respond(fd, "200 OK", "X-Final: yes\r\n", "done", 4);
		} else if (strncmp(s.path, "/many/", 6) == 0) {
			rc = respond_many(fd, atoi(s.path + 6));
		} else if (strcmp(s.path, "/headers") == 0) {
			rc = respond(fd, "200 OK",
				     "X-Dup: a\r\nX-Fold: one\r\n  two\r\nX-Dup: b\r\nX-Empty:\r\n"
				     "MIXED-Case:\tv \r\n", "ok", 2);
		} else if (strcmp(s.path, "/empty") == 0) {
			rc = respond(fd, "204 No Content", "", "", 0);
		} else {
			rc = respond(fd, "404 Not Found", "", "nope", 4);
		}
		free(echo);
		if (rc < 0)
			goto out;
	}
out:
	free(big);
	free(buf);
	shutdown(fd, SHUT_RDWR);
	return NULL;
}

static void *accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = srv.lfd, .events = POLLIN },
				       { .fd = srv.wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		int fd = accept(srv.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		int one = 1; /* head and body go out in two sends: avoid Nagle stalls */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_mutex_lock(&srv.lock);
		srv.accepted++;
		if (srv.stop || srv.nconns == MAX_CONNS) {
			pthread_mutex_unlock(&srv.lock);
			close(fd);
			continue;
		}
		srv.fds[srv.nconns] = fd;
		pthread_create(&srv.ths[srv.nconns], NULL, conn_main, (void *)(intptr_t)fd);
		srv.nconns++;
		pthread_mutex_unlock(&srv.lock);
	}
	return NULL;
}

static void server_start(void)
{
	pthread_mutex_init(&srv.lock, NULL);
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(srv.lfd, (struct sockaddr *)&a, sizeof(a));
	listen(srv.lfd, 64);
	socklen_t al = sizeof(a);
	getsockname(srv.lfd, (struct sockaddr *)&a, &al);
	srv.port = ntohs(a.sin_port);
	if (pipe(srv.wake) < 0)
		abort();
	pthread_create(&srv.accept_th, NULL, accept_main, NULL);
}

static void server_stop(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.stop = true;
	pthread_mutex_unlock(&srv.lock);
	if (write(srv.wake[1], "x", 1) != 1)
		abort();
	pthread_join(srv.accept_th, NULL);
	for (int i = 0; i < srv.nconns; i++)
		shutdown(srv.fds[i], SHUT_RDWR);
	for (int i = 0; i < srv.nconns; i++) {
		pthread_join(srv.ths[i], NULL);
		close(srv.fds[i]);
	}
	close(srv.lfd);
	close(srv.wake[0]);
	close(srv.wake[1]);
	pthread_mutex_destroy(&srv.lock);
}

static struct seen last_seen(void)
{
	pthread_mutex_lock(&srv.lock);
	struct seen s = srv.last;
	pthread_mutex_unlock(&srv.lock);
	return s;
}

static int accepted(void)
{
	pthread_mutex_lock(&srv.lock);
	int n = srv.accepted;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* ---- helpers ---- */

static char urlbuf[128];

static const char *url(const char *path)
{
	snprintf(urlbuf, sizeof(urlbuf), "http://127.0.0.1:%d%s", srv.port, path);
	return urlbuf;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sink_state {
	size_t bytes;
	bool ok;
	int fail_with;
};

static int sink(void *arg, const char *data, size_t len)
{
	struct sink_state *s = arg;
	for (size_t i = 0; i < len; i++)
		if (data[i] != (char)('a' + (s->bytes + i) % 26))
			s->ok = false;
	s->bytes += len;
	return s->fail_with;
}

/* ---- tests ---- */

static void test_get(struct http_transport *t)
{
	struct http_header h[] = {
		{ "Authorization", "Bearer tok123" },
		{ "X-Empty", "" },
	};
	struct http_request req = { .method = "GET", .url = url("/hello"), .headers = h,
				    .n_headers = 2 };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK_INT(resp.body_len, 11);
	CHECK_STR(resp.body, "hello world");
	CHECK_STR(http_response_header(&resp, "x-test-header"), "spaced value");
	CHECK_STR(http_response_header(&resp, "X-TEST-HEADER"), "spaced value");
	CHECK_STR(http_response_header(&resp, "content-type"), "text/plain");
	bool lower = resp.n_headers > 0;
	for (size_t i = 0; i < resp.n_headers; i++)
		for (const char *p = resp.headers[i].name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				lower = false;
	CHECK(lower);
	struct seen s = last_seen();
	CHECK_STR(s.method, "GET");
	CHECK_STR(s.auth, "Bearer tok123");
	CHECK(s.has_xempty);
	CHECK_STR(s.xempty, "");
	http_response_clear(&resp);

	/* 404 is a response, not an error; an empty body is "" */
	req = (struct http_request){ .method = "GET", .url = url("/missing") };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 404);
	CHECK_STR(resp.body, "nope");
	http_response_clear(&resp);
	req.url = url("/empty");
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 204);
	CHECK_INT(resp.body_len, 0);
	http_response_clear(&resp);
}

static void test_bodies(struct http_transport *t)
{
	struct http_header h[] = { { "Content-Type", "application/json" } };
	const char *body = "{\"name\":\"x\"}";
	struct http_request req = { .method = "POST", .url = url("/echo"), .headers = h,
				    .n_headers = 1, .body = body, .body_len = strlen(body) };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 201);
	CHECK_STR(resp.body, body);
	CHECK_STR(http_response_header(&resp, "x-method"), "POST");
	struct seen s = last_seen();
	CHECK_STR(s.method, "POST");
	CHECK_STR(s.ctype, "application/json");
	CHECK(!s.has_expect);
	http_response_clear(&resp);

	/* large POST: still no Expect: 100-continue */
	char *large = malloc(60000);
	memset(large, 'q', 60000);
	req.body = large;
	req.body_len = 60000;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.body_len, 60000);
	s = last_seen();
	CHECK(!s.has_expect);
	http_response_clear(&resp);
	free(large);

	/* no Content-Type given: libcurl's form default is not sent */
	req = (struct http_request){ .method = "PUT", .url = url("/echo"), .body = "raw",
				     .body_len = 3 };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_STR(resp.body, "raw");
	s = last_seen();
	CHECK_STR(s.method, "PUT");
	CHECK_STR(s.ctype, "");
	http_response_clear(&resp);

	req.method = "PATCH";
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_STR(last_seen().method, "PATCH");
	CHECK_STR(resp.body, "raw");
	http_response_clear(&resp);

	/* DELETE with a body sends it */
	req = (struct http_request){ .method = "DELETE", .url = url("/echo"), .body = "[1,2]",
				     .body_len = 5 };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	s = last_seen();
	CHECK_STR(s.method, "DELETE");
	CHECK_STR(s.body, "[1,2]");
	CHECK_STR(resp.body, "[1,2]");
	http_response_clear(&resp);

	/* DELETE without a body, POST with an empty body */
	req = (struct http_request){ .method = "DELETE", .url = url("/echo") };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_STR(last_seen().method, "DELETE");
	CHECK_INT(resp.body_len, 0);
	http_response_clear(&resp);
	req.method = "POST";
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_STR(last_seen().method, "POST");
	CHECK_INT(resp.status, 201);
	http_response_clear(&resp);
}

static void check_failed_empty(const struct http_response *resp)
{
	CHECK_INT(resp->status, 0);
	CHECK(resp->body == NULL);
	CHECK_INT(resp->body_len, 0);
	CHECK_INT(resp->n_headers, 0);
	CHECK(resp->headers == NULL);
}

/* A streaming body of `len` pattern bytes; fail_at/fail_with inject errors. */
struct pattern_src {
	struct http_body_source src;
	uint64_t end_at;   /* pretend the data ends here (short source) */
	int fail_with;     /* returned instead of data when non-zero */
	int calls;
};

static ssize_t pattern_read(void *arg, uint64_t off, char *buf, size_t n)
{
	struct pattern_src *p = arg;
	p->calls++;
	if (p->fail_with)
		return p->fail_with;
	if (off >= p->end_at)
		return 0;
	if (n > p->end_at - off)
		n = (size_t)(p->end_at - off);
	if (n > 777) /* odd short reads: the transport must keep asking */
		n = 777;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (off + i) % 26);
	return (ssize_t)n;
}

static void pattern_init(struct pattern_src *p, uint64_t len)
{
	*p = (struct pattern_src){ .src = { pattern_read, p, len }, .end_at = len };
}

static bool is_pattern(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != (char)('a' + i % 26))
			return false;
	return true;
}

static void test_stream_bodies(struct http_transport *t)
{
	struct http_header h[] = { { "Content-Type", "application/octet-stream" } };
	struct pattern_src ps;
	pattern_init(&ps, 40000);
	struct http_request req = { .method = "POST", .url = url("/echo"), .headers = h,
				    .n_headers = 1, .source = &ps.src };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 201);
	CHECK_INT(resp.body_len, 40000);
	CHECK(resp.body && is_pattern(resp.body, resp.body_len));
	struct seen s = last_seen();
	CHECK_STR(s.method, "POST");
	CHECK_INT(s.clen, 40000); /* Content-Length known up front, never chunked */
	CHECK(!s.has_te);
	CHECK(!s.has_expect);
	CHECK(ps.calls > 1);
	http_response_clear(&resp);

	/* PUT from a file descriptor, at an offset, with pread (offset untouched) */
	char path[] = "/tmp/qlikfs-test-src-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	char *data = malloc(30000);
	for (size_t i = 0; i < 30000; i++)
		data[i] = (char)('a' + (i + 26 - 100 % 26) % 26);
	CHECK_INT(write(fd, data, 30000), 30000);
	struct http_fd_source fs;
	http_fd_source_init(&fs, fd, 100, 20000);
	req = (struct http_request){ .method = "PUT", .url = url("/echo"), .source = &fs.src };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.body_len, 20000);
	CHECK(resp.body && is_pattern(resp.body, resp.body_len));
	CHECK_STR(last_seen().method, "PUT");
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 30000);
	http_response_clear(&resp);
	/* the same source sent twice gives the same bytes (positional reads) */
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK(resp.body && resp.body_len == 20000 && is_pattern(resp.body, resp.body_len));
	http_response_clear(&resp);
	free(data);
	close(fd);

	/* an empty streaming POST */
	pattern_init(&ps, 0);
	req = (struct http_request){ .method = "POST", .url = url("/echo"), .source = &ps.src };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.body_len, 0);
	CHECK_INT(last_seen().clen, 0);
	http_response_clear(&resp);

	/* a source that ends early, or fails, fails the transfer */
	pattern_init(&ps, 5000);
	ps.end_at = 3000;
	CHECK_INT(http_perform(t, &req, &resp), -EIO);
	check_failed_empty(&resp);
	pattern_init(&ps, 5000);
	ps.fail_with = -ENOSPC;
	CHECK_INT(http_perform(t, &req, &resp), -ENOSPC);
	check_failed_empty(&resp);

	/* body and source together are refused */
	pattern_init(&ps, 10);
	req.body = "x";
	req.body_len = 1;
	CHECK_INT(http_perform(t, &req, &resp), -EINVAL);
}

/* A sink only ever sees 2xx bodies; others are buffered for the error text. */
static void test_sink_only_2xx(struct http_transport *t)
{
	struct sink_state ss = { .ok = true };
	struct http_request req = { .method = "GET", .url = url("/missing"), .sink = sink,
				    .sink_arg = &ss };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 404);
	CHECK_STR(resp.body, "nope");
	CHECK_INT(ss.bytes, 0);
	http_response_clear(&resp);
	req.url = url("/redirect");
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 301);
	CHECK_STR(resp.body, "moved");
	CHECK_INT(ss.bytes, 0);
	http_response_clear(&resp);
	req.url = url("/empty"); /* 204 with a sink: no body at all */
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 204);
	CHECK(resp.body == NULL);
	http_response_clear(&resp);
}

static void test_redirect(struct http_transport *t)
{
	struct http_request req = { .method = "GET", .url = url("/redirect") };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 301);
	CHECK_STR(http_response_header(&resp, "location"), "/hello");
	CHECK_STR(resp.body, "moved");
	CHECK_STR(last_seen().path, "/redirect");
	http_response_clear(&resp);
}

static void test_interim(struct http_transport *t)
{
	/* headers of a 1xx interim response are dropped */
	struct http_request req = { .method = "POST", .url = url("/continue"), .body = "b",
				    .body_len = 1 };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.body, "done");
	CHECK(http_response_header(&resp, "x-interim") == NULL);
	CHECK_STR(http_response_header(&resp, "x-final"), "yes");
	http_response_clear(&resp);
}

/* Response headers as libcurl parsed them: every one in order (repeated
 * names too), names lower-cased, values trimmed, a folded line joined, an
 * empty value kept; at most MAX_RESP_HEADERS (256) of them. */
static void test_response_headers(struct http_transport *t)
{
	struct http_request req = { .method = "GET", .url = url("/headers") };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.n_headers, 6);
	const char *want[][2] = { { "content-length", "2" }, { "x-dup", "a" },
				  { "x-fold", "one two" },    { "x-dup", "b" },
				  { "x-empty", "" },	      { "mixed-case", "v" } };
	for (size_t i = 0; i < 6 && i < resp.n_headers; i++) {
		CHECK_STR(resp.headers[i].name, want[i][0]);
		CHECK_STR(resp.headers[i].value, want[i][1]);
	}
	http_response_clear(&resp);

	req.url = url("/many/256");
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.n_headers, 256);
	CHECK_STR(http_response_header(&resp, "x-h255"), "255");
	CHECK_STR(resp.body, "ok");
	http_response_clear(&resp);
	req.url = url("/many/257");
	CHECK_INT(http_perform(t, &req, &resp), -EIO);
	CHECK(resp.n_headers == 0 && resp.headers == NULL && resp.body == NULL);
}

static void test_errors(struct http_transport *t)
{
	struct http_response resp;

	/* timeout */
	struct http_request req = { .method = "GET", .url = url("/stall"), .timeout_ms = 300 };
	int64_t t0 = now_ms();
	CHECK_INT(http_perform(t, &req, &resp), -ETIMEDOUT);
	int64_t dt = now_ms() - t0;
	CHECK(dt >= 250 && dt < 1500);
	check_failed_empty(&resp);

	/* connection refused: a port nobody listens on */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	char refused[64];
	snprintf(refused, sizeof(refused), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	req = (struct http_request){ .method = "GET", .url = refused };
	CHECK_INT(http_perform(t, &req, &resp), -ECONNREFUSED);
	check_failed_empty(&resp);

	/* dropped connection, truncated body */
	req = (struct http_request){ .method = "GET", .url = url("/drop") };
	CHECK_INT(http_perform(t, &req, &resp), -ECONNRESET);
	check_failed_empty(&resp);
	req.url = url("/partial");
	CHECK_INT(http_perform(t, &req, &resp), -ECONNRESET);
	check_failed_empty(&resp);

	/* body bound */
	req = (struct http_request){ .method = "GET", .url = url("/big"), .max_body = 1000 };
	CHECK_INT(http_perform(t, &req, &resp), -EFBIG);
	check_failed_empty(&resp);
	req.max_body = BIG_LEN; /* exactly fits */
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.body_len, BIG_LEN);
	CHECK(resp.body && resp.body[BIG_LEN] == '\0' && resp.body[27] == 'b');
	http_response_clear(&resp);

	/* sink */
	struct sink_state ss = { .ok = true };
	req = (struct http_request){ .method = "GET", .url = url("/big"), .max_body = 10,
				     .sink = sink, .sink_arg = &ss };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 200);
	CHECK(resp.body == NULL);
	CHECK_INT(ss.bytes, BIG_LEN);
	CHECK(ss.ok);
	http_response_clear(&resp);
	ss = (struct sink_state){ .ok = true, .fail_with = -ENOSPC };
	CHECK_INT(http_perform(t, &req, &resp), -ENOSPC);
	check_failed_empty(&resp);

	/* refused before sending */
	req = (struct http_request){ .method = "TRACE", .url = url("/hello") };
	CHECK_INT(http_perform(t, &req, &resp), -EINVAL);
	struct http_header bad[] = { { "X-Evil", "a\r\nInjected: 1" } };
	req = (struct http_request){ .method = "GET", .url = url("/hello"), .headers = bad,
				     .n_headers = 1 };
	CHECK_INT(http_perform(t, &req, &resp), -EINVAL);
	req = (struct http_request){ .method = "GET", .url = "ftp://127.0.0.1/x" };
	CHECK_INT(http_perform(t, &req, &resp), -EIO);
	check_failed_empty(&resp);
	req = (struct http_request){ .method = "GET", .url = "http://nonexistent.invalid/" };
	int rc = http_perform(t, &req, &resp);
	CHECK(rc == -EHOSTUNREACH);
	check_failed_empty(&resp);

	/* TLS failure maps to -EPROTO: speak https to the plain server */
	snprintf(refused, sizeof(refused), "https://127.0.0.1:%d/hello", srv.port);
	req = (struct http_request){ .method = "GET", .url = refused,
				     .timeout_ms = 60000 };
	CHECK_INT(http_perform(t, &req, &resp), -EPROTO);
	check_failed_empty(&resp);

	/* the transport still works afterwards */
	req = (struct http_request){ .method = "GET", .url = url("/hello") };
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 200);
	http_response_clear(&resp);
}

/* ---- TLS verification against `openssl s_server` with a self-signed
 * certificate for "localhost" (skipped when openssl is unavailable) ---- */

extern char **environ;

static int run(char *const argv[], pid_t *bg)
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	if (bg) {
		*bg = pid;
		return 0;
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return 0;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void test_tls(void)
{
	const char *openssl = "/usr/bin/openssl";
	if (access(openssl, X_OK) != 0) {
		printf("# TLS test skipped: no %s\n", openssl);
		return;
	}
	char dir[] = "/tmp/test_http_curl.XXXXXX";
	if (!mkdtemp(dir))
		return;
	char key[64], crt[64], port_s[16], addr[32];
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(crt, sizeof(crt), "%s/crt.pem", dir);
	char *gen[] = { (char *)openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
			"ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
			"-addext", "subjectAltName=DNS:localhost", "-days", "1", "-keyout", key,
			"-out", crt, NULL };
	pid_t pid = -1;
	int port = free_port();
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	char *serve[] = { (char *)openssl, "s_server", "-quiet", "-accept", addr, "-cert", crt,
			  "-key", key, "-www", NULL };
	if (run(gen, NULL) < 0 || run(serve, &pid) < 0) {
		printf("# TLS test skipped: openssl failed\n");
		goto out;
	}
	bool up = false;
	for (int i = 0; i < 300 && !(up = port_open(port)); i++)
		usleep(10000);
	if (!up) {
		printf("# TLS test skipped: s_server did not start\n");
		goto out;
	}

	struct http_response resp;
	char u[128];
	/* untrusted self-signed certificate: verification fails */
	struct http_transport *t = http_curl_new(NULL);
	snprintf(u, sizeof(u), "https://localhost:%d/", port);
	struct http_request req = { .method = "GET", .url = u, .timeout_ms = 60000 };
	CHECK_INT(http_perform(t, &req, &resp), -EPROTO);
	check_failed_empty(&resp);
	http_transport_free(t);

	/* trusted through ca_file: works for "localhost" ... */
	struct http_curl_opts o = { .ca_file = crt };
	t = http_curl_new(&o);
	CHECK_INT(http_perform(t, &req, &resp), 0);
	CHECK_INT(resp.status, 200);
	http_response_clear(&resp);
	/* ... but not for a name the certificate does not carry */
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/", port);
	CHECK_INT(http_perform(t, &req, &resp), -EPROTO);
	check_failed_empty(&resp);
	http_transport_free(t);
out:
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	unlink(key);
	unlink(crt);
	rmdir(dir);
}

#define NTHREADS 4
#define NREQ 50

struct worker {
	pthread_t th;
	struct http_transport *t;
	const char *url;
	int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < NREQ; i++) {
		struct http_request req = { .method = "GET", .url = w->url };
		struct http_response resp;
		if (http_perform(w->t, &req, &resp) == 0 && resp.status == 200 &&
		    resp.body_len == 11)
			w->ok++;
		http_response_clear(&resp);
	}
	return NULL;
}

static void test_threads(struct http_transport *t)
{
	int before = accepted();
	static char u[128];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/hello", srv.port);
	struct worker w[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .t = t, .url = u };
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	int ok = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
	}
	CHECK_INT(ok, NTHREADS * NREQ);
	int conns = accepted() - before;
	if (conns > NTHREADS)
		fprintf(stderr, "# %d new connections for %d requests\n", conns, NTHREADS * NREQ);
	CHECK(conns <= NTHREADS);
}

int main(void)
{
	server_start();
	struct http_curl_opts o = { .connect_timeout_ms = 30000, .default_timeout_ms = 30000,
				    .user_agent = "qlikfs-test" };
	struct http_transport *t = http_curl_new(&o);
	CHECK(t != NULL);
	if (!t)
		return check_done();
	test_get(t);
	test_bodies(t);
	test_stream_bodies(t);
	test_sink_only_2xx(t);
	test_redirect(t);
	test_interim(t);
	test_response_headers(t);
	test_errors(t);
	test_threads(t);
	http_transport_free(t);

	/* defaults */
	t = http_curl_new(NULL);
	CHECK(t != NULL);
	struct http_request req = { .method = "GET", .url = url("/hello") };
	struct http_response resp;
	CHECK_INT(http_perform(t, &req, &resp), 0);
	http_response_clear(&resp);
	http_transport_free(t);
	http_transport_free(NULL);

	test_tls();

	server_stop();
	curl_global_cleanup();
	return check_done();
}
