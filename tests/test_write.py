"""Writes through the real mount: every way people and tools write files,
create, rename, move, delete, errors and lost-update protection.  Each test
asserts the exact requests the simulator received (method, path, body) and
the tenant's resulting state."""
import errno
import glob
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import wait_for


@pytest.fixture
def wm(fresh_sim, mount_factory):
    """A fresh tenant and a mount with a long cache TTL."""
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    return fresh_sim, m


def changes(sim):
    """The non-GET requests the tenant received, as (method, path, body)."""
    out = []
    for r in sim.log():
        if r["method"] == "GET":
            continue
        body = r.get("body")
        try:
            body = json.loads(body) if body else None
        except ValueError:
            pass
        out.append((r["method"], r["path"], body))
    return out


def space(sim, name):
    return next(s for s in sim.state()["spaces"] if s["name"] == name)


def app_named(sim, name):
    return [a["attributes"] for a in sim.state()["apps"] if a["attributes"]["name"] == name]


def app_file(m, name, d="apps"):
    hits = [f for f in os.listdir(m.path(d)) if f.startswith(name + " (")]
    assert len(hits) == 1, hits
    return m.path(d, hits[0])


def user(sim, uid):
    return next(u for u in sim.state()["users"] if u["id"] == uid)


def no_leftovers(m, d):
    left = [f for f in os.listdir(m.path(d))
            if not (f.endswith(".json") or f.endswith(")") or f == ".qvf")]
    assert left == [], left


# ---- update: every way people write files ----

def test_cp_backup_restores_writable_fields_only(wm, tmp_path):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    backup = tmp_path / "space.json"
    shutil.copy(p, backup)
    sid = space(sim, "Finance")["id"]
    sim.api("PATCH", "/api/v1/spaces/" + sid,
            [{"op": "replace", "path": "/description", "value": "vandalised"}])
    sim.reset()
    subprocess.run(["cp", str(backup), p], check=True)
    # only the changed writable field went out; ids/timestamps/meta were ignored
    assert [c for c in changes(sim)] == [("PATCH", "/api/v1/spaces/" + sid,
                             [{"op": "replace", "path": "/description",
                               "value": "Finance team content"}])]
    assert space(sim, "Finance")["description"] == "Finance team content"
    now = open(p).read()
    assert json.loads(now)["updatedAt"] == space(sim, "Finance")["updatedAt"]
    assert os.stat(p).st_size == len(now.encode())


def test_unchanged_content_sends_nothing(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    data = open(p, "rb").read()
    sim.reset()
    with open(p, "wb") as f:
        f.write(data)
    compact = json.dumps(json.loads(data))
    with open(p, "w") as f:
        f.write(compact)
    assert changes(sim) == []
    assert open(p, "rb").read() == data


def test_shell_redirect_and_append(wm):
    sim, m = wm
    p = app_file(m, "Budget draft")
    app_id = json.load(open(p))["resourceId"]
    sim.reset()
    subprocess.run(["sh", "-c", 'printf \'{"description": "from the shell"}\' > "$1"', "sh", p],
                   check=True)
    assert changes(sim) == [("PUT", "/api/v1/apps/" + app_id,
                             {"attributes": {"description": "from the shell"}})]
    assert json.load(open(p))["description"] == "from the shell"
    sim.reset()
    subprocess.run(["sh", "-c", 'echo >> "$1"', "sh", p], check=True)  # whitespace only
    assert changes(sim) == []


def test_truncate_write_and_random_writes(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    sid = space(sim, "Finance")["id"]
    text = open(p).read()
    old = json.loads(text)["description"]
    new = old.upper()
    assert len(new.encode()) == len(old.encode()) and new != old
    sim.reset()
    with open(p, "r+b") as f:  # random write in place, same length
        off = text.encode().index(json.dumps(old).encode())
        f.seek(off)
        f.write(json.dumps(new).encode())
    assert changes(sim) == [("PATCH", "/api/v1/spaces/" + sid,
                             [{"op": "replace", "path": "/description", "value": new}])]
    sim.reset()
    with open(p, "r+") as f:  # truncate + write
        d = json.load(f)
        d["description"] = "truncated and rewritten"
        f.seek(0)
        f.truncate()
        json.dump(d, f)
    assert space(sim, "Finance")["description"] == "truncated and rewritten"
    assert [c[0] for c in changes(sim)] == ["PATCH"]


def test_python_json_dump(wm):
    sim, m = wm
    p = app_file(m, "Budget draft")
    d = json.load(open(p))
    d["name"] = "Budget 2027"
    sim.reset()
    json.dump(d, open(p, "w"))  # closed by the garbage collector
    time.sleep(0.2)
    assert app_named(sim, "Budget 2027")
    assert changes(sim) == [("PUT", "/api/v1/apps/" + d["resourceId"],
                             {"attributes": {"name": "Budget 2027"}})]
    assert app_file(m, "Budget 2027")


def test_sed_in_place(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    sid = space(sim, "Finance")["id"]
    sim.reset()
    subprocess.run(["sed", "-i", "s/Finance team content/edited by sed/", p], check=True)
    assert changes(sim) == [("PATCH", "/api/v1/spaces/" + sid,
                             [{"op": "replace", "path": "/description", "value": "edited by sed"}])]
    assert json.load(open(p))["description"] == "edited by sed"
    assert sorted(os.listdir(m.path("spaces", "Finance"))) == ["apps", "data-files", "data-stores", "scripts", "space.json"]


def test_jq_then_mv_in_the_same_directory(wm):
    sim, m = wm
    p = app_file(m, "Budget draft")
    t = m.path("apps", "t")
    sim.reset()
    subprocess.run(["sh", "-c", 'jq \'.description = "via jq"\' "$1" > "$2" && mv "$2" "$1"',
                    "sh", p, t], check=True)
    app_id = json.load(open(p))["resourceId"]
    assert changes(sim) == [("PUT", "/api/v1/apps/" + app_id,
                             {"attributes": {"description": "via jq"}})]
    assert not os.path.exists(t)
    no_leftovers(m, "apps")


@pytest.fixture
def wd(fresh_sim, mount_factory):
    """A fresh tenant and a mount at the default delete_delay (2 s)."""
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "delete_delay=2")
    return fresh_sim, m


@pytest.mark.parametrize("kind", ["app", "data-file"])
def test_jq_to_a_temp_file_elsewhere_then_mv(wd, tmp_path, kind):
    """`jq ... f > /tmp/t && mv /tmp/t f`: mv cannot rename across
    filesystems, so it unlinks f and creates it anew with O_EXCL.  The
    unlink's DELETE waits delete_delay; the create takes the resource back and
    the content becomes an update (before, the app was deleted and an empty one
    created; a data file was lost)."""
    sim, m = wd
    if kind == "app":
        p = app_file(m, "Budget draft")
    else:
        p = m.path("data-files", "customers.csv.json")
    d = json.load(open(p))
    rid = d["resourceId"] if kind == "app" else d["id"]
    field = "description" if kind == "app" else "name"
    d[field] = "via a temp file elsewhere" if kind == "app" else "customers-renamed.csv"
    t = tmp_path / "t"
    t.write_text(json.dumps(d))
    sim.reset()
    subprocess.run(["mv", str(t), p], check=True)
    time.sleep(2.5)  # past the delay: nothing more is sent
    sent = changes(sim)
    assert not [c for c in sent if c[0] in ("DELETE", "POST")], sent
    if kind == "app":
        assert sent == [("PUT", "/api/v1/apps/" + rid,
                         {"attributes": {"description": "via a temp file elsewhere"}})]
        assert json.load(open(p))["description"] == "via a temp file elsewhere"
    else:
        assert [c[:2] for c in sent] == [("PUT", "/api/v1/data-files/" + rid)], sent
        assert [f for f in sim.state()["data_files"] if f["id"] == rid][0]["name"] == \
            "customers-renamed.csv"


def test_rm_of_a_resource_file_is_sent_after_the_delay(wd):
    sim, m = wd
    p = app_file(m, "Budget draft")
    app_id = json.load(open(p))["resourceId"]
    sim.reset()
    os.unlink(p)
    # gone from every view at once ...
    assert not os.path.exists(p)
    assert not [f for f in os.listdir(m.path("apps")) if app_id in f]
    for sp in os.listdir(m.path("spaces")):
        assert not [f for f in os.listdir(m.path("spaces", sp, "apps")) if app_id in f]
    assert changes(sim) == []
    # ... and deleted on the tenant after the delay (the trash keeps its export first)
    delete = ("DELETE", "/api/v1/apps/" + app_id, None)
    wait_for(lambda: delete in changes(sim), timeout=5, what="the DELETE")
    assert changes(sim) == [("POST", "/api/v1/apps/%s/export" % app_id, None), delete]
    assert app_id not in [a["attributes"]["id"] for a in sim.state()["apps"]]


def test_a_failed_delayed_delete_is_reported_and_the_file_returns(wd):
    sim, m = wd
    p = app_file(m, "Budget draft")
    name = os.path.basename(p)
    sim.faults(mode="status", status=403, count=10, match="DELETE /api/v1/apps")
    os.unlink(p)
    assert not os.path.exists(p)
    wait_for(lambda: "unlink apps/" + name in m.log(), timeout=8, what="the failure in the log")
    wait_for(lambda: "unlink\tapps/" + name in open(m.path(".errors")).read(), timeout=5,
             what="the failure in .errors")
    sim.faults(clear=True)
    assert os.path.exists(p)  # the next listing shows it again


def test_unmount_sends_the_deletes_still_waiting(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "delete_delay=60")
    p = app_file(m, "Budget draft")
    app_id = json.load(open(p))["resourceId"]
    os.unlink(p)
    assert app_id in [a["attributes"]["id"] for a in fresh_sim.state()["apps"]]
    assert m.unmount() == 0
    assert app_id not in [a["attributes"]["id"] for a in fresh_sim.state()["apps"]]


def test_vim_default_settings(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    sid = space(sim, "Finance")["id"]
    sim.reset()
    r = subprocess.run(["vim", "-u", "DEFAULTS", "-i", "NONE", "-n", "-es",
                        "-c", "%s/Finance team content/edited in vim/", "-c", "wq", p],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r
    assert changes(sim) == [("PATCH", "/api/v1/spaces/" + sid,
                             [{"op": "replace", "path": "/description", "value": "edited in vim"}])]
    assert sorted(os.listdir(m.path("spaces", "Finance"))) == ["apps", "data-files", "data-stores", "scripts", "space.json"]


def test_vim_with_swap_and_backup_files(wm):
    """vim's 4913 probe, .swp file and backup-and-rename save (writebackup)."""
    sim, m = wm
    p = app_file(m, "Budget draft")
    app_id = json.load(open(p))["resourceId"]
    sim.reset()
    r = subprocess.run(["vim", "-u", "NONE", "-i", "NONE", "-es",
                        "-c", "set nocompatible swapfile writebackup backupcopy=auto",
                        "-c", "%s/Seeded demo app/vim with backup/", "-c", "wq", p],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r
    assert changes(sim) == [("PUT", "/api/v1/apps/" + app_id,
                             {"attributes": {"description": "vim with backup"}})]
    assert json.load(open(p))["description"] == "vim with backup"
    no_leftovers(m, "apps")


def test_rsync_over_a_resource_file(wm, tmp_path):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    d = json.load(open(p))
    d["description"] = "via rsync"
    src = tmp_path / "space.json"
    src.write_text(json.dumps(d, indent=2))
    sim.reset()
    subprocess.run(["rsync", "-a", str(src), p], check=True)
    assert [(c[0], c[2]) for c in changes(sim)] == [
        ("PATCH", [{"op": "replace", "path": "/description", "value": "via rsync"}])]
    assert sorted(os.listdir(m.path("spaces", "Finance"))) == ["apps", "data-files", "data-stores", "scripts", "space.json"]


def test_renaming_a_resource_to_a_temp_name_keeps_the_resource(wm):
    sim, m = wm
    p = app_file(m, "Budget draft")
    before = open(p).read()
    sim.reset()
    os.rename(p, p + "~")
    assert changes(sim) == []
    assert open(p + "~").read() == before
    assert open(p).read() == before  # the resource is still there
    os.unlink(p + "~")
    assert changes(sim) == []
    assert app_named(sim, "Budget draft")


def test_temp_files_never_reach_the_server(wm):
    sim, m = wm
    sim.reset()
    for name in ["4913", ".x.json.swp", "x.json~", "sedAb12Cd", ".x.json.Xy12Zq", "#x#", "t"]:
        p = m.path("apps", name)
        with open(p, "w") as f:
            f.write('{"name": "should never exist"}')
        assert open(p).read() == '{"name": "should never exist"}'
        os.unlink(p)
    assert changes(sim) == []
    assert not app_named(sim, "should never exist")


def test_user_patch_and_data_store_versioned_patch(wm):
    sim, m = wm
    uid = sim.state()["users"][5]["id"]
    p = next(f for f in glob.glob(m.path("users", "*.json")) if uid in f)
    d = json.load(open(p))
    d["status"] = "disabled"
    sim.reset()
    json.dump(d, open(p, "w"))
    time.sleep(0.2)
    assert changes(sim) == [("PATCH", "/api/v1/users/" + uid,
                             [{"op": "replace", "path": "/status", "value": "disabled"}])]
    assert user(sim, uid)["status"] == "disabled"
    assert json.load(open(p))["status"] == "disabled"

    store = next(s for s in sim.state()["data_stores"] if s["name"] == "DataFilesStore")
    sp = glob.glob(m.path("data-stores", "DataFilesStore (*)", "data-store.json"))[0]
    d = json.load(open(sp))
    d["description"] = "versioned"
    sim.reset()
    with open(sp, "w") as f:
        json.dump(d, f)
    assert changes(sim) == [("PATCH", "/api/v1/data-stores/" + store["id"],
                             [{"op": "test", "path": "/version", "value": store["version"]},
                              {"op": "replace", "path": "/description", "value": "versioned"}])]
    assert json.load(open(sp))["version"] == store["version"] + 1


# ---- lost updates ----

def test_stale_update_is_refused_with_estale(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    sid = space(sim, "Finance")["id"]
    f = open(p, "r+")
    d = json.load(f)
    # someone else changes the space between open and close
    time.sleep(0.01)
    sim.api("PATCH", "/api/v1/spaces/" + sid,
            [{"op": "replace", "path": "/description", "value": "their change"}])
    d["description"] = "my change"
    f.seek(0)
    f.truncate()
    json.dump(d, f)
    sim.reset()
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.ESTALE
    assert [c[0] for c in changes(sim)] == []  # nothing was overwritten
    assert space(sim, "Finance")["description"] == "their change"
    rej = p + ".rejected"
    assert json.load(open(rej))["description"] == "my change"
    why = os.getxattr(rej, "user.qlik.error").decode()
    assert "changed on the server" in why
    assert "changed on the server" in m.log()
    os.unlink(rej)
    assert not os.path.exists(rej)


def test_stale_app_update_within_one_second_is_refused(wm):
    """An item's updatedAt has whole seconds: two changes in one second must
    still be told apart (the app's own modifiedDate has milliseconds)."""
    sim, m = wm
    same_second = 0
    for i in range(3):
        p = app_file(m, "Budget draft")
        app_id = json.load(open(p))["resourceId"]
        with open(p, "r+") as f:  # our own change: updatedAt is now this second
            d = json.load(f)
            d["description"] = "ours %d" % i
            f.seek(0)
            f.truncate()
            json.dump(d, f)
        before = [it for it in sim.state()["items"] if it["resourceId"] == app_id][0]
        f = open(p, "r+")
        d = json.load(f)
        sim.api("PUT", "/api/v1/apps/" + app_id, {"attributes": {"description": "theirs %d" % i}})
        after = [it for it in sim.state()["items"] if it["resourceId"] == app_id][0]
        same_second += before["updatedAt"] == after["updatedAt"]
        d["description"] = "mine %d" % i
        f.seek(0)
        f.truncate()
        json.dump(d, f)
        with pytest.raises(OSError) as e:
            f.close()
        assert e.value.errno == errno.ESTALE
        assert app_named(sim, "Budget draft")[0]["description"] == "theirs %d" % i
        os.unlink(p + ".rejected")
    assert same_second  # the case the test is about happened at least once


def test_stale_versioned_update_is_refused(wm):
    sim, m = wm
    store = next(s for s in sim.state()["data_stores"] if s["name"] == "DataFilesStore")
    sp = glob.glob(m.path("data-stores", "DataFilesStore (*)", "data-store.json"))[0]
    f = open(sp, "r+")
    d = json.load(f)
    sim.api("PATCH", "/api/v1/data-stores/" + store["id"],
            [{"op": "replace", "path": "/description", "value": "theirs"}])
    d["description"] = "mine"
    f.seek(0)
    f.truncate()
    json.dump(d, f)
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.ESTALE
    after = next(s for s in sim.state()["data_stores"] if s["id"] == store["id"])
    assert after["description"] == "theirs"


def test_concurrent_writers_one_wins_the_other_is_stale(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    a = open(p, "r+")
    b = open(p, "r+")
    da, db = json.load(a), json.load(b)
    for f, d, v in ((a, da, "writer A"), (b, db, "writer B")):
        d["description"] = v
        f.seek(0)
        f.truncate()
        json.dump(d, f)
    a.close()
    with pytest.raises(OSError) as e:
        b.close()
    assert e.value.errno == errno.ESTALE
    assert space(sim, "Finance")["description"] == "writer A"


def test_many_threads_writing_one_file_never_mix(wm):
    sim, m = wm
    p = m.path("spaces", "Marketing", "space.json")
    results = []

    def writer(i):
        try:
            with open(p, "r+") as f:
                d = json.load(f)
                d["description"] = "thread %d" % i
                f.seek(0)
                f.truncate()
                json.dump(d, f)
            results.append(("ok", i))
        except OSError as e:
            results.append((e.errno, i))

    ts = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    oks = [i for r, i in results if r == "ok"]
    assert oks and all(r in ("ok", errno.ESTALE) for r, _ in results)
    assert space(sim, "Marketing")["description"] in ["thread %d" % i for i in oks]
    json.load(open(p))  # still valid JSON


# ---- errors lose nothing ----

def test_invalid_json_is_einval_and_kept(wm):
    sim, m = wm
    p = app_file(m, "Budget draft")
    before = open(p).read()
    sim.reset()
    with pytest.raises(OSError) as e:
        with open(p, "w") as f:
            f.write('{"name": "broken",')
    assert e.value.errno == errno.EINVAL
    assert changes(sim) == []
    assert open(p).read() == before
    assert open(p + ".rejected").read() == '{"name": "broken",'
    assert "invalid JSON" in os.getxattr(p + ".rejected", "user.qlik.error").decode()
    assert "invalid JSON" in os.getxattr(p, "user.qlik.error").decode()
    assert "invalid JSON" in m.log()


def test_rejected_name_and_name_clash(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    d = json.load(open(p))
    d["name"] = "bad*name"
    with pytest.raises(OSError) as e:
        with open(p, "w") as f:
            json.dump(d, f)
    assert e.value.errno == errno.EINVAL
    d["name"] = "Marketing"
    with pytest.raises(OSError) as e:
        with open(p, "w") as f:
            json.dump(d, f)
    assert e.value.errno == errno.EEXIST
    assert space(sim, "Finance")
    with pytest.raises(OSError) as e:
        os.mkdir(m.path("spaces", "Marketing"))
    assert e.value.errno == errno.EEXIST


def test_forbidden_change_is_eacces(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    d = json.load(open(p))
    d["description"] = "forbidden"
    sim.faults(mode="status", status=403, count=1, match="PATCH /api/v1/spaces")
    with pytest.raises(OSError) as e:
        with open(p, "w") as f:
            json.dump(d, f)
    assert e.value.errno == errno.EACCES
    assert json.load(open(p + ".rejected"))["description"] == "forbidden"


def test_5xx_and_429_during_writes(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300", "timeout=20")
    p = app_file(m, "Budget draft")
    d = json.load(open(p))
    # PUT is idempotent: a 503 burst is retried
    sim.reset()
    sim.faults(mode="status", status=503, count=2, match="PUT /api/v1/apps")
    d["description"] = "after 503s"
    json.dump(d, open(p, "w"))
    time.sleep(0.2)
    assert [c[0] for c in changes(sim)] == ["PUT"] * 3
    assert json.load(open(p))["description"] == "after 503s"
    # 429 is retried after Retry-After, even for a POST
    sim.reset()
    sim.faults(mode="status", status=429, count=1, retry_after=1, match="POST /api/v1/spaces")
    os.mkdir(m.path("spaces", "After 429"))
    assert [c[:2] for c in changes(sim)] == [("POST", "/api/v1/spaces")] * 2
    assert len([s for s in sim.state()["spaces"] if s["name"] == "After 429"]) == 1
    # a POST that fails with 500 is not repeated (it might have been applied)
    sim.reset()
    sim.faults(mode="status", status=500, count=5, match="POST /api/v1/spaces")
    with pytest.raises(OSError) as e:
        os.mkdir(m.path("spaces", "After 500"))
    assert e.value.errno == errno.EIO
    assert [c[:2] for c in changes(sim)] == [("POST", "/api/v1/spaces")]


def test_kill_9_mid_write_changes_nothing(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300")
    p = m.path("spaces", "Finance", "space.json")
    before = space(sim, "Finance")
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b'{"description": "half a wri')
    os.kill(m.proc.pid, signal.SIGKILL)
    m.proc.wait()
    try:
        os.close(fd)
    except OSError:
        pass
    subprocess.run(["fusermount3", "-uz", m.mnt], check=False)
    assert space(sim, "Finance") == before


# ---- create ----

def test_create_app_by_file(wm):
    sim, m = wm
    sid = space(sim, "Finance")["id"]
    sim.reset()
    p = m.path("spaces", "Finance", "apps", "Forecast.json")
    subprocess.run(["sh", "-c", 'echo \'{"description": "made by qlikfs"}\' > "$1"', "sh", p],
                   check=True)
    posts = [c for c in changes(sim) if c[0] == "POST"]
    assert posts == [("POST", "/api/v1/apps",
                      {"attributes": {"name": "Forecast", "description": "made by qlikfs",
                                      "spaceId": sid}})]
    assert len(changes(sim)) == 1
    (app,) = app_named(sim, "Forecast")
    assert app["spaceId"] == sid
    f = app_file(m, "Forecast", os.path.join("spaces", "Finance", "apps"))
    assert app["id"] in f
    assert not os.path.exists(p)
    assert app_file(m, "Forecast")  # in apps/ as well


def test_create_user_data_store_asset_set(wm):
    sim, m = wm
    sim.reset()
    with open(m.path("users", "new.json"), "w") as f:
        json.dump({"subject": "auth0|new-one", "name": "New One", "email": "new@x.example"}, f)
    assert changes(sim)[0][:2] == ("POST", "/api/v1/users")
    assert any(u["subject"] == "auth0|new-one" for u in sim.state()["users"])
    assert any(n.startswith("New One (") for n in os.listdir(m.path("users")))

    with open(m.path("data-stores", "Lake.json"), "w") as f:
        json.dump({"type": "s3"}, f)
    (store,) = [s for s in sim.state()["data_stores"] if s["name"] == "Lake"]
    assert store["technicalName"] == "Lake"
    sdir = m.path("data-stores", "Lake (%s)" % store["id"])
    assert os.path.isdir(sdir)
    with open(os.path.join(sdir, "data-assets", "Raw.json"), "w") as f:
        json.dump({"appType": "QIX-DF"}, f)
    (asset,) = [a for a in sim.state()["data_assets"] if a["name"] == "Raw"]
    assert asset["dataStoreInfo"]["id"] == store["id"]
    adir = os.path.join(sdir, "data-assets", "Raw (%s)" % asset["id"])
    assert os.path.isdir(adir)
    with open(os.path.join(adir, "data-sets", "Daily.json"), "w") as f:
        json.dump({"qri": "qri:db:lake://raw/daily", "id": "not sent"}, f)
    # each body as the resource table's create columns make it: the entry's
    # name, technicalName, the place from the directory, no read-only field
    posts = [c for c in changes(sim) if c[0] == "POST"]
    assert posts == [
        ("POST", "/api/v1/users",
         {"subject": "auth0|new-one", "name": "New One", "email": "new@x.example"}),
        ("POST", "/api/v1/data-stores", {"type": "s3", "name": "Lake", "technicalName": "Lake"}),
        ("POST", "/api/v1/data-assets",
         {"appType": "QIX-DF", "name": "Raw", "technicalName": "Raw",
          "dataStoreInfo": {"id": store["id"]}}),
        ("POST", "/api/v1/data-sets",
         {"qri": "qri:db:lake://raw/daily", "name": "Daily", "technicalName": "Daily",
          "dataAssetInfo": {"id": asset["id"], "dataStoreInfo": {"id": store["id"]}}}),
    ]


def test_create_personal_app_sends_no_space(wm):
    sim, m = wm
    sim.reset()
    with open(m.path("spaces", "@personal", "apps", "Mine.json"), "w") as f:
        json.dump({"description": "mine", "spaceId": "", "usage": "ignored"}, f)
    assert [c for c in changes(sim) if c[0] == "POST"] == [
        ("POST", "/api/v1/apps", {"attributes": {"name": "Mine", "description": "mine"}})]
    (app,) = app_named(sim, "Mine")
    assert not app.get("spaceId")


def test_empty_new_file_creates_nothing_and_temp_files_stay_local(wm):
    sim, m = wm
    sim.reset()
    p = m.path("apps", "Empty.json")
    open(p, "w").close()
    assert changes(sim) == []
    assert os.path.exists(p) and os.path.getsize(p) == 0
    os.unlink(p)
    assert changes(sim) == []


def test_create_where_not_possible_is_eperm(wm):
    sim, m = wm
    for d in ("", "spaces/Finance", "data-files"):
        with pytest.raises(OSError) as e:
            open(m.path(d, "x.json"), "w").close()
        assert e.value.errno == errno.EPERM, d
    with pytest.raises(OSError) as e:
        os.mkdir(m.path("apps", "dir"))
    assert e.value.errno == errno.EPERM


def test_failed_create_keeps_the_file(wm):
    sim, m = wm
    p = m.path("users", "nobody.json")
    with pytest.raises(OSError) as e:
        with open(p, "w") as f:
            json.dump({"name": "No Subject"}, f)  # subject is required
    assert e.value.errno == errno.EINVAL
    assert json.load(open(p)) == {"name": "No Subject"}
    assert os.getxattr(p, "user.qlik.error")
    with open(p, "w") as f:  # fixed and saved again: created
        json.dump({"name": "No Subject", "subject": "auth0|fixed"}, f)
    assert any(u["subject"] == "auth0|fixed" for u in sim.state()["users"])


def test_mkdir_creates_a_shared_space(wm):
    sim, m = wm
    sim.reset()
    os.mkdir(m.path("spaces", "Research"))
    assert changes(sim) == [("POST", "/api/v1/spaces", {"name": "Research", "type": "shared"})]
    assert sorted(os.listdir(m.path("spaces", "Research"))) == ["apps", "data-files", "data-stores", "scripts", "space.json"]
    assert json.load(open(m.path("spaces", "Research", "space.json")))["name"] == "Research"


# ---- rename, move ----

def test_rename_app_and_space(wm):
    sim, m = wm
    p = app_file(m, "Budget draft")
    app_id = json.load(open(p))["resourceId"]
    sim.reset()
    os.rename(p, m.path("apps", "Budget final (%s).json" % app_id))
    assert changes(sim) == [("PUT", "/api/v1/apps/" + app_id,
                             {"attributes": {"name": "Budget final"}})]
    assert app_named(sim, "Budget final")
    assert os.path.exists(m.path("apps", "Budget final (%s).json" % app_id))
    sid = space(sim, "Finance")["id"]
    sim.reset()
    os.rename(m.path("spaces", "Finance"), m.path("spaces", "Finance EMEA"))
    assert changes(sim) == [("PATCH", "/api/v1/spaces/" + sid,
                             [{"op": "replace", "path": "/name", "value": "Finance EMEA"}])]
    assert os.listdir(m.path("spaces", "Finance EMEA", "apps"))
    assert not os.path.exists(m.path("spaces", "Finance"))


def test_move_app_between_spaces(wm):
    sim, m = wm
    src = os.path.join("spaces", "Finance", "apps")
    name = sorted(x for x in os.listdir(m.path(src)) if x.endswith(".json"))[0]
    app_id = name.rsplit("(", 1)[1][:-6]
    mid = space(sim, "Marketing")["id"]
    sim.reset()
    subprocess.run(["mv", m.path(src, name), m.path("spaces", "Marketing", "apps") + "/"],
                   check=True)
    assert changes(sim) == [("PUT", "/api/v1/apps/%s/space" % app_id, {"spaceId": mid})]
    assert name in os.listdir(m.path("spaces", "Marketing", "apps"))
    assert name not in os.listdir(m.path(src))
    sim.reset()
    subprocess.run(["mv", m.path("spaces", "Marketing", "apps", name),
                    m.path("spaces", "@personal", "apps") + "/"], check=True)
    assert changes(sim) == [("DELETE", "/api/v1/apps/%s/space" % app_id, None)]
    # back in its owner's personal space (another user's: out of our sight)
    assert name not in os.listdir(m.path("spaces", "Marketing", "apps"))
    (a,) = [x["attributes"] for x in sim.state()["apps"] if x["attributes"]["id"] == app_id]
    assert not a.get("spaceId")


def test_other_moves_are_eperm_not_exdev(wm):
    sim, m = wm
    u = sorted(os.listdir(m.path("users")))[0]
    sim.reset()
    with pytest.raises(OSError) as e:
        os.rename(m.path("users", u), m.path("apps", u))
    assert e.value.errno == errno.EPERM
    r = subprocess.run(["mv", m.path("users", u), m.path("apps") + "/"], capture_output=True)
    assert r.returncode != 0
    assert changes(sim) == []  # no copy + delete fallback
    assert os.path.exists(m.path("users", u))


# ---- delete ----

def test_unlink_deletes_and_gone_is_enoent(wm):
    sim, m = wm
    p = app_file(m, "Budget draft")
    app_id = json.load(open(p))["resourceId"]
    sim.reset()
    os.unlink(p)
    # (the trash keeps the app's export first)
    assert changes(sim) == [("POST", "/api/v1/apps/%s/export" % app_id, None),
                            ("DELETE", "/api/v1/apps/" + app_id, None)]
    assert not app_named(sim, "Budget draft")
    assert not os.path.exists(p)
    # deleted behind the mount's back: rm says ENOENT, not success
    u = sorted(glob.glob(m.path("users", "*.json")))[3]
    uid = json.load(open(u))["id"]
    assert sim.api("DELETE", "/api/v1/users/" + uid)[0] == 204
    with pytest.raises(OSError) as e:
        os.unlink(u)
    assert e.value.errno == errno.ENOENT


def test_batch_delete_for_data_sets(wm):
    sim, m = wm
    ds = sim.state()["data_sets"][0]
    f = [x for x in glob.glob(m.path("data-sets", "*.json")) if ds["id"] in x][0]
    sim.reset()
    os.unlink(f)
    assert changes(sim) == [("DELETE", "/api/v1/data-sets", {"ids": [ds["id"]]})]
    assert not any(x["id"] == ds["id"] for x in sim.state()["data_sets"])


def test_rmdir_space_empty_nonempty_and_rm_r(wm):
    sim, m = wm
    os.mkdir(m.path("spaces", "Scratch space"))
    os.rmdir(m.path("spaces", "Scratch space"))
    assert not any(s["name"] == "Scratch space" for s in sim.state()["spaces"])
    with pytest.raises(OSError) as e:
        os.rmdir(m.path("spaces", "Finance"))
    assert e.value.errno in (errno.ENOTEMPTY, errno.EEXIST)
    assert space(sim, "Finance")
    # rm -r: the space's apps are deleted, then the space
    sid = space(sim, "HR Insights")["id"]
    subprocess.run(["rm", "-r", m.path("spaces", "HR Insights")], check=True)
    st = sim.state()
    assert not any(s["id"] == sid for s in st["spaces"])
    assert not any(a["attributes"].get("spaceId") == sid for a in st["apps"])
    assert not os.path.exists(m.path("spaces", "HR Insights"))


# ---- read-only ----

def test_ro_mount_refuses_every_change(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "ro")
    p = m.path("spaces", "Finance", "space.json")
    fresh_sim.reset()
    for fn in (lambda: open(p, "w"),
               lambda: open(m.path("apps", "x.json"), "w"),
               lambda: open(m.path("apps", "4913"), "w"),
               lambda: os.mkdir(m.path("spaces", "X")),
               lambda: os.unlink(p),
               lambda: os.rmdir(m.path("spaces", "Finance")),
               lambda: os.rename(m.path("spaces", "Finance"), m.path("spaces", "Y")),
               lambda: os.truncate(p, 0)):
        with pytest.raises(OSError) as e:
            fn()
        assert e.value.errno == errno.EROFS
    assert changes(fresh_sim) == []


def _drive_tty(argv, script, timeout=30):
    """Runs an interactive program on a pseudo-terminal: for each (prompt,
    keys) of script, waits until the screen shows prompt, then types keys."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.execvp(argv[0], argv)
    out = b""
    deadline = time.monotonic() + timeout

    def pump(t):
        nonlocal out
        r, _, _ = select.select([fd], [], [], t)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
        return True

    try:
        for prompt, keys in script:
            mark = len(out)
            while prompt not in out[mark:] and time.monotonic() < deadline:
                if not pump(0.1):
                    break
            assert prompt in out[mark:], (prompt, out[-300:])
            time.sleep(0.05)
            os.write(fd, keys)
            mark = len(out)
        while time.monotonic() < deadline:
            pump(0.1)
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                return os.waitstatus_to_exitcode(status), out
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError("program did not finish: %r" % out[-500:])
    finally:
        os.close(fd)


@pytest.mark.skipif(not shutil.which("nano"), reason="nano not installed")
def test_nano(wm):
    sim, m = wm
    p = m.path("spaces", "Finance", "space.json")
    sid = space(sim, "Finance")["id"]
    sim.reset()
    # search "Finance team", replace with "Nano team", all; save; exit
    rc, _ = _drive_tty(["nano", "--ignorercfiles", p],
                       [(b"space.json", b"\x1c"), (b"Search", b"Finance team\r"),
                        (b"Replace with", b"Nano team\r"), (b"All", b"a"),
                        (b"occurrence", b"\x0f"), (b"Write", b"\r"),
                        (b"Wrote", b"\x18")])
    assert rc == 0
    assert changes(sim) == [("PATCH", "/api/v1/spaces/" + sid,
                             [{"op": "replace", "path": "/description", "value": "Nano team content"}])]
    assert sorted(os.listdir(m.path("spaces", "Finance"))) == ["apps", "data-files", "data-stores", "scripts", "space.json"]


def test_rename_a_data_file(wm):
    sim, m = wm
    df = next(d for d in sim.state()["data_files"]
              if not d["folder"] and "/" not in d["name"] and not d.get("spaceId"))
    old = m.path("data-files", df["name"] + ".json")
    assert os.path.exists(old)
    new_base = "renamed-" + df["name"]
    sim.reset()
    os.rename(old, m.path("data-files", new_base + ".json"))
    (c,) = changes(sim)
    assert c[:2] == ("PUT", "/api/v1/data-files/" + df["id"])
    # multipart with one Json part naming the new path
    assert 'name="Json"' in c[2] and json.dumps({"name": new_base}, separators=(",", ":"), ensure_ascii=False) in c[2]
    after = next(d for d in sim.state()["data_files"] if d["id"] == df["id"])
    assert after["name"] == new_base
    assert json.load(open(m.path("data-files", new_base + ".json")))["id"] == df["id"]


def test_a_stale_write_is_kept_under_the_name_it_was_opened_by(fresh_sim, mount_factory):
    """A rename behind the mount's back makes the write stale, and a listing
    may rename the entry before the close: the rejected bytes stay beside the
    path the writer opened (found by tests/model.py, seed 4242)."""
    m = mount_factory(fresh_sim.url, "cache_ttl=1")
    users = m.path("users")
    name = sorted(f for f in os.listdir(users) if f.endswith(").json"))[0]
    p = os.path.join(users, name)
    uid = json.load(open(p))["id"]
    with pytest.raises(OSError) as e:
        with open(p, "r+") as f:
            d = json.load(f)
            st, _ = fresh_sim.api("PATCH", "/api/v1/users/" + uid,
                                  [{"op": "replace", "path": "/name", "value": "Renamed Remotely"}])
            assert st in (200, 204)
            time.sleep(1.5)
            assert "Renamed Remotely (%s).json" % uid in os.listdir(users)  # relisted
            d["status"] = "disabled"
            f.seek(0)
            f.truncate()
            json.dump(d, f)
    assert e.value.errno == errno.ESTALE
    kept = json.load(open(p + ".rejected"))
    assert kept["status"] == "disabled"
