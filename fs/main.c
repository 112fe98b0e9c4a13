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

#include "auth.h"
#include "cache.h"
#include "changes.h"
#include "creds.h"
#include "fuse_ops.h"
#include "http_curl.h"
#include "http_fault.h"
#include "inval.h"
#include "log.h"
#include "login.h"
#include "ns.h"
#include "options.h"
#include "qclient.h"
#include "qvf.h"
#include "statedir.h"
#include "upload.h"
#include "sdnotify.h"

static struct inval *g_inval;     /* for the SIGHUP handler */
static struct changes *g_changes; /* for the SIGUSR1 handler */

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
	if (fuse_parse_cmdline(&args, &fo) != 0)
		goto out_args;
	if ((!o.tenant && !o.context) || !fo.mountpoint) {
		fprintf(stderr, "usage: %s [options] TENANT MOUNTPOINT (see --help)\n", argv[0]);
		goto out_cmdline;
	}
	if (options_numbers(&o, &nums))
		goto out_cmdline;
	if (creds_resolve(&o, false, &cr, err, sizeof(err))) {
		fprintf(stderr, "qlikfs: %s\n", err);
		goto out_cmdline;
	}
	log_init(false, fo.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	/* temporary files a killed qlikfs left between write and rename */
	if ((rc = statedir_sweep_tmp(cr.state_dir)) > 0)
		log_info("removed %d temporary file%s left in %s by a killed qlikfs", rc,
			 rc == 1 ? "" : "s", cr.state_dir);

	struct http_curl_opts co = { .connect_timeout_ms = 10000,
				     .default_timeout_ms = (long)(nums.timeout * 1000) };
	if (!(tr = http_curl_new(&co))) {
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

	/* Fail fast instead of mounting a broken filesystem. */
	cJSON *me = NULL;
	rc = qclient_get_json(qc, "/api/v1/users/me", &me, err, sizeof(err));
	if (rc) {
		explain_check_failure(&cr, rc, err);
		goto out_creds;
	}
	cJSON_Delete(me);

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
			cdir ? cdir : (o.cache_dir ? o.cache_dir : ""), strerror(rc ? -rc : ENOMEM));
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
	fuse_daemonize(fo.foreground);
	if (!fo.foreground)
		log_init(true, fo.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

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
	};
	if (!(ns = ns_new(&no)))
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
