/*
 * sim_seed.c - deterministic initial content of the simulated tenant.
 *
 * Everything is derived from cfg.seed through the tenant PRNG, so two tenants
 * with the same seed and sizes hold the same names, owners and relative
 * timestamps (absolute times follow the clock).  The seed deliberately
 * contains awkward cases: Unicode names, duplicate app and user names, names
 * with '/', personal-space content, nested data-file folders.
 * Locking: called from sim_new() with t->mu held.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (86400LL * 1000)

static const char *const first_names[] = {
	"Anna", "Erik", "Maria", "Johan", "Sofia", "Lars", "Emma", "Oskar", "Olivia", "Liam",
	"Noah", "Mia", "Lucas", "Chloé", "José", "Zoë", "Björn", "Søren", "Aiko", "Hiroshi",
	"Priya", "Arjun", "Fatima", "Omar", "Wei", "Li", "Giulia", "Matteo", "Élodie", "Łukasz",
	"Nina", "Karl", "Ingrid", "Pedro", "Ana", "David", "Sarah", "Tom", "Grace", "Yuki",
};
static const char *const last_names[] = {
	"Svensson", "Johansson", "Andersson", "Smith", "Müller", "García", "Rossi", "Dubois",
	"Nowak", "Tanaka", "Sato", "Kumar", "Patel", "Haddad", "Chen", "Wang", "Nielsen",
	"O'Brien", "Fernández", "Kowalski", "Lindqvist", "Berg", "Novák", "Yılmaz", "Ivanova",
	"Brown", "Wilson", "Moreau", "Schmidt", "Costa",
};
#define NF (sizeof(first_names) / sizeof(first_names[0]))
#define NL (sizeof(last_names) / sizeof(last_names[0]))

static const char *const space_names[] = {
	"Finance", "Sales Analytics", "Marketing", "HR Insights", "Ventes €uropéennes",
	"売上ダッシュボード", "Operations 🚀", "Supply Chain",
};
static const char *const managed_names[] = { "Executive Reporting", "Published Finance",
					     "Board Pack", "Customer Portal" };

static const char *const adjs[] = { "Regional", "Quarterly", "Global", "Weekly", "Customer",
				    "Product", "Inventory", "Pipeline", "Revenue", "Churn",
				    "Margin", "Forecast" };
static const char *const nouns[] = { "Overview", "Analysis", "Dashboard", "Tracker",
				     "Explorer", "Report", "Monitor", "Insights", "Scorecard" };

static long long past(struct sim_tenant *t, long long now)
{
	/* between one hour and one year ago */
	return now - 3600LL * 1000 - (long long)rng_range(t, (uint64_t)(364 * DAY_MS));
}

static long long between(struct sim_tenant *t, long long a, long long now)
{
	if (now - 1000 <= a)
		return a;
	return a + (long long)rng_range(t, (uint64_t)(now - 1000 - a));
}

static int seed_users(struct sim_tenant *t, int n, long long now)
{
	struct rec *me = user_new(t, "Sim Admin", "admin@sim-tenant.example", "auth0|sim-admin",
				  "active", true, now - 365 * DAY_MS);
	if (!me || !(t->me = strdup(me->id)))
		return -ENOMEM;
	if (!key_add(t, t->admin_key, t->me, 0, 0))
		return -ENOMEM;
	for (int i = 1; i < n; i++) {
		char name[96], email[128], sub[64];
		const char *fn, *ln;
		if (i == 1 || i == 2) { /* the duplicate pair */
			fn = "Anna";
			ln = "Svensson";
		} else {
			fn = first_names[rng_range(t, NF)];
			ln = last_names[rng_range(t, NL)];
		}
		snprintf(name, sizeof(name), "%s %s", fn, ln);
		bool ascii = true;
		for (const char *p = name; *p; p++)
			if ((unsigned char)*p >= 0x80 || *p == '\'')
				ascii = false;
		if (ascii) {
			size_t k = 0;
			for (const char *p = name; *p && k + 1 < 64; p++)
				email[k++] = *p == ' ' ? '.' : (char)tolower((unsigned char)*p);
			snprintf(email + k, sizeof(email) - k, "%d@example.com", i);
		} else {
			snprintf(email, sizeof(email), "user%d@example.com", i);
		}
		snprintf(sub, sizeof(sub), "auth0|%016llx%06d", (unsigned long long)rng_next(t), i);
		const char *st = i % 23 == 0 ? "invited" : i % 17 == 0 ? "disabled" : "active";
		if (!user_new(t, name, email, sub, st, i % 40 == 5, past(t, now)))
			return -ENOMEM;
	}
	return 0;
}

static const char *pick_user(struct sim_tenant *t)
{
	if (t->users.n < 2 || rng_range(t, 3) == 0)
		return t->me;
	return t->users.v[1 + rng_range(t, t->users.n - 1)]->id;
}

static int seed_spaces(struct sim_tenant *t, int n, long long now)
{
	int managed = n / 5, shared = n - managed;
	char buf[64];
	for (int i = 0; i < shared; i++) {
		const char *nm = space_names[i % 8];
		if (i >= 8) {
			snprintf(buf, sizeof(buf), "Team Space %d", i - 7);
			nm = buf;
		}
		const char *owner = i < 4 ? t->me : pick_user(t);
		/* spaces predate the content seeded into them */
		long long cr = now - 364 * DAY_MS - (long long)rng_range(t, (uint64_t)DAY_MS / 2);
		if (!space_new(t, nm, "shared", i == 0 ? "Finance team content" : "", owner, cr))
			return -ENOMEM;
	}
	for (int i = 0; i < managed; i++) {
		const char *nm = managed_names[i % 4];
		if (i >= 4) {
			snprintf(buf, sizeof(buf), "Managed Space %d", i - 3);
			nm = buf;
		}
		long long cr = now - 364 * DAY_MS - (long long)rng_range(t, (uint64_t)DAY_MS / 2);
		if (!space_new(t, nm, "managed", "Governed content", t->me, cr))
			return -ENOMEM;
	}
	return 0;
}

static const char *space_at(struct sim_tenant *t, size_t i)
{
	return t->spaces.n ? t->spaces.v[i % t->spaces.n]->id : NULL;
}

static int seed_apps(struct sim_tenant *t, int n, long long now)
{
	static const struct {
		const char *name;
		int space; /* -1 personal */
	} fixed[] = {
		{ "Sales Dashboard", 0 },      { "Sales Dashboard", 0 },
		{ "Sales Dashboard", -1 },     { "Q1/Q2 Review", 1 },
		{ "売上ダッシュボード", 5 },    { "Ventes €uropéennes – Q3", 4 },
		{ "Customer 360 🎯", 2 },      { "My Scratchpad", -1 },
		{ "Budget draft", -1 },        { "Sales Dashboard", 1 },
	};
	for (int i = 0; i < n; i++) {
		char name[96];
		const char *sp;
		const char *owner;
		if ((size_t)i < sizeof(fixed) / sizeof(fixed[0])) {
			snprintf(name, sizeof(name), "%s", fixed[i].name);
			sp = fixed[i].space < 0 ? NULL : space_at(t, (size_t)fixed[i].space);
			owner = sp ? pick_user(t) : t->me;
		} else {
			snprintf(name, sizeof(name), "%s %s %d", adjs[rng_range(t, 12)],
				 nouns[rng_range(t, 9)], 2021 + (int)rng_range(t, 5));
			bool personal = i % 10 == 3;
			sp = personal ? NULL : space_at(t, rng_range(t, t->spaces.n ? t->spaces.n : 1));
			owner = sp ? pick_user(t) : t->me;
		}
		long long cr = past(t, now), mo = between(t, cr, now);
		struct rec *a = app_new(t, name, i % 4 == 0 ? "Seeded demo app" : "", sp, owner, cr,
					mo, NULL, 0);
		if (!a)
			return -ENOMEM;
		/* the item was last touched when the app was */
		struct rec *it = coll_get(&t->items, a->aux);
		char ts[40];
		fmt_s(ts, sizeof(ts), mo);
		if (it)
			jset_str(it->j, "updatedAt", ts);
	}
	return 0;
}

static int seed_files(struct sim_tenant *t, int n, long long now)
{
	static const struct {
		const char *name;
		int space; /* -1 personal */
	} fixed[] = {
		{ "reports/2024/jan.csv", -1 },
		{ "reports/2024/feb.csv", -1 },
		{ "reports/2023/dec.csv", -1 },
		{ "Sales Q1 2024 – Übersicht.xlsx", -1 },
		{ "customers.csv", -1 },
		{ "products.qvd", -1 },
		{ "notes.txt", -1 },
		{ "finance/budget 2024.xlsx", 0 },
		{ "ledger.csv", 0 },
		{ "売上データ.csv", 5 },
		{ "campaigns.csv", 2 },
	};
	for (int i = 0; i < n; i++) {
		char name[128];
		const char *sp;
		if ((size_t)i < sizeof(fixed) / sizeof(fixed[0])) {
			snprintf(name, sizeof(name), "%s", fixed[i].name);
			sp = fixed[i].space < 0 ? NULL : space_at(t, (size_t)fixed[i].space);
		} else {
			static const char *const ext[] = { "csv", "txt", "qvd", "xlsx", "xml" };
			bool personal = i % 2 == 0;
			snprintf(name, sizeof(name), "%sdata_%03d.%s", i % 5 == 0 ? "archive/" : "",
				 i, ext[rng_range(t, 5)]);
			sp = personal ? NULL : space_at(t, rng_range(t, t->spaces.n ? t->spaces.n : 1));
			if (sp) {
				struct rec *s = coll_get(&t->spaces, sp);
				if (s && !s->aux) /* data spaces have no DataFiles connection */
					sp = NULL;
			}
		}
		size_t rows = 5 + rng_range(t, 200), len = 0;
		char *buf = NULL;
		FILE *f = open_memstream(&buf, &len);
		if (!f)
			return -ENOMEM;
		fprintf(f, "id,date,amount,region\n");
		for (size_t r = 0; r < rows; r++)
			fprintf(f, "%zu,2024-%02zu-%02zu,%llu.%02llu,%s\n", r + 1, r % 12 + 1,
				r % 28 + 1, (unsigned long long)rng_range(t, 100000),
				(unsigned long long)rng_range(t, 100),
				r % 3 ? "North" : "Söder");
		fclose(f);
		int rc = df_seed_file(t, name, sp, t->me, (unsigned char *)buf, len, past(t, now));
		free(buf);
		if (rc)
			return rc;
	}
	return 0;
}

static int seed_stores(struct sim_tenant *t, int n, int assets, int sets, long long now)
{
	static const struct {
		const char *name, *type;
	} fixed[] = { { "DataFilesStore", "qix-datafiles" },
		      { "Q1/Q2 Warehouse", "snowflake" },
		      { "Sales Lake", "gbq" } };
	for (int i = 0; i < n; i++) {
		char name[64];
		const char *type = fixed[i % 3].type;
		if (i < 3)
			snprintf(name, sizeof(name), "%s", fixed[i].name);
		else
			snprintf(name, sizeof(name), "Store %d", i);
		long long cr = past(t, now);
		struct rec *s = store_new(t, name, type, i == 1 ? space_at(t, 0) : NULL, t->me, cr);
		if (!s)
			return -ENOMEM;
		for (int a = 0; a < assets; a++) {
			char an[96];
			snprintf(an, sizeof(an), "%s asset %d", name, a + 1);
			struct rec *ar = asset_new(t, s, an, between(t, cr, now));
			if (!ar)
				return -ENOMEM;
			for (int d = 0; d < sets; d++) {
				char dn[96];
				snprintf(dn, sizeof(dn), "%s_%d_%d.csv",
					 d % 2 ? "customers" : "orders", a + 1, d + 1);
				if (!dset_new(t, ar, dn, between(t, cr, now)))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

int sim_seed(struct sim_tenant *t)
{
	const struct sim_config *c = &t->cfg;
	long long now = sim_now(t);
	int rc;
	if ((rc = seed_users(t, c->empty ? 1 : c->n_users > 0 ? c->n_users : 120, now)))
		return rc;
	if (c->empty)
		return 0;
	if ((rc = seed_spaces(t, c->n_spaces > 0 ? c->n_spaces : 10, now)))
		return rc;
	if ((rc = seed_apps(t, c->n_apps > 0 ? c->n_apps : 60, now)))
		return rc;
	if ((rc = seed_files(t, c->n_data_files > 0 ? c->n_data_files : 40, now)))
		return rc;
	return seed_stores(t, c->n_data_stores > 0 ? c->n_data_stores : 3,
			   c->assets_per_store > 0 ? c->assets_per_store : 3,
			   c->sets_per_asset > 0 ? c->sets_per_asset : 2, now);
}
