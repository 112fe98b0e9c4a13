/*
 * sim_appdata.c - an app's data model and lineage (reference section 9):
 * GET /api/v1/apps/{id}/data/metadata and /data/lineage, derived from the
 * script the app was last reloaded with (its current script before its
 * first reload through the simulator):
 *  - a table per label ("Sales:" before a LOAD), else "Table<n>";
 *  - fields: each "AS <name>" of a LOAD, and for LOAD * the columns a
 *    seeded file is known to have (sales_2023.csv: Date, Region, Amount...);
 *  - lineage: one {discriminator, statement} per FROM [<source>].
 * Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *file;
	const char *cols[3];
} known[] = {
	{ "sales_2023.csv", { "Date", "Region", "Amount" } },
	{ "customers.csv", { "CustomerID", "Name", "Country" } },
	{ "products.qvd", { "ProductID", "Product", "Price" } },
	{ "ledger.csv", { "Account", "Debit", "Credit" } },
};

void appdata_set_reloaded(struct sim_tenant *t, const char *app, const char *script)
{
	char *s = strdup(script ? script : "");
	free(hm_del(&t->reloaded, app)); /* hm_put does not free what it replaces */
	if (s && hm_put(&t->reloaded, app, s))
		free(s);
}

void appdata_forget(struct sim_tenant *t, const char *app)
{
	free(hm_del(&t->reloaded, app));
}

/* The script the data model comes from (borrowed), or NULL. */
static const char *model_script(struct sim_ctx *c, const char *app, char **owned)
{
	const char *s = hm_get(&c->t->reloaded, app);
	*owned = NULL;
	if (s)
		return s;
	*owned = scripts_current_text(c->t, app);
	return *owned;
}

static cJSON *field_obj(const char *name, const char *table)
{
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "name", name);
	cJSON *st = cJSON_AddArrayToObject(f, "src_tables");
	cJSON_AddItemToArray(st, cJSON_CreateString(table));
	cJSON_AddFalseToObject(f, "is_system");
	cJSON_AddFalseToObject(f, "is_hidden");
	cJSON_AddFalseToObject(f, "is_semantic");
	cJSON_AddFalseToObject(f, "distinct_only");
	cJSON_AddNumberToObject(f, "cardinal", 1);
	cJSON_AddNumberToObject(f, "total_count", 1);
	cJSON_AddFalseToObject(f, "is_numeric");
	cJSON_AddStringToObject(f, "comment", "");
	cJSON_AddArrayToObject(f, "tags");
	cJSON_AddNumberToObject(f, "byte_size", 16);
	return f;
}

static cJSON *table_obj(const char *name, int nfields)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddFalseToObject(o, "is_system");
	cJSON_AddFalseToObject(o, "is_semantic");
	cJSON_AddFalseToObject(o, "is_loose");
	cJSON_AddNumberToObject(o, "no_of_rows", 1);
	cJSON_AddNumberToObject(o, "no_of_fields", nfields);
	cJSON_AddNumberToObject(o, "no_of_key_fields", 0);
	cJSON_AddStringToObject(o, "comment", "");
	cJSON_AddNumberToObject(o, "byte_size", 16 * nfields);
	return o;
}

/* Copies the identifier at p (letters, digits, _) into out; its length. */
static size_t ident(const char *p, char *out, size_t n)
{
	size_t l = 0;
	while (p[l] && (isalnum((unsigned char)p[l]) || p[l] == '_') && l + 1 < n) {
		out[l] = p[l];
		l++;
	}
	out[l] = 0;
	return l;
}

/* Walks the script's statements (split at ';'): calls back with each
 * LOAD's table name, its text, and its FROM source (or NULL). */
typedef void (*stmt_fn)(void *arg, const char *table, const char *stmt, const char *src);

static void walk(const char *script, stmt_fn fn, void *arg)
{
	int n = 0;
	for (const char *p = script; p && *p;) {
		size_t l = strcspn(p, ";");
		char *st = strndup(p, l);
		p += l + (p[l] == ';');
		if (!st)
			return;
		char *load = strcasestr(st, "LOAD");
		if (load) {
			char table[64] = "", src[512] = "";
			/* the label: "Name:" on the line before LOAD */
			char *colon = NULL;
			for (char *q = st; q < load; q++)
				if (*q == ':' && (q[1] == '\n' || q[1] == ' ' || q[1] == '\r'))
					colon = q;
			if (colon) {
				char *b = colon;
				while (b > st && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
					b--;
				ident(b, table, sizeof(table));
			}
			if (!table[0])
				snprintf(table, sizeof(table), "Table%d", ++n);
			char *from = strcasestr(load, "FROM [");
			if (from) {
				size_t k = strcspn(from + 6, "]");
				if (k < sizeof(src)) {
					memcpy(src, from + 6, k);
					src[k] = 0;
				}
			}
			while (*load && isspace((unsigned char)*load))
				load++;
			fn(arg, table, load, src[0] ? src : NULL);
		}
		free(st);
	}
}

struct model {
	cJSON *fields, *tables;
};

static void model_stmt(void *arg, const char *table, const char *stmt, const char *src)
{
	struct model *m = arg;
	int nf = 0;
	char name[64];
	for (const char *p = stmt; (p = strcasestr(p, " AS ")); p += 4) {
		if (ident(p + 4, name, sizeof(name))) {
			cJSON_AddItemToArray(m->fields, field_obj(name, table));
			nf++;
		}
	}
	if (strstr(stmt, "*") && src) {
		const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(base, known[i].file))
				for (int k = 0; k < 3; k++, nf++)
					cJSON_AddItemToArray(m->fields, field_obj(known[i].cols[k], table));
	}
	cJSON_AddItemToArray(m->tables, table_obj(table, nf));
}

static void lineage_stmt(void *arg, const char *table, const char *stmt, const char *src)
{
	(void)table;
	if (!src)
		return;
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "discriminator", src);
	cJSON_AddStringToObject(e, "statement", stmt);
	cJSON_AddItemToArray(arg, e);
}

static struct rec *app_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->apps, c->ids[0]);
	if (!r)
		reply_err(c, 404, "App.NotFound", "Not found", "app not found");
	return r;
}

int h_app_data_metadata(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c);
	if (!a)
		return 0;
	char *owned;
	const char *script = model_script(c, a->id, &owned);
	struct model m = { cJSON_CreateArray(), cJSON_CreateArray() };
	walk(script, model_stmt, &m);
	free(owned);
	cJSON *o = cJSON_CreateObject();
	cJSON *rm = cJSON_AddObjectToObject(o, "reload_meta");
	cJSON_AddNumberToObject(rm, "cpu_time_spent_ms", 10);
	cJSON_AddNumberToObject(rm, "peak_memory_bytes", 1 << 20);
	cJSON_AddNumberToObject(o, "static_byte_size", 1024);
	cJSON_AddItemToObject(o, "fields", m.fields);
	cJSON_AddItemToObject(o, "tables", m.tables);
	cJSON_AddFalseToObject(o, "has_section_access");
	cJSON_AddFalseToObject(o, "is_direct_query_mode");
	cJSON_AddStringToObject(o, "usage", "ANALYTICS");
	return reply_json(c, 200, o);
}

int h_app_data_lineage(struct sim_ctx *c)
{
	struct rec *a = app_or_404(c);
	if (!a)
		return 0;
	char *owned;
	const char *script = model_script(c, a->id, &owned);
	cJSON *arr = cJSON_CreateArray();
	walk(script, lineage_stmt, arr);
	free(owned);
	return reply_json(c, 200, arr);
}
