"""Raw requests through the api control file of the real mount (docs/SEMANTICS.md "Raw
requests: api"): a shell writes a request and reads the answer on the same
descriptor (exec 3<>), every method, query, headers, JSON / text / file /
multipart bodies, json / text / binary answers, retries with backoff against
injected 5xx and 429, and the refusals (another origin, credentials
headers, local files for other users).  Each test asserts the exact requests
the simulator received."""
import errno
import json
import os
import subprocess
import time

import pytest


@pytest.fixture
def am(fresh_sim, mount_factory, tmp_path):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "state_dir=%s" % (tmp_path / "state"))
    return fresh_sim, m


def ask(m, req, check=True):
    """Writes req on fd 3 (exec 3<>api) and reads the answer from it, in bash."""
    doc = req if isinstance(req, str) else json.dumps(req)
    r = subprocess.run(["bash", "-c", 'exec 3<>"$1"; printf "%s" "$2" >&3; cat <&3', "bash",
                        m.path("api"), doc], capture_output=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def ask_json(m, req):
    out = ask(m, req).stdout.decode()
    assert out.endswith("\n") and out == json.dumps(json.loads(out), indent=2,
                                                    ensure_ascii=False) + "\n"
    return json.loads(out)


def log(sim, prefix="/api/"):
    return [r for r in sim.log() if r["path"].startswith(prefix)]


def test_get_with_query_and_headers(am):
    sim, m = am
    sim.reset()
    ans = ask_json(m, {"method": "GET", "path": "/api/v1/items",
                       "query": {"resourceType": "app", "limit": 2, "skip": None},
                       "headers": {"X-Trace": "t-1", "Accept": "application/json"}})
    assert ans["status"] == 200 and ans["ok"] is True and ans["attempts"] == 1
    assert len(ans["body"]["data"]) == 2
    assert ans["headers"]["content-type"].startswith("application/json")
    reqs = log(sim)
    assert [(r["method"], r["path"], r["query"]) for r in reqs] == [
        ("GET", "/api/v1/items", "resourceType=app&limit=2")]
    assert reqs[0]["headers"]["x-trace"] == "t-1"
    assert reqs[0]["headers"]["accept"] == "application/json"


def test_post_put_delete_with_json_bodies(am):
    sim, m = am
    sim.reset()
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/spaces",
                       "body": {"name": "Raw space", "type": "shared"}})
    assert ans["status"] == 201 and ans["body"]["name"] == "Raw space"
    sid = ans["body"]["id"]
    app = sim.state()["apps"][0]["attributes"]["id"]
    ans = ask_json(m, {"method": "PUT", "path": "/api/v1/apps/" + app,
                       "body": {"attributes": {"description": "put raw"}}})
    assert ans["ok"] and ans["status"] == 200
    ans = ask_json(m, {"method": "DELETE", "path": "/api/v1/spaces/" + sid})
    assert ans["ok"] and ans["status"] == 204 and ans["body"] is None
    assert [(r["method"], r["path"], json.loads(r["body"]) if r["body"] else None)
            for r in log(sim)] == [
        ("POST", "/api/v1/spaces", {"name": "Raw space", "type": "shared"}),
        ("PUT", "/api/v1/apps/" + app, {"attributes": {"description": "put raw"}}),
        ("DELETE", "/api/v1/spaces/" + sid, None)]
    assert log(sim)[0]["headers"]["content-type"] == "application/json"
    st = sim.state()
    assert not any(s["id"] == sid for s in st["spaces"])
    assert next(a for a in st["apps"]
                if a["attributes"]["id"] == app)["attributes"]["description"] == "put raw"


def test_multipart_body_with_a_local_file(am, tmp_path):
    sim, m = am
    csv = tmp_path / "raw.csv"
    csv.write_text("a,b\n1,2\n")
    sim.reset()
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/data-files",
                       "multipart": [{"name": "Json", "json": {"name": "raw.csv"}},
                                     {"name": "File", "file": str(csv),
                                      "contentType": "text/csv"}]})
    assert ans["status"] == 201, ans
    (r,) = log(sim)
    assert r["method"] == "POST" and r["path"] == "/api/v1/data-files"
    assert r["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert 'name="File"; filename="raw.csv"' in r["body"] and "a,b\n1,2\n" in r["body"]
    assert '{"name":"raw.csv"}' in r["body"]
    assert any(f["name"] == "raw.csv" for f in sim.state()["data_files"])
    # a relative path is refused, before anything is sent
    sim.reset()
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/data-files",
                       "bodyFile": "raw.csv"})
    assert ans["ok"] is False and ans["status"] == 0 and "Invalid argument" in ans["error"]
    assert log(sim) == []


def test_text_and_binary_responses(am, tmp_path):
    sim, m = am
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/temp-contents",
                       "query": {"filename": "hello.txt"}, "bodyText": "hello"})
    assert ans["status"] == 201
    loc = ans["headers"]["location"]
    assert ask(m, {"path": loc, "response": "text"}).stdout == b"hello\n"
    assert ask(m, {"path": loc, "response": "binary"}).stdout == b"hello"
    blob = bytes(range(256)) * 64
    (tmp_path / "blob").write_bytes(blob)
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/temp-contents",
                       "query": {"filename": "blob.bin"}, "bodyFile": str(tmp_path / "blob")})
    loc = ans["headers"]["location"]
    assert ask(m, {"path": loc, "response": "binary"}).stdout == blob
    # in json mode a body that is not UTF-8 comes base64-encoded
    import base64
    assert base64.b64decode(ask_json(m, {"path": loc})["bodyBase64"]) == blob


def test_failure_in_text_mode_fails_the_read_and_is_logged_once(am):
    sim, m = am
    sim.reset()
    r = ask(m, {"path": "/api/v1/spaces/000000000000000000000000", "response": "text"},
            check=False)
    assert r.returncode != 0 and r.stdout == b""
    assert b"No such file or directory" in r.stderr
    assert len(log(sim)) == 1
    lines = [l for l in m.log().splitlines() if "read api: api:" in l]
    assert len(lines) == 1 and "HTTP 404" in lines[0], m.log()
    # in json mode the same answer is a document
    ans = ask_json(m, {"path": "/api/v1/spaces/000000000000000000000000"})
    assert ans["ok"] is False and ans["status"] == 404 and ans["errno"] == "ENOENT"
    assert "error" in ans and "404" in ans["error"]


def test_retries_with_exponential_backoff_against_503(am):
    sim, m = am
    sim.reset()
    sim.faults(status=503, count=3, match="GET /api/v1/spaces")
    t0 = time.monotonic()
    ans = ask_json(m, {"path": "/api/v1/spaces", "retries": 3, "retryDelay": 0.2,
                       "backoff": "exponential"})
    took = time.monotonic() - t0
    assert ans["ok"] and ans["status"] == 200 and ans["attempts"] == 4
    assert took >= 0.2 + 0.4 + 0.8, took
    assert [r["status"] for r in log(sim)] == [503, 503, 503, 200]
    # fixed backoff, and giving up after the retries
    sim.reset()
    sim.faults(status=503, count=3, match="GET /api/v1/spaces")
    t0 = time.monotonic()
    ans = ask_json(m, {"path": "/api/v1/spaces", "retries": 2, "retryDelay": 0.3,
                       "backoff": "fixed"})
    took = time.monotonic() - t0
    sim.faults(clear=True)
    assert ans["ok"] is False and ans["status"] == 503 and ans["attempts"] == 3
    assert 0.6 <= took < 5, took
    assert [r["status"] for r in log(sim)] == [503, 503, 503]


def test_429_waits_for_retry_after(am):
    sim, m = am
    sim.reset()
    sim.faults(status=429, count=1, retry_after=1, match="POST /api/v1/spaces")
    t0 = time.monotonic()
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/spaces",
                       "body": {"name": "After 429", "type": "shared"}})
    assert time.monotonic() - t0 >= 1.0
    assert ans["status"] == 201 and ans["attempts"] == 2
    assert [r["status"] for r in log(sim)] == [429, 201]


def test_retry_on_all_errors(am):
    sim, m = am
    body = {"name": "Retried", "type": "shared"}
    sim.reset()
    sim.faults(status=400, count=1, match="POST /api/v1/spaces")
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/spaces", "body": body})
    assert ans["ok"] is False and ans["status"] == 400 and ans["attempts"] == 1
    sim.faults(status=400, count=1, match="POST /api/v1/spaces")
    sim.faults(status=500, count=1, match="POST /api/v1/spaces")
    ans = ask_json(m, {"method": "POST", "path": "/api/v1/spaces", "body": body,
                       "retryOn": "all", "retries": 3, "retryDelay": 0.05})
    assert ans["ok"] and ans["status"] == 201 and ans["attempts"] == 3
    assert [r["status"] for r in log(sim)] == [400, 400, 500, 201]


def test_other_origin_and_credentials_refused(am):
    sim, m = am
    sim.reset()
    ans = ask_json(m, {"path": "http://evil.example.com/api/v1/users"})
    assert ans["ok"] is False and ans["status"] == 0
    assert "not on the tenant" in ans["error"]
    ans = ask_json(m, {"path": "/api/v1/users", "headers": {"Authorization": "Bearer stolen"}})
    assert ans["ok"] is False and "Authorization" in ans["error"] and "may not be set" in ans["error"]
    ans = ask_json(m, {"path": "/api/v1/users", "headers": {"cookie": "a=b"}})
    assert ans["ok"] is False and "may not be set" in ans["error"]
    assert log(sim, "/") == []


def test_documents_that_cannot_be_parsed(am):
    sim, m = am
    sim.reset()
    ans = ask_json(m, "not json")
    assert ans == {"status": 0, "ok": False, "error": ans["error"]} and "JSON object" in ans["error"]
    ans = ask_json(m, {"path": "/api/v1/users", "colour": "red"})
    assert "unknown field" in ans["error"]
    # a reader that asked for raw bytes gets an error, not a JSON document
    r = ask(m, {"path": "/api/v1/users", "response": "binary", "colour": "red"}, check=False)
    assert r.returncode != 0 and r.stdout == b"" and b"Invalid argument" in r.stderr
    assert log(sim, "/") == []


def test_plain_cat_reads_nothing(am):
    sim, m = am
    sim.reset()
    assert subprocess.run(["cat", m.path("api")], capture_output=True, check=True).stdout == b""
    assert os.stat(m.path("api")).st_size == 0
    assert log(sim, "/") == []


def test_one_descriptor_many_requests_sessions_per_open(am):
    sim, m = am
    a = os.open(m.path("api"), os.O_RDWR)
    b = os.open(m.path("api"), os.O_RDWR)
    try:
        os.write(a, b'{"path": "/api/v1/users/me"}')
        os.write(b, b'{"path": "/api/v1/spaces", "query": {"limit": 1}}')

        def answer(fd):
            out = b""
            while True:
                chunk = os.read(fd, 7)  # small reads: the session's own cursor
                if not chunk:
                    return json.loads(out)
                out += chunk

        assert answer(b)["body"]["data"][0]["type"] in ("shared", "managed", "data")
        me = answer(a)["body"]
        assert me["id"] == sim.state()["me"]
        assert os.read(a, 100) == b""  # the end stays the end
        with pytest.raises(OSError) as e:
            os.lseek(a, 0, os.SEEK_SET)
        assert e.value.errno == errno.ESPIPE
        os.write(a, b'{"path": "/api/v1/spaces", "query": {"limit": 2}}')  # the next request
        assert len(answer(a)["body"]["data"]) == 2
    finally:
        os.close(a)
        os.close(b)


def test_brace_group_and_python_patterns(am):
    sim, m = am
    r = subprocess.run(["bash", "-c", '{ printf \'{"path":"/api/v1/users/me"}\' >&3; '
                        'jq -r .body.id <&3; } 3<>"$1"', "bash", m.path("api")],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == sim.state()["me"]
    with open(m.path("api"), "r+b", buffering=0) as f:
        f.write(b'{"path": "/api/v1/users/me", "response": "text"}')
        assert json.loads(f.read())["id"] == sim.state()["me"]


def test_read_only_mount_refuses_raw_requests(fresh_sim, mount_factory, tmp_path):
    m = mount_factory(fresh_sim.url, "ro", "state_dir=%s" % (tmp_path / "state"))
    with pytest.raises(OSError) as e:
        os.open(m.path("api"), os.O_RDWR)
    assert e.value.errno == errno.EROFS
    assert open(m.path("api"), "rb").read() == b""


def test_local_files_only_for_the_mounts_user(fresh_sim, mount_factory, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to run a request as another user")
    sim = fresh_sim
    m = mount_factory(sim.url, "allow_other", "umask=000",
                      "state_dir=%s" % (tmp_path / "state"))
    os.chmod(m.dir, 0o755)
    secret = tmp_path / "secret.txt"
    secret.write_text("root's data\n")
    doc = json.dumps({"method": "POST", "path": "/api/v1/temp-contents",
                      "query": {"filename": "s.txt"}, "bodyFile": str(secret)})
    sim.reset()
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "bash", "-c", 'exec 3<>"$1"; printf "%s" "$2" >&3; cat <&3', "bash",
                        m.path("api"), doc], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert ans["ok"] is False and "not permitted" in ans["error"], ans
    assert log(sim, "/") == []
    # the same request from the mount's own user goes out
    assert ask_json(m, doc)["status"] == 201
    assert len(log(sim)) == 1
