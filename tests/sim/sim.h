/*
 * sim.h - public API of the Qlik Cloud tenant simulator.
 *
 * The simulator is an in-memory model of one Qlik Cloud tenant (spaces, items,
 * apps, users, data files, data stores/assets/sets, temp contents, reports,
 * OAuth).  It is driven either in-process through sim_handle() / the
 * http_transport returned by sim_transport_new(), or over HTTP by the qlik-sim
 * executable (sim_server.c).  All functions are thread-safe.
 */
#ifndef QLIKFS_SIM_H
#define QLIKFS_SIM_H

#include <stdbool.h>

#include "http/http.h" /* fs/http.h */

struct sim_config {
	unsigned seed; /* deterministic seeding */
	int n_users, n_spaces, n_apps, n_data_files, n_data_stores; /* 0 = defaults */
	int assets_per_store, sets_per_asset;
	bool empty;           /* only the caller's user: a tenant to restore into */
	long latency_ms;      /* added to every API request (server and transport) */
	long clock_skew_ms;   /* server clock = real clock + skew (timestamps, token expiry) */
	const char *api_key;  /* the admin key; the caller's user is a TenantAdmin */
};

struct sim_tenant;

/* NULL on OOM. */
struct sim_tenant *sim_new(const struct sim_config *cfg);
void sim_free(struct sim_tenant *t);

/*
 * Handle one request.  url may be absolute ("http://host:port/api/v1/...") or a
 * path ("/api/v1/..."); for absolute URLs the links in responses use that
 * scheme://host:port, for paths "http://sim.invalid".  Returns 0 and fills resp,
 * or a negative errno for injected transport faults (-ECONNRESET dropped,
 * -ETIMEDOUT only if the stall exceeds req->timeout_ms).
 */
int sim_handle(struct sim_tenant *t, const struct http_request *req, struct http_response *resp);

/* In-process transport; t is not owned. */
struct http_transport *sim_transport_new(struct sim_tenant *t);

/* Counters (only /api/ and /oauth/ requests are counted, never /_sim/). */
long sim_count(struct sim_tenant *t, const char *method, const char *path_prefix); /* NULL = any */
long sim_count_total(struct sim_tenant *t);
void sim_reset_counts(struct sim_tenant *t);

/*
 * The control operations the HTTP /_sim/ endpoints expose.  path is e.g.
 * "/_sim/stats"; body may be NULL.  *out_json receives a malloc'd JSON document
 * (free() it).  Returns 0, -EINVAL (bad body), -ENOENT (unknown route) or -ENOMEM.
 */
int sim_control(struct sim_tenant *t, const char *method, const char *path, const char *body,
		char **out_json);

/* HTTP server (sim_server.c).  Loopback only.  Returns 0 or -errno. */
int sim_server_start(struct sim_tenant *t, const char *bind_addr, int port, int *bound_port,
		     void **handle);
void sim_server_stop(void *handle);

#endif
