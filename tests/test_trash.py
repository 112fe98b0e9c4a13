"""The trash (docs/SEMANTICS.md "Trash"), through the real mount: what rm keeps
in .trash/ and what it costs, `mv .trash/ENTRY DIR/` bringing an app or a
whole space with its apps back, -o notrash, trash_days expiry (by the
sweeper and at mount), trash_qvf_max and trash_required, .trash being
hidden and read-only."""
import errno
import json
import os
import re
import subprocess
import time

import pytest

from conftest import wait_for
from test_write import changes, space

TRASH = ("cache_ttl=300", "trash_days=7")


def entries(m):
    return sorted(os.listdir(m.path(".trash")))


def meta(m, *e):
    return json.load(open(m.path(".trash", *e, "trash.json")))


def on_disk(m):
    d = os.path.join(m.state_dir, "trash")
    return sorted(x for x in os.listdir(d) if not x.startswith("."))


def routes(sim):
    return [(r["method"], r["path"]) for r in sim.log()]


def errors(m):
    return open(m.path(".errors")).read()


def app_in(sim, space_id, described=False):
    """An app of the space whose name no other app of the space has."""
    apps = [a["attributes"] for a in sim.state()["apps"]
            if a["attributes"].get("spaceId") == space_id]
    names = [a["name"] for a in apps]
    return next(a for a in apps if names.count(a["name"]) == 1)


def entry_of(d, app_id):
    (f,) = [x for x in os.listdir(d) if app_id in x and x.endswith(".json")]
    return f


def qvf_of(d, f):
    return os.path.join(d, ".qvf", f[:-5] + ".qvf")


@pytest.fixture
def tm(fresh_sim, mount_factory):
    return fresh_sim, mount_factory(fresh_sim.url, *TRASH)


def test_rm_of_an_app_then_mv_back(tm):
    sim, m = tm
    fin = space(sim, "Finance")["id"]
    a = app_in(sim, fin)
    assert sim.api("PUT", "/api/v1/apps/" + a["id"],
                   {"attributes": {"description": "Kept across the trash"}})[0] == 200
    d = m.path("spaces", "Finance", "apps")
    f = entry_of(d, a["id"])
    before = json.load(open(os.path.join(d, f)))
    qvf = open(qvf_of(d, f), "rb").read()
    os.unlink(os.path.join(d, f))
    assert a["id"] not in [x["attributes"]["id"] for x in sim.state()["apps"]]

    # one entry: the deletion time and the original path, holding the JSON and the export
    (e,) = entries(m)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d{6}Z spaces\uff0fFinance\uff0fapps\uff0f" +
                        re.escape(f[:-5]), e), e
    t = meta(m, e)
    assert (t["format"], t["type"], t["id"], t["path"], t["spaceId"], t["name"]) == \
        (1, "app", a["id"], "spaces/Finance/apps/" + f, fin, a["name"])
    assert t["qvf"] is True and t["qvfSize"] == len(qvf) and "notKept" not in t
    assert sorted(os.listdir(m.path(".trash", e))) == ["app.qvf", "resource.json", "trash.json"]
    assert json.load(open(m.path(".trash", e, "resource.json"))) == before
    assert open(m.path(".trash", e, "app.qvf"), "rb").read() == qvf
    assert on_disk(m) == [e]

    # mv it back out: imported, named and described as it was, in its space
    listed = set(os.listdir(d))
    sim.reset()
    subprocess.run(["mv", m.path(".trash", e), d + "/"], check=True)
    sent = [c[:2] for c in changes(sim)]
    assert sent[:2] == [("POST", "/api/v1/temp-contents"), ("POST", "/api/v1/apps/import")]
    assert [c[0] for c in sent[2:]] == ["PUT"]  # the description
    assert entries(m) == [] and on_disk(m) == []
    (g,) = set(os.listdir(d)) - listed - {".qvf"}
    after = json.load(open(os.path.join(d, g)))
    assert after["resourceId"] != a["id"]
    for k in ("name", "description", "spaceId", "resourceType"):
        assert after[k] == before[k], k
    assert open(qvf_of(d, g), "rb").read() == qvf  # the same content
    assert errors(m) == ""


def test_rm_r_of_a_space_with_its_apps_then_its_return(tm, tmp_path):
    sim, m = tm
    hr = space(sim, "HR Insights")
    sp = m.path("spaces", "HR Insights")
    src = tmp_path / "hr.csv"
    src.write_text("a,b\n1,2\n")
    subprocess.run(["cp", str(src), os.path.join(sp, "data-files", "hr.csv")], check=True)
    d = os.path.join(sp, "apps")
    qvfs = {}
    for f in os.listdir(d):
        if f.endswith(".json"):
            qvfs[json.load(open(os.path.join(d, f)))["name"]] = open(qvf_of(d, f), "rb").read()
    assert len(qvfs) >= 3
    subprocess.run(["rm", "-r", sp], check=True)
    st = sim.state()
    assert not any(s["id"] == hr["id"] for s in st["spaces"])
    assert not any(a["attributes"].get("spaceId") == hr["id"] for a in st["apps"])

    # one entry for the space, holding the entries of its apps and its data file
    (e,) = entries(m)
    assert e.endswith(" spaces\uff0fHR Insights") and meta(m, e)["type"] == "space"
    members = [x for x in os.listdir(m.path(".trash", e)) if os.path.isdir(m.path(".trash", e, x))]
    kinds = sorted(meta(m, e, x)["type"] for x in members)
    assert kinds == ["app"] * len(qvfs) + ["data-file"]
    assert json.load(open(m.path(".trash", e, "resource.json")))["id"] == hr["id"]

    # its return: the space, then its apps in it; the data file's bytes were not kept
    subprocess.run(["mv", m.path(".trash", e), m.path("spaces") + "/"], check=True)
    (back,) = [s for s in sim.state()["spaces"] if s["name"] == "HR Insights"]
    assert back["id"] != hr["id"]
    assert (back["type"], back.get("description")) == (hr["type"], hr.get("description"))
    got = {}
    for f in os.listdir(d):
        if f.endswith(".json"):
            got[json.load(open(os.path.join(d, f)))["name"]] = open(qvf_of(d, f), "rb").read()
    assert got == qvfs
    (left,) = entries(m)  # the data file's entry, back at the top
    assert meta(m, left)["type"] == "data-file" and left.endswith("hr.csv")
    err = errors(m)
    assert "\trestore\t.trash/" + left + "\tEPERM\t" in err and err.count("\n") == 1


def test_rm_costs_no_request_with_the_export_cached_and_two_without(tm):
    sim, m = tm
    fin = space(sim, "Finance")["id"]
    apps = [x["attributes"]["id"] for x in sim.state()["apps"]
            if x["attributes"].get("spaceId") == fin]
    d = m.path("spaces", "Finance", "apps")
    f1, f2 = entry_of(d, apps[0]), entry_of(d, apps[1])
    open(qvf_of(d, f1), "rb").read()  # the export is in the on-disk cache now
    sim.reset()
    os.unlink(os.path.join(d, f1))
    assert routes(sim) == [("DELETE", "/api/v1/apps/" + apps[0])]
    sim.reset()
    os.unlink(os.path.join(d, f2))
    r = routes(sim)
    assert r[0] == ("POST", "/api/v1/apps/%s/export" % apps[1])
    assert r[1][0] == "GET" and r[1][1].startswith("/api/v1/temp-contents/")
    assert r[2:] == [("DELETE", "/api/v1/apps/" + apps[1])]
    assert len(entries(m)) == 2


def test_notrash_keeps_nothing(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300", "notrash")
    fin = space(sim, "Finance")["id"]
    a = app_in(sim, fin)
    d = m.path("spaces", "Finance", "apps")
    f = entry_of(d, a["id"])
    sim.reset()
    os.unlink(os.path.join(d, f))
    assert routes(sim) == [("DELETE", "/api/v1/apps/" + a["id"])]
    assert not os.path.exists(m.path(".trash"))
    assert not os.path.exists(os.path.join(m.state_dir, "trash"))


def test_trash_days_expiry_by_the_sweeper(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300", "trash_days=0.00003")  # 2.6 s
    a = app_in(sim, space(sim, "Finance")["id"])
    d = m.path("spaces", "Finance", "apps")
    os.unlink(os.path.join(d, entry_of(d, a["id"])))
    assert len(on_disk(m)) == 1
    t0 = time.monotonic()
    # gone from the disk with nothing looking at the mount: the sweeper's work
    wait_for(lambda: on_disk(m) == [], timeout=15, what="the sweeper")
    assert time.monotonic() - t0 > 1.5
    assert entries(m) == []


def test_expired_entries_go_at_mount(fresh_sim, mount_factory, tmp_path):
    sim = fresh_sim
    state = str(tmp_path / "state")
    m = mount_factory(sim.url, "cache_ttl=300", "state_dir=" + state)
    fin = space(sim, "Finance")["id"]
    ids = [x["attributes"]["id"] for x in sim.state()["apps"]
           if x["attributes"].get("spaceId") == fin][:2]
    d = m.path("spaces", "Finance", "apps")
    for i in ids:
        os.unlink(os.path.join(d, entry_of(d, i)))
    old, new = entries(m)
    assert m.unmount() == 0
    # the first one was deleted 8 days ago
    p = os.path.join(state, "trash", old, "trash.json")
    t = json.load(open(p))
    t["deletedAt"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                   time.gmtime(time.time() - 8 * 86400))
    open(p, "w").write(json.dumps(t))
    m2 = mount_factory(sim.url, "cache_ttl=300", "state_dir=" + state)  # trash_days: 7
    os.listdir(m2.mnt)  # (served once the namespace is up)
    assert sorted(x for x in os.listdir(os.path.join(state, "trash"))
                  if not x.startswith(".")) == [new]
    assert entries(m2) == [new]


def test_an_export_over_trash_qvf_max_is_not_kept_and_said_so(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300", "trash_qvf_max=1K")
    a = app_in(sim, space(sim, "Finance")["id"])
    d = m.path("spaces", "Finance", "apps")
    f = entry_of(d, a["id"])
    sim.reset()
    os.unlink(os.path.join(d, f))
    # the item's resourceSize says it is over the bound: not even exported
    assert routes(sim) == [("DELETE", "/api/v1/apps/" + a["id"])]
    (e,) = entries(m)
    t = meta(m, e)
    assert t["qvf"] is False and "trash_qvf_max" in t["notKept"]
    assert sorted(os.listdir(m.path(".trash", e))) == ["resource.json", "trash.json"]
    err = errors(m)
    assert "\ttrash\tspaces/Finance/apps/%s\tEFBIG\t" % f in err
    assert "trash spaces/Finance/apps/" + f in m.log()
    # it cannot come back without its export
    with pytest.raises(OSError) as x:
        os.rename(m.path(".trash", e), os.path.join(d, e))
    assert x.value.errno == errno.EPERM
    assert entries(m) == [e]
    assert "app.qvf" in os.getxattr(m.path(".trash", e), "user.qlik.error").decode()


def test_an_export_found_over_the_bound_after_exporting(fresh_sim, mount_factory):
    # without data the item's size says nothing of the export: exported, then judged
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300", "qvf_nodata", "trash_qvf_max=100")
    a = app_in(sim, space(sim, "Finance")["id"])
    d = m.path("spaces", "Finance", "apps")
    sim.reset()
    os.unlink(os.path.join(d, entry_of(d, a["id"])))
    assert [c[:2] for c in changes(sim)] == [("POST", "/api/v1/apps/%s/export" % a["id"]),
                                           ("DELETE", "/api/v1/apps/" + a["id"])]
    (e,) = entries(m)
    assert "the export is" in meta(m, e)["notKept"]


def test_trash_required_refuses_what_cannot_be_kept(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300", "trash_qvf_max=1K", "trash_required")
    a = app_in(sim, space(sim, "Finance")["id"])
    d = m.path("spaces", "Finance", "apps")
    p = os.path.join(d, entry_of(d, a["id"]))
    sim.reset()
    with pytest.raises(OSError) as x:
        os.unlink(p)
    assert x.value.errno == errno.EFBIG
    assert changes(sim) == [] and entries(m) == [] and on_disk(m) == []
    assert a["id"] in [y["attributes"]["id"] for y in sim.state()["apps"]]
    assert "trash_required" in os.getxattr(p, "user.qlik.error").decode()
    # a data file's bytes are never kept: refused too
    df = m.path("data-files", "customers.csv.json")
    with pytest.raises(OSError) as x:
        os.unlink(df)
    assert x.value.errno == errno.EPERM
    assert os.path.exists(df) and changes(sim) == []


def test_a_data_file_keeps_its_metadata_only(tm):
    sim, m = tm
    df = m.path("data-files", "customers.csv.json")
    meta_before = json.load(open(df))
    os.unlink(df)
    (e,) = entries(m)
    t = meta(m, e)
    assert t["type"] == "data-file" and "bytes" in t["notKept"]
    assert json.load(open(m.path(".trash", e, "resource.json"))) == meta_before
    assert errors(m) == ""  # known in advance: the log says it, .errors does not
    with pytest.raises(OSError) as x:
        os.rename(m.path(".trash", e), m.path("data-files", e))
    assert x.value.errno == errno.EPERM
    assert entries(m) == [e]


def test_trash_is_hidden_and_read_only(tm):
    sim, m = tm
    a = app_in(sim, space(sim, "Finance")["id"])
    d = m.path("spaces", "Finance", "apps")
    os.unlink(os.path.join(d, entry_of(d, a["id"])))
    (e,) = entries(m)
    assert ".trash" not in os.listdir(m.mnt)  # cp -r, rsync and tar leave it out
    assert os.path.isdir(m.path(".trash"))
    f = m.path(".trash", e, "resource.json")
    assert os.stat(f).st_mode & 0o222 == 0
    attempts = [lambda: open(f, "w"), lambda: os.unlink(f), lambda: os.rmdir(m.path(".trash", e)),
                lambda: open(m.path(".trash", "new.json"), "w"),
                lambda: os.mkdir(m.path(".trash", "x")),
                lambda: os.rename(m.path(".trash", e), m.path(".trash", "renamed")),
                lambda: os.rename(f, os.path.join(d, "x.json")),
                lambda: os.rename(os.path.join(d, entry_of(d, app_in(
                    sim, space(sim, "Finance")["id"])["id"])), m.path(".trash", "in.json"))]
    sim.reset()
    for fn in attempts:
        with pytest.raises(OSError) as x:
            fn()
        assert x.value.errno in (errno.EACCES, errno.EPERM), fn
    assert changes(sim) == [] and entries(m) == [e]
    # an entry of one kind goes back only into a directory of that kind
    with pytest.raises(OSError) as x:
        os.rename(m.path(".trash", e), m.path("users", e))
    assert x.value.errno == errno.EPERM
    assert entries(m) == [e]


def test_a_delayed_delete_is_kept_when_it_is_sent(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "cache_ttl=300", "delete_delay=1")
    a = app_in(sim, space(sim, "Finance")["id"])
    d = m.path("spaces", "Finance", "apps")
    os.unlink(os.path.join(d, entry_of(d, a["id"])))
    assert entries(m) == []  # nothing sent, nothing kept yet
    wait_for(lambda: a["id"] not in [x["attributes"]["id"] for x in sim.state()["apps"]],
             timeout=10, what="the DELETE")
    (e,) = entries(m)
    assert meta(m, e)["id"] == a["id"]


def test_an_app_goes_back_where_it_was_or_into_the_space_it_is_moved_to(tm):
    sim, m = tm
    fin = space(sim, "Finance")["id"]
    a = app_in(sim, fin)
    fd = m.path("spaces", "Finance", "apps")
    # into the tenant-wide apps/: back into the space it was in
    os.unlink(os.path.join(fd, entry_of(fd, a["id"])))
    (e,) = entries(m)
    subprocess.run(["mv", m.path(".trash", e), m.path("apps") + "/"], check=True)
    back = [x["attributes"] for x in sim.state()["apps"] if x["attributes"]["name"] == a["name"]]
    assert len(back) == 1 and back[0]["spaceId"] == fin and back[0]["id"] != a["id"]
    old, a = a["id"], back[0]
    os.mkdir(m.path("spaces", "Solo"))
    solo = space(sim, "Solo")["id"]
    f = entry_of(fd, old)  # back under the name it had (the restore map: old id -> new)
    assert os.getxattr(os.path.join(fd, f), "user.qlik.id").decode() == a["id"]
    os.rename(os.path.join(fd, f), m.path("spaces", "Solo", "apps", f))
    os.unlink(m.path("spaces", "Solo", "apps", f))
    (e,) = entries(m)
    # its space is deleted behind the mount's back: apps/ cannot put it back there
    assert sim.api("DELETE", "/api/v1/spaces/" + solo)[0] == 204
    with pytest.raises(OSError) as x:
        os.rename(m.path(".trash", e), m.path("apps", e))
    assert x.value.errno == errno.EPERM
    assert "is gone" in os.getxattr(m.path(".trash", e), "user.qlik.error").decode()
    # moved into another space's apps/, it goes there
    listed = set(os.listdir(fd))
    subprocess.run(["mv", m.path(".trash", e), fd + "/"], check=True)
    (g,) = set(os.listdir(fd)) - listed
    assert json.load(open(os.path.join(fd, g)))["spaceId"] == space(sim, "Finance")["id"]
    assert entries(m) == []


def test_trash_option_errors_name_the_option_and_form(tmp_path):
    from test_ops import qlikfs
    for opt, want in {"trash_days=0": "-o trash_days=0: expected DAYS, a number above 0",
                      "trash_days=40000": "-o trash_days=40000: expected DAYS",
                      "trash_days=week": "-o trash_days=week: expected DAYS",
                      "trash_qvf_max=1T": "-o trash_qvf_max=1T: expected BYTES"}.items():
        r = qlikfs("-o", opt, "http://127.0.0.1:1", str(tmp_path), env={"QLIK_API_KEY": "x"})
        assert r.returncode != 0 and want in r.stderr, (opt, r.stderr)
