/*
 * fuzz_names.c - names.c: server names <-> directory entry names.
 *
 * Input: a server name (or a component), optionally followed by "\x00" and an
 * id.  Invariants (names.h):
 *  - decode(encode(x)) == x; an encoded name is valid UTF-8, never empty,
 *    ".", "..", and holds no '/', NUL or control byte;
 *  - when decode(c) succeeds, encode(decode(c)) == c (one component per name);
 *  - names_with_id() gives at most NAMES_MAX bytes, and names_parse_id() of
 *    it gives the id back; names_to_server() of it succeeds;
 *  - names_plain() is the encoding + ext, or the id form when too long.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "util/names.h"

#define MAXIN 4096
#define BIG (MAXIN * 3 + 64) /* an input byte encodes to at most 3 bytes */

/* Valid UTF-8 (RFC 3629: no overlongs, surrogates or code points > 10FFFF). */
static bool utf8_ok(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char b = p[i];
		size_t len;
		unsigned cp;
		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xC2 && b <= 0xDF)
			len = 2, cp = b & 0x1F;
		else if (b >= 0xE0 && b <= 0xEF)
			len = 3, cp = b & 0x0F;
		else if (b >= 0xF0 && b <= 0xF4)
			len = 4, cp = b & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += len;
	}
	return true;
}

static void check_component(const char *c, ssize_t n)
{
	FZ_CHECK(n > 0 && (size_t)n == strlen(c));
	FZ_CHECK(strcmp(c, ".") && strcmp(c, ".."));
	for (ssize_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)c[i];
		FZ_CHECK(b != '/' && b >= 0x20 && b != 0x7F);
	}
	FZ_CHECK(utf8_ok((const unsigned char *)c, (size_t)n));
}

static bool id_ok(const char *id)
{
	if (!*id)
		return false;
	for (const char *p = id; *p; p++)
		if (*p < 0x20 || *p > 0x7E || *p == '/' || *p == '(' || *p == ')')
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAXIN)
		return 0;
	char *in = fz_strndup(data, size);
	const char *id = NULL;
	if (strlen(in) < size)
		id = in + strlen(in) + 1; /* "name\0id" */

	static char enc[BIG], dec[BIG], re[BIG], idb[BIG];
	ssize_t n = names_encode(in, enc, sizeof(enc));
	FZ_CHECK(n >= 0);
	size_t plain_len = in[0] ? (size_t)n : 0; /* "" gives "(<id>)<ext>" */
	check_component(enc, n);
	ssize_t m = names_decode(enc, dec, sizeof(dec));
	FZ_CHECK(m == (ssize_t)strlen(in) && !strcmp(dec, in));

	/* the input as a component */
	m = names_decode(in, dec, sizeof(dec));
	FZ_CHECK(m >= 0 || m == -EINVAL);
	if (m >= 0) {
		FZ_CHECK((size_t)m == strlen(dec));
		n = names_encode(dec, re, sizeof(re));
		FZ_CHECK(n >= 0 && !strcmp(re, in));
	}

	/* a failing encode leaves the buffer alone */
	char small[8] = "keep";
	n = names_encode(in, small, 5);
	if (n < 0)
		FZ_CHECK(n == -ENAMETOOLONG && !strcmp(small, "keep"));

	const char *exts[] = { ".json", NULL, ".qvf" };
	for (size_t e = 0; e < 3; e++) {
		const char *ext = exts[e];
		const char *use_id = id ? id : "0123-abcd";
		n = names_with_id(in, use_id, ext, enc, sizeof(enc));
		if (!id_ok(use_id)) {
			FZ_CHECK(n == -EINVAL);
			continue;
		}
		if (n == -ENAMETOOLONG)
			continue; /* "(<id>)<ext>" alone is too long */
		FZ_CHECK(n > 0 && n <= NAMES_MAX);
		check_component(enc, n);
		m = names_parse_id(enc, ext, idb, sizeof(idb));
		FZ_CHECK(m == (ssize_t)strlen(use_id) && !strcmp(idb, use_id));
		m = names_to_server(enc, ext, dec, sizeof(dec));
		FZ_CHECK(m >= 0);
		/* not cut: the server name comes back whole */
		size_t whole = plain_len + (plain_len ? 1 : 0) + strlen(use_id) + 2 +
			       (ext ? strlen(ext) : 0);
		if (whole <= NAMES_MAX)
			FZ_CHECK((size_t)n == whole && !strcmp(dec, in));
		n = names_plain(in, use_id, ext, re, sizeof(re));
		FZ_CHECK(n > 0 && n <= NAMES_MAX);
		check_component(re, n);

		/* the input as a user's component */
		m = names_parse_id(in, ext, idb, sizeof(idb));
		FZ_CHECK(m >= 0 || m == -ENOENT);
		if (m >= 0)
			FZ_CHECK(id_ok(idb) && (size_t)m == strlen(idb));
		m = names_to_server(in, ext, dec, sizeof(dec));
		FZ_CHECK(m >= 0 || m == -EINVAL);
	}
	(void)names_is_scratch(in);
	/* an entry named after another with another ending: back and forth */
	char sw[64], back[80];
	size_t il = strlen(in);
	if (names_swap_ext(in, ".json", ".qvs", sw, sizeof(sw))) {
		FZ_CHECK(il > 5 && strlen(sw) == il - 1 && !strncmp(sw, in, il - 5));
		FZ_CHECK(names_swap_ext(sw, ".qvs", ".json", back, sizeof(back)) && !strcmp(back, in));
	} else {
		FZ_CHECK(il <= 5 || strcmp(in + il - 5, ".json") || il >= sizeof(sw) + 1);
	}
	free(in);
	return 0;
}
