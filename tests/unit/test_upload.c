/*
 * test_upload.c - data-file uploads through the in-process simulator: create
 * by multipart POST, replace by PUT, names and sizes refused before sending,
 * the tenant's own refusals mapped to errno with its text, spaces through
 * their data-files connection, and a PUT retried with the same bytes.
 */
#include "check.h"
#include "simenv.h"
#include "sim_internal.h" /* to compare the bytes the tenant stored */
#include "actions/upload.h"

/* A copy of what the simulated tenant stored for data file id. */
static unsigned char *stored(struct simenv *e, const char *id, size_t *len)
{
	pthread_mutex_lock(&e->sim->mu);
	struct rec *r = coll_get(&e->sim->files, id);
	unsigned char *b = r ? malloc(r->blob_len + 1) : NULL;
	if (b) {
		memcpy(b, r->blob, r->blob_len);
		*len = r->blob_len;
	}
	pthread_mutex_unlock(&e->sim->mu);
	return b;
}

static const char *sget(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_create_and_replace(struct simenv *e, struct upload *u)
{
	const char *csv1 = "region,amount\nnorth,10\nsouth,20\n";
	const char *csv2 = "region,amount\neast,30\n";
	int fd = simenv_temp_fd(csv1, strlen(csv1));
	cJSON *df = NULL;
	char err[512] = "";
	sim_reset_counts(e->sim);
	CHECK_INT(upload_datafile(u, fd, strlen(csv1), "upload_test.csv", NULL, NULL, &df, err,
				  sizeof(err)), 0);
	CHECK_STR(sget(df, "name"), "upload_test.csv");
	CHECK_INT(cJSON_GetObjectItem(df, "size")->valuedouble, strlen(csv1));
	CHECK(cJSON_GetObjectItem(df, "spaceId") == NULL); /* personal space */
	CHECK_INT(sim_count(e->sim, "POST", "/api/v1/data-files"), 1);
	char *id = strdup(sget(df, "id"));
	size_t n = 0;
	unsigned char *b = stored(e, id, &n);
	CHECK(b && n == strlen(csv1) && !memcmp(b, csv1, n));
	free(b);
	cJSON_Delete(df);
	close(fd);

	/* the same name again: the tenant says 409, we say EEXIST with its text */
	fd = simenv_temp_fd(csv2, strlen(csv2));
	CHECK_INT(upload_datafile(u, fd, strlen(csv2), "upload_test.csv", NULL, NULL, NULL, err,
				  sizeof(err)), -EEXIST);
	CHECK(strstr(err, "409") && strstr(err, "already exists"));

	/* replace the content (PUT): same id, new bytes */
	CHECK_INT(upload_datafile(u, fd, strlen(csv2), NULL, NULL, id, &df, err, sizeof(err)), 0);
	CHECK_STR(sget(df, "id"), id);
	CHECK_STR(sget(df, "name"), "upload_test.csv");
	CHECK_INT(cJSON_GetObjectItem(df, "size")->valuedouble, strlen(csv2));
	b = stored(e, id, &n);
	CHECK(b && n == strlen(csv2) && !memcmp(b, csv2, n));
	free(b);
	cJSON_Delete(df);

	/* a PUT that meets a 503 is sent again, whole */
	char fault[256];
	snprintf(fault, sizeof(fault),
		 "{\"mode\":\"status\",\"status\":503,\"count\":1,\"match\":\"PUT /api/v1/data-files/%s\"}",
		 id);
	CHECK_INT(simenv_fault(e, fault), 0);
	sim_reset_counts(e->sim);
	CHECK_INT(upload_datafile(u, fd, strlen(csv2), NULL, NULL, id, NULL, err, sizeof(err)), 0);
	CHECK_INT(sim_count(e->sim, "PUT", "/api/v1/data-files/"), 2);
	b = stored(e, id, &n);
	CHECK(b && n == strlen(csv2) && !memcmp(b, csv2, n));
	free(b);

	/* replacing a file that is gone: ENOENT */
	CHECK_INT(upload_datafile(u, fd, strlen(csv2), NULL, NULL,
				  "00000000-0000-0000-0000-000000000000", NULL, err, sizeof(err)),
		  -ENOENT);
	close(fd);
	free(id);
}

static void test_names_refused_before_sending(struct simenv *e, struct upload *u)
{
	int fd = simenv_temp_fd("x\n", 2);
	char err[512];
	char longname[UPLOAD_NAME_MAX + 8];
	memset(longname, 'a', sizeof(longname));
	strcpy(longname + UPLOAD_NAME_MAX - 2, ".csv"); /* 1026 bytes */
	const struct {
		const char *name;
		const char *says;
	} bad[] = {
		{ "noextension", "needs an extension" },
		{ "trailingdot.", "needs an extension" },
		{ "a<b.csv", "'<'" },
		{ "what?.csv", "'?'" },
		{ "c:d.csv", "':'" },
		{ "quote\".csv", "'\"'" },
		{ "pipe|.csv", "'|'" },
		{ "star*.csv", "'*'" },
		{ "program.exe", "\".exe\" is not allowed" },
		{ "/rooted.csv", "folder names" },
		{ "dir//x.csv", "folder names" },
		{ "dir/../x.csv", "folder names" },
		{ "dir/", "folder names" },
		{ "", "needs a name" },
		{ longname, "longer than" },
	};
	sim_reset_counts(e->sim);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_INT(upload_datafile(u, fd, 2, bad[i].name, NULL, NULL, NULL, err, sizeof(err)),
			  -EINVAL);
		if (!strstr(err, bad[i].says))
			fprintf(stderr, "  name \"%.40s\": message \"%s\"\n", bad[i].name, err);
		CHECK(strstr(err, bad[i].says) != NULL);
	}
	/* a rename through replace is checked too */
	CHECK_INT(upload_datafile(u, fd, 2, "bad>name.csv", NULL, "some-id", NULL, err,
				  sizeof(err)), -EINVAL);
	/* nothing was sent; the quotas were read at most once */
	CHECK_INT(sim_count(e->sim, "POST", NULL), 0);
	CHECK_INT(sim_count(e->sim, "PUT", NULL), 0);
	CHECK(sim_count(e->sim, "GET", "/api/v1/data-files/quotas") <= 1);
	/* allowed: folders, any case of an allowed extension, odd but legal characters */
	CHECK_INT(upload_check(u, "reports/2024/Q1 sales (final).CSV", 2, err, sizeof(err)), 0);
	CHECK_INT(upload_check(u, "données €.xlsx", 2, err, sizeof(err)), 0);
	/* larger than the tenant's maxFileSize: EFBIG, before sending */
	CHECK_INT(upload_check(u, "huge.csv", 600ull << 20, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "maximum file size") != NULL);
	CHECK_INT(upload_datafile(u, fd, 600ull << 20, "huge.csv", NULL, NULL, NULL, err,
				  sizeof(err)), -EFBIG);
	CHECK_INT(sim_count(e->sim, "POST", NULL), 0);
	close(fd);
}

/* Without the quotas, the tenant's own checks answer (and the simulator
 * enforces the same rules as the reference). */
static void test_tenant_refuses_when_quotas_unknown(void)
{
	struct simenv e;
	simenv_init(&e, 5000);
	CHECK_INT(simenv_fault(&e, "{\"status\":403,\"count\":100,\"match\":\"GET /api/v1/data-files/quotas\"}"), 0);
	struct upload_opts o = { .client = e.qc };
	struct upload *u = upload_new(&o);
	int fd = simenv_temp_fd("x\n", 2);
	char err[512];
	CHECK_INT(upload_datafile(u, fd, 2, "program.exe", NULL, NULL, NULL, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "400") && strstr(err, "DF-010"));
	CHECK_INT(upload_datafile(u, fd, 2, "x.pdf", NULL, NULL, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "DF-010") != NULL);
	/* the failed quota read is remembered: one GET for all of these */
	CHECK_INT(sim_count(e.sim, "GET", "/api/v1/data-files/quotas"), 1);
	/* still refused locally: no extension */
	CHECK_INT(upload_datafile(u, fd, 2, "noext", NULL, NULL, NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(sim_count(e.sim, "POST", NULL), 2);
	close(fd);
	upload_free(u);
	simenv_fini(&e);
}

static void test_into_a_space(struct simenv *e, struct upload *u)
{
	char *space = simenv_shared_space(e);
	char *conn = NULL, err[512];
	CHECK(space != NULL);
	CHECK_INT(upload_connection_id(u, space, &conn, err, sizeof(err)), 0);
	CHECK(conn && strlen(conn) == 36);
	const char *data = "a;b\n1;2\n";
	int fd = simenv_temp_fd(data, strlen(data));
	cJSON *df = NULL;
	CHECK_INT(upload_datafile(u, fd, strlen(data), "team/in_space.txt", conn, NULL, &df, err,
				  sizeof(err)), 0);
	CHECK_STR(sget(df, "spaceId"), space);
	CHECK_STR(sget(df, "name"), "team/in_space.txt");
	CHECK_STR(sget(df, "folderPath"), "team");
	cJSON_Delete(df);
	/* an unknown space has no connection */
	CHECK_INT(upload_connection_id(u, "000000000000000000000000", &conn, err, sizeof(err)),
		  -ENOENT);
	close(fd);
	free(conn);
	free(space);
}

/* A larger file streams through (the simulator reads it whole; curl would not). */
static void test_large_file(struct simenv *e, struct upload *u)
{
	size_t len = 8u << 20;
	char *big = malloc(len);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('0' + (i * 7) % 10);
	int fd = simenv_temp_fd(big, len);
	cJSON *df = NULL;
	char err[512];
	CHECK_INT(upload_datafile(u, fd, len, "big/eight_mib.csv", NULL, NULL, &df, err,
				  sizeof(err)), 0);
	size_t n = 0;
	unsigned char *b = df ? stored(e, sget(df, "id"), &n) : NULL;
	CHECK(b && n == len && !memcmp(b, big, len));
	free(b);
	cJSON_Delete(df);
	free(big);
	close(fd);
}

int main(void)
{
	struct simenv e;
	simenv_init(&e, 10000);
	struct upload_opts o = { .client = e.qc };
	struct upload *u = upload_new(&o);
	test_create_and_replace(&e, u);
	test_names_refused_before_sending(&e, u);
	test_into_a_space(&e, u);
	test_large_file(&e, u);
	upload_free(u);
	simenv_fini(&e);
	test_tenant_refuses_when_quotas_unknown();
	return check_done();
}
