"""Browsing a mounted tenant with real tools: every resource kind, names,
sizes, permissions, extended attributes, cp -r / rsync / tar / jq / find / grep."""
import filecmp
import json
import os
import stat
import subprocess

import pytest


def run(*cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert r.returncode == 0, (cmd, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r.stdout


def jfile(path):
    with open(path, "rb") as f:
        raw = f.read()
    return raw, json.loads(raw)


def walk_files(top):
    out = []
    for d, dirs, files in os.walk(top):
        for f in files:
            out.append(os.path.join(d, f))
    return sorted(out)


def test_root_layout(mounted):
    assert sorted(os.listdir(mounted.mnt)) == [
        "api", "apps", "changes", "data-assets", "data-files", "data-model", "data-sets",
        "data-stores", "lineage", "me.json", "reloads", "reports", "scripts", "spaces", "users"]


def test_me_json_is_the_caller(mounted, sim):
    raw, me = jfile(mounted.path("me.json"))
    assert me["id"] == sim.state()["me"]
    assert raw.endswith(b"\n") and raw.startswith(b"{\n  \"")


def test_every_file_pretty_json_and_size_matches(mounted):
    files = walk_files(mounted.mnt)
    assert len(files) > 200
    for p in files:
        if p == mounted.path("api") or p.startswith(mounted.path("reloads") + "/"):
            continue  # control files (test_api_mount.py, test_reloads.py)
        raw = open(p, "rb").read()
        st = os.stat(p)
        assert st.st_size == len(raw), p
        if p.endswith(".qvs"):
            continue  # load scripts: text (test_scripts.py)
        obj = json.loads(raw)
        # exactly jq's rendering: 2-space indent, final newline
        assert raw.decode() == json.dumps(obj, indent=2, ensure_ascii=False) + "\n", p


def test_jq_output_equals_file(mounted):
    p = mounted.path("me.json")
    assert run("jq", ".", p) == open(p).read()


def test_permissions_private_and_owner(mounted):
    for d, dirs, files in os.walk(mounted.mnt):
        for x in dirs:
            st = os.stat(os.path.join(d, x))
            assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()
        for x in files:
            st = os.stat(os.path.join(d, x))
            # me.json, an app's data model and lineage cannot be changed:
            # read-only; every other file is writable
            ro = os.path.join(d, x) == mounted.path("me.json") or \
                d in (mounted.path("data-model"), mounted.path("lineage"))
            want = 0o400 if ro else 0o600
            assert stat.S_IMODE(st.st_mode) == want and st.st_uid == os.getuid()


def by_id(objs, key="id"):
    return {o[key]: o for o in objs}


def test_cp_r_equals_simulator_state(mounted, sim, tmp_path):
    dst = tmp_path / "copy"
    run("cp", "-r", mounted.mnt, str(dst))
    st = sim.state()

    users = [json.load(open(p)) for p in walk_files(dst / "users")]
    assert by_id(users) == by_id(st["users"])

    apps = [json.load(open(p)) for p in walk_files(dst / "apps")]
    app_items = [i for i in st["items"] if i["resourceType"] == "app"]
    assert by_id(apps) == by_id(app_items)

    spaces = [json.load(open(os.path.join(dst, "spaces", d, "space.json")))
              for d in os.listdir(dst / "spaces") if d != "@personal"]
    assert by_id(spaces) == by_id(st["spaces"])

    files = [json.load(open(p)) for p in walk_files(dst / "data-files")]
    assert by_id(files) == by_id([f for f in st["data_files"] if not f.get("folder")])

    stores = [json.load(open(os.path.join(dst, "data-stores", d, "data-store.json")))
              for d in os.listdir(dst / "data-stores")]
    assert by_id(stores) == by_id(st["data_stores"])
    assets = [json.load(open(p)) for p in walk_files(dst / "data-assets")]
    assert by_id(assets) == by_id(st["data_assets"])
    sets = [json.load(open(p)) for p in walk_files(dst / "data-sets")]
    assert by_id(sets) == by_id(st["data_sets"])


def test_space_directories_hold_their_apps_and_files(mounted, sim):
    st = sim.state()
    for sp in st["spaces"]:
        d = None
        for name in os.listdir(mounted.path("spaces")):
            if name == "@personal":
                continue
            if os.getxattr(mounted.path("spaces", name), "user.qlik.id").decode() == sp["id"]:
                d = name
        assert d is not None, sp["name"]
        apps = {json.load(open(p))["resourceId"]
                for p in walk_files(mounted.path("spaces", d, "apps"))}
        want = {i["resourceId"] for i in st["items"]
                if i["resourceType"] == "app" and i.get("spaceId") == sp["id"]}
        assert apps == want
        files = {json.load(open(p))["id"] for p in walk_files(mounted.path("spaces", d, "data-files"))}
        want = {f["id"] for f in st["data_files"] if f.get("spaceId") == sp["id"] and not f.get("folder")}
        assert files == want


def test_personal_space(mounted, sim):
    st = sim.state()
    apps = {json.load(open(p))["resourceId"]
            for p in walk_files(mounted.path("spaces", "@personal", "apps"))}
    want = {i["resourceId"] for i in st["items"]
            if i["resourceType"] == "app" and not i.get("spaceId")}
    assert apps and apps == want


def test_duplicate_unicode_and_slash_names(mounted):
    apps = os.listdir(mounted.path("apps"))
    dup = [a for a in apps if a.startswith("Sales Dashboard (")]
    assert len(dup) >= 3 and len(set(dup)) == len(dup)
    assert any("\uff0f" in a for a in apps), apps  # '/' shown as U+FF0F
    assert any(any(ord(c) > 0x2e80 for c in a) for a in apps)  # CJK or emoji
    users = os.listdir(mounted.path("users"))
    assert len([u for u in users if u.startswith("Anna Svensson (")]) >= 2


def test_names_carry_the_id(mounted):
    for coll in ("apps", "users", "data-assets", "data-sets"):
        for name in os.listdir(mounted.path(coll)):
            p = mounted.path(coll, name)
            rid = os.getxattr(p, "user.qlik.id").decode()
            assert name.endswith(" (%s).json" % rid) or name == "(%s).json" % rid, name


def test_xattrs(mounted):
    name = sorted(os.listdir(mounted.path("users")))[0]
    p = mounted.path("users", name)
    obj = json.load(open(p))
    assert os.getxattr(p, "user.qlik.id").decode() == obj["id"]
    assert os.getxattr(p, "user.qlik.type").decode() == "user"
    assert set(os.listxattr(p)) == {"user.qlik.id", "user.qlik.type"}
    out = run("getfattr", "-n", "user.qlik.type", "--only-values", p)
    assert out == "user"


def test_lookup_by_bare_id(mounted, sim):
    st = sim.state()
    app = [i for i in st["items"] if i["resourceType"] == "app"][0]
    _, obj = jfile(mounted.path("apps", app["resourceId"] + ".json"))
    assert obj["resourceId"] == app["resourceId"]
    u = st["users"][5]
    _, obj = jfile(mounted.path("users", u["id"] + ".json"))
    assert obj == u
    sp = st["spaces"][0]
    _, obj = jfile(mounted.path("spaces", sp["id"], "space.json"))
    assert obj == sp
    ds = st["data_sets"][0]
    _, obj = jfile(mounted.path("data-sets", ds["id"] + ".json"))
    assert obj["id"] == ds["id"]
    assert not os.path.exists(mounted.path("users", "0123456789abcdef01234567.json"))


def test_data_file_folders(mounted, sim):
    st = sim.state()
    nested = [f for f in st["data_files"] if "/" in f["name"] and not f.get("folder")]
    assert nested
    f = nested[0]
    parts = f["name"].split("/")
    p = mounted.path("data-files", *parts[:-1], parts[-1] + ".json")
    if not os.path.exists(p):  # same path in another space: the id form
        p = mounted.path("data-files", *parts[:-1], "%s (%s).json" % (parts[-1], f["id"]))
    assert json.load(open(p))["id"] == f["id"]
    assert os.path.isdir(mounted.path("data-files", parts[0]))


def test_data_stores_tree(mounted, sim):
    st = sim.state()
    store = st["data_stores"][0]
    d = [n for n in os.listdir(mounted.path("data-stores")) if n.endswith("(%s)" % store["id"])]
    assert len(d) == 1
    base = mounted.path("data-stores", d[0])
    assert json.load(open(os.path.join(base, "data-store.json"))) == store
    assets = os.listdir(os.path.join(base, "data-assets"))
    want = [a for a in st["data_assets"] if a["dataStoreInfo"]["id"] == store["id"]]
    assert len(assets) == len(want)
    a0 = os.path.join(base, "data-assets", assets[0])
    aobj = json.load(open(os.path.join(a0, "data-asset.json")))
    sets = walk_files(os.path.join(a0, "data-sets"))
    want_sets = [s for s in st["data_sets"] if s["dataAssetInfo"]["id"] == aobj["id"]]
    assert {json.load(open(s))["id"] for s in sets} == {s["id"] for s in want_sets}


def test_times_follow_the_resource(mounted, sim):
    from datetime import datetime
    u = sim.state()["users"][3]
    p = mounted.path("users", u["id"] + ".json")
    st = os.stat(p)

    def ts(s):
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    assert abs(st.st_mtime - ts(u["lastUpdatedAt"])) < 0.002
    assert abs(st.st_ctime - ts(u["createdAt"])) < 0.002


def test_inodes_stable(mounted):
    p = mounted.path("users")
    first = {n: os.stat(os.path.join(p, n)).st_ino for n in os.listdir(p)}
    second = {n: os.stat(os.path.join(p, n)).st_ino for n in os.listdir(p)}
    assert first == second and len(set(first.values())) == len(first)


def test_rsync_twice_second_transfers_nothing(mounted, tmp_path):
    dst = str(tmp_path / "r") + "/"
    run("rsync", "-a", mounted.mnt + "/", dst)
    assert not filecmp.dircmp(mounted.mnt, dst).diff_files
    out = run("rsync", "-a", "--itemize-changes", "--stats", mounted.mnt + "/", dst)
    changed = [l for l in out.splitlines() if l[:1] in (">", "c", "<") or l.startswith(".f")]
    assert changed == [], out
    assert "Number of regular files transferred: 0" in out


def test_tar_exits_zero_and_matches(mounted, tmp_path):
    tarball = str(tmp_path / "t.tar")
    run("tar", "-cf", tarball, "-C", mounted.mnt, ".")
    out = tmp_path / "x"
    out.mkdir()
    run("tar", "-xf", tarball, "-C", str(out))
    for p in walk_files(mounted.mnt):
        rel = os.path.relpath(p, mounted.mnt)
        assert open(p, "rb").read() == open(out / rel, "rb").read(), rel


def test_find_and_grep(mounted, sim):
    out = run("find", mounted.mnt, "-name", "*.json", "-type", "f")
    assert len(out.splitlines()) > 200
    email = sim.state()["users"][7]["email"]
    out = run("grep", "-rl", email, mounted.path("users"))
    assert len(out.splitlines()) == 1


def test_readonly_refuses_changes(mounted):
    with pytest.raises(OSError):
        open(mounted.path("new.json"), "w")
