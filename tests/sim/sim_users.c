/*
 * sim_users.c - /api/v1/users: list (cursor paging, default sort +name,
 * minimal SCIM filter), /me redirect, get, create, JSON-patch update, delete,
 * count.
 *
 * Invariants: subjects are unique (case-insensitive); assignedRoles only hold
 * roles from the fixed role table below.  Locking: handlers run with t->mu held.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *id, *name, *level;
} roles[] = {
	{ "608050f7634644db3678b1a2", "TenantAdmin", "admin" },
	{ "608050f7634644db3678b1a3", "AnalyticsAdmin", "admin" },
	{ "608050f7634644db3678b1a4", "DataAdmin", "admin" },
	{ "608050f7634644db3678b1a5", "Steward", "user" },
	{ "608050f7634644db3678b1a6", "Professional", "user" },
	{ "608050f7634644db3678b1a7", "Analyzer", "user" },
	{ "608050f7634644db3678b1a8", "AnalyticsPrivilegedUser", "user" },
};
#define NROLES (sizeof(roles) / sizeof(roles[0]))

static cJSON *role_json(size_t i)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", roles[i].id);
	cJSON_AddStringToObject(o, "name", roles[i].name);
	cJSON_AddStringToObject(o, "type", "default");
	cJSON_AddStringToObject(o, "level", roles[i].level);
	return o;
}

/* {id} or {name} -> role index, -1 if unknown */
static int role_find(const cJSON *ref)
{
	const char *id = jstr(ref, "id"), *name = jstr(ref, "name");
	for (size_t i = 0; i < NROLES; i++)
		if ((id && !strcmp(id, roles[i].id)) || (name && !strcasecmp(name, roles[i].name)))
			return (int)i;
	return -1;
}

cJSON *render_user(struct sim_ctx *c, struct rec *r)
{
	cJSON *o = cJSON_Duplicate(r->j, 1);
	if (!o)
		return NULL;
	char *h = abs_url(c->base, "/api/v1/users/%s", r->id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "links"), "self"),
				"href", h ? h : "");
	free(h);
	return o;
}

struct rec *user_new(struct sim_tenant *t, const char *name, const char *email,
		     const char *subject, const char *status, bool admin, long long created)
{
	char id[25], ts[40];
	gen_oid(t, created, id);
	fmt_ms(ts, sizeof(ts), created);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "tenantId", t->tenant_id);
	cJSON_AddStringToObject(o, "subject", subject);
	cJSON_AddStringToObject(o, "name", name ? name : "");
	if (email)
		cJSON_AddStringToObject(o, "email", email);
	cJSON_AddStringToObject(o, "status", status ? status : "active");
	cJSON_AddStringToObject(o, "preferredLocale", "");
	cJSON_AddStringToObject(o, "preferredZoneinfo", "");
	cJSON *ar = cJSON_AddArrayToObject(o, "assignedRoles");
	if (admin)
		cJSON_AddItemToArray(ar, role_json(0));
	cJSON_AddItemToArray(ar, role_json(admin ? 4 : 4 + (size_t)(created / 1000 % 2) * 1));
	cJSON_AddArrayToObject(o, "assignedGroups");
	cJSON_AddArrayToObject(o, "assignedScopes");
	cJSON_AddStringToObject(o, "createdAt", ts);
	cJSON_AddStringToObject(o, "lastUpdatedAt", ts);
	cJSON_AddStringToObject(o, "created", ts);
	cJSON_AddStringToObject(o, "lastUpdated", ts);
	struct rec *r = rec_new(id, o);
	if (!r) {
		cJSON_Delete(o);
		return NULL;
	}
	if (coll_add(&t->users, r)) {
		rec_free(r);
		return NULL;
	}
	return r;
}

/* ------------------------------------------------------- SCIM filter */

enum { N_AND, N_OR, N_NOT, N_CMP };
struct fnode {
	int type;
	struct fnode *l, *r;
	char attr[48], op[3], *val;
};

static void fnode_free(struct fnode *n)
{
	if (!n)
		return;
	fnode_free(n->l);
	fnode_free(n->r);
	free(n->val);
	free(n);
}

static void skipws(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static bool kw(const char **p, const char *k)
{
	size_t l = strlen(k);
	skipws(p);
	if (!strncasecmp(*p, k, l) && !isalnum((unsigned char)(*p)[l]) && (*p)[l] != '.') {
		*p += l;
		return true;
	}
	return false;
}

static struct fnode *parse_or(const char **p);

static struct fnode *parse_primary(const char **p)
{
	skipws(p);
	if (**p == '(') {
		(*p)++;
		struct fnode *n = parse_or(p);
		skipws(p);
		if (!n || **p != ')') {
			fnode_free(n);
			return NULL;
		}
		(*p)++;
		return n;
	}
	if (kw(p, "not")) {
		struct fnode *n = calloc(1, sizeof(*n)), *x = parse_primary(p);
		if (!n || !x) {
			free(n);
			fnode_free(x);
			return NULL;
		}
		n->type = N_NOT;
		n->l = x;
		return n;
	}
	struct fnode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->type = N_CMP;
	size_t i = 0;
	while (**p && (isalnum((unsigned char)**p) || **p == '.' || **p == '_')) {
		if (i + 1 < sizeof(n->attr))
			n->attr[i++] = **p;
		(*p)++;
	}
	n->attr[i] = 0;
	skipws(p);
	if (!i || !isalpha((unsigned char)(*p)[0]) || !isalpha((unsigned char)(*p)[1])) {
		fnode_free(n);
		return NULL;
	}
	n->op[0] = (char)tolower((unsigned char)(*p)[0]);
	n->op[1] = (char)tolower((unsigned char)(*p)[1]);
	*p += 2;
	if (!strcmp(n->op, "pr"))
		return n;
	if (strcmp(n->op, "eq") && strcmp(n->op, "ne") && strcmp(n->op, "co") &&
	    strcmp(n->op, "sw") && strcmp(n->op, "ew")) {
		fnode_free(n);
		return NULL;
	}
	skipws(p);
	if (**p == '"') {
		(*p)++;
		char *buf = malloc(strlen(*p) + 1), *o = buf;
		if (!buf) {
			fnode_free(n);
			return NULL;
		}
		while (**p && **p != '"') {
			if (**p == '\\' && (*p)[1])
				(*p)++;
			*o++ = *(*p)++;
		}
		*o = 0;
		if (**p != '"') {
			free(buf);
			fnode_free(n);
			return NULL;
		}
		(*p)++;
		n->val = buf;
	} else {
		const char *s = *p;
		while (**p && !isspace((unsigned char)**p) && **p != ')')
			(*p)++;
		n->val = strndup(s, (size_t)(*p - s));
	}
	return n;
}

static struct fnode *parse_and(const char **p)
{
	struct fnode *l = parse_primary(p);
	while (l && kw(p, "and")) {
		struct fnode *r = parse_primary(p), *n = calloc(1, sizeof(*n));
		if (!r || !n) {
			fnode_free(l);
			fnode_free(r);
			free(n);
			return NULL;
		}
		n->type = N_AND;
		n->l = l;
		n->r = r;
		l = n;
	}
	return l;
}

static struct fnode *parse_or(const char **p)
{
	struct fnode *l = parse_and(p);
	while (l && kw(p, "or")) {
		struct fnode *r = parse_and(p), *n = calloc(1, sizeof(*n));
		if (!r || !n) {
			fnode_free(l);
			fnode_free(r);
			free(n);
			return NULL;
		}
		n->type = N_OR;
		n->l = l;
		n->r = r;
		l = n;
	}
	return l;
}

static bool cmp_val(const char *have, const char *op, const char *want)
{
	if (!strcmp(op, "pr"))
		return have && *have;
	if (!have)
		return !strcmp(op, "ne");
	if (!strcmp(op, "eq"))
		return !strcasecmp(have, want);
	if (!strcmp(op, "ne"))
		return strcasecmp(have, want) != 0;
	if (!strcmp(op, "co"))
		return strcasestr(have, want) != NULL;
	if (!strcmp(op, "sw"))
		return !strncasecmp(have, want, strlen(want));
	size_t hl = strlen(have), wl = strlen(want);
	return hl >= wl && !strcasecmp(have + hl - wl, want);
}

static bool feval(const struct fnode *n, const cJSON *u)
{
	switch (n->type) {
	case N_AND:
		return feval(n->l, u) && feval(n->r, u);
	case N_OR:
		return feval(n->l, u) || feval(n->r, u);
	case N_NOT:
		return !feval(n->l, u);
	default:
		break;
	}
	const char *dot = strchr(n->attr, '.');
	if (!dot)
		return cmp_val(jstr(u, n->attr), n->op, n->val);
	char arr[48];
	snprintf(arr, sizeof(arr), "%.*s", (int)(dot - n->attr), n->attr);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(u, arr), *e;
	cJSON_ArrayForEach(e, a)
	{
		if (cmp_val(jstr(e, dot + 1), n->op, n->val))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------- handlers */

int h_users_list(struct sim_ctx *c)
{
	static const char *const allowed[] = {
		"name",	   "name",    "_id",	 "id",	   "id",      "id",	"tenantId",
		"tenantId", "clientId", "clientId", "status", "status", "subject", "subject",
		"email",   "email",   "inviteExpiry", "inviteExpiry", "createdAt", "createdAt",
		NULL
	};
	struct sortspec s;
	long limit;
	struct sim_tenant *t = c->t;
	if (q_limit(c, "limit", 20, 1, 100, &limit))
		return 0;
	const char *sort = q_get(c, "sort");
	if (sort_parse(&s, sort && *sort ? sort : "+name", allowed))
		return reply_err(c, 400, NULL, "Bad request", "invalid sort");
	struct fnode *f = NULL;
	const char *fs = q_get(c, "filter");
	if (fs && *fs) {
		const char *p = fs;
		f = parse_or(&p);
		skipws(&p);
		if (!f || *p) {
			fnode_free(f);
			return reply_err(c, 400, "USERS-1", "Invalid filter", "cannot parse filter");
		}
	}
	struct rec **v = malloc((t->users.n + 1) * sizeof(*v));
	if (!v) {
		fnode_free(f);
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < t->users.n; i++)
		if (!f || feval(f, t->users.v[i]->j))
			v[n++] = t->users.v[i];
	fnode_free(f);
	cJSON *out = cJSON_CreateObject();
	int rc = page_cursor(c, v, n, &s, limit, "next", "prev", 0, render_user, out, "USERS-1");
	free(v);
	if (rc || c->resp->status) {
		cJSON_Delete(out);
		return rc;
	}
	if (q_bool(c, "totalResults"))
		cJSON_AddNumberToObject(out, "totalResults", (double)n);
	return reply_json(c, 200, out);
}

int h_users_me(struct sim_ctx *c)
{
	char *loc = xasprintf("/api/v1/users/%s", c->caller);
	if (!loc)
		return -ENOMEM;
	add_header(c, "Location", loc);
	free(loc);
	return reply_empty(c, 301);
}

int h_users_count(struct sim_ctx *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total", (double)c->t->users.n);
	return reply_json(c, 200, o);
}

static struct rec *user_or_404(struct sim_ctx *c)
{
	struct rec *r = coll_get(&c->t->users, c->ids[0]);
	if (!r)
		reply_err(c, 404, "USERS-7", "Not found", "user not found");
	return r;
}

int h_user_get(struct sim_ctx *c)
{
	struct rec *r = user_or_404(c);
	return r ? reply_json(c, 200, render_user(c, r)) : 0;
}

static struct rec *user_by_subject(struct sim_tenant *t, const char *sub)
{
	for (size_t i = 0; i < t->users.n; i++) {
		const char *s = jstr(t->users.v[i]->j, "subject");
		if (s && !strcasecmp(s, sub))
			return t->users.v[i];
	}
	return NULL;
}

/* Builds a role array from [{id}|{name}]; NULL if a role is unknown. */
static cJSON *roles_from(const cJSON *v)
{
	if (cJSON_IsObject(v)) {
		int i = role_find(v);
		if (i < 0)
			return NULL;
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, role_json((size_t)i));
		return a;
	}
	if (!cJSON_IsArray(v))
		return NULL;
	cJSON *a = cJSON_CreateArray(), *e;
	cJSON_ArrayForEach(e, v)
	{
		int i = role_find(e);
		if (i < 0) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, role_json((size_t)i));
	}
	return a;
}

int h_users_create(struct sim_ctx *c)
{
	cJSON *b = parse_body(c);
	const char *sub = jstr(b, "subject");
	int rc;
	cJSON *ar = cJSON_GetObjectItemCaseSensitive(b, "assignedRoles"), *roles_arr = NULL;
	if (!cJSON_IsObject(b) || !sub || !*sub) {
		rc = reply_err(c, 400, "USERS-2", "Bad request", "subject is required");
	} else if (ar && !(roles_arr = roles_from(ar))) {
		rc = reply_err(c, 400, "USERS-2", "Bad request", "unknown role");
	} else if (user_by_subject(c->t, sub)) {
		rc = reply_err(c, 409, "USERS-9", "Conflict", "a user with that subject exists");
	} else {
		const char *st = jstr(b, "status");
		struct rec *r = user_new(c->t, jstr(b, "name"), jstr(b, "email"), sub,
					 st ? st : "invited", false, c->now);
		if (r && roles_arr) {
			jset(r->j, "assignedRoles", roles_arr);
			roles_arr = NULL;
		}
		if (r && jstr(b, "picture"))
			jset_str(r->j, "picture", jstr(b, "picture"));
		rc = r ? reply_json(c, 201, render_user(c, r)) : -ENOMEM;
	}
	cJSON_Delete(roles_arr);
	cJSON_Delete(b);
	return rc;
}

/* Applies one patch op to a copy; returns 0 or a detail message. */
static const char *user_op(cJSON *u, const cJSON *op)
{
	const char *o = jstr(op, "op"), *p = jstr(op, "path");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, "value");
	if (!o || !p)
		return "op and path are required";
	if (!strcmp(o, "replace") || !strcmp(o, "set")) {
		if (!strcmp(p, "/name") || !strcmp(p, "/preferredLocale") ||
		    !strcmp(p, "/preferredZoneinfo")) {
			if (!cJSON_IsString(v))
				return "value must be a string";
			jset_str(u, p + 1, v->valuestring);
			return NULL;
		}
		if (!strcmp(p, "/status")) {
			if (!cJSON_IsString(v) || (strcmp(v->valuestring, "active") &&
						   strcmp(v->valuestring, "disabled") &&
						   strcmp(v->valuestring, "invited")))
				return "status must be active, disabled or invited";
			jset_str(u, "status", v->valuestring);
			return NULL;
		}
		if (!strcmp(p, "/assignedRoles") || !strcmp(p, "/roles")) {
			cJSON *a = roles_from(v);
			if (!a)
				return "unknown role";
			jset(u, "assignedRoles", a);
			return NULL;
		}
		return "unsupported path";
	}
	if (!strcmp(o, "add") && (!strcmp(p, "/assignedRoles/-") || !strcmp(p, "/assignedRoles"))) {
		cJSON *a = roles_from(v), *e;
		if (!a)
			return "unknown role";
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(u, "assignedRoles");
		while ((e = cJSON_DetachItemFromArray(a, 0))) {
			bool dup = false;
			const cJSON *x;
			cJSON_ArrayForEach(x, cur)
			{
				if (!strcmp(jstr(x, "id"), jstr(e, "id")))
					dup = true;
			}
			if (dup)
				cJSON_Delete(e);
			else
				cJSON_AddItemToArray(cur, e);
		}
		cJSON_Delete(a);
		return NULL;
	}
	if (!strcmp(o, "remove-value") && !strcmp(p, "/assignedRoles")) {
		cJSON *a = roles_from(v), *e;
		if (!a)
			return "unknown role";
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(u, "assignedRoles");
		cJSON_ArrayForEach(e, a)
		{
			for (int i = cJSON_GetArraySize(cur) - 1; i >= 0; i--)
				if (!strcmp(jstr(cJSON_GetArrayItem(cur, i), "id"), jstr(e, "id")))
					cJSON_DeleteItemFromArray(cur, i);
		}
		cJSON_Delete(a);
		return NULL;
	}
	return "unsupported op";
}

int h_user_patch(struct sim_ctx *c)
{
	struct rec *r = user_or_404(c);
	if (!r)
		return 0;
	cJSON *b = parse_body(c), *op;
	if (!cJSON_IsArray(b)) {
		cJSON_Delete(b);
		return reply_err(c, 400, "USERS-2", "Bad request", "body must be a patch array");
	}
	cJSON *copy = cJSON_Duplicate(r->j, 1);
	cJSON_ArrayForEach(op, b)
	{
		const char *err = user_op(copy, op);
		if (err) {
			cJSON_Delete(copy);
			cJSON_Delete(b);
			return reply_err(c, 400, "USERS-2", "Bad request", err);
		}
	}
	cJSON_Delete(b);
	char ts[40];
	fmt_ms(ts, sizeof(ts), c->now);
	jset_str(copy, "lastUpdatedAt", ts);
	jset_str(copy, "lastUpdated", ts);
	cJSON_Delete(r->j);
	r->j = copy;
	return reply_empty(c, 204);
}

int h_user_delete(struct sim_ctx *c)
{
	struct rec *r = user_or_404(c);
	if (!r)
		return 0;
	rec_free(coll_remove(&c->t->users, r->id));
	return reply_empty(c, 204);
}
