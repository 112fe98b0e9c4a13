"""changes/: the file form of the "New and Updated Records" trigger, through a
real mount of the simulator.  Polls are asked for with SIGUSR1 (the mounts of
these tests have -o poll_interval=0 unless a test sets it) and are complete
when changes/.status.json counts one more poll."""
import calendar
import errno
import json
import os
import signal
import time

import pytest

from conftest import Mount, Sim, wait_for

TYPES = ("spaces", "apps", "data-files", "data-stores", "users")
EMPTY = '{\n  "data": {\n    "created": [],\n    "updated": [],\n    "deleted": []\n  }\n}\n'


def status(m):
    try:
        with open(m.path("changes", ".status.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"polls": 0, "types": {}}


def poll(m, timeout=120):
    """One poll of every watched type, now; returns the status after it."""
    n = status(m)["polls"]
    os.kill(m.proc.pid, signal.SIGUSR1)
    wait_for(lambda: status(m)["polls"] > n, timeout=timeout, what="a poll")
    st = status(m)
    for t, s in st["types"].items():
        assert s["error"] is None, (t, s)
    return st


def latest(m, t):
    with open(m.path("changes", t + ".json")) as f:
        return json.load(f)["data"]


def spool(m, t):
    d = m.path("changes", t)
    return sorted(os.listdir(d))


def spooled(m, t):
    """Every spool file of type t, parsed, oldest first."""
    out = []
    for name in spool(m, t):
        with open(m.path("changes", t, name)) as f:
            out.append(json.load(f)["data"])
    return out


def ids(records, field="id"):
    return [r.get(field) for r in records]


def upload(sim, name, content=b"a,b\n1,2\n"):
    b = "XyZ123"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"File\"; filename=\"f\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n") % b).encode() + content + \
        (("\r\n--%s\r\nContent-Disposition: form-data; name=\"Json\"\r\n"
          "Content-Type: application/json\r\n\r\n%s\r\n--%s--\r\n")
         % (b, json.dumps({"name": name}), b)).encode()
    return sim._req("POST", "/api/v1/data-files", body,
                    headers={"Content-Type": "multipart/form-data; boundary=" + b})


def reupload(sim, fid, content=b"x,y\n"):
    b = "XyZ123"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"File\"; filename=\"f\"\r\n\r\n")
            % b).encode() + content + ("\r\n--%s--\r\n" % b).encode()
    return sim._req("PUT", "/api/v1/data-files/" + fid, body,
                    headers={"Content-Type": "multipart/form-data; boundary=" + b})


def change_every_type(sim, tag):
    """Creates one record and updates another of every type behind the
    mount's back; returns {type: (created id, updated id, id field)}."""
    st = sim.state()
    out = {}
    s, sp = sim.api("POST", "/api/v1/spaces", {"name": "Space " + tag, "type": "shared"})
    assert s == 201
    upd = st["spaces"][1]["id"]
    assert sim.api("PATCH", "/api/v1/spaces/" + upd,
                   [{"op": "replace", "path": "/description", "value": tag}])[0] == 200
    out["spaces"] = (sp["id"], upd, "id")
    s, u = sim.api("POST", "/api/v1/users", {"subject": "sub-" + tag, "name": "User " + tag,
                                              "email": tag + "@example.com"})
    assert s == 201
    upd = st["users"][7]["id"]
    assert sim.api("PATCH", "/api/v1/users/" + upd,
                   [{"op": "replace", "path": "/name", "value": "Renamed " + tag}])[0] == 204
    out["users"] = (u["id"], upd, "id")
    s, a = sim.api("POST", "/api/v1/apps", {"attributes": {"name": "App " + tag}})
    assert s == 200
    upd = st["apps"][3]["attributes"]["id"]
    assert sim.api("PUT", "/api/v1/apps/" + upd,
                   {"attributes": {"name": "Renamed app " + tag}})[0] == 200
    out["apps"] = (a["attributes"]["id"], upd, "resourceId")
    s, f = upload(sim, "file-%s.csv" % tag)
    assert s == 201, f
    upd = [x for x in st["data_files"] if not x.get("folder") and x.get("spaceId")][0]["id"]
    assert reupload(sim, upd)[0] == 201
    out["data-files"] = (f["id"], upd, "id")
    s, d = sim.api("POST", "/api/v1/data-stores", {"name": "Store " + tag, "type": "gbq",
                                                    "technicalName": "store_" + tag})
    assert s == 201
    upd = st["data_stores"][0]["id"]
    assert sim.api("PATCH", "/api/v1/data-stores/" + upd,
                   [{"op": "replace", "path": "/description", "value": tag}])[0] in (200, 204)
    out["data-stores"] = (d["id"], upd, "id")
    return out


def test_bootstrap_emits_nothing(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url)
    # before the first poll: the empty spool directories only
    assert sorted(os.listdir(m.path("changes"))) == sorted(TYPES)
    st = poll(m)
    assert st["polls"] == 1
    for t in TYPES:
        assert st["types"][t]["bootstrap"] is True
        assert st["types"][t]["clock"] == "tenant"
        # the exact trigger form (the deleted list is our addition)
        assert open(m.path("changes", t + ".json")).read() == EMPTY
        assert spool(m, t) == []
    assert sorted(os.listdir(m.path("changes"))) == \
        sorted(list(TYPES) + [t + ".json" for t in TYPES] + [".status.json"])
    poll(m)
    for t in TYPES:
        assert open(m.path("changes", t + ".json")).read() == EMPTY
        assert spool(m, t) == []


def test_created_and_updated_records_of_every_type(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url)
    poll(m)
    want = change_every_type(fresh_sim, "one")
    st = poll(m)
    for t, (cid, uid, field) in want.items():
        got = latest(m, t)
        assert ids(got["created"], field) == [cid], (t, got)
        assert ids(got["updated"], field) == [uid], (t, got)
        assert got["deleted"] == []
        assert st["types"][t]["created"] == 1 and st["types"][t]["updated"] == 1
        # the same result, spooled under the poll's time
        files = spool(m, t)
        assert len(files) == 1 and files[0].endswith("Z.json"), files
        assert spooled(m, t) == [got]
        # the records are the API's objects, as the mount shows them
    item = latest(m, "apps")["created"][0]
    assert item["resourceType"] == "app" and item["name"] == "App one"
    user = latest(m, "users")["updated"][0]
    assert user["name"] == "Renamed one"
    # nothing twice: the next poll is empty and spools nothing
    poll(m)
    for t in TYPES:
        assert open(m.path("changes", t + ".json")).read() == EMPTY
        assert len(spool(m, t)) == 1
    # a second round: a second spool file, sorted after the first
    change_every_type(fresh_sim, "two")
    poll(m)
    for t in TYPES:
        files = spool(m, t)
        assert len(files) == 2 and files == sorted(files)


@pytest.mark.parametrize("switch,shown,hidden", [("changes_created=0", "updated", "created"),
                                                 ("changes_updated=0", "created", "updated")])
def test_switches(fresh_sim, mount_factory, switch, shown, hidden):
    m = mount_factory(fresh_sim.url, switch)
    poll(m)
    change_every_type(fresh_sim, "sw")
    poll(m)
    for t in TYPES:
        got = latest(m, t)
        assert len(got[shown]) == 1 and got[hidden] == [], (t, got)
        assert len(spool(m, t)) == 1


def test_only_created_when_updates_are_off_spools_nothing_for_updates(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "changes_updated=0", "changes_types=spaces")
    poll(m)
    sp = fresh_sim.state()["spaces"][0]["id"]
    fresh_sim.api("PATCH", "/api/v1/spaces/" + sp,
                  [{"op": "replace", "path": "/description", "value": "x"}])
    poll(m)
    assert latest(m, "spaces") == {"created": [], "updated": [], "deleted": []}
    assert spool(m, "spaces") == []
    assert sorted(status(m)["types"]) == ["spaces"]


def test_state_persists_across_a_remount(fresh_sim, mount_factory, tmp_path):
    sd = str(tmp_path / "state")
    m = mount_factory(fresh_sim.url, "state_dir=" + sd)
    poll(m)
    assert m.unmount() == 0
    want = change_every_type(fresh_sim, "away")  # while nothing is mounted
    m2 = mount_factory(fresh_sim.url, "state_dir=" + sd)
    st = poll(m2)
    for t, (cid, uid, field) in want.items():
        assert st["types"][t]["bootstrap"] is False
        got = latest(m2, t)
        assert ids(got["created"], field) == [cid] and ids(got["updated"], field) == [uid], t


def test_spool_files_survive_remounts_until_deleted(fresh_sim, mount_factory, tmp_path):
    sd = str(tmp_path / "state")
    m = mount_factory(fresh_sim.url, "state_dir=" + sd, "changes_types=spaces")
    poll(m)
    for i in range(3):
        fresh_sim.api("POST", "/api/v1/spaces", {"name": "Spooled %d" % i, "type": "shared"})
        poll(m)
    files = spool(m, "spaces")
    assert len(files) == 3
    assert m.unmount() == 0
    m2 = mount_factory(fresh_sim.url, "state_dir=" + sd, "changes_types=spaces")
    assert spool(m2, "spaces") == files
    assert [d["created"][0]["name"] for d in spooled(m2, "spaces")] == \
        ["Spooled 0", "Spooled 1", "Spooled 2"]
    # a consumer acknowledges the oldest by deleting it
    os.unlink(m2.path("changes", "spaces", files[0]))
    assert not os.path.exists(os.path.join(sd, "changes", "spaces", files[0]))
    assert spool(m2, "spaces") == files[1:]
    # the latest result and the directories cannot be deleted or written
    with pytest.raises(PermissionError):
        os.unlink(m2.path("changes", "spaces.json"))
    with pytest.raises(OSError) as e:
        open(m2.path("changes", "spaces", "new.json"), "w")
    assert e.value.errno in (errno.EROFS, errno.EACCES)
    with pytest.raises(OSError) as e:
        open(m2.path("changes", "spaces.json"), "w")
    assert e.value.errno in (errno.EROFS, errno.EACCES)
    with pytest.raises(OSError):
        os.rmdir(m2.path("changes", "spaces"))
    assert m2.unmount() == 0
    m3 = mount_factory(fresh_sim.url, "state_dir=" + sd, "changes_types=spaces")
    assert spool(m3, "spaces") == files[1:]


def test_two_mounts_sharing_a_state_dir_report_a_change_once(fresh_sim, mount_factory, tmp_path):
    """Two mounts of one tenant share the default state directory (an
    interactive mount beside a systemd one): whichever polls, a change is
    spooled once, and each mount shows the other's files with sizes that
    match their bytes."""
    def poll(m):  # (known by the latest result's rewrite: the status may read the same)
        p = m.path("changes", "spaces.json")
        before = os.stat(p).st_mtime_ns if os.path.exists(p) else None
        os.kill(m.proc.pid, signal.SIGUSR1)
        wait_for(lambda: os.path.exists(p) and os.stat(p).st_mtime_ns != before,
                 timeout=60, what="a poll")
        wait_for(lambda: status(m)["types"].get("spaces", {}).get("polled_at"),
                 timeout=60, what="the status")
        assert status(m)["types"]["spaces"]["error"] is None

    sd = str(tmp_path / "state")
    a = mount_factory(fresh_sim.url, "state_dir=" + sd, "changes_types=spaces")
    poll(a)  # bootstrap
    b = mount_factory(fresh_sim.url, "state_dir=" + sd, "changes_types=spaces")
    fresh_sim.api("POST", "/api/v1/spaces", {"name": "Seen once", "type": "shared"})
    poll(a)
    assert len(spool(a, "spaces")) == 1
    poll(b)  # b's state predates the change: it must read a's first
    poll(a)
    assert spool(b, "spaces") == spool(a, "spaces")
    assert [[r["name"] for r in d["created"]] for d in spooled(b, "spaces")] == [["Seen once"]]
    fresh_sim.api("POST", "/api/v1/spaces", {"name": "Then b", "type": "shared"})
    poll(b)
    poll(a)
    assert [[r["name"] for r in d["created"]] for d in spooled(a, "spaces")] == \
        [["Seen once"], ["Then b"]]
    for m in (a, b):
        for rel in ("spaces.json", ".status.json"):
            p = m.path("changes", rel)
            with open(p, "rb") as f:
                assert os.stat(p).st_size == len(f.read()), (m.mnt, rel)


@pytest.mark.parametrize("skew_ms", [-7200000, 7200000])
def test_skewed_server_clock(mount_factory, skew_ms):
    sim = Sim(args=["--clock-skew-ms", str(skew_ms)])
    try:
        m = mount_factory(sim.url, "changes_types=spaces:apps")
        poll(m)
        st = poll(m)  # the tenant's clock, not ours: no false changes
        assert latest(m, "spaces") == latest(m, "apps") == \
            {"created": [], "updated": [], "deleted": []}
        app = sim.state()["apps"][5]["attributes"]["id"]
        assert sim.api("PUT", "/api/v1/apps/" + app, {"attributes": {"name": "Skewed"}})[0] == 200
        st = poll(m)
        assert ids(latest(m, "apps")["updated"], "resourceId") == [app]
        # the poll's time is the tenant's, not ours
        polled = calendar.timegm(time.strptime(st["types"]["apps"]["polled_at"][:19],
                                               "%Y-%m-%dT%H:%M:%S"))
        assert abs(polled - (time.time() + skew_ms / 1000)) < 120, st["types"]["apps"]
        poll(m)
        assert latest(m, "apps")["updated"] == []
        assert m.unmount() == 0
    finally:
        sim.stop()


def test_change_during_paging_is_reported_exactly_once(mount_factory):
    sim = Sim(args=["--users", "1500"])
    try:
        m = mount_factory(sim.url, "changes_types=users")
        poll(m)
        early = sim.api("GET", "/api/v1/users?sort=%2BcreatedAt&limit=1")[1]["data"][0]["id"]
        late = sim.api("GET", "/api/v1/users?sort=-createdAt&limit=1")[1]["data"][0]["id"]
        sim.config(latency_ms=100)  # 15 pages: about 1.5 s of paging
        n = status(m)["polls"]
        os.kill(m.proc.pid, signal.SIGUSR1)
        time.sleep(0.6)  # mid-scan: the first pages are fetched, the last not yet
        for uid, name in ((early, "Early"), (late, "Late")):
            assert sim.api("PATCH", "/api/v1/users/" + uid,
                           [{"op": "replace", "path": "/name", "value": name}])[0] == 204
        s, u = sim.api("POST", "/api/v1/users", {"subject": "paging", "name": "Paging",
                                                  "email": "p@example.com"})
        assert s == 201
        wait_for(lambda: status(m)["polls"] > n, timeout=60, what="the paged poll")
        sim.config(latency_ms=0)
        poll(m)
        poll(m)
        seen = {}
        for d in spooled(m, "users"):
            for kind in ("created", "updated"):
                for r in d[kind]:
                    seen.setdefault(r["id"], []).append(kind)
        assert seen == {early: ["updated"], late: ["updated"], u["id"]: ["created"]}, seen
    finally:
        sim.stop()


def test_deletions(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "changes_full_scan=1")
    poll(m)
    st = fresh_sim.state()
    files = [x for x in st["data_files"] if not x.get("folder") and x.get("spaceId")]
    sp = fresh_sim.api("POST", "/api/v1/spaces", {"name": "Short lived", "type": "shared"})[1]
    poll(m)
    gone = {
        "spaces": (sp["id"], "/api/v1/spaces/" + sp["id"], "id"),
        "users": (st["users"][11]["id"], "/api/v1/users/" + st["users"][11]["id"], "id"),
        "apps": (st["apps"][2]["attributes"]["id"],
                 "/api/v1/apps/" + st["apps"][2]["attributes"]["id"], "resourceId"),
        "data-files": (files[-1]["id"], "/api/v1/data-files/" + files[-1]["id"], "id"),
    }
    for t, (rid, path, field) in gone.items():
        assert fresh_sim.api("DELETE", path)[0] in (200, 204), t
    poll(m)
    for t, (rid, path, field) in gone.items():
        got = latest(m, t)
        assert ids(got["deleted"], field) == [rid], (t, got)
        assert got["created"] == [] and got["updated"] == []
    assert latest(m, "spaces")["deleted"][0]["name"] == "Short lived"
    poll(m)  # reported once
    for t in gone:
        assert latest(m, t)["deleted"] == []


def test_deletions_of_sorted_types_wait_for_a_full_scan(mount_factory):
    sim = Sim(args=["--apps", "250"])
    try:
        m = mount_factory(sim.url, "changes_types=apps", "changes_full_scan=3")
        poll(m)  # bootstrap: a full scan
        app = sim.state()["apps"][9]["attributes"]["id"]
        assert sim.api("DELETE", "/api/v1/apps/" + app)[0] == 200
        sim.reset()
        st = poll(m)  # incremental: one page, no deletion seen
        assert st["types"]["apps"]["complete"] is False
        assert latest(m, "apps")["deleted"] == []
        assert sim.routes().get("GET /api/v1/items") == 1
        poll(m)
        sim.reset()
        st = poll(m)  # the third: a full scan, and one GET to confirm
        assert st["types"]["apps"]["complete"] is True
        assert ids(latest(m, "apps")["deleted"], "resourceId") == [app]
        assert sim.routes().get("GET /api/v1/items") == 3 + 1
        assert m.unmount() == 0
    finally:
        sim.stop()


def test_request_counts_of_sorted_types(mount_factory):
    sim = Sim(args=["--apps", "2000", "--data-files", "300", "--data-stores", "250"])
    try:
        m = mount_factory(sim.url, "changes_types=apps:data-files:data-stores",
                          "changes_full_scan=0")
        sim.reset()
        poll(m)  # bootstrap: complete scans
        r = sim.routes()
        assert r["GET /api/v1/items"] == 20 and r["GET /api/v1/data-stores"] == 3
        sim.reset()
        poll(m)  # nothing changed: one page each
        assert sim.stats()["total"] == 3, sim.routes()
        st = sim.state()
        for i in range(10):
            app = st["apps"][i * 100]["attributes"]["id"]
            assert sim.api("PUT", "/api/v1/apps/" + app, {"attributes": {"description": "ten"}})[0] == 200
            ds = st["data_stores"][i * 20]["id"]
            assert sim.api("PATCH", "/api/v1/data-stores/" + ds,
                           [{"op": "replace", "path": "/description", "value": "ten"}])[0] in (200, 204)
        sim.reset()
        st = poll(m)  # ten changes each: still one page each
        assert sim.stats()["total"] == 3, sim.routes()
        assert len(latest(m, "apps")["updated"]) == 10
        assert len(latest(m, "data-stores")["updated"]) == 10
        assert st["types"]["apps"]["requests"] == 1 and st["types"]["apps"]["sorted"] is True
        # the sort is what the listing asks for
        log = [e for e in sim.log() if e["path"] == "/api/v1/items"]
        assert all("sort=-updatedAt" in e["query"] for e in log)
        assert m.unmount() == 0
    finally:
        sim.stop()


def test_polled_changes_show_in_the_mount_despite_a_long_ttl(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=600", "changes_types=users:spaces")
    poll(m)
    u = fresh_sim.state()["users"][20]
    before = [n for n in os.listdir(m.path("users")) if n.endswith("(%s).json" % u["id"])]
    assert len(before) == 1
    p = m.path("users", before[0])
    size0 = os.stat(p).st_size
    assert "Seen by the poller" not in os.listdir(m.path("spaces"))  # listed: cached
    assert fresh_sim.api("PATCH", "/api/v1/users/" + u["id"],
                         [{"op": "replace", "path": "/name", "value": "A much longer name than before"}])[0] == 204
    fresh_sim.api("POST", "/api/v1/spaces", {"name": "Seen by the poller", "type": "shared"})
    # within the TTL: the mount still serves its cache
    assert os.listdir(m.path("users")) and "Seen by the poller" not in os.listdir(m.path("spaces"))
    poll(m)
    after = [n for n in os.listdir(m.path("users")) if n.endswith("(%s).json" % u["id"])]
    assert after == ["A much longer name than before (%s).json" % u["id"]]
    raw = open(m.path("users", after[0]), "rb").read()
    assert json.loads(raw)["name"] == "A much longer name than before"
    assert os.stat(m.path("users", after[0])).st_size == len(raw) > size0
    assert before[0] not in os.listdir(m.path("users"))  # (the old name still resolves by id)
    assert "Seen by the poller" in os.listdir(m.path("spaces"))


def test_poll_interval_schedules_polls(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "poll_interval=1", "changes_types=spaces")
    wait_for(lambda: status(m)["polls"] >= 3, timeout=30, what="three scheduled polls")
    sp = fresh_sim.api("POST", "/api/v1/spaces", {"name": "Scheduled", "type": "shared"})[1]
    wait_for(lambda: any(d["created"] and d["created"][0]["id"] == sp["id"]
                         for d in spooled(m, "spaces")), timeout=30, what="the new space")
    # a read-only mount keeps polling; its spool files cannot be deleted through it
    m2 = mount_factory(fresh_sim.url, "ro", "changes_types=spaces")
    poll(m2)
    poll(m2)
    assert status(m2)["polls"] == 2


def test_bad_changes_options_are_refused(fresh_sim):
    for opt in ("changes_created=2", "changes_types=spaces:nope", "poll_interval=-1",
                "changes_full_scan=x"):
        m = Mount(fresh_sim.url, (opt,), expect_fail=True)
        assert m.proc.returncode != 0, opt
        assert "changes" in m.log() or "invalid" in m.log(), m.log()
        m.logf.close()
