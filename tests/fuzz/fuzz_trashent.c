/*
 * fuzz_trashent.c - the trash's entry description (trashent.c): trash.json
 * in the state directory, which a user may have edited by hand or a crash
 * may have cut short.
 *
 * Input: the file's content.  Invariants: trashent_parse() accepts it or
 * returns -EINVAL (the description left cleared); what it accepts has a
 * type, an id and a path, is written back by trashent_format() (unless its
 * time is outside years 0..9999 once in UTC) and parses again to the same
 * fields, and formats again to the same bytes; the entry's name made from
 * it has at most NAME_MAX bytes, no '/' or NUL, and is valid UTF-8.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "util/names.h"
#include "util/trashent.h"

static bool utf8_ok(const unsigned char *s)
{
	while (*s) {
		size_t n = *s < 0x80 ? 1 : (*s >> 5) == 6 ? 2 : (*s >> 4) == 14 ? 3 : (*s >> 3) == 30 ? 4 : 0;
		if (!n)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return false;
		s += n;
	}
	return true;
}

static void same(const struct trash_meta *a, const struct trash_meta *b)
{
	bool app = !strcmp(a->type, "app");
	FZ_CHECK(!strcmp(a->type, b->type) && !strcmp(a->id, b->id) &&
		 !strcmp(a->space_id, b->space_id) && !strcmp(a->path, b->path));
	FZ_CHECK((!a->name && !b->name) || (a->name && b->name && !strcmp(a->name, b->name)));
	FZ_CHECK((!a->not_kept && !b->not_kept) ||
		 (a->not_kept && b->not_kept && !strcmp(a->not_kept, b->not_kept)));
	FZ_CHECK(a->deleted_ms == b->deleted_ms);
	FZ_CHECK(b->qvf == (app && a->qvf) && b->qvf_size == (b->qvf ? a->qvf_size : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trash_meta m, b;
	int rc = trashent_parse((const char *)data, size, &m);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc) {
		FZ_CHECK(!m.path && !m.name && !m.not_kept && !m.type[0] && !m.id[0]);
		return 0;
	}
	FZ_CHECK(m.type[0] && m.id[0] && m.path && m.path[0]);
	char *txt = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	rc = trashent_format(&m, &txt, &len);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc == 0) {
		FZ_CHECK(strlen(txt) == len);
		FZ_CHECK(trashent_parse(txt, len, &b) == 0);
		same(&m, &b);
		FZ_CHECK(trashent_format(&b, &again, &len2) == 0);
		FZ_CHECK(len == len2 && !memcmp(txt, again, len));
		trashent_clear(&b);
	}
	char name[NAMES_MAX + 1];
	ssize_t l = trashent_name(m.deleted_ms, m.path, (unsigned)(size % 150), name, sizeof(name));
	FZ_CHECK(l >= 0 || l == -EINVAL);
	if (l >= 0)
		FZ_CHECK((size_t)l == strlen(name) && l <= NAMES_MAX && !strchr(name, '/') &&
			 utf8_ok((const unsigned char *)name));
	(void)trashent_expired(m.deleted_ms, (int64_t)size * 86400000, 7 * 86400000LL);
	free(txt);
	free(again);
	trashent_clear(&m);
	return 0;
}
