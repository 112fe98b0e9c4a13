"""Load scripts as files through a real mount (docs/SEMANTICS.md "Load scripts"):
sizes before the first read, what listing and grep cost, saves by vim, sed -i,
cp and git, the version message attribute, stale writes (ESTALE), history.
"""
import errno
import os
import shutil
import subprocess
import time

import pytest

from conftest import Mount, Sim
from invariants import check_tree


@pytest.fixture(scope="module")
def ssim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture
def sm(ssim):
    m = Mount(ssim.url, ("cache_ttl=300", "noqvf"))
    yield m
    assert m.unmount() == 0


def apps_of(sim):
    return {a["attributes"]["id"]: a["attributes"] for a in sim.state()["apps"]}


def current(sim, app):
    st, body = sim.api("GET", "/api/v1/apps/%s/scripts/current" % app)
    assert st == 200
    return body["script"]


def versions(sim, app):
    st, body = sim.api("GET", "/api/v1/apps/%s/scripts" % app)
    assert st == 200
    return body["scripts"]


def script_path(m, sim, app, top="scripts"):
    for name in os.listdir(m.path(top)):
        if name.endswith(".qvs") and os.getxattr(m.path(top, name), "user.qlik.id").decode() == app:
            return m.path(top, name)
    raise AssertionError("no script of app " + app)


def some_app(sim, n=0):
    return sorted(apps_of(sim))[n]


def test_one_script_per_app_named_like_its_json(sm, ssim):
    apps = apps_of(ssim)
    jsons = sorted(os.listdir(sm.path("apps")))
    qvs = sorted(os.listdir(sm.path("scripts")))
    assert qvs == sorted(j[:-5] + ".qvs" for j in jsons if j.endswith(".json"))
    assert len(qvs) == len(apps)
    # a space's scripts/ holds its own apps' scripts
    sp = [s for s in os.listdir(sm.path("spaces")) if not s.startswith("@")][0]
    in_space = sorted(os.listdir(sm.path("spaces", sp, "scripts")))
    assert in_space == sorted(j[:-5] + ".qvs" for j in os.listdir(sm.path("spaces", sp, "apps"))
                              if j.endswith(".json"))
    assert os.path.isdir(sm.path("spaces", "@personal", "scripts"))


def test_stat_before_read_sizes_and_listing_cost(sm, ssim):
    """ls -l of scripts/ fetches every script side by side: two requests per
    app (its history and its current version), then nothing within the TTL."""
    napps = len(apps_of(ssim))
    ssim.reset()
    out = subprocess.run(["ls", "-l", sm.path("scripts")], capture_output=True, text=True,
                         check=True).stdout
    routes = ssim.routes()
    assert routes.get("GET /api/v1/apps/{id}/scripts") == napps, routes
    assert routes.get("GET /api/v1/apps/{id}/scripts/{id}") == napps, routes
    assert ssim.total() == 2 * napps + routes.get("GET /api/v1/items", 0)
    assert out.count(".qvs") == napps
    # every .qvs: stat before the first read gives the exact size, mtime is
    # the version's modifiedTime
    ssim.reset()
    for name in os.listdir(sm.path("scripts")):
        p = sm.path("scripts", name)
        size = os.stat(p).st_size
        data = open(p, "rb").read()
        assert size == len(data), name
    assert ssim.total() == 0
    app = some_app(ssim)
    p = script_path(sm, ssim, app)
    v = versions(ssim, app)[0]
    from datetime import datetime
    want = datetime.strptime(v["modifiedTime"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    import calendar
    want = calendar.timegm(datetime.strptime(v["modifiedTime"][:19], "%Y-%m-%dT%H:%M:%S").timetuple())
    assert int(os.stat(p).st_mtime) == want
    assert open(p, "rb").read() == current(ssim, app).encode()


def test_grep_across_the_tenant_and_its_cost(ssim):
    """grep -l over scripts/ answers "which apps load this file?": two
    requests per app the first time, none within the TTL."""
    m = Mount(ssim.url, ("cache_ttl=300", "noqvf"))
    try:
        napps = len(apps_of(ssim))
        ssim.reset()
        r = subprocess.run(["grep", "-rl", "lib://DataFiles/sales_2023.csv", m.path("scripts")],
                           capture_output=True, text=True)
        first = ssim.total()
        hits = sorted(os.path.basename(x) for x in r.stdout.split("\n") if x)
        want = sorted(os.path.basename(script_path(m, ssim, a)) for a in apps_of(ssim)
                      if "sales_2023.csv" in current(ssim, a))
        assert hits == want and hits
        ssim.reset()
        subprocess.run(["grep", "-rl", "sales_2023", m.path("scripts")], capture_output=True)
        assert ssim.total() == 0
        print("grep -rl over scripts/ of %d apps: %d requests, then 0" % (napps, first))
        assert first <= 2 * napps + 1
    finally:
        assert m.unmount() == 0


def test_check_tree_with_scripts(sm):
    files = check_tree(sm.mnt)
    assert any(p.startswith("scripts/") and p.endswith(".qvs") for p in files)
    check_tree(sm.mnt, order="read-first")


def test_sed_in_place_saves_a_version_with_the_message(sm, ssim):
    app = some_app(ssim, 1)
    p = script_path(sm, ssim, app)
    before = len(versions(ssim, app))
    os.setxattr(p, "user.qlik.message", b"use the 2024 file")
    assert os.getxattr(p, "user.qlik.message") == b"use the 2024 file"
    ssim.reset()
    subprocess.run(["sed", "-i", "s/SET DecimalSep/SET DecimalSepX/", p], check=True)
    assert ssim.routes().get("POST /api/v1/apps/{id}/scripts") == 1
    v = versions(ssim, app)
    assert len(v) == before + 1 and v[0]["versionMessage"] == "use the 2024 file"
    assert "SET DecimalSepX" in current(ssim, app)
    data = open(p, "rb").read()
    assert data == current(ssim, app).encode() and os.stat(p).st_size == len(data)
    assert os.getxattr(p, "user.qlik.id").decode() == app
    # the message was used once: the next save says it came from qlikfs
    with open(p, "a") as f:
        f.write("// more\n")
    assert versions(ssim, app)[0]["versionMessage"] == "saved through qlikfs"


def test_unchanged_write_sends_nothing(sm, ssim):
    app = some_app(ssim, 2)
    p = script_path(sm, ssim, app)
    data = open(p, "rb").read()
    ssim.reset()
    with open(p, "wb") as f:
        f.write(data)
    subprocess.run(["cp", p, p + ".copy"], check=False)  # a scratch file, never sent
    assert ssim.routes().get("POST /api/v1/apps/{id}/scripts") is None
    open(p, "r+b").close()  # opened for writing, nothing written
    assert ssim.routes().get("POST /api/v1/apps/{id}/scripts") is None


def test_vim_saves_a_version(sm, ssim):
    if not shutil.which("vim"):
        pytest.skip("no vim")
    app = some_app(ssim, 3)
    p = script_path(sm, ssim, app)
    for args in (["-u", "DEFAULTS"], ["-u", "NONE", "-c", "set backup writebackup backupcopy=no"]):
        before = len(versions(ssim, app))
        r = subprocess.run(["vim", *args, "-i", "NONE", "-n", "-es", "-c",
                            "%s/^Data[0-9]*:/Data" + str(before) + ":/", "-c", "wq", p],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert len(versions(ssim, app)) == before + 1
        assert "Data%d:" % before in current(ssim, app)
        assert open(p).read() == current(ssim, app)
    assert sorted(n for n in os.listdir(sm.path("scripts")) if not n.endswith(".qvs")) == []


def test_stale_write_is_refused_and_kept(sm, ssim):
    app = some_app(ssim, 4)
    p = script_path(sm, ssim, app)
    mine = open(p).read()
    # someone else saves a version after we read it
    st, _ = ssim.api("POST", "/api/v1/apps/%s/scripts" % app,
                     {"script": mine + "// theirs\n", "versionMessage": "elsewhere"})
    assert st == 200
    f = open(p, "w")
    f.write(mine + "// mine\n")
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.ESTALE
    assert current(ssim, app).endswith("// theirs\n")
    assert "changed on the tenant" in os.getxattr(p, "user.qlik.error").decode()
    assert open(p + ".rejected").read() == mine + "// mine\n"
    os.unlink(p + ".rejected")


def test_cp_of_an_older_version_restores_it(sm, ssim):
    app = some_app(ssim, 5)
    p = script_path(sm, ssim, app)
    orig = open(p).read()
    with open(p, "a") as f:
        f.write("// later\n")
    hist = sm.path("scripts", ".history", os.path.basename(p)[:-4])
    names = sorted(os.listdir(hist))
    assert len(names) == len(versions(ssim, app)) >= 2
    old = os.path.join(hist, names[0])
    assert open(old).read() == orig and os.stat(old).st_size == len(orig.encode())
    assert os.getxattr(old, "user.qlik.message") == b"created"
    with pytest.raises(OSError):
        open(old, "w")
    r = subprocess.run(["diff", old, p], capture_output=True, text=True)
    assert r.returncode == 1 and "> // later" in r.stdout
    subprocess.run(["cp", old, p], check=True)
    assert current(ssim, app) == orig
    assert ".history" not in os.listdir(sm.path("scripts"))  # hidden: grep -r skips it


def test_git_over_a_tree_of_scripts(sm, ssim, tmp_path):
    """Every script of the tenant in git: a work tree in the mount; a round
    trip leaves git diff empty; git checkout of an edited file saves it."""
    if not shutil.which("git"):
        pytest.skip("no git")
    sp = [s for s in os.listdir(sm.path("spaces")) if not s.startswith("@")
          and os.listdir(sm.path("spaces", s, "scripts"))][0]
    wt = sm.path("spaces", sp, "scripts")
    env = dict(os.environ, GIT_DIR=str(tmp_path / "g.git"), GIT_WORK_TREE=wt,
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x.invalid")

    def git(*a, check=True):
        return subprocess.run(["git", *a], env=env, capture_output=True, text=True, check=check)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "every script")
    assert git("status", "--porcelain").stdout == ""
    assert git("diff").stdout == ""
    # a copy of the tree into the mount (cp) is a round trip: nothing changes
    copy = tmp_path / "copy"
    shutil.copytree(wt, copy)
    ssim.reset()
    for name in os.listdir(copy):
        shutil.copyfile(copy / name, os.path.join(wt, name))
    assert ssim.routes().get("POST /api/v1/apps/{id}/scripts") is None
    assert git("diff").stdout == ""
    # an edit made with git: checkout of another commit writes it back
    name = sorted(os.listdir(wt))[0]
    app = os.getxattr(os.path.join(wt, name), "user.qlik.id").decode()
    with open(copy / name, "a") as f:
        f.write("// from git\n")
    shutil.copyfile(copy / name, os.path.join(wt, name))
    git("commit", "-qam", "edit")
    assert current(ssim, app).endswith("// from git\n")
    git("checkout", "-q", "HEAD~1", "--", name)
    assert not current(ssim, app).endswith("// from git\n")
    assert git("diff", "--cached", "--stat").stdout != ""
    git("checkout", "-q", "HEAD", "--", name)
    assert current(ssim, app).endswith("// from git\n")
    assert git("status", "--porcelain").stdout == ""


def test_noscripts(ssim):
    m = Mount(ssim.url, ("noscripts", "noqvf"))
    try:
        top = os.listdir(m.mnt)
        assert "scripts" not in top and "data-model" not in top and "lineage" not in top
        sp = [s for s in os.listdir(m.path("spaces")) if not s.startswith("@")][0]
        assert "scripts" not in os.listdir(m.path("spaces", sp))
    finally:
        assert m.unmount() == 0


def test_xattr_other_names_refused(sm, ssim):
    p = script_path(sm, ssim, some_app(ssim, 0))
    with pytest.raises(OSError) as e:
        os.setxattr(p, "user.other", b"x")
    assert e.value.errno in (errno.ENOTSUP, errno.EOPNOTSUPP)
    with pytest.raises(OSError):
        os.setxattr(sm.path("me.json"), "user.qlik.message", b"x")


def test_data_model_and_lineage(sm, ssim):
    """data-model/ and lineage/: one read-only JSON file per app, named like
    its apps/ entry; one request per app for each directory, exact sizes;
    jq across apps answers "which apps use field X" (after a reload)."""
    import json
    napps = len(apps_of(ssim))
    os.listdir(sm.path("apps"))
    ssim.reset()
    assert sorted(os.listdir(sm.path("data-model"))) == sorted(
        n for n in os.listdir(sm.path("apps")) if n.endswith(".json"))
    for d in ("data-model", "lineage"):
        for name in os.listdir(sm.path(d)):
            p = sm.path(d, name)
            size = os.stat(p).st_size
            raw = open(p, "rb").read()
            assert size == len(raw)
            obj = json.loads(raw)
            assert raw.decode() == json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    routes = ssim.routes()
    assert routes.get("GET /api/v1/apps/{id}/data/metadata") == napps
    assert routes.get("GET /api/v1/apps/{id}/data/lineage") == napps
    app = some_app(ssim, 6)
    name = os.path.basename(script_path(sm, ssim, app))[:-4] + ".json"
    lin = json.load(open(sm.path("lineage", name)))
    assert lin and lin[0]["discriminator"].startswith("lib://DataFiles/")
    with pytest.raises(OSError):
        open(sm.path("data-model", name), "w")
    # which apps use field "region"? (none until one is reloaded with it)
    r = subprocess.run(["grep", "-l", '"name": "region"', "-r", sm.path("data-model")],
                       capture_output=True, text=True)
    assert r.stdout == ""
    ssim.config(reload_delay_ms=0)
    st, _ = ssim.api("POST", "/api/v1/apps/%s/scripts" % app,
                     {"script": "Sales:\nLOAD Region AS region FROM [lib://DataFiles/x.csv];\n"})
    st, rl = ssim.api("POST", "/api/v1/reloads", {"appId": app})
    assert st == 201
    m2 = Mount(ssim.url, ("noqvf",))
    try:
        r = subprocess.run(["grep", "-rl", '"name": "region"', m2.path("data-model")],
                           capture_output=True, text=True)
        assert [os.path.basename(x) for x in r.stdout.split("\n") if x] == [name]
    finally:
        ssim.config(reload_delay_ms=1000)
        assert m2.unmount() == 0


def test_one_file_after_the_ttl_costs_that_file(ssim):
    """Only opendir fetches every script: a lookup after the TTL costs the
    apps list page and that script's two requests."""
    m = Mount(ssim.url, ("cache_ttl=1", "noqvf"))
    try:
        names = os.listdir(m.path("scripts"))
        time.sleep(1.3)
        ssim.reset()
        data = open(m.path("scripts", names[0]), "rb").read()
        assert data
        routes = ssim.routes()
        assert routes.get("GET /api/v1/apps/{id}/scripts") == 1, routes
        assert routes.get("GET /api/v1/apps/{id}/scripts/{id}") == 1, routes
        assert ssim.total() <= 3, routes
    finally:
        assert m.unmount() == 0


def test_a_polled_change_refreshes_the_script(ssim):
    """changes/ sees an app updated (its script saved elsewhere): its .qvs
    is fetched again at once, not after the TTL."""
    from test_changes import poll
    m = Mount(ssim.url, ("cache_ttl=300", "noqvf", "changes_types=apps"))
    try:
        poll(m)
        app = some_app(ssim, 7)
        p = script_path(m, ssim, app)
        before = open(p).read()
        time.sleep(1.1)  # the catalogue's times have whole seconds
        st, _ = ssim.api("POST", "/api/v1/apps/%s/scripts" % app, {"script": before + "// x\n"})
        assert st == 200
        assert open(p).read() == before  # within the TTL
        poll(m)
        assert open(p).read() == before + "// x\n"
        assert os.stat(p).st_size == len((before + "// x\n").encode())
    finally:
        assert m.unmount() == 0
