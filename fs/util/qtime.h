/*
 * qtime.h - parsing and formatting the timestamps Qlik sends.
 *
 * Pure functions: no locale, no TZ environment, no timegm(); all calendar
 * arithmetic of RFC 3339 times is done here (proleptic Gregorian calendar,
 * UTC); HTTP dates are libcurl's.
 */
#ifndef QLIKFS_QTIME_H
#define QLIKFS_QTIME_H

#include <stddef.h>
#include <stdint.h>

#define QTIME_BUFSZ 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/*
 * Parses an RFC 3339 / ISO 8601 timestamp:
 *   YYYY-MM-DD[(T|t| )HH:MM[:SS[.fraction]][Z|z|(+|-)HH[[:]MM]]]
 * e.g. "2024-01-25T17:52:25Z", "2024-01-09T09:13:38.002Z",
 * "2024-01-09T09:13:38.1234567+02:00", "2024-01-09t09:13:38-0500".
 *  - The fraction may have any number of digits (at least one); it is
 *    truncated (not rounded) to milliseconds.
 *  - A missing offset means UTC (Qlik always sends one; this is lenient on
 *    purpose), a date alone means midnight UTC.
 *  - Fields are range-checked: month 1..12, day within the month (leap
 *    years included), hour 0..23, minute 0..59, second 0..60 (a leap second
 *    counts as the next minute's :00), offset hours 0..23, minutes 0..59.
 *  - Years are exactly four digits (0000..9999); dates before 1970 give
 *    negative values.
 * Returns 0 and the milliseconds since 1970-01-01T00:00:00Z in *ms, or
 * -EINVAL (NULL, "", anything else, trailing characters); *ms is untouched
 * on failure.
 */
int qtime_parse_ms(const char *s, int64_t *ms);

/*
 * Formats ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into buf.
 * Returns the length (24), or -ERANGE when n < QTIME_BUFSZ or the year is
 * outside 0000..9999 (buf untouched then).
 */
int qtime_format_ms(int64_t ms, char *buf, size_t n);

/*
 * Parses an HTTP date (RFC 9110 section 5.6.7), the value of a Date header,
 * with libcurl's curl_getdate(): the IMF-fixdate "Sun, 06 Nov 1994 08:49:37
 * GMT", and the obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT"; libcurl
 * reads two-digit years 71..99 as 19xx, 00..70 as 20xx) and asctime ("Sun
 * Nov  6 08:49:37 1994") forms, and what else curl_getdate reads (a missing
 * weekday or zone, another zone name or a numeric offset, words it does not
 * know).  The weekday is not checked against the date, nor the day against
 * the month (31 Nov is 1 Dec).  Returns 0 with the milliseconds since the
 * epoch in *ms (always a whole second, after 1970 and before the year
 * 10000), or -EINVAL (*ms untouched).
 */
int qtime_parse_http_date(const char *s, int64_t *ms);

#endif
