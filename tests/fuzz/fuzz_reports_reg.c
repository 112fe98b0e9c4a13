/*
 * fuzz_reports_reg.c - the registry of report requests, reports.json in
 * the state directory (reports.c), which a user may have edited by hand.
 *
 * Input: the file's content.  Invariants: reports_reg_open() accepts it or
 * returns -EINVAL / -EFBIG; the registry it holds has valid, unique ids
 * (each one a single entry under reports/), at most REPORTS_REG_MAX
 * entries, and survives a rewrite: add + reopen gives the same entries plus
 * the new one, remove + reopen gives the same entries again.
 * The state directory is a fresh directory under /dev/shm (or $TMPDIR).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "util/qtime.h"
#include "actions/reports.h"

static char dir[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void cleanup(void)
{
	if (dir[0])
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	if (dir[0])
		return;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/qlikfs-fuzz-reg-XXXXXX", base ? base : "/tmp");
	FZ_CHECK(mkdtemp(dir));
	atexit(cleanup);
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (!n || n > REPORTS_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p <= 0x20 || *p == '/' || *p >= 0x7f)
			return false;
	return true;
}

static void list(struct reports_reg *r, struct report_entry **v, size_t *n)
{
	FZ_CHECK(reports_reg_list(r, v, n) == 0);
	FZ_CHECK(*n <= REPORTS_REG_MAX);
	for (size_t i = 0; i < *n; i++) {
		FZ_CHECK(valid_id((*v)[i].id));
		for (size_t k = 0; k < i; k++)
			FZ_CHECK(strcmp((*v)[i].id, (*v)[k].id)); /* unique */
	}
}

/* Same entries (a time that cannot be written is written as none). */
static void same(const struct report_entry *a, size_t na, const struct report_entry *b, size_t nb)
{
	FZ_CHECK(na == nb);
	for (size_t i = 0; i < na; i++) {
		char ts[QTIME_BUFSZ];
		int64_t t = qtime_format_ms(a[i].created_ms, ts, sizeof(ts)) < 0 ? 0 : a[i].created_ms;
		FZ_CHECK(!strcmp(a[i].id, b[i].id) && !strcmp(a[i].name, b[i].name) &&
			 !strcmp(a[i].output_type, b[i].output_type) && t == b[i].created_ms);
	}
}

static struct reports_reg *reopen(struct reports_reg *r)
{
	reports_reg_free(r);
	FZ_CHECK(reports_reg_open(dir, &r) == 0);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 17)
		return 0;
	setup();
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, REPORTS_REG_FILE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size);
	close(fd);

	struct reports_reg *r = NULL;
	int rc = reports_reg_open(dir, &r);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EFBIG);
	if (rc)
		return 0;
	struct report_entry *v0, *v1, *v2;
	size_t n0, n1, n2;
	list(r, &v0, &n0);

	const char *nid = "fuzz-new-request";
	rc = reports_reg_add(r, nid, "new \"report\"", "pdf", 1700000000123LL);
	FZ_CHECK(rc == 0 || rc == -EEXIST || rc == -ENOSPC);
	bool added = rc == 0;
	r = reopen(r);
	list(r, &v1, &n1);
	same(v0, n0, v1, added ? n1 - 1 : n1);
	if (added) {
		struct report_entry e;
		FZ_CHECK(reports_reg_get(r, nid, &e) == 0 && e.created_ms == 1700000000123LL);
		FZ_CHECK(reports_reg_remove(r, nid) == 0);
		r = reopen(r);
		list(r, &v2, &n2);
		same(v0, n0, v2, n2);
		free(v2);
	}
	free(v0);
	free(v1);
	reports_reg_free(r);
	return 0;
}
