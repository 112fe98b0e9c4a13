/*
 * http_obs.h - an HTTP transport that observes another one: every request
 * is counted (opstats.h) and, at log level trace, logged on one line with its
 * method, path and query (secret-looking query values redacted), status,
 * bytes, milliseconds and retry number.  Headers and bodies are never logged.
 */
#ifndef QLIKFS_HTTP_OBS_H
#define QLIKFS_HTTP_OBS_H

#include <stddef.h>

#include "http/http.h"

/* Wraps inner (owned: freed with the wrapper).  NULL on OOM (inner is then
 * freed too). */
struct http_transport *http_obs_new(struct http_transport *inner);

/* Copies url's path and query into out (n bytes), without scheme, host,
 * user info or fragment, with the value of each query parameter whose name
 * suggests a secret (token, secret, key, password, signature, code,
 * credential, auth, session...) replaced by "REDACTED".  Pure. */
void http_obs_redact(const char *url, char *out, size_t n);

#endif
