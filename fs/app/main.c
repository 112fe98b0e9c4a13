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

int main(int argc, char *argv[])
{
	if (argc > 1 && !strcmp(argv[1], "login"))
		return login_main(argc, argv);

	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fo = { 0 };
	struct options o = { 0 };
	struct mount_numbers nums;
	struct creds cr = { 0 };
	struct qfs q = { 0 };
	struct http_transport *tr = NULL;
	struct qauth *auth = NULL;
	struct qclient *qc = NULL;
	struct cache *cache = NULL;
	struct qvf_cache *qvf = NULL;
	struct upload *upl = NULL;
	char *cdir = NULL, *qdir = NULL, *tdir = NULL;
	struct fuse_session *se = NULL;
	struct ns *ns = NULL;
	cJSON *me = NULL;
	char err[768] = "";
	int ret = 1, rc;

	if (options_parse(&args, &o, false))
		goto out_args;
	if (o.help) {
		options_usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (o.version) {
		printf("qlikfs %s (libfuse %s)\n", QLIKFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (o.context && o.nonopt == 1) {
		/* qlikfs -o context=NAME MOUNTPOINT: the one argument is the mountpoint */
		fuse_opt_add_arg(&args, o.tenant);
		free(o.tenant);
		o.tenant = NULL;
	}
	/* The kernel checks every caller against the modes we report: with
	 * allow_other, another local user gets what the modes (umask, uid,
	 * gid) give, never the owner's tenant access by default. */
	if (fuse_opt_add_arg(&args, "-odefault_permissions") != 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &fo) != 0)
		goto out_args;
	if ((!o.tenant && !o.context) || !fo.mountpoint) {
		fprintf(stderr, "usage: %s [options] TENANT MOUNTPOINT (see --help)\n", argv[0]);
		goto out_cmdline;
	}
	if (options_numbers(&o, &nums))
		goto out_cmdline;
	enum log_level lvl = o.log_level ? (enum log_level)log_parse_level(o.log_level)
					 : LOG_LVL_INFO;
	if (fo.debug && lvl < LOG_LVL_DEBUG)
		lvl = LOG_LVL_DEBUG;
	log_init(false, lvl);
	if (o.log_file && (rc = log_open_file(o.log_file))) {
		fprintf(stderr, "qlikfs: cannot open -o log_file=%s: %s\n", o.log_file,
			strerror(-rc));
		goto out_cmdline;
	}
	char busy[8192];
	if (mount_busy(fo.mountpoint, busy, sizeof(busy))) {
		fprintf(stderr, "qlikfs: %s is already a mount point (%s); unmount it first "
				"(fusermount3 -u %s) or choose another directory\n",
			fo.mountpoint, busy, fo.mountpoint);
		goto out_cmdline;
	}
	if (creds_resolve(&o, false, &cr, err, sizeof(err))) {
		fprintf(stderr, "qlikfs: %s\n", err);
		goto out_cmdline;
	}
	/* df and mount name the tenant */
	char fsopt[600];
	if (!o.fsname_given) {
		char host[512];
		tenant_host(cr.base, host, sizeof(host));
		snprintf(fsopt, sizeof(fsopt), "-ofsname=%s", host);
		fuse_opt_add_arg(&args, fsopt);
	}
	if (!o.subtype_given)
		fuse_opt_add_arg(&args, "-osubtype=qlikfs");
	/* temporary files a killed qlikfs left between write and rename */
	if ((rc = statedir_sweep_tmp(cr.state_dir)) > 0)
		log_info("removed %d temporary file%s left in %s by a killed qlikfs", rc,
			 rc == 1 ? "" : "s", cr.state_dir);

	struct http_curl_opts co = { .connect_timeout_ms = 10000,
				     .default_timeout_ms = (long)(nums.timeout * 1000) };
	/* every request is counted for .status.json (and traced at -o log_level=trace) */
	if (!(tr = http_curl_new(&co)) || !(tr = http_obs_new(tr))) {
		fprintf(stderr, "qlikfs: out of memory\n");
		goto out_creds;
	}
	/* tests only: faults injected into the transport ($QLIKFS_FAULT, http_fault.h) */
	if ((rc = http_fault_from_env(&tr, err, sizeof(err)))) {
		fprintf(stderr, "qlikfs: $QLIKFS_FAULT: %s\n", err);
		goto out_creds;
	}
	if ((rc = creds_auth(&cr, tr, (long)(nums.timeout * 1000), &auth, err, sizeof(err)))) {
		fprintf(stderr, "qlikfs: %s\n", rc == -ENOMEM ? "out of memory" : err);
		goto out_creds;
	}
	struct qclient_opts qo = {
		.base = cr.base, .transport = tr, .auth = auth,
		.timeout_ms = (long)(nums.timeout * 1000), .max_attempts = (int)nums.retries,
		.ratelimit_wait_ms = (long)(nums.ratelimit_wait * 1000),
		.api_version = o.api_version,
	};
	if (!(qc = qclient_new(&qo)))
		goto out_creds;

	/* Fail fast instead of mounting a broken filesystem; the answer is
	 * me.json's first content. */
	rc = qclient_get_json(qc, "/api/v1/users/me", &me, err, sizeof(err));
	if (rc) {
		explain_check_failure(&cr, rc, err);
		goto out_creds;
	}

	struct changes_opts cho = nums.changes;
	cho.client = qc;
	cho.state_dir = cr.state_dir;
	cho.on_changed = chg_changed;
	cho.on_written = chg_written;
	cho.on_error = chg_error;
	cho.arg = &q;
	if ((rc = changes_new(&cho, &g_changes, err, sizeof(err)))) {
		fprintf(stderr, "qlikfs: changes/: %s\n", err);
		goto out_creds;
	}
	/* early: a SIGUSR1 sent as soon as the mount shows must not kill us; a
	 * poll asked for before the poller runs waits in its pipe */
	struct sigaction usr1 = { .sa_handler = on_sigusr1 };
	sigemptyset(&usr1.sa_mask);
	usr1.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &usr1, NULL);
	if (!(cache = cache_new((size_t)nums.size, NULL)))
		goto out_creds;
	/* actions: the .qvf export cache and the buffers of uploads, on disk */
	if ((rc = statedir_cache_resolve(o.cache_dir, cr.base, &cdir)) ||
	    (rc = statedir_mkdir(cdir, "tmp")) || asprintf(&tdir, "%s/tmp", cdir) < 0 ||
	    asprintf(&qdir, "%s/qvf", cdir) < 0) {
		fprintf(stderr, "qlikfs: cannot use the cache directory %s: %s\n",
			cdir ? cdir : (o.cache_dir ? o.cache_dir : ""),
			rc == -EPERM ? STATEDIR_PRIVATE_HINT : strerror(rc ? -rc : ENOMEM));
		goto out_cache;
	}
	if (!o.noqvf) {
		struct qvf_cache_opts vo = { .dir = qdir, .client = qc,
					     .max_bytes = (uint64_t)nums.qvf_size,
					     .timeout_ms = (long)(nums.transfer_timeout * 1000) };
		int verr = 0;
		if (!(qvf = qvf_cache_new(&vo, &verr))) {
			fprintf(stderr, "qlikfs: cannot open the export cache %s: %s\n", qdir,
				strerror(verr ? -verr : ENOMEM));
			goto out_cache;
		}
	}
	struct upload_opts uo = { .client = qc,
				  .timeout_ms = (long)(nums.transfer_timeout * 1000) };
	if (!(upl = upload_new(&uo)))
		goto out_cache;
	q.ttl_s = nums.ttl;
	q.neg_ttl_s = nums.neg_ttl;
	q.read_only = o.ro;
	se = fuse_session_new(&args, &qfs_ops, sizeof(qfs_ops), &q);
	if (!se)
		goto out_cache;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, fo.mountpoint) != 0)
		goto out_signals;
	/* in the background: syslog, or a file when syslog cannot be reached
	 * (the log is never dropped); -o log_file is kept as it is */
	char fallback[4200] = "";
	bool to_syslog = !fo.foreground && !o.log_file && log_syslog_reachable();
	if (!fo.foreground && !o.log_file && !to_syslog) {
		snprintf(fallback, sizeof(fallback), "%s/qlikfs.log", cr.state_dir);
		fprintf(stderr, "qlikfs: syslog (/dev/log) is not reachable: logging to %s\n",
			fallback);
	}
	fuse_daemonize(fo.foreground);
	if (to_syslog)
		log_init(true, lvl);
	else if (fallback[0] && (rc = log_open_file(fallback)))
		log_init(true, lvl); /* last resort: syslog(3) writes to the console */

	if (!(g_inval = inval_start(se)))
		goto out_unmount;
	struct ns_opts no = {
		.client = qc, .cache = cache,
		.ttl_ms = (int64_t)(nums.ttl * 1000), .neg_ttl_ms = (int64_t)(nums.neg_ttl * 1000),
		.uid = (uid_t)nums.uid, .gid = (gid_t)nums.gid, .umask = (mode_t)nums.umask,
		.read_only = o.ro,
		.inval = { inval_entry_cb, inval_inode_cb, g_inval },
		.qvf = qvf, .qvf_nodata = o.qvf_nodata, .upload = upl, .tmp_dir = tdir,
		/* reports/ and api (ns_ext.h) */
		.state_dir = cr.state_dir,
		.transfer_timeout_ms = (long)(nums.transfer_timeout * 1000),
		.no_scripts = o.noscripts,
		.reload_wait_ms = (long)(nums.reload_wait * 1000),
		.me = me,
	};
	ns = ns_new(&no);
	cJSON_Delete(me);
	me = NULL;
	if (!ns)
		goto out_inval;
	q.ns = ns;
	inval_set_ns(g_inval, ns);
	char chdir_[4096];
	snprintf(chdir_, sizeof(chdir_), "%s/changes", cr.state_dir);
	if (ns_local_add(ns, "changes", chdir_) || changes_start(g_changes)) {
		log_error("cannot start the change poller");
		goto out_ns;
	}
	struct sigaction sa = { .sa_handler = on_sighup };
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);

	log_info("mounted %s on %s (%s)", cr.base, fo.mountpoint,
		 cr.kind == AUTH_APIKEY ? "API key" : "OAuth");
	char ready[512];
	snprintf(ready, sizeof(ready), "READY=1\nMAINPID=%ld\nSTATUS=Mounted %s on %s",
		 (long)getpid(), cr.base, fo.mountpoint);
	if ((rc = sdnotify(ready)) < 0)
		log_warn("cannot notify systemd ($NOTIFY_SOCKET): %s", strerror(-rc));
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
	sdnotify("STOPPING=1");
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
	changes_free(g_changes); /* its thread may be feeding the namespace */
	g_changes = NULL;
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
	qvf_cache_free(qvf);
	upload_free(upl);
	free(cdir);
	free(qdir);
	free(tdir);
	cache_free(cache);
out_creds:
	cJSON_Delete(me);
	signal(SIGUSR1, SIG_IGN);
	changes_free(g_changes);
	g_changes = NULL;
	qclient_free(qc);
	auth_free(auth);
	http_transport_free(tr);
	creds_clear(&cr);
out_cmdline:
	free(fo.mountpoint);
out_args:
	options_free(&o);
	fuse_opt_free_args(&args);
	return ret;
}
