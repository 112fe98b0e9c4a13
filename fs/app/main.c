/*
 * main.c - qlikfs [options] [TENANT] MOUNTPOINT, and `qlikfs login ...`.
 *
 * Wiring and the only process-wide state (the invalidation worker the SIGHUP
 * handler talks to).  Options are parsed in options.c, the tenant and the
 * credentials are resolved in creds.c (never from the command line), and the
 * credentials are checked with GET /api/v1/users/me before mounting.  Once
 * the mount is live, systemd is told READY=1 (sdnotify.c).  Teardown is a
 * reverse goto ladder.
 */
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/auth.h"
#include "cache.h"
#include "changes/changes.h"
#include "app/creds.h"
#include "fuse/fuse_ops.h"
#include "http/http_curl.h"
#include "http/http_fault.h"
#include "http/http_obs.h"
#include "fuse/inval.h"
#include "util/log.h"
#include "app/login.h"
#include "ns/ns.h"
#include "app/options.h"
#include "client/qclient.h"
#include "actions/qvf.h"
#include "util/statedir.h"
#include "actions/upload.h"
#include "app/sdnotify.h"

static struct inval *g_inval;     /* for the SIGHUP handler */
static struct changes *g_changes; /* for the SIGUSR1 handler */

static void on_sighup(int sig)
{
	(void)sig;
	log_reopen(); /* -o log_file after rotation */
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

/* Is path already a mount point (/proc/self/mountinfo's fifth field, with
 * its octal escapes)?  Fills what with the mounted source and type. */
static bool mount_busy(const char *path, char *what, size_t n)
{
	char real[4096], line[8192];
	bool busy = false;
	if (!realpath(path, real))
		return false; /* fuse_session_mount will say why */
	FILE *f = fopen("/proc/self/mountinfo", "re");
	while (f && !busy && fgets(line, sizeof(line), f)) {
		char mp[4096], type[256] = "", src[1024] = "";
		size_t o = 0;
		char *p = line;
		for (int field = 0; field < 4 && p; field++)
			p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
		for (; p && *p && *p != ' ' && o + 1 < sizeof(mp); p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
				mp[o++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 3;
			} else {
				mp[o++] = *p;
			}
		}
		mp[o] = '\0';
		if (!p || strcmp(mp, real))
			continue;
		busy = true;
		char *dash = strstr(p, " - ");
		if (dash)
			sscanf(dash + 3, "%255s %1023s", type, src);
		snprintf(what, n, "%s on %s type %s", src, real, type);
	}
	if (f)
		fclose(f);
	return busy;
}

/* The tenant's host (and port) from its base URL: the default fsname. */
static void tenant_host(const char *base, char *out, size_t n)
{
	const char *h = strstr(base, "://");
	h = h ? h + 3 : base;
	size_t l = strcspn(h, "/?#,");
	snprintf(out, n, "%.*s", (int)l, h);
}

/* The failed credential check, with what to do about it. */
static void explain_check_failure(const struct creds *c, int rc, const char *err)
{
	fprintf(stderr, "qlikfs: cannot use tenant %s: %s\n", c->base, err);
	if (rc != -EACCES)
		return;
	if (c->kind == AUTH_APIKEY)
		fprintf(stderr, "qlikfs: the API key was rejected: check that it is valid, "
				"not expired, and that API keys are enabled on the tenant\n");
	else
		fprintf(stderr, "qlikfs: OAuth authentication failed for client %s\n", c->client_id);
}

/* Everything a mount holds, in the order it is made; stop() undoes what
 * start-up made, whatever phase it reached. */
struct app {
	struct fuse_args args;
	struct fuse_cmdline_opts fo;
	struct options o;
	struct mount_numbers nums;
	enum log_level lvl;
	struct creds cr;
	struct qfs q;
	struct http_transport *tr;
	struct qauth *auth;
	struct qclient *qc;
	cJSON *me;
	struct cache *cache;
	struct qvf_cache *qvf;
	struct upload *upl;
	char *cdir, *qdir, *tdir;
	struct fuse_session *se;
	bool signals, mounted;
	struct ns *ns;
	char err[768];
};

/* Options and the command line.  0: go on; 1: done (help, version); -1. */
static int parse_args(struct app *a, char *prog)
{
	if (options_parse(&a->args, &a->o, false))
		return -1;
	if (a->o.help || a->o.version) {
		if (a->o.help)
			options_usage(prog);
		else
			printf("qlikfs %s (libfuse %s)\n", QLIKFS_VERSION, fuse_pkgversion());
		return 1;
	}
	if (a->o.context && a->o.nonopt == 1) {
		/* qlikfs -o context=NAME MOUNTPOINT: the one argument is the mountpoint */
		fuse_opt_add_arg(&a->args, a->o.tenant);
		free(a->o.tenant);
		a->o.tenant = NULL;
	}
	/* The kernel checks every caller against the modes we report: with
	 * allow_other, another local user gets what the modes (umask, uid,
	 * gid) give, never the owner's tenant access by default. */
	if (fuse_opt_add_arg(&a->args, "-odefault_permissions") != 0 ||
	    fuse_parse_cmdline(&a->args, &a->fo) != 0)
		return -1;
	if ((!a->o.tenant && !a->o.context) || !a->fo.mountpoint) {
		fprintf(stderr, "usage: %s [options] TENANT MOUNTPOINT (see --help)\n", prog);
		return -1;
	}
	return options_numbers(&a->o, &a->nums) ? -1 : 0;
}

/* The log, the mountpoint, the tenant and its credentials. */
static int prepare(struct app *a)
{
	int rc;
	a->lvl = a->o.log_level ? (enum log_level)log_parse_level(a->o.log_level) : LOG_LVL_INFO;
	if (a->fo.debug && a->lvl < LOG_LVL_DEBUG)
		a->lvl = LOG_LVL_DEBUG;
	log_init(false, a->lvl);
	if (a->o.log_file && (rc = log_open_file(a->o.log_file))) {
		fprintf(stderr, "qlikfs: cannot open -o log_file=%s: %s\n", a->o.log_file,
			strerror(-rc));
		return -1;
	}
	char busy[8192];
	if (mount_busy(a->fo.mountpoint, busy, sizeof(busy))) {
		fprintf(stderr, "qlikfs: %s is already a mount point (%s); unmount it first "
				"(fusermount3 -u %s) or choose another directory\n",
			a->fo.mountpoint, busy, a->fo.mountpoint);
		return -1;
	}
	if (creds_resolve(&a->o, false, &a->cr, a->err, sizeof(a->err))) {
		fprintf(stderr, "qlikfs: %s\n", a->err);
		return -1;
	}
	/* df and mount name the tenant */
	if (!a->o.fsname_given) {
		char host[512], fsopt[600];
		tenant_host(a->cr.base, host, sizeof(host));
		snprintf(fsopt, sizeof(fsopt), "-ofsname=%s", host);
		fuse_opt_add_arg(&a->args, fsopt);
	}
	if (!a->o.subtype_given)
		fuse_opt_add_arg(&a->args, "-osubtype=qlikfs");
	/* temporary files a killed qlikfs left between write and rename */
	if ((rc = statedir_sweep_tmp(a->cr.state_dir)) > 0)
		log_info("removed %d temporary file%s left in %s by a killed qlikfs", rc,
			 rc == 1 ? "" : "s", a->cr.state_dir);
	return 0;
}

/* -o dry_run: a request the mount would have sent, as a line of the
 * restore report (STATE_DIR/restore/report.jsonl; its body when JSON). */
static void dry_record(void *arg, const char *method, const char *url, const char *body,
		       size_t len)
{
	const struct app *a = arg;
	char path[4200];
	const char *base = a->cr.base, *p = url;
	if (base && !strncmp(url, base, strlen(base)))
		p = url + strlen(base);
	cJSON *o, *b;
	if (statedir_mkdir(a->cr.state_dir, "restore") || !(o = statedir_report_new("would-send")))
		return;
	snprintf(path, sizeof(path), "%s/restore/report.jsonl", a->cr.state_dir);
	b = body ? cJSON_ParseWithLength(body, len) : NULL;
	cJSON_AddStringToObject(o, "method", method);
	cJSON_AddStringToObject(o, "path", p);
	if (b)
		cJSON_AddItemToObject(o, "body", b);
	else if (len)
		cJSON_AddNumberToObject(o, "bodyBytes", (double)len);
	if (statedir_report_append(path, o, STATEDIR_REPORT_MAX))
		log_warn("dry run: cannot write %s", path);
}

/* The transport, the credentials' provider, the client, and the check that
 * they work (GET /users/me, whose answer is me.json's first content). */
static int connect_tenant(struct app *a)
{
	int rc;
	long timeout_ms = (long)(a->nums.timeout * 1000);
	struct http_curl_opts co = { .connect_timeout_ms = 10000, .default_timeout_ms = timeout_ms };
	/* every request is counted for .status.json (and traced at -o log_level=trace) */
	if (!(a->tr = http_curl_new(&co)) || !(a->tr = http_obs_new(a->tr))) {
		fprintf(stderr, "qlikfs: out of memory\n");
		return -1;
	}
	/* tests only: faults injected into the transport ($QLIKFS_FAULT, http_fault.h) */
	if (http_fault_from_env(&a->tr, a->err, sizeof(a->err))) {
		fprintf(stderr, "qlikfs: $QLIKFS_FAULT: %s\n", a->err);
		return -1;
	}
	if ((rc = creds_auth(&a->cr, a->tr, timeout_ms, &a->auth, a->err, sizeof(a->err)))) {
		fprintf(stderr, "qlikfs: %s\n", rc == -ENOMEM ? "out of memory" : a->err);
		return -1;
	}
	struct qclient_opts qo = {
		.base = a->cr.base, .transport = a->tr, .auth = a->auth,
		.timeout_ms = timeout_ms, .max_attempts = (int)a->nums.retries,
		.ratelimit_wait_ms = (long)(a->nums.ratelimit_wait * 1000),
		.api_version = a->o.api_version,
		.dry_run = a->o.dry_run, .dry_record = dry_record, .dry_arg = a,
	};
	if (!(a->qc = qclient_new(&qo)))
		return -1;
	if ((rc = qclient_get_json(a->qc, "/api/v1/users/me", &a->me, a->err, sizeof(a->err)))) {
		explain_check_failure(&a->cr, rc, a->err);
		return -1;
	}
	return 0;
}

/* The change poller (not started yet), the content cache, the export cache
 * and the upload buffers on disk. */
static int open_services(struct app *a)
{
	int rc;
	struct changes_opts cho = a->nums.changes;
	cho.client = a->qc;
	cho.state_dir = a->cr.state_dir;
	cho.on_changed = chg_changed;
	cho.on_written = chg_written;
	cho.on_error = chg_error;
	cho.arg = &a->q;
	if ((rc = changes_new(&cho, &g_changes, a->err, sizeof(a->err)))) {
		fprintf(stderr, "qlikfs: changes/: %s\n", a->err);
		return -1;
	}
	/* early: a SIGUSR1 sent as soon as the mount shows must not kill us; a
	 * poll asked for before the poller runs waits in its pipe */
	struct sigaction usr1 = { .sa_handler = on_sigusr1, .sa_flags = SA_RESTART };
	sigemptyset(&usr1.sa_mask);
	sigaction(SIGUSR1, &usr1, NULL);
	if (!(a->cache = cache_new((size_t)a->nums.size, NULL)))
		return -1;
	cache_set_pack(a->cache, 256); /* contents kept deflated (docs/SEMANTICS.md "Memory") */
	if ((rc = statedir_cache_resolve(a->o.cache_dir, a->cr.base, &a->cdir)) ||
	    (rc = statedir_mkdir(a->cdir, "tmp")) || asprintf(&a->tdir, "%s/tmp", a->cdir) < 0 ||
	    asprintf(&a->qdir, "%s/qvf", a->cdir) < 0) {
		fprintf(stderr, "qlikfs: cannot use the cache directory %s: %s\n",
			a->cdir ? a->cdir : (a->o.cache_dir ? a->o.cache_dir : ""),
			rc == -EPERM ? STATEDIR_PRIVATE_HINT : strerror(rc ? -rc : ENOMEM));
		return -1;
	}
	long transfer_ms = (long)(a->nums.transfer_timeout * 1000);
	if (!a->o.noqvf) {
		struct qvf_cache_opts vo = { .dir = a->qdir, .client = a->qc,
					     .max_bytes = (uint64_t)a->nums.qvf_size,
					     .timeout_ms = transfer_ms };
		int verr = 0;
		if (!(a->qvf = qvf_cache_new(&vo, &verr))) {
			fprintf(stderr, "qlikfs: cannot open the export cache %s: %s\n", a->qdir,
				strerror(verr ? -verr : ENOMEM));
			return -1;
		}
	}
	struct upload_opts uo = { .client = a->qc, .timeout_ms = transfer_ms };
	return (a->upl = upload_new(&uo)) ? 0 : -1;
}

/* In the background: syslog, or a file when syslog cannot be reached (the
 * log is never dropped); -o log_file is kept as it is. */
static void daemonize(struct app *a)
{
	char fallback[4200] = "";
	bool to_syslog = !a->fo.foreground && !a->o.log_file && log_syslog_reachable();
	if (!a->fo.foreground && !a->o.log_file && !to_syslog) {
		snprintf(fallback, sizeof(fallback), "%s/qlikfs.log", a->cr.state_dir);
		fprintf(stderr, "qlikfs: syslog (/dev/log) is not reachable: logging to %s\n",
			fallback);
	}
	fuse_daemonize(a->fo.foreground);
	if (to_syslog)
		log_init(true, a->lvl);
	else if (fallback[0] && log_open_file(fallback))
		log_init(true, a->lvl); /* last resort: syslog(3) writes to the console */
}

/* The FUSE session, the mount, the namespace, the poller, SIGHUP. */
static int mount_fs(struct app *a)
{
	a->q.ttl_s = a->nums.ttl;
	a->q.neg_ttl_s = a->nums.neg_ttl;
	a->q.read_only = a->o.ro;
	if (!(a->se = fuse_session_new(&a->args, &qfs_ops, sizeof(qfs_ops), &a->q)))
		return -1;
	if (fuse_set_signal_handlers(a->se) != 0)
		return -1;
	a->signals = true;
	if (fuse_session_mount(a->se, a->fo.mountpoint) != 0)
		return -1;
	a->mounted = true;
	daemonize(a);
	if (!(g_inval = inval_start(a->se)))
		return -1;
	const struct mount_numbers *n = &a->nums;
	struct ns_opts no = {
		.client = a->qc, .cache = a->cache,
		.ttl_ms = (int64_t)(n->ttl * 1000), .neg_ttl_ms = (int64_t)(n->neg_ttl * 1000),
		.walk_max_ms = (int64_t)(n->walk_max * 1000), .prefetch = (int)n->prefetch,
		.view_nodes = n->view_nodes,
		.uid = n->uid, .gid = n->gid, .umask = n->umask, .read_only = a->o.ro,
		.inval = { inval_entry_cb, inval_inode_cb, g_inval },
		.qvf = a->qvf, .qvf_nodata = a->o.qvf_nodata, .upload = a->upl, .tmp_dir = a->tdir,
		/* reports/ and api (ns_ext.h) */
		.state_dir = a->cr.state_dir,
		.transfer_timeout_ms = (long)(n->transfer_timeout * 1000),
		.me = a->me, .delete_delay_ms = (int64_t)(n->delete_delay * 1000),
		.no_scripts = a->o.noscripts, .reload_wait_ms = (long)(n->reload_wait * 1000),
		.trash_keep_ms = (int64_t)(n->trash_days * 86400000.0),
		.trash_qvf_max = (uint64_t)n->trash_qvf_max, .trash_required = a->o.trash_required,
	};
	a->ns = ns_new(&no);
	cJSON_Delete(a->me);
	a->me = NULL;
	if (!a->ns)
		return -1;
	a->q.ns = a->ns;
	inval_set_ns(g_inval, a->ns);
	char chdir_[4096];
	snprintf(chdir_, sizeof(chdir_), "%s/changes", a->cr.state_dir);
	if (ns_local_add(a->ns, "changes", chdir_) || changes_start(g_changes)) {
		log_error("cannot start the change poller");
		return -1;
	}
	struct sigaction sa = { .sa_handler = on_sighup, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	return 0;
}

/* Serves until unmounted: systemd is told READY=1 once the mount is live. */
static int serve(struct app *a)
{
	int rc;
	log_info("mounted %s on %s (%s)", a->cr.base, a->fo.mountpoint,
		 a->cr.kind == AUTH_APIKEY ? "API key" : "OAuth");
	char ready[512];
	snprintf(ready, sizeof(ready), "READY=1\nMAINPID=%ld\nSTATUS=Mounted %s on %s",
		 (long)getpid(), a->cr.base, a->fo.mountpoint);
	if ((rc = sdnotify(ready)) < 0)
		log_warn("cannot notify systemd ($NOTIFY_SOCKET): %s", strerror(-rc));
	if (a->fo.singlethread) {
		rc = fuse_session_loop(a->se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(lc, a->fo.clone_fd);
		fuse_loop_cfg_set_max_threads(lc, a->fo.max_threads ? a->fo.max_threads : 16);
		rc = fuse_session_loop_mt(a->se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	sdnotify("STOPPING=1");
	if (rc > 0) /* SIGTERM, SIGINT: asked to stop, a clean exit */
		log_info("signal %d: unmounting", rc);
	return rc < 0 ? 1 : 0;
}

/* Undoes what start-up made, in reverse: the poller before the
 * invalidations it feeds, the session before the namespace it calls. */
static void stop(struct app *a)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	changes_free(g_changes);
	g_changes = NULL;
	inval_stop(g_inval);
	g_inval = NULL;
	if (a->mounted)
		fuse_session_unmount(a->se);
	if (a->signals)
		fuse_remove_signal_handlers(a->se);
	if (a->se)
		fuse_session_destroy(a->se);
	ns_free(a->ns);
	qvf_cache_free(a->qvf);
	upload_free(a->upl);
	free(a->cdir);
	free(a->qdir);
	free(a->tdir);
	cache_free(a->cache);
	cJSON_Delete(a->me);
	qclient_free(a->qc);
	auth_free(a->auth);
	http_transport_free(a->tr);
	creds_clear(&a->cr);
	free(a->fo.mountpoint);
	options_free(&a->o);
	fuse_opt_free_args(&a->args);
}

int main(int argc, char *argv[])
{
	if (argc > 1 && !strcmp(argv[1], "login"))
		return login_main(argc, argv);
	/* FUSE and prefetch threads each got an arena of their own, and a
	 * listing freed in one stayed mapped there: two arenas keep the peak
	 * RSS of a walk near what it holds (docs/SEMANTICS.md "Memory") */
	mallopt(M_ARENA_MAX, 2);

	static struct app a; /* zeroed: stop() frees only what was made */
	a.args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	int ret = 1, rc = parse_args(&a, argv[0]);
	if (rc > 0)
		ret = 0;
	else if (rc == 0 && !prepare(&a) && !connect_tenant(&a) && !open_services(&a) &&
		 !mount_fs(&a))
		ret = serve(&a);
	stop(&a);
	return ret;
}
