"""Restore (docs/SEMANTICS.md "Restore"): a backup of the mount of one
simulated tenant, copied with rsync and cp -r into a mount of an empty
tenant, and back over the tenant it came from.  Request counts come from the
simulator's request log: a second run must send no write at all."""
import json
import os
import subprocess

import pytest

import invariants
from conftest import Mount, Sim

SMALL = ["--users", "4", "--spaces", "2", "--apps", "4", "--data-files", "3",
         "--data-stores", "1"]
# views the server makes and files that are not resources: left out of backups
NOT_BACKED_UP = ["--exclude=/changes", "--exclude=/api", "--exclude=/reports"]
# and of restores: server-made views of the apps (they come back with them)
DERIVED = NOT_BACKED_UP + ["--exclude=/data-model", "--exclude=/lineage", "--exclude=/reloads",
                           "--exclude=/me.json"]


def rsync(src, dst, *extra):
    return subprocess.run(["rsync", "-a", *extra, src + "/", dst + "/"], capture_output=True,
                          text=True)


def writes(sim, since):
    """Requests after the since-th that change the tenant (an export, which
    rsync's stat of an uncached .qvf costs, is a read)."""
    return [(q["method"], q["path"]) for q in sim.log()[since:]
            if q["method"] != "GET" and not q["path"].endswith("/export")]


def report(m):
    p = os.path.join(m.state_dir, "restore", "report.jsonl")
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def tenant(sim):
    """{space name: space}, {app name+backup-free key: app} of a tenant, from its API."""
    st, spaces = sim.api("GET", "/api/v1/spaces?limit=100")
    assert st == 200
    st, items = sim.api("GET", "/api/v1/items?resourceType=app&limit=100")
    assert st == 200
    return spaces["data"], items["data"]


def data_places(sim):
    """Sorted (data set, its asset, the asset's store) names of a tenant, each
    reference resolved through the ids the tenant has (so a data set whose
    asset id points at nothing shows None)."""
    st = sim.state()
    stores = {x["id"]: x["name"] for x in st["data_stores"]}
    assets = {x["id"]: (x["name"], stores.get(x["dataStoreInfo"]["id"])) for x in st["data_assets"]}
    return sorted((x["name"],) + assets.get(x["dataAssetInfo"]["id"], (None, None))
                  for x in st["data_sets"])


def app_places(sim):
    """Sorted (app name, description, space name or '') of a tenant."""
    spaces, items = tenant(sim)
    names = {s["id"]: s["name"] for s in spaces}
    return sorted((a["name"], a.get("description") or "", names.get(a.get("spaceId") or "", ""))
                  for a in items)


@pytest.fixture
def dst():
    """An empty second tenant (another seed: no id in common with SMALL's)."""
    s = Sim(args=["--empty", "--seed", "77"])
    yield s
    s.stop()


@pytest.fixture
def small():
    s = Sim(args=SMALL)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def source():
    s = Sim(args=SMALL)
    m = Mount(s.url, ("cache_ttl=300",))
    yield s, m
    assert m.unmount() == 0
    s.stop()


@pytest.fixture(scope="module")
def backup(source, tmp_path_factory):
    _, m = source
    d = str(tmp_path_factory.mktemp("backup"))
    r = rsync(m.mnt, d, *NOT_BACKED_UP)
    assert r.returncode == 0, r.stderr
    assert len(os.listdir(os.path.join(d, "apps", ".qvf"))) == 4
    return d


def test_rsync_restore_into_an_empty_tenant_then_again_sends_nothing(
        source, backup, tmp_path, mount_factory):
    src, _ = source
    dst = Sim(args=["--empty", "--seed", "77"])
    state = str(tmp_path / "state")
    try:
        m = mount_factory(dst.url, "cache_ttl=300", "state_dir=" + state)
        r = rsync(backup, m.mnt, *DERIVED)
        # users and data files' metadata cannot be made by a file: refused, with why
        assert "users/" in r.stderr and r.returncode == 23, r.stderr
        # spaces and apps came back once each, with their content, fields and
        # places; data stores, their assets and sets, with their references
        assert app_places(dst) == app_places(src)
        assert data_places(dst) == data_places(src) and len(data_places(dst)) == 6
        assert sorted(s["name"] for s in tenant(dst)[0]) == sorted(s["name"] for s in tenant(src)[0])
        st, items = dst.api("GET", "/api/v1/items?resourceType=app&limit=100")
        for a in items["data"]:
            st, script = dst.api("GET", "/api/v1/apps/%s/scripts/current" % a["resourceId"])
            assert st == 200
        # the mount shows each under the backup's name: rsync finds them again
        for d in ("apps", "apps/.qvf", "scripts", "spaces/Finance/apps"):
            assert sorted(os.listdir(m.path(d))) == sorted(os.listdir(os.path.join(backup, d))), d
        rep = report(m)
        acts = {e["action"] for e in rep}
        assert {"created", "imported", "held", "released", "refused"} <= acts, acts
        assert any(e["action"] == "refused" and e["kind"] == "user" and "invite" in e["why"]
                   for e in rep)
        # a refused file says why
        u = sorted(os.listdir(os.path.join(backup, "users")))[0]
        r2 = subprocess.run(["cp", os.path.join(backup, "users", u), m.path("users", u)],
                            capture_output=True, text=True)
        assert r2.returncode != 0
        assert b"invite" in os.getxattr(m.path("users", u), "user.qlik.error")
        os.unlink(m.path("users", u))

        n0 = len(dst.log())
        r = rsync(backup, m.mnt, *DERIVED)
        assert writes(dst, n0) == [], r.stderr
        assert app_places(dst) == app_places(src)
        # every file of the restored mount: st_size is what a read returns
        # (held and refused files included), before and after the read
        invariants.check_all_orders(m.mnt)
        assert m.unmount() == 0

        # the map survives a remount: a third run sends nothing either
        m = mount_factory(dst.url, "cache_ttl=300", "state_dir=" + state)
        n0 = len(dst.log())
        rsync(backup, m.mnt, *DERIVED)
        assert writes(dst, n0) == []
        assert len(tenant(dst)[1]) == 4
        assert m.unmount() == 0
    finally:
        dst.stop()


def test_cp_r_of_apps_holds_them_until_their_space_exists(backup, source, mount_factory, dst):
    src, _ = source
    m = mount_factory(dst.url, "cache_ttl=300")
    # apps first: their spaces do not exist yet, so they wait
    r = subprocess.run(["cp", "-r", os.path.join(backup, "apps"), m.mnt + "/"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    held = [e for e in report(m) if e["action"] == "held"]
    assert held and all("space" in e["why"] for e in held)
    assert len(tenant(dst)[0]) == 0
    # a held file shows what was written, with its size, and why it waits
    files = [e for e in held if "id" not in e]  # (else: an imported app's update waits)
    for e in files:
        p = m.mnt + e["path"]
        data = open(p, "rb").read()
        assert os.stat(p).st_size == len(data) and json.loads(data)["resourceId"] == e["backupId"]
        assert b"waits for space" in os.getxattr(p, "user.qlik.error")
    invariants.check_all_orders(m.path("apps"))
    # (cp -r into a space directory it makes itself fails on the entries a
    # space has from the start, which it creates with O_EXCL: the space
    # directories are made first, then cp -r copies into them)
    for sp in os.listdir(os.path.join(backup, "spaces")):
        if not sp.startswith("@"):
            os.mkdir(m.path("spaces", sp))
    r = subprocess.run(["cp", "-r", os.path.join(backup, "spaces") + "/.", m.path("spaces")],
                       capture_output=True, text=True)
    assert "space.json" not in r.stderr, r.stderr
    assert app_places(dst) == app_places(src)
    assert {e["action"] for e in report(m)} >= {"held", "released"}
    n0 = len(dst.log())
    r = subprocess.run(["cp", "-r", os.path.join(backup, "apps"), m.mnt + "/"],
                       capture_output=True, text=True)
    # (an existing app's export is read-only to open: cp, unlike rsync's
    # rename, cannot write over it)
    errs = [line for line in r.stderr.splitlines() if line]
    assert all("/.qvf/" in line and "Permission denied" in line for line in errs), errs
    assert writes(dst, n0) == []
    assert len(tenant(dst)[1]) == 4
    assert m.unmount() == 0


def test_restore_over_the_same_tenant_changes_only_what_changed(tmp_path, mount_factory, small):
    s = small
    m = mount_factory(s.url)
    bk = str(tmp_path / "bk")
    assert rsync(m.mnt, bk, *NOT_BACKED_UP).returncode == 0
    assert m.unmount() == 0
    spaces, items = tenant(s)
    gone = items[0]
    assert s.api("DELETE", "/api/v1/apps/%s" % gone["resourceId"])[0] in (200, 204)
    fin = [x for x in spaces if x["name"] == "Finance"][0]
    s.api("PATCH", "/api/v1/spaces/%s" % fin["id"],
          [{"op": "replace", "path": "/description", "value": "changed since"}])
    st, newer = s.api("POST", "/api/v1/apps", {"attributes": {"name": "Made after"}})
    assert st in (200, 201)
    m = mount_factory(s.url)
    before = {a["resourceId"] for a in tenant(s)[1]}
    n0 = len(s.log())
    rsync(bk, m.mnt, *DERIVED)
    w = writes(s, n0)
    # the deleted app comes back (one import; the app its JSON made first
    # is replaced by it), the changed field goes back, nothing else is
    # written and nothing that was there is deleted
    assert all(x[1].rsplit("/", 1)[1] not in before for x in w if x[0] == "DELETE"), w
    assert ("PATCH", "/api/v1/spaces/%s" % fin["id"]) in w
    assert [x for x in w if x == ("POST", "/api/v1/apps/import")] == [("POST", "/api/v1/apps/import")]
    spaces, items = tenant(s)
    assert sorted(a["name"] for a in items) == sorted([a["name"] for a in tenant(s)[1]])
    assert any(a["name"] == "Made after" for a in items)
    assert sum(1 for a in items if a["name"] == gone["name"]) >= 1
    assert [x for x in spaces if x["name"] == "Finance"][0]["description"] != "changed since"
    n0 = len(s.log())
    rsync(bk, m.mnt, *DERIVED)
    assert writes(s, n0) == []
    assert m.unmount() == 0


def test_the_same_bytes_copied_again_are_not_uploaded_again(tmp_path, mount_factory, small):
    s = small
    m = mount_factory(s.url)
    f = tmp_path / "restored.csv"
    f.write_bytes(b"id,amount\n1,2\n")
    assert subprocess.run(["cp", str(f), m.path("data-files")]).returncode == 0
    assert ("POST", "/api/v1/data-files") in writes(s, 0)
    n0 = len(s.log())
    assert subprocess.run(["cp", str(f), m.path("data-files")]).returncode == 0
    assert writes(s, n0) == []
    f.write_bytes(b"id,amount\n1,3\n")
    n0 = len(s.log())
    assert subprocess.run(["cp", str(f), m.path("data-files")]).returncode == 0
    assert [w for w in writes(s, n0) if w[1].startswith("/api/v1/data-files")], writes(s, n0)
    assert m.unmount() == 0


def test_tar_x_restores_and_a_second_tar_x_sends_nothing(source, tmp_path, mount_factory, dst):
    """tar x unlinks an existing file and creates it again with O_EXCL: a
    resource dir's own file and an app's export must make room (they used to
    stay, and tar looped on EEXIST forever)."""
    src, msrc = source
    tarf = str(tmp_path / "b.tar")
    r = subprocess.run(["tar", "-C", msrc.mnt, "-cf", tarf, "--exclude=./changes",
                        "--exclude=./api", "--exclude=./reports", "."], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    ex = ["--exclude=./data-model", "--exclude=./lineage", "--exclude=./reloads",
          "--exclude=./me.json", "--exclude=./users"]
    # (tar's unlink-then-create of an existing file needs the delete delay)
    m = mount_factory(dst.url, "cache_ttl=300", "delete_delay=5")
    r = subprocess.run(["tar", "-C", m.mnt, "-xf", tarf, *ex], capture_output=True,
                       text=True, timeout=120)
    assert app_places(dst) == app_places(src)
    assert data_places(dst) == data_places(src)
    n0 = len(dst.log())
    r = subprocess.run(["tar", "-C", m.mnt, "-xf", tarf, *ex], capture_output=True,
                       text=True, timeout=120)
    assert writes(dst, n0) == []
    assert app_places(dst) == app_places(src)
    assert "spaces/Finance/space.json" not in r.stderr, r.stderr
    assert m.unmount() == 0


def test_rm_of_a_space_json_frees_its_name_and_changes_nothing(source):
    """rm of a resource dir's own file sends nothing; a file made by that name
    right after updates the resource (what tar x does)."""
    src, m = source
    p = m.path("spaces", "Finance", "space.json")
    doc = json.load(open(p))
    n0 = len(src.log())
    os.unlink(p)
    assert writes(src, n0) == []
    assert "space.json" not in os.listdir(m.path("spaces", "Finance"))
    doc["description"] = "written after rm"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, json.dumps(doc).encode())
    os.close(fd)
    st, sp = src.api("GET", "/api/v1/spaces/%s" % doc["id"])
    assert sp["description"] == "written after rm"
    assert os.path.getsize(p) == len(open(p, "rb").read())


def test_a_restore_killed_half_way_completes_without_duplicates(
        source, backup, tmp_path, mount_factory):
    """kill -9 of the mount in the middle of an rsync, remount, rsync again:
    every space and app once (the intents recorded before each create and
    import let the second run adopt what the first made)."""
    import signal
    import time
    src, _ = source
    dst = Sim(args=["--empty", "--seed", "77", "--latency-ms", "40"])
    state = str(tmp_path / "state")
    try:
        m = mount_factory(dst.url, "cache_ttl=300", "state_dir=" + state)
        p = subprocess.Popen(["rsync", "-a", *DERIVED, backup + "/", m.mnt + "/"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while len(dst.state()["apps"]) < 2 and time.time() - t0 < 60:
            time.sleep(0.02)
        dev = os.stat(m.mnt).st_dev
        m.proc.send_signal(signal.SIGKILL)
        try:
            m.proc.wait(5)
        except subprocess.TimeoutExpired:
            # a thread of the killed server blocked in the kernel on its own
            # connection (tests/crash_trials.py): abort the connection
            ctl = "/sys/fs/fuse/connections/%d/abort" % os.minor(dev)
            if not os.path.exists(ctl):
                subprocess.run(["mount", "-t", "fusectl", "none", "/sys/fs/fuse/connections"],
                               check=False, stderr=subprocess.DEVNULL)
            with open(ctl, "w") as f:
                f.write("1")
            m.proc.wait(30)
        subprocess.run(["fusermount3", "-uz", m.mnt], check=False)
        p.wait(60)
        made = len(dst.state()["apps"])
        assert 2 <= made < 6, made
        m.unmount()
        m = mount_factory(dst.url, "cache_ttl=300", "state_dir=" + state)
        rsync(backup, m.mnt, *DERIVED)
        assert app_places(dst) == app_places(src)
        n0 = len(dst.log())
        rsync(backup, m.mnt, *DERIVED)
        assert writes(dst, n0) == []
        assert sorted(s["name"] for s in tenant(dst)[0]) == sorted(s["name"] for s in tenant(src)[0])
        assert m.unmount() == 0
    finally:
        dst.stop()


def test_a_create_interrupted_after_its_post_is_adopted_not_repeated(
        backup, tmp_path, mount_factory):
    """The map holds an intent for OLD (written before the POST) and the
    tenant an app of that name made after it (the POST went through, the
    record did not): copying the file again adopts that app."""
    import time
    fn = [f for f in sorted(os.listdir(os.path.join(backup, "apps")))
          if f.endswith(".json") and not json.load(open(os.path.join(backup, "apps", f)))
          .get("spaceId")][0]
    doc = json.load(open(os.path.join(backup, "apps", fn)))
    old = doc["resourceId"]
    dst = Sim(args=["--empty", "--seed", "77"])
    state = str(tmp_path / "state")
    try:
        os.makedirs(os.path.join(state, "restore"), mode=0o700)
        with open(os.path.join(state, "restore", "ids"), "w") as f:
            f.write("app\t%s\t?\t%d %s\n" % (old, int(time.time() * 1000) - 500, doc["name"]))
        st, made = dst.api("POST", "/api/v1/apps", {"attributes": {"name": doc["name"]}})
        assert st in (200, 201)
        m = mount_factory(dst.url, "state_dir=" + state)
        n0 = len(dst.log())
        r = subprocess.run(["cp", os.path.join(backup, "apps", fn), m.path("apps", fn)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert ("POST", "/api/v1/apps") not in writes(dst, n0)
        assert len(tenant(dst)[1]) == 1
        assert any(e["action"] in ("updated", "unchanged") and e["backupId"] == old
                   for e in report(m))
        assert os.getxattr(m.path("apps", fn), "user.qlik.id").decode() == made["attributes"]["id"]
        assert m.unmount() == 0
    finally:
        dst.stop()


def test_a_dry_run_sends_nothing_and_reports_what_it_would_send(
        source, backup, tmp_path, mount_factory):
    src, _ = source
    dst = Sim(args=["--empty", "--seed", "77"])
    state = str(tmp_path / "state")
    try:
        m = mount_factory(dst.url, "cache_ttl=300", "dry_run", "state_dir=" + state)
        n0 = len(dst.log())
        r = rsync(backup, m.mnt, *DERIVED)
        assert r.returncode != 0 and "Read-only file system" in r.stderr, r.stderr
        assert writes(dst, n0) == []
        assert tenant(dst)[0] == [] and tenant(dst)[1] == []
        rep = report(m)
        would = [(e["method"], e["path"], e.get("body")) for e in rep
                 if e["action"] == "would-send"]
        spaces = sorted({b["name"] for meth, p, b in would if (meth, p) == ("POST", "/api/v1/spaces")})
        assert spaces == sorted(s["name"] for s in tenant(src)[0]), would
        assert any(p.startswith("/api/v1/temp-contents") for _, p, _ in would), would
        assert any(e["action"] == "held" and "space" in e["why"] for e in rep)
        assert m.unmount() == 0
        # the real run after it
        m = mount_factory(dst.url, "cache_ttl=300", "state_dir=" + state)
        rsync(backup, m.mnt, *DERIVED)
        assert app_places(dst) == app_places(src)
        assert m.unmount() == 0
    finally:
        dst.stop()


def test_an_apps_qvf_copied_after_its_json_replaces_the_app_the_json_made(
        backup, source, mount_factory, dst):
    """cp of an app's JSON first (an empty app), then of its .qvf over the
    export that app now has: the import replaces it (one app, with content)."""
    src, _ = source
    fn = [f for f in sorted(os.listdir(os.path.join(backup, "apps")))
          if f.endswith(".json") and not json.load(open(os.path.join(backup, "apps", f)))
          .get("spaceId")][0]
    q = fn[:-5] + ".qvf"
    m = mount_factory(dst.url, "cache_ttl=300")
    subprocess.run(["cp", os.path.join(backup, "apps", fn), m.path("apps")], check=True)
    (made,) = tenant(dst)[1]
    assert os.path.exists(m.path("apps", ".qvf", q))  # the empty app's export
    n0 = len(dst.log())
    subprocess.run(["cp", os.path.join(backup, "apps", ".qvf", q), m.path("apps", ".qvf")],
                   check=True)
    w = writes(dst, n0)
    assert ("POST", "/api/v1/apps/import") in w
    assert ("DELETE", "/api/v1/apps/" + made["resourceId"]) in w
    (now,) = tenant(dst)[1]
    assert now["name"] == made["name"] and now["resourceId"] != made["resourceId"]
    assert open(m.path("apps", ".qvf", q), "rb").read() == \
        open(os.path.join(backup, "apps", ".qvf", q), "rb").read()
    assert m.unmount() == 0


def test_a_held_file_shows_what_was_written_and_why_it_waits(backup, mount_factory, dst):
    fn = [f for f in sorted(os.listdir(os.path.join(backup, "apps")))
          if f.endswith(".json") and json.load(open(os.path.join(backup, "apps", f)))
          .get("spaceId")][0]
    m = mount_factory(dst.url)
    subprocess.run(["cp", os.path.join(backup, "apps", fn), m.path("apps")], check=True)
    assert tenant(dst)[1] == []
    p = m.path("apps", fn)
    data = open(p, "rb").read()
    assert data == open(os.path.join(backup, "apps", fn), "rb").read()
    assert os.stat(p).st_size == len(data)
    assert b"waits for space" in os.getxattr(p, "user.qlik.error")
    assert fn in os.listdir(m.path("apps"))
    assert m.unmount() == 0


def test_a_user_invited_before_the_restore_stands_for_the_backups_and_owns_its_apps(
        source, backup, mount_factory, dst):
    src, _ = source
    owned = {}
    for f in os.listdir(os.path.join(backup, "apps")):
        if f.endswith(".json"):
            d = json.load(open(os.path.join(backup, "apps", f)))
            if d.get("spaceId"):
                owned.setdefault(d["ownerId"], []).append(d)
    users = {json.load(open(os.path.join(backup, "users", f)))["id"]:
             json.load(open(os.path.join(backup, "users", f)))
             for f in os.listdir(os.path.join(backup, "users"))}
    uid = [u for u in owned if u in users and users[u]["email"] != "admin@sim-tenant.example"]
    if not uid:
        pytest.skip("no app in a space owned by a user other than the caller")
    u = users[uid[0]]
    st, made = dst.api("POST", "/api/v1/users", {"name": u["name"], "email": u["email"],
                                                 "subject": u["subject"]})
    assert st in (200, 201), made
    m = mount_factory(dst.url, "cache_ttl=300")
    rsync(backup, m.mnt, *DERIVED)
    fn = [f for f in os.listdir(os.path.join(backup, "users")) if uid[0] in f][0]
    assert os.getxattr(m.path("users", fn), "user.qlik.id").decode() == made["id"]
    st, items = dst.api("GET", "/api/v1/items?resourceType=app&limit=100")
    mine = [a for a in items["data"] if a.get("ownerId") == made["id"]]
    assert sorted(a["name"] for a in mine) == sorted(d["name"] for d in owned[uid[0]])
    n0 = len(dst.log())
    rsync(backup, m.mnt, *DERIVED)
    assert writes(dst, n0) == []
    assert m.unmount() == 0


def test_an_ordinary_edit_costs_no_reference_check(small, mount_factory):
    """The restore's reference checks run only for ids that differ from the
    resource's own: editing an app's description sends what it did before."""
    m = mount_factory(small.url)
    d = m.path("spaces", "Finance", "apps")
    fn = sorted(f for f in os.listdir(d) if f.endswith(".json"))[0]
    doc = json.load(open(os.path.join(d, fn)))
    doc["description"] = "edited"
    n0 = len(small.log())
    with open(os.path.join(d, fn), "w") as f:
        json.dump(doc, f)
    routes = [(q["method"], q["path"].split("?")[0]) for q in small.log()[n0:]]
    assert not [r for r in routes if r[1].startswith(("/api/v1/users", "/api/v1/spaces/"))], routes
    assert ("PUT", "/api/v1/apps/" + doc["resourceId"]) in routes
