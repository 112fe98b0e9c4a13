/*
 * qtext.c - what the tenant's answers say (the error code and text of an
 * error body, Retry-After) and which headers a caller may set: the client's
 * pure parsing, apart from its state (client/qclient.h declares them).
 */
#include "client/qclient.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

long qclient_retry_after_ms(const char *v)
{
	if (!v)
		return 1000;
	while (isspace((unsigned char)*v))
		v++;
	if (!isdigit((unsigned char)*v))
		return 1000; /* HTTP-date or garbage: wait the documented default */
	char *end;
	long s = strtol(v, &end, 10);
	if (s < 1)
		s = 1;
	if (s > 600)
		s = 600;
	return s * 1000;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	if (!n)
		return;
	snprintf(dst, n, "%s", src ? src : "");
}

void qclient_error_text(const char *body, char *code, size_t code_n, char *text, size_t text_n)
{
	copy_str(code, code_n, "");
	copy_str(text, text_n, "");
	cJSON *j = body ? cJSON_Parse(body) : NULL;
	if (!j)
		return;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "errors");
	if (cJSON_IsArray(e))
		e = cJSON_GetArrayItem(e, 0);
	else
		e = j; /* deprecated top-level code/title/detail */
	if (cJSON_IsObject(e)) {
		const cJSON *cd = cJSON_GetObjectItemCaseSensitive(e, "code");
		const cJSON *ti = cJSON_GetObjectItemCaseSensitive(e, "title");
		const cJSON *de = cJSON_GetObjectItemCaseSensitive(e, "detail");
		if (cJSON_IsString(cd))
			copy_str(code, code_n, cd->valuestring);
		if (cJSON_IsString(ti) && cJSON_IsString(de) && de->valuestring[0])
			snprintf(text, text_n, "%s: %s", ti->valuestring, de->valuestring);
		else if (cJSON_IsString(ti))
			copy_str(text, text_n, ti->valuestring);
		else if (cJSON_IsString(de))
			copy_str(text, text_n, de->valuestring);
	}
	cJSON_Delete(j);
}

bool qclient_header_allowed(const char *name)
{
	static const char *const deny[] = { "authorization", "cookie",	    "proxy-authorization",
					    "host",	     "content-length", "transfer-encoding",
					    "connection",    "expect",	    "te",
					    "trailer",	     "upgrade",	    "keep-alive" };
	if (!name || !*name)
		return false;
	for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		if (!strcasecmp(name, deny[i]))
			return false;
	return true;
}

const char *qclient_transport_text(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "timed out";
	case -ECONNREFUSED:
		return "connection refused";
	case -ECONNRESET:
		return "connection dropped";
	case -EHOSTUNREACH:
		return "host not found or unreachable";
	case -EPROTO:
		return "TLS verification failed";
	case -EFBIG:
		return "response too large";
	case -ENOMEM:
		return "out of memory";
	default:
		return "network error";
	}
}
