/*
 * names.c - reversible, safe, stable directory entry names (see names.h).
 *
 * Responsibility: the bijection between server names (arbitrary C strings)
 * and encoded path components, plus the " (<id>)<ext>" decoration.
 *
 * Structure: the encoder and decoder work on byte spans and emit through a
 * struct sink that either counts (out == NULL) or writes.  Every public
 * function first runs in counting mode, checks the result against the
 * caller's buffer and only then writes, so failures never touch out-params.
 *
 * Invariants:
 *  - the encoder emits whole "units" (one source character or byte turned
 *    into 1..7 output bytes); a sink limit cuts only between units;
 *  - decode_span() accepts a component iff the encoder would produce it:
 *    each unit must be canonical, and a run of raw-byte units (U+F780..
 *    U+F7FF) is accepted only if no valid UTF-8 sequence starts inside the
 *    decoded run (otherwise the encoder would have kept those bytes as a
 *    character).  Decoded non-raw units always start with a non-continuation
 *    byte, so a sequence can never straddle a run boundary.
 */
#include "util/names.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define CP_ESC 0x201B	   /* ‛ */
#define CP_SLASH 0xFF0F	   /* ／ */
#define CP_FULLSTOP 0xFF0E /* ． */
#define CP_DEL 0x2421	   /* ␡ */
#define CP_CTRL0 0x2400	   /* ␀ + c for c in 0x01..0x1F */
#define CP_RAW0 0xF700	   /* + invalid byte (0x80..0xFF) */

static const char ELLIPSIS[] = "\xe2\x80\xa6"; /* … */
static const char FULLSTOP[] = "\xef\xbc\x8e"; /* ． */
static const char ESC[] = "\xe2\x80\x9b";      /* ‛ */

struct sink {
	char *out;    /* NULL: count only */
	size_t len;   /* bytes emitted so far */
	size_t limit; /* emit whole units only while len stays <= limit */
	bool cut;     /* a unit was refused because of limit */
};

static bool sink_put(struct sink *k, const void *p, size_t n)
{
	if (k->cut || n > k->limit - k->len) {
		k->cut = true;
		return false;
	}
	if (k->out)
		memcpy(k->out + k->len, p, n);
	k->len += n;
	return true;
}

/*
 * Length of the strict (RFC 3629) UTF-8 sequence at s (n bytes available)
 * and its code point in *cp, or 0 when s does not start a valid sequence.
 */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	uint32_t v = c & (0x7F >> len);
	for (size_t i = 1; i < len; i++)
		v = (v << 6) | (s[i] & 0x3F);
	*cp = v;
	return len;
}

static size_t utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Characters that must be escaped with ‛ when they occur literally. */
static bool is_special(uint32_t cp)
{
	return cp == CP_SLASH || (cp >= CP_CTRL0 + 0x01 && cp <= CP_CTRL0 + 0x1F) ||
	       cp == CP_DEL || cp == CP_ESC || (cp >= CP_RAW0 && cp <= CP_RAW0 + 0xFF);
}

static bool span_is(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* Emits the encoding of the server name s[0..n) into k, stopping at k->limit. */
static void encode_span(struct sink *k, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (n == 0) {
		sink_put(k, ESC, 3);
		return;
	}
	if (span_is(s, n, ".") || span_is(s, n, "..")) {
		for (i = 0; i < n; i++)
			sink_put(k, FULLSTOP, 3);
		return;
	}
	if (span_is(s, n, FULLSTOP) || (n == 6 && memcmp(s, "\xef\xbc\x8e\xef\xbc\x8e", 6) == 0)) {
		for (i = 0; i < n; i += 3)
			if (!sink_put(k, ESC, 3) || !sink_put(k, FULLSTOP, 3))
				return;
		return;
	}
	while (i < n) {
		char u[8];
		size_t ulen = 0;
		uint32_t cp;
		size_t l = utf8_next(p + i, n - i, &cp);

		if (l == 0) {
			ulen = utf8_put(u, CP_RAW0 + p[i]);
			l = 1;
		} else if (cp == '/') {
			ulen = utf8_put(u, CP_SLASH);
		} else if (cp >= 0x01 && cp <= 0x1F) {
			ulen = utf8_put(u, CP_CTRL0 + cp);
		} else if (cp == 0x7F) {
			ulen = utf8_put(u, CP_DEL);
		} else {
			if (is_special(cp))
				ulen = utf8_put(u, CP_ESC);
			ulen += utf8_put(u + ulen, cp);
		}
		if (!sink_put(k, u, ulen))
			return;
		i += l;
	}
}

/* The raw byte a code point stands for, or -1 if it is not a raw-byte unit. */
static int raw_byte(uint32_t cp)
{
	return cp >= CP_RAW0 + 0x80 && cp <= CP_RAW0 + 0xFF ? (int)(cp - CP_RAW0) : -1;
}

/*
 * Decodes the component c[0..n) into k (which must have no limit problem:
 * decoding never grows, callers give limit SIZE_MAX).  Returns 0 or -EINVAL
 * when c is not exactly an output of encode_span().
 */
static int decode_span(struct sink *k, const char *c, size_t n)
{
	const unsigned char *p = (const unsigned char *)c;
	size_t i = 0;

	if (n == 0 || span_is(c, n, ".") || span_is(c, n, ".."))
		return -EINVAL;
	if (span_is(c, n, ESC))
		return 0;
	if (span_is(c, n, FULLSTOP)) {
		sink_put(k, ".", 1);
		return 0;
	}
	if (n == 6 && memcmp(c, "\xef\xbc\x8e\xef\xbc\x8e", 6) == 0) {
		sink_put(k, "..", 2);
		return 0;
	}
	if (n == 6 && memcmp(c, "\xe2\x80\x9b\xef\xbc\x8e", 6) == 0) {
		sink_put(k, FULLSTOP, 3);
		return 0;
	}
	if (n == 12 && memcmp(c, "\xe2\x80\x9b\xef\xbc\x8e\xe2\x80\x9b\xef\xbc\x8e", 12) == 0) {
		sink_put(k, FULLSTOP, 3);
		sink_put(k, FULLSTOP, 3);
		return 0;
	}
	while (i < n) {
		uint32_t cp;
		size_t l = utf8_next(p + i, n - i, &cp);
		char u[4];
		size_t ulen;
		int raw;

		if (l == 0 || cp == '/' || cp < 0x20 || cp == 0x7F)
			return -EINVAL;
		i += l;
		if (cp == CP_ESC) {
			if (i >= n)
				return -EINVAL;
			l = utf8_next(p + i, n - i, &cp);
			if (l == 0 || !is_special(cp))
				return -EINVAL;
			i += l;
			ulen = utf8_put(u, cp);
		} else if (cp == CP_SLASH) {
			ulen = utf8_put(u, '/');
		} else if (cp > CP_CTRL0 && cp <= CP_CTRL0 + 0x1F) {
			ulen = utf8_put(u, cp - CP_CTRL0);
		} else if (cp == CP_DEL) {
			ulen = utf8_put(u, 0x7F);
		} else if ((raw = raw_byte(cp)) >= 0) {
			/* The encoder emits a raw unit only where no valid
			 * sequence starts: look at up to 3 following raw units. */
			unsigned char b[4] = { (unsigned char)raw };
			size_t nb = 1, j = i;
			uint32_t dummy;

			while (nb < 4 && j < n) {
				uint32_t cp2;
				size_t l2 = utf8_next(p + j, n - j, &cp2);
				int r2 = l2 ? raw_byte(cp2) : -1;

				if (r2 < 0)
					break;
				b[nb++] = (unsigned char)r2;
				j += l2;
			}
			if (utf8_next(b, nb, &dummy) != 0)
				return -EINVAL;
			u[0] = (char)raw;
			ulen = 1;
		} else if (is_special(cp)) {
			return -EINVAL; /* unescaped ␀-range, U+F700..U+F77F */
		} else {
			ulen = utf8_put(u, cp);
		}
		sink_put(k, u, ulen);
	}
	return 0;
}

ssize_t names_encode(const char *server_name, char *out, size_t outsz)
{
	if (!server_name || !out)
		return -EINVAL;
	size_t n = strlen(server_name);
	struct sink k = { .limit = SIZE_MAX };

	encode_span(&k, server_name, n);
	if (k.len >= outsz)
		return -ENAMETOOLONG;
	k = (struct sink){ .out = out, .limit = SIZE_MAX };
	encode_span(&k, server_name, n);
	out[k.len] = '\0';
	return (ssize_t)k.len;
}

static ssize_t decode_to(const char *c, size_t n, char *out, size_t outsz)
{
	struct sink k = { .limit = SIZE_MAX };
	int r = decode_span(&k, c, n);

	if (r < 0)
		return r;
	if (k.len >= outsz)
		return -ENAMETOOLONG;
	k = (struct sink){ .out = out, .limit = SIZE_MAX };
	decode_span(&k, c, n);
	out[k.len] = '\0';
	return (ssize_t)k.len;
}

ssize_t names_decode(const char *component, char *out, size_t outsz)
{
	if (!component || !out)
		return -EINVAL;
	return decode_to(component, strlen(component), out, outsz);
}

static bool id_valid(const char *id, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] < 0x20 || id[i] > 0x7E || id[i] == '/' || id[i] == '(' || id[i] == ')')
			return false;
	return true;
}

/*
 * Builds "<name part> (<id>)<ext>" into k.  With k->out == NULL only
 * measures.  The name part is the encoding of name, cut to fit NAMES_MAX.
 */
static void with_id_build(struct sink *k, const char *name, size_t nlen, const char *id,
			  size_t idlen, const char *ext, size_t extlen)
{
	size_t tail = 2 + idlen + 1 + extlen; /* " (" id ")" ext */
	struct sink m = { .limit = SIZE_MAX };

	if (nlen > 0) {
		encode_span(&m, name, nlen);
		if (m.len + tail <= NAMES_MAX) {
			encode_span(k, name, nlen);
			sink_put(k, " (", 2);
		} else if (tail + 3 <= NAMES_MAX) {
			k->limit = NAMES_MAX - tail - 3;
			encode_span(k, name, nlen);
			k->cut = false;
			k->limit = SIZE_MAX;
			sink_put(k, ELLIPSIS, 3);
			sink_put(k, " (", 2);
		} else {
			sink_put(k, "(", 1);
		}
	} else {
		sink_put(k, "(", 1);
	}
	sink_put(k, id, idlen);
	sink_put(k, ")", 1);
	sink_put(k, ext, extlen);
}

ssize_t names_with_id(const char *server_name, const char *id, const char *ext, char *out,
		      size_t outsz)
{
	if (!server_name || !id || !out)
		return -EINVAL;
	if (!ext)
		ext = "";
	size_t idlen = strlen(id), extlen = strlen(ext), nlen = strlen(server_name);

	if (!id_valid(id, idlen) || strchr(ext, '/'))
		return -EINVAL;
	if (idlen + 2 + extlen > NAMES_MAX)
		return -ENAMETOOLONG;

	struct sink k = { .limit = SIZE_MAX };

	with_id_build(&k, server_name, nlen, id, idlen, ext, extlen);
	if (k.len >= outsz)
		return -ENAMETOOLONG;
	k = (struct sink){ .out = out, .limit = SIZE_MAX };
	with_id_build(&k, server_name, nlen, id, idlen, ext, extlen);
	out[k.len] = '\0';
	return (ssize_t)k.len;
}

ssize_t names_plain(const char *server_name, const char *id, const char *ext, char *out,
		    size_t outsz)
{
	if (!server_name || !out)
		return -EINVAL;
	if (!ext)
		ext = "";
	if (strchr(ext, '/'))
		return -EINVAL;

	size_t nlen = strlen(server_name), extlen = strlen(ext);
	struct sink k = { .limit = SIZE_MAX };

	encode_span(&k, server_name, nlen);
	if (k.len + extlen > NAMES_MAX) {
		if (!id)
			return -ENAMETOOLONG;
		return names_with_id(server_name, id, ext, out, outsz);
	}
	if (k.len + extlen >= outsz)
		return -ENAMETOOLONG;
	k = (struct sink){ .out = out, .limit = SIZE_MAX };
	encode_span(&k, server_name, nlen);
	memcpy(out + k.len, ext, extlen + 1);
	return (ssize_t)(k.len + extlen);
}

/*
 * Splits component c (length n, ext already stripped) of the id form.
 * On success returns true with the id span and the length of the name part
 * (0 for "(<id>)").  "<name> (<id>)" requires a non-empty name.
 */
static bool split_id(const char *c, size_t n, const char **id, size_t *idlen, size_t *namelen)
{
	if (n < 3 || c[n - 1] != ')')
		return false;
	size_t open = n - 1;

	while (open > 0 && c[open - 1] != '(')
		open--;
	if (open == 0)
		return false;
	open--; /* index of '(' */
	if (!id_valid(c + open + 1, n - open - 2))
		return false;
	if (open == 0) {
		*namelen = 0;
	} else if (open >= 2 && c[open - 1] == ' ') {
		*namelen = open - 1;
	} else {
		return false;
	}
	*id = c + open + 1;
	*idlen = n - open - 2;
	return true;
}

/* Length of component without ext, or -1 if ext does not end it. */
static ssize_t strip_ext(const char *component, const char *ext)
{
	size_t n = strlen(component), e = ext ? strlen(ext) : 0;

	if (e > n || memcmp(component + n - e, ext ? ext : "", e) != 0)
		return -1;
	return (ssize_t)(n - e);
}

ssize_t names_parse_id(const char *component, const char *ext, char *id_out, size_t idsz)
{
	if (!component || !id_out)
		return -EINVAL;
	ssize_t n = strip_ext(component, ext);
	const char *id;
	size_t idlen, namelen;

	if (n < 0 || !split_id(component, (size_t)n, &id, &idlen, &namelen))
		return -ENOENT;
	if (idlen >= idsz)
		return -ENAMETOOLONG;
	memcpy(id_out, id, idlen);
	id_out[idlen] = '\0';
	return (ssize_t)idlen;
}

ssize_t names_to_server(const char *component, const char *ext, char *out, size_t outsz)
{
	if (!component || !out)
		return -EINVAL;
	ssize_t n = strip_ext(component, ext);
	const char *id;
	size_t idlen, namelen;

	if (n <= 0)
		return -EINVAL;
	if (split_id(component, (size_t)n, &id, &idlen, &namelen)) {
		if (namelen == 0) {
			if (outsz < 1)
				return -ENAMETOOLONG;
			out[0] = '\0';
			return 0;
		}
		n = (ssize_t)namelen;
	}
	return decode_to(component, (size_t)n, out, outsz);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool names_is_scratch(const char *c)
{
	if (!c || !*c)
		return false;
	size_t n = strlen(c);

	if (c[0] == '.' || c[n - 1] == '~')
		return true;
	if (ends_with(c, n, ".swp") || ends_with(c, n, ".swx") || ends_with(c, n, ".swo"))
		return true;
	if (n >= 3 && c[0] == '#' && c[n - 1] == '#')
		return true;
	if (strspn(c, "0123456789") == n)
		return true;
	if (n == 9 && memcmp(c, "sed", 3) == 0 &&
	    strspn(c + 3, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == 6)
		return true;
	return false;
}

bool names_swap_ext(const char *c, const char *from, const char *to, char *out, size_t n)
{
	size_t l = strlen(c), f = strlen(from), t = strlen(to);
	if (l <= f || strcmp(c + l - f, from) || l - f + t >= n)
		return false;
	memcpy(out, c, l - f);
	memcpy(out + l - f, to, t + 1);
	return true;
}
