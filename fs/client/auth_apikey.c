/*
 * auth_apikey.c - a static API key as the bearer token.  It cannot be
 * refreshed: a 401 means the key is wrong, expired or revoked.
 */
#include "client/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct apikey {
	struct qauth base;
	char *key;
};

static int apikey_header(struct qauth *a, char *buf, size_t n)
{
	struct apikey *k = (struct apikey *)a;
	int len = snprintf(buf, n, "Bearer %s", k->key);
	return (len < 0 || (size_t)len >= n) ? -ENOSPC : 0;
}

static int apikey_refresh(struct qauth *a, const char *used)
{
	(void)a;
	(void)used;
	return -EACCES;
}

static void apikey_destroy(struct qauth *a)
{
	struct apikey *k = (struct apikey *)a;
	if (!k)
		return;
	explicit_bzero(k->key, strlen(k->key));
	free(k->key);
	free(k);
}

static const struct qauth_ops apikey_ops = {
	.header = apikey_header, .refresh = apikey_refresh, .destroy = apikey_destroy,
};

struct qauth *auth_apikey_new(const char *key)
{
	struct apikey *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->key = strdup(key);
	if (!k->key) {
		free(k);
		return NULL;
	}
	k->base.ops = &apikey_ops;
	return &k->base;
}
