/*
 * errmap.c - HTTP status / Qlik error code -> errno.
 *
 *   400 EINVAL   bad request, invalid field or name, bad file extension
 *   401 EACCES   missing, invalid or expired credentials
 *   403 EACCES   authenticated but not permitted
 *   404 ENOENT   no such resource (or no access: Qlik does not tell apart)
 *   405 EOPNOTSUPP, 501 EOPNOTSUPP
 *   409 EEXIST   on create/rename (name clash); ESTALE on update (the
 *                resource's version moved); EBUSY on delete (still in use)
 *   410 ENOENT   gone (expired temporary content)
 *   412 ENOTEMPTY precondition failed (space not empty)
 *   413 EFBIG    payload or quota too large; EDQUOT for the data-files
 *                quota codes (DF-016 personal quota)
 *   423 EBUSY    locked
 *   429 EIO      rate limited and the retry budget ran out (logged)
 *   5xx EIO      after the retries
 */
#include "client/errmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int errmap_http(long status, const char *code, enum qop op)
{
	if (code && !strcmp(code, "DF-016"))
		return -EDQUOT; /* a storage quota, whatever the status (413 documented) */
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
	case 410:
		return -ENOENT;
	case 405:
	case 501:
		return -EOPNOTSUPP;
	case 409:
		if (op == QOP_UPDATE)
			return -ESTALE;
		if (op == QOP_DELETE)
			return -EBUSY;
		return -EEXIST;
	case 412:
		return -ENOTEMPTY;
	case 413:
		return -EFBIG;
	case 423:
		return -EBUSY;
	case 429:
		return -EIO;
	default:
		return -EIO;
	}
}

int errmap_transport(int err)
{
	return err == -ENOMEM ? -ENOMEM : -EIO;
}

void errmsg_set(char *err, size_t n, const char *fmt, ...)
{
	if (!err || !n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}
