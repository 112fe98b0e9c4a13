/* Unit tests for secret.c: files (mode enforced), the environment (wiped), trimming. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "app/secret.h"

int main(void)
{
	char tmpl[] = "/tmp/qlikfs-secret-XXXXXX", path[512], err[512];
	char *dir = mkdtemp(tmpl), *s = NULL;
	snprintf(path, sizeof(path), "%s/key", dir);
	FILE *f = fopen(path, "w");
	fputs("  the-secret\t \nsecond line\n", f);
	fclose(f);

	chmod(path, 0640);
	CHECK_INT(secret_read(path, NULL, "api_key_file", &s, err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "chmod 600") && strstr(err, "0640") && !strstr(err, "the-secret"));
	chmod(path, 0600);
	CHECK_INT(secret_read(path, NULL, "api_key_file", &s, err, sizeof(err)), 0);
	CHECK_STR(s, "the-secret");
	secret_free(s);
	s = NULL;

	f = fopen(path, "w");
	fputs(" \n", f);
	fclose(f);
	CHECK_INT(secret_read(path, NULL, "api_key_file", &s, err, sizeof(err)), -ENODATA);
	CHECK(strstr(err, "is empty") != NULL);
	unlink(path);
	CHECK_INT(secret_read(path, NULL, "api_key_file", &s, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "cannot open api_key_file") != NULL);

	setenv("QLIKFS_TEST_SECRET", "from-env\n", 1);
	char *raw = getenv("QLIKFS_TEST_SECRET");
	CHECK_INT(secret_read(NULL, "QLIKFS_TEST_SECRET", "x", &s, err, sizeof(err)), 0);
	CHECK_STR(s, "from-env");
	CHECK(getenv("QLIKFS_TEST_SECRET") == NULL);
	CHECK(raw[0] == '\0'); /* zeroed where /proc/PID/environ would show it */
	secret_free(s);
	CHECK_INT(secret_read(NULL, "QLIKFS_TEST_SECRET", "x", &s, err, sizeof(err)), -ENOENT);
	secret_free(NULL);
	rmdir(dir);
	return check_done();
}
