/*
 * ns_reloads.h - what ns_reloads.c (reloads/ and each reload's directory)
 * and ns_reloads_app.c (reloads/by-app/) share.  Locks: ns->lock held.
 */
#ifndef QLIKFS_NS_RELOADS_H
#define QLIKFS_NS_RELOADS_H

#include <cjson/cJSON.h>

#include "ns/kinds/ns_ext.h"

#define RL_BYAPP "by-app"

struct xreload; /* one reload's state, shared by every directory showing it */

/* ns_reloads.c */
/* reloads/ and reloads/new in root (the rest of rl_add_root); NULL when
 * they cannot be made. */
struct node *rl_setup(struct ns *ns, struct node *root);
/* rl_listed of reloads/ and of a reload's directory. */
int rl_listed_own(struct ns *ns, struct node *d, char *err, size_t errn);
/* The reload's state (made when new; never freed while the namespace
 * lives), or NULL for a name that cannot be a reload id. */
struct xreload *rl_entry(struct ns *ns, const char *id);
/* Its directory in d (an app's directory of by-app/) with its four files,
 * made when missing.  created_ms: the reload's creationTime (0: unknown). */
struct node *rl_view(struct ns *ns, struct node *d, struct xreload *x, int64_t created_ms);
/* n, a reload's directory of by-app/, is being detached. */
void rl_view_gone(struct ns *ns, struct node *n);
/* Takes a listing's entry (without its log) for x while x is active. */
void rl_take_listed(struct ns *ns, struct xreload *x, cJSON *e);
/* A time field of a Reload in ms since the epoch (0: absent). */
int64_t rl_time_of(const cJSON *o, const char *k);

/* ns_reloads_app.c defines rl_add_root and rl_listed (ns_ext.h): they call
 * the two above, and add by-app/ (calls go one way: app -> reloads). */

#endif
