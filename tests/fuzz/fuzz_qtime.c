/*
 * fuzz_qtime.c - qtime.c and the Retry-After parser: timestamps of server
 * JSON (RFC 3339, our parser), Date headers (HTTP dates: libcurl's
 * curl_getdate() in our range check), Retry-After values.
 *
 * Invariants: a parsed RFC 3339 time formats (when its year is in
 * 0000..9999) to a string that parses to the same millisecond; an HTTP date
 * is a whole second after 1970 and before the year 10000, and its formatted
 * form parses back to it; failures leave the output untouched; Retry-After
 * is always 1..600 s.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "client/qclient.h"
#include "util/qtime.h"

#define UNTOUCHED ((int64_t)0x5A5A5A5A5A5A5A5ALL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char *s = fz_strndup(data, size);
	char buf[QTIME_BUFSZ];
	int64_t ms = UNTOUCHED, back = UNTOUCHED;

	int rc = qtime_parse_ms(s, &ms);
	FZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		FZ_CHECK(ms == UNTOUCHED);
	} else {
		int n = qtime_format_ms(ms, buf, sizeof(buf));
		FZ_CHECK(n == 24 || n == -ERANGE);
		if (n == 24) {
			FZ_CHECK(strlen(buf) == 24);
			FZ_CHECK(qtime_parse_ms(buf, &back) == 0 && back == ms);
		}
	}

	ms = UNTOUCHED;
	rc = qtime_parse_http_date(s, &ms);
	FZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		FZ_CHECK(ms == UNTOUCHED);
	} else {
		FZ_CHECK(ms % 1000 == 0 && ms > 0);
		FZ_CHECK(qtime_format_ms(ms, buf, sizeof(buf)) == 24);
		FZ_CHECK(qtime_parse_ms(buf, &back) == 0 && back == ms);
	}

	/* the input as milliseconds to format */
	if (size >= 8) {
		int64_t v;
		memcpy(&v, data, sizeof(v));
		char small[QTIME_BUFSZ] = "keep";
		int n = qtime_format_ms(v, small, sizeof(small));
		FZ_CHECK(n == 24 || (n == -ERANGE && !strcmp(small, "keep")));
		if (n == 24)
			FZ_CHECK(qtime_parse_ms(small, &back) == 0 && back == v);
	}

	long ra = qclient_retry_after_ms(s);
	FZ_CHECK(ra >= 1000 && ra <= 600000);
	free(s);
	return 0;
}
