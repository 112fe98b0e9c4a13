/*
 * fuzz_http_headers.c - the libcurl transport's response callbacks
 * (http_curl.c: header_cb() parses each header line, write_cb() buffers a
 * bounded body).  They are static, so this file includes http_curl.c and
 * calls them as libcurl would, without any network.
 *
 * Input: a header block (lines ending in "\n", as libcurl hands them over
 * one by one), then "\n%%\n" and a body fed in chunks.  Invariants: header
 * names are lower-case, non-empty, without surrounding white space or ':',
 * values have no surrounding white space; never more than MAX_RESP_HEADERS
 * (the callback fails the transfer instead); a "HTTP/" line starts over;
 * the body is NUL-terminated, at most max_body bytes, and equals what was
 * fed when it fitted (else -EFBIG).
 */
#include "../../fs/http/http_curl.c"

#include "fuzz_common.h"

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *in = fz_strndup(data, size);
	char *part[2] = { in, NULL };
	fz_split(in, "\n%%\n", part, 2);

	struct http_response resp = { 0 };
	struct http_request req = { .method = "GET", .url = "https://h/" };
	struct xfer x = { .req = &req, .resp = &resp, .max_body = 1 + size / 2, .to_sink = 0 };

	size_t expect = 0; /* headers since the last status line */
	bool failed = false;
	for (char *p = part[0]; *p && !failed;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		char *line = fz_strndup((const uint8_t *)p, len);
		size_t before = resp.n_headers;
		size_t r = header_cb(line, 1, len, &x);
		if (r == 0) {
			FZ_CHECK(x.err == -EIO && before == MAX_RESP_HEADERS);
			failed = true;
		} else {
			FZ_CHECK(r == len);
			if (len >= 5 && !memcmp(line, "HTTP/", 5))
				FZ_CHECK(resp.n_headers == 0);
			else
				FZ_CHECK(resp.n_headers == before || resp.n_headers == before + 1);
		}
		expect = resp.n_headers;
		free(line);
		p += len;
	}
	FZ_CHECK(resp.n_headers == expect && resp.n_headers <= MAX_RESP_HEADERS);
	for (size_t i = 0; i < resp.n_headers; i++) {
		const char *n = resp.headers[i].name, *v = resp.headers[i].value;
		size_t nl = strlen(n), vl = strlen(v);
		FZ_CHECK(nl > 0 && !ws(n[0]) && !ws(n[nl - 1]) && !strchr(n, ':'));
		for (const char *c = n; *c; c++)
			FZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
		FZ_CHECK(!vl || (!ws(v[0]) && !ws(v[vl - 1])));
		FZ_CHECK(http_response_header(&resp, n) != NULL);
	}

	if (part[1]) {
		size_t blen = strlen(part[1]), off = 0, k = 0;
		int err = 0;
		while (off < blen) {
			size_t chunk = 1 + (size_t)(unsigned char)part[1][k++ % blen] % 97;
			if (chunk > blen - off)
				chunk = blen - off;
			if (write_cb(part[1] + off, 1, chunk, &x) != chunk) {
				err = x.err;
				break;
			}
			off += chunk;
		}
		if (err) {
			FZ_CHECK(err == -EFBIG && blen > x.max_body);
		} else {
			FZ_CHECK(resp.body_len == blen);
			if (blen) /* nothing fed: no buffer */
				FZ_CHECK(!memcmp(resp.body, part[1], blen) && resp.body[blen] == '\0');
		}
		FZ_CHECK(resp.body_len <= x.max_body);
	}
	http_response_clear(&resp);
	free(in);
	return 0;
}
