/*
 * sim_server.c - serves the simulator model over HTTP with libmicrohttpd
 * (internal polling thread + one thread per connection, keep-alive).
 *
 * Each MHD request is buffered (body bounded by SIM_MAX_BODY -> 413), turned
 * into a struct http_request with an absolute URL built from the Host header,
 * and handed to sim_handle(); /_sim/ routes reach sim_control through it.  An
 * injected -ECONNRESET closes the connection without a response (MHD_NO).
 * The raw (still escaped) path and query are passed through unchanged: MHD's
 * unescaping is disabled so cursors and ids survive byte for byte.
 *
 * Locking: none here; the model has its own mutex.  Only loopback addresses
 * may be bound.
 */
#include "sim_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

struct sim_server {
	struct MHD_Daemon *d;
	struct sim_tenant *t;
	int port;
	char addr[64];
};

struct conn_state {
	char *body;
	size_t len, cap;
	bool too_big;
};

struct hdrs {
	struct http_header *v;
	size_t n, cap;
	int err;
};

static enum MHD_Result hdr_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct hdrs *h = cls;
	(void)kind;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct http_header *v = realloc(h->v, cap * sizeof(*v));
		if (!v) {
			h->err = 1;
			return MHD_NO;
		}
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n].name = (char *)key;
	h->v[h->n].value = (char *)(value ? value : "");
	h->n++;
	return MHD_YES;
}

struct qbuf {
	FILE *f;
	char sep;
};

/* MHD turns '+' into ' ' even with unescaping disabled; undo that. */
static void put_raw(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ' ' ? '+' : *s, f);
}

static enum MHD_Result arg_iter(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct qbuf *q = cls;
	(void)kind;
	fputc(q->sep, q->f);
	put_raw(q->f, key);
	if (value) {
		fputc('=', q->f);
		put_raw(q->f, value);
	}
	q->sep = '&';
	return MHD_YES;
}

/* Keeps the URL escaped: MHD hands us raw path and raw query values. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *uri)
{
	(void)cls;
	(void)c;
	return strlen(uri);
}

static int send_resp(struct MHD_Connection *con, struct http_response *r)
{
	struct MHD_Response *mr;
	if (r->body && r->body_len) {
		mr = MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE);
		if (mr)
			r->body = NULL;
	} else {
		mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!mr)
		return MHD_NO;
	for (size_t i = 0; i < r->n_headers; i++)
		MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
	int ret = MHD_queue_response(con, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct sim_server *s = cls;
	struct conn_state *cs = *con_cls;
	(void)version;
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs)
			return MHD_NO;
		*con_cls = cs;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (cs->too_big || cs->len + n > SIM_MAX_BODY) {
			cs->too_big = true;
			return MHD_YES;
		}
		if (cs->len + n + 1 > cs->cap) {
			size_t cap = cs->cap ? cs->cap : 4096;
			while (cap < cs->len + n + 1)
				cap *= 2;
			char *b = realloc(cs->body, cap);
			if (!b) {
				cs->too_big = true;
				return MHD_YES;
			}
			cs->body = b;
			cs->cap = cap;
		}
		memcpy(cs->body + cs->len, upload_data, n);
		cs->len += n;
		return MHD_YES;
	}

	struct http_response resp = { 0 };
	if (cs->too_big) {
		static const char msg[] =
			"{\"errors\":[{\"code\":\"HTTP-413\",\"title\":\"Payload Too Large\"}]}";
		resp.status = 413;
		resp.body = strdup(msg);
		resp.body_len = resp.body ? strlen(msg) : 0;
		http_response_add_header(&resp, "Content-Type", "application/json; charset=utf-8");
		int ret = send_resp(con, &resp);
		http_response_clear(&resp);
		return ret;
	}

	struct hdrs h = { 0 };
	MHD_get_connection_values(con, MHD_HEADER_KIND, hdr_iter, &h);
	const char *host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Host");
	char *full = NULL;
	size_t flen = 0;
	FILE *f = open_memstream(&full, &flen);
	if (!f || h.err) {
		if (f)
			fclose(f);
		free(full);
		free(h.v);
		return MHD_NO;
	}
	if (host && *host && strlen(host) < 256 && !strpbrk(host, "/?# "))
		fprintf(f, "http://%s", host);
	else
		fprintf(f, "http://%s:%d", s->addr, s->port);
	fputs(url, f);
	struct qbuf q = { f, '?' };
	MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, arg_iter, &q);
	fclose(f);

	struct http_request req = {
		.method = method,
		.url = full,
		.headers = h.v,
		.n_headers = h.n,
		.body = cs->body,
		.body_len = cs->len,
	};
	int rc = sim_handle(s->t, &req, &resp);
	free(full);
	free(h.v);
	if (rc == -ECONNRESET) {
		http_response_clear(&resp);
		return MHD_NO;
	}
	if (rc) {
		http_response_clear(&resp);
		resp.status = 500;
	}
	int ret = send_resp(con, &resp);
	http_response_clear(&resp);
	return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con;
	(void)toe;
	struct conn_state *cs = *con_cls;
	if (cs) {
		free(cs->body);
		free(cs);
		*con_cls = NULL;
	}
}

int sim_server_start(struct sim_tenant *t, const char *bind_addr, int port, int *bound_port,
		     void **handle)
{
	struct sockaddr_in sa = { 0 };
	const char *addr = bind_addr && *bind_addr ? bind_addr : "127.0.0.1";
	if (!strcmp(addr, "localhost"))
		addr = "127.0.0.1";
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127)
		return -EPERM; /* loopback only */
	if (port < 0 || port > 65535)
		return -EINVAL;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	struct sim_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->t = t;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				0, NULL, NULL, access_cb, s, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed_cb,
				NULL, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_END);
	if (!s->d) {
		free(s);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_in got = { 0 };
	socklen_t gl = sizeof(got);
	if (di && getsockname(di->listen_fd, (struct sockaddr *)&got, &gl) == 0)
		s->port = ntohs(got.sin_port);
	else
		s->port = port;
	if (bound_port)
		*bound_port = s->port;
	*handle = s;
	return 0;
}

void sim_server_stop(void *handle)
{
	struct sim_server *s = handle;
	if (!s)
		return;
	/* cut stalled requests short so that connection threads can finish */
	sim_wake_sleepers(s->t, true);
	MHD_stop_daemon(s->d);
	sim_wake_sleepers(s->t, false);
	free(s);
}
