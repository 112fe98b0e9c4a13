/*
 * test_names.c - fs/names.c: encoding table, exact round trips, canonical
 * decoding, the " (<id>)" form with truncation, scratch names.
 */
#include "check.h"
#include "util/names.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char buf[NAMES_MAX * 8 + 1];
static char buf2[sizeof(buf)];

/* encode -> expected, and decode back to the original */
static void enc(const char *in, const char *want)
{
	char o[1024], d[1024];
	ssize_t n = names_encode(in, o, sizeof(o));

	CHECK_INT(n, (ssize_t)strlen(want));
	CHECK_STR(n >= 0 ? o : NULL, want);
	n = names_decode(want, d, sizeof(d));
	CHECK_INT(n, (ssize_t)strlen(in));
	CHECK_STR(n >= 0 ? d : NULL, in);
}

static void bad_decode(const char *c)
{
	char o[64] = "untouched";

	CHECK_INT(names_decode(c, o, sizeof(o)), -EINVAL);
	CHECK_STR(o, "untouched");
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Checks the invariants of an encoded component. */
static bool safe_component(const char *c, size_t n)
{
	if (n == 0 || strlen(c) != n || !strcmp(c, ".") || !strcmp(c, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)c[i];

		if (b == '/' || b < 0x20 || b == 0x7F)
			return false;
	}
	/* valid UTF-8: re-check with a tiny independent validator */
	const unsigned char *p = (const unsigned char *)c;

	while (*p) {
		int len = *p < 0x80 ? 1 : *p >= 0xC2 && *p <= 0xDF ? 2 : *p >= 0xE0 && *p <= 0xEF ? 3
			: *p >= 0xF0 && *p <= 0xF4 ? 4 : 0;

		if (!len)
			return false;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		if (len == 3 && *p == 0xE0 && p[1] < 0xA0)
			return false;
		if (len == 3 && *p == 0xED && p[1] > 0x9F)
			return false;
		if (len == 4 && *p == 0xF0 && p[1] < 0x90)
			return false;
		if (len == 4 && *p == 0xF4 && p[1] > 0x8F)
			return false;
		p += len;
	}
	return true;
}

static const char *const atoms[] = {
	"a", "Z", " ", ".", "..", "/", "%", "?", "#", "(", ")", "~", "\x01", "\x1f", "\x7f",
	"\xe2\x80\x9b",		/* ‛ */
	"\xef\xbc\x8f",		/* ／ */
	"\xef\xbc\x8e",		/* ． */
	"\xe2\x90\x81",		/* ␁ */
	"\xe2\x90\x9f",		/* ␟ */
	"\xe2\x90\xa1",		/* ␡ */
	"\xe2\x90\x80",		/* ␀ */
	"\xe2\x90\xa0",		/* ␠ */
	"\xef\x9c\x80",		/* U+F700 */
	"\xef\x9e\x80",		/* U+F780 */
	"\xef\x9f\xbf",		/* U+F7FF */
	"\xf0\x9f\x98\x80",	/* 😀 */
	"\xe6\x97\xa5\xe6\x9c\xac", /* 日本 */
	"\xc3\xa9",		/* é */
	"\xc3", "\xa9", "\xe2\x80", "\xf0\x9f\x98", "\xff", "\xfe", "\xc0\xaf", "\xed\xa0\x80",
	"\xf4\x90\x80\x80", "\x80",
};

static void random_name(char *s, size_t max)
{
	size_t n = 0, parts = rnd() % 12;

	for (size_t i = 0; i < parts; i++) {
		const char *a;
		char one[2];

		if (rnd() % 3 == 0) {
			one[0] = (char)(1 + rnd() % 255);
			one[1] = '\0';
			a = one;
		} else {
			a = atoms[rnd() % (sizeof(atoms) / sizeof(atoms[0]))];
		}
		size_t l = strlen(a);

		if (n + l >= max)
			break;
		memcpy(s + n, a, l);
		n += l;
	}
	s[n] = '\0';
}

static void test_table(void)
{
	enc("Sales Dashboard", "Sales Dashboard");
	enc("a/b", "a\xef\xbc\x8f" "b");
	enc("/", "\xef\xbc\x8f");
	enc("a\x01z\x1f\x7f", "a\xe2\x90\x81z\xe2\x90\x9f\xe2\x90\xa1");
	enc("\t\n\r", "\xe2\x90\x89\xe2\x90\x8a\xe2\x90\x8d");
	enc(".", "\xef\xbc\x8e");
	enc("..", "\xef\xbc\x8e\xef\xbc\x8e");
	enc("...", "...");
	enc(".hidden", ".hidden");
	enc("a.", "a.");
	enc("", "\xe2\x80\x9b");
	/* literal replacement characters are escaped */
	enc("\xe2\x80\x9b", "\xe2\x80\x9b\xe2\x80\x9b");
	enc("\xef\xbc\x8f", "\xe2\x80\x9b\xef\xbc\x8f");
	enc("a\xe2\x90\x81", "a\xe2\x80\x9b\xe2\x90\x81");
	enc("\xe2\x90\xa1", "\xe2\x80\x9b\xe2\x90\xa1");
	enc("\xef\xbc\x8e", "\xe2\x80\x9b\xef\xbc\x8e");
	enc("\xef\xbc\x8e\xef\xbc\x8e", "\xe2\x80\x9b\xef\xbc\x8e\xe2\x80\x9b\xef\xbc\x8e");
	enc("\xef\xbc\x8e\xef\xbc\x8e\xef\xbc\x8e", "\xef\xbc\x8e\xef\xbc\x8e\xef\xbc\x8e");
	enc("a\xef\xbc\x8e", "a\xef\xbc\x8e");
	enc("\xef\x9c\x80", "\xe2\x80\x9b\xef\x9c\x80");
	enc("\xef\x9f\xbf", "\xe2\x80\x9b\xef\x9f\xbf");
	/* unused pictures are not special */
	enc("\xe2\x90\x80\xe2\x90\xa0", "\xe2\x90\x80\xe2\x90\xa0");
	/* invalid UTF-8 -> U+F700 + byte */
	enc("\xff", "\xef\x9f\xbf");
	enc("\x80", "\xef\x9e\x80");
	enc("a\xc3", "a\xef\x9f\x83");
	enc("\xc0\xaf", "\xef\x9f\x80\xef\x9e\xaf");	       /* overlong '/' */
	enc("\xed\xa0\x80", "\xef\x9f\xad\xef\x9e\xa0\xef\x9e\x80"); /* surrogate */
	enc("\xf4\x90\x80\x80", "\xef\x9f\xb4\xef\x9e\x90\xef\x9e\x80\xef\x9e\x80");
	enc("\xe2\x80", "\xef\x9f\xa2\xef\x9e\x80");
	/* valid multibyte kept */
	enc("\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	enc("%?#", "%?#");
	enc("~", "~");

	/* buffer too small: error, buffer untouched */
	char small[4] = "xyz";

	CHECK_INT(names_encode("abcd", small, sizeof(small)), -ENAMETOOLONG);
	CHECK_STR(small, "xyz");
	CHECK_INT(names_encode("abc", small, sizeof(small)), 3);
	CHECK_INT(names_encode("/", small, sizeof(small)), 3);
	CHECK_INT(names_encode(NULL, small, sizeof(small)), -EINVAL);
	CHECK_INT(names_decode("abcd", small, sizeof(small)), -ENAMETOOLONG);
}

static void test_decode_rejects(void)
{
	bad_decode("");
	bad_decode(".");
	bad_decode("..");
	bad_decode("a/b");
	bad_decode("a\x01");
	bad_decode("a\x7f");
	bad_decode("\xff");			/* invalid UTF-8 */
	bad_decode("\xc0\xaf");
	bad_decode("a\xe2\x80\x9b");		/* trailing escape */
	bad_decode("\xe2\x80\x9b" "a");		/* needless escape */
	bad_decode("a\xe2\x80\x9b\xef\xbc\x8e"); /* ‛． not whole */
	bad_decode("\xe2\x80\x9b\xef\xbc\x8e\xef\xbc\x8e");
	bad_decode("\xef\x9c\x80");		/* unescaped U+F700 */
	bad_decode("\xef\x9e\x7f");
	/* raw units spelling a valid sequence: the encoder keeps é as é */
	bad_decode("\xef\x9f\x83\xef\x9e\xa9");
	bad_decode("x\xef\x9f\xb0\xef\x9e\x9f\xef\x9e\x98\xef\x9e\x80y"); /* raw 😀 */
	/* but a raw lead byte before a literal continuation-looking char is fine */
	char o[64];

	CHECK_INT(names_decode("\xef\x9f\x83" "a", o, sizeof(o)), 2);
	CHECK_STR(o, "\xc3" "a");
	CHECK_INT(names_decode("\xef\x9f\x83\xe2\x90\x81", o, sizeof(o)), 2); /* C3 01 */
	CHECK(memcmp(o, "\xc3\x01", 3) == 0);
	CHECK_INT(names_decode("\xef\x9f\x83\xef\x9f\x83", o, sizeof(o)), 2); /* C3 C3 */
	CHECK_INT(names_decode(NULL, o, sizeof(o)), -EINVAL);
}

static void test_random_roundtrip(void)
{
	static char name[512], e[4096], d[512];
	int fails = 0;

	for (int i = 0; i < 200000; i++) {
		random_name(name, sizeof(name));
		ssize_t n = names_encode(name, e, sizeof(e));

		if (n < 0 || !safe_component(e, (size_t)n)) {
			fails++;
			continue;
		}
		ssize_t m = names_decode(e, d, sizeof(d));

		if (m != (ssize_t)strlen(name) || strcmp(d, name) != 0)
			fails++;
	}
	CHECK_INT(fails, 0);

	/* Canonical decoding: any string that decodes re-encodes to itself.
	 * Components are assembled from pieces of encodings plus noise. */
	static const char *const cpieces[] = {
		"a", ".", "..", "/", "\x01", "\xe2\x80\x9b", "\xef\xbc\x8f", "\xef\xbc\x8e",
		"\xe2\x90\x81", "\xe2\x90\xa1", "\xef\x9e\x80", "\xef\x9f\x83", "\xef\x9e\xa9",
		"\xef\x9f\xb0", "\xef\x9e\x9f", "\xef\x9e\x98", "\xef\x9c\x80", "\xc3\xa9", "\xff",
		"\xef\x9f\xa2", "\xef\x9e\x82", "\xef\x9f\x80", "\xef\x9f\xb4", "\xef\x9e\x90",
	};
	int accepted = 0;

	fails = 0;
	for (int i = 0; i < 300000; i++) {
		size_t len = 0, parts = 1 + rnd() % 6;

		for (size_t j = 0; j < parts; j++) {
			const char *p = cpieces[rnd() % (sizeof(cpieces) / sizeof(cpieces[0]))];

			memcpy(name + len, p, strlen(p));
			len += strlen(p);
		}
		name[len] = '\0';
		ssize_t m = names_decode(name, d, sizeof(d));

		if (m < 0)
			continue;
		accepted++;
		ssize_t n = names_encode(d, e, sizeof(e));

		if (n < 0 || strcmp(e, name) != 0)
			fails++;
	}
	CHECK_INT(fails, 0);
	CHECK(accepted > 1000);
}

static void test_long(void)
{
	/* 64 KiB names of hostile content */
	size_t big = 64 * 1024;
	char *name = malloc(big + 1), *e = malloc(big * 6 + 1), *d = malloc(big + 1);

	for (size_t i = 0; i < big; i++)
		name[i] = "/\x01\xff" "a."[i % 5];
	name[big] = '\0';
	ssize_t n = names_encode(name, e, big * 6 + 1);

	CHECK(n > 0 && safe_component(e, (size_t)n));
	CHECK_INT(names_decode(e, d, big + 1), (ssize_t)big);
	CHECK(memcmp(d, name, big + 1) == 0);
	CHECK_INT(names_encode(name, buf, NAMES_MAX + 1), -ENAMETOOLONG);
	/* with_id stays within NAMES_MAX */
	n = names_with_id(name, "f0714ca7-1234", ".json", buf, sizeof(buf));
	CHECK(n > 0 && n <= NAMES_MAX);
	CHECK_INT(names_parse_id(buf, ".json", buf2, sizeof(buf2)), 13);
	CHECK_STR(buf2, "f0714ca7-1234");
	n = names_plain(name, "f0714ca7-1234", ".json", buf2, sizeof(buf2));
	CHECK_STR(buf2, buf);
	CHECK_INT(names_plain(name, NULL, ".json", buf2, sizeof(buf2)), -ENAMETOOLONG);
	free(name);
	free(e);
	free(d);
}

/* Truncation: every result <= NAMES_MAX, valid, cut on a unit boundary. */
static void test_with_id_truncation(void)
{
	static const char *const fill[] = { "a", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
					    "/", "\xe2\x80\x9b", "\xff" };
	const char *id = "f0714ca7-aaaa-bbbb-cccc-0123456789ab";
	int bad = 0;

	for (size_t f = 0; f < sizeof(fill) / sizeof(fill[0]); f++) {
		for (size_t reps = 0; reps < 300; reps++) {
			char name[2048] = "", want[2048];
			size_t fl = strlen(fill[f]);

			for (size_t r = 0; r < reps; r++)
				memcpy(name + r * fl, fill[f], fl + 1);
			ssize_t n = names_with_id(name, id, ".json", buf, sizeof(buf));
			ssize_t en = names_encode(name, want, sizeof(want));

			if (n < 0 || n > NAMES_MAX || (size_t)n != strlen(buf) ||
			    !safe_component(buf, (size_t)n)) {
				bad++;
				continue;
			}
			char got_id[64];

			if (names_parse_id(buf, ".json", got_id, sizeof(got_id)) != 36 || strcmp(got_id, id))
				bad++;
			/* decoded name part: the original, or a prefix + "…" */
			ssize_t m = names_to_server(buf, ".json", buf2, sizeof(buf2));

			if (reps == 0) {
				if (m != 0 || strcmp(buf, "(f0714ca7-aaaa-bbbb-cccc-0123456789ab).json"))
					bad++;
			} else if ((size_t)en + 2 + 36 + 1 + 5 <= NAMES_MAX) {
				if (m != (ssize_t)strlen(name) || strcmp(buf2, name))
					bad++;
			} else {
				size_t k = (size_t)m;

				if (m < 3 || strcmp(buf2 + k - 3, "\xe2\x80\xa6") ||
				    strncmp(buf2, name, k - 3) || (k - 3) % fl ||
				    n < NAMES_MAX - 5) /* a cut wastes < one 6-byte unit */
					bad++;
			}
		}
	}
	CHECK_INT(bad, 0);

	/* exact boundary: 255 fits, 256 truncates */
	char name[400];
	size_t tail = strlen(" (x).json");

	memset(name, 'a', sizeof(name));
	name[NAMES_MAX - tail] = '\0';
	CHECK_INT(names_with_id(name, "x", ".json", buf, sizeof(buf)), NAMES_MAX);
	CHECK(strchr(buf, '\xe2') == NULL);
	name[NAMES_MAX - tail] = 'a';
	name[NAMES_MAX - tail + 1] = '\0';
	CHECK_INT(names_with_id(name, "x", ".json", buf, sizeof(buf)), NAMES_MAX);
	CHECK(strstr(buf, "\xe2\x80\xa6 (x).json") != NULL);
	/* names_plain boundary */
	memset(name, 'a', sizeof(name));
	name[NAMES_MAX - 5] = '\0';
	CHECK_INT(names_plain(name, "x", ".json", buf, sizeof(buf)), NAMES_MAX);
	CHECK(strstr(buf, "(x)") == NULL);
	name[NAMES_MAX - 5] = 'a';
	name[NAMES_MAX - 4] = '\0';
	CHECK_INT(names_plain(name, "x", ".json", buf, sizeof(buf)), NAMES_MAX);
	CHECK(strstr(buf, "\xe2\x80\xa6 (x).json") != NULL);

	/* an escape never separated from what it escapes */
	char esc[400] = "";

	for (int i = 0; i < 100; i++)
		strcat(esc, "\xe2\x80\x9b");
	for (int idl = 1; idl < 60; idl++) {
		char idb[64];

		memset(idb, 'i', (size_t)idl);
		idb[idl] = '\0';
		ssize_t n = names_with_id(esc, idb, ".json", buf, sizeof(buf));

		CHECK(n > 0 && n <= NAMES_MAX);
		CHECK(names_to_server(buf, ".json", buf2, sizeof(buf2)) >= 0);
	}
}

static void test_with_id(void)
{
	CHECK_INT(names_with_id("Sales Dashboard", "f0714ca7", ".json", buf, sizeof(buf)), 31);
	CHECK_STR(buf, "Sales Dashboard (f0714ca7).json");
	CHECK_INT(names_with_id("a/b", "1", NULL, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "a\xef\xbc\x8f" "b (1)");
	CHECK_INT(names_with_id("", "1", "", buf, sizeof(buf)), 3);
	CHECK_STR(buf, "(1)");
	CHECK_INT(names_with_id(".", "1", ".json", buf, sizeof(buf)), 12);
	CHECK_STR(buf, "\xef\xbc\x8e (1).json");
	/* bad ids / ext */
	CHECK_INT(names_with_id("a", "", ".json", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(names_with_id("a", "a/b", ".json", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(names_with_id("a", "a(b", ".json", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(names_with_id("a", "a)b", ".json", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(names_with_id("a", "a\nb", ".json", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(names_with_id("a", "\xc3\xa9", ".json", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(names_with_id("a", NULL, ".json", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(names_with_id("a", "1", "/x", buf, sizeof(buf)), -EINVAL);
	/* id + ext alone too long */
	char id[300];

	memset(id, 'x', sizeof(id));
	id[NAMES_MAX - 2 - 5 + 1] = '\0';
	CHECK_INT(names_with_id("a", id, ".json", buf, sizeof(buf)), -ENAMETOOLONG);
	id[NAMES_MAX - 2 - 5] = '\0';
	CHECK_INT(names_with_id("a", id, ".json", buf, sizeof(buf)), NAMES_MAX);
	CHECK(buf[0] == '(');
	/* outsz too small: untouched */
	char small[10] = "keep";

	CHECK_INT(names_with_id("Sales", "1", ".json", small, sizeof(small)), -ENAMETOOLONG);
	CHECK_STR(small, "keep");
	CHECK_INT(names_plain("Sales", "1", ".json", small, sizeof(small)), -ENAMETOOLONG);
	CHECK_STR(small, "keep");
	CHECK_INT(names_with_id("Sales", "1", ".json", buf, 15), 14);
	CHECK_INT(names_with_id("Sales", "1", ".json", buf, 14), -ENAMETOOLONG);
	/* plain */
	CHECK_INT(names_plain("Q1 / Q2", "1", ".json", buf, sizeof(buf)), 14);
	CHECK_STR(buf, "Q1 \xef\xbc\x8f Q2.json");
	CHECK_INT(names_plain("", "1", ".json", buf, sizeof(buf)), 8);
	CHECK_STR(buf, "\xe2\x80\x9b.json");
	CHECK_INT(names_plain("..", NULL, NULL, buf, sizeof(buf)), 6);
	CHECK_STR(buf, "\xef\xbc\x8e\xef\xbc\x8e");
}

static void test_parse_id(void)
{
	char id[64] = "untouched";

	CHECK_INT(names_parse_id("Q1 (draft) (abc123).json", ".json", id, sizeof(id)), 6);
	CHECK_STR(id, "abc123");
	CHECK_INT(names_parse_id("(abc).json", ".json", id, sizeof(id)), 3);
	CHECK_STR(id, "abc");
	CHECK_INT(names_parse_id("x (a b)", NULL, id, sizeof(id)), 3);
	CHECK_STR(id, "a b");
	CHECK_INT(names_parse_id("x (abc)", "", id, sizeof(id)), 3);
	strcpy(id, "untouched");
	CHECK_INT(names_parse_id("x (abc).json", NULL, id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("x (abc).json", ".JSON", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("x (abc).jsonx", ".json", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("x(abc).json", ".json", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id(" (abc).json", ".json", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("x ().json", ".json", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("x (a)b).json", ".json", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("abc.json", ".json", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id(".json", ".json", id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id(")", NULL, id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("()", NULL, id, sizeof(id)), -ENOENT);
	CHECK_INT(names_parse_id("x (a\x01).json", ".json", id, sizeof(id)), -ENOENT);
	CHECK_STR(id, "untouched");
	CHECK_INT(names_parse_id("x (abcdef)", NULL, id, 6), -ENAMETOOLONG);
	CHECK_STR(id, "untouched");
	CHECK_INT(names_parse_id("x (abcdef)", NULL, id, 7), 6);

	/* round trip with_id -> parse_id -> to_server over random names */
	static char name[512];
	int fails = 0;

	for (int i = 0; i < 50000; i++) {
		random_name(name, 200);
		ssize_t n = names_with_id(name, "0123-abcd", ".json", buf, sizeof(buf));

		if (n < 0 || n > NAMES_MAX || !safe_component(buf, (size_t)n) ||
		    names_parse_id(buf, ".json", id, sizeof(id)) != 9 || strcmp(id, "0123-abcd")) {
			fails++;
			continue;
		}
		if (!strstr(buf, "\xe2\x80\xa6 (") &&
		    (names_to_server(buf, ".json", buf2, sizeof(buf2)) != (ssize_t)strlen(name) ||
		     strcmp(buf2, name)))
			fails++;
		/* plain */
		n = names_plain(name, "0123-abcd", ".json", buf, sizeof(buf));
		if (n < 0 || n > NAMES_MAX || !safe_component(buf, (size_t)n))
			fails++;
	}
	CHECK_INT(fails, 0);
}

static void test_to_server(void)
{
	char o[64] = "untouched";

	CHECK_INT(names_to_server("New App.json", ".json", o, sizeof(o)), 7);
	CHECK_STR(o, "New App");
	CHECK_INT(names_to_server("Sales (f0714ca7).json", ".json", o, sizeof(o)), 5);
	CHECK_STR(o, "Sales");
	CHECK_INT(names_to_server("Q1 (draft) (abc).json", ".json", o, sizeof(o)), 10);
	CHECK_STR(o, "Q1 (draft)");
	CHECK_INT(names_to_server("(abc).json", ".json", o, sizeof(o)), 0);
	CHECK_STR(o, "");
	CHECK_INT(names_to_server("a\xef\xbc\x8f" "b", NULL, o, sizeof(o)), 3);
	CHECK_STR(o, "a/b");
	CHECK_INT(names_to_server("\xef\xbc\x8e.json", ".json", o, sizeof(o)), 1);
	CHECK_STR(o, ".");
	CHECK_INT(names_to_server("\xe2\x80\x9b.json", ".json", o, sizeof(o)), 0);
	CHECK_STR(o, "");
	CHECK_INT(names_to_server("x (a b)", NULL, o, sizeof(o)), 1);
	strcpy(o, "untouched");
	CHECK_INT(names_to_server("New App", ".json", o, sizeof(o)), -EINVAL);
	CHECK_INT(names_to_server(".json", ".json", o, sizeof(o)), -EINVAL);
	CHECK_INT(names_to_server("a\x01.json", ".json", o, sizeof(o)), -EINVAL);
	CHECK_INT(names_to_server("it\xe2\x80\x9bs.json", ".json", o, sizeof(o)), -EINVAL);
	CHECK_INT(names_to_server("..", NULL, o, sizeof(o)), -EINVAL);
	CHECK_INT(names_to_server("", NULL, o, sizeof(o)), -EINVAL);
	CHECK_INT(names_to_server("abcdef", NULL, o, 6), -ENAMETOOLONG);
	CHECK_STR(o, "untouched");
}

static void test_scratch(void)
{
	static const char *const yes[] = {
		"4913", "0", "123456789", ".x.swp", "x.swp", "x.swx", "x.swo", "x~", "App.json~",
		"sedAb12Cd", "sed000000", ".foo.Ab12Cd", ".", "..", ".hidden", "#App.json#", "#x#",
		".#App.json",
	};
	static const char *const no[] = {
		"", "App.json", "2024.json", "4913a", "sedAb12C", "sedAb12Cde", "sedAb-12C", "Sed123456",
		"x.swpx", "#x", "x#", "#", "##", "a.tmp", "a.part", "~x", "swp", "x (123)",
		"\xef\xbc\x8e",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!names_is_scratch(yes[i])) {
			fprintf(stderr, "should be scratch: %s\n", yes[i]);
			CHECK(0);
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (names_is_scratch(no[i])) {
			fprintf(stderr, "should not be scratch: %s\n", no[i]);
			CHECK(0);
		}
	CHECK(!names_is_scratch(NULL));
}

static void test_swap_ext(void)
{
	char o[16];
	CHECK(names_swap_ext("Sales (a1).json", ".json", ".qvs", o, 16));
	CHECK_STR(o, "Sales (a1).qvs");
	CHECK(names_swap_ext("Sales (a1).qvs", ".qvs", ".json", o, 16));
	CHECK_STR(o, "Sales (a1).json");
	CHECK(names_swap_ext("Sales.json", ".json", "", o, 16));
	CHECK_STR(o, "Sales");
	CHECK(!names_swap_ext(".json", ".json", ".qvs", o, 16)); /* nothing before it */
	CHECK(!names_swap_ext("Sales.qvs", ".json", ".qvs", o, 16));
	CHECK(!names_swap_ext("Sales (a12).qvs", ".qvs", ".json", o, 16)); /* 16 bytes: no room */
	CHECK(names_swap_ext("Sales (a1).qvs", ".qvs", ".json", o, 16)); /* 15 + NUL: fits */
}

int main(void)
{
	test_table();
	test_decode_rejects();
	test_random_roundtrip();
	test_long();
	test_with_id_truncation();
	test_with_id();
	test_parse_id();
	test_to_server();
	test_scratch();
	test_swap_ext();
	return check_done();
}
