/*
 * secret.c - see secret.h.  Buffers that held a secret are zeroed before they
 * are freed.  No logging; no locks (called before any thread starts).
 */
#include "app/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int secret_check_mode(int fd, const char *path, const char *what, char *err, size_t n)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		snprintf(err, n, "cannot stat %s %s: %s", what, path, strerror(-e));
		return e;
	}
	if (st.st_mode & 077) {
		snprintf(err, n,
			 "%s %s is readable by group or others (mode %04o); run: chmod 600 %s",
			 what, path, (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

/* Reads at most max - 1 bytes of fd into buf (NUL-terminated); stops at the
 * first newline when stop_nl (a terminal).  Returns the length or -errno. */
static ssize_t read_all(int fd, char *buf, size_t max, bool stop_nl)
{
	size_t got = 0;
	while (got < max - 1) {
		ssize_t r = read(fd, buf + got, max - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
		if (stop_nl && memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Standard input: without echo when it is a terminal. */
static ssize_t read_stdin(char *buf, size_t max)
{
	struct termios old, quiet;
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fputs("secret: ", stderr);
	}
	ssize_t r = read_all(STDIN_FILENO, buf, max, tty);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return r;
}

static ssize_t read_file(const char *path, const char *what, char *buf, size_t max, char *err,
			 size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = -errno;
		snprintf(err, n, "cannot open %s %s: %s", what, path, strerror(-e));
		return e;
	}
	int rc = secret_check_mode(fd, path, what, err, n);
	ssize_t r = rc ? rc : read_all(fd, buf, max, false);
	close(fd);
	if (r < 0 && !rc)
		snprintf(err, n, "cannot read %s %s: %s", what, path, strerror((int)-r));
	return r;
}

/* The first line of buf without surrounding blanks, as a new string. */
static int first_line(const char *buf, char **out)
{
	size_t len = strcspn(buf, "\r\n");
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	while (len && (*buf == ' ' || *buf == '\t'))
		buf++, len--;
	if (!len)
		return -ENODATA;
	char *s = strndup(buf, len);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}

int secret_read(const char *path, const char *env, const char *what, char **out, char *err,
		size_t n)
{
	char *buf;
	ssize_t r;
	int rc;

	if (!path) {
		char *v = env ? getenv(env) : NULL;
		if (!v || !*v) {
			snprintf(err, n, "%s is not set", env ? env : "the environment variable");
			return -ENOENT;
		}
		rc = first_line(v, out);
		/* Wipe it where /proc/PID/environ shows it, and keep it out of the
		 * environment of anything we start. */
		explicit_bzero(v, strlen(v));
		unsetenv(env);
		if (rc == -ENODATA)
			snprintf(err, n, "%s is empty", env);
		return rc;
	}
	if (!(buf = malloc(SECRET_MAX)))
		return -ENOMEM;
	if (!strcmp(path, "-")) {
		r = read_stdin(buf, SECRET_MAX);
		if (r < 0)
			snprintf(err, n, "cannot read the %s from standard input: %s", what,
				 strerror((int)-r));
	} else {
		r = read_file(path, what, buf, SECRET_MAX, err, n);
	}
	rc = r < 0 ? (int)r : first_line(buf, out);
	if (rc == -ENODATA)
		snprintf(err, n, "the %s %s is empty", what, strcmp(path, "-") ? path : "(stdin)");
	explicit_bzero(buf, SECRET_MAX);
	free(buf);
	return rc;
}
