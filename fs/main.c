/*
 * main.c - qlikfs [options] TENANT MOUNTPOINT
 *
 * Options, credentials, wiring, and the only process-wide state (the
 * invalidation worker the SIGHUP handler talks to).  The API key comes from
 * QLIK_API_KEY or -o api_key_file=PATH (refused when group/other may read
 * it); it is never accepted on the command line.  The credentials are checked
 * with GET /api/v1/users/me before mounting.  Teardown is a reverse goto
 * ladder.
 */
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cache.h"
#include "changes.h"
#include "fuse_ops.h"
#include "http_curl.h"
#include "inval.h"
#include "log.h"
#include "ns.h"
#include "qclient.h"
#include "statedir.h"
#include "url.h"

#define KEY_MAX 16384

struct options {
	char *tenant;
	char *mountpoint_seen;
	char *api_key_file;
	char *cache_ttl;
	char *cache_size;
	char *neg_ttl;
	char *timeout;
	char *retries;
	char *uid, *gid, *umask;
	char *api_version;
	char *state_dir;
	char *poll_interval;
	char *changes_created, *changes_updated, *changes_deleted;
	char *changes_full_scan, *changes_types;
	int ro;
	int help;
	int version;
	int nonopt;
};

#define OPT(t, p) { t, offsetof(struct options, p), 1 }
static const struct fuse_opt qopts[] = {
	OPT("api_key_file=%s", api_key_file),
	OPT("cache_ttl=%s", cache_ttl),
	OPT("cache_size=%s", cache_size),
	OPT("neg_ttl=%s", neg_ttl),
	OPT("timeout=%s", timeout),
	OPT("retries=%s", retries),
	OPT("uid=%s", uid),
	OPT("gid=%s", gid),
	OPT("umask=%s", umask),
	OPT("api_version=%s", api_version),
	OPT("state_dir=%s", state_dir),
	OPT("poll_interval=%s", poll_interval),
	OPT("changes_created=%s", changes_created),
	OPT("changes_updated=%s", changes_updated),
	OPT("changes_deleted=%s", changes_deleted),
	OPT("changes_full_scan=%s", changes_full_scan),
	OPT("changes_types=%s", changes_types),
	FUSE_OPT_KEY("ro", 'r'),
	FUSE_OPT_KEY("-h", 'h'),
	FUSE_OPT_KEY("--help", 'h'),
	FUSE_OPT_KEY("-V", 'V'),
	FUSE_OPT_KEY("--version", 'V'),
	FUSE_OPT_END
};

static struct inval *g_inval;     /* for the SIGHUP handler */
static struct changes *g_changes; /* for the SIGUSR1 handler */

static void usage(const char *prog)
{
	printf("usage: %s [options] TENANT MOUNTPOINT\n\n"
	       "Mounts a Qlik Cloud tenant (or the bundled simulator) as directories and JSON files.\n\n"
	       "TENANT   a host (acme.us.qlikcloud.com), an https:// URL, or an http:// URL on a\n"
	       "         loopback address (the simulator)\n\n"
	       "Credentials: the API key is read from the environment variable QLIK_API_KEY or\n"
	       "from -o api_key_file=PATH (mode 0600 or stricter); never from the command line.\n\n"
	       "qlikfs options:\n"
	       "  -o api_key_file=PATH   file holding the API key\n"
	       "  -o cache_ttl=SECONDS   lifetime of listings, attributes and contents (default 60)\n"
	       "  -o cache_size=BYTES    memory bound of the content cache, suffix K/M/G (default 256M)\n"
	       "  -o neg_ttl=SECONDS     lifetime of \"no such file\" answers (default 5)\n"
	       "  -o timeout=SECONDS     bound on one operation against the tenant, retries included (default 30)\n"
	       "  -o retries=N           attempts for 429/5xx/network failures (default 5)\n"
	       "  -o uid=N,gid=N,umask=M owner and permission mask of every file (default: the\n"
	       "                         mounting user, umask 077: files 0600, directories 0700)\n"
	       "  -o api_version=V       send qlik-api-version: V (default: not sent)\n"
	       "  -o state_dir=DIR       where state outside the mount is kept (default\n"
	       "                         $XDG_STATE_HOME/qlikfs/<tenant>/, else ~/.local/state/qlikfs/<tenant>/)\n"
	       "  -o poll_interval=SECONDS  changes/: poll the tenant for new, updated and deleted\n"
	       "                         records every SECONDS (default 60; 0: only on SIGUSR1)\n"
	       "  -o changes_created=0|1, changes_updated=0|1, changes_deleted=0|1\n"
	       "                         which lists changes/ files show (default 1 each)\n"
	       "  -o changes_full_scan=N apps, data files, data stores: a complete scan (deletions)\n"
	       "                         every Nth poll (default 10; 0 never; 1 every poll)\n"
	       "  -o changes_types=LIST  types polled, ':'-separated (default\n"
	       "                         spaces:users:apps:data-files:data-stores)\n"
	       "  -o ro                  read-only mount\n"
	       "  -f / -d / -s           foreground / debug (implies -f) / single-threaded\n"
	       "  -o allow_other ...     the usual FUSE mount options\n"
	       "  -h, --help / -V, --version\n\n"
	       "SIGHUP drops every cache; SIGUSR1 polls changes/ now.\n"
	       "Unmount with: fusermount3 -u MOUNTPOINT\n",
	       prog);
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
		return 1; /* the mountpoint: kept for fuse_parse_cmdline */
	case 'r':
		o->ro = 1;
		return 1; /* also a mount option for the kernel */
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

/* Parses a non-negative number with an optional K/M/G suffix. */
static int parse_num(const char *s, double scale_default, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	double mul = scale_default;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	default:
		return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* Reads the API key: -o api_key_file or $QLIK_API_KEY.  Returns a malloc'd
 * key or NULL after printing why. */
static char *read_api_key(const char *path)
{
	char *key = NULL;
	if (path) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			fprintf(stderr, "qlikfs: cannot open api_key_file %s: %s\n", path,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		if (st.st_mode & 077) {
			fprintf(stderr,
				"qlikfs: api_key_file %s is readable by group or others (mode %04o); "
				"run: chmod 600 %s\n",
				path, (unsigned)(st.st_mode & 07777), path);
			close(fd);
			return NULL;
		}
		key = calloc(1, KEY_MAX);
		ssize_t n = key ? read(fd, key, KEY_MAX - 1) : -1;
		close(fd);
		if (n < 0) {
			fprintf(stderr, "qlikfs: cannot read api_key_file %s\n", path);
			free(key);
			return NULL;
		}
	} else {
		const char *env = getenv("QLIK_API_KEY");
		if (!env || !*env) {
			fprintf(stderr, "qlikfs: no API key: set QLIK_API_KEY or use "
					"-o api_key_file=PATH (see qlikfs --help)\n");
			return NULL;
		}
		key = strdup(env);
		/* Wipe it where /proc/PID/environ shows it, and keep it out of the
		 * environment of anything we start. */
		explicit_bzero((char *)env, strlen(env));
		unsetenv("QLIK_API_KEY");
	}
	if (!key)
		return NULL;
	size_t len = strcspn(key, "\r\n");
	key[len] = '\0';
	while (len && (key[len - 1] == ' ' || key[len - 1] == '\t'))
		key[--len] = '\0';
	char *start = key;
	while (*start == ' ' || *start == '\t')
		start++;
	if (!*start) {
		fprintf(stderr, "qlikfs: the API key is empty\n");
		free(key);
		return NULL;
	}
	char *k = strdup(start);
	explicit_bzero(key, strlen(key));
	free(key);
	return k;
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

static void on_sighup(int sig)
{
	(void)sig;
	inval_sighup(g_inval);
}

static void on_sigusr1(int sig)
{
	(void)sig;
	changes_trigger(g_changes);
}

/* The change poller's callbacks (arg: struct qfs, whose ns is set before the
 * poller starts): invalidations in the namespace, and the log. */
static void chg_changed(void *arg, enum rkind kind, const char *const *ids, size_t n)
{
	ns_note_changed(((struct qfs *)arg)->ns, kind, ids, n);
}

static void chg_written(void *arg, const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "changes/%s", rel);
	ns_local_note_written(((struct qfs *)arg)->ns, path);
}

static void chg_error(void *arg, const char *type, int rc, const char *msg)
{
	(void)arg;
	log_warn("changes/%s: poll failed: %s (%s)", type, msg && msg[0] ? msg : "error",
		 strerror(-rc));
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

static void free_options(struct options *o)
{
	char **strs[] = { &o->tenant, &o->api_key_file, &o->cache_ttl, &o->cache_size,
			  &o->neg_ttl, &o->timeout, &o->retries, &o->uid, &o->gid, &o->umask,
			  &o->api_version, &o->state_dir, &o->poll_interval, &o->changes_created,
			  &o->changes_updated, &o->changes_deleted, &o->changes_full_scan,
			  &o->changes_types };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fo = { 0 };
	struct options o = { 0 };
	struct qfs q = { 0 };
	char *base = NULL, *key = NULL, *sdir = NULL;
	struct http_transport *tr = NULL;
	struct qauth *auth = NULL;
	struct qclient *qc = NULL;
	struct cache *cache = NULL;
	struct fuse_session *se = NULL;
	struct ns *ns = NULL;
	int ret = 1, rc;
	double ttl = 60, neg_ttl = 5, timeout = 30, size = 256.0 * 1024 * 1024, retries = 5;
	double poll_s = 60, full_scan = 10;
	struct changes_opts cho = { .created = true, .updated = true, .deleted = true };
	double uid = getuid(), gid = getgid(), umask_v = 077;

	if (fuse_opt_parse(&args, &o, qopts, opt_proc) == -1)
		goto out_args;
	if (o.help) {
		usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (o.version) {
		printf("qlikfs %s (libfuse %s)\n", QLIKFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &fo) != 0)
		goto out_args;
	if (!o.tenant || !fo.mountpoint) {
		fprintf(stderr, "usage: %s [options] TENANT MOUNTPOINT (see --help)\n", argv[0]);
		goto out_cmdline;
	}
	if ((o.cache_ttl && parse_num(o.cache_ttl, 1, &ttl)) ||
	    (o.neg_ttl && parse_num(o.neg_ttl, 1, &neg_ttl)) ||
	    (o.timeout && (parse_num(o.timeout, 1, &timeout) || timeout < 0.1)) ||
	    (o.cache_size && parse_num(o.cache_size, 1, &size)) ||
	    (o.retries && (parse_uint(o.retries, 100, &retries) || retries < 1)) ||
	    (o.uid && parse_uint(o.uid, 0xfffffffe, &uid)) ||
	    (o.gid && parse_uint(o.gid, 0xfffffffe, &gid)) ||
	    (o.poll_interval && parse_num(o.poll_interval, 1, &poll_s)) ||
	    (o.changes_full_scan && parse_uint(o.changes_full_scan, 1000000, &full_scan))) {
		fprintf(stderr, "qlikfs: invalid number in -o options (see --help)\n");
		goto out_cmdline;
	}
	if (parse_switch(o.changes_created, &cho.created) ||
	    parse_switch(o.changes_updated, &cho.updated) ||
	    parse_switch(o.changes_deleted, &cho.deleted) ||
	    (o.changes_types && changes_parse_types(o.changes_types, &cho.types))) {
		fprintf(stderr, "qlikfs: invalid changes_* option: switches are 0 or 1; types are a "
				"':'-separated list of spaces, users, apps, data-files, data-stores\n");
		goto out_cmdline;
	}
	if (o.umask) {
		char *end;
		umask_v = (double)strtoul(o.umask, &end, 8);
		if (*end || umask_v > 0777) {
			fprintf(stderr, "qlikfs: invalid umask '%s' (octal, e.g. 077)\n", o.umask);
			goto out_cmdline;
		}
	}
	rc = url_parse_tenant(o.tenant, &base);
	if (rc) {
		fprintf(stderr, "qlikfs: invalid TENANT '%s': %s\n", o.tenant,
			rc == -EPERM ? "plain http:// is only allowed to a loopback address "
				       "(use https://)"
				     : "expected a host name, https://host or http://127.0.0.1:PORT");
		goto out_cmdline;
	}
	if ((rc = statedir_resolve(o.state_dir, base, &sdir))) {
		fprintf(stderr, "qlikfs: cannot create the state directory%s%s: %s\n",
			o.state_dir ? " " : "", o.state_dir ? o.state_dir : "", strerror(-rc));
		goto out_base;
	}
	if (!(key = read_api_key(o.api_key_file)))
		goto out_base;
	log_init(false, fo.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	struct http_curl_opts co = { .connect_timeout_ms = 10000,
				     .default_timeout_ms = (long)(timeout * 1000) };
	tr = http_curl_new(&co);
	auth = auth_apikey_new(key);
	explicit_bzero(key, strlen(key));
	if (!tr || !auth) {
		fprintf(stderr, "qlikfs: out of memory\n");
		goto out_key;
	}
	struct qclient_opts qo = {
		.base = base, .transport = tr, .auth = auth,
		.timeout_ms = (long)(timeout * 1000), .max_attempts = (int)retries,
		.api_version = o.api_version,
	};
	if (!(qc = qclient_new(&qo)))
		goto out_key;

	/* Fail fast instead of mounting a broken filesystem. */
	char err[512] = "";
	cJSON *me = NULL;
	rc = qclient_get_json(qc, "/api/v1/users/me", &me, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "qlikfs: cannot use tenant %s: %s\n", base, err);
		if (rc == -EACCES)
			fprintf(stderr, "qlikfs: the API key was rejected: check that it is valid, "
					"not expired, and that API keys are enabled on the tenant\n");
		goto out_key;
	}
	cJSON_Delete(me);

	cho.client = qc;
	cho.state_dir = sdir;
	cho.interval_ms = (int64_t)(poll_s * 1000);
	cho.full_scan_every = (unsigned)full_scan;
	cho.on_changed = chg_changed;
	cho.on_written = chg_written;
	cho.on_error = chg_error;
	cho.arg = &q;
	if ((rc = changes_new(&cho, &g_changes, err, sizeof(err)))) {
		fprintf(stderr, "qlikfs: changes/: %s\n", err);
		goto out_key;
	}
	/* early: a SIGUSR1 sent as soon as the mount shows must not kill us; a
	 * poll asked for before the poller runs waits in its pipe */
	struct sigaction usr1 = { .sa_handler = on_sigusr1 };
	sigemptyset(&usr1.sa_mask);
	usr1.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &usr1, NULL);
	if (!(cache = cache_new((size_t)size, NULL)))
		goto out_key;
	q.ttl_s = ttl;
	q.neg_ttl_s = neg_ttl;
	q.read_only = o.ro;
	se = fuse_session_new(&args, &qfs_ops, sizeof(qfs_ops), &q);
	if (!se)
		goto out_cache;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, fo.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(fo.foreground);
	if (!fo.foreground)
		log_init(true, fo.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	if (!(g_inval = inval_start(se)))
		goto out_unmount;
	struct ns_opts no = {
		.client = qc, .cache = cache,
		.ttl_ms = (int64_t)(ttl * 1000), .neg_ttl_ms = (int64_t)(neg_ttl * 1000),
		.uid = (uid_t)uid, .gid = (gid_t)gid, .umask = (mode_t)umask_v,
		.read_only = o.ro,
		.inval = { inval_entry_cb, inval_inode_cb, g_inval },
	};
	if (!(ns = ns_new(&no)))
		goto out_inval;
	q.ns = ns;
	inval_set_ns(g_inval, ns);
	char cdir[4096];
	snprintf(cdir, sizeof(cdir), "%s/changes", sdir);
	if (ns_local_add(ns, "changes", cdir) || changes_start(g_changes)) {
		log_error("cannot start the change poller");
		goto out_ns;
	}
	struct sigaction sa = { .sa_handler = on_sighup };
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);

	log_info("mounted %s on %s", base, fo.mountpoint);
	if (fo.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(lc, fo.clone_fd);
		fuse_loop_cfg_set_max_threads(lc, fo.max_threads ? fo.max_threads : 16);
		ret = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	ret = ret ? 1 : 0;
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);

	changes_free(g_changes); /* before the invalidations it feeds stop */
	g_changes = NULL;
	inval_stop(g_inval);
	g_inval = NULL;
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	ns_free(ns);
	se = NULL;
	goto out_cache;

out_ns:
	ns_free(ns);
out_inval:
	inval_stop(g_inval);
	g_inval = NULL;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_cache:
	cache_free(cache);
out_key:
	signal(SIGUSR1, SIG_IGN);
	changes_free(g_changes);
	g_changes = NULL;
	qclient_free(qc);
	auth_free(auth);
	http_transport_free(tr);
	free(key);
out_base:
	free(sdir);
	free(base);
out_cmdline:
	free(fo.mountpoint);
out_args:
	free_options(&o);
	fuse_opt_free_args(&args);
	return ret;
}
