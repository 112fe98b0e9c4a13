"""Reports through the real mount (docs/SEMANTICS.md "Reports"): writing a report request
into reports/ creates the report (one POST), its directory shows the status
(queued -> processing -> done / failed) and, once done, the outputs as files;
the registry in the state directory brings them back after a remount; rmdir
forgets them.  Each test asserts the exact requests the simulator received."""
import errno
import json
import os
import re
import subprocess
import time

import pytest

from conftest import wait_for

DIR_RE = re.compile(r"^(.*) \(([0-9a-f-]{36})\)$")


@pytest.fixture
def rm(fresh_sim, mount_factory, tmp_path):
    """A fresh tenant and a mount with its own state directory."""
    state = tmp_path / "state"
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "state_dir=%s" % state)
    return fresh_sim, m, state


def app_id(sim):
    return sim.state()["apps"][0]["attributes"]["id"]


def request_doc(sim, output_id="chart", out_type="pdf", app=None):
    return {"type": "sense-image-1.0",
            "senseImageTemplate": {"appId": app or app_id(sim),
                                   "visualization": {"id": "c1", "widthPx": 800,
                                                     "heightPx": 600}},
            "output": {"outputId": output_id, "type": out_type}}


def write_request(tmp_path, doc, name="req.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc, indent=1) if not isinstance(doc, str) else doc)
    return str(p)


def sent(sim, method=None, prefix=""):
    """(method, path, parsed body) of the requests the tenant received."""
    out = []
    for r in sim.log():
        if (method and r["method"] != method) or not r["path"].startswith(prefix):
            continue
        body = r.get("body")
        try:
            body = json.loads(body) if body else None
        except ValueError:
            pass
        out.append((r["method"], r["path"], body))
    return out


def report_dirs(m):
    return sorted(os.listdir(m.path("reports")))


def only_report(m):
    dirs = [d for d in report_dirs(m) if DIR_RE.match(d)]
    assert len(dirs) == 1, dirs
    name, rid = DIR_RE.match(dirs[0]).groups()
    return dirs[0], name, rid


def read(p):
    with open(p, "rb") as f:
        return f.read()


def status_of(m, d):
    p = m.path("reports", d, "status.json")
    raw = read(p)
    assert os.stat(p).st_size == len(raw)  # the size is known at stat
    assert raw.decode() == json.dumps(json.loads(raw), indent=2, ensure_ascii=False) + "\n"
    return json.loads(raw)


def create(m, tmp_path, doc, name="q1.json"):
    subprocess.run(["cp", write_request(tmp_path, doc), m.path("reports", name)], check=True)


def test_report_lifecycle_to_outputs(rm, tmp_path):
    sim, m, state = rm
    sim.config(report_delay_ms=1500)
    doc = request_doc(sim)
    sim.reset()
    create(m, tmp_path, doc)
    # exactly one POST, with the document as written
    assert sent(sim, "POST") == [("POST", "/api/v1/reports", doc)]
    d, name, rid = only_report(m)
    assert name == "q1" and "q1.json" not in report_dirs(m)
    assert os.getxattr(m.path("reports", d), "user.qlik.id").decode() == rid
    assert os.getxattr(m.path("reports", d), "user.qlik.type") == b"report"
    assert sorted(os.listdir(m.path("reports", d))) == ["outputs", "request.json", "status.json"]
    assert json.loads(read(m.path("reports", d, "request.json"))) == doc
    # the status moves queued -> processing -> done; outputs/ stays empty meanwhile
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        st = status_of(m, d)["status"]
        if not seen or seen[-1] != st:
            seen.append(st)
        if st == "done":
            break
        assert os.listdir(m.path("reports", d, "outputs")) == []
        time.sleep(0.2)
    assert seen == ["queued", "processing", "done"], seen
    # the status is fetched at most once per 2 s while it moves
    gets = len(sent(sim, "GET", "/api/v1/reports/%s/status" % rid))
    assert 2 <= gets <= 6, gets
    out = m.path("reports", d, "outputs")
    assert os.listdir(out) == ["chart.pdf"]
    size = os.stat(os.path.join(out, "chart.pdf")).st_size
    sim.reset()
    data = read(os.path.join(out, "chart.pdf"))
    assert data.startswith(b"%PDF-") and len(data) == size
    assert read(os.path.join(out, "chart.pdf")) == data
    # one download, kept on disk in the state directory: read again for free
    dl = sent(sim, "GET", "/api/v1/temp-contents/")
    assert len(dl) == 1, dl
    assert (state / "reports" / rid / "outputs" / "chart.pdf").read_bytes() == data
    assert os.getxattr(os.path.join(out, "chart.pdf"), "user.qlik.id").decode() == rid
    reg = json.loads((state / "reports.json").read_text())
    assert [(r["id"], r["name"], r["outputType"]) for r in reg["reports"]] == [(rid, "q1", "pdf")]


def test_failed_report_shows_why_and_no_outputs(rm, tmp_path):
    sim, m, _ = rm
    sim.config(report_delay_ms=100, report_fail=True)
    create(m, tmp_path, request_doc(sim))
    sim.config(report_fail=False)
    d, _, rid = only_report(m)
    time.sleep(0.3)
    st = wait_for(lambda: (lambda s: s if s["status"] == "failed" else None)(status_of(m, d)),
                  timeout=10, step=0.5, what="failed status")
    assert st["requestErrors"][0]["code"] == "REP-500000"
    assert os.listdir(m.path("reports", d, "outputs")) == []
    assert sent(sim, "GET", "/api/v1/reports/%s/outputs" % rid) == []


def test_invalid_json_sends_nothing_keeps_content(rm, tmp_path):
    sim, m, _ = rm
    sim.reset()
    bad = '{"type": "sense-image-1.0",\n "output": {'
    r = subprocess.run(["cp", write_request(tmp_path, bad), m.path("reports", "bad.json")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Invalid argument" in r.stderr, r.stderr
    assert sent(sim, "POST") == []
    assert "bad.json" in report_dirs(m)
    assert read(m.path("reports", "bad.json")).decode() == bad
    why = os.getxattr(m.path("reports", "bad.json"), "user.qlik.error").decode()
    assert why.startswith("invalid JSON at byte") and "line 2" in why, why
    # JSON, but not a report request: refused before sending too
    r = subprocess.run(["cp", write_request(tmp_path, {"type": "sense-image-1.0"}),
                        m.path("reports", "half.json")], capture_output=True, text=True)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert "output" in os.getxattr(m.path("reports", "half.json"), "user.qlik.error").decode()
    assert sent(sim, "POST") == []
    # fixed and saved again: sent once
    create(m, tmp_path, request_doc(sim), "bad.json")
    assert len(sent(sim, "POST")) == 1
    _, name, _ = only_report(m)
    assert name == "bad" and "bad.json" not in report_dirs(m)
    os.unlink(m.path("reports", "half.json"))
    assert "half.json" not in report_dirs(m)


def test_empty_file_creates_nothing(rm):
    sim, m, _ = rm
    sim.reset()
    subprocess.run(["touch", m.path("reports", "e.json")], check=True)
    assert sent(sim, "POST") == []
    assert os.stat(m.path("reports", "e.json")).st_size == 0


def test_refused_request_is_not_repeated(rm, tmp_path):
    sim, m, _ = rm
    sim.reset()
    doc = request_doc(sim, app="00000000-0000-0000-0000-000000000000")
    r = subprocess.run(["cp", write_request(tmp_path, doc), m.path("reports", "q.json")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "No such file" in r.stderr, r.stderr
    assert "REP-404001" in os.getxattr(m.path("reports", "q.json"), "user.qlik.error").decode()
    with open(m.path("reports", "q.json"), "r+") as f:  # closed again, unchanged
        f.read()
    assert len(sent(sim, "POST")) == 1
    assert report_dirs(m) == ["q.json"]


def test_post_retried_after_429_never_after_5xx(rm, tmp_path):
    sim, m, _ = rm
    sim.reset()
    sim.faults(status=429, retry_after=1, count=1, match="POST /api/v1/reports")
    create(m, tmp_path, request_doc(sim), "a.json")
    assert [r["status"] for r in sim.log() if r["method"] == "POST"] == [429, 202]
    only_report(m)
    sim.reset()
    sim.faults(status=503, count=5, match="POST /api/v1/reports")
    r = subprocess.run(["cp", write_request(tmp_path, request_doc(sim)),
                        m.path("reports", "b.json")], capture_output=True, text=True)
    sim.faults(clear=True)
    assert r.returncode != 0 and "Input/output error" in r.stderr, r.stderr
    assert [r["status"] for r in sim.log() if r["method"] == "POST"] == [503]
    assert "b.json" in report_dirs(m)


def test_temporary_file_renamed_to_request(rm, tmp_path):
    sim, m, _ = rm
    sim.reset()
    subprocess.run(["sh", "-c", 'jq . "$1" > "$2" && mv "$2" "$3"', "sh",
                    write_request(tmp_path, request_doc(sim)), m.path("reports", "tmp"),
                    m.path("reports", "renamed.json")], check=True)
    assert len(sent(sim, "POST")) == 1
    _, name, _ = only_report(m)
    assert name == "renamed" and report_dirs(m) == [only_report(m)[0]]


def test_persistence_across_remount(fresh_sim, mount_factory, tmp_path):
    sim = fresh_sim
    state = tmp_path / "state"
    sim.config(report_delay_ms=0)
    m = mount_factory(sim.url, "cache_ttl=300", "state_dir=%s" % state)
    create(m, tmp_path, request_doc(sim, "first"), "r1.json")
    create(m, tmp_path, request_doc(sim, "second", "image"), "r2.json")
    dirs = report_dirs(m)
    assert len(dirs) == 2
    d1 = next(d for d in dirs if d.startswith("r1 ("))
    d2 = next(d for d in dirs if d.startswith("r2 ("))
    first = read(m.path("reports", d1, "outputs", "first.pdf"))  # a local copy now
    assert m.unmount() == 0

    m2 = mount_factory(sim.url, "cache_ttl=300", "state_dir=%s" % state)
    sim.reset()
    assert report_dirs(m2) == dirs
    assert status_of(m2, d1)["status"] == "done"
    assert json.loads(read(m2.path("reports", d2, "request.json")))["output"]["type"] == "image"
    assert read(m2.path("reports", d1, "outputs", "first.pdf")) == first
    assert sent(sim, "GET", "/api/v1/temp-contents/") == []  # from the local copy
    assert os.listdir(m2.path("reports", d2, "outputs")) == ["second.png"]
    second = read(m2.path("reports", d2, "outputs", "second.png"))
    assert second.startswith(b"%PDF-")  # (the simulator renders every output as a PDF)
    assert len(sent(sim, "GET", "/api/v1/temp-contents/")) == 1
    assert sent(sim, "POST") == []


def test_local_copy_outlives_the_tenants_output(fresh_sim, mount_factory, tmp_path):
    sim = fresh_sim
    state = tmp_path / "state"
    sim.config(report_delay_ms=0)
    m = mount_factory(sim.url, "cache_ttl=300", "state_dir=%s" % state)
    create(m, tmp_path, request_doc(sim, "kept"), "kept.json")
    create(m, tmp_path, request_doc(sim, "lost"), "lost.json")
    kept = next(d for d in report_dirs(m) if d.startswith("kept ("))
    lost = next(d for d in report_dirs(m) if d.startswith("lost ("))
    data = read(m.path("reports", kept, "outputs", "kept.pdf"))
    assert os.listdir(m.path("reports", lost, "outputs")) == ["lost.pdf"]
    assert m.unmount() == 0
    sim.ctl("POST", "time", {"shift_ms": 2 * 3600 * 1000})  # outputs expire after 1 h
    m2 = mount_factory(sim.url, "cache_ttl=300", "state_dir=%s" % state)
    assert read(m2.path("reports", kept, "outputs", "kept.pdf")) == data
    with pytest.raises(OSError) as e:
        read(m2.path("reports", lost, "outputs", "lost.pdf"))
    assert e.value.errno == errno.ENOENT


def test_rm_r_forgets_the_report(rm, tmp_path):
    sim, m, state = rm
    sim.config(report_delay_ms=0)
    create(m, tmp_path, request_doc(sim))
    d, _, rid = only_report(m)
    read(m.path("reports", d, "outputs", "chart.pdf"))
    assert (state / "reports" / rid).is_dir()
    sim.reset()
    subprocess.run(["rm", "-r", m.path("reports", d)], check=True)
    assert report_dirs(m) == []
    assert not os.path.exists(m.path("reports", d))
    assert json.loads((state / "reports.json").read_text())["reports"] == []
    assert not (state / "reports" / rid).exists()
    # the API cannot delete reports: nothing was sent
    assert [r for r in sim.log() if r["method"] != "GET"] == []


def test_read_only_mount_lists_reports_refuses_new(fresh_sim, mount_factory, tmp_path):
    sim = fresh_sim
    state = tmp_path / "state"
    sim.config(report_delay_ms=0)
    m = mount_factory(sim.url, "state_dir=%s" % state)
    create(m, tmp_path, request_doc(sim))
    d, _, _ = only_report(m)
    assert m.unmount() == 0
    ro = mount_factory(sim.url, "ro", "state_dir=%s" % state)
    assert report_dirs(ro) == [d]
    assert read(ro.path("reports", d, "outputs", "chart.pdf")).startswith(b"%PDF-")
    with pytest.raises(OSError) as e:
        open(ro.path("reports", "new.json"), "w")
    assert e.value.errno == errno.EROFS
    with pytest.raises(OSError) as e:
        os.rmdir(ro.path("reports", d))
    assert e.value.errno == errno.EROFS


def test_two_mounts_share_the_registry(fresh_sim, mount_factory, tmp_path):
    sim = fresh_sim
    state = tmp_path / "state"
    sim.config(report_delay_ms=0)
    a = mount_factory(sim.url, "state_dir=%s" % state)
    b = mount_factory(sim.url, "state_dir=%s" % state)
    assert report_dirs(a) == report_dirs(b) == []  # both read the (empty) registry
    create(a, tmp_path, request_doc(sim, "one"), "one.json")
    create(b, tmp_path, request_doc(sim, "two"), "two.json")
    # each change starts from the file, under a lock: neither drops the other's
    reg = json.loads((state / "reports.json").read_text())["reports"]
    assert sorted(r["name"] for r in reg) == ["one", "two"]
    subprocess.run(["rm", "-r", a.path("reports", report_dirs(a)[0])], check=True)
    reg = json.loads((state / "reports.json").read_text())["reports"]
    assert [r["name"] for r in reg] == ["two"]
    assert b.unmount() == 0
    c = mount_factory(sim.url, "state_dir=%s" % state)
    assert [DIR_RE.match(d).group(1) for d in report_dirs(c)] == ["two"]
