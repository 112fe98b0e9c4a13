"""Invariants every mount test can check over the whole tree.

check_tree(mnt) walks the mount the way backup tools do (directory listings
through readdirplus, then stat, then read) and asserts, for every file:
  - st_size equals the number of bytes a read returns, whether stat comes
    before the read (rsync, tar: the size they trust) or after it;
  - names in a directory are unique.
It returns {relative path: FileState} so that callers can compare two walks:
same_mtimes(a, b) asserts that no file's mtime moved between two walks when
nothing changed on the tenant.

Control and local files with semantics of their own (changes/, reports/, the
api control file, .qvf exports) are left out unless asked for.
"""
import collections
import hashlib
import os
import stat as st_mod

FileState = collections.namedtuple("FileState", "size mtime_ns sha")

SKIP_TOP = {"changes", "reports", "api", "reloads"}
SKIP_ANY = {".qvf"}


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def check_tree(mnt, order="stat-first", skip_top=SKIP_TOP, skip_any=SKIP_ANY):
    """Walks mnt; order is "stat-first" or "read-first".  Returns the states."""
    assert order in ("stat-first", "read-first")
    out = {}
    bad = []
    for dirpath, dirnames, filenames in os.walk(mnt):
        rel_dir = os.path.relpath(dirpath, mnt)
        names = dirnames + filenames
        assert len(names) == len(set(names)), "duplicate names in %s" % rel_dir
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in skip_top]
            filenames = [f for f in filenames if f not in skip_top]
        dirnames[:] = [d for d in dirnames if d not in skip_any]
        for name in filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if order == "stat-first":
                s = os.stat(p)
                data = _read(p)
            else:
                data = _read(p)
                s = os.stat(p)
            assert st_mod.S_ISREG(s.st_mode), rel
            if s.st_size != len(data):
                bad.append("%s: st_size %d, read %d bytes" % (rel, s.st_size, len(data)))
            out[rel] = FileState(s.st_size, s.st_mtime_ns, hashlib.sha256(data).hexdigest())
    assert not bad, "st_size differs from the bytes read (%s):\n%s" % (order, "\n".join(bad))
    return out


def same_mtimes(a, b):
    """No file present in both walks changed its mtime while its content stayed."""
    moved = ["%s: %d -> %d" % (p, a[p].mtime_ns, b[p].mtime_ns)
             for p in sorted(set(a) & set(b))
             if a[p].sha == b[p].sha and a[p].mtime_ns != b[p].mtime_ns]
    assert not moved, "mtime moved without a change:\n" + "\n".join(moved)


def check_all_orders(mnt, **kw):
    """Both orders, twice (cold then warm): every walk agrees with the first."""
    first = check_tree(mnt, "stat-first", **kw)
    for order in ("read-first", "stat-first"):
        again = check_tree(mnt, order, **kw)
        same_mtimes(first, again)
    return first
