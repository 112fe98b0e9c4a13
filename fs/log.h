/*
 * log.h - the one logging sink.  Library code below the FUSE boundary does not
 * log errors it returns; the boundary (FUSE glue, main, background jobs) logs
 * each failure once.  Nothing that is logged may contain a secret: callers pass
 * URLs and server error texts, never headers or request bodies of auth calls.
 */
#ifndef QLIKFS_LOG_H
#define QLIKFS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Select the sink: stderr (foreground) or syslog (daemon).  Not thread-safe;
 * call before any thread starts. */
void log_init(bool to_syslog, enum log_level max_level);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool log_enabled(enum log_level lvl);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LVL_DEBUG)) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif
