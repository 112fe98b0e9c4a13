/*
 * fuzz_contexts.c - qlik-cli's contexts.yml (contexts.c, libyaml).
 *
 * Input: the file's text, optionally followed by "\0" and the context name
 * to pick (none: the current-context).  Invariants: results are 0,
 * -EINVAL, -ENOENT or -ENOMEM; the context is zeroed on failure; on success
 * it has a name, and asking for a context that does not exist names no
 * secret of it (API key, client secret) in the error message (unless the
 * secret's text also occurs elsewhere in the file, e.g. in a name).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/contexts.h"
#include "fuzz_common.h"

static bool zeroed(const struct qlik_context *c)
{
	return !c->name && !c->server && !c->api_key && !c->client_id && !c->client_secret;
}

/* The secret may be named in err only when the file holds its text
 * elsewhere too (e.g. inside a context's name, which messages list). */
static void check_no_secret(const char *text, const char *err, const char *secret)
{
	if (!secret || strlen(secret) < 4)
		return;
	size_t seen = 0;
	for (const char *p = text; (p = strstr(p, secret)); p++)
		seen++;
	if (seen == 1)
		FZ_CHECK(!strstr(err, secret));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *in = fz_strndup(data, size);
	size_t tlen = strlen(in);
	const char *name = tlen < size ? in + tlen + 1 : NULL;
	struct qlik_context c = { 0 };
	char err[512] = "";

	int rc = contexts_parse(in, tlen, name, &c, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOENT || rc == -ENOMEM);
	FZ_CHECK(memchr(err, '\0', sizeof(err)));
	if (rc) {
		FZ_CHECK(zeroed(&c));
	} else {
		FZ_CHECK(c.name);
		if (name && *name)
			FZ_CHECK(!strcmp(c.name, name));
		struct qlik_context d = { 0 };
		char err2[512] = "";
		int rc2 = contexts_parse(in, tlen, "\x01no such context", &d, err2, sizeof(err2));
		FZ_CHECK(rc2 != 0 && zeroed(&d));
		check_no_secret(in, err2, c.api_key);
		check_no_secret(in, err2, c.client_secret);
	}
	qlik_context_clear(&c);
	FZ_CHECK(zeroed(&c));
	free(in);
	return 0;
}
