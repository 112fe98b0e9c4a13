/*
 * statedir.c - see statedir.h.  No locks: callers serialise writes to one
 * file; distinct files may be written concurrently (temporary names are
 * unique per call).
 */
#include "util/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/url.h"

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return statedir_private(buf);
}

int statedir_private(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* tokens, the reports registry and upload buffers live here: a
	 * directory another user can write (or owns) could be made to hold
	 * anything, so it is refused rather than used */
	if ((st.st_mode & 022) || st.st_uid != geteuid())
		return -EPERM;
	return 0;
}

static int tenant_key(const char *base, char *out, size_t n)
{
	char host[256], port[8] = "";
	if (url_host(base, host, sizeof(host)) < 0)
		return -EINVAL;
	const char *hp = strstr(base, "://");
	if (hp) {
		hp += 3;
		size_t len = strcspn(hp, "/?#");
		const char *colon = memrchr(hp, ':', len), *bracket = memrchr(hp, ']', len);
		if (colon && (!bracket || colon > bracket) && (size_t)(hp + len - colon - 1) < sizeof(port)) {
			memcpy(port, colon + 1, (size_t)(hp + len - colon - 1));
			port[hp + len - colon - 1] = '\0';
		}
	}
	int r = port[0] ? snprintf(out, n, "%s_%s", host, port) : snprintf(out, n, "%s", host);
	if (r < 0 || (size_t)r >= n)
		return -ENAMETOOLONG;
	for (char *p = out; *p; p++)
		if (*p == ':' || *p == '/')
			*p = '_';
	return 0;
}

/* <opt_dir>, else <$env>/qlikfs/<tenant>, else $HOME/<home_sub>/qlikfs/<tenant>, else
 * <fallback>/<tenant>; created 0700. */
static int resolve(const char *opt_dir, const char *env, const char *home_sub,
		   const char *fallback, const char *base_url, char **out)
{
	char root[3072], key[300], path[4096];
	const char *xdg = getenv(env), *home = getenv("HOME");
	int rc;

	if (opt_dir && *opt_dir) {
		if (snprintf(root, sizeof(root), "%s", opt_dir) >= (int)sizeof(root))
			return -ENAMETOOLONG;
		/* an explicit directory is used as is: one tenant per directory */
		if ((rc = mkdir_p(root)))
			return rc;
		char *p = strdup(root);
		if (!p)
			return -ENOMEM;
		*out = p;
		return 0;
	}
	if (xdg && xdg[0] == '/')
		rc = snprintf(root, sizeof(root), "%s/qlikfs", xdg);
	else if (home && home[0] == '/')
		rc = snprintf(root, sizeof(root), "%s/%s/qlikfs", home, home_sub);
	else
		rc = snprintf(root, sizeof(root), "%s", fallback);
	if (rc >= (int)sizeof(root))
		return -ENAMETOOLONG;
	if ((rc = tenant_key(base_url, key, sizeof(key))))
		return rc;
	if (snprintf(path, sizeof(path), "%s/%s", root, key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((rc = mkdir_p(path)))
		return rc;
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	*out = p;
	return 0;
}

int statedir_resolve(const char *opt_dir, const char *base_url, char **out)
{
	return resolve(opt_dir, "XDG_STATE_HOME", ".local/state", "/var/lib/qlikfs", base_url, out);
}

int statedir_cache_resolve(const char *opt_dir, const char *base_url, char **out)
{
	return resolve(opt_dir, "XDG_CACHE_HOME", ".cache", "/var/cache/qlikfs", base_url, out);
}

int statedir_mkdir(const char *dir, const char *sub)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, sub) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return mkdir_p(path);
}

int statedir_write_atomic(const char *dir, const char *name, const void *data, size_t len)
{
	static unsigned long seq;
	char tmp[4096], dst[4096];
	int rc = 0;
	unsigned long s = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);

	if (snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld.%lu", dir, name, (long)getpid(), s) >=
		    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			break;
		}
		p += w;
		left -= (size_t)w;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* The pid of a temporary file name ".NAME.tmp.PID.N", or 0 when name is not one. */
static pid_t tmp_pid(const char *name)
{
	const char *t = NULL;
	if (name[0] != '.')
		return 0;
	for (const char *p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp."))
		t = p; /* the last one: NAME may contain ".tmp." itself */
	if (!t || t == name)
		return 0;
	char *end;
	long pid = strtol(t + 5, &end, 10);
	if (pid <= 0 || *end != '.' || end == t + 5)
		return 0;
	const char *seq = end + 1;
	if (!*seq || strspn(seq, "0123456789") != strlen(seq))
		return 0;
	return (pid_t)pid;
}

static int sweep(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 4) {
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int n = sub < 0 ? 0 : sweep(sub, depth + 1);
			removed += n > 0 ? n : 0;
			continue;
		}
		if (!S_ISREG(st.st_mode) || !tmp_pid(e->d_name) || statedir_tmp_in_use(e->d_name))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

bool statedir_pid_running(long pid)
{
	return pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

bool statedir_tmp_in_use(const char *name)
{
	pid_t pid = tmp_pid(name);
	return pid > 0 && statedir_pid_running(pid);
}

int statedir_sweep_tmp(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	return sweep(dfd, 0);
}

int statedir_read_path(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int rc = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -ENOENT; /* never block on a FIFO */
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
out:
	close(fd);
	return rc;
}

int statedir_read(const char *dir, const char *name, size_t max, char **out, size_t *len)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return statedir_read_path(path, max, out, len);
}

int statedir_append_line(const char *path, const char *line, size_t max)
{
	struct stat st;
	size_t l = strlen(line);
	char *buf = malloc(l + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, line, l);
	buf[l] = '\n';
	if (stat(path, &st) == 0 && (size_t)st.st_size > max) {
		char old[4200];
		if (snprintf(old, sizeof(old), "%s.1", path) < (int)sizeof(old))
			rename(path, old);
	}
	int rc = 0, fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		rc = -errno;
	else if (write(fd, buf, l + 1) != (ssize_t)(l + 1))
		rc = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

struct cJSON *statedir_report_new(const char *action)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	cJSON *o = cJSON_CreateObject();
	if (o && (!cJSON_AddStringToObject(o, "time", ts) ||
		  !cJSON_AddStringToObject(o, "action", action))) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

int statedir_report_append(const char *path, struct cJSON *o, size_t max)
{
	char *line = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	int rc = line ? statedir_append_line(path, line, max) : -ENOMEM;
	free(line);
	return rc;
}
