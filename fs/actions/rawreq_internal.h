/*
 * rawreq_internal.h - the parsed form of a raw request, shared by the parser
 * (rawreq_parse.c) and the sender (rawreq.c).  Not a public interface.
 * A struct rawreq is immutable once rawreq_parse() returned it.
 */
#ifndef QLIKFS_RAWREQ_INTERNAL_H
#define QLIKFS_RAWREQ_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "actions/rawreq.h"

#define PATH_MAX_LEN 8192
#define MAX_QUERY 256
#define MAX_HEADERS 64
#define HEADER_VALUE_MAX 8192
#define LOCAL_PATH_MAX 4096
#define ERR_BODY_MAX ((size_t)1 << 20)
#define MAX_TIMEOUT_S 86400.0
#define MAX_RETRIES 100
#define MAX_DELAY_S 3600.0

struct qparam {
	char *k, *v;
};

struct part {
	char *name, *filename, *ctype;
	char *data; /* "text" / "json" */
	size_t len;
	char *file; /* "file" */
};

enum body_kind { BODY_NONE, BODY_MEM, BODY_FILE, BODY_MULTIPART };

struct rawreq {
	char method[8];
	char *path;
	struct qparam *q;
	size_t nq;
	struct http_header *h;
	size_t nh;
	enum body_kind body_kind;
	char *body; /* BODY_MEM: the bytes; BODY_FILE: the path */
	size_t body_len;
	const char *ctype; /* default Content-Type of the body (static) */
	struct part *parts;
	size_t nparts;
	enum rawreq_response resp;
	long timeout_ms;
	int max_attempts;
	long delay_ms;
	bool fixed, all, no_redirect;
};

#define rawreq_msg errmsg_set /* errmap.h */

#endif
