/*
 * names.h - directory entry names derived from server names.
 *
 * Server names (apps, users, spaces, data files, ...) may contain anything:
 * '/', control characters, invalid UTF-8, be "." or "..", empty, or longer
 * than NAME_MAX.  They are mapped to path components rclone-style:
 *
 *   '/'                      -> U+FF0F  FULLWIDTH SOLIDUS         (／)
 *   0x01..0x1F               -> U+2401..U+241F control pictures   (␁..␟)
 *   0x7F                     -> U+2421                            (␡)
 *   invalid UTF-8 byte 0xNN  -> U+F700+NN (private use; NN is 0x80..0xFF)
 *   whole name "."  / ".."   -> "．" / "．．" (U+FF0E)
 *   empty name               -> "‛" (U+201B) alone
 *
 * "‛" is the escape character: a literal occurrence in the server name of
 * ／, ␁..␟, ␡, ‛ itself or any of U+F700..U+F7FF is written "‛" + that
 * character, and a whole name equal to "．" / "．．" is written "‛．" /
 * "‛．‛．".  Everything else (valid UTF-8, strict RFC 3629: no overlongs, no
 * surrogates) is kept as is.
 *
 * Guarantees (tested):
 *  - names_decode(names_encode(x)) == x for every C string x;
 *  - names_decode() accepts exactly the image of names_encode(): if it
 *    succeeds, re-encoding its result gives back the component byte for
 *    byte, so a server name has exactly one component and vice versa;
 *  - an encoded name is valid UTF-8, never empty, never "." or "..", and
 *    never contains '/', NUL or bytes 0x01..0x1F, 0x7F;
 *  - the mapping does not depend on buffer sizes (names are stable).
 *
 * All functions are pure and thread-safe.  Unless noted otherwise, output
 * buffers are written (NUL-terminated) only on success: on failure the
 * caller's buffer is untouched.
 */
#ifndef QLIKFS_NAMES_H
#define QLIKFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NAMES_MAX 255 /* bytes, NAME_MAX */

/* Encodes a server name as one safe path component (no length limit is
 * applied here: callers wanting a component pass outsz = NAMES_MAX + 1).
 * Returns the length written (excluding the NUL), -ENAMETOOLONG when the
 * encoding plus NUL does not fit outsz, or -EINVAL (NULL arguments). */
ssize_t names_encode(const char *server_name, char *out, size_t outsz);

/* Decodes a component produced by names_encode().  Returns the length of
 * the server name (excluding the NUL), -EINVAL if component is not exactly
 * something names_encode() produces (e.g. contains '/', control characters,
 * invalid UTF-8, an unpaired or needless "‛", is "" / "." / ".."), or
 * -ENAMETOOLONG when the result does not fit outsz. */
ssize_t names_decode(const char *component, char *out, size_t outsz);

/* Entry name for kinds whose names are not unique in their directory:
 * "<encoded name> (<id>)<ext>", e.g. "Sales Dashboard (f0714ca7-...).json".
 * ext may be NULL or "" (no extension); it must not contain '/'.
 *  - An empty server name gives "(<id>)<ext>" (no leading space).
 *  - When the whole would exceed NAMES_MAX bytes, the encoded name is cut
 *    after its last complete encoded character (never inside a UTF-8
 *    sequence, never between "‛" and what it escapes) that leaves room for
 *    "…" (U+2026): "<prefix>… (<id>)<ext>", at most NAMES_MAX bytes.
 *  - If not even "… (<id>)<ext>" fits, the result is "(<id>)<ext>".
 * The id must be non-empty printable ASCII (0x20..0x7E) without '/', '('
 * or ')'.  Returns the length, -EINVAL (bad id, bad ext, NULL name),
 * -ENAMETOOLONG when "(<id>)<ext>" alone exceeds NAMES_MAX or the result
 * does not fit outsz. */
ssize_t names_with_id(const char *server_name, const char *id, const char *ext, char *out,
		      size_t outsz);

/* Entry name for kinds whose names are unique in their directory:
 * "<encoded name><ext>"; if that exceeds NAMES_MAX bytes, falls back to
 * the names_with_id() form so that the id keeps it unique and recoverable
 * (id may be NULL when no fallback is wanted: then -ENAMETOOLONG).
 * Note that a plain name may itself look like the id form (server name
 * "Q1 (draft)" gives "Q1 (draft).json"), so lookups must try an exact
 * plain-name match before names_parse_id().
 * Returns the length or -EINVAL / -ENAMETOOLONG as names_with_id(). */
ssize_t names_plain(const char *server_name, const char *id, const char *ext, char *out,
		    size_t outsz);

/* Parses a component of the form "<non-empty name> (<id>)<ext>" or
 * "(<id>)<ext>" (the id being the text inside the LAST "(...)" before ext,
 * valid as for names_with_id(); so "Q1 (draft) (abc123).json" gives
 * "abc123").  ext must match exactly (case-sensitive); NULL/"" means no
 * extension.  Copies the id into id_out and returns its length;
 * -ENOENT when the component does not have that form, -ENAMETOOLONG when
 * the id does not fit idsz, -EINVAL on NULL arguments. */
ssize_t names_parse_id(const char *component, const char *ext, char *id_out, size_t idsz);

/* The server name a user meant by a component (e.g. `touch "New App.json"`
 * -> "New App").  ext (NULL/"" = none) must end the component (else
 * -EINVAL) and is stripped; if what remains has the names_parse_id() form,
 * the " (<id>)" suffix is removed too ("(<id>)" alone gives ""); the rest is
 * decoded with names_decode().  Beware: "Budget (2024).json" therefore
 * gives "Budget".  Returns the length, -EINVAL (not a valid encoding, e.g.
 * contains control characters or a stray "‛"), -ENAMETOOLONG. */
ssize_t names_to_server(const char *component, const char *ext, char *out, size_t outsz);

/* True for names that editors and tools create as scratch files and that
 * must never reach the server: hidden names (leading '.', which covers vim's
 * ".x.swp", emacs' ".#x" locks and rsync's ".x.XXXXXX"), names ending in
 * '~', "*.swp", "*.swx", "*.swo", all-digit names (vim's "4913" probe),
 * sed's "sedXXXXXX" (exactly 6 [A-Za-z0-9] after "sed") and emacs'
 * "#name#".  NULL and "" give false. */
bool names_is_scratch(const char *component);

/* component with its ending `from` replaced by `to` into out (of n bytes):
 * ("Sales (id).json", ".json", ".qvs") -> "Sales (id).qvs"; `to` may be "".
 * False when component is not longer than from, does not end in it, or the
 * result does not fit. */
bool names_swap_ext(const char *component, const char *from, const char *to, char *out,
		    size_t n);

#endif
