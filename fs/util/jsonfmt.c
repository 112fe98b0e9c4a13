/*
 * jsonfmt.c - jq-compatible pretty printer over cJSON.
 *
 * Numbers: integers that a double holds exactly print as integers; others use
 * the shortest of %.15g/%.17g that reads back the same value (as cJSON does).
 * Strings: '"', '\\' and control characters are escaped (\b \f \n \r \t, else
 * \u00XX); everything else, multi-byte UTF-8 included, is copied.
 */
#include "util/jsonfmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *nb = realloc(o->buf, cap);
		if (!nb) {
			o->oom = true;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void indent(struct out *o, int depth)
{
	static const char spaces[] = "                                ";
	int n = depth * 2;
	while (n > 0) {
		int k = n > 32 ? 32 : n;
		put(o, spaces, (size_t)k);
		n -= k;
	}
}

static void put_string(struct out *o, const char *s)
{
	put(o, "\"", 1);
	const char *run = s;
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		const char *esc = NULL;
		char tmp[8];
		switch (ch) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (ch < 0x20 || ch == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", ch);
				esc = tmp;
			}
		}
		if (esc) {
			put(o, run, (size_t)(p - run));
			puts_(o, esc);
			run = p + 1;
		}
	}
	put(o, run, strlen(run));
	put(o, "\"", 1);
}

static void put_number(struct out *o, double d)
{
	char tmp[64];
	if (isnan(d) || isinf(d)) {
		puts_(o, "null");
		return;
	}
	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)d);
	} else {
		double back;
		snprintf(tmp, sizeof(tmp), "%1.15g", d);
		if (sscanf(tmp, "%lg", &back) != 1 || back != d)
			snprintf(tmp, sizeof(tmp), "%1.17g", d);
	}
	puts_(o, tmp);
}

static bool render(struct out *o, const cJSON *j, int depth)
{
	if (depth > MAX_DEPTH)
		return false;
	switch (j->type & 0xFF) {
	case cJSON_NULL:
		puts_(o, "null");
		return true;
	case cJSON_False:
		puts_(o, "false");
		return true;
	case cJSON_True:
		puts_(o, "true");
		return true;
	case cJSON_Number:
		put_number(o, j->valuedouble);
		return true;
	case cJSON_String:
		put_string(o, j->valuestring ? j->valuestring : "");
		return true;
	case cJSON_Raw:
		puts_(o, j->valuestring ? j->valuestring : "null");
		return true;
	case cJSON_Array:
	case cJSON_Object: {
		bool obj = cJSON_IsObject(j);
		const cJSON *c = j->child;
		if (!c) {
			puts_(o, obj ? "{}" : "[]");
			return true;
		}
		puts_(o, obj ? "{\n" : "[\n");
		for (; c; c = c->next) {
			indent(o, depth + 1);
			if (obj) {
				put_string(o, c->string ? c->string : "");
				puts_(o, ": ");
			}
			if (!render(o, c, depth + 1))
				return false;
			puts_(o, c->next ? ",\n" : "\n");
		}
		indent(o, depth);
		puts_(o, obj ? "}" : "]");
		return true;
	}
	default:
		puts_(o, "null");
		return true;
	}
}

char *jsonfmt_pretty(const cJSON *j, size_t *len)
{
	struct out o = { 0 };
	if (!render(&o, j, 0) || (put(&o, "\n", 1), o.oom)) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
