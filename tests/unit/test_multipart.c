/*
 * test_multipart.c - multipart/form-data bodies as streaming sources: exact
 * bytes, length known up front, positional re-reads, escaping, limits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "actions/multipart.h"

/* Reads the whole source in chunks of `chunk` bytes; malloc'd, NUL-terminated. */
static char *drain(const struct http_body_source *s, size_t chunk, size_t *len)
{
	char *b = malloc(s->len + 1);
	uint64_t off = 0;
	while (off < s->len) {
		ssize_t r = s->read(s->arg, off, b + off, chunk);
		if (r <= 0) {
			free(b);
			return NULL;
		}
		off += (uint64_t)r;
	}
	b[off] = 0;
	*len = (size_t)off;
	return b;
}

static int temp_file(const char *content)
{
	char path[] = "/tmp/qlikfs-mp-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		abort();
	return fd;
}

static void test_exact_bytes(void)
{
	struct multipart *m = multipart_new();
	CHECK(m != NULL);
	const char *ct = multipart_content_type(m);
	CHECK(strncmp(ct, "multipart/form-data; boundary=qlikfs-form-", 42) == 0);
	const char *b = strstr(ct, "boundary=") + 9;
	CHECK_INT(strlen(b), 44);
	CHECK(multipart_source(m) == NULL); /* not before finish */
	int fd = temp_file("a,b\n1,2\n");
	const char *json = "{\"name\":\"x.csv\"}";
	CHECK_INT(multipart_add_data(m, "Json", NULL, "application/json", json, strlen(json)), 0);
	CHECK_INT(multipart_add_fd(m, "File", "x.csv", "application/octet-stream", fd, 8), 0);
	CHECK_INT(multipart_finish(m), 0);
	CHECK_INT(multipart_finish(m), -EINVAL);
	CHECK_INT(multipart_add_data(m, "late", NULL, NULL, "x", 1), -EINVAL);

	char want[1024];
	snprintf(want, sizeof(want),
		 "--%s\r\nContent-Disposition: form-data; name=\"Json\"\r\n"
		 "Content-Type: application/json\r\n\r\n%s"
		 "\r\n--%s\r\nContent-Disposition: form-data; name=\"File\"; filename=\"x.csv\"\r\n"
		 "Content-Type: application/octet-stream\r\n\r\na,b\n1,2\n"
		 "\r\n--%s--\r\n",
		 b, json, b, b);
	const struct http_body_source *s = multipart_source(m);
	CHECK_INT(s->len, strlen(want));
	size_t chunks[] = { 1, 7, 64, 4096 };
	for (size_t i = 0; i < 4; i++) {
		size_t len = 0;
		char *got = drain(s, chunks[i], &len);
		CHECK(got && len == strlen(want) && memcmp(got, want, len) == 0);
		free(got);
	}
	/* reads at any offset (a retry restarts at 0, libcurl may seek) */
	char one[8];
	CHECK_INT(s->read(s->arg, 2, one, 5), 5);
	CHECK(memcmp(one, want + 2, 5) == 0);
	CHECK_INT(s->read(s->arg, s->len, one, 5), 0);
	/* the fd's own offset is never moved */
	CHECK_INT(lseek(fd, 0, SEEK_CUR), 8);
	multipart_free(m);

	/* a file shorter than announced: the source ends early (read returns 0) */
	m = multipart_new();
	CHECK_INT(multipart_add_fd(m, "File", "x.csv", NULL, fd, 100), 0);
	CHECK_INT(multipart_finish(m), 0);
	size_t len;
	CHECK(drain(multipart_source(m), 4096, &len) == NULL);
	multipart_free(m);
	close(fd);
}

static void test_boundary_random_and_escaping(void)
{
	struct multipart *a = multipart_new(), *b = multipart_new();
	CHECK(strcmp(multipart_content_type(a), multipart_content_type(b)) != 0);
	CHECK_INT(multipart_add_data(a, "F\"x", "evil\"\r\nX-Injected: 1.csv", NULL, "", 0), 0);
	CHECK_INT(multipart_finish(a), 0);
	size_t len;
	char *got = drain(multipart_source(a), 4096, &len);
	CHECK(got && strstr(got, "name=\"F%22x\"; filename=\"evil%22%0D%0AX-Injected: 1.csv\"\r\n"));
	CHECK(got && !strstr(got, "\r\nX-Injected"));
	free(got);
	multipart_free(a);
	multipart_free(b);
	multipart_free(NULL);
}

static void test_limits(void)
{
	struct multipart *m = multipart_new();
	CHECK_INT(multipart_finish(m), -EINVAL); /* no part */
	CHECK_INT(multipart_add_data(m, "", NULL, NULL, "x", 1), -EINVAL);
	CHECK_INT(multipart_add_data(m, NULL, NULL, NULL, "x", 1), -EINVAL);
	CHECK_INT(multipart_add_data(m, "a", NULL, "text/plain\r\nX: y", "x", 1), -EINVAL);
	CHECK_INT(multipart_add_fd(m, "a", NULL, NULL, -1, 1), -EINVAL);
	char *big = malloc(MULTIPART_MAX_NAME + 2);
	memset(big, 'n', MULTIPART_MAX_NAME + 1);
	big[MULTIPART_MAX_NAME + 1] = 0;
	CHECK_INT(multipart_add_data(m, big, NULL, NULL, "x", 1), -EINVAL);
	free(big);
	CHECK_INT(multipart_add_data(m, "m", NULL, NULL, NULL, MULTIPART_MAX_MEM + 1), -E2BIG);
	for (int i = 0; i < MULTIPART_MAX_PARTS; i++)
		CHECK_INT(multipart_add_data(m, "p", NULL, NULL, "x", 1), 0);
	CHECK_INT(multipart_add_data(m, "p", NULL, NULL, "x", 1), -E2BIG);
	CHECK_INT(multipart_finish(m), 0);
	size_t len;
	char *got = drain(multipart_source(m), 13, &len);
	CHECK(got != NULL);
	free(got);
	multipart_free(m);
}

int main(void)
{
	test_exact_bytes();
	test_boundary_random_and_escaping();
	test_limits();
	return check_done();
}
