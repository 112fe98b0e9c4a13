/*
 * ns_mut.h - helpers shared by the files that change things (ns_mut.c,
 * ns_file.c, ns_dirops.c).  All run with ns->lock held; the ones that send
 * requests (mut_commit_*, mut_current_content) drop it meanwhile.
 */
#ifndef QLIKFS_NS_MUT_H
#define QLIKFS_NS_MUT_H

#include "ns/core/ns_internal.h"
#include "res/reswrite.h"

#define FILE_MAX (64u << 20) /* one write buffer */
#define MEM_MAX (256u << 20) /* all scratch and new files together */
#define REJECTED ".rejected" /* suffix of a rejected update's content */

void mut_node_set_errmsg(struct node *n, const char *msg);
int mut_buf_reserve(struct ns *ns, char **buf, size_t *cap, size_t len, bool acct);
int mut_mem_set(struct ns *ns, struct node *n, const char *data, size_t len);
struct node *mut_dir_coll(struct node *d);
bool mut_ends_with(const char *s, const char *suffix);
bool mut_name_is_scratch(struct node *d, const char *name);
int mut_current_content(struct ns *ns, struct node *n, struct cache_blob **out, char *err,
			   size_t errn);
cJSON *mut_parse_blob(struct cache_blob *b);
/* 0, or -EIO (why in err) when another change to n outlasts this
 * operation's deadline. */
int mut_node_lock_change(struct ns *ns, struct node *n, char *err, size_t errn);
void mut_node_unlock_change(struct ns *ns, struct node *n);
void mut_colls_stale(struct ns *ns, enum rkind k);
/* Where a creation in collection c goes (c NULL: nowhere in particular). */
void mut_coll_scope(const struct node *c, struct res_scope *sc);
void mut_apply_change(struct ns *ns, const struct rtype *rt, const char *id, const cJSON *now);
void mut_apply_delete(struct ns *ns, const struct rtype *rt, const char *id);
/* A file of d unlinked a moment ago and created again (tar x, mv from
 * another filesystem): back as *n (1), none (0), or -errno. */
int mut_take_back(struct ns *ns, struct node *d, struct node **n, const char *name);
/* DELETE of the resource n shows (ns_dirops.c); lock held, dropped meanwhile. */
int mut_delete_resource(struct ns *ns, struct node *n, char *err, size_t errn);

/* ns_defer.c: deletes of resource files sent delete_delay_ms after the rm. */
int defer_start(struct ns *ns);      /* 0, or -errno: no thread */
void defer_stop(struct ns *ns);      /* sends what waits, then ends the thread */
bool defer_enabled(const struct ns *ns);
int defer_delete(struct ns *ns, struct node *n);      /* queues and detaches n */
/* The node unlinked as `name` of dir whose delete still waits (taken off the
 * queue), or NULL. */
struct node *defer_take_back(struct ns *ns, struct node *dir, const char *name);
/* Is the resource of that kind and id waiting to be deleted (listings skip it)? */
bool defer_hides(const struct ns *ns, enum rkind kind, const char *id);
struct node *mut_scratch_new(struct ns *ns, struct node *d, const char *name);
/* A handle of a file kept in the node's memory (a temporary or new file, a
 * report request): f reads and writes node_body's mem, O_TRUNC empties it;
 * and truncate(2) of such a file.  0 or -ENOMEM. */
void mut_mem_open(struct node *n, struct ns_file *f);
int mut_mem_truncate(struct ns *ns, struct node *n, uint64_t size);
/* A new JSON file of kind rt in d: created (POST) when closed with content. */
struct node *mut_new_file(struct ns *ns, struct node *d, const char *name,
			  const struct rtype *rt);
/* create(2) of a name no kind takes in d: a tool's temporary file, or a new
 * resource's NAME.json in a collection that can create one (0, *out NULL
 * on OOM), else -EPERM with why. */
int mut_file_new(struct ns *ns, struct node *d, const char *name, struct node **out, char *err,
		 size_t errn);
/* A directory that lives in the mount only (pinned): a data-file folder of
 * collection dc, or (dc NULL) a pending directory of a restore; NULL on OOM. */
struct node *mut_folder_new(struct ns *ns, struct node *d, const char *name, struct node *dc);
/* ns_move.c: renames (ns_kind move).  The kind that claims name in
 * directory d (a data file or a .qvf copied in: an upload), or NULL. */
const struct ns_kind *ns_kind_claiming(struct ns *ns, struct node *d, const char *name);
/* Resource file n renamed to a temporary name: n becomes the temporary copy
 * and a new node shows the resource under its old name, unchanged. */
int mut_rename_to_scratch(struct ns *ns, struct node *n, struct node *nd, const char *newname,
			  char *err, size_t errn);
/* Resource entry n (file or dir) renamed or moved to nd/newname through the
 * API (the lock dropped during the requests). */
int mut_rename_resource(struct ns *ns, struct node *n, struct node *nd, const char *newname,
			char *err, size_t errn);
/* A file that is not (yet) a resource (temporary, new not created) renamed:
 * onto a resource (its update), to an upload, to a temporary name, or to a
 * name that creates a resource. */
int mut_rename_new(struct ns *ns, struct node *n, struct node *t, struct node *nd,
		   const char *newname, bool to_scratch, char *err, size_t errn);
#define MUT_NO_MOVE "this entry cannot be renamed or moved"
#define MUT_NO_REPLACE "cannot replace this file"
#define MUT_NO_RMDIR "this directory cannot be removed"
/* Why mkdir was refused where no kind makes directories. */
#define MUT_MKDIR_WHERE \
	"directories can only be made in spaces/ (a new shared space) and in data-files/ (a folder)"
void mut_mem_node_remove(struct ns *ns, struct node *n);
struct node *mut_res_node(struct node *n);
int mut_commit_update(struct ns *ns, struct node *n, const char *data, size_t len,
		      const cJSON *base, cJSON **newbase, char *err, size_t errn);
/* The same, the rejected content kept as AS.rejected: the name the writer
 * opened, though a listing renamed the file since (a rename behind our back
 * is also what makes a write stale). */
/* Keeps content a change could not send as AS.rejected beside n (as: the
 * name the writer opened; NULL: n's name now), with why in user.qlik.error. */
void mut_keep_rejected(struct ns *ns, struct node *n, const char *as, const char *data,
		       size_t len, const char *why);
int mut_commit_update_as(struct ns *ns, struct node *n, const char *as, const char *data,
			 size_t len, const cJSON *base, cJSON **newbase, char *err, size_t errn);
char *mut_server_name(struct node *c, const char *name, const char *own_id, bool file);
/* The full path of data file `sname` in folder directory d. */
int mut_folder_path(struct node *d, const char *sname, char *out, size_t n);
int mut_commit_create(struct ns *ns, struct node *n, char *err, size_t errn);

/* Parses one JSON document (anything but white space after it is an
 * error).  Returns 0 with *out (caller frees) or -EINVAL with err saying at
 * which byte and line. */
int mut_parse_json(const char *data, size_t len, cJSON **out, char *err, size_t errn);

#endif
