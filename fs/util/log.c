/*
 * log.c - the sinks of log.h with a level filter.  Each message is written
 * with one write(2) (or one syslog call) so lines from different threads never
 * interleave, and a file opened O_APPEND keeps them whole across processes.
 *
 * Journald: systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it
 * connected to standard error; when standard error is that stream, each line
 * starts with the syslog priority ("<3>" error ... "<7>" debug and trace) so
 * the journal files it at the right priority, and carries no time stamp (the
 * journal adds its own).
 *
 * Invariant: after log_init/log_open_file (single-threaded), the sink fields
 * only change through log_reopen's flag, which log_msg acts on under `lock`.
 */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool use_syslog;
static bool journal;             /* stderr is the journal: "<N>" prefixes */
static int file_fd = -1;         /* the -o log_file sink, or -1 */
static char *file_path;
static volatile sig_atomic_t reopen_asked;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards file_fd on reopen */
static enum log_level level = LOG_LVL_INFO;

static const char *const names[] = { "error", "warning", "info", "debug", "trace" };
static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG };

/* Is standard error the stream $JOURNAL_STREAM names? */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(bool to_syslog, enum log_level max_level)
{
	use_syslog = to_syslog;
	level = max_level;
	journal = !to_syslog && stderr_is_journal();
	if (use_syslog)
		openlog("qlikfs", LOG_PID, LOG_DAEMON);
}

static int open_log_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	return fd < 0 ? -errno : fd;
}

int log_open_file(const char *path)
{
	int fd = open_log_file(path);
	char *p = strdup(path);
	if (fd < 0 || !p) {
		if (fd >= 0)
			close(fd);
		free(p);
		return fd < 0 ? fd : -ENOMEM;
	}
	if (file_fd >= 0)
		close(file_fd);
	free(file_path);
	file_fd = fd;
	file_path = p;
	use_syslog = false;
	return 0;
}

void log_reopen(void)
{
	reopen_asked = 1;
}

bool log_syslog_reachable(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int log_parse_level(const char *s)
{
	static const char *const accepted[] = { "error", "warn", "info", "debug", "trace" };
	for (int i = 0; s && i < 5; i++)
		if (!strcmp(s, accepted[i]) || !strcmp(s, names[i]))
			return i;
	return -1;
}

enum log_level log_get_level(void)
{
	return level;
}

bool log_enabled(enum log_level lvl)
{
	return lvl <= level;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* The file sink's descriptor, reopened first when asked (log rotation). */
static int file_sink(void)
{
	if (reopen_asked && file_path) {
		reopen_asked = 0;
		int fd = open_log_file(file_path);
		if (fd >= 0) {
			close(file_fd);
			file_fd = fd;
		}
	}
	return file_fd;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[2048], line[2200];
	va_list ap;
	int n;

	if (lvl > level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(prio[lvl], "%s", msg);
		return;
	}
	if (journal && file_fd < 0) {
		n = snprintf(line, sizeof(line), "<%d>%s: %s\n", prio[lvl], names[lvl], msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		/* the file keeps days: a date; the terminal: the time only */
		strftime(stamp, sizeof(stamp), file_fd >= 0 ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "qlikfs %s.%03ldZ [%d] %s: %s\n", stamp,
			     ts.tv_nsec / 1000000, (int)getpid(), names[lvl], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (file_fd >= 0) {
		pthread_mutex_lock(&lock);
		write_all(file_sink(), line, (size_t)n);
		pthread_mutex_unlock(&lock);
		return;
	}
	write_all(STDERR_FILENO, line, (size_t)n);
}
