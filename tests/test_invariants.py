"""Invariants backup tools rely on, through the real mount, and the bounds
and access rules found broken by checks from outside (issue: reliability).

- every file's st_size equals the bytes a read returns, stat first or read
  first, cold and warm, after writes and after remote changes; mtimes do not
  move without a change on the server (tests/invariants.py);
- me.json is exact before its first read;
- an open for writing that writes nothing leaves the size alone;
- waiters on another caller's listing share its outcome within one timeout;
- with allow_other, other users get what the modes say;
- a state directory others can write is refused.
"""
import errno
import json
import os
import subprocess
import threading
import time

import pytest

from invariants import check_all_orders, check_tree, same_mtimes


def _space_json(m):
    sp = sorted(x for x in os.listdir(m.path("spaces")) if x != "@personal")[0]
    return m.path("spaces", sp, "space.json")


def test_tree_invariants_cold_warm_after_writes_and_remote_changes(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=2", "noqvf")
    first = check_all_orders(m.mnt)
    assert "me.json" in first and len(first) > 200, len(first)
    # after a write through the mount (sed -i: a new file renamed over)
    p = _space_json(m)
    subprocess.run(["sed", "-i", 's/"description": "[^"]*"/"description": "edited here"/', p],
                   check=True)
    assert json.load(open(p))["description"] == "edited here"
    after_write = check_tree(m.mnt, "stat-first")
    # after a change behind the mount's back, once the TTL has passed
    sid = json.load(open(p))["id"]
    st, _ = fresh_sim.api("PATCH", "/api/v1/spaces/" + sid,
                          [{"op": "replace", "path": "/description", "value": "edited remotely"}])
    assert st in (200, 204), st
    time.sleep(2.5)
    after_remote = check_tree(m.mnt, "read-first")
    assert json.load(open(p))["description"] == "edited remotely"
    rel = os.path.relpath(p, m.mnt)
    assert after_remote[rel].sha != after_write[rel].sha
    # nothing else moved
    same_mtimes(after_write, after_remote)
    same_mtimes(first, check_tree(m.mnt, "stat-first"))


def test_me_json_exact_before_its_first_read(fresh_sim, mount_factory, tmp_path):
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    fresh_sim.reset()
    # ls -l (readdirplus) first, as rsync and tar see it
    ls = subprocess.run(["ls", "-l", "--time-style=+%s", m.mnt], check=True,
                        capture_output=True, text=True).stdout
    line = [x for x in ls.splitlines() if x.endswith(" me.json")][0]
    listed_size = int(line.split()[4])
    dst = tmp_path / "me.json"
    subprocess.run(["rsync", "-a", m.path("me.json"), str(dst)], check=True)
    data = open(m.path("me.json"), "rb").read()
    assert listed_size == len(data) > 100
    assert dst.read_bytes() == data
    assert os.stat(m.path("me.json")).st_size == len(data)
    # the mount-time credential check's answer serves it: no request of its own
    assert fresh_sim.routes().get("GET /api/v1/users/me", 0) == 0, fresh_sim.routes()
    # a second rsync sends nothing (same size and mtime)
    out = subprocess.run(["rsync", "-a", "--itemize-changes", m.path("me.json"), str(dst)],
                         check=True, capture_output=True, text=True).stdout
    assert out.strip() == "", out


def test_me_json_served_while_the_tenant_stalls(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=2")
    fresh_sim.faults(mode="stall", stall_ms=30000, count=100, match="GET /api/v1/users/me")
    t0 = time.monotonic()
    data = open(m.path("me.json"), "rb").read()
    assert time.monotonic() - t0 < 1.5
    assert json.loads(data)["id"]
    fresh_sim.faults(clear=True)


@pytest.mark.parametrize("how", ["python", "shell"])
def test_open_for_writing_without_a_write_keeps_the_size(fresh_sim, mount_factory, how):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "noqvf")
    p = _space_json(m)
    before = open(p, "rb").read()
    assert os.stat(p).st_size == len(before)
    fresh_sim.reset()
    if how == "python":
        open(p, "w").close()  # O_TRUNC, fstat, close: nothing written
    else:
        subprocess.run(["sh", "-c", ': > "$1"', "sh", p], check=True)
    for _ in range(3):
        assert os.stat(p).st_size == len(before)
        assert open(p, "rb").read() == before
    # and backup tools copy it whole
    out = subprocess.run(["tar", "-cf", "-", "-C", os.path.dirname(p), "space.json"],
                         check=True, capture_output=True).stdout
    assert before in out
    writes = {k: v for k, v in fresh_sim.routes().items() if not k.startswith("GET ")}
    assert writes == {}, writes


def test_waiters_on_one_listing_share_its_deadline(fresh_sim, mount_factory):
    timeout = 2
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=%d" % timeout)
    fresh_sim.faults(mode="stall", stall_ms=60000, count=1000, match="GET /api/v1/users")
    took, errs = {}, {}

    def lister(i):
        t0 = time.monotonic()
        try:
            os.listdir(m.path("users"))
            errs[i] = 0
        except OSError as e:
            errs[i] = e.errno
        took[i] = time.monotonic() - t0

    threads = [threading.Thread(target=lister, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    fresh_sim.faults(clear=True)
    assert len(took) == 8
    assert set(errs.values()) == {errno.EIO}, errs
    # one deadline each: not timeout, 2 x timeout, 3 x timeout, ...
    assert max(took.values()) < timeout + 1.5, sorted(took.values())
    # the mount recovers at once when the tenant does
    assert len(os.listdir(m.path("users"))) == 120


def _as_user(uid, code):
    """Runs python code as uid (and gid) in a child: its exit status and output."""
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       preexec_fn=lambda: (os.setgid(uid), os.setuid(uid)))
    return r.returncode, r.stdout.strip()


PROBE = r"""
import errno, os, sys
mnt = sys.argv[1] if len(sys.argv) > 1 else %r
res = {}
def tryit(name, fn):
    try:
        fn(); res[name] = "ok"
    except OSError as e:
        res[name] = errno.errorcode[e.errno]
tryit("ls_root", lambda: os.listdir(mnt))
tryit("read_me", lambda: open(os.path.join(mnt, "me.json")).read())
tryit("ls_spaces", lambda: os.listdir(os.path.join(mnt, "spaces")))
tryit("mkdir_space", lambda: os.mkdir(os.path.join(mnt, "spaces", "intruder")))
tryit("write_space", lambda: open(%r, "r+").write(" "))
tryit("write_api", lambda: open(os.path.join(mnt, "api"), "w").write("GET /api/v1/users/me\n"))
tryit("rm_space", lambda: os.rmdir(%r))
print(" ".join("%%s=%%s" %% kv for kv in sorted(res.items())))
"""


@pytest.mark.parametrize("umask,expect", [
    ("077", dict(ls_root="EACCES", read_me="EACCES", ls_spaces="EACCES",
                 mkdir_space="EACCES", write_space="EACCES", write_api="EACCES",
                 rm_space="EACCES")),
    ("022", dict(ls_root="ok", read_me="ok", ls_spaces="ok", mkdir_space="EACCES",
                 write_space="EACCES", write_api="EACCES", rm_space="EACCES")),
])
def test_allow_other_gives_other_users_only_what_the_modes_say(fresh_sim, mount_factory,
                                                               umask, expect):
    m = mount_factory(fresh_sim.url, "allow_other", "umask=" + umask, "cache_ttl=300", "noqvf")
    os.chmod(m.dir, 0o755)  # the mount's parent: let the other user reach the mountpoint
    sp = _space_json(m)
    fresh_sim.reset()
    rc, out = _as_user(1001, PROBE % (m.mnt, sp, os.path.dirname(sp)))
    assert rc == 0, out
    got = dict(kv.split("=") for kv in out.split())
    assert got == expect
    # nothing reached the tenant but reads
    writes = {k: v for k, v in fresh_sim.routes().items() if not k.startswith("GET ")}
    assert writes == {}, writes
    # the owner still can
    assert os.path.isdir(os.path.dirname(sp))


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_state_dir_others_can_write_is_refused(fresh_sim, mount_factory, tmp_path, mode):
    d = tmp_path / "state"
    d.mkdir()
    os.chmod(d, mode)
    m = mount_factory(fresh_sim.url, "state_dir=%s" % d, expect_fail=True)
    assert m.proc.returncode != 0
    log = m.log()
    assert "state directory" in log and "chmod go-w" in log, log
    assert not os.path.ismount(m.mnt)


def test_a_space_shows_its_data_stores_and_rm_r_removes_it(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "noqvf")
    st = fresh_sim.state()
    fin = [s for s in st["spaces"] if s["name"] == "Finance"][0]
    stores = [d for d in st["data_stores"] if d.get("spaceId") == fin["id"]]
    assert stores, "the seed has a data store in Finance"
    fresh_sim.reset()
    shown = os.listdir(m.path("spaces", "Finance", "data-stores"))
    assert sorted(shown) == sorted("%s (%s)" % (d["name"].replace("/", "\uff0f"), d["id"])
                                   for d in stores), shown
    # every space's view comes from the one tenant-wide listing
    for sp in os.listdir(m.path("spaces")):
        if sp != "@personal":
            os.listdir(m.path("spaces", sp, "data-stores"))
    assert fresh_sim.routes().get("GET /api/v1/data-stores") == 1, fresh_sim.routes()
    check_tree(m.mnt)
    # what keeps the space from being deleted is visible, so rm -r removes it
    subprocess.run(["rm", "-r", m.path("spaces", "Finance")], check=True)
    st = fresh_sim.state()
    assert fin["id"] not in [s["id"] for s in st["spaces"]]
    assert not [d for d in st["data_stores"] if d.get("spaceId") == fin["id"]]
    assert "Finance" not in os.listdir(m.path("spaces"))


def test_a_refused_space_delete_says_why(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "noqvf")
    fin = m.path("spaces", "Finance")
    # its apps and data files go; its data store stays: the tenant refuses (412)
    subprocess.run(["rm", "-r", os.path.join(fin, "apps"), os.path.join(fin, "data-files")],
                   check=True)
    assert os.listdir(os.path.join(fin, "data-stores"))
    with pytest.raises(OSError) as e:
        os.rmdir(fin)
    assert e.value.errno == errno.ENOTEMPTY
    why = os.getxattr(fin, "user.qlik.error").decode()
    assert "not empty" in why, why
    assert "not empty" in m.log()
