/* Unit tests for idmap.c: the restore map (a backup's id -> the resource
 * restored from it), its line format and its append-only file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "res/idmap.h"

static char root[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static char *path_in(const char *sub)
{
	static char buf[8][512];
	static int i;
	char *p = buf[i++ % 8];
	snprintf(p, 512, "%s/%s", root, sub);
	return p;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool has_new(struct idmap *m, enum rkind k, const char *old, const char *want)
{
	char out[128] = "";
	bool r = idmap_new_id(m, k, old, out, sizeof(out));
	return want ? r && !strcmp(out, want) : !r;
}

static bool has_old(struct idmap *m, enum rkind k, const char *new_id, const char *want)
{
	char out[128] = "";
	bool r = idmap_old_id(m, k, new_id, out, sizeof(out));
	return want ? r && !strcmp(out, want) : !r;
}

/* open, add, free, reopen: the mappings are kept; the directory is created
 * 0700 with nothing in it but ids (0600). */
static void round_trip(void)
{
	const char *dir = path_in("rt/state/deep");
	struct idmap *m = NULL;
	struct stat st;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	CHECK_INT(idmap_count(m), 0);
	CHECK_INT(idmap_add(m, RK_APP, "a-old", "a-new", "Sales"), 0);
	CHECK_INT(idmap_add(m, RK_SPACE, "s-old", "s-new", NULL), 0);
	CHECK_INT(idmap_add(m, RK_DATASET, "d-old", "?", "1714558923123 Orders.csv"), 0);
	CHECK_INT(idmap_count(m), 2);
	idmap_free(m);

	const char *ids = path_in("rt/state/deep/ids");
	CHECK(stat(ids, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	CHECK_STR(slurp(ids), "app\ta-old\ta-new\tSales\nspace\ts-old\ts-new\t\n"
			      "data-set\td-old\t?\t1714558923123 Orders.csv\n");
	/* nothing else lands in the directory */
	DIR *d = opendir(dir);
	int others = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		others += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "ids");
	if (d)
		closedir(d);
	CHECK_INT(others, 0);

	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK_INT(idmap_count(m), 2);
	CHECK(has_new(m, RK_APP, "a-old", "a-new"));
	CHECK(has_new(m, RK_SPACE, "s-old", "s-new"));
	CHECK(has_new(m, RK_SPACE, "a-old", NULL)); /* per kind */
	CHECK(has_old(m, RK_APP, "a-new", "a-old"));
	CHECK(has_old(m, RK_SPACE, "a-new", NULL));
	struct idmap_rec r;
	CHECK(idmap_get(m, RK_APP, "a-old", &r));
	CHECK(r.kind == RK_APP);
	CHECK_STR(r.note, "Sales");
	CHECK(idmap_get(m, RK_SPACE, "s-old", &r));
	CHECK_STR(r.note, "");
	CHECK(idmap_get(m, RK_DATASET, "d-old", &r));
	CHECK_STR(r.new_id, "?");
	CHECK(!idmap_get(m, RK_APP, "nope", &r));
	CHECK(!idmap_get(m, RK_APP, NULL, &r));
	CHECK(!idmap_get(m, (enum rkind)RK_COUNT, "a-old", &r));
	idmap_free(m);
	idmap_free(NULL);
}

/* a later record for (type, old) replaces the earlier one, in memory and
 * after a reload; the reverse lookup follows. */
static void replacement(void)
{
	const char *dir = path_in("repl");
	for (int pass = 0; pass < 2; pass++) {
		struct idmap *m = NULL;
		CHECK_INT(idmap_open(dir, &m), 0);
		if (!pass) {
			CHECK_INT(idmap_add(m, RK_APP, "A", "N1", "first"), 0);
			CHECK_INT(idmap_add(m, RK_APP, "A", "N2", "second"), 0);
			/* the same record again changes nothing */
			CHECK_INT(idmap_add(m, RK_APP, "B", "M", NULL), 0);
			CHECK_INT(idmap_add(m, RK_APP, "B", "M", NULL), 0);
		}
		CHECK(has_new(m, RK_APP, "A", "N2"));
		CHECK(has_old(m, RK_APP, "N2", "A"));
		CHECK(has_old(m, RK_APP, "N1", NULL));
		CHECK(has_new(m, RK_APP, "B", "M"));
		CHECK(has_old(m, RK_APP, "M", "B"));
		CHECK_INT(idmap_count(m), 2);
		struct idmap_rec r;
		CHECK(idmap_get(m, RK_APP, "A", &r));
		CHECK_STR(r.note, "second");
		idmap_free(m);
	}
}

/* two backup ids restored to one resource: replacing the later one keeps
 * the reverse lookup of the earlier one. */
static void shared_new(void)
{
	const char *dir = path_in("shared");
	struct idmap *m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK_INT(idmap_add(m, RK_APP, "A", "N", NULL), 0);
	CHECK_INT(idmap_add(m, RK_APP, "B", "N", NULL), 0);
	CHECK(has_old(m, RK_APP, "N", "B"));
	CHECK_INT(idmap_add(m, RK_APP, "B", "M", NULL), 0);
	CHECK(has_old(m, RK_APP, "N", "A"));
	CHECK(has_old(m, RK_APP, "M", "B"));
	CHECK_INT(idmap_count(m), 2);
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(has_old(m, RK_APP, "N", "A"));
	CHECK(has_old(m, RK_APP, "M", "B"));
	CHECK(has_new(m, RK_APP, "A", "N"));
	/* once A moves too, N stands for nothing */
	CHECK_INT(idmap_add(m, RK_APP, "A", "P", NULL), 0);
	CHECK(has_old(m, RK_APP, "N", NULL));
	CHECK_INT(idmap_count(m), 2);
	idmap_free(m);
}

/* an intent ("?") is not a mapping: no new id, no reverse lookup, not
 * counted; a mapping after it, and an intent after a mapping, replace. */
static void intents(void)
{
	struct idmap *m = NULL;
	struct idmap_rec r;
	CHECK_INT(idmap_open(path_in("intents"), &m), 0);
	CHECK_INT(idmap_add(m, RK_DATAFILE, "F", "?", "1714558923123 a.csv"), 0);
	CHECK(has_new(m, RK_DATAFILE, "F", NULL));
	CHECK(has_old(m, RK_DATAFILE, "?", NULL));
	CHECK_INT(idmap_count(m), 0);
	CHECK(idmap_get(m, RK_DATAFILE, "F", &r));
	CHECK_STR(r.new_id, "?");
	CHECK_STR(r.note, "1714558923123 a.csv");
	CHECK_INT(idmap_add(m, RK_DATAFILE, "F", "G", NULL), 0);
	CHECK(has_new(m, RK_DATAFILE, "F", "G"));
	CHECK(has_old(m, RK_DATAFILE, "G", "F"));
	CHECK_INT(idmap_count(m), 1);
	CHECK_INT(idmap_add(m, RK_DATAFILE, "F", "?", "1714558999999 a.csv"), 0);
	CHECK(has_new(m, RK_DATAFILE, "F", NULL));
	CHECK(has_old(m, RK_DATAFILE, "G", NULL));
	CHECK_INT(idmap_count(m), 0);
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(path_in("intents"), &m), 0);
	CHECK_INT(idmap_count(m), 0);
	CHECK(idmap_get(m, RK_DATAFILE, "F", &r));
	CHECK_STR(r.note, "1714558999999 a.csv");
	idmap_free(m);
}

/* a torn last line (a crash in the middle of a write) is skipped, and the
 * next record written after it is not glued to it: it survives a reload. */
static void torn_line(void)
{
	const char *dir = path_in("torn"), *ids = path_in("torn/ids");
	CHECK(mkdir(dir, 0700) == 0);
	spit(ids, "app\tA\tN\tok\ngarbage line\napp\tX\tY");
	struct idmap *m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(has_new(m, RK_APP, "A", "N"));
	CHECK(has_new(m, RK_APP, "X", NULL));
	CHECK_INT(idmap_count(m), 1);
	CHECK_INT(idmap_add(m, RK_APP, "C", "D", NULL), 0);
	CHECK(has_new(m, RK_APP, "C", "D"));
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(has_new(m, RK_APP, "C", "D"));
	CHECK(has_new(m, RK_APP, "A", "N"));
	CHECK(has_new(m, RK_APP, "X", NULL));
	CHECK_INT(idmap_count(m), 2);
	/* torn while open (another writer died): the same */
	int fd = open(ids, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "space\tS", 7) == 7);
	if (fd >= 0)
		close(fd);
	CHECK_INT(idmap_add(m, RK_APP, "E", "F", NULL), 0);
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(has_new(m, RK_APP, "E", "F"));
	CHECK_INT(idmap_count(m), 3);
	idmap_free(m);
	/* a fragment cut in its note would parse: it is dropped, not ended */
	fd = open(ids, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "app\tX\tY\tcut", 12) == 12);
	if (fd >= 0)
		close(fd);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK_INT(idmap_add(m, RK_APP, "G", "H", NULL), 0);
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(has_new(m, RK_APP, "X", NULL));
	CHECK(has_new(m, RK_APP, "G", "H"));
	CHECK_INT(idmap_count(m), 4);
	/* a tail longer than any record is not ours: ended, not cut */
	char junk[1500];
	memset(junk, 'j', sizeof(junk));
	fd = open(ids, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	if (fd >= 0)
		close(fd);
	CHECK_INT(idmap_add(m, RK_APP, "I", "J", NULL), 0);
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(has_new(m, RK_APP, "I", "J"));
	CHECK_INT(idmap_count(m), 5);
	idmap_free(m);
	CHECK(strstr(slurp(ids), "jjj\napp\tI\tJ\t\n") != NULL);
	/* an empty file is an empty map */
	spit(ids, "");
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK_INT(idmap_count(m), 0);
	CHECK_INT(idmap_add(m, RK_APP, "A", "B", NULL), 0);
	idmap_free(m);
	CHECK_STR(slurp(ids), "app\tA\tB\t\n");
}

static int parse_str(const char *s, struct idmap_rec *r)
{
	return idmap_parse_line(s, strlen(s), r);
}

static void hostile_lines(void)
{
	static const char *const bad[] = {
		"",
		"app",
		"app\tA",
		"app\tA\tB",             /* no note field at all */
		"app\tA\tB\tnote\textra", /* a tab in the note */
		"App\tA\tB\t",           /* types are exact */
		"apps\tA\tB\t",
		"\tA\tB\t",
		"app\t\tB\t",            /* empty ids */
		"app\tA\t\t",
		"app\tA\tB\tnote\n",     /* the newline is not part of the line */
		"app\tA\nX\tB\t",
		"app\tA\tB\r\t",
		"app\tA\tB\tnote\r",
		"\t\t\t",
		"app\t\t\t",
	};
	struct idmap_rec r;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc = parse_str(bad[i], &r);
		CHECK_INT(rc, -EINVAL);
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
	}
	/* NUL inside a field */
	CHECK_INT(idmap_parse_line("app\tA\0B\tC\t", 10, &r), -EINVAL);
	CHECK_INT(idmap_parse_line("app\tA\tC\tno\0te", 13, &r), -EINVAL);
	CHECK_INT(idmap_parse_line("app\0\tA\tC\t", 9, &r), -EINVAL);
	/* over the field sizes */
	char line[2048], id[200];
	memset(id, 'x', sizeof(id));
	id[128] = '\0';
	snprintf(line, sizeof(line), "app\t%s\tN\t", id);
	CHECK_INT(parse_str(line, &r), -EINVAL);
	snprintf(line, sizeof(line), "app\tO\t%s\t", id);
	CHECK_INT(parse_str(line, &r), -EINVAL);
	id[127] = '\0'; /* the longest that fits */
	snprintf(line, sizeof(line), "app\t%s\t%s\t", id, id);
	CHECK_INT(parse_str(line, &r), 0);
	CHECK_INT(strlen(r.old_id), 127);
	char note[600];
	memset(note, 'n', sizeof(note));
	note[512] = '\0';
	snprintf(line, sizeof(line), "app\tO\tN\t%s", note);
	CHECK_INT(parse_str(line, &r), -EINVAL);
	note[511] = '\0';
	snprintf(line, sizeof(line), "app\tO\tN\t%s", note);
	CHECK_INT(parse_str(line, &r), 0);
	/* every type of the table, and notes with spaces and UTF-8 */
	CHECK_INT(parse_str("data-asset\tx\ty\t1714558923123 Sal\xc3\xa9s (Q1).qvf", &r), 0);
	CHECK(r.kind == RK_DATAASSET);
	CHECK_STR(r.note, "1714558923123 Sal\xc3\xa9s (Q1).qvf");
	CHECK_INT(parse_str("user\tu1\t?\t", &r), 0);
	CHECK(r.kind == RK_USER);
	CHECK_STR(r.new_id, "?");
	/* a refusal leaves the record cleared, however far it got */
	CHECK_INT(parse_str("app\tA\tB", &r), -EINVAL);
	CHECK(!r.old_id[0] && !r.new_id[0] && !r.note[0]);
	CHECK_INT(parse_str("space\tA\tB\tn\r", &r), -EINVAL);
	CHECK(r.kind == 0 && !r.old_id[0] && !r.new_id[0] && !r.note[0]);
	CHECK_INT(parse_str("data-set\tA\t\t", &r), -EINVAL);
	CHECK(r.kind == 0 && !r.old_id[0]);
}

static void symmetry(void)
{
	static const char *const good[] = {
		"app\tA\tB\t",
		"space\tsp-1\tsp-2\tFinance",
		"data-file\tf\t?\t1714558923123 orders 2024.csv",
		"data-store\ts\tt\t  spaces  ",
		"data-set\t\xe2\x82\xac\t\xe2\x82\xac" "2\t\xe2\x82\xac",
		"user\t?\t?\t?",
	};
	char out[1024];
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		struct idmap_rec r, r2;
		CHECK_INT(parse_str(good[i], &r), 0);
		int l = idmap_format_line(&r, out, sizeof(out));
		CHECK_INT(l, strlen(good[i]) + 1);
		CHECK(l > 0 && out[l - 1] == '\n' && !memcmp(out, good[i], (size_t)l - 1));
		CHECK_INT(idmap_parse_line(out, l > 0 ? (size_t)l - 1 : 0, &r2), 0);
		CHECK(r.kind == r2.kind);
		CHECK_STR(r2.old_id, r.old_id);
		CHECK_STR(r2.new_id, r.new_id);
		CHECK_STR(r2.note, r.note);
	}
	/* what format refuses */
	struct idmap_rec r = { .kind = RK_APP, .old_id = "A", .new_id = "B", .note = "n" };
	CHECK_INT(idmap_format_line(&r, out, sizeof(out)), 10);
	CHECK_STR(out, "app\tA\tB\tn\n");
	CHECK_INT(idmap_format_line(&r, out, 10), -ENAMETOOLONG);
	CHECK_INT(idmap_format_line(&r, out, 11), 10);
	r.kind = RK_COUNT;
	CHECK_INT(idmap_format_line(&r, out, sizeof(out)), -EINVAL);
	r.kind = RK_APP;
	snprintf(r.old_id, sizeof(r.old_id), "a\tb");
	CHECK_INT(idmap_format_line(&r, out, sizeof(out)), -EINVAL);
	r.old_id[0] = '\0';
	CHECK_INT(idmap_format_line(&r, out, sizeof(out)), -EINVAL);
	snprintf(r.old_id, sizeof(r.old_id), "A");
	snprintf(r.note, sizeof(r.note), "two\nlines");
	CHECK_INT(idmap_format_line(&r, out, sizeof(out)), -EINVAL);
	snprintf(r.note, sizeof(r.note), "cr\r");
	CHECK_INT(idmap_format_line(&r, out, sizeof(out)), -EINVAL);
	snprintf(r.note, sizeof(r.note), "n");
	snprintf(r.new_id, sizeof(r.new_id), "b\n");
	CHECK_INT(idmap_format_line(&r, out, sizeof(out)), -EINVAL);
}

/* ids and notes that cannot be kept are refused and nothing is written */
static void add_refusals(void)
{
	const char *dir = path_in("refuse"), *ids = path_in("refuse/ids");
	struct idmap *m = NULL;
	char longid[200], longnote[600];
	memset(longid, 'x', sizeof(longid));
	longid[128] = '\0';
	memset(longnote, 'n', sizeof(longnote));
	longnote[512] = '\0';
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK_INT(idmap_add(m, RK_APP, "a\tb", "N", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "a\nb", "N", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "a\rb", "N", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "", "N", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, longid, "N", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, NULL, "N", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "A", "", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "A", "N\t", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "A", longid, NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "A", NULL, NULL), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "A", "N", "tab\there"), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "A", "N", "new\nline"), -EINVAL);
	CHECK_INT(idmap_add(m, RK_APP, "A", "N", longnote), -EINVAL);
	CHECK_INT(idmap_add(m, (enum rkind)RK_COUNT, "A", "N", NULL), -EINVAL);
	CHECK_INT(idmap_add(m, (enum rkind)-1, "A", "N", NULL), -EINVAL);
	CHECK_INT(idmap_count(m), 0);
	CHECK(has_new(m, RK_APP, "A", NULL));
	CHECK(access(ids, F_OK) != 0);
	longid[127] = '\0';
	longnote[511] = '\0';
	CHECK_INT(idmap_add(m, RK_APP, longid, longid, longnote), 0);
	CHECK(has_new(m, RK_APP, longid, longid));
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK(has_old(m, RK_APP, longid, longid));
	idmap_free(m);
	/* a state directory that is a file */
	spit(path_in("afile"), "x");
	m = NULL;
	CHECK(idmap_open(path_in("afile"), &m) < 0);
	CHECK(m == NULL);
}

static void memory_only(void)
{
	struct idmap *m = NULL;
	CHECK_INT(idmap_open(NULL, &m), 0);
	CHECK_INT(idmap_add(m, RK_USER, "u1", "u2", "x"), 0);
	CHECK_INT(idmap_add(m, RK_USER, "u3", "?", NULL), 0);
	CHECK(has_new(m, RK_USER, "u1", "u2"));
	CHECK(has_old(m, RK_USER, "u2", "u1"));
	CHECK(has_new(m, RK_USER, "u3", NULL));
	CHECK_INT(idmap_count(m), 1);
	CHECK_INT(idmap_add(m, RK_USER, "u1", "?", NULL), 0);
	CHECK_INT(idmap_count(m), 0);
	/* more than one growth of the record array */
	char a[32], b[32];
	for (int i = 0; i < 300; i++) {
		snprintf(a, sizeof(a), "o%d", i % 100);
		snprintf(b, sizeof(b), "n%d", i);
		CHECK_INT(idmap_add(m, RK_APP, a, b, NULL), 0);
	}
	CHECK_INT(idmap_count(m), 100);
	CHECK(has_new(m, RK_APP, "o7", "n207"));
	CHECK(has_old(m, RK_APP, "n207", "o7"));
	CHECK(has_old(m, RK_APP, "n107", NULL));
	idmap_free(m);
}

struct worker {
	struct idmap *m;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char a[32], b[32], out[128];
	for (int i = 0; i < 200; i++) {
		snprintf(a, sizeof(a), "t%d-%d", w->id, i);
		snprintf(b, sizeof(b), "n%d-%d", w->id, i);
		if (idmap_add(w->m, RK_APP, a, b, NULL) ||
		    !idmap_new_id(w->m, RK_APP, a, out, sizeof(out)) || strcmp(out, b) ||
		    !idmap_old_id(w->m, RK_APP, b, out, sizeof(out)) || strcmp(out, a))
			return (void *)1;
		(void)idmap_count(w->m);
	}
	return NULL;
}

/* adds and lookups from several threads; every record is in the file */
static void threads(void)
{
	const char *dir = path_in("threads");
	struct idmap *m = NULL;
	pthread_t t[4];
	struct worker w[4];
	CHECK_INT(idmap_open(dir, &m), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ m, i };
		CHECK_INT(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *r = (void *)1;
		pthread_join(t[i], &r);
		CHECK(r == NULL);
	}
	CHECK_INT(idmap_count(m), 800);
	idmap_free(m);
	m = NULL;
	CHECK_INT(idmap_open(dir, &m), 0);
	CHECK_INT(idmap_count(m), 800);
	CHECK(has_new(m, RK_APP, "t3-199", "n3-199"));
	idmap_free(m);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/qlikfs-idmap-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	round_trip();
	replacement();
	shared_new();
	intents();
	torn_line();
	hostile_lines();
	symmetry();
	add_refusals();
	memory_only();
	threads();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
