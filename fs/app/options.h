/*
 * Layer app/: may include every layer below it; nothing includes app/.
 *
 * options.h - the command line of `qlikfs [options] [TENANT] MOUNTPOINT` and
 * `qlikfs login [options] [TENANT]`: one table of -o options (libfuse's
 * fuse_opt), the numbers they carry, and the help texts.
 */
#ifndef QLIKFS_OPTIONS_H
#define QLIKFS_OPTIONS_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

#include "changes/changes.h"

struct options {
	char *tenant; /* first positional argument */
	/* credentials */
	char *auth;               /* "apikey" | "oauth" | NULL (inferred) */
	char *api_key_file;
	char *client_id;
	char *client_secret_file; /* "-" = standard input */
	char *scopes;             /* space- or '+'-separated */
	char *authorize_url;
	char *token_url;
	char *context;            /* "" = the current context */
	char *state_dir;
	/* mount */
	char *cache_ttl, *cache_size, *neg_ttl, *timeout, *retries, *ratelimit_wait, *delete_delay;
	char *trash_days, *trash_qvf_max;
	int notrash, trash_required;
	int dry_run;              /* requests that change the tenant are recorded, not sent */
	char *walk_max, *prefetch, *view_nodes;
	int noscripts;
	char *reload_wait;
	char *uid, *gid, *umask;
	char *api_version;
	int ro;
	/* actions */
	char *cache_dir, *qvf_cache_size, *transfer_timeout;
	int noqvf, qvf_nodata;
	/* changes/ */
	char *poll_interval, *changes_created, *changes_updated, *changes_deleted;
	char *changes_full_scan, *changes_types;
	/* login */
	char *redirect_port, *redirect_uri, *url_file, *login_timeout;
	/* operations (log.h) */
	char *log_file, *log_level;
	int fsname_given;  /* -o fsname= was given (else the tenant host is used) */
	int subtype_given; /* -o subtype= was given (else "qlikfs") */
	char *bad_option;  /* the first -o option neither qlikfs nor FUSE knows */
	int help, version;
	int nonopt;
	bool login;   /* parsing for `qlikfs login` */
	char *unknown; /* login: the first option it does not know */
};

/* The numbers of the mount options, with their defaults filled in. */
struct mount_numbers {
	double ttl, neg_ttl, timeout, size;
	unsigned retries;
	uid_t uid;
	gid_t gid;
	mode_t umask;
	double qvf_size, transfer_timeout;
	double ratelimit_wait; /* seconds; 0: 429 waits come out of timeout */
	double delete_delay;   /* seconds before an rm'd resource file's DELETE */
	double trash_days;     /* how long the trash keeps an entry (0: -o notrash) */
	double trash_qvf_max;  /* bytes: the largest app export the trash keeps */
	double walk_max;       /* seconds */
	unsigned prefetch;     /* background listings at once */
	unsigned view_nodes;   /* per-app view entries kept after their lookup */
	double reload_wait;    /* seconds: bound on a read of reloads/ID/wait */
	struct changes_opts changes; /* interval, switches, full scan, types */
};

/* Parses args into o (login: for `qlikfs login`, whose arguments contain no
 * FUSE options).  Consumed options are removed from args; what is left is
 * for fuse_parse_cmdline().  Returns 0 or -1 (a message was printed). */
int options_parse(struct fuse_args *args, struct options *o, bool login);

/* Parses the numeric mount options.  Returns 0, or -EINVAL after printing why. */
int options_numbers(const struct options *o, struct mount_numbers *out);

/* Seconds of -o login_timeout (default 300), or -EINVAL. */
long options_login_timeout(const struct options *o);

void options_free(struct options *o);

/* The known option name nearest to `name` (a typo's correction), or NULL
 * when none is close.  For messages. */
const char *options_suggest(const char *name);

void options_usage(const char *prog);
void options_login_usage(const char *prog);

#endif
