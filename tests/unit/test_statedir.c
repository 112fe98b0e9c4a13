/* Unit tests for statedir.c: resolution, modes, atomic writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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
	/* temporary files of dead writers are swept, others are kept */
	char sw[512], f[700];
	snprintf(sw, sizeof(sw), "%s/sweep", root);
	CHECK_INT(statedir_mkdir(sw, "changes/apps"), 0);
	static const char *const names[] = {
		".tokens.json.tmp.999999999.1",		 /* dead pid: swept */
		"changes/apps/.x.tmp.999999998.12",	 /* dead, deeper: swept */
		"changes/.a.tmp.b.tmp.999999997.3",	 /* dead, ".tmp." in NAME: swept */
		".mine.tmp.%d.1",			 /* this process: kept */
		".init.tmp.1.1",			 /* pid 1 runs: kept */
		"tokens.json.tmp.999999999.1",		 /* no leading dot: kept */
		".y.tmp.999999999.1x",			 /* not a sequence: kept */
		".z.tmp.999999999",			 /* no sequence: kept */
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char nm[128];
		snprintf(nm, sizeof(nm), names[i], (int)getpid());
		snprintf(f, sizeof(f), "%s/%s", sw, nm);
		FILE *fp = fopen(f, "w");
		CHECK(fp != NULL);
		if (fp)
			fclose(fp);
	}
	CHECK_INT(statedir_sweep_tmp(sw), 3);
	snprintf(f, sizeof(f), "%s/.tokens.json.tmp.999999999.1", sw);
	CHECK(access(f, F_OK) != 0);
	snprintf(f, sizeof(f), "%s/.mine.tmp.%d.1", sw, (int)getpid());
	CHECK(access(f, F_OK) == 0);
	snprintf(f, sizeof(f), "%s/.init.tmp.1.1", sw);
	CHECK(access(f, F_OK) == 0);
	CHECK_INT(statedir_sweep_tmp(sw), 0);
	snprintf(f, sizeof(f), "%s/nosuch", sw);
	CHECK_INT(statedir_sweep_tmp(f), -ENOENT);

	/* a bounded log of lines: appended whole, moved to .1 past max */
	char lg[600], lg1[620];
	snprintf(lg, sizeof(lg), "%s/report.jsonl", sw);
	snprintf(lg1, sizeof(lg1), "%s.1", lg);
	CHECK_INT(statedir_append_line(lg, "{\"a\":1}", 20), 0);
	CHECK_INT(statedir_append_line(lg, "{\"a\":2}", 20), 0);
	CHECK(stat(lg, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 16);
	CHECK_INT(statedir_read_path(lg, 100, &buf, &len), 0);
	CHECK_STR(buf, "{\"a\":1}\n{\"a\":2}\n");
	free(buf);
	CHECK_INT(statedir_append_line(lg, "{\"a\":3}", 20), 0); /* 16 <= 20: appended */
	CHECK_INT(statedir_append_line(lg, "{\"a\":4}", 20), 0); /* 24 > 20: rotated first */
	CHECK_INT(statedir_read_path(lg, 100, &buf, &len), 0);
	CHECK_STR(buf, "{\"a\":4}\n");
	free(buf);
	CHECK_INT(statedir_read_path(lg1, 100, &buf, &len), 0);
	CHECK_STR(buf, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
	free(buf);
	snprintf(f, sizeof(f), "%s/nosuch/x", sw);
	CHECK_INT(statedir_append_line(f, "x", 20), -ENOENT);

	/* a report line: time and action first, the caller's fields after */
	char rp[600];
	snprintf(rp, sizeof(rp), "%s/r.jsonl", sw);
	cJSON *o = statedir_report_new("held");
	CHECK(o != NULL);
	cJSON_AddStringToObject(o, "why", "waits for its space");
	CHECK_INT(statedir_report_append(rp, o, STATEDIR_REPORT_MAX), 0);
	CHECK_INT(statedir_read_path(rp, 1000, &buf, &len), 0);
	CHECK(len > 40 && buf[len - 1] == '\n' && !strchr(buf, '\n')[1]);
	CHECK(!strncmp(buf, "{\"time\":\"20", 11) && buf[13] == '-' && buf[19] == 'T' && buf[28] == 'Z');
	CHECK(strstr(buf, "Z\",\"action\":\"held\",\"why\":\"waits for its space\"}\n") != NULL);
	free(buf);
	CHECK_INT(statedir_report_append(f, statedir_report_new("x"), 20), -ENOENT);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK_INT(system(cmd), 0);
	return check_done();
}
