/*
 * log.c - stderr or syslog sink with a level filter.  Each message is written
 * with one call so lines from different threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static bool use_syslog;
static enum log_level level = LOG_LVL_INFO;

void log_init(bool to_syslog, enum log_level max_level)
{
	use_syslog = to_syslog;
	level = max_level;
	if (use_syslog)
		openlog("qlikfs", LOG_PID, LOG_DAEMON);
}

bool log_enabled(enum log_level lvl)
{
	return lvl <= level;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	va_list ap;

	if (lvl > level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(prio[lvl], "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "qlikfs %s.%03ld %s: %s\n", stamp, ts.tv_nsec / 1000000, names[lvl], msg);
}
