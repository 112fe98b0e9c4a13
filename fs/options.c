/*
 * options.c - see options.h.  Options that mount(8) and mount.fuse3 may pass
 * from an fstab line and that mean nothing to qlikfs (_netdev, nofail, noauto,
 * user, x-systemd.*, ...) are accepted and dropped.  Not thread-safe (runs
 * before any thread starts).
 */
#include "options.h"

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
	OPT("uid=%s", uid),
	OPT("gid=%s", gid),
	OPT("umask=%s", umask),
	OPT("api_version=%s", api_version),
	OPT("redirect_port=%s", redirect_port),
	OPT("redirect_uri=%s", redirect_uri),
	OPT("url_file=%s", url_file),
	OPT("login_timeout=%s", login_timeout),
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
		fprintf(stderr, "qlikfs login: unexpected argument '%s' (see qlikfs login --help)\n",
			o->unknown);
		return -1;
	}
	if (!login && (o->redirect_port || o->redirect_uri || o->url_file || o->login_timeout)) {
		fprintf(stderr, "qlikfs: redirect_port, redirect_uri, url_file and login_timeout "
				"are options of qlikfs login\n");
		return -1;
	}
	if (o->auth && strcmp(o->auth, "apikey") && strcmp(o->auth, "oauth")) {
		fprintf(stderr, "qlikfs: invalid auth '%s' (apikey or oauth)\n", o->auth);
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

int options_numbers(const struct options *o, struct mount_numbers *n)
{
	*n = (struct mount_numbers){ .ttl = 60, .neg_ttl = 5, .timeout = 30,
				     .size = 256.0 * 1024 * 1024, .retries = 5,
				     .qvf_size = 2.0 * 1024 * 1024 * 1024, .transfer_timeout = 600,
				     .uid = getuid(), .gid = getgid(), .umask = 077 };
	if ((o->cache_ttl && parse_num(o->cache_ttl, &n->ttl)) ||
	    (o->neg_ttl && parse_num(o->neg_ttl, &n->neg_ttl)) ||
	    (o->timeout && (parse_num(o->timeout, &n->timeout) || n->timeout < 0.1)) ||
	    (o->cache_size && parse_num(o->cache_size, &n->size)) ||
	    (o->qvf_cache_size && parse_num(o->qvf_cache_size, &n->qvf_size)) ||
	    (o->transfer_timeout &&
	     (parse_num(o->transfer_timeout, &n->transfer_timeout) || n->transfer_timeout < 1)) ||
	    (o->retries && (parse_uint(o->retries, 100, &n->retries) || n->retries < 1)) ||
	    (o->uid && parse_uint(o->uid, 0xfffffffe, &n->uid)) ||
	    (o->gid && parse_uint(o->gid, 0xfffffffe, &n->gid))) {
		fprintf(stderr, "qlikfs: invalid number in -o options (see --help)\n");
		return -EINVAL;
	}
	double poll_s = 60, full_scan = 10;
	n->changes = (struct changes_opts){ .created = true, .updated = true, .deleted = true };
	if ((o->poll_interval && parse_num(o->poll_interval, &poll_s)) ||
	    (o->changes_full_scan && parse_uint(o->changes_full_scan, 1000000, &full_scan))) {
		fprintf(stderr, "qlikfs: invalid number in -o options (see --help)\n");
		return -EINVAL;
	}
	n->changes.interval_ms = (int64_t)(poll_s * 1000);
	n->changes.full_scan_every = (unsigned)full_scan;
	if (parse_switch(o->changes_created, &n->changes.created) ||
	    parse_switch(o->changes_updated, &n->changes.updated) ||
	    parse_switch(o->changes_deleted, &n->changes.deleted) ||
	    (o->changes_types && changes_parse_types(o->changes_types, &n->changes.types))) {
		fprintf(stderr, "qlikfs: invalid changes_* option: switches are 0 or 1; types are a "
				"':'-separated list of spaces, users, apps, data-files, data-stores\n");
		return -EINVAL;
	}
	if (o->umask) {
		char *end;
		n->umask = (double)strtoul(o->umask, &end, 8);
		if (*end || !*o->umask || n->umask > 0777) {
			fprintf(stderr, "qlikfs: invalid umask '%s' (octal, e.g. 077)\n", o->umask);
			return -EINVAL;
		}
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
			  &o->timeout, &o->retries, &o->uid, &o->gid, &o->umask, &o->api_version,
			  &o->redirect_port, &o->redirect_uri, &o->url_file, &o->login_timeout,
			  &o->unknown, &o->cache_dir, &o->qvf_cache_size, &o->transfer_timeout,
			  &o->poll_interval, &o->changes_created, &o->changes_updated,
			  &o->changes_deleted, &o->changes_full_scan, &o->changes_types };
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
	       "  -o timeout=SECONDS     bound on one operation against the tenant, retries included (default 30)\n"
	       "  -o retries=N           attempts for 429/5xx/network failures (default 5)\n"
	       "  -o uid=N,gid=N,umask=M owner and permission mask of every file (default: the\n"
	       "                         mounting user, umask 077: files 0600, directories 0700)\n"
	       "  -o api_version=V       send qlik-api-version: V (default: not sent)\n"
	       "  -o ro                  read-only mount\n"
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
	       "                         spaces:users:apps:data-files:data-stores)\n"
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
