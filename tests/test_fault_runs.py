"""Whole runs of real tools through a mount whose transport injects faults
(the fault wrapper, fs/http_fault.c, switched on with $QLIKFS_FAULT), a
stalled server, and rate limits longer than the per-call timeout.

The fault seed is fixed so that a failure can be replayed; set
QLIKFS_FAULT_SEED to try others.
"""
import errno
import os
import re
import subprocess
import time

import pytest

SEED = int(os.environ.get("QLIKFS_FAULT_SEED", "1"))


def fault_env(spec):
    return {"QLIKFS_FAULT": spec}


def injected(m):
    """The faults the wrapper logged, by kind."""
    kinds = {}
    for k in re.findall(r"info: fault: (\S+) for ", m.log()):
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def diff_trees(a, b):
    r = subprocess.run(["diff", "-r", "--no-dereference", a, b], capture_output=True, text=True)
    return r.returncode, r.stdout[:1500] + r.stderr[-1000:]


@pytest.fixture
def reference(fresh_sim, mount_factory, tmp_path):
    """A copy of the whole tenant made without faults."""
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    ref = str(tmp_path / "ref")
    r = subprocess.run(["cp", "-r", m.mnt, ref], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert m.unmount() == 0
    n = sum(len(f) for _, _, f in os.walk(ref))
    assert n > 400, n  # the tree, the JSON files and the .qvf exports
    return ref


@pytest.mark.parametrize("tool", ["cp", "rsync"])
def test_copy_with_10pct_faults_is_complete_and_exact(tool, fresh_sim, mount_factory, reference,
                                                       tmp_path):
    # fail=10: 503 answers, connections dropped before the server, resets in
    # the middle of a body and JSON bodies cut short, 10% of all requests;
    # maxrun=3 < retries=5, so every call can succeed
    m = mount_factory(fresh_sim.url, "cache_ttl=300",
                      env=fault_env("seed=%d,fail=10,maxrun=3" % SEED))
    fresh_sim.reset()
    dst = str(tmp_path / "copy")
    if tool == "cp":
        args = ["cp", "-r", m.mnt, dst]
    else:
        args = ["rsync", "-a", m.mnt + "/", dst + "/"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:] + m.log()[-3000:]
    rc, out = diff_trees(reference, dst)
    assert rc == 0, out
    kinds = injected(m)
    # the wrapper was in the path, with a mix of kinds
    # (a cold copy now costs about the list-page minimum, some 40 requests
    # without exports, so 10% is a handful of faults: at least 4, of 3 kinds)
    assert sum(kinds.values()) >= 4, kinds
    assert len(set(kinds) & {"503", "drop", "reset", "trunc"}) >= 3, kinds
    assert "seed %d" % SEED in m.log()


def test_me_json_listed_before_its_first_read_has_its_size(fresh_sim, mount_factory):
    # rsync trusts the size from the listing (readdirplus): me.json, not
    # fetched yet, was listed with size 0 and rsync copied it empty
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    assert "me.json" in os.listdir(m.mnt)
    size = os.lstat(m.path("me.json")).st_size
    data = open(m.path("me.json"), "rb").read()
    assert size == len(data) > 0


def test_cut_json_bodies_are_fetched_again(fresh_sim, mount_factory, reference):
    # the first answer of every request has its JSON body cut in half (and
    # still looks complete to HTTP), its repeat passes (maxrun=1): the
    # listings and files must come out whole.  (Not a 50% chance: which
    # requests a mount makes varies with timing, and so would the count.)
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "noqvf",
                      env=fault_env("seed=%d,trunc=100,maxrun=1" % SEED))
    for d in ("users", "spaces", "data-files", "apps"):
        names = sorted(os.listdir(m.path(d)))
        assert names == sorted(n for n in os.listdir(os.path.join(reference, d))
                               if n != ".qvf" and not n.endswith(".qvf")), d
        f = next((n for n in names if n.endswith(".json")), None)
        if f is None:
            continue
        with open(m.path(d, f), "rb") as a, open(os.path.join(reference, d, f), "rb") as b:
            assert a.read() == b.read()
    assert injected(m).get("trunc", 0) >= 5, injected(m)  # users/me and 4 listings at least


def test_stalled_server_bounded_calls_then_recovery(fresh_sim, mount_factory, tmp_path):
    switch = str(tmp_path / "stall-on")
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=3",
                      env=fault_env("seed=%d,stall=100,onfile=%s" % (SEED, switch)))
    users = sorted(os.listdir(m.path("users")))
    cached = m.path("users", users[0])
    body = open(cached, "rb").read()
    assert json_ok(body)
    spaces = sorted(os.listdir(m.path("spaces")))

    open(switch, "w").close()  # the server stalls from now on
    before = fresh_sim.total()

    def bounded(fn):
        t0 = time.monotonic()
        try:
            out = fn()
        except OSError as e:
            out = e
        took = time.monotonic() - t0
        assert took < 3 + 2.5, (fn, took)
        return out

    # what is cached is still served, at once
    assert bounded(lambda: sorted(os.listdir(m.path("users")))) == users
    assert bounded(lambda: open(cached, "rb").read()) == body
    assert bounded(lambda: os.stat(cached).st_size) == len(body)
    # what is not fails with EIO within the timeout
    for fn in (lambda: os.listdir(m.path("apps")),
               lambda: os.stat(m.path("data-stores", "nosuch")),
               lambda: open(m.path("data-files", "customers.csv.json"), "rb").read()):
        out = bounded(fn)
        assert isinstance(out, OSError) and out.errno == errno.EIO, out
    assert fresh_sim.total() == before  # the stalled requests never reached the server
    assert injected(m).get("stall", 0) >= 3
    # the mount still answers while requests stall
    assert bounded(lambda: sorted(os.listdir(m.path("spaces")))) == spaces

    os.unlink(switch)  # the server is back: no remount needed
    apps = os.listdir(m.path("apps"))
    assert len([a for a in apps if a.endswith(".json")]) == 60
    assert json_ok(open(m.path("data-files", "customers.csv.json"), "rb").read())


def json_ok(b):
    import json
    json.loads(b)
    return True


def test_429_longer_than_timeout_slows_not_fails(fresh_sim, mount_factory):
    # Retry-After 2 s twice, with a 1 s per-call timeout: at the default
    # ratelimit_wait the listing waits about 4 s and succeeds
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=1")
    fresh_sim.reset()
    fresh_sim.faults(mode="status", status=429, count=2, retry_after=2,
                     match="GET /api/v1/users")
    t0 = time.monotonic()
    assert len(os.listdir(m.path("users"))) == 120
    took = time.monotonic() - t0
    assert 3.9 <= took < 8, took
    assert fresh_sim.routes()["GET /api/v1/users"] == 2 + 2  # two 429s, then two pages


def test_429_beyond_ratelimit_wait_fails_at_once(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=1", "ratelimit_wait=1")
    fresh_sim.faults(mode="status", status=429, count=1, retry_after=5,
                     match="GET /api/v1/users")
    t0 = time.monotonic()
    with pytest.raises(OSError) as e:
        os.listdir(m.path("users"))
    assert e.value.errno == errno.EIO
    assert time.monotonic() - t0 < 1.5
    assert "rate-limit waits" in m.log()


def test_429_old_behaviour_with_ratelimit_wait_0(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=1", "ratelimit_wait=0")
    fresh_sim.faults(mode="status", status=429, count=1, retry_after=2,
                     match="GET /api/v1/users")
    with pytest.raises(OSError) as e:
        os.listdir(m.path("users"))
    assert e.value.errno == errno.EIO


def test_walk_under_tight_rate_limit_is_slow_but_complete(fresh_sim, mount_factory):
    ref = mount_factory(fresh_sim.url, "cache_ttl=300")
    want = {d: sorted(os.listdir(ref.path(d))) for d in ("users", "spaces", "data-files", "apps")}
    assert ref.unmount() == 0
    # 2 GETs per 2 s: the walk needs several windows; each wait (Retry-After
    # up to 2 s) is longer than the 1 s timeout
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=1", "noqvf")
    fresh_sim.config(rate_limit={"tier1": 2, "window_s": 2})
    fresh_sim.reset()
    t0 = time.monotonic()
    got = {d: sorted(os.listdir(m.path(d))) for d in want}
    took = time.monotonic() - t0
    fresh_sim.config(rate_limit={"tier1": 0})
    assert got == {d: [n for n in v if not n.endswith(".qvf") and n != ".qvf"]
                   for d, v in want.items()}
    statuses = [r["status"] for r in fresh_sim.log()]
    assert 429 in statuses  # the limit was hit...
    assert took >= 2, took  # ...and waited out
