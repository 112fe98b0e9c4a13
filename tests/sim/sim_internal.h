/*
 * sim_internal.h - types and helpers shared by the simulator's model files.
 *
 * Locking: every function declared here that takes a struct sim_tenant or a
 * struct sim_ctx expects the caller to hold t->mu, except the pure helpers
 * (hashing, encoding, time formatting) which touch no shared state.
 */
#ifndef QLIKFS_SIM_INTERNAL_H
#define QLIKFS_SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sim.h"

#define SIM_MAX_BODY (256u << 20)     /* request body bound (uploads) */
#define SIM_MAX_STORED (1024ull << 20) /* total stored data-file bytes */
#define SIM_LOG_MAX 100000           /* log entries kept since reset */
#define SIM_LOG_BODY_MAX (64u << 10)
#define SIM_NO_BASE "http://sim.invalid"

/* ---- hash map: string key -> pointer ---- */
struct hent {
	char *key;
	void *val;
	struct hent *next;
};
struct hmap {
	struct hent **b;
	size_t nb, n;
};
void *hm_get(const struct hmap *m, const char *key);
int hm_put(struct hmap *m, const char *key, void *val); /* replaces */
void *hm_del(struct hmap *m, const char *key);
void hm_clear(struct hmap *m, void (*free_val)(void *));

/* ---- records and collections ---- */
struct rec {
	char *id;
	cJSON *j;             /* canonical stored JSON (without caller-specific parts) */
	unsigned char *blob;  /* app qvf / file content / temp content bytes */
	size_t blob_len;
	char *aux;            /* kind specific: space -> connection id, app -> item id,
				 temp -> filename, report -> output temp id */
	long long t_ms;       /* kind specific time (temp expiry, report creation) */
	long long n;          /* kind specific number */
};
struct coll {
	struct rec **v;
	size_t n, cap;
	struct hmap idx;
};
struct rec *rec_new(const char *id, cJSON *j);
void rec_free(struct rec *r);
int coll_add(struct coll *c, struct rec *r);
struct rec *coll_get(const struct coll *c, const char *id);
struct rec *coll_remove(struct coll *c, const char *id); /* caller frees */
void coll_clear(struct coll *c);

/* ---- auth ---- */
struct keyent {
	char *token;
	char *user;
	long long expires_ms; /* 0 = never */
	char *scope;
	int kind; /* 0 api key, 1 access token, 2 refresh token, 3 auth code */
	char *client_id, *redirect_uri, *challenge;
};

struct fault {
	int mode; /* 0 status, 1 drop, 2 stall */
	int status;
	long count;
	char *match;
	long retry_after;
	long stall_ms;
};

struct rate_state {
	char *key; /* token + tier */
	long long *ts;
	long cap, head, n;
};

struct logent {
	long long seq;
	char *method, *path, *query, *body;
	char *headers; /* "name: value\n" per request header, credentials left out */
	long status;
};

struct sim_tenant {
	pthread_mutex_t mu;
	pthread_mutex_t sleep_mu; /* guards stopping; sleeps wait on sleep_cv */
	pthread_cond_t sleep_cv;
	bool stopping;
	struct sim_config cfg;
	char *admin_key;
	uint64_t rng;
	uint32_t oid_counter;
	char oid_mid[11];
	long long shift_ms;
	long latency_ms, clock_skew_ms, report_delay_ms, token_ttl_s;
	bool report_fail; /* reports created while set end "failed" (test hook) */
	long reload_delay_ms; /* a reload is QUEUED this long, then RELOADING as long */
	long reloads_active;  /* reloads not ended yet (reloads_settle) */
	struct hmap scripts;  /* app id -> struct coll of script versions, oldest first */
	struct coll reloads;  /* oldest first */
	struct hmap reloaded; /* app id -> the script of its last successful reload (char *) */
	char *me;
	char *tenant_id;
	struct coll spaces, apps, items, users, files, stores, assets, sets, temps, reports;
	struct hmap item_by_res; /* resourceId -> struct rec (item) */
	struct hmap keys;        /* token -> struct keyent */
	cJSON *oauth_clients;    /* array */
	cJSON *oauth_issued;     /* {access:[], refresh:[], code:[]}: every token ever issued */
	/* counters */
	struct hmap counts;      /* "METHOD path" -> long* (raw path) */
	struct hmap routes;      /* "METHOD template" -> long* */
	long total;
	long inflight, max_inflight; /* counted requests being answered; the most at once */
	long long seq, log_epoch;
	struct logent *log;
	size_t nlog, caplog;
	struct fault *faults;
	size_t nfaults;
	long rl_tier1, rl_tier2, rl_window_s;
	struct hmap rate;        /* key -> struct rate_state */
	unsigned long long stored_bytes;
};

/* ---- request context ---- */
struct qparam {
	char *k, *v;   /* decoded */
	char *raw;     /* raw "k=v" as received */
};
#define SIM_MAX_SEGS 16
struct sim_ctx {
	struct sim_tenant *t;
	const char *method;
	char *base;      /* scheme://host[:port] */
	char *raw_path;  /* as received (escaped) */
	char *path;      /* decoded */
	char *segs[SIM_MAX_SEGS];
	int nseg;
	struct qparam *q;
	int nq;
	const char *body;
	size_t body_len;
	const char *content_type;
	const struct http_request *req;
	const char *caller; /* user id */
	const char *token;
	long long now;
	const char *ids[4]; /* {id} captures */
	int nids;
	const char *api; /* first segment under /api/v1 ("spaces", ...) or "oauth" */
	struct http_response *resp;
};

/* ---- util ---- */
long long sim_realtime_ms(void);
long long sim_now(struct sim_tenant *t);
void fmt_ms(char *buf, size_t n, long long ms); /* 2024-01-09T09:13:38.002Z */
void fmt_s(char *buf, size_t n, long long ms);  /* 2024-01-25T17:52:25Z */
void fmt_http_date(char *buf, size_t n, long long ms); /* Thu, 25 Jan 2024 17:52:25 GMT */
long long parse_time_ms(const char *s);         /* -1 if bad */
uint64_t rng_next(struct sim_tenant *t);
uint64_t rng_range(struct sim_tenant *t, uint64_t n);
void gen_uuid(struct sim_tenant *t, char out[37]);
void gen_oid(struct sim_tenant *t, long long ms, char out[25]);
char *b64url_encode(const unsigned char *d, size_t n);
unsigned char *b64url_decode(const char *s, size_t *out_n);
char *url_encode(const char *s);
char *url_decode(const char *s, size_t n);      /* query style: '+' is a space */
char *url_decode_path(const char *s, size_t n);
bool is_hex24(const char *s);
bool is_uuid(const char *s);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *jstr(const cJSON *o, const char *k); /* NULL if absent / not string */
void jset_str(cJSON *o, const char *k, const char *v); /* v NULL -> JSON null */
void jset_num(cJSON *o, const char *k, double v);
void jset_bool(cJSON *o, const char *k, bool v);
void jset(cJSON *o, const char *k, cJSON *v); /* replace or add; takes v */
cJSON *jstrarr(const char *const *v, size_t n);
bool strcasestr_utf8(const char *hay, const char *needle);

/* ---- context helpers (tenant.c) ---- */
const char *q_get(const struct sim_ctx *c, const char *k);
bool q_bool(const struct sim_ctx *c, const char *k);
int q_limit(struct sim_ctx *c, const char *k, long def, long min, long max, long *out);
int reply_json(struct sim_ctx *c, long status, cJSON *j); /* takes j; j NULL = no body */
int reply_raw(struct sim_ctx *c, long status, const char *ctype, const void *data, size_t n);
int reply_empty(struct sim_ctx *c, long status);
int reply_err(struct sim_ctx *c, long status, const char *code, const char *title,
	      const char *detail);
int add_header(struct sim_ctx *c, const char *name, const char *value);
cJSON *parse_body(struct sim_ctx *c); /* NULL -> caller should 400 */
char *link_with(const struct sim_ctx *c, const char *drop1, const char *drop2, const char *k1,
		const char *v1, const char *k2, const char *v2);
char *self_link(const struct sim_ctx *c);
char *abs_url(const char *base, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void counts_reset_locked(struct sim_tenant *t);
/* Sleeps ms (latency, stalls) unless/until sim_wake_sleepers(t, true); no t->mu needed. */
void sim_sleep(struct sim_tenant *t, long ms);
void sim_wake_sleepers(struct sim_tenant *t, bool stopping);

/* sorting + paging (sim_page.c) */
#define SORT_MAX_KEYS 4
struct sortspec {
	int n;
	struct {
		char field[40];
		int desc;
	} k[SORT_MAX_KEYS];
};
/* Parses "+name,-createdAt" against an allow list mapping api name -> json field.
 * allowed: pairs {api, field, ...NULL}.  Returns 0 or -EINVAL. */
int sort_parse(struct sortspec *s, const char *v, const char *const *allowed);
typedef cJSON *(*render_fn)(struct sim_ctx *c, struct rec *r);
/* cursor paging.  cur_next/cur_prev = query names ("next"/"prev") or both "page".
 * style 0: links{self,next?,prev?}; 1: links{self,next{href|null},prev{href|null}} */
int page_cursor(struct sim_ctx *c, struct rec **v, size_t n, const struct sortspec *s, long limit,
		const char *cur_next, const char *cur_prev, int style, render_fn render, cJSON *out,
		const char *bad_cursor_code);
int page_offset(struct sim_ctx *c, struct rec **v, size_t n, const struct sortspec *s,
		render_fn render, cJSON *out);
void sort_recs(struct rec **v, size_t n, const struct sortspec *s);

/* ---- resources ---- */
typedef int (*handler_fn)(struct sim_ctx *c);

/* spaces */
int h_spaces_list(struct sim_ctx *c);
int h_spaces_create(struct sim_ctx *c);
int h_spaces_types(struct sim_ctx *c);
int h_space_get(struct sim_ctx *c);
int h_space_patch(struct sim_ctx *c);
int h_space_put(struct sim_ctx *c);
int h_space_delete(struct sim_ctx *c);
int h_space_assignments(struct sim_ctx *c);
cJSON *render_space(struct sim_ctx *c, struct rec *r);
struct rec *space_new(struct sim_tenant *t, const char *name, const char *type, const char *desc,
		      const char *owner, long long created);
struct rec *space_by_conn(struct sim_tenant *t, const char *conn_id);

/* items + apps */
int h_items_list(struct sim_ctx *c);
int h_item_get(struct sim_ctx *c);
int h_item_put(struct sim_ctx *c);
int h_item_delete(struct sim_ctx *c);
int h_apps_create(struct sim_ctx *c);
int h_apps_import(struct sim_ctx *c);
int h_apps_privileges(struct sim_ctx *c);
int h_app_get(struct sim_ctx *c);
int h_app_put(struct sim_ctx *c);
int h_app_delete(struct sim_ctx *c);
int h_app_space_put(struct sim_ctx *c);
int h_app_space_delete(struct sim_ctx *c);
int h_app_owner_put(struct sim_ctx *c);
int h_app_copy(struct sim_ctx *c);
int h_app_export(struct sim_ctx *c);
cJSON *render_item(struct sim_ctx *c, struct rec *r);
cJSON *render_app(struct sim_ctx *c, struct rec *r);
struct rec *app_new(struct sim_tenant *t, const char *name, const char *desc, const char *space,
		    const char *owner, long long created, long long modified,
		    const unsigned char *blob, size_t blob_len);
int qvf_make(struct sim_tenant *t, const char *name, const char *app_id, unsigned char **out,
	     size_t *out_n);

void app_touched(struct sim_ctx *c, struct rec *a); /* modifiedDate = now */
void app_reloaded(struct sim_tenant *t, struct rec *a, long long end_ms);

/* scripts + reloads (sim_scripts.c) */
int h_app_scripts_list(struct sim_ctx *c);
int h_app_scripts_create(struct sim_ctx *c);
int h_app_script_get(struct sim_ctx *c);
int h_app_script_patch(struct sim_ctx *c);
int h_app_script_delete(struct sim_ctx *c);
int h_app_reload_logs(struct sim_ctx *c);
int h_app_reload_log(struct sim_ctx *c);
int h_reloads_create(struct sim_ctx *c);
int h_reloads_list(struct sim_ctx *c);
int h_reload_get(struct sim_ctx *c);
int h_reload_cancel(struct sim_ctx *c);
void reloads_settle(struct sim_tenant *t, long long now); /* ends what is due */
void scripts_forget(struct sim_tenant *t, const char *app_id);
void scripts_free_all(struct sim_tenant *t);
char *scripts_current_text(struct sim_tenant *t, const char *app_id); /* malloc'd or NULL */

/* data model and lineage (sim_appdata.c) */
int h_app_data_metadata(struct sim_ctx *c);
int h_app_data_lineage(struct sim_ctx *c);
void appdata_set_reloaded(struct sim_tenant *t, const char *app, const char *script);
void appdata_forget(struct sim_tenant *t, const char *app);

/* users */
int h_users_list(struct sim_ctx *c);
int h_users_create(struct sim_ctx *c);
int h_users_me(struct sim_ctx *c);
int h_users_count(struct sim_ctx *c);
int h_user_get(struct sim_ctx *c);
int h_user_patch(struct sim_ctx *c);
int h_user_delete(struct sim_ctx *c);
cJSON *render_user(struct sim_ctx *c, struct rec *r);
struct rec *user_new(struct sim_tenant *t, const char *name, const char *email,
		     const char *subject, const char *status, bool admin, long long created);

/* data files */
int h_df_list(struct sim_ctx *c);
int h_df_create(struct sim_ctx *c);
int h_df_get(struct sim_ctx *c);
int h_df_put(struct sim_ctx *c);
int h_df_delete(struct sim_ctx *c);
int h_df_batch_delete(struct sim_ctx *c);
int h_df_connections(struct sim_ctx *c);
int h_df_connection_get(struct sim_ctx *c);
int h_df_quotas(struct sim_ctx *c);
cJSON *render_df(struct sim_ctx *c, struct rec *r);
int df_seed_file(struct sim_tenant *t, const char *name, const char *space, const char *owner,
		 const unsigned char *data, size_t n, long long created);

/* data stores family */
int h_ds_list(struct sim_ctx *c);
int h_ds_create(struct sim_ctx *c);
int h_ds_batch_delete(struct sim_ctx *c);
int h_ds_get(struct sim_ctx *c);
int h_ds_put(struct sim_ctx *c);
int h_ds_patch(struct sim_ctx *c);
int h_ds_assets_list(struct sim_ctx *c);
int h_ds_assets_delete(struct sim_ctx *c);
int h_ds_sets_list(struct sim_ctx *c);
int h_ds_sets_delete(struct sim_ctx *c);
int h_da_create(struct sim_ctx *c);
int h_da_batch_delete(struct sim_ctx *c);
int h_da_get(struct sim_ctx *c);
int h_da_put(struct sim_ctx *c);
int h_da_patch(struct sim_ctx *c);
int h_dset_create(struct sim_ctx *c);
int h_dset_batch_delete(struct sim_ctx *c);
int h_dset_get(struct sim_ctx *c);
int h_dset_put(struct sim_ctx *c);
int h_dset_patch(struct sim_ctx *c);
cJSON *render_plain(struct sim_ctx *c, struct rec *r);
struct rec *store_new(struct sim_tenant *t, const char *name, const char *type,
		      const char *space, const char *owner, long long created);
struct rec *asset_new(struct sim_tenant *t, struct rec *store, const char *name,
		      long long created);
struct rec *dset_new(struct sim_tenant *t, struct rec *asset, const char *name,
		     long long created);

/* temp contents + reports */
int h_temp_create(struct sim_ctx *c);
int h_temp_get(struct sim_ctx *c);
int h_temp_details(struct sim_ctx *c);
int h_reports_create(struct sim_ctx *c);
int h_report_status(struct sim_ctx *c);
int h_report_outputs(struct sim_ctx *c);
struct rec *temp_new(struct sim_tenant *t, const char *filename, const unsigned char *data,
		     size_t n, long ttl_s, const char *creator);

/* oauth */
int h_oauth_token(struct sim_ctx *c);
int h_oauth_authorize(struct sim_ctx *c);
int h_oauth_revoke(struct sim_ctx *c);
int h_wellknown(struct sim_ctx *c);
struct keyent *key_add(struct sim_tenant *t, const char *token, const char *user,
		       long long expires_ms, int kind);
void key_free(void *p);

/* seed + control */
int sim_seed(struct sim_tenant *t);
cJSON *sim_state_dump(struct sim_tenant *t);
int sim_control_base(struct sim_tenant *t, const char *base, const char *method,
		     const char *path, const char *body, char **out_json);

/* json patch (sim_datastores.c) */
int json_patch_apply(cJSON *doc, const cJSON *ops, int *status_out);

bool sim_csv_has(const char *list, const char *v);

#endif
