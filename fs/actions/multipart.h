/*
 * multipart.h - multipart/form-data request bodies (RFC 7578) as a streaming
 * body source (http.h): small in-memory parts (copied) and file parts read
 * with pread(2) only while the body is being sent, so a file of any size is
 * never held in memory.  The boundary is random (128 bits from getrandom(2)),
 * the total length is known before sending (Content-Length), and the body can
 * be sent any number of times (retries) since every read is positional.
 *
 * Usage:
 *	struct multipart *m = multipart_new();
 *	multipart_add_data(m, "Json", NULL, "application/json", json, strlen(json));
 *	multipart_add_fd(m, "File", "sales.csv", "application/octet-stream", fd, size);
 *	multipart_finish(m);
 *	call.source = multipart_source(m);
 *	call.content_type = multipart_content_type(m);
 *	...
 *	multipart_free(m);
 *
 * Not thread-safe while being built; once finished, its source may be read by
 * one transfer at a time.
 */
#ifndef QLIKFS_MULTIPART_H
#define QLIKFS_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

#define MULTIPART_MAX_PARTS 32
#define MULTIPART_MAX_MEM (16u << 20) /* bytes of all in-memory parts together */
#define MULTIPART_MAX_NAME 1024       /* bytes of a part name or file name */

struct multipart;

/* Returns an empty body with a fresh random boundary, or NULL (OOM, or no
 * randomness available). */
struct multipart *multipart_new(void);

/* Appends a part holding a copy of data[0..len).  name is the form field
 * name; filename (may be NULL) adds a filename parameter; ctype (may be NULL)
 * adds a Content-Type line.  '"', CR and LF in name and filename are written
 * as %22, %0D and %0A (as browsers do).  Returns 0, -EINVAL (name NULL or
 * empty, a name, filename or ctype that is too long, ctype with CR/LF, or
 * the body already finished), -E2BIG (more than MULTIPART_MAX_PARTS parts or
 * MULTIPART_MAX_MEM bytes) or -ENOMEM; the body is unchanged on failure. */
int multipart_add_data(struct multipart *m, const char *name, const char *filename,
		       const char *ctype, const void *data, size_t len);

/* Appends a part whose content is bytes [0, len) of fd, read with pread when
 * the body is sent.  fd is borrowed: it must stay open, and those bytes
 * unchanged, for as long as the source is in use.  Returns as
 * multipart_add_data(). */
int multipart_add_fd(struct multipart *m, const char *name, const char *filename,
		     const char *ctype, int fd, uint64_t len);

/* Closes the body (the final boundary).  Returns 0 or -ENOMEM (or -EINVAL
 * when already finished or without any part). */
int multipart_finish(struct multipart *m);

/* "multipart/form-data; boundary=...": borrowed, valid until multipart_free(). */
const char *multipart_content_type(const struct multipart *m);

/* The body as a source (len = the exact total length); NULL before
 * multipart_finish().  Borrowed, valid until multipart_free(). */
const struct http_body_source *multipart_source(const struct multipart *m);

/* NULL-safe. */
void multipart_free(struct multipart *m);

#endif
