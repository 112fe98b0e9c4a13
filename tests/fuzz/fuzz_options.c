/*
 * fuzz_options.c - the command line and -o options (options.c, through
 * libfuse's fuse_opt_parse()), as given on a command line or by an fstab
 * line.
 *
 * Input: lines; a line starting with '-' is an argument as is, any other
 * is the value of a "-o"; a first byte 'L' parses for `qlikfs login`.
 * Invariants: options_parse() returns 0 or -1; options_numbers() returns 0
 * or -EINVAL and, on 0, every number is finite, at most 1e15 (main.c
 * converts seconds * 1000 to integers) and in its documented
 * range (retries 1..100, timeout >= 0.1 s, umask <= 0777, uid/gid below
 * 2^32 - 1, a non-negative poll interval in whole ms); options_free()
 * leaves nothing behind.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "app/options.h"

#define MAX_ARGS 64

static void check_numbers(const struct mount_numbers *n)
{
	const double v[] = { n->ttl, n->neg_ttl, n->timeout, n->size, n->retries, n->uid,
			     n->gid, n->umask, n->qvf_size, n->transfer_timeout,
			     n->trash_qvf_max };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		FZ_CHECK(isfinite(v[i]) && v[i] >= 0 && v[i] <= 1e15); /* main.c: * 1000 -> long */
	FZ_CHECK(n->retries >= 1 && n->retries <= 100);
	FZ_CHECK(n->timeout >= 0.1 && n->transfer_timeout >= 1);
	FZ_CHECK(n->umask <= 0777);
	FZ_CHECK(n->uid <= 0xfffffffe && n->gid <= 0xfffffffe);
	FZ_CHECK(n->changes.interval_ms >= 0);
	FZ_CHECK(n->changes.full_scan_every <= 1000000);
	/* main.c: days * 86400000 -> int64 ms; 0 only with -o notrash */
	FZ_CHECK(isfinite(n->trash_days) && n->trash_days >= 0 && n->trash_days <= 36500);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *in = fz_strndup(data, size), *body = in;
	bool login = false;
	if (size && in[0] == 'L') {
		login = true;
		body++;
	}
	char *lines[MAX_ARGS];
	size_t nl = fz_split(body, "\n", lines, MAX_ARGS);
	if (nl > MAX_ARGS)
		nl = MAX_ARGS;
	char *argv[2 * MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = "qlikfs";
	for (size_t i = 0; i < nl; i++) {
		if (lines[i][0] != '-')
			argv[argc++] = "-o";
		argv[argc++] = lines[i];
	}
	argv[argc] = NULL;

	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = { 0 };
	int rc = options_parse(&args, &o, login);
	FZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		struct mount_numbers n;
		int nrc = options_numbers(&o, &n);
		FZ_CHECK(nrc == 0 || nrc == -EINVAL);
		if (nrc == 0)
			check_numbers(&n);
		long lt = options_login_timeout(&o);
		FZ_CHECK(lt == -EINVAL || (lt >= 1 && lt <= 86400));
	}
	options_free(&o);
	fuse_opt_free_args(&args);
	free(in);
	return 0;
}
