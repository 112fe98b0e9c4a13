/*
 * statedir.h - the per-tenant state directory outside the mount, and
 * crash-safe file writes into it.
 *
 * Layout: <root>/<tenant-key>/ where root is -o state_dir=, else
 * $XDG_STATE_HOME/qlikfs, else $HOME/.local/state/qlikfs; tenant-key is the
 * tenant's host with ":port" appended for non-default ports (":" becomes "_").
 * Every directory is created 0700; every file 0600 (tokens live here).
 */
#ifndef QLIKFS_STATEDIR_H
#define QLIKFS_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>

/* Resolves and creates the state directory for the tenant base URL.  opt_dir
 * (may be NULL) overrides the root.  Returns 0 with a malloc'd path in *out,
 * or -errno (*out untouched). */
int statedir_resolve(const char *opt_dir, const char *base_url, char **out);

/* 0 when dir is a directory of this user's that no one else may write;
 * -EPERM when it is writable by group or others, or owned by another user;
 * -ENOTDIR or -errno otherwise.  The resolvers apply it to what they return. */
int statedir_private(const char *dir);
#define STATEDIR_PRIVATE_HINT "it must belong to you and be writable by no one else (chmod go-w)"


/* The same for the per-tenant cache directory (disposable data such as
 * exported apps): opt_dir, else $XDG_CACHE_HOME/qlikfs/<tenant-key>, else
 * $HOME/.cache/qlikfs/<tenant-key>, else /var/cache/qlikfs/<tenant-key>;
 * created 0700.  Returns 0 with a malloc'd path in *out, or -errno. */
int statedir_cache_resolve(const char *opt_dir, const char *base_url, char **out);

/* Creates dir/sub (and dir) with mode 0700 if missing.  Returns 0 or -errno. */
int statedir_mkdir(const char *dir, const char *sub);

/* Writes data to dir/name atomically: a 0600 temporary file in dir, fsync,
 * rename over name, fsync of the directory.  A crash leaves the old or the new file,
 * never a mix.  Returns 0 or -errno (the temporary file is removed). */
int statedir_write_atomic(const char *dir, const char *name, const void *data, size_t len);

/* Appends line (no newline; one is added) to the 0600 file path, in one
 * write(2).  When the file has grown past max bytes it is first renamed to
 * "<path>.1" (replacing an older one), so a log of lines stays bounded at
 * about twice max.  Returns 0 or -errno. */
int statedir_append_line(const char *path, const char *line, size_t max);

/* A line of a JSON-lines report (the restore report, the dry run's):
 * statedir_report_new gives {"time": now as ISO 8601 UTC, "action": action}
 * for the caller to add to (NULL on OOM); statedir_report_append prints o on
 * one line, appends it to path as statedir_append_line does, and frees o.
 * Returns 0 or -errno. */
#define STATEDIR_REPORT_MAX (16u << 20) /* a report: then PATH.1, and a new one */
struct cJSON;
struct cJSON *statedir_report_new(const char *action);
int statedir_report_append(const char *path, struct cJSON *o, size_t max);

/* Does process pid (> 0) still run, this one included?  Only a process
 * known to be gone (ESRCH) is not: another user's counts as running. */
bool statedir_pid_running(long pid);

/* Is name (".NAME.tmp.PID.N") the temporary file of a process that still
 * runs (this one included)?  False for any other name. */
bool statedir_tmp_in_use(const char *name);

/* Removes the temporary files of statedir_write_atomic() that a process
 * killed between their creation and the rename left in dir and in its
 * subdirectories (at most 4 levels; symbolic links are not followed):
 * ".NAME.tmp.PID.N" of a PID that no longer runs.  Files of a live process
 * are kept.  Returns how many were removed, or -errno when dir cannot be read. */
int statedir_sweep_tmp(const char *dir);

/* Reads dir/name whole (at most max bytes) into a malloc'd NUL-terminated
 * buffer.  Returns 0 with *out and *len set, -ENOENT, -EFBIG, or another -errno. */
int statedir_read(const char *dir, const char *name, size_t max, char **out, size_t *len);

/* The same for a full path.  A directory is -EISDIR, any other file that is
 * not regular -ENOENT; a symbolic link is not followed (-ELOOP). */
int statedir_read_path(const char *path, size_t max, char **out, size_t *len);

#endif
