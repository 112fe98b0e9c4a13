/*
 * options.c - see options.h.  Options that mount(8) and mount.fuse3 may pass
 * from an fstab line and that mean nothing to qlikfs (_netdev, nofail, noauto,
 * user, x-systemd.*, ...) are accepted and dropped.  Not thread-safe (runs
 * before any thread starts).
 */
#include "app/options.h"

#include "util/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT(t, p) { t, offsetof(struct options, p), 1 }
#define NUM_MAX 1e15 /* bound of a number option (seconds or bytes) */
#define DISCARD(t) FUSE_OPT_KEY(t, FUSE_OPT_KEY_DISCARD)

static const struct fuse_opt qopts[] = {
	OPT("auth=%s", auth),
	OPT("api_key_file=%s", api_key_file),
	OPT("client_id=%s", client_id),
	OPT("client_secret_file=%s", client_secret_file),
	OPT("scopes=%s", scopes),
	OPT("authorize_url=%s", authorize_url),
	OPT("token_url=%s", token_url),
	OPT("context=%s", context),
	OPT("state_dir=%s", state_dir),
	OPT("cache_ttl=%s", cache_ttl),
	OPT("cache_size=%s", cache_size),
	OPT("cache_dir=%s", cache_dir),
	OPT("qvf_cache_size=%s", qvf_cache_size),
	OPT("transfer_timeout=%s", transfer_timeout),
	{ "noqvf", offsetof(struct options, noqvf), 1 },
	{ "noscripts", offsetof(struct options, noscripts), 1 },
	OPT("reload_wait=%s", reload_wait),
	OPT("poll_interval=%s", poll_interval),
	OPT("changes_created=%s", changes_created),
	OPT("changes_updated=%s", changes_updated),
	OPT("changes_deleted=%s", changes_deleted),
	OPT("changes_full_scan=%s", changes_full_scan),
	OPT("changes_types=%s", changes_types),
	{ "qvf_nodata", offsetof(struct options, qvf_nodata), 1 },
	OPT("neg_ttl=%s", neg_ttl),
	OPT("timeout=%s", timeout),
	OPT("retries=%s", retries),
	OPT("ratelimit_wait=%s", ratelimit_wait),
	OPT("delete_delay=%s", delete_delay),
	OPT("trash_days=%s", trash_days),
	OPT("trash_qvf_max=%s", trash_qvf_max),
	{ "notrash", offsetof(struct options, notrash), 1 },
	{ "trash_required", offsetof(struct options, trash_required), 1 },
	{ "dry_run", offsetof(struct options, dry_run), 1 },
	OPT("walk_max=%s", walk_max),
	OPT("prefetch=%s", prefetch),
	OPT("view_nodes=%s", view_nodes),
	OPT("uid=%s", uid),
	OPT("gid=%s", gid),
	OPT("umask=%s", umask),
	OPT("api_version=%s", api_version),
	OPT("redirect_port=%s", redirect_port),
	OPT("redirect_uri=%s", redirect_uri),
	OPT("url_file=%s", url_file),
	OPT("login_timeout=%s", login_timeout),
	OPT("log_file=%s", log_file),
	OPT("log_level=%s", log_level),
	FUSE_OPT_KEY("ro", 'r'),
	FUSE_OPT_KEY("-h", 'h'),
	FUSE_OPT_KEY("--help", 'h'),
	FUSE_OPT_KEY("-V", 'V'),
	FUSE_OPT_KEY("--version", 'V'),
	/* fstab options for mount(8) itself, in case they reach us */
	DISCARD("_netdev"),
	DISCARD("nofail"),
	DISCARD("auto"),
	DISCARD("noauto"),
	DISCARD("user"),
	DISCARD("nouser"),
	DISCARD("users"),
	DISCARD("owner"),
	DISCARD("group"),
	DISCARD("defaults"),
	DISCARD("comment=%s"),
	FUSE_OPT_END
};

/* Options libfuse 3 itself accepts (fuse_parse_cmdline, fuse_session_new and
 * its mount options, kernel mount flags): everything else that reaches
 * FUSE_OPT_KEY_OPT is a typo, reported with the nearest name. */
static const char *const fuse_known[] = {
	"debug", "allow_root", "allow_other", "blkdev", "auto_unmount", "fsname=", "max_read=",
	"subtype=", "blksize=", "default_permissions", "context=", "fscontext=", "defcontext=",
	"rootcontext=", "user=", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
	"async", "sync", "dirsync", "noatime", "nodiratime", "nostrictatime", "symfollow",
	"nosymfollow", "clone_fd", "max_idle_threads=", "max_threads=", NULL
};

static bool fuse_knows(const char *arg)
{
	for (size_t i = 0; fuse_known[i]; i++) {
		size_t l = strlen(fuse_known[i]);
		if (fuse_known[i][l - 1] == '=' ? !strncmp(arg, fuse_known[i], l)
						: !strcmp(arg, fuse_known[i]))
			return true;
	}
	return arg[0] == '-'; /* -d, -f, -s: fuse_parse_cmdline's own */
}

/* Edit distance of a and b (each at most 63 characters are compared). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strnlen(a, 63), lb = strnlen(b, 63), row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Copies the name part of an option template ("cache_ttl=%s" -> "cache_ttl"). */
static void opt_name(const char *templ, char *out, size_t n)
{
	size_t l = strcspn(templ, "=");
	snprintf(out, n, "%.*s", (int)(l < n ? l : n - 1), templ);
}

const char *options_suggest(const char *name)
{
	static char best[64];
	char want[64], cand[64];
	size_t bestd = (size_t)-1;
	opt_name(name, want, sizeof(want));
	for (size_t i = 0; qopts[i].templ; i++) {
		const char *t = qopts[i].templ;
		if (t[0] == '-' || qopts[i].value == FUSE_OPT_KEY_DISCARD)
			continue;
		opt_name(t, cand, sizeof(cand));
		size_t d = edit_distance(want, cand);
		if (d < bestd) {
			bestd = d;
			snprintf(best, sizeof(best), "%s", cand);
		}
	}
	for (size_t i = 0; fuse_known[i]; i++) {
		opt_name(fuse_known[i], cand, sizeof(cand));
		size_t d = edit_distance(want, cand);
		if (d < bestd) {
			bestd = d;
			snprintf(best, sizeof(best), "%s", cand);
		}
	}
	size_t limit = strlen(want) / 3 > 2 ? strlen(want) / 3 : 2;
	return bestd <= limit ? best : NULL;
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;
	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (o->nonopt++ == 0) {
			o->tenant = strdup(arg);
			return 0; /* consumed */
		}
		if (o->login && !o->unknown)
			o->unknown = strdup(arg);
		return o->login ? 0 : 1; /* the mountpoint: kept for fuse_parse_cmdline */
	case FUSE_OPT_KEY_OPT:
		if (!strncmp(arg, "x-", 2))
			return 0; /* x-systemd.automount, x-mount.mkdir, ...: not ours */
		if (o->login) {
			if (!o->unknown)
				o->unknown = strdup(arg);
			return 0;
		}
		if (!strncmp(arg, "fsname=", 7))
			o->fsname_given = 1;
		if (!strncmp(arg, "subtype=", 8))
			o->subtype_given = 1;
		if (!fuse_knows(arg) && !o->bad_option)
			o->bad_option = strdup(arg);
		return 1; /* a FUSE option */
	case 'r':
		o->ro = 1;
		return o->login ? 0 : 1; /* also a mount option for the kernel */
	case 'h':
		o->help = 1;
		return 0;
	case 'V':
		o->version = 1;
		return 0;
	default:
		return 1;
	}
}

int options_parse(struct fuse_args *args, struct options *o, bool login)
{
	o->login = login;
	if (fuse_opt_parse(args, o, qopts, opt_proc) == -1)
		return -1;
	if (o->unknown) {
		const char *near = o->unknown[0] != '-' ? options_suggest(o->unknown) : NULL;
		fprintf(stderr, "qlikfs login: unexpected argument '%s'%s%s%s (see qlikfs login --help)\n",
			o->unknown, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		return -1;
	}
	if (o->bad_option && !o->help && !o->version) {
		const char *near = options_suggest(o->bad_option);
		char name[64];
		opt_name(o->bad_option, name, sizeof(name));
		if (near)
			fprintf(stderr, "qlikfs: unknown option -o %s (did you mean -o %s?)\n", name, near);
		else
			fprintf(stderr, "qlikfs: unknown option -o %s (see qlikfs --help)\n", name);
		return -1;
	}
	if (o->log_level && log_parse_level(o->log_level) < 0) {
		fprintf(stderr, "qlikfs: invalid -o log_level=%s: expected error, warn, info, debug "
				"or trace\n", o->log_level);
		return -1;
	}
	if (!login && (o->redirect_port || o->redirect_uri || o->url_file || o->login_timeout)) {
		fprintf(stderr, "qlikfs: redirect_port, redirect_uri, url_file and login_timeout "
				"are options of qlikfs login\n");
		return -1;
	}
	if (o->auth && strcmp(o->auth, "apikey") && strcmp(o->auth, "oauth")) {
		fprintf(stderr, "qlikfs: invalid -o auth=%s: expected apikey or oauth\n", o->auth);
		return -1;
	}
	return 0;
}

/* Parses a non-negative number with an optional K/M/G suffix, at most
 * NUM_MAX (so that seconds * 1000 and byte counts convert to integers
 * without overflow); "nan" and "inf" are refused. */
static int parse_num(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !(v >= 0)) /* !(v >= 0): also NaN */
		return -EINVAL;
	double mul = 1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	default:
		return -EINVAL;
	}
	if (*end || v * mul > NUM_MAX)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* Parses a whole decimal number in [0, max]. */
static int parse_uint(const char *s, unsigned long max, double *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -EINVAL;
	*out = (double)v;
	return 0;
}

/* Parses a 0|1 switch (default on). */
static int parse_switch(const char *s, bool *out)
{
	if (!s)
		return 0;
	if (strcmp(s, "0") && strcmp(s, "1"))
		return -EINVAL;
	*out = s[0] == '1';
	return 0;
}

/* The forms the numeric options expect, for their error messages. */
#define F_RATEWAIT "SECONDS from 0 to 86400 such as 600"
#define F_RELOADWAIT "SECONDS from 1 to 86400 such as 3600"
#define F_SECONDS "SECONDS, a number >= 0 such as 60 or 0.5"
#define F_BYTES "BYTES, a number >= 0 with an optional K, M or G suffix such as 256M"
#define F_ID "a whole number from 0 to 4294967294"
#define F_DAYS "DAYS, a number above 0 and at most 36500 such as 7 or 0.5 (-o notrash: no trash)"

/* Reports a bad value of -o name and returns -EINVAL. */
static int bad_opt(const char *name, const char *val, const char *form)
{
	fprintf(stderr, "qlikfs: invalid -o %s=%s: expected %s\n", name, val, form);
	return -EINVAL;
}

/* -o name=val as a number (K/M/G suffixes allowed) of at least min.
 * Returns 0 (*out unchanged when val is NULL) or -EINVAL after saying why. */
static int num_opt(const char *name, const char *val, double min, const char *form, double *out)
{
	double v;
	if (!val)
		return 0;
	if (parse_num(val, &v) || v < min)
		return bad_opt(name, val, form);
	*out = v;
	return 0;
}

/* -o name=val as a whole number in [min, max]. */
static int uint_opt(const char *name, const char *val, unsigned long min, unsigned long max,
		    const char *form, unsigned long *out)
{
	double v;
	if (!val)
		return 0;
	if (parse_uint(val, max, &v) || v < (double)min)
		return bad_opt(name, val, form);
	*out = (unsigned long)v;
	return 0;
}

/* -o name=0|1. */
static int switch_opt(const char *name, const char *val, bool *out)
{
	return parse_switch(val, out) ? bad_opt(name, val, "0 or 1") : 0;
}

int options_numbers(const struct options *o, struct mount_numbers *n)
{
	*n = (struct mount_numbers){ .ttl = 60, .neg_ttl = 5, .timeout = 30,
				     .size = 256.0 * 1024 * 1024,
				     .qvf_size = 2.0 * 1024 * 1024 * 1024, .transfer_timeout = 600,
				     .ratelimit_wait = 600, .delete_delay = 2, .walk_max = 600,
				     .reload_wait = 3600, .trash_days = 7,
				     .trash_qvf_max = 256.0 * 1024 * 1024,
				     .umask = 077 };
	unsigned long retries = 5, uid = getuid(), gid = getgid(), prefetch = 4,
		      view_nodes = 1024;
	if (num_opt("cache_ttl", o->cache_ttl, 0, F_SECONDS, &n->ttl) ||
	    num_opt("neg_ttl", o->neg_ttl, 0, F_SECONDS, &n->neg_ttl) ||
	    num_opt("timeout", o->timeout, 0.1, "SECONDS, a number >= 0.1 such as 30",
		    &n->timeout) ||
	    num_opt("cache_size", o->cache_size, 0, F_BYTES, &n->size) ||
	    num_opt("qvf_cache_size", o->qvf_cache_size, 0, F_BYTES, &n->qvf_size) ||
	    num_opt("transfer_timeout", o->transfer_timeout, 1,
		    "SECONDS, a number >= 1 such as 600", &n->transfer_timeout) ||
	    uint_opt("retries", o->retries, 1, 100, "a whole number from 1 to 100", &retries) ||
	    uint_opt("uid", o->uid, 0, 0xfffffffe, F_ID, &uid) ||
	    uint_opt("gid", o->gid, 0, 0xfffffffe, F_ID, &gid) ||
	    num_opt("ratelimit_wait", o->ratelimit_wait, 0, F_RATEWAIT, &n->ratelimit_wait) ||
	    num_opt("delete_delay", o->delete_delay, 0, F_SECONDS, &n->delete_delay) ||
	    num_opt("walk_max", o->walk_max, 0, F_SECONDS " (0: listings live cache_ttl)",
		    &n->walk_max) ||
	    uint_opt("prefetch", o->prefetch, 0, 32, "a whole number from 0 to 32", &prefetch) ||
	    uint_opt("view_nodes", o->view_nodes, 0, 1000000, "a whole number from 0 to 1000000",
		     &view_nodes) ||
	    num_opt("reload_wait", o->reload_wait, 1, F_RELOADWAIT, &n->reload_wait) ||
	    num_opt("trash_days", o->trash_days, 0, F_DAYS, &n->trash_days) ||
	    num_opt("trash_qvf_max", o->trash_qvf_max, 0, F_BYTES, &n->trash_qvf_max))
		return -EINVAL;
	if (o->trash_days && (n->trash_days <= 0 || n->trash_days > 36500))
		return bad_opt("trash_days", o->trash_days, F_DAYS);
	if (o->notrash)
		n->trash_days = 0;
	if (n->reload_wait > 86400) {
		fprintf(stderr, "qlikfs: invalid -o reload_wait=%s: expected %s\n", o->reload_wait,
			F_RELOADWAIT);
		return -EINVAL;
	}
	if (n->ratelimit_wait > 86400) {
		fprintf(stderr, "qlikfs: invalid -o ratelimit_wait=%s: expected %s\n", o->ratelimit_wait,
			F_RATEWAIT);
		return -EINVAL;
	}
	n->retries = (unsigned)retries;
	n->prefetch = (unsigned)prefetch;
	n->view_nodes = (unsigned)view_nodes;
	n->uid = (uid_t)uid;
	n->gid = (gid_t)gid;
	double poll_s = 60;
	unsigned long full_scan = 10;
	n->changes = (struct changes_opts){ .created = true, .updated = true, .deleted = true };
	if (num_opt("poll_interval", o->poll_interval, 0, F_SECONDS " (0: only on SIGUSR1)",
		    &poll_s) ||
	    uint_opt("changes_full_scan", o->changes_full_scan, 0, 1000000,
		     "a whole number from 0 to 1000000", &full_scan))
		return -EINVAL;
	n->changes.interval_ms = (int64_t)(poll_s * 1000);
	n->changes.full_scan_every = (unsigned)full_scan;
	if (switch_opt("changes_created", o->changes_created, &n->changes.created) ||
	    switch_opt("changes_updated", o->changes_updated, &n->changes.updated) ||
	    switch_opt("changes_deleted", o->changes_deleted, &n->changes.deleted))
		return -EINVAL;
	if (o->changes_types && changes_parse_types(o->changes_types, &n->changes.types))
		return bad_opt("changes_types", o->changes_types,
			       "a ':'-separated list of spaces, apps, data-files, data-stores, users");
	if (o->umask) {
		char *end;
		unsigned long m = strtoul(o->umask, &end, 8);
		n->umask = (mode_t)(m & 07777);
		if (*end || !*o->umask || m > 0777 || *o->umask == '-')
			return bad_opt("umask", o->umask, "an octal mask such as 077 or 022");
	}
	return 0;
}

long options_login_timeout(const struct options *o)
{
	double v = 300;
	if (o->login_timeout && (parse_uint(o->login_timeout, 86400, &v) || v < 1))
		return -EINVAL;
	return (long)v;
}

void options_free(struct options *o)
{
	char **strs[] = { &o->tenant, &o->auth, &o->api_key_file, &o->client_id,
			  &o->client_secret_file, &o->scopes, &o->authorize_url, &o->token_url,
			  &o->context, &o->state_dir, &o->cache_ttl, &o->cache_size, &o->neg_ttl,
			  &o->timeout, &o->retries, &o->ratelimit_wait, &o->delete_delay, &o->uid, &o->gid, &o->umask, &o->api_version,
			  &o->redirect_port, &o->redirect_uri, &o->url_file, &o->login_timeout,
			  &o->unknown, &o->cache_dir, &o->qvf_cache_size, &o->transfer_timeout,
			  &o->poll_interval, &o->changes_created, &o->changes_updated,
			  &o->changes_deleted, &o->changes_full_scan, &o->changes_types,
			  &o->log_file, &o->log_level, &o->walk_max, &o->prefetch, &o->view_nodes, &o->bad_option,
			  &o->reload_wait, &o->trash_days, &o->trash_qvf_max };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

static const char CREDENTIALS_HELP[] =
	"Credentials (never accepted on the command line):\n"
	"  API key       $QLIK_API_KEY, -o api_key_file=PATH, or a context's Authorization header\n"
	"  OAuth client  -o client_id=ID with the secret in $QLIK_CLIENT_SECRET,\n"
	"                -o client_secret_file=PATH (or - for standard input), or a context;\n"
	"                without a secret: the tokens of `qlikfs login`\n"
	"  Files holding a secret must not be readable by group or others (chmod 600).\n\n"
	"  -o auth=apikey|oauth     which (default: oauth when a client id is given)\n"
	"  -o client_id=ID          OAuth client id\n"
	"  -o client_secret_file=P  file holding the OAuth client secret; - = standard input\n"
	"  -o scopes=S+S            OAuth scopes (default user_default; login: user_default\n"
	"                           offline_access)\n"
	"  -o authorize_url=URL     default TENANT/oauth/authorize\n"
	"  -o token_url=URL         default TENANT/oauth/token\n"
	"  -o context=NAME          server and credentials from qlik-cli's contexts file\n"
	"                           (~/.qlik/contexts.yml or $QLIK_CLI_USER_HOME_DIR); an empty\n"
	"                           NAME means its current-context; TENANT may then be omitted\n"
	"  -o state_dir=DIR         where tokens and other state are kept (default\n"
	"                           $XDG_STATE_HOME/qlikfs/<tenant>/, else\n"
	"                           ~/.local/state/qlikfs/<tenant>/)\n";

void options_usage(const char *prog)
{
	printf("usage: %s [options] TENANT MOUNTPOINT\n"
	       "       %s -o context=NAME [options] MOUNTPOINT\n"
	       "       %s login [options] TENANT    (see %s login --help)\n\n"
	       "Mounts a Qlik Cloud tenant (or the bundled simulator) as directories and JSON files.\n\n"
	       "TENANT   a host (acme.us.qlikcloud.com), an https:// URL, or an http:// URL on a\n"
	       "         loopback address (the simulator)\n\n"
	       "%s\n"
	       "Mount options:\n"
	       "  -o cache_ttl=SECONDS   lifetime of listings, attributes and contents (default 60)\n"
	       "  -o cache_size=BYTES    memory bound of the content cache, suffix K/M/G (default 256M)\n"
	       "  -o neg_ttl=SECONDS     lifetime of \"no such file\" answers (default 5)\n"
	       "  -o walk_max=SECONDS    listings made during a walk of the tree stay fresh\n"
	       "                         while it lasts, at most this long (default 600;\n"
	       "                         0: cache_ttl only)\n"
	       "  -o prefetch=N          tenant-wide listings a walk lists side by side in\n"
	       "                         the background (default 4; 0: none)\n"
	       "  -o view_nodes=N        entries of scripts/, data-model/, lineage/ and .qvf/\n"
	       "                         kept in memory after their lookup (default 1024;\n"
	       "                         0: as long as the kernel keeps them)\n"
	       "  -o timeout=SECONDS     bound on one operation against the tenant, retries included (default 30)\n"
	       "  -o retries=N           attempts for 5xx/network failures (default 5)\n"
	       "  -o ratelimit_wait=SECONDS  bound on the time one operation waits out 429 rate\n"
	       "                         limits, on top of timeout (default 600; 0: within timeout)\n"
	       "  -o delete_delay=SECONDS rm of a resource file sends its DELETE this much later;\n"
	       "                         a create of the same name meanwhile (mv from another\n"
	       "                         filesystem) updates the resource instead (default 2; 0: at once)\n"
	       "  -o trash_days=DAYS     what a delete through the mount needs to be undone is kept\n"
	       "                         this long in STATE_DIR/trash, shown as .trash/ (default 7;\n"
	       "                         `mv .trash/ENTRY DIR/` restores it)\n"
	       "  -o trash_qvf_max=BYTES the largest app export the trash keeps (default 256M)\n"
	       "  -o trash_required      refuse a delete whose copy the trash cannot keep\n"
	       "  -o notrash             keep nothing: deletes cannot be undone\n"
	       "  -o uid=N,gid=N,umask=M owner and permission mask of every file (default: the\n"
	       "                         mounting user, umask 077: files 0600, directories 0700)\n"
	       "  -o api_version=V       send qlik-api-version: V (default: not sent)\n"
	       "  -o ro                  read-only mount\n"
	       "  -o dry_run             send no request that would change the tenant: record it\n"
	       "                         in STATE_DIR/restore/report.jsonl (the write fails: EROFS)\n"
	       "  -o noscripts           no scripts/ (each app's load script as NAME.qvs),\n"
	       "                         data-model/ and lineage/ directories\n"
	       "  -o reload_wait=SECONDS bound on a read of reloads/ID/wait (default 3600, at most 86400)\n"
	       "  -o noqvf               no Name (id).qvf export beside each app file\n"
	       "  -o qvf_nodata          .qvf exports without data (objects only)\n"
	       "  -o qvf_cache_size=BYTES on-disk bound of the .qvf export cache (default 2G)\n"
	       "  -o cache_dir=DIR       where exports and upload buffers go (default\n"
	       "                         $XDG_CACHE_HOME/qlikfs/<tenant>, else ~/.cache/qlikfs/<tenant>)\n"
	       "  -o transfer_timeout=SECONDS  bound on one export, upload or import (default 600)\n"
	       "  -o poll_interval=SECONDS  changes/: poll the tenant for new, updated and deleted\n"
	       "                         records every SECONDS (default 60; 0: only on SIGUSR1)\n"
	       "  -o changes_created=0|1, changes_updated=0|1, changes_deleted=0|1\n"
	       "                         which lists changes/ files show (default 1 each)\n"
	       "  -o changes_full_scan=N apps, data files, data stores: a complete scan (deletions)\n"
	       "                         every Nth poll (default 10; 0 never; 1 every poll)\n"
	       "  -o changes_types=LIST  types polled, ':'-separated (default\n"
	       "                         spaces:apps:data-files:data-stores:users)\n"
	       "  -o log_file=PATH       append the log to PATH (reopened on SIGHUP); default:\n"
	       "                         standard error with -f (journald priorities under\n"
	       "                         systemd), else syslog, else STATE_DIR/qlikfs.log\n"
	       "  -o log_level=LEVEL     error, warn, info (default), debug, or trace: one line per\n"
	       "                         HTTP request (method, path, status, bytes, ms, retry)\n"
	       "  -o fsname=NAME         the source that df and mount show (default: the tenant host)\n"
	       "  -f / -d / -s           foreground / debug (implies -f) / single-threaded\n"
	       "  -o allow_other ...     the usual FUSE mount options\n"
	       "  -h, --help / -V, --version\n\n"
	       "From fstab: TENANT MOUNTPOINT fuse.qlikfs _netdev,nofail,OPTIONS 0 0 (mount.fuse3 runs\n"
	       "qlikfs; fstab-only options are ignored).  Under systemd, run with -f in a Type=notify\n"
	       "unit: qlikfs reports READY=1 once mounted.\n"
	       "SIGHUP drops every cache; SIGUSR1 polls changes/ now.\n"
	       "Unmount with: fusermount3 -u MOUNTPOINT\n",
	       prog, prog, prog, prog, CREDENTIALS_HELP);
}

void options_login_usage(const char *prog)
{
	printf("usage: %s login [options] TENANT\n"
	       "       %s login -o context=NAME [options]\n\n"
	       "Logs in to TENANT with OAuth (authorization code with PKCE): prints a URL to open\n"
	       "in a browser, receives the answer on a loopback address, and stores the tokens\n"
	       "(0600) in the state directory, where later mounts with the same client id find\n"
	       "and refresh them.\n\n"
	       "%s\n"
	       "Login options:\n"
	       "  -o redirect_port=N       receive the redirect on http://127.0.0.1:N/\n"
	       "                           (default: a free port)\n"
	       "  -o redirect_uri=URL      receive it on this http://127.0.0.1:PORT/PATH (or\n"
	       "                           localhost, [::1]) registered with the client\n"
	       "  -o url_file=PATH         also write the URL to open to PATH (mode 0600)\n"
	       "  -o login_timeout=SECONDS how long to wait for the browser (default 300)\n"
	       "  -o timeout=SECONDS       bound on each request to the tenant (default 30)\n",
	       prog, prog, CREDENTIALS_HELP);
}
