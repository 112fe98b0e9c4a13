"""What operations cost in HTTP requests, through the real mount: ls -l of a
collection costs its list pages (at the largest page size) and nothing more;
reading the files afterwards costs nothing when the list carried the objects;
repeating within the TTL is free; identical concurrent GETs are sent once."""
import json
import math
import os
import subprocess
import signal
import threading
import time

import pytest

from conftest import Sim


@pytest.fixture(scope="module")
def big():
    s = Sim(["--users", "1234", "--apps", "250"])
    yield s
    s.stop()


def ls_l(path):
    r = subprocess.run(["ls", "-l", path], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[1:]  # drop "total"


def api_requests(log):
    return [(r["method"], r["path"], r["query"]) for r in log]


def test_ls_l_costs_its_list_pages(big, mount_factory):
    m = mount_factory(big.url, "cache_ttl=300")
    big.reset()
    lines = ls_l(m.path("users"))
    assert len(lines) == 1234
    reqs = api_requests(big.log())
    assert len(reqs) == math.ceil(1234 / 100)
    assert all(r[0] == "GET" and r[1] == "/api/v1/users" for r in reqs), reqs
    assert "limit=100" in reqs[0][2]


def test_reading_every_listed_file_costs_nothing(big, mount_factory):
    m = mount_factory(big.url, "cache_ttl=300")
    ls_l(m.path("users"))
    big.reset()
    for n in os.listdir(m.path("users")):
        with open(m.path("users", n), "rb") as f:
            assert f.read()
    assert big.total() == 0


def test_repeat_within_ttl_is_free(big, mount_factory):
    m = mount_factory(big.url, "cache_ttl=300")
    ls_l(m.path("apps"))
    ls_l(m.path("users"))
    big.reset()
    ls_l(m.path("apps"))
    ls_l(m.path("users"))
    subprocess.run(["cat", m.path("me.json")], capture_output=True, check=True)
    subprocess.run(["cat", m.path("me.json")], capture_output=True, check=True)
    assert big.total() <= 2  # me.json once (301 + GET), then nothing


def test_apps_listing_costs_items_pages(big, mount_factory):
    m = mount_factory(big.url, "cache_ttl=300")
    big.reset()
    assert len(ls_l(m.path("apps"))) == 250
    reqs = api_requests(big.log())
    assert len(reqs) == 3
    assert all(r[1] == "/api/v1/items" and "resourceType=app" in r[2] for r in reqs)


def test_ttl_expiry_refetches_only_the_pages(big, mount_factory):
    m = mount_factory(big.url, "cache_ttl=1")
    ls_l(m.path("users"))
    import time
    time.sleep(1.5)
    big.reset()
    ls_l(m.path("users"))
    reqs = api_requests(big.log())
    assert len(reqs) == math.ceil(1234 / 100), reqs


def test_concurrent_identical_gets_sent_once(big, mount_factory):
    m = mount_factory(big.url, "cache_ttl=300")
    big.config(latency_ms=300)
    # me.json is served from the mount-time check until SIGHUP drops it
    m.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    try:
        big.reset()
        errs = []

        def run(fn):
            ts = [threading.Thread(target=fn) for _ in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        def read_me():
            try:
                with open(m.path("me.json")) as f:
                    f.read()
            except OSError as e:
                errs.append(e)

        def list_apps():
            try:
                assert len([x for x in os.listdir(m.path("apps")) if x.endswith(".json")]) == 250
            except (OSError, AssertionError) as e:
                errs.append(e)
        run(read_me)
        run(list_apps)
        assert not errs
        routes = big.routes()
        assert routes.get("GET /api/v1/users/me") == 1, routes
        assert routes.get("GET /api/v1/items") == 3, routes
    finally:
        big.config(latency_ms=0)


def test_sighup_drops_caches(big, mount_factory):
    m = mount_factory(big.url, "cache_ttl=300")
    ls_l(m.path("apps"))
    big.reset()
    ls_l(m.path("apps"))
    assert big.total() == 0
    m.proc.send_signal(1)  # SIGHUP
    import time
    time.sleep(1.5)
    ls_l(m.path("apps"))
    assert big.total() == 3


def status(m):
    with open(m.path(".status.json")) as f:
        return json.load(f)


def test_space_views_store_no_content_again(big, mount_factory):
    """A space's apps/ is made from the tenant-wide listing's objects, whose
    contents the cache already holds: listing and reading every space's
    apps/ stores no content again (before stop 23 each view stored its
    apps' contents a second time, in a small block of its own) and costs no
    request; every file reads as many bytes as its size says."""
    m = mount_factory(big.url, "cache_ttl=300", "noqvf")
    ls_l(m.path("apps"))
    spaces = [s for s in os.listdir(m.path("spaces")) if os.path.isdir(m.path("spaces", s, "apps"))]
    before = status(m)["cache"]["stores"]
    big.reset()
    read = 0
    for s in spaces:
        d = m.path("spaces", s, "apps")
        ls_l(d)
        for name in os.listdir(d):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            assert len(data) == os.stat(os.path.join(d, name)).st_size, name
            read += 1
    assert read >= 200, read  # (250 apps, most in shared spaces)
    assert big.total() == 0, api_requests(big.log())
    assert status(m)["cache"]["stores"] == before
