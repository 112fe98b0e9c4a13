/*
 * fuzz_idmap.c - the restore map's lines (idmap.c): <state dir>/ids, which
 * a crash may have cut short or a user may have edited by hand.
 *
 * Input: the file's content, split into lines.  Invariants for each line:
 * idmap_parse_line() accepts it or returns -EINVAL with the record
 * cleared; what it accepts has a known type, non-empty ids and no tab, CR
 * or LF in any field; idmap_format_line() writes back exactly the line
 * plus its newline (refusing a buffer one byte short), and that parses to
 * the same record.  The accepted lines, added in order to a memory-only
 * map, are what a small model says: the latest record of each (type, old
 * id) wins, intents ("?") are no mappings, the reverse lookup of a new id
 * gives the latest backup id still mapped to it, and the count is the
 * number of mappings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "res/idmap.h"

#define MAX_LINES 32

static bool same(const struct idmap_rec *a, const struct idmap_rec *b)
{
	return a->kind == b->kind && !strcmp(a->old_id, b->old_id) &&
	       !strcmp(a->new_id, b->new_id) && !strcmp(a->note, b->note);
}

static bool clean(const char *s, size_t max, bool empty_ok)
{
	size_t l = strnlen(s, max);
	return l < max && (l || empty_ok) && !strpbrk(s, "\t\r\n");
}

/* One line: parse, format, reparse.  Returns whether it was accepted. */
static bool one_line(const char *line, size_t len, struct idmap_rec *r)
{
	static const struct idmap_rec zero;
	char out[1024];
	int rc = idmap_parse_line(line, len, r);
	FZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		FZ_CHECK(!memcmp(r, &zero, sizeof(zero)));
		return false;
	}
	FZ_CHECK((unsigned)r->kind < RK_COUNT);
	FZ_CHECK(clean(r->old_id, sizeof(r->old_id), false) &&
		 clean(r->new_id, sizeof(r->new_id), false) && clean(r->note, sizeof(r->note), true));
	int l = idmap_format_line(r, out, sizeof(out));
	FZ_CHECK(l == (int)len + 1 && !memcmp(out, line, len) && out[len] == '\n');
	FZ_CHECK(idmap_format_line(r, out, len + 1) == -ENAMETOOLONG);
	FZ_CHECK(idmap_format_line(r, out, len + 2) == (int)len + 1);
	struct idmap_rec again;
	FZ_CHECK(idmap_parse_line(out, len, &again) == 0 && same(r, &again));
	return true;
}

/* Record i is the latest of its (type, old id). */
static bool current(const struct idmap_rec *v, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++)
		if (v[j].kind == v[i].kind && !strcmp(v[j].old_id, v[i].old_id))
			return false;
	return true;
}

static void check_model(struct idmap *m, const struct idmap_rec *v, size_t n)
{
	size_t mapped = 0;
	char out[128];
	for (size_t i = 0; i < n; i++) {
		if (!current(v, n, i))
			continue;
		struct idmap_rec got;
		bool intent = !strcmp(v[i].new_id, "?");
		FZ_CHECK(idmap_get(m, v[i].kind, v[i].old_id, &got) && same(&got, &v[i]));
		FZ_CHECK(idmap_new_id(m, v[i].kind, v[i].old_id, out, sizeof(out)) == !intent);
		if (intent)
			continue;
		mapped++;
		FZ_CHECK(!strcmp(out, v[i].new_id));
		/* the latest current mapping to the same new id answers */
		size_t want = i;
		for (size_t j = i + 1; j < n; j++)
			if (v[j].kind == v[i].kind && !strcmp(v[j].new_id, v[i].new_id) &&
			    current(v, n, j))
				want = j;
		FZ_CHECK(idmap_old_id(m, v[i].kind, v[i].new_id, out, sizeof(out)) &&
			 !strcmp(out, v[want].old_id));
	}
	FZ_CHECK(idmap_count(m) == mapped);
	FZ_CHECK(!idmap_old_id(m, RK_APP, "?", out, sizeof(out)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	static struct idmap_rec v[MAX_LINES];
	size_t n = 0;
	struct idmap *m = NULL;
	FZ_CHECK(idmap_open(NULL, &m) == 0);
	const char *p = (const char *)data, *end = p + size;
	while (p <= end && n < MAX_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (one_line(p, len, &v[n])) {
			FZ_CHECK(idmap_add(m, v[n].kind, v[n].old_id, v[n].new_id, v[n].note) == 0);
			n++;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	check_model(m, v, n);
	idmap_free(m);
	return 0;
}
