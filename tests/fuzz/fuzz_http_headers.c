/*
 * fuzz_http_headers.c - the libcurl transport's response callbacks
 * (http_curl.c: header_cb() counts the header lines of the response being
 * received, write_cb() buffers a bounded body).  They are static, so this
 * file includes http_curl.c and calls them as libcurl would, without any
 * network.  The header lines themselves are parsed by libcurl (read back
 * with curl_easy_nextheader, test_http_curl.c), not by us.
 *
 * Input: a header block (lines ending in "\n", as libcurl hands them over
 * one by one), then "\n%%\n" and a body fed in chunks.  Invariants: the
 * callback takes every line until the response being received has more
 * than MAX_RESP_HEADERS header lines (a status line "HTTP/" starts over;
 * blank and folded lines do not count), and then fails the transfer with
 * -EIO; the body is NUL-terminated, at most max_body bytes, and equals what
 * was fed when it fitted (else -EFBIG).
 */
#include "../../fs/http/http_curl.c"

#include "fuzz_common.h"

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

	size_t model = 0; /* header lines since the last status line */
	for (char *p = part[0]; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		char *line = fz_strndup((const uint8_t *)p, len);
		if (len >= 5 && !memcmp(line, "HTTP/", 5))
			model = 0;
		else if (!strchr(" \t\r\n", line[0]))
			model++;
		size_t r = header_cb(line, 1, len, &x);
		free(line);
		FZ_CHECK(x.n_headers == model || (r == 0 && model == MAX_RESP_HEADERS + 1));
		if (r == 0) {
			FZ_CHECK(x.err == -EIO && model == MAX_RESP_HEADERS + 1);
			break;
		}
		FZ_CHECK(r == len && model <= MAX_RESP_HEADERS && x.err == 0);
		p += len;
	}
	FZ_CHECK(resp.n_headers == 0 && resp.headers == NULL); /* libcurl's to fill */

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
