/*
 * test_reloads_reg.c - actions/reloads_reg.c: the document parsed and
 * rendered, junk skipped, the bound (days and count), and the file: created
 * 0600, added to, a foreign file left untouched.
 */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions/reloads_reg.h"
#include "util/qtime.h"

#define DAY (24LL * 3600 * 1000)
#define NOW 1717000000000LL /* 2024-05-29 */

static void test_parse_render(void)
{
	const char *doc = "{\"version\":1,\"reloads\":["
			  "{\"id\":\"r1\",\"appId\":\"a1\",\"created\":\"2024-05-01T10:00:00.000Z\"},"
			  "{\"id\":\"r1\",\"appId\":\"a2\",\"created\":\"2024-05-02T10:00:00.000Z\"},"
			  "{\"id\":\"../x\",\"appId\":\"a\",\"created\":\"2024-05-01T10:00:00.000Z\"},"
			  "{\"id\":\"r2\",\"created\":\"not a time\"},"
			  "{\"appId\":\"a\",\"created\":\"2024-05-01T10:00:00.000Z\"},"
			  "{\"id\":\"r3\",\"created\":\"2024-05-03T10:00:00.000Z\"}]}";
	struct reload_mark *v = NULL;
	size_t n = 0, len = 0;
	CHECK_INT(reloads_reg_parse(doc, strlen(doc), &v, &n), 0);
	CHECK_INT(n, 2); /* r1 (its first entry) and r3 */
	CHECK_STR(v[0].id, "r1");
	CHECK_STR(v[0].app, "a1");
	CHECK_STR(v[1].id, "r3");
	CHECK_STR(v[1].app, "");
	char *text = reloads_reg_render(v, n, &len);
	CHECK(text && strlen(text) == len && text[len - 1] == '\n');
	struct reload_mark *w = NULL;
	size_t m = 0;
	CHECK_INT(reloads_reg_parse(text, len, &w, &m), 0);
	CHECK_INT(m, 2);
	CHECK(m == 2 && !memcmp(v, w, 2 * sizeof(*v)));
	free(text);
	free(v);
	free(w);
	CHECK_INT(reloads_reg_parse("[]", 2, &v, &n), -EINVAL);
	CHECK_INT(reloads_reg_parse("{\"reloads\":{}}", 14, &v, &n), -EINVAL);
	CHECK_INT(reloads_reg_parse("{\"reloads\":[]}", 14, &v, &n), 0);
	CHECK_INT(n, 0);
}

static void test_bound(void)
{
	size_t cnt = RELOADS_REG_KEEP + 50;
	struct reload_mark *v = calloc(cnt + 3, sizeof(*v));
	/* newest first, one a minute */
	for (size_t i = 0; i < cnt; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "r%zu", i);
		v[i].created_ms = NOW - (int64_t)i * 60000;
	}
	snprintf(v[cnt].id, sizeof(v[cnt].id), "old");
	v[cnt].created_ms = NOW - RELOADS_REG_DAYS * DAY - 1;
	snprintf(v[cnt + 1].id, sizeof(v[cnt + 1].id), "future");
	v[cnt + 1].created_ms = NOW + 2 * DAY;
	snprintf(v[cnt + 2].id, sizeof(v[cnt + 2].id), "recent");
	v[cnt + 2].created_ms = NOW - (RELOADS_REG_DAYS - 1) * DAY;
	size_t k = reloads_reg_bound(v, cnt + 3, NOW);
	CHECK_INT(k, RELOADS_REG_KEEP); /* the newest 1000: "recent" and the 50 oldest go */
	CHECK_STR(v[0].id, "r999");
	CHECK_STR(v[k - 1].id, "r0");
	for (size_t i = 1; i < k; i++)
		CHECK(v[i - 1].created_ms <= v[i].created_ms);
	/* within the count, the days decide */
	v[0].created_ms = NOW - 40 * DAY;
	v[1].created_ms = NOW - 10 * DAY;
	CHECK_INT(reloads_reg_bound(v, 2, NOW), 1);
	CHECK_STR(v[0].id, "r998");
	free(v);
}

static void test_file(void)
{
	char tmpl[] = "/tmp/qlikfs-rlreg-XXXXXX", path[256], err[512] = "";
	char *dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	if (!dir)
		return;
	struct reload_mark *v = NULL, a = { "r1", "app1", NOW - DAY }, b = { "r2", "app2", NOW };
	size_t n = 0;
	CHECK_INT(reloads_reg_load(dir, NOW, &v, &n), 0); /* no file: nothing */
	CHECK_INT(n, 0);
	CHECK_INT(reloads_reg_add(dir, &b, NOW, err, sizeof(err)), 0);
	CHECK_INT(reloads_reg_add(dir, &a, NOW, err, sizeof(err)), 0);
	CHECK_INT(reloads_reg_add(dir, &a, NOW, err, sizeof(err)), 0); /* once */
	snprintf(path, sizeof(path), "%s/%s", dir, RELOADS_REG_FILE);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(reloads_reg_load(dir, NOW, &v, &n), 0);
	CHECK_INT(n, 2);
	CHECK(n == 2 && !strcmp(v[0].id, "r1") && !strcmp(v[1].id, "r2") &&
	      !strcmp(v[1].app, "app2") && v[1].created_ms == NOW);
	free(v);
	/* read later: r1 has aged out */
	CHECK_INT(reloads_reg_load(dir, NOW - DAY + RELOADS_REG_DAYS * DAY, &v, &n), 0);
	CHECK(n == 1 && !strcmp(v[0].id, "r2"));
	free(v);
	/* a file that is not a registry is neither read nor overwritten */
	int fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "hello", 5) == 5);
	close(fd);
	CHECK_INT(reloads_reg_load(dir, NOW, &v, &n), -EINVAL);
	CHECK_INT(reloads_reg_add(dir, &a, NOW, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "left untouched") != NULL);
	char buf[16] = "";
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5));
	close(fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, RELOADS_REG_LOCK);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_parse_render();
	test_bound();
	test_file();
	return check_done();
}
