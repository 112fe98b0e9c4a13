/* Unit tests for contexts.c: qlik-cli's contexts.yml with several contexts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "app/contexts.h"

static const char YML[] =
	"contexts:\n"
	"  prod:\n"
	"    comment: production, API key\n"
	"    headers:\n"
	"      authorization: Bearer  eyJhbGciOi.key.sig\n"
	"      X-Other: 1\n"
	"    server: https://acme.eu.qlikcloud.com\n"
	"    server-type: cloud\n"
	"  robot:\n"
	"    server: \"https://acme.eu.qlikcloud.com\"\n"
	"    oauth-client-id: 0123abcd\n"
	"    oauth-client-secret: 's3cr3t: with colon'\n"
	"  camel:\n"
	"    server: https://b.us.qlikcloud.com\n"
	"    oauthClientId: cid\n"
	"    oauthClientSecret: csec\n"
	"  bare: {server: http://127.0.0.1:8080}\n"
	"  odd:\n"
	"    headers: {Authorization: Basic abc}\n"
	"current-context: robot\n";

static void test_parse(void)
{
	struct qlik_context c = { 0 };
	char err[512];

	CHECK_INT(contexts_parse(YML, strlen(YML), "prod", &c, err, sizeof(err)), 0);
	CHECK_STR(c.name, "prod");
	CHECK_STR(c.server, "https://acme.eu.qlikcloud.com");
	CHECK_STR(c.api_key, "eyJhbGciOi.key.sig");
	CHECK(c.client_id == NULL && c.client_secret == NULL);
	qlik_context_clear(&c);

	CHECK_INT(contexts_parse(YML, strlen(YML), NULL, &c, err, sizeof(err)), 0);
	CHECK_STR(c.name, "robot");
	CHECK_STR(c.client_id, "0123abcd");
	CHECK_STR(c.client_secret, "s3cr3t: with colon");
	CHECK(c.api_key == NULL);
	qlik_context_clear(&c);

	CHECK_INT(contexts_parse(YML, strlen(YML), "camel", &c, err, sizeof(err)), 0);
	CHECK_STR(c.client_id, "cid");
	CHECK_STR(c.client_secret, "csec");
	qlik_context_clear(&c);

	CHECK_INT(contexts_parse(YML, strlen(YML), "bare", &c, err, sizeof(err)), 0);
	CHECK_STR(c.server, "http://127.0.0.1:8080");
	CHECK(!c.api_key && !c.client_id && !c.client_secret);
	qlik_context_clear(&c);

	CHECK_INT(contexts_parse(YML, strlen(YML), "odd", &c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "Bearer") != NULL && strstr(err, "abc") == NULL);

	CHECK_INT(contexts_parse(YML, strlen(YML), "nope", &c, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no context \"nope\"") && strstr(err, "prod, robot, camel, bare, odd"));
	CHECK(strstr(err, "s3cr3t") == NULL);

	const char *nocur = "contexts:\n  a: {server: https://x}\n";
	CHECK_INT(contexts_parse(nocur, strlen(nocur), "", &c, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no current-context") != NULL);

	const char *bad[] = { "contexts: [a, b]\n", "just text\n", "contexts:\n  a: [1]\n",
			      "contexts: {a: {server: x}\n", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(contexts_parse(bad[i], strlen(bad[i]), "a", &c, err, sizeof(err)) < 0);
	CHECK(c.name == NULL);

	/* anchors and aliases are YAML too */
	const char *al = "base: &b {server: https://h.eu.qlikcloud.com}\n"
			 "contexts:\n  x: *b\ncurrent-context: x\n";
	CHECK_INT(contexts_parse(al, strlen(al), NULL, &c, err, sizeof(err)), 0);
	CHECK_STR(c.server, "https://h.eu.qlikcloud.com");
	qlik_context_clear(&c);
}

static void test_load_and_path(void)
{
	char tmpl[] = "/tmp/qlikfs-ctx-XXXXXX", path[512], p2[512], err[512];
	char *dir = mkdtemp(tmpl);
	struct qlik_context c = { 0 };
	snprintf(path, sizeof(path), "%s/contexts.yml", dir);
	FILE *f = fopen(path, "w");
	fputs(YML, f);
	fclose(f);

	chmod(path, 0644);
	CHECK_INT(contexts_load(path, "robot", &c, err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "chmod 600") != NULL && strstr(err, "s3cr3t") == NULL);
	CHECK_INT(contexts_load(path, "bare", &c, err, sizeof(err)), 0); /* no secret in it */
	qlik_context_clear(&c);
	chmod(path, 0600);
	CHECK_INT(contexts_load(path, "robot", &c, err, sizeof(err)), 0);
	CHECK_STR(c.client_secret, "s3cr3t: with colon");
	qlik_context_clear(&c);
	snprintf(p2, sizeof(p2), "%s/missing.yml", dir);
	CHECK_INT(contexts_load(p2, "robot", &c, err, sizeof(err)), -ENOENT);

	setenv("QLIK_CLI_USER_HOME_DIR", path, 1);
	CHECK_INT(contexts_path(p2, sizeof(p2)), 0);
	CHECK_STR(p2, path);
	setenv("QLIK_CLI_USER_HOME_DIR", dir, 1);
	CHECK_INT(contexts_path(p2, sizeof(p2)), 0);
	CHECK_STR(p2, path); /* DIR/contexts.yml, as there is no DIR/.qlik/ */
	unsetenv("QLIK_CLI_USER_HOME_DIR");
	setenv("HOME", "/home/someone", 1);
	CHECK_INT(contexts_path(p2, sizeof(p2)), 0);
	CHECK_STR(p2, "/home/someone/.qlik/contexts.yml");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_parse();
	test_load_and_path();
	return check_done();
}
