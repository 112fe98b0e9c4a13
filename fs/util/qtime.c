/*
 * qtime.c - RFC 3339 timestamps <-> milliseconds since the epoch.
 *
 * Responsibility: the single parser/formatter of Qlik's timestamps.  HTTP
 * dates (the Date header) are libcurl's curl_getdate(), in a range check.
 *
 * Invariants: no libc time functions (no TZ, no locale); days_from_civil()
 * and civil_from_days() are exact inverses over the proleptic Gregorian
 * calendar (H. Hinnant's algorithms); parsed values stay far from int64
 * overflow because years are limited to 0000..9999.
 */
#include "util/qtime.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <curl/curl.h>

#define MS_PER_DAY 86400000LL

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n digits at *p; advances *p.  Returns the value or -1. */
static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

int qtime_parse_ms(const char *s, int64_t *ms)
{
	if (!s || !ms)
		return -EINVAL;

	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;

	if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 0)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -EINVAL;
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -EINVAL;
		p++;
		if ((h = digits(&p, 2)) < 0 || *p++ != ':' || (mi = digits(&p, 2)) < 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if ((sec = digits(&p, 2)) < 0)
				return -EINVAL;
			if (*p == '.' || *p == ',') {
				int nd = 0;

				for (p++; *p >= '0' && *p <= '9'; p++, nd++)
					if (nd < 3)
						frac = frac * 10 + (*p - '0');
				if (nd == 0)
					return -EINVAL;
				for (; nd < 3; nd++)
					frac *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -EINVAL;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;
			int oh, om = 0;

			if ((oh = digits(&p, 2)) < 0)
				return -EINVAL;
			if (*p == ':') {
				p++;
				if ((om = digits(&p, 2)) < 0)
					return -EINVAL;
			} else if (*p) {
				if ((om = digits(&p, 2)) < 0)
					return -EINVAL;
			}
			if (oh > 23 || om > 59)
				return -EINVAL;
			off = sign * (oh * 60 + om);
		}
		if (*p)
			return -EINVAL;
	}
	int64_t t = days_from_civil(y, mo, d) * MS_PER_DAY;

	t += ((int64_t)h * 3600 + mi * 60 + sec - (int64_t)off * 60) * 1000 + frac;
	*ms = t;
	return 0;
}

int qtime_format_ms(int64_t ms, char *buf, size_t n)
{
	/* Range of years 0000..9999, checked before any arithmetic can overflow. */
	const int64_t lo = days_from_civil(0, 1, 1) * MS_PER_DAY;
	const int64_t hi = days_from_civil(10000, 1, 1) * MS_PER_DAY;

	if (!buf || n < QTIME_BUFSZ || ms < lo || ms >= hi)
		return -ERANGE;

	int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;

	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	int64_t y;
	int m, d;

	civil_from_days(days, &y, &m, &d);
	return snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d,
			(int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
			(int)(rem % 1000));
}

int qtime_parse_http_date(const char *s, int64_t *ms)
{
	/* libcurl's parser; 0 is its answer for the second before the epoch, -1
	 * its failure: a Date header is never that old */
	const time_t lo = 0, hi = (time_t)(days_from_civil(10000, 1, 1) * 86400);
	time_t t = s && ms ? curl_getdate(s, NULL) : -1;
	if (t <= lo || t >= hi)
		return -EINVAL;
	*ms = (int64_t)t * 1000;
	return 0;
}
