/* Unit tests for trashent.c: the trash's entry description (format, parse,
 * what it refuses), entry names and expiry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/names.h"
#include "util/trashent.h"

static int parse_str(const char *s, struct trash_meta *m)
{
	return trashent_parse(s, strlen(s), m);
}

static void round_trip(void)
{
	struct trash_meta m = { .type = "app", .id = "f0714ca7-7093", .space_id = "sp1",
				.deleted_ms = 1714558923123LL, .qvf = true, .qvf_size = 312345 };
	m.name = strdup("Sales \"Q1\"\n");
	m.path = strdup("spaces/Finance/apps/Sales (f0714ca7-7093).json");
	char *txt = NULL;
	size_t len = 0;
	CHECK_INT(trashent_format(&m, &txt, &len), 0);
	CHECK(txt && len == strlen(txt) && txt[len - 1] == '\n');
	CHECK(txt && strstr(txt, "\"deletedAt\": \"2024-05-01T10:22:03.123Z\""));
	struct trash_meta b;
	CHECK_INT(trashent_parse(txt, len, &b), 0);
	CHECK_STR(b.type, "app");
	CHECK_STR(b.id, m.id);
	CHECK_STR(b.space_id, "sp1");
	CHECK_STR(b.name, m.name);
	CHECK_STR(b.path, m.path);
	CHECK_INT(b.deleted_ms, m.deleted_ms);
	CHECK(b.qvf && b.qvf_size == 312345);
	CHECK(!b.not_kept);
	trashent_clear(&b);
	free(txt);

	/* not kept, no space, no name; a space has no qvf field at all */
	free(m.name);
	m.name = NULL;
	m.qvf = false;
	m.space_id[0] = '\0';
	m.not_kept = strdup("app.qvf: over trash_qvf_max");
	snprintf(m.type, sizeof(m.type), "space");
	CHECK_INT(trashent_format(&m, &txt, &len), 0);
	CHECK(txt && !strstr(txt, "\"qvf\"") && !strstr(txt, "spaceId") && !strstr(txt, "\"name\""));
	CHECK_INT(trashent_parse(txt, len, &b), 0);
	CHECK_STR(b.not_kept, m.not_kept);
	CHECK(!b.name && !b.space_id[0] && !b.qvf);
	trashent_clear(&b);
	free(txt);

	/* what format refuses */
	snprintf(m.type, sizeof(m.type), "App");
	CHECK_INT(trashent_format(&m, &txt, &len), -EINVAL);
	snprintf(m.type, sizeof(m.type), "app");
	m.id[0] = '\0';
	CHECK_INT(trashent_format(&m, &txt, &len), -EINVAL);
	snprintf(m.id, sizeof(m.id), "a/b");
	CHECK_INT(trashent_format(&m, &txt, &len), -EINVAL);
	snprintf(m.id, sizeof(m.id), "ok");
	m.deleted_ms = 253402300800000LL; /* year 10000 */
	CHECK_INT(trashent_format(&m, &txt, &len), -EINVAL);
	m.deleted_ms = 0;
	m.path[0] = '\0';
	CHECK_INT(trashent_format(&m, &txt, &len), -EINVAL);
	trashent_clear(&m);
}

static void refusals(void)
{
	struct trash_meta m;
	static const char *const bad[] = {
		"",
		"[]",
		"{\"format\":2,\"type\":\"app\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\"}",
		"{\"format\":1,\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\"}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\"}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"\",\"deletedAt\":\"2024-01-01T00:00:00Z\"}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"yesterday\"}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":1}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\",\"qvf\":1}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\",\"qvfSize\":-1}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\",\"qvfSize\":1.5}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\",\"name\":7}",
		"{\"format\":1,\"type\":\"app\",\"id\":\"x\",\"path\":\"a\\nb\",\"deletedAt\":\"2024-01-01T00:00:00Z\"}",
		"{\"format\":1,\"type\":\"a pp\",\"id\":\"x\",\"path\":\"p\",\"deletedAt\":\"2024-01-01T00:00:00Z\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_str(bad[i], &m);
		if (rc != -EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(rc, -EINVAL);
		CHECK(!m.path && !m.name && !m.type[0]);
	}
	/* unknown fields are ignored */
	CHECK_INT(parse_str("{\"format\":1,\"type\":\"data-file\",\"id\":\"x\",\"path\":\"p\","
			    "\"deletedAt\":\"2024-01-01T00:00:00Z\",\"later\":[1]}", &m), 0);
	CHECK_STR(m.type, "data-file");
	trashent_clear(&m);
}

static void names(void)
{
	char out[NAMES_MAX + 1], dec[4096];
	ssize_t l = trashent_name(1714558923123LL, "spaces/Finance/apps/Sales (abc).json", 1, out,
				  sizeof(out));
	CHECK_STR(out, "2024-05-01T102203Z spaces\xef\xbc\x8f" "Finance\xef\xbc\x8f" "apps\xef\xbc\x8f"
		       "Sales (abc)");
	CHECK_INT(l, (ssize_t)strlen(out));
	/* the path part decodes back (names.c's mapping) */
	CHECK(names_decode(out + 19, dec, sizeof(dec)) > 0 &&
	      !strcmp(dec, "spaces/Finance/apps/Sales (abc)"));
	trashent_name(1714558923123LL, "spaces/HR", 3, out, sizeof(out));
	CHECK_STR(out, "2024-05-01T102203Z spaces\xef\xbc\x8fHR #3");
	/* a long path keeps its end within NAME_MAX */
	char longp[2000] = "spaces/";
	for (int i = 0; i < 60; i++)
		strcat(longp, "\xc3\xa9t\xc3\xa9/");
	strcat(longp, "apps/The end (id).json");
	l = trashent_name(0, longp, 12, out, sizeof(out));
	CHECK(l > 0 && l <= NAMES_MAX && (size_t)l == strlen(out));
	CHECK(strstr(out, "\xe2\x80\xa6") && strstr(out, "The end (id) #12"));
	CHECK(!strchr(out, '/'));
	CHECK_INT(trashent_name(0, "", 1, out, sizeof(out)), -EINVAL);
	CHECK_INT(trashent_name(0, "x", 1, out, 10), -ENAMETOOLONG);
}

int main(void)
{
	round_trip();
	refusals();
	names();
	CHECK(!trashent_expired(1000, 1000 + 7 * 86400000LL, 7 * 86400000LL));
	CHECK(trashent_expired(1000, 1001 + 7 * 86400000LL, 7 * 86400000LL));
	CHECK(!trashent_expired(5000, 1000, 10)); /* from the future: kept */
	CHECK(trashent_expired(-9000000000000000000LL, 9000000000000000000LL, 1));
	CHECK(!trashent_expired(0, 100, 0));
	return check_done();
}
