/*
 * url_chars.h - the character classes of RFC 3986 that url.c and
 * url_parse.c share.
 */
#ifndef QLIKFS_URL_CHARS_H
#define QLIKFS_URL_CHARS_H

#include <stdbool.h>

static inline bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_unreserved(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static inline int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c;
}

#endif
