"""Walks of the whole tree (docs/SEMANTICS.md "Caching and consistency"):
one tenant-wide listing serves every space's view; a cold walk costs the
list-page minimum; a walk longer than the TTL fetches nothing twice, while a
second look and the next walk see cache_ttl; one space in a cold mount costs
its own request, not the tenant's."""
import json
import math
import os
import subprocess
import time
import urllib.request

import pytest

from conftest import Sim, wait_for

LISTS = [("/api/v1/users", 100), ("/api/v1/spaces", 100),
         ("/api/v1/items?resourceType=app", 100),
         ("/api/v1/data-files?includeAllSpaces=true&includeFolders=true", 1000),
         ("/api/v1/data-stores", 100), ("/api/v1/data-stores/*/data-assets", 100),
         ("/api/v1/data-stores/*/data-assets/*/data-sets", 100)]


@pytest.fixture(scope="module")
def tenant():
    s = Sim(["--users", "450", "--spaces", "30", "--apps", "260", "--data-files", "80"])
    yield s
    s.stop()


def list_page_minimum(sim):
    pages = 0
    for path, limit in LISTS:
        url = sim.url + path + ("&" if "?" in path else "?") + "limit=%d" % limit
        while url:
            req = urllib.request.Request(url, headers={"Authorization": "Bearer " + sim.key})
            with urllib.request.urlopen(req, timeout=30) as r:
                page = json.loads(r.read())
            pages += 1
            url = ((page.get("links") or {}).get("next") or {}).get("href")
            if not url and page.get("page", 0) + 1 < page.get("pages", 0):
                url = None  # (offset pages hold everything here)
    return pages


def tar(m):
    r = subprocess.run("tar -C '%s' --exclude=./changes --exclude=./api --exclude=./reports --exclude=./reloads "
                       "-cf - . | wc -c" % m.mnt, shell=True, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def space_dirs(m):
    return [d for d in os.listdir(m.path("spaces")) if d != "@personal"]


def entries(path):
    out = []
    for root, dirs, files in os.walk(path):
        out += [os.path.relpath(os.path.join(root, f), path) for f in files]
    return sorted(out)


# (the JSON tree: -o noqvf and -o noscripts leave out what costs a request per app)
def test_cold_tar_costs_the_list_page_minimum_and_a_warm_one_nothing(tenant, mount_factory):
    minimum = list_page_minimum(tenant)
    m = mount_factory(tenant.url, "noqvf", "noscripts", "cache_ttl=300")
    tenant.reset()
    size = tar(m)
    routes = tenant.routes()
    assert tenant.total() == minimum, sorted(routes.items())
    # no request per space, store or asset
    assert "GET /api/v1/data-files/connections" not in routes, routes
    assert all(v == 1 for k, v in routes.items() if "data-" in k), routes
    tenant.reset()
    assert tar(m) == size
    assert tenant.total() == 0


def test_space_views_equal_their_own_listings(tenant, mount_factory):
    """A space's apps/ and data-files/ made from the tenant-wide listings show
    what the per-space requests show."""
    wide = mount_factory(tenant.url, "noqvf", "noscripts", "cache_ttl=300")
    os.listdir(wide.path("apps"))
    os.listdir(wide.path("data-files"))
    own = mount_factory(tenant.url, "noqvf", "noscripts", "cache_ttl=300", "prefetch=0")
    spaces = space_dirs(wide)[:6] + ["@personal"]
    tenant.reset()
    seen = 0
    for sp in spaces:
        for kind in ("apps", "data-files"):
            a = entries(wide.path("spaces", sp, kind))
            assert tenant.total() == 0  # from the tenant-wide listings
            b = entries(own.path("spaces", sp, kind))
            assert a == b, (sp, kind)
            for f in a:
                assert open(wide.path("spaces", sp, kind, f), "rb").read() == \
                    open(own.path("spaces", sp, kind, f), "rb").read()
            seen += len(a)
            tenant.reset()
    assert seen > 10


def test_one_space_in_a_cold_mount_costs_its_own_request(tenant, mount_factory):
    m = mount_factory(tenant.url, "cache_ttl=300")
    sp = space_dirs(m)[0]
    tenant.reset()
    os.listdir(m.path("spaces", sp, "apps"))
    log = tenant.log()
    items = [r for r in log if r["path"] == "/api/v1/items"]
    assert len(items) == 1 and "spaceId=" in items[0]["query"], items
    assert "GET /api/v1/users" not in tenant.routes()


def test_a_walk_longer_than_the_ttl_fetches_nothing_twice(tenant, mount_factory):
    m = mount_factory(tenant.url, "noqvf", "noscripts", "cache_ttl=1")
    minimum = list_page_minimum(tenant)
    tenant.reset()
    # a slow walk: every step within the walk gap, the whole beyond the TTL
    t0 = time.monotonic()
    n = 0
    for root, dirs, files in os.walk(m.mnt):
        dirs[:] = [d for d in dirs if d not in ("changes", "reports", "reloads")]
        for f in files[:3]:
            if f != "api":
                open(os.path.join(root, f), "rb").read()
        n += 1
        if n % 10 == 0:
            time.sleep(0.25)
    assert time.monotonic() - t0 > 2.5
    assert tenant.total() == minimum, tenant.routes()
    # the next walk (after a pause) sees cache_ttl again
    time.sleep(1.6)
    tenant.reset()
    os.listdir(m.path("users"))
    assert tenant.total() == math.ceil(450 / 100)


def test_a_second_look_in_a_walk_sees_the_ttl(tenant, mount_factory):
    """A script polling a directory is one long walk: its second listing of
    the same directory is not kept past cache_ttl."""
    m = mount_factory(tenant.url, "cache_ttl=1")
    os.listdir(m.path("spaces"))
    tenant.reset()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        os.listdir(m.path("spaces"))
        time.sleep(0.2)
    assert tenant.routes().get("GET /api/v1/spaces", 0) >= 2


@pytest.mark.parametrize("walk_max,refetched", [("600", False), ("0", True)])
def test_walk_max(tenant, mount_factory, walk_max, refetched):
    """An entry first looked at late in a walk is vouched for by the listing
    the walk made (walk_max=0: by cache_ttl only)."""
    m = mount_factory(tenant.url, "noqvf", "noscripts", "cache_ttl=1", "walk_max=" + walk_max)
    users = sorted(os.listdir(m.path("users")))
    tenant.reset()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.8:  # one walk, elsewhere
        for f in os.listdir(m.path("apps"))[:2]:
            open(m.path("apps", f), "rb").read()
        time.sleep(0.2)
    open(m.path("users", users[7]), "rb").read()
    assert (tenant.routes().get("GET /api/v1/users", 0) > 0) == refetched


# ---- per-app views (scripts/, data-model/, lineage/, .qvf/) at default options

def find_files(m):
    r = subprocess.run("cd '%s' && find . \\( -path ./changes -o -path ./reports -o -path ./reloads \\) "
                       "-prune -o -type f -print" % m.mnt, shell=True, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")[:-1]


def top_files(files, d, ext):
    pre = "./%s/" % d
    return [f for f in files if f.startswith(pre) and f.endswith(ext) and "/" not in f[len(pre):]
            and not f[len(pre):].startswith(".")]


def test_a_find_with_every_view_on_costs_the_list_page_minimum(tenant, mount_factory):
    """scripts/, data-model/, lineage/ and .qvf/ cost a request per app when
    their sizes or contents are asked for, not when they are listed: a find
    of the tree (names and types) costs the list-page minimum at default
    options, and shows every app in each view."""
    minimum = list_page_minimum(tenant)
    m = mount_factory(tenant.url, "cache_ttl=300")
    tenant.reset()
    files = find_files(m)
    assert tenant.total() == minimum, sorted(tenant.routes().items())
    apps = sorted(f[len("./apps/"):-len(".json")] for f in top_files(files, "apps", ".json"))
    assert len(apps) == 260
    for d, ext in (("scripts", ".qvs"), ("data-model", ".json"), ("lineage", ".json"),
                   ("apps/.qvf", ".qvf")):
        got = sorted(f[len("./%s/" % d):-len(ext)] for f in top_files(files, d, ext))
        assert got == apps, d
    # every space's scripts/ holds its apps' scripts
    for sp in space_dirs(m)[:5]:
        have = sorted(n[:-5] for n in os.listdir(m.path("spaces", sp, "apps"))
                      if n.endswith(".json") and not n.startswith("."))
        assert sorted(n[:-4] for n in os.listdir(m.path("spaces", sp, "scripts"))) == have
    assert tenant.total() == minimum


@pytest.mark.parametrize("view,route,per_app", [
    ("lineage", "GET /api/v1/apps/{id}/data/lineage", 1),
    ("scripts", "GET /api/v1/apps/{id}/scripts/{id}", 2)])
def test_ls_l_of_a_view_fetches_each_app_once_side_by_side(tenant, mount_factory, view, route,
                                                            per_app):
    """ls -l of a per-app view: one fetch per app (no more), several at once
    (the walk reads ahead), sizes exact; reading them afterwards costs
    nothing."""
    m = mount_factory(tenant.url, "cache_ttl=300")
    os.listdir(m.path("apps"))
    tenant.config(latency_ms=20)
    try:
        tenant.reset()
        r = subprocess.run(["ls", "-l", "--time-style=+", m.path(view)], capture_output=True,
                           text=True, timeout=300)
        st = tenant.stats()
    finally:
        tenant.config(latency_ms=0)
    assert r.returncode == 0, r.stderr
    assert st["routes"].get(route) == 260, st["routes"]
    assert st["total"] == 260 * per_app, st["routes"]
    assert st["max_inflight"] >= 4, st  # side by side, not one after another
    sizes = {}
    for line in r.stdout.split("\n")[1:]:
        if line:
            f = line.split(None, 5)
            sizes[f[5]] = int(f[4])
    assert len(sizes) == 260
    tenant.reset()
    for name, size in sizes.items():
        assert len(open(os.path.join(m.path(view), name), "rb").read()) == size, name
    assert tenant.total() == 0


def test_one_file_of_a_view_after_its_listing_costs_one_request(tenant, mount_factory):
    m = mount_factory(tenant.url, "cache_ttl=300")
    names = sorted(os.listdir(m.path("data-model")))
    tenant.reset()
    raw = open(m.path("data-model", names[7]), "rb").read()
    assert tenant.routes() == {"GET /api/v1/apps/{id}/data/metadata": 1}
    assert os.stat(m.path("data-model", names[7])).st_size == len(raw)
    assert tenant.total() == 1


def live_nodes(m):
    with open(m.path(".status.json")) as f:
        return json.load(f)["objects"]["nodes"]


def test_per_app_view_nodes_are_freed_when_the_kernel_forgets_them(tenant, mount_factory):
    """An entry of a per-app view gets a node at its lookup and loses it when
    the kernel forgets it (evicts its inode; its content stays cached with
    the app): after that, the next walk within the TTL costs no request and
    sees the same sizes."""
    m = mount_factory(tenant.url, "cache_ttl=300")
    for d in ("apps", "scripts", "data-model", "lineage"):
        os.listdir(m.path(d))
    base = live_nodes(m)
    # (-i and times to the nanosecond: an entry made again has the inode
    # number and mtime it had)
    cmd = ["ls", "-li", "--time-style=+%s.%N", m.path("scripts"), m.path("data-model"), m.path("lineage")]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(".qvs") == 260 and first.stdout.count(".json") == 520
    assert live_nodes(m) >= base + 780  # one a looked-up entry, while the kernel keeps it
    # the kernel evicts its inodes (as memory pressure does): the nodes go
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")
    wait_for(lambda: live_nodes(m) <= base + 8, timeout=10,
             what="the views' nodes freed (%d, were %d)" % (live_nodes(m), base))
    tenant.reset()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.stdout == first.stdout
    assert tenant.total() == 0, tenant.routes()
    for name in sorted(os.listdir(m.path("scripts")))[:20]:
        p = m.path("scripts", name)
        assert os.stat(p).st_size == len(open(p, "rb").read())
    assert tenant.total() == 0


def test_a_walk_keeps_at_most_view_nodes_per_app_entries(tenant, mount_factory):
    """Past -o view_nodes looked-up entries of the per-app views, the oldest
    are dropped from the kernel's cache and their nodes freed, while the walk
    goes on: memory stays bounded however many apps the tenant has.  An entry
    made again has its inode number, size and content, at no request."""
    m = mount_factory(tenant.url, "cache_ttl=300", "view_nodes=40")
    dirs = [m.path(d) for d in ("scripts", "data-model", "lineage")]
    for d in [m.path("apps")] + dirs:
        os.listdir(d)
    base = live_nodes(m)
    cmd = ["ls", "-li", "--time-style=+%s.%N"] + dirs
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(".qvs") == 260 and first.stdout.count(".json") == 520
    # 780 entries looked up, at most 40 (and those the kernel still holds
    # while its forgets arrive) keep a node
    wait_for(lambda: live_nodes(m) <= base + 40 + 8, timeout=10,
             what="at most view_nodes nodes (%d over %d)" % (live_nodes(m) - base, 40))
    tenant.reset()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.stdout == first.stdout  # same inode numbers and sizes
    assert tenant.total() == 0, tenant.routes()
    # every file read whole: st_size equals the bytes read (its node made
    # again for the read, or still there)
    for d in dirs:
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            size = os.stat(p).st_size
            with open(p, "rb") as f:
                assert len(f.read()) == size, p
    assert tenant.total() == 0, tenant.routes()
    assert live_nodes(m) <= base + 40 + 8 + 16


def test_an_operation_that_runs_long_does_not_end_its_walk(tenant, mount_factory):
    """The walk gap runs from the end of the last operation: a listing that
    takes longer than the gap (5 pages of users at 500 ms) is part of the
    walk, and what the walk fetched before it is still fresh after it."""
    m = mount_factory(tenant.url, "noqvf", "noscripts", "cache_ttl=1", "prefetch=0")
    apps = sorted(n for n in os.listdir(m.path("apps")) if n.endswith(".json")
                  and not n.startswith("."))
    tenant.config(latency_ms=500)
    try:
        tenant.reset()
        t0 = time.monotonic()
        assert len(os.listdir(m.path("users"))) >= 450
        assert time.monotonic() - t0 > 2.0  # longer than the gap and the TTL
        assert tenant.routes() == {"GET /api/v1/users": 5}
        tenant.reset()
        for name in apps[:5]:
            with open(m.path("apps", name), "rb") as f:
                assert json.loads(f.read())["resourceType"] == "app"
        assert tenant.total() == 0, tenant.routes()
    finally:
        tenant.config(latency_ms=0)


def test_a_walk_of_a_view_longer_than_the_ttl_lists_apps_once(tenant, mount_factory):
    """Looking up a per-app view's entries (which get their node then) is a
    first look, not a second one: a walk that stats scripts/ for longer than
    the TTL does not list apps/ again."""
    m = mount_factory(tenant.url, "noqvf", "cache_ttl=1", "prefetch=0")
    tenant.reset()
    names = sorted(os.listdir(m.path("scripts")))
    assert tenant.routes() == {"GET /api/v1/items": 3}
    tenant.reset()
    t0 = time.monotonic()
    for i, name in enumerate(names[:40]):
        os.stat(m.path("scripts", name))
        if i % 4 == 3:
            time.sleep(0.25)
    assert time.monotonic() - t0 > 2.0
    routes = tenant.routes()
    assert "GET /api/v1/items" not in routes, routes
    # each script fetched once (the walk's readahead), none twice
    texts = [r["path"] for r in tenant.log() if r["path"].count("/scripts/") == 1]
    assert 40 <= len(texts) <= 260 and len(set(texts)) == len(texts), routes
