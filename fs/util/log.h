/*
 * Layer util/: includes no other layer of fs/ (cache/ is its own library).
 *
 * log.h - the one logging sink.  Library code below the FUSE boundary does not
 * log errors it returns; the boundary (FUSE glue, main, background jobs) logs
 * each failure once.  Nothing that is logged may contain a secret: callers pass
 * URLs and server error texts, never headers or request bodies of auth calls.
 *
 * Sinks (one at a time): standard error (foreground; with journald priority
 * prefixes "<N>" when standard error is the journal), a file (-o log_file,
 * reopened after log_reopen()), or syslog (daemon).
 */
#ifndef QLIKFS_LOG_H
#define QLIKFS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_TRACE };

/* Select the sink: stderr (foreground) or syslog (daemon), and the level.
 * Not thread-safe; call before any thread starts. */
void log_init(bool to_syslog, enum log_level max_level);
/* Select a file sink (appended to, created 0600).  Returns 0 or -errno (the
 * sink is then unchanged).  Not thread-safe, like log_init. */
int log_open_file(const char *path);
/* Asks the file sink to reopen its file before the next line (after log
 * rotation; async-signal-safe: SIGHUP calls it). */
void log_reopen(void);
/* Is syslog's socket (/dev/log) accepting messages? */
bool log_syslog_reachable(void);
/* "error", "warn", "info", "debug", "trace" -> level; -1 when unknown. */
int log_parse_level(const char *s);
enum log_level log_get_level(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool log_enabled(enum log_level lvl);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LVL_DEBUG)) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
#define log_trace(...) do { if (log_enabled(LOG_LVL_TRACE)) log_msg(LOG_LVL_TRACE, __VA_ARGS__); } while (0)

#endif
