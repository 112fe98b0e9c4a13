/*
 * test_qtime.c - fs/qtime.c: precision variants, offsets, calendar edges,
 * invalid strings, formatting, and a cross-check against timegm().
 */
#include "check.h"
#include "util/qtime.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void ok(const char *s, int64_t want)
{
	int64_t ms = 12345;
	int rc = qtime_parse_ms(s, &ms);

	if (rc != 0 || ms != want) {
		fprintf(stderr, "parse '%s': rc %d ms %lld want %lld\n", s, rc, (long long)ms,
			(long long)want);
		CHECK(0);
	} else {
		CHECK(1);
	}
}

static void bad(const char *s)
{
	int64_t ms = 12345;
	int rc = qtime_parse_ms(s, &ms);

	if (rc != -EINVAL || ms != 12345) {
		fprintf(stderr, "parse '%s' should fail: rc %d\n", s ? s : "(null)", rc);
		CHECK(0);
	} else {
		CHECK(1);
	}
}

static void fmt(int64_t ms, const char *want)
{
	char b[QTIME_BUFSZ];

	CHECK_INT(qtime_format_ms(ms, b, sizeof(b)), 24);
	CHECK_STR(b, want);
}

/* HTTP dates are libcurl's curl_getdate() within 1970..9999: the three
 * forms of RFC 9110, and its leniency where we rely on it being harmless. */
static void http_date(void)
{
	const int64_t t = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
	int64_t ms = 5;

	CHECK(qtime_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &ms) == 0 && ms == t);
	CHECK(qtime_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &ms) == 0 && ms == t);
	CHECK(qtime_parse_http_date("Sun Nov  6 08:49:37 1994", &ms) == 0 && ms == t);
	CHECK(qtime_parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT", &ms) == 0 &&
	      ms == 1709251199000LL);
	CHECK(qtime_parse_http_date("Tuesday, 01-Jan-30 00:00:00 GMT", &ms) == 0 &&
	      ms == 1893456000000LL);
	CHECK(qtime_parse_http_date("Thu, 01 Jan 1970 00:00:01 GMT", &ms) == 0 && ms == 1000);
	CHECK(qtime_parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT", &ms) == 0 &&
	      ms == 253402300799000LL);
	/* lenient: no weekday, no zone, another zone */
	CHECK(qtime_parse_http_date("06 Nov 1994 08:49:37 GMT", &ms) == 0 && ms == t);
	CHECK(qtime_parse_http_date("Sun, 06 Nov 1994 08:49:37", &ms) == 0 && ms == t);
	CHECK(qtime_parse_http_date("Sun, 06 Nov 1994 09:49:37 +0100", &ms) == 0 && ms == t);
	ms = 5;
	static const char *const badv[] = {
		"", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMTx", "Sun", "1994-11-06T08:49:37Z",
		"Thu, 01 Jan 1970 00:00:00 GMT", "Wed, 31 Dec 1969 23:59:59 GMT",
		"Sat, 01 Jan 1000 00:00:00 GMT", "Sat, 01 Jan 10000 00:00:00 GMT",
	};
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++)
		CHECK(qtime_parse_http_date(badv[i], &ms) == -EINVAL && ms == 5);
	CHECK(qtime_parse_http_date(NULL, &ms) == -EINVAL);
}

int main(void)
{
	const int64_t t = 1706205145000LL; /* 2024-01-25T17:52:25Z */

	ok("2024-01-25T17:52:25Z", t);
	ok("2024-01-25t17:52:25z", t);
	ok("2024-01-25 17:52:25Z", t);
	ok("2024-01-25T17:52:25.0Z", t);
	ok("2024-01-25T17:52:25.002Z", t + 2);
	ok("2024-01-25T17:52:25.1Z", t + 100);
	ok("2024-01-25T17:52:25.12Z", t + 120);
	ok("2024-01-25T17:52:25.123Z", t + 123);
	ok("2024-01-25T17:52:25.1239Z", t + 123);	 /* truncated, not rounded */
	ok("2024-01-25T17:52:25.9999999Z", t + 999);	 /* .NET 7 digits */
	ok("2024-01-25T17:52:25.123456789012345Z", t + 123);
	ok("2024-01-25T17:52:25,5Z", t + 500);
	ok("2024-01-25T19:52:25+02:00", t);
	ok("2024-01-25T19:52:25.5+02:00", t + 500);
	ok("2024-01-25T12:52:25-0500", t);
	ok("2024-01-25T12:52:25-05", t);
	ok("2024-01-25T23:22:25+05:30", t);
	ok("2024-01-25T17:52:25+00:00", t);
	ok("2024-01-25T17:52:25-00:00", t);
	ok("2024-01-26T05:52:25+12:00", t);
	ok("2024-01-25T17:52:25", t); /* no offset: UTC */
	ok("2024-01-25T17:52", t - 25000);
	ok("2024-01-25T17:52Z", t - 25000);
	ok("2024-01-25", t - (17 * 3600 + 52 * 60 + 25) * 1000LL);
	/* epoch boundaries */
	ok("1970-01-01T00:00:00Z", 0);
	ok("1970-01-01T00:00:00.001Z", 1);
	ok("1969-12-31T23:59:59.999Z", -1);
	ok("1970-01-01T01:00:00+01:00", 0);
	ok("1969-12-31T00:00:00Z", -86400000LL);
	ok("1900-01-01T00:00:00Z", -2208988800000LL);
	ok("0000-01-01T00:00:00Z", -62167219200000LL);
	ok("9999-12-31T23:59:59.999Z", 253402300799999LL);
	ok("2038-01-19T03:14:08Z", 2147483648000LL);
	/* leap days and leap seconds */
	ok("2024-02-29T00:00:00Z", 1709164800000LL);
	ok("2000-02-29T00:00:00Z", 951782400000LL);
	ok("2024-03-01T00:00:00Z", 1709251200000LL);
	ok("2016-12-31T23:59:60Z", 1483228800000LL);
	ok("2024-12-31T23:59:59Z", 1735689599000LL);

	bad(NULL);
	bad("");
	bad("2024");
	bad("2024-01");
	bad("2023-02-29T00:00:00Z");
	bad("1900-02-29T00:00:00Z");
	bad("2024-02-30T00:00:00Z");
	bad("2024-04-31T00:00:00Z");
	bad("2024-13-01T00:00:00Z");
	bad("2024-00-01T00:00:00Z");
	bad("2024-01-00T00:00:00Z");
	bad("2024-01-32T00:00:00Z");
	bad("2024-01-25T24:00:00Z");
	bad("2024-01-25T23:60:00Z");
	bad("2024-01-25T23:59:61Z");
	bad("2024-01-25T17:52:25.Z");
	bad("2024-01-25T17:52:25.");
	bad("2024-01-25T17:52:25ZZ");
	bad("2024-01-25T17:52:25Z ");
	bad(" 2024-01-25T17:52:25Z");
	bad("2024-01-25T17:52:25+2:00");
	bad("2024-01-25T17:52:25+02:0");
	bad("2024-01-25T17:52:25+24:00");
	bad("2024-01-25T17:52:25+02:60");
	bad("2024-01-25T17:52:25+020");
	bad("2024-01-25T17:52:25+");
	bad("2024-01-25T17:52:25UTC");
	bad("2024-01-25T7:52:25Z");
	bad("2024-01-25T17:5:25Z");
	bad("2024-01-25T17:52:2Z");
	bad("2024-01-25T");
	bad("2024-01-25X17:52:25Z");
	bad("2024/01/25T17:52:25Z");
	bad("24-01-25T17:52:25Z");
	bad("+2024-01-25T17:52:25Z");
	bad("-2024-01-25T17:52:25Z");
	bad("20240125T175225Z");
	bad("2024-01-25T17:52:25.-1Z");
	bad("2024-01-25T17:52:25\xef\xbc\x9a");
	bad("1706205145000");
	bad("null");

	/* formatting */
	fmt(t, "2024-01-25T17:52:25.000Z");
	fmt(t + 2, "2024-01-25T17:52:25.002Z");
	fmt(0, "1970-01-01T00:00:00.000Z");
	fmt(-1, "1969-12-31T23:59:59.999Z");
	fmt(-86400000LL, "1969-12-31T00:00:00.000Z");
	fmt(1709164800000LL, "2024-02-29T00:00:00.000Z");
	fmt(253402300799999LL, "9999-12-31T23:59:59.999Z");
	fmt(-62167219200000LL, "0000-01-01T00:00:00.000Z");
	char b[64] = "keep";

	CHECK_INT(qtime_format_ms(253402300800000LL, b, sizeof(b)), -ERANGE);
	CHECK_INT(qtime_format_ms(-62167219200001LL, b, sizeof(b)), -ERANGE);
	CHECK_INT(qtime_format_ms(INT64_MAX, b, sizeof(b)), -ERANGE);
	CHECK_INT(qtime_format_ms(INT64_MIN, b, sizeof(b)), -ERANGE);
	CHECK_INT(qtime_format_ms(0, b, 24), -ERANGE);
	CHECK_STR(b, "keep");

	/* format -> parse round trip, and cross-check against timegm() */
	uint64_t x = 88172645463325252ULL;
	int fails = 0;

	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int64_t ms = (int64_t)(x % 400000000000000ULL) - 62167219200000LL;
		int64_t back;

		if (ms >= 253402300800000LL)
			continue;
		if (qtime_format_ms(ms, b, sizeof(b)) != 24 || qtime_parse_ms(b, &back) || back != ms) {
			fails++;
			continue;
		}
		struct tm tm = { 0 };
		int64_t floor_s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);

		tm.tm_year = atoi(b) - 1900;
		tm.tm_mon = atoi(b + 5) - 1;
		tm.tm_mday = atoi(b + 8);
		tm.tm_hour = atoi(b + 11);
		tm.tm_min = atoi(b + 14);
		tm.tm_sec = atoi(b + 17);
		if ((int64_t)timegm(&tm) != floor_s)
			fails++;
	}
	CHECK_INT(fails, 0);
	http_date();
	return check_done();
}
