/*
 * simenv.h - shared set-up of the in-process tests of the action backends:
 * a simulated tenant behind the in-process transport, an API-key client on
 * it, and small file helpers.  Header-only (static functions).
 */
#ifndef QLIKFS_SIMENV_H
#define QLIKFS_SIMENV_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "client/auth.h"
#include "client/qclient.h"
#include "sim.h"

struct simenv {
	struct sim_tenant *sim;
	struct http_transport *tr;
	struct qauth *auth;
	struct qclient *qc;
};

__attribute__((unused)) static void simenv_init(struct simenv *e, long timeout_ms)
{
	struct sim_config cfg = { .seed = 11, .api_key = "k", .n_apps = 6, .n_spaces = 3,
				  .n_data_files = 4, .n_users = 3 };
	e->sim = sim_new(&cfg);
	e->tr = sim_transport_new(e->sim);
	e->auth = auth_apikey_new("k");
	struct qclient_opts qo = { .base = "http://127.0.0.1:9", .transport = e->tr,
				   .auth = e->auth, .timeout_ms = timeout_ms };
	e->qc = qclient_new(&qo);
}

__attribute__((unused)) static void simenv_fini(struct simenv *e)
{
	qclient_free(e->qc);
	auth_free(e->auth);
	http_transport_free(e->tr);
	sim_free(e->sim);
}

/* A /_sim/ control call; returns its errno. */
__attribute__((unused)) static int simenv_ctl(struct simenv *e, const char *method,
					      const char *path, const char *body)
{
	char *out = NULL;
	int rc = sim_control(e->sim, method, path, body, &out);
	free(out);
	return rc;
}

__attribute__((unused)) static int simenv_fault(struct simenv *e, const char *json)
{
	return simenv_ctl(e, "POST", "/_sim/faults", json);
}

/* The id of the first shared space (malloc'd). */
__attribute__((unused)) static char *simenv_shared_space(struct simenv *e)
{
	char *out = NULL;
	if (sim_control(e->sim, "GET", "/_sim/state", NULL, &out))
		return NULL;
	cJSON *st = cJSON_Parse(out), *s;
	free(out);
	char *id = NULL;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(st, "spaces"))
	{
		const cJSON *ty = cJSON_GetObjectItem(s, "type");
		if (!id && cJSON_IsString(ty) && !strcmp(ty->valuestring, "shared"))
			id = strdup(cJSON_GetObjectItem(s, "id")->valuestring);
	}
	cJSON_Delete(st);
	return id;
}

/* Creates an app named name (POST /api/v1/apps); returns its id (malloc'd). */
__attribute__((unused)) static char *simenv_app_create(struct simenv *e, const char *name)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "attributes"), "name", name);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	struct qcall call = { .method = "POST", .url = "/api/v1/apps", .body = body,
			      .body_len = strlen(body), .op = QOP_CREATE };
	struct qresp r;
	char *id = NULL;
	if (qclient_call(e->qc, &call, &r) == 0) {
		const cJSON *at = cJSON_GetObjectItem(r.json, "attributes");
		const cJSON *v = cJSON_GetObjectItem(at, "id");
		id = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
	}
	qresp_clear(&r);
	free(body);
	return id;
}

/* An anonymous temporary file holding data[0..n). */
__attribute__((unused)) static int simenv_temp_fd(const void *data, size_t n)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	const char *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0) {
			close(fd);
			return -EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return fd;
}

/* The whole content of fd (from offset 0), malloc'd and NUL-terminated. */
__attribute__((unused)) static char *simenv_read_fd(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	char *b = malloc((size_t)st.st_size + 1);
	ssize_t r = b ? pread(fd, b, (size_t)st.st_size, 0) : -1;
	if (r != st.st_size) {
		free(b);
		return NULL;
	}
	b[r] = 0;
	*len = (size_t)r;
	return b;
}

__attribute__((unused)) static int64_t simenv_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
