/* Unit tests for statedir.c: resolution, modes, atomic writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util/statedir.h"

int main(void)
{
	char tmpl[] = "/tmp/qlikfs-statedir-XXXXXX";
	char *root = mkdtemp(tmpl), *dir = NULL, *buf = NULL;
	char xdg[512];
	struct stat st;
	size_t len;

	snprintf(xdg, sizeof(xdg), "%s/xdg", root);
	setenv("XDG_STATE_HOME", xdg, 1);
	CHECK_INT(statedir_resolve(NULL, "http://127.0.0.1:8080", &dir), 0);
	CHECK(dir && strstr(dir, "/xdg/qlikfs/127.0.0.1_8080"));
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	free(dir);
	dir = NULL;
	CHECK_INT(statedir_resolve(NULL, "https://acme.eu.qlikcloud.com", &dir), 0);
	CHECK(dir && !strcmp(strrchr(dir, '/'), "/acme.eu.qlikcloud.com"));
	free(dir);
	dir = NULL;
	CHECK_INT(statedir_resolve(NULL, "http://[::1]:9/", &dir), 0);
	CHECK(dir && !strcmp(strrchr(dir, '/'), "/__1_9"));
	free(dir);
	dir = NULL;
	char explicit_dir[600];
	snprintf(explicit_dir, sizeof(explicit_dir), "%s/mine/deep", root);
	CHECK_INT(statedir_resolve(explicit_dir, "https://x.qlikcloud.com", &dir), 0);
	CHECK_STR(dir, explicit_dir);

	CHECK_INT(statedir_write_atomic(dir, "a.json", "{\"x\":1}", 7), 0);
	char path[700];
	snprintf(path, sizeof(path), "%s/a.json", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(statedir_write_atomic(dir, "a.json", "{}", 2), 0);
	CHECK_INT(statedir_read(dir, "a.json", 100, &buf, &len), 0);
	CHECK_STR(buf, "{}");
	CHECK_INT((int)len, 2);
	free(buf);
	CHECK_INT(statedir_read(dir, "a.json", 1, &buf, &len), -EFBIG);
	CHECK_INT(statedir_read(dir, "nope", 100, &buf, &len), -ENOENT);
	CHECK_INT(statedir_mkdir(dir, "spool/users"), 0);
	snprintf(path, sizeof(path), "%s/spool/users", dir);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	free(dir);
	dir = NULL;

	/* the cache directory: XDG_CACHE_HOME, else ~/.cache */
	snprintf(xdg, sizeof(xdg), "%s/xdgcache", root);
	setenv("XDG_CACHE_HOME", xdg, 1);
	CHECK_INT(statedir_cache_resolve(NULL, "https://acme.eu.qlikcloud.com", &dir), 0);
	CHECK(dir && strstr(dir, "/xdgcache/qlikfs/acme.eu.qlikcloud.com"));
	CHECK(dir && stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	free(dir);
	dir = NULL;
	unsetenv("XDG_CACHE_HOME");
	snprintf(xdg, sizeof(xdg), "%s/home", root);
	setenv("HOME", xdg, 1);
	CHECK_INT(statedir_cache_resolve(NULL, "http://127.0.0.1:8080", &dir), 0);
	CHECK(dir && strstr(dir, "/home/.cache/qlikfs/127.0.0.1_8080"));
	free(dir);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK_INT(system(cmd), 0);
	return check_done();
}
