"""Apps as .qvf files and data-file uploads, through the real mount: export
and re-import round trip, tar of apps/, request costs, upload by cp, replace,
rejected names, bounded memory."""
import errno
import json
import os
import signal
import subprocess
import tarfile
import threading
import time

import pytest

from conftest import wait_for
from test_write import changes


@pytest.fixture
def am(fresh_sim, mount_factory):
    return fresh_sim, mount_factory(fresh_sim.url, "cache_ttl=300")


def qvf_of(m, json_name, d="apps"):
    return m.path(d, ".qvf", json_name[:-5] + ".qvf")


def test_ls_l_of_apps_costs_its_list_pages_only(am):
    sim, m = am
    sim.reset()
    subprocess.run(["ls", "-l", m.path("apps")], check=True, capture_output=True)
    assert set(sim.routes()) == {"GET /api/v1/items"}
    names = os.listdir(m.path("apps", ".qvf"))
    jsons = [x for x in os.listdir(m.path("apps")) if x.endswith(".json")]
    assert sorted(n[:-4] for n in names) == sorted(j[:-5] for j in jsons)
    assert set(sim.routes()) == {"GET /api/v1/items"}  # listing .qvf/ exports nothing


def test_export_reads_and_stat_agree_and_are_cached(am):
    sim, m = am
    j = sorted(x for x in os.listdir(m.path("apps")) if x.endswith(".json"))[0]
    app_id = json.load(open(m.path("apps", j)))["resourceId"]
    sim.reset()
    p = qvf_of(m, j)
    size = os.stat(p).st_size
    data = open(p, "rb").read()
    assert len(data) == size and data.startswith(b"QVFSIM")
    assert [c[:2] for c in changes(sim)] == [("POST", "/api/v1/apps/%s/export" % app_id)]
    sim.reset()
    assert open(p, "rb").read() == data  # from the on-disk cache
    assert os.stat(p).st_size == size
    assert sim.total() == 0


def test_export_then_import_round_trip(am, tmp_path):
    sim, m = am
    j = sorted(x for x in os.listdir(m.path("apps")) if x.endswith(".json"))[0]
    orig = open(qvf_of(m, j), "rb").read()
    local = tmp_path / "copy.qvf"
    local.write_bytes(orig)
    fin = [s for s in sim.state()["spaces"] if s["name"] == "Finance"][0]["id"]
    sim.reset()
    subprocess.run(["cp", str(local), m.path("spaces", "Finance", "apps", "Round trip.qvf")],
                   check=True)
    posts = [c[:2] for c in changes(sim)]
    assert posts == [("POST", "/api/v1/temp-contents"), ("POST", "/api/v1/apps/import")]
    (imp,) = [r for r in sim.log() if r["path"] == "/api/v1/apps/import"]
    assert "name=Round%20trip" in imp["query"] and "spaceId=" + fin in imp["query"]
    (new,) = [x for x in os.listdir(m.path("spaces", "Finance", "apps"))
              if x.startswith("Round trip (")]
    again = open(qvf_of(m, new, os.path.join("spaces", "Finance", "apps")), "rb").read()
    assert again == orig
    # the copied-in file is not listed, and its bytes cannot be read back
    assert "Round trip.qvf" not in os.listdir(m.path("spaces", "Finance", "apps"))


def test_concurrent_readers_of_one_app_by_two_paths_export_it_once(am):
    """apps/.qvf/X.qvf and spaces/Finance/apps/.qvf/X.qvf are one app: read at
    the same time while nothing is cached, they cost one export (the second
    reader waits for the first's and shares it)."""
    sim, m = am
    d = os.path.join("spaces", "Finance", "apps")
    j = sorted(x for x in os.listdir(m.path(d)) if x.endswith(".json"))[0]
    assert j in os.listdir(m.path("apps"))
    app_id = json.load(open(m.path(d, j)))["resourceId"]
    paths = [qvf_of(m, j), qvf_of(m, j, d)]
    sim.reset()
    sim.config(latency_ms=300)  # an export that takes a while
    out, errs = {}, {}

    def reader(i):
        try:
            out[i] = open(paths[i], "rb").read()
        except OSError as e:
            errs[i] = e.errno

    try:
        th = [threading.Thread(target=reader, args=(i,)) for i in range(2)]
        for t in th:
            t.start()
        for t in th:
            t.join(120)
    finally:
        sim.config(latency_ms=0)
    assert errs == {} and len(out) == 2, errs
    assert out[0] == out[1] and out[0].startswith(b"QVFSIM")
    exports = [c[:2] for c in changes(sim) if c[1].endswith("/export")]
    assert exports == [("POST", "/api/v1/apps/%s/export" % app_id)], changes(sim)


def test_failed_import_keeps_the_file_and_says_why(am, tmp_path):
    sim, m = am
    junk = tmp_path / "junk.qvf"
    junk.write_bytes(b"this is not an app\n" * 10)
    p = m.path("apps", "Junk.qvf")
    r = subprocess.run(["cp", str(junk), p], capture_output=True, text=True)
    assert r.returncode != 0
    assert open(p, "rb").read() == junk.read_bytes()
    assert os.getxattr(p, "user.qlik.error")
    assert not [a for a in sim.state()["apps"] if a["attributes"]["name"] == "Junk"]
    os.unlink(p)
    assert not os.path.exists(p)


def test_an_export_follows_its_app_through_a_rename_an_rm_and_a_relisting(am):
    """An app's export is found by the app's id (.qvf/ keeps no pointer on
    either node): mv of the app file renames its export, same inode; rm of
    the export is accepted and keeps it away (tar x unlinks, then creates
    with O_EXCL) until a listing of apps/ places the app again."""
    sim, m = am
    j = sorted(x for x in os.listdir(m.path("apps")) if x.endswith(".json"))[1]
    app_id = json.load(open(m.path("apps", j)))["resourceId"]
    old = qvf_of(m, j)
    ino = os.stat(old).st_ino
    renamed = "Follows its app (%s).json" % app_id
    os.rename(m.path("apps", j), m.path("apps", renamed))
    new = qvf_of(m, renamed)
    names = os.listdir(m.path("apps", ".qvf"))
    assert os.path.basename(new) in names and os.path.basename(old) not in names
    assert not os.path.exists(old)
    st = os.stat(new)
    assert st.st_ino == ino
    data = open(new, "rb").read()
    assert data.startswith(b"QVFSIM") and len(data) == os.stat(new).st_size
    os.unlink(new)
    assert not os.path.exists(new)
    assert os.path.basename(new) not in os.listdir(m.path("apps", ".qvf"))
    m.proc.send_signal(signal.SIGHUP)  # the caches dropped: apps/ listed again
    for _ in range(100):
        if os.path.basename(new) in os.listdir(m.path("apps", ".qvf")):
            break
        time.sleep(0.05)
    assert os.path.basename(new) in os.listdir(m.path("apps", ".qvf"))
    data = open(new, "rb").read()
    assert data.startswith(b"QVFSIM") and len(data) == os.stat(new).st_size


def test_a_second_mount_leaves_the_first_ones_export_alone(fresh_sim, mount_factory, tmp_path):
    """Mounts of one tenant share the export cache (the default cache
    directory): a mount starting while another downloads an export must not
    take the download's temporary file as a leftover."""
    cd = str(tmp_path / "cache")
    a = mount_factory(fresh_sim.url, "cache_dir=" + cd)
    name = sorted(n for n in os.listdir(a.path("apps")) if n.endswith(".json"))[0]
    q = qvf_of(a, name)
    fresh_sim.faults(mode="stall", stall_ms=3000, match="GET /api/v1/temp-contents")
    got = {}

    def read():
        try:
            with open(q, "rb") as f:
                got["data"] = f.read()
        except OSError as e:
            got["error"] = e

    t = threading.Thread(target=read)
    t.start()
    qdir = os.path.join(cd, "qvf")
    wait_for(lambda: os.path.isdir(qdir) and any(".tmp." in n for n in os.listdir(qdir)),
             timeout=20, what="the download's temporary file")
    b = mount_factory(fresh_sim.url, "cache_dir=" + cd)
    assert os.path.isdir(b.path("apps"))
    t.join(60)
    assert "error" not in got, got.get("error")
    assert got["data"].startswith(b"QVFSIM") and len(got["data"]) == os.stat(q).st_size


def test_tar_of_apps_including_qvf(am, tmp_path):
    sim, m = am
    out = tmp_path / "apps.tar"
    r = subprocess.run(["tar", "cf", str(out), "-C", m.path("spaces", "Finance"), "apps"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with tarfile.open(out) as t:
        members = {x.name: x for x in t.getmembers() if x.isfile()}
        qvfs = [n for n in members if n.endswith(".qvf")]
        assert qvfs and len(qvfs) == len([n for n in members if n.endswith(".json")])
        for n, info in members.items():
            data = t.extractfile(info).read()
            assert len(data) == info.size
            assert data == open(m.path("spaces", "Finance", n), "rb").read()


def test_upload_by_cp_replace_and_metadata(am, tmp_path):
    sim, m = am
    src = tmp_path / "sales.csv"
    src.write_text("region,amount\nnorth,1\n")
    sim.reset()
    subprocess.run(["cp", str(src), m.path("data-files", "sales.csv")], check=True)
    (post,) = [c for c in changes(sim) if c[0] == "POST"]
    assert post[1] == "/api/v1/data-files"
    assert 'name="File"' in post[2] and "region,amount" in post[2]
    meta = json.load(open(m.path("data-files", "sales.csv.json")))
    assert meta["name"] == "sales.csv" and meta["size"] == src.stat().st_size
    assert "sales.csv" not in os.listdir(m.path("data-files"))
    # the content cannot be read back; the metadata can
    with pytest.raises(OSError) as e:
        open(m.path("data-files", "sales.csv"), "rb").read()
    assert e.value.errno == errno.EACCES
    src.write_text("region,amount\nnorth,1\nsouth,2\n")
    sim.reset()
    subprocess.run(["cp", str(src), m.path("data-files", "sales.csv")], check=True)
    assert [c[:2] for c in changes(sim)] == [("PUT", "/api/v1/data-files/" + meta["id"])]
    after = json.load(open(m.path("data-files", "sales.csv.json")))
    assert after["id"] == meta["id"] and after["size"] == src.stat().st_size


def test_upload_into_a_space_and_a_folder(am, tmp_path):
    sim, m = am
    src = tmp_path / "q.csv"
    src.write_text("a\n1\n")
    subprocess.run(["cp", str(src), m.path("spaces", "Finance", "data-files", "q.csv")],
                   check=True)
    fin = [s for s in sim.state()["spaces"] if s["name"] == "Finance"][0]["id"]
    (df,) = [d for d in sim.state()["data_files"] if d["name"] == "q.csv"]
    assert df.get("spaceId") == fin
    folder = next(d for d in sim.state()["data_files"] if d["folder"] and not d.get("spaceId"))
    subprocess.run(["cp", str(src), m.path("data-files", folder["name"], "in-folder.csv")],
                   check=True)
    assert any(d["name"] == folder["name"] + "/in-folder.csv" for d in sim.state()["data_files"])


def test_rejected_names_fail_with_einval_and_send_nothing(am, tmp_path):
    sim, m = am
    src = tmp_path / "x.csv"
    src.write_text("a\n")
    sim.reset()
    for bad in ("noextension", "bad:name.csv", "what?.csv"):
        with pytest.raises(OSError) as e:
            open(m.path("data-files", bad), "wb").close()
        assert e.value.errno == errno.EINVAL, bad
    assert not [c for c in changes(sim)]
    assert "extension" in m.log()


def test_rsync_into_data_files(am, tmp_path):
    sim, m = am
    src = tmp_path / "r"
    src.mkdir()
    (src / "one.csv").write_text("x\n1\n")
    (src / "two.txt").write_text("hello\n")
    r = subprocess.run(["rsync", "-r", str(src) + "/", m.path("data-files") + "/"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = {d["name"] for d in sim.state()["data_files"]}
    assert {"one.csv", "two.txt"} <= names
    assert not [x for x in os.listdir(m.path("data-files")) if x.startswith(".")]


def test_large_upload_streams_with_bounded_memory(am, tmp_path):
    sim, m = am
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        line = b"0123456789," * 9 + b"x\n"
        f.write(line * (48 * 1024 * 1024 // len(line)))
    rss0 = int(open("/proc/%d/statm" % m.proc.pid).read().split()[1])
    subprocess.run(["cp", str(big), m.path("data-files", "big.csv")], check=True)
    rss1 = int(open("/proc/%d/statm" % m.proc.pid).read().split()[1])
    meta = json.load(open(m.path("data-files", "big.csv.json")))
    assert meta["size"] == big.stat().st_size
    grew = (rss1 - rss0) * os.sysconf("SC_PAGE_SIZE")
    assert grew < 24 * 1024 * 1024, grew  # the 48 MiB never sat in memory
