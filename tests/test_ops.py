"""Operability, through real mounts: logs (trace lines, no secret), the
errors file, the status file, safety rails (busy mount point, option
errors, statfs, fsname), the docs against --help, and an installed qlikfs
mounted from a temporary prefix (directly and with mount -t fuse.qlikfs)."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import API_KEY, BUILD, QLIKFS, ROOT, Mount, wait_for

TRACE = re.compile(r"trace: http (GET|POST|PUT|PATCH|DELETE) (\S+) status=(\d+|-)"
                   r"(?: error=\"[^\"]*\")? sent=(\d+) received=(\d+) ms=(\d+) retry=(\d+)$")


def qlikfs(*args, env=None):
    e = dict(os.environ)
    e.pop("QLIK_API_KEY", None)
    e.update(env or {})
    return subprocess.run([QLIKFS, *args], capture_output=True, text=True, timeout=60, env=e)


def trace_lines(text):
    return [m.groups() for m in map(TRACE.search, text.splitlines()) if m]


def status(m):
    p = m.path(".status.json")
    return json.load(open(p))


# ---- logs ----

def test_trace_logs_one_line_per_request_with_its_fields_and_no_secret(fresh_sim, mount_factory,
                                                                        tmp_path):
    sim = fresh_sim
    logf = tmp_path / "qlikfs.log"
    m = mount_factory(sim.url, "log_level=trace", "log_file=%s" % logf, "noqvf")
    os.listdir(m.path("spaces"))
    open(m.path("spaces", "Finance", "space.json")).read()
    # a raw request whose query carries a secret-looking parameter
    fd = os.open(m.path("api"), os.O_RDWR)
    os.write(fd, json.dumps({"method": "GET", "path": "/api/v1/spaces",
                             "query": {"limit": 1, "access_token": "hush-0123456789"}}).encode())
    assert json.loads(os.read(fd, 1 << 20))["status"] == 200
    os.close(fd)
    text = logf.read_text()
    lines = trace_lines(text)
    reqs = sim.log()
    assert len(lines) == len(reqs) >= 4, text
    for (meth, path, st, sent, recv, ms, retry), r in zip(lines, reqs):
        assert meth == r["method"] and path.split("?")[0] == r["path"], (path, r)
        assert int(st) == r["status"] and int(retry) == 0
    spaces = [l for l in lines if l[1].startswith("/api/v1/spaces?")]
    assert spaces and int(spaces[0][4]) > 1000  # the listing's bytes
    assert "access_token=REDACTED" in text and "hush-0123456789" not in text
    assert API_KEY not in text and API_KEY not in m.log()
    assert os.stat(logf).st_mode & 0o077 == 0
    # the log on standard error (-f) is empty: everything went to the file
    assert "trace:" not in m.log()


def test_trace_shows_retries_and_the_status_counts_429s(fresh_sim, mount_factory, tmp_path):
    sim = fresh_sim
    logf = tmp_path / "log"
    m = mount_factory(sim.url, "log_level=trace", "log_file=%s" % logf, "noqvf")
    sim.faults(mode="status", status=429, count=2, retry_after=1, match="GET /api/v1/users")
    assert len(os.listdir(m.path("users"))) == 120
    users = [l for l in trace_lines(logf.read_text()) if l[1].startswith("/api/v1/users?")]
    assert [(l[2], l[6]) for l in users[:3]] == [("429", "0"), ("429", "1"), ("200", "2")]
    st = status(m)
    assert st["rate_limited"]["responses_429"] == 2
    assert st["rate_limited"]["waited_ms"] >= 1900
    assert st["requests"]["retries"] == 2
    assert st["requests"]["by_method"]["GET"]["4xx"] == 2


def test_every_failure_line_names_the_path(sim, mount_factory):
    m = mount_factory(sim.url, "noqvf")
    with pytest.raises(PermissionError):
        open(m.path("me.json"), "w")
    assert re.search(r"warning: open me\.json: .*Permission denied", m.log()), m.log()


def test_log_level_and_log_file_errors(tmp_path):
    r = qlikfs("-o", "log_level=loud", "http://127.0.0.1:1", str(tmp_path),
               env={"QLIK_API_KEY": "x"})
    assert r.returncode != 0 and "-o log_level=loud" in r.stderr and "trace" in r.stderr
    r = qlikfs("-o", "log_file=/nonexistent/dir/log", "http://127.0.0.1:1", str(tmp_path),
               env={"QLIK_API_KEY": "x"})
    assert r.returncode != 0 and "log_file=/nonexistent/dir/log" in r.stderr


def test_journald_priorities_on_stderr(sim, tmp_path):
    """With $JOURNAL_STREAM naming standard error, lines carry <N> priorities."""
    errf = open(tmp_path / "err", "w+")
    st = os.fstat(errf.fileno())
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, QLIK_API_KEY=API_KEY, XDG_CACHE_HOME=str(tmp_path / "cache"),
               JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    p = subprocess.Popen([QLIKFS, "-f", "-o", "state_dir=%s,poll_interval=0,noqvf" % (tmp_path / "s"),
                          sim.url, str(mnt)], stderr=errf, env=env)
    try:
        wait_for(lambda: os.path.ismount(mnt), what="mount")
        with pytest.raises(PermissionError):
            open(mnt / "me.json", "w")
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)])
        p.wait(30)
    errf.seek(0)
    text = errf.read()
    errf.close()
    assert re.search(r"^<6>info: mounted ", text, re.M), text
    assert re.search(r"^<4>warning: open me\.json: ", text, re.M), text


# ---- the errors file ----

def test_rejected_shell_write_is_in_the_errors_file(sim, mount_factory):
    m = mount_factory(sim.url, "noqvf")
    p = m.path("spaces", "Finance", "space.json")
    before = os.stat(m.path(".errors")).st_size
    # the shell's > cannot see close's failure: it exits 0
    r = subprocess.run("echo 'not json' > '%s'" % p, shell=True)
    assert r.returncode == 0
    errs = open(m.path(".errors")).read()
    assert len(errs.encode()) == os.stat(m.path(".errors")).st_size > before
    t, op, path, en, why = errs.splitlines()[-1].split("\t")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", t)
    assert (op, path, en) == ("close", "spaces/Finance/space.json", "EINVAL")
    assert "invalid JSON" in why
    assert "close spaces/Finance/space.json: invalid JSON" in m.log()
    # tee and cp see the failure
    r = subprocess.run("echo 'not json' | tee '%s' >/dev/null" % p, shell=True)
    assert r.returncode != 0
    src = os.path.join(m.dir, "bad.json")
    open(src, "w").write("{")
    assert subprocess.run(["cp", src, p], capture_output=True).returncode != 0
    assert subprocess.run(["dd", "if=" + src, "of=" + p, "conv=fsync", "status=none"],
                          capture_output=True).returncode != 0
    # the table of docs/OPTIONS.md: who sees the failed close
    open(src, "w").write('"not an object"\n')
    for cmd, seen in (("printf x > \"$1\"", False), ("python3 -c 'print(1)' > \"$1\"", False),
                      ("cat \"$2\" > \"$1\"", True), ("jq . \"$2\" > \"$1\"", True),
                      ("sed s/x/y/ \"$2\" > \"$1\"", True), ("awk 1 \"$2\" > \"$1\"", True)):
        if not shutil.which(cmd.split()[0]):
            continue
        r = subprocess.run(["bash", "-c", cmd, "-", p, src], capture_output=True)
        assert (r.returncode != 0) == seen, (cmd, r.returncode, r.stderr)
    assert len(open(m.path(".errors")).read().splitlines()) >= 8
    # hidden: not listed, read-only
    assert ".errors" not in os.listdir(m.mnt) and ".status.json" not in os.listdir(m.mnt)
    with pytest.raises(PermissionError):
        open(m.path(".errors"), "w")


def test_server_refusal_reason_is_in_the_errors_file(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "noqvf")
    p = m.path("spaces", "Finance", "space.json")
    d = json.load(open(p))
    d["description"] = "forbidden"
    sim.faults(mode="status", status=403, count=1, match="PATCH /api/v1/spaces")
    # printf is the shell's own: it exits 0, the close's failure unseen
    r = subprocess.run(["bash", "-c", 'printf "%s" "$1" > "$2"', "-", json.dumps(d), p])
    assert r.returncode == 0
    line = open(m.path(".errors")).read().splitlines()[-1].split("\t")
    assert line[1:4] == ["close", "spaces/Finance/space.json", "EACCES"]
    assert "PATCH /api/v1/spaces/" in line[4] and "403" in line[4]
    assert status(m)["errors"]["count"] == 1


def test_tail_follows_the_errors_file(sim, mount_factory):
    m = mount_factory(sim.url, "noqvf")
    tail = subprocess.Popen(["tail", "-s", "0.2", "-f", m.path(".errors")],
                            stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        subprocess.run("echo nope > '%s'" % m.path("spaces", "Finance", "space.json"), shell=True)
        line = tail.stdout.readline()
        assert "\tclose\tspaces/Finance/space.json\tEINVAL\t" in line
    finally:
        tail.kill()
        tail.wait()


# ---- the status file ----

def test_status_request_count_equals_the_simulators(fresh_sim, mount_factory):
    sim = fresh_sim
    m = mount_factory(sim.url, "noqvf", "cache_ttl=300")
    os.listdir(m.path("apps"))
    os.listdir(m.path("spaces"))
    for _ in range(3):
        open(m.path("spaces", "Finance", "space.json")).read()
    json.load(open(m.path("users", ".index.json")))
    st = status(m)
    reqs = sim.log()
    assert st["requests"]["total"] == len(reqs) == sim.total()
    by = {}
    for r in reqs:
        by.setdefault(r["method"], 0)
        by[r["method"]] += 1
    assert {k: sum(v.values()) for k, v in st["requests"]["by_method"].items()} == by
    assert st["bytes"]["received"] > 10000
    assert st["cache"]["hits"] >= 3 and "misses" in st["cache"]
    assert st["objects"]["nodes"] > 100 and st["cache"]["entries"] >= 1
    assert st["operations"] == [] and st["pid"] == m.proc.pid
    assert st["tenant"] == sim.url
    # stat before read gives the size read; reading makes no request
    for _ in range(3):
        size = os.stat(m.path(".status.json")).st_size
        assert len(open(m.path(".status.json"), "rb").read()) == size
    assert sim.total() == len(reqs)
    # `watch cat` sees new work at once
    os.listdir(m.path("data-stores"))
    assert status(m)["requests"]["total"] == sim.total() == len(reqs) + 1


def test_status_shows_an_upload_in_flight(fresh_sim, mount_factory, tmp_path):
    sim = fresh_sim
    m = mount_factory(sim.url, "noqvf")
    sim.faults(mode="stall", stall_ms=1500, count=1, match="POST /api/v1/data-files")
    src = tmp_path / "big.csv"
    src.write_bytes(b"a,b\n" + b"1,2\n" * 20000)
    cp = subprocess.Popen(["cp", str(src), m.path("data-files", "big.csv")])
    try:
        ops = wait_for(lambda: status(m)["operations"], timeout=10, what="an operation")
        assert ops[0]["kind"] == "upload" and ops[0]["what"] == "big.csv"
        assert ops[0]["total_bytes"] == src.stat().st_size and 0 <= ops[0]["percent"] <= 100
    finally:
        assert cp.wait(30) == 0
    assert status(m)["operations"] == []


# ---- safety rails ----

def test_busy_mountpoint_is_refused(sim, mount_factory):
    m = mount_factory(sim.url, "noqvf")
    r = qlikfs("-f", "-o", "state_dir=%s" % os.path.join(m.dir, "s2"), sim.url, m.mnt,
               env={"QLIK_API_KEY": API_KEY})
    assert r.returncode != 0
    assert "already a mount point" in r.stderr and m.mnt in r.stderr
    assert "fuse.qlikfs" in r.stderr and "fusermount3 -u" in r.stderr
    assert os.listdir(m.path("spaces"))  # the first mount is untouched


def test_option_errors_name_the_option_and_form(tmp_path):
    cases = {
        "cache_ttl=abc": "-o cache_ttl=abc: expected SECONDS",
        "cache_size=12Q": "-o cache_size=12Q: expected BYTES",
        "retries=0": "-o retries=0: expected a whole number from 1 to 100",
        "uid=1K": "-o uid=1K: expected a whole number",
        "umask=999": "-o umask=999: expected an octal mask",
        "changes_created=2": "-o changes_created=2: expected 0 or 1",
        "changes_types=apps:bogus": "-o changes_types=apps:bogus: expected a ':'-separated list",
        "timeout=0": "-o timeout=0: expected SECONDS, a number >= 0.1",
        "auth=password": "-o auth=password: expected apikey or oauth",
        "cache_tll=5": "unknown option -o cache_tll (did you mean -o cache_ttl?)",
        "allow_othr": "unknown option -o allow_othr (did you mean -o allow_other?)",
        "log_levle=debug": "did you mean -o log_level?",
        "frobnicate": "unknown option -o frobnicate (see qlikfs --help)",
    }
    for opt, want in cases.items():
        r = qlikfs("-o", opt, "http://127.0.0.1:1", str(tmp_path), env={"QLIK_API_KEY": "x"})
        assert r.returncode != 0 and want in r.stderr, (opt, r.stderr)


def test_statfs_is_true_and_fsname_is_the_tenant(sim, mount_factory):
    m = mount_factory(sim.url, "noqvf")
    os.listdir(m.path("users"))
    v = os.statvfs(m.mnt)
    assert v.f_blocks * v.f_frsize == 64 << 20 and v.f_bfree == v.f_blocks
    assert v.f_files > v.f_ffree == 1 << 20  # used inodes = nodes known, never negative
    df = subprocess.run(["df", "-i", m.mnt], capture_output=True, text=True).stdout.splitlines()[1]
    assert int(df.split()[2]) > 100
    host = sim.url.split("//")[1]
    mnts = [l.split() for l in open("/proc/mounts") if l.split()[1] == m.mnt]
    assert mnts and mnts[0][0] == host and mnts[0][2] == "fuse.qlikfs"
    m2 = mount_factory(sim.url, "noqvf", "fsname=prod-tenant")
    assert [l.split()[0] for l in open("/proc/mounts") if l.split()[1] == m2.mnt] == ["prod-tenant"]


# ---- docs against --help ----

def help_options(text):
    """The option names of a --help text: `-o NAME`, `-o NAME=V,NAME=V`, and
    `-o NAME=V, NAME=V` (the names after the first one carry a value)."""
    names = set()
    for mt in re.finditer(r"-o (\S+(?:,? +\S+)*)", text):
        for i, tok in enumerate(re.split(r",\s*|\s+", mt.group(1))):
            if not re.fullmatch(r"[a-z_]+(=\S*)?", tok) or (i and "=" not in tok):
                break
            names.add(tok.split("=")[0])
    return names


def test_man_page_and_options_doc_list_every_option_of_help():
    mount_help = qlikfs("--help").stdout
    login_help = qlikfs("login", "--help").stdout
    opts = help_options(mount_help) | help_options(login_help)
    assert {"cache_ttl", "log_file", "log_level", "fsname", "uid", "gid", "umask",
            "changes_deleted", "redirect_port", "allow_other"} <= opts
    # every option of the parser's table is in --help
    src = open(os.path.join(ROOT, "fs", "app", "options.c")).read()
    table = src[src.index("qopts[] = {"):src.index("FUSE_OPT_END")]
    parsed = set(re.findall(r'OPT\("([a-z_]+)=%s"', table))
    parsed |= set(re.findall(r'\{ "([a-z_]+)", offsetof', table))
    assert parsed and parsed <= opts, parsed - opts
    man = open(os.path.join(ROOT, "fs", "app", "qlikfs.1")).read()
    doc = open(os.path.join(ROOT, "docs", "OPTIONS.md")).read()
    for o in sorted(opts):
        assert re.search(r"(\\-o |,)%s\b" % o, man), "qlikfs.1 lacks -o " + o
        assert re.search(r"-o %s\b" % o, doc), "docs/OPTIONS.md lacks -o " + o
    # and neither documents an option --help does not know
    fuse = {"default_permissions", "auto_unmount", "max_threads"}
    stale = (set(re.findall(r"\\-o ([a-z_]+)", man)) | set(re.findall(r"`-o ([a-z_]+)", doc)))
    assert stale - opts - fuse == set(), stale - opts - fuse


# ---- installation ----

def installed_qlikfs(destdir):
    r = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", destdir, "--no-rebuild"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    found = glob.glob(os.path.join(destdir, "**", "bin", "qlikfs"), recursive=True)
    assert len(found) == 1, found
    return found[0]


def syslog_reachable():
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect("/dev/log")
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="module")
def install_dir():
    if not shutil.which("meson"):
        pytest.skip("meson is not installed")
    d = tempfile.mkdtemp(prefix="qlikfs-install-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_install_into_a_prefix_and_mount_from_it(sim, install_dir, tmp_path):
    exe = installed_qlikfs(install_dir)
    prefix = os.path.dirname(os.path.dirname(exe))
    assert glob.glob(os.path.join(prefix, "share", "man", "man1", "qlikfs.1"))
    unit = glob.glob(os.path.join(install_dir, "**", "systemd", "system", "qlikfs@.service"),
                     recursive=True)
    assert unit and "ExecStart=%s " % exe[len(install_dir):] in open(unit[0]).read()
    assert subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.startswith(
        "qlikfs ")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, QLIK_API_KEY=API_KEY, XDG_CACHE_HOME=str(tmp_path / "cache"))
    p = subprocess.Popen([exe, "-f", "-o", "state_dir=%s,poll_interval=0" % (tmp_path / "s"),
                          sim.url, str(mnt)], env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.ismount(mnt) or p.poll() is not None, what="mount")
        assert "me.json" in os.listdir(mnt)
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)])
        assert p.wait(30) == 0


def test_mount_t_fuse_qlikfs_from_the_installed_prefix(sim, install_dir, tmp_path):
    """What an fstab line does: mount(8) runs `mount.fuse3 TENANT MNT -t qlikfs -o
    OPTS`, which runs `qlikfs` from the PATH.  mount(8) itself resets the PATH to
    its default (which holds /usr/local/bin, where the default prefix installs),
    so the test runs the helper as mount(8) would, with the PATH of the prefix."""
    helper = shutil.which("mount.fuse3", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if os.geteuid() != 0 or not helper:
        pytest.skip("needs root and mount.fuse3")
    exe = installed_qlikfs(install_dir)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    state = tmp_path / "state"
    env = dict(os.environ, QLIK_API_KEY=API_KEY, XDG_CACHE_HOME=str(tmp_path / "cache"),
               PATH=os.path.dirname(exe) + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
    r = subprocess.run([helper, sim.url, str(mnt), "-t", "qlikfs", "-o",
                        "rw,_netdev,nofail,state_dir=%s,poll_interval=0,noqvf" % state],
                       env=env, capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert os.path.ismount(mnt) and "me.json" in os.listdir(mnt)
        line = [l.split() for l in open("/proc/mounts") if l.split()[1] == str(mnt)]
        assert line[0][0] == sim.url.split("//")[1] and line[0][2] == "fuse.qlikfs"
        pid = json.load(open(mnt / ".status.json"))["pid"]
        # in the background without syslog, the log goes to the state directory
        if not syslog_reachable():
            assert "syslog (/dev/log) is not reachable: logging to %s/qlikfs.log" % state \
                in r.stderr
            wait_for(lambda: "info: mounted " in (state / "qlikfs.log").read_text(),
                     what="the fallback log")
        # a second mount on the same point is refused
        r2 = subprocess.run([helper, sim.url, str(mnt), "-t", "qlikfs", "-o",
                             "state_dir=%s" % state], env=env, capture_output=True, text=True,
                            timeout=60)
        assert r2.returncode != 0 and "already a mount point" in r2.stderr
    finally:
        subprocess.run(["umount", str(mnt)])
    wait_for(lambda: not os.path.exists("/proc/%d" % pid), what="qlikfs to exit")
