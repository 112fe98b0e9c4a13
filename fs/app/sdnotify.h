/*
 * sdnotify.h - the systemd readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a
 * path, or an abstract name written with a leading '@').
 */
#ifndef QLIKFS_SDNOTIFY_H
#define QLIKFS_SDNOTIFY_H

/* Sends state ("READY=1", "STOPPING=1", "STATUS=...", newline-separated).
 * Returns 1 when sent, 0 when $NOTIFY_SOCKET is not set, or -errno. */
int sdnotify(const char *state);

#endif
