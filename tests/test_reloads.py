"""Reloads as files through a real mount (docs/SEMANTICS.md "Reloads"):
starting one through reloads/new, its reload.json and growing log, the wait
file (and how often the tenant is polled while readers wait), failure,
cancel, reloads started elsewhere, and the bound on a wait.
"""
import errno
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import Mount, Sim


@pytest.fixture(scope="module")
def rsim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture
def rm(rsim):
    rsim.config(reload_delay_ms=1000)
    m = Mount(rsim.url, ("cache_ttl=300", "noqvf"))
    yield m
    assert m.unmount() == 0


def app_ids(sim):
    return sorted(a["attributes"]["id"] for a in sim.state()["apps"])


def set_script(sim, app, text):
    st, _ = sim.api("POST", "/api/v1/apps/%s/scripts" % app, {"script": text})
    assert st == 200


def start(m, what):
    """echo WHAT > reloads/new, the id read back on the same descriptor."""
    fd = os.open(m.path("reloads", "new"), os.O_RDWR)
    try:
        os.write(fd, what.encode() + b"\n")
        rid = os.read(fd, 200).decode().strip()
    finally:
        os.close(fd)
    assert rid
    return rid


def test_echo_app_id_starts_a_reload_that_succeeds(rm, rsim):
    app = app_ids(rsim)[0]
    set_script(rsim, app, "LOAD 1 AS a AUTOGENERATE 1;\nLOAD 2 AS b AUTOGENERATE 1;\n")
    rsim.reset()
    subprocess.run(["sh", "-c", "echo %s > '%s'" % (app, rm.path("reloads", "new"))], check=True)
    assert rsim.routes().get("POST /api/v1/reloads") == 1
    rid = os.getxattr(rm.path("reloads", "new"), "user.qlik.id").decode()
    assert rid in os.listdir(rm.path("reloads"))
    assert sorted(os.listdir(rm.path("reloads", rid))) == ["cancel", "log", "reload.json", "wait"]
    doc = json.load(open(rm.path("reloads", rid, "reload.json")))
    assert doc["id"] == rid and doc["appId"] == app and doc["status"] in ("QUEUED", "RELOADING")
    assert "log" not in doc
    t0 = time.monotonic()
    assert open(rm.path("reloads", rid, "wait")).read() == "SUCCEEDED\n"
    assert time.monotonic() - t0 < 10
    doc = json.load(open(rm.path("reloads", rid, "reload.json")))
    assert doc["status"] == "SUCCEEDED" and doc["endTime"]
    log = open(rm.path("reloads", rid, "log")).read()
    assert "LOAD 2 AS b" in log and "Execution finished." in log
    assert os.stat(rm.path("reloads", rid, "log")).st_size == len(log.encode())
    # the app shows its reload time
    st, a = rsim.api("GET", "/api/v1/apps/" + app)
    assert a["attributes"]["lastReloadTime"] == doc["endTime"]


def test_app_file_name_and_json_body(rm, rsim):
    app = app_ids(rsim)[1]
    name = [n for n in os.listdir(rm.path("apps"))
            if os.getxattr(rm.path("apps", n), "user.qlik.id").decode() == app][0]
    rid = start(rm, "apps/" + name)
    assert json.load(open(rm.path("reloads", rid, "reload.json")))["appId"] == app
    rid2 = start(rm, json.dumps({"appId": app, "partial": True, "variables": {"v": "1"}}))
    doc = json.load(open(rm.path("reloads", rid2, "reload.json")))
    assert doc["partial"] is True and doc["appId"] == app
    body = [e for e in rsim.log() if e["method"] == "POST" and e["path"] == "/api/v1/reloads"][-1]
    assert json.loads(body["body"]) == {"appId": app, "partial": True, "variables": {"v": "1"}}
    # nonsense is refused before anything is sent
    rsim.reset()
    fd = os.open(rm.path("reloads", "new"), os.O_WRONLY)
    os.write(fd, b"two\nlines\n")
    with pytest.raises(OSError) as e:
        os.close(fd)
    assert e.value.errno == errno.EINVAL
    assert rsim.routes().get("POST /api/v1/reloads") is None
    # an unknown app: the tenant's 404
    fd = os.open(rm.path("reloads", "new"), os.O_WRONLY)
    os.write(fd, b"00000000-0000-0000-0000-000000000000\n")
    with pytest.raises(OSError) as e:
        os.close(fd)
    assert e.value.errno == errno.ENOENT


def test_failed_reload_and_its_log(rm, rsim):
    app = app_ids(rsim)[2]
    set_script(rsim, app, "LOAD 1 AS a AUTOGENERATE 1; //FAIL\n")
    rid = start(rm, app)
    assert open(rm.path("reloads", rid, "wait")).read() == "FAILED\n"
    doc = json.load(open(rm.path("reloads", rid, "reload.json")))
    assert doc["status"] == "FAILED" and doc["errorCode"] and doc["errorMessage"]
    assert "Error:" in open(rm.path("reloads", rid, "log")).read()


def test_many_waiters_poll_at_a_bounded_rate(rm, rsim):
    """Eight readers of wait over about 4 s: about one GET per second, not
    eight."""
    app = app_ids(rsim)[3]
    set_script(rsim, app, "LOAD 1 AS a AUTOGENERATE 1;\n")
    rsim.config(reload_delay_ms=2000)
    try:
        rid = start(rm, app)
        rsim.reset()
        out = []

        def reader():
            out.append(open(rm.path("reloads", rid, "wait")).read())

        th = [threading.Thread(target=reader) for _ in range(8)]
        t0 = time.monotonic()
        for t in th:
            t.start()
        time.sleep(0.7)
        # a ninth reader is refused (each holds a FUSE thread); the mount answers
        with pytest.raises(OSError) as e:
            open(rm.path("reloads", rid, "wait")).read()
        assert e.value.errno == errno.EBUSY
        assert os.listdir(rm.path("apps"))
        for t in th:
            t.join(30)
        took = time.monotonic() - t0
        assert out == ["SUCCEEDED\n"] * 8
        gets = rsim.routes().get("GET /api/v1/reloads/{id}", 0)
        print("8 waiters for %.1f s: %d GETs" % (took, gets))
        assert gets <= took + 2, (gets, took)
    finally:
        rsim.config(reload_delay_ms=1000)


def test_log_grows_while_it_runs(rm, rsim):
    app = app_ids(rsim)[4]
    set_script(rsim, app, "".join("LOAD %d AS c%d AUTOGENERATE 1;\n" % (i, i) for i in range(40)))
    rsim.config(reload_delay_ms=3000)
    try:
        rid = start(rm, app)
        p = rm.path("reloads", rid, "log")
        sizes = []
        for _ in range(14):
            data = open(p, "rb").read()
            sizes.append(len(data))
            time.sleep(0.5)
        assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
        assert open(rm.path("reloads", rid, "wait")).read() == "SUCCEEDED\n"
    finally:
        rsim.config(reload_delay_ms=1000)


def test_cancel_by_file_and_by_rm(rm, rsim):
    app = app_ids(rsim)[5]
    set_script(rsim, app, "LOAD 1 AS a AUTOGENERATE 1;\n")
    rsim.config(reload_delay_ms=5000)
    try:
        rid = start(rm, app)
        with open(rm.path("reloads", rid, "cancel"), "w") as f:
            f.write("1\n")
        assert open(rm.path("reloads", rid, "wait")).read() == "CANCELED\n"
        rid2 = start(rm, app)
        subprocess.run(["rm", "-r", rm.path("reloads", rid2)], check=True)
        st, r = rsim.api("GET", "/api/v1/reloads/" + rid2)
        assert r["status"] == "CANCELED"
        assert open(rm.path("reloads", rid2, "wait")).read() == "CANCELED\n"
    finally:
        rsim.config(reload_delay_ms=1000)


def test_reloads_started_elsewhere_are_listed(rm, rsim):
    """The tenant-wide listing (the caller is a tenant admin): one request."""
    app = app_ids(rsim)[6]
    st, r = rsim.api("POST", "/api/v1/reloads", {"appId": app})
    assert st == 201
    m = Mount(rsim.url, ("noqvf",))
    try:
        rsim.reset()
        names = os.listdir(m.path("reloads"))
        assert r["id"] in names and "new" in names
        assert rsim.routes().get("GET /api/v1/reloads") == 1
        assert open(m.path("reloads", r["id"], "wait")).read() == "SUCCEEDED\n"
    finally:
        assert m.unmount() == 0


def test_wait_is_bounded_by_reload_wait(rsim):
    app = app_ids(rsim)[7]
    rsim.config(reload_delay_ms=60000)
    m = Mount(rsim.url, ("noqvf", "reload_wait=2"))
    try:
        rid = start(m, app)
        t0 = time.monotonic()
        with pytest.raises(OSError) as e:
            open(m.path("reloads", rid, "wait")).read()
        assert e.value.errno == errno.ETIMEDOUT
        assert 1.5 < time.monotonic() - t0 < 10
        with open(m.path("reloads", rid, "cancel"), "w") as f:
            f.write("1")
    finally:
        rsim.config(reload_delay_ms=1000)
        assert m.unmount() == 0


def test_changes_report_script_saves_and_finished_reloads(rsim, mount_factory):
    """changes/apps.json: a script saved through the mount and a reload that
    ended are updates of the app (both move the app's catalogue item)."""
    from test_changes import latest, poll
    m = mount_factory(rsim.url, "changes_types=apps", "noqvf")
    poll(m)
    time.sleep(1.1)  # the catalogue's times have whole seconds
    app = app_ids(rsim)[8]
    p = [os.path.join(m.path("scripts"), n) for n in os.listdir(m.path("scripts"))
         if os.getxattr(m.path("scripts", n), "user.qlik.id").decode() == app][0]
    with open(p, "a") as f:
        f.write("// saved\n")
    poll(m)
    assert [r["resourceId"] for r in latest(m, "apps")["updated"]] == [app]
    time.sleep(1.1)
    rid = start(m, app)
    assert open(m.path("reloads", rid, "wait")).read() == "SUCCEEDED\n"
    poll(m)
    upd = latest(m, "apps")["updated"]
    assert [r["resourceId"] for r in upd] == [app]
    assert upd[0]["resourceReloadEndTime"]


# ---- reloads/by-app/ and remembered reloads: a caller who is not a tenant admin

PLAIN_KEY = "plain-user-key-0123456789"


def plain_user_key(sim):
    """An API key of an active user without TenantAdmin: the API refuses
    them GET /api/v1/reloads without appId."""
    u = next(u for u in sim.state()["users"]
             if u.get("status") == "active" and
             not any(r["name"] == "TenantAdmin" for r in u["assignedRoles"]))
    sim.ctl("POST", "api-keys", {"key": PLAIN_KEY, "user": u["id"]})
    return PLAIN_KEY


def app_entries(m):
    """apps/ entry name -> app id, as the mount shows them."""
    return {n: os.getxattr(m.path("apps", n), "user.qlik.id").decode()
            for n in sorted(os.listdir(m.path("apps")))}


def tenant_wide(sim):
    """The tenant-wide listings the simulator was asked for: (status, query)."""
    return [(e["status"], e["query"]) for e in sim.log()
            if e["method"] == "GET" and e["path"] == "/api/v1/reloads" and
            "appId=" not in (e["query"] or "")]


def test_by_app_lists_each_apps_reloads_for_a_non_admin():
    """reloads/by-app/<app>/ lists the app's reloads with GET
    /api/v1/reloads?appId= (100 a page): 150 reloads cost 2 requests, once
    per TTL; by-app/ is not listed in reloads/, so a walk never enters it."""
    s = Sim()
    m = None
    try:
        s.config(reload_delay_ms=0)
        key = plain_user_key(s)
        m = Mount(s.url, ("cache_ttl=300", "noqvf"), key=key)
        apps = app_entries(m)
        name, app = next(iter(apps.items()))
        other = [a for a in apps.values() if a != app][0]
        ids = set()
        for _ in range(150):
            st, r = s.api("POST", "/api/v1/reloads", {"appId": app})
            assert st == 201
            ids.add(r["id"])
        st, r = s.api("POST", "/api/v1/reloads", {"appId": other})
        elsewhere = r["id"]
        s.reset()
        # reloads/: the tenant-wide listing is refused once and never asked again
        assert os.listdir(m.path("reloads")) == ["new"]
        assert [st for st, _ in tenant_wide(s)] == [400]
        d = name[:-len(".json")]
        assert sorted(os.listdir(m.path("reloads", "by-app"))) == \
            sorted(n[:-len(".json")] for n in apps)
        assert os.getxattr(m.path("reloads", "by-app", d), "user.qlik.id").decode() == app
        assert s.total() == 1  # apps/ was fresh: nothing more
        s.reset()
        out = subprocess.run(["ls", "-l", m.path("reloads", "by-app", d)], check=True,
                             capture_output=True, text=True).stdout
        listed = set(os.listdir(m.path("reloads", "by-app", d)))
        assert listed == ids and len(out.splitlines()) == 151  # "total" and 150 entries
        log = s.log()
        assert s.routes() == {"GET /api/v1/reloads": 2}, s.routes()
        assert all("appId=" + app in e["query"] and "limit=100" in e["query"] for e in log)
        print("ls -l of an app's 150 reloads: %d requests" % len(log))
        # its reloads' files, as in reloads/: one GET, then nothing (ended)
        rid = sorted(ids)[0]
        doc = json.load(open(m.path("reloads", "by-app", d, rid, "reload.json")))
        assert doc["id"] == rid and doc["appId"] == app and doc["status"] == "SUCCEEDED"
        assert "Execution finished." in open(m.path("reloads", "by-app", d, rid, "log")).read()
        assert s.routes() == {"GET /api/v1/reloads": 2, "GET /api/v1/reloads/{id}": 1}
        # within the TTL nothing is asked again; the other app's reload is its own
        s.reset()
        assert set(os.listdir(m.path("reloads", "by-app", d))) == ids
        assert s.total() == 0
        o = [n for n, a in apps.items() if a == other][0][:-len(".json")]
        assert os.listdir(m.path("reloads", "by-app", o)) == [elsewhere]
        # a walk of reloads/ (and of the mount) does not enter by-app/
        s.reset()
        walked = [r for r, _, _ in os.walk(m.path("reloads"))]
        assert walked == [m.path("reloads")] and s.total() == 0
        # a renamed app's directory follows it (the same directory); rmdir of
        # an app's directory is refused
        ino = os.stat(m.path("reloads", "by-app", d)).st_ino
        os.rename(m.path("apps", name), m.path("apps", "Renamed (%s).json" % app))
        assert os.stat(m.path("reloads", "by-app", "Renamed (%s)" % app)).st_ino == ino
        assert not os.path.exists(m.path("reloads", "by-app", d))
        with pytest.raises(OSError) as e:
            os.rmdir(m.path("reloads", "by-app", "Renamed (%s)" % app))
        assert e.value.errno == errno.EPERM
    finally:
        if m:
            assert m.unmount() == 0
        s.stop()


def test_reloads_started_by_a_non_admin_survive_a_remount(rsim, tmp_path):
    """A reload started through reloads/new is remembered in the state
    directory (reloads.json, 0600): the next mount with that state directory
    shows it in reloads/, though the caller may not list the tenant's."""
    key = plain_user_key(rsim)
    state = str(tmp_path / "state")
    m = Mount(rsim.url, ("noqvf", "state_dir=" + state), key=key)
    try:
        app = next(iter(app_entries(m).values()))
        rid = start(m, app)
        assert open(m.path("reloads", rid, "wait")).read() == "SUCCEEDED\n"
    finally:
        assert m.unmount() == 0
    reg = os.path.join(state, "reloads.json")
    assert os.stat(reg).st_mode & 0o777 == 0o600
    assert [(e["id"], e["appId"]) for e in json.load(open(reg))["reloads"]] == [(rid, app)]
    m = Mount(rsim.url, ("noqvf", "state_dir=" + state), key=key)
    try:
        rsim.reset()
        assert sorted(os.listdir(m.path("reloads"))) == sorted(["new", rid])
        assert [st for st, _ in tenant_wide(rsim)] == [400]  # not from the tenant's listing
        doc = json.load(open(m.path("reloads", rid, "reload.json")))
        assert doc["id"] == rid and doc["appId"] == app and doc["status"] == "SUCCEEDED"
        assert "Execution finished." in open(m.path("reloads", rid, "log")).read()
        assert open(m.path("reloads", rid, "wait")).read() == "SUCCEEDED\n"
        # and by its app, from the same state: no second GET of an ended reload
        name = [n for n, a in app_entries(m).items() if a == app][0][:-len(".json")]
        rsim.reset()
        assert rid in os.listdir(m.path("reloads", "by-app", name))
        assert open(m.path("reloads", "by-app", name, rid, "wait")).read() == "SUCCEEDED\n"
        assert "GET /api/v1/reloads/{id}" not in rsim.routes()
    finally:
        assert m.unmount() == 0


def test_a_registry_that_is_not_one_is_left_untouched(rsim, tmp_path):
    """reloads.json that does not parse: reloads/ is listed without the
    remembered reloads (user.qlik.error says why), a reload still starts,
    the failure to remember it is in .errors, and the file is not rewritten."""
    state = str(tmp_path / "state")
    os.makedirs(state, mode=0o700)
    tdir = state
    with open(os.path.join(tdir, "reloads.json"), "w") as f:
        f.write("not json\n")
    m = Mount(rsim.url, ("noqvf", "state_dir=" + state))
    try:
        assert "new" in os.listdir(m.path("reloads"))
        why = os.getxattr(m.path("reloads"), "user.qlik.error").decode()
        assert "reloads.json" in why and "left untouched" in why
        rid = start(m, app_ids(rsim)[9])
        assert rid in os.listdir(m.path("reloads"))
        errs = open(m.path(".errors")).read()
        assert rid in errs and "later mount will not show it" in errs
        assert "later mount will not show it" in m.log()
        assert open(os.path.join(tdir, "reloads.json")).read() == "not json\n"
        with open(m.path("reloads", rid, "cancel"), "w") as f:
            f.write("1")
    finally:
        assert m.unmount() == 0



def _list_at_once(path, n=8):
    """n threads list path at once: {i: names or None}, {i: errno}, {i: seconds}."""
    out, errs, took = {}, {}, {}

    def lister(i):
        t0 = time.monotonic()
        try:
            out[i] = sorted(os.listdir(path))
            errs[i] = 0
        except OSError as e:
            errs[i] = e.errno
        took[i] = time.monotonic() - t0

    th = [threading.Thread(target=lister, args=(i,)) for i in range(n)]
    for t in th:
        t.start()
    for t in th:
        t.join(60)
    assert len(took) == n
    return out, errs, took


@pytest.mark.parametrize("stall", [False, True], ids=["latency", "stall"])
def test_waiters_on_an_apps_reloads_listing_share_it_within_their_deadline(rsim, stall):
    """Eight concurrent listers of reloads/by-app/<app>/ cost one listing; when
    the tenant stalls, each fails with EIO within its own timeout (the
    waiters share the leader's failure instead of asking again, each with a
    fresh timeout), and once the tenant is back the next listing succeeds."""
    timeout = 2
    m = Mount(rsim.url, ("cache_ttl=300", "noqvf", "timeout=%d" % timeout))
    try:
        d = sorted(os.listdir(m.path("apps")))[0][:-len(".json")]
        assert d in os.listdir(m.path("reloads", "by-app"))
        rsim.reset()
        if stall:
            rsim.faults(mode="stall", stall_ms=60000, count=1000, match="GET /api/v1/reloads")
        else:
            rsim.config(latency_ms=500)
        out, errs, took = _list_at_once(m.path("reloads", "by-app", d))
        rsim.faults(clear=True)
        rsim.config(latency_ms=0)
        print("took", sorted(took.values()), "routes", rsim.routes())
        if stall:
            assert set(errs.values()) == {errno.EIO}, errs
            # one deadline each: not timeout, then 2 x timeout
            assert max(took.values()) < timeout + 1.5, sorted(took.values())
            assert os.listdir(m.path("reloads", "by-app", d)) is not None
        else:
            assert set(errs.values()) == {0}, errs
            assert len({tuple(v) for v in out.values()}) == 1
            assert rsim.routes() == {"GET /api/v1/reloads": 1}, rsim.routes()
    finally:
        rsim.faults(clear=True)
        rsim.config(latency_ms=0)
        assert m.unmount() == 0
