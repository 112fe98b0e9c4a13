"""OAuth 2.0, qlik-cli contexts, secrets, fstab and systemd: through real mounts
of the simulator.  Secrets reach qlikfs only through the environment, files,
standard input or a contexts file, never through an argument list, here too."""
import errno
import filecmp
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import API_KEY, BUILD, QLIKFS, Mount, wait_for

SECRET = "m2m-Secret-7f3a9c1e5b"
M2M = {"client_id": "m2m", "client_secret": SECRET}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def setup_clients(sim, native_port=None, **cfg):
    clients = [M2M]
    if native_port:
        clients.append({"client_id": "native",
                        "redirect_uris": ["http://127.0.0.1:%d/" % native_port]})
    sim.config(oauth_clients=clients, **cfg)


def oauth_env():
    return {"QLIK_CLIENT_SECRET": SECRET}


def token_posts(sim):
    return sim.routes().get("POST /oauth/token", 0)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def browse(url, timeout=10):
    """GET url without following redirects: (status, Location, body)."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.headers.get("Location"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location"), e.read().decode()


def start_login(sim_url, state_dir, port, tmp, extra=()):
    """Starts `qlikfs login`; returns (process, path of the URL file)."""
    url_file = os.path.join(tmp, "login-url")
    if os.path.exists(url_file):
        os.unlink(url_file)
    opts = "client_id=native,redirect_port=%d,url_file=%s,state_dir=%s,login_timeout=30" % (
        port, url_file, state_dir)
    e = dict(os.environ)
    e.pop("QLIK_API_KEY", None)
    e.pop("QLIK_CLIENT_SECRET", None)
    p = subprocess.Popen([QLIKFS, "login", "-o", opts, *extra, sim_url], env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: os.path.exists(url_file) or p.poll() is not None, what="login URL")
    assert p.poll() is None, p.communicate()
    return p, url_file


def login(sim, state_dir, port, tmp):
    """Logs in as the user through the loopback redirect, as a browser would."""
    p, url_file = start_login(sim.url, state_dir, port, tmp)
    url = open(url_file).read().strip()
    assert stat.S_IMODE(os.stat(url_file).st_mode) == 0o600
    status, location, _ = browse(url)  # the tenant's authorize step (auto-approves)
    assert status == 302 and location.startswith("http://127.0.0.1:%d/?code=" % port)
    status, _, page = browse(location)  # the redirect to qlikfs's loopback listener
    assert status == 200 and "Logged in" in page
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return url, err


def mounted_pid_for(mnt):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            args = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"qlikfs") and mnt.encode() in args:
            return int(pid)
    return None


# ------------------------------------------------------------ client credentials

def test_client_credentials_mount(sim, mount_factory):
    setup_clients(sim)
    before = token_posts(sim)
    # fstab-only options are accepted when they reach qlikfs directly too
    m = mount_factory(sim.url, "client_id=m2m", "_netdev", "nofail", "x-systemd.automount",
                      key=None, env=oauth_env())
    assert "me.json" in os.listdir(m.mnt)
    me = json.load(open(m.path("me.json")))
    assert me["id"]
    assert len(os.listdir(m.path("users"))) == 120
    assert token_posts(sim) - before == 1
    grants = [json.loads(r["body"]).get("grant_type") for r in sim.log()
              if r["path"] == "/oauth/token"]
    assert grants and grants[-1] == "client_credentials"
    assert "(OAuth)" in m.log()


def test_wrong_secret_fails_the_mount_at_start(sim, tmp_path):
    setup_clients(sim)
    m = Mount(sim.url, ("client_id=m2m",), key=None,
              env={"QLIK_CLIENT_SECRET": "not-the-secret-42"}, expect_fail=True)
    try:
        assert m.proc.returncode != 0
        log = m.log()
        assert "client_credentials grant failed: HTTP 401" in log, log
        assert "check the client id (m2m) and the client secret" in log
        assert "OAuth authentication failed for client m2m" in log
        assert "not-the-secret-42" not in log
        assert not os.path.ismount(m.mnt)
    finally:
        m.logf.close()
        shutil.rmtree(m.dir, ignore_errors=True)


def test_client_secret_file_readable_by_others_is_refused(sim, tmp_path):
    f = tmp_path / "secret"
    f.write_text(SECRET + "\n")
    os.chmod(f, 0o640)
    m = Mount(sim.url, ("client_id=m2m", "client_secret_file=%s" % f), key=None,
              expect_fail=True)
    try:
        assert m.proc.returncode != 0
        assert "chmod 600" in m.log() and SECRET not in m.log()
    finally:
        m.logf.close()
        shutil.rmtree(m.dir, ignore_errors=True)


# ------------------------------------------------------------ interactive login

def test_interactive_login_through_the_loopback_redirect(fresh_sim, mount_factory, tmp_path):
    port = free_port()
    setup_clients(fresh_sim, native_port=port)
    state = str(tmp_path / "state")
    url, err = login(fresh_sim, state, port, str(tmp_path))
    assert "Open this URL in a browser" in err and url in err
    assert "code_challenge_method=S256" in url and "offline_access" in url
    assert "logged in to %s as Sim Admin" % fresh_sim.url in err
    tok = os.path.join(state, "oauth-native.json")
    assert stat.S_IMODE(os.stat(tok).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    saved = json.load(open(tok))
    assert saved["client_id"] == "native" and saved["refresh_token"]

    exchange = [json.loads(r["body"]) for r in fresh_sim.log() if r["path"] == "/oauth/token"]
    assert exchange[0]["grant_type"] == "authorization_code"
    assert len(exchange[0]["code_verifier"]) == 43 and "client_secret" not in exchange[0]

    # a mount with the same client id and no secret uses the stored tokens
    m = mount_factory(fresh_sim.url, "client_id=native", "state_dir=%s" % state, key=None)
    assert len(os.listdir(m.path("users"))) == 120
    assert len(exchange) == len([r for r in fresh_sim.log() if r["path"] == "/oauth/token"])


def test_login_refuses_a_redirect_with_another_state(fresh_sim, tmp_path):
    port = free_port()
    setup_clients(fresh_sim, native_port=port)
    state = str(tmp_path / "state")
    p, url_file = start_login(fresh_sim.url, state, port, str(tmp_path))
    # a forged redirect arrives first
    status, _, _ = browse("http://127.0.0.1:%d/?code=simac_forged&state=forged" % port)
    assert status == 400
    out, err = p.communicate(timeout=30)
    assert p.returncode != 0 and "state does not match" in err
    assert not os.path.exists(os.path.join(state, "oauth-native.json"))
    assert token_posts(fresh_sim) == 0


def test_login_options():
    r = subprocess.run([QLIKFS, "login", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "redirect_port" in r.stdout and "PKCE" in r.stdout
    r = subprocess.run([QLIKFS, "login", "-o", "cache_sizzle=1", "http://127.0.0.1:1"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "unexpected argument 'cache_sizzle=1'" in r.stderr
    r = subprocess.run([QLIKFS, "-o", "redirect_port=1", "http://127.0.0.1:1", "/tmp"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "options of qlikfs login" in r.stderr


# ------------------------------------------------------------ refresh

def tree_equal(a, b):
    d = filecmp.dircmp(a, b)
    if d.left_only or d.right_only or d.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, d.common_files, shallow=False)
    return not mismatch and not errors and all(
        tree_equal(os.path.join(a, s), os.path.join(b, s)) for s in d.common_dirs)


def test_token_expiry_during_ls_R_and_cp_r_is_invisible(fresh_sim, mount_factory, tmp_path):
    setup_clients(fresh_sim, token_ttl_s=2)
    ref = mount_factory(fresh_sim.url, "cache_ttl=300")  # API key: the reference
    ref_ls = subprocess.run(["ls", "-R", "."], cwd=ref.mnt, capture_output=True, text=True)
    assert ref_ls.returncode == 0 and ref_ls.stderr == ""
    subprocess.run(["cp", "-r", ref.mnt, str(tmp_path / "ref")], check=True)

    m = mount_factory(fresh_sim.url, "client_id=m2m", "cache_ttl=1", key=None, env=oauth_env())
    fresh_sim.config(latency_ms=80)
    before = token_posts(fresh_sim)
    stop = threading.Event()

    def revoke_access_tokens():  # and now and then the server forgets a token early
        while not stop.wait(2.5):
            for t in fresh_sim.ctl("GET", "tokens")["access"]:
                fresh_sim._req("POST", "/oauth/revoke", {"token": t}, auth=False)

    th = threading.Thread(target=revoke_access_tokens)
    th.start()
    try:
        t0 = time.monotonic()
        ls = subprocess.run(["ls", "-R", "."], cwd=m.mnt, capture_output=True, text=True)
        cp = subprocess.run(["cp", "-r", m.mnt, str(tmp_path / "copy")], capture_output=True,
                            text=True)
        took = time.monotonic() - t0
    finally:
        stop.set()
        th.join()
        fresh_sim.config(latency_ms=0)
    assert ls.returncode == 0 and ls.stderr == "", ls.stderr
    assert ls.stdout == ref_ls.stdout
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr
    assert tree_equal(str(tmp_path / "ref"), str(tmp_path / "copy"))
    print("walk: %.1f s, %d token requests" % (took, token_posts(fresh_sim) - before))
    assert took > 2 * 2, took  # the walk spanned several token lifetimes ...
    assert token_posts(fresh_sim) - before >= 3  # ... and as many tokens
    statuses = [r["status"] for r in fresh_sim.log() if r["path"].startswith("/api/")]
    assert 401 in statuses  # the revocations were noticed and ridden out
    assert "warning" not in m.log()


def test_revoked_refresh_token_gives_eacces_and_the_mount_stays_up(fresh_sim, mount_factory,
                                                                   tmp_path):
    port = free_port()
    setup_clients(fresh_sim, native_port=port)
    state = str(tmp_path / "state")
    login(fresh_sim, state, port, str(tmp_path))
    m = mount_factory(fresh_sim.url, "client_id=native", "state_dir=%s" % state,
                      "cache_ttl=300", key=None)
    me = open(m.path("me.json")).read()
    assert "@personal" in os.listdir(m.path("spaces"))

    saved = json.load(open(os.path.join(state, "oauth-native.json")))
    for t in (saved["refresh_token"], saved["access_token"]):
        assert fresh_sim._req("POST", "/oauth/revoke", {"token": t}, auth=False)[0] == 200
    with pytest.raises(OSError) as e:
        os.listdir(m.path("users"))
    assert e.value.errno == errno.EACCES
    log = m.log()
    assert "OAuth refresh failed: HTTP 401" in log, log
    assert "run: qlikfs login -o client_id=native,state_dir=%s %s" % (state, fresh_sim.url) in log
    # the mount stays up and answers what it can
    assert open(m.path("me.json")).read() == me
    assert "users" in os.listdir(m.mnt)
    # the refused refresh token is not tried again and again
    posts = token_posts(fresh_sim)
    with pytest.raises(OSError) as e:
        os.listdir(m.path("data-stores"))
    assert e.value.errno == errno.EACCES
    assert token_posts(fresh_sim) == posts
    # logging in again brings the mount back, without remounting
    login(fresh_sim, state, port, str(tmp_path))
    time.sleep(2.5)
    assert len(os.listdir(m.path("users"))) == 120


# ------------------------------------------------------------ contexts

CONTEXTS = """\
contexts:
  sim-key:
    comment: the simulator with an API key
    headers:
      Authorization: Bearer {key}
    server: {url}
    server-type: cloud
  sim-robot:
    server: {url}
    oauth-client-id: m2m
    oauth-client-secret: {secret}
  elsewhere:
    server: https://elsewhere.example.com
    headers: {{Authorization: Bearer not-for-the-sim}}
current-context: sim-robot
"""


def test_contexts_yml_with_several_contexts(sim, mount_factory, tmp_path):
    setup_clients(sim)
    home = tmp_path / "qlik-home"
    home.mkdir()
    ctx = home / "contexts.yml"
    ctx.write_text(CONTEXTS.format(key=API_KEY, url=sim.url, secret=SECRET))
    os.chmod(ctx, 0o600)
    env = {"QLIK_CLI_USER_HOME_DIR": str(home)}

    before = token_posts(sim)
    m = mount_factory(None, "context=sim-key", key=None, env=env)  # no TENANT: the context's
    assert len(os.listdir(m.path("users"))) == 120
    assert token_posts(sim) == before  # an API key
    m = mount_factory(None, "context=", key=None, env=env)  # the current context: OAuth
    assert len(os.listdir(m.path("users"))) == 120
    assert token_posts(sim) == before + 1
    m = mount_factory(sim.url, "context=sim-robot", key=None, env=env)  # same server: fine
    assert "me.json" in os.listdir(m.mnt)

    def refused(opts, tenant=sim.url):
        f = Mount(tenant, opts, key=None, env=env, expect_fail=True)
        f.logf.close()
        log = open(f.log_path).read()
        shutil.rmtree(f.dir, ignore_errors=True)
        assert f.proc.returncode != 0
        return log

    log = refused(("context=elsewhere",))
    assert "is not the server of context elsewhere" in log and "not-for-the-sim" not in log
    log = refused(("context=nope",), tenant=None)
    assert 'no context "nope" (contexts: sim-key, sim-robot, elsewhere)' in log
    os.chmod(ctx, 0o644)
    log = refused(("context=sim-robot",), tenant=None)
    assert "chmod 600" in log and SECRET not in log


# ------------------------------------------------------------ secrets

def scan_for_leaks(secrets, m, state_dir):
    secrets = [s.encode() for s in secrets if s]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = open("/proc/%s/cmdline" % pid, "rb").read()
        except OSError:
            continue
        for s in secrets:
            assert s not in cmdline, "a secret in the arguments of process %s" % pid
    env = open("/proc/%d/environ" % m.proc.pid, "rb").read()
    log = m.log().encode()
    for s in secrets:
        assert s not in env and s not in log
    for root, dirs, files in os.walk(state_dir):
        for d in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode) == 0o700
        for f in files:
            p = os.path.join(root, f)
            assert stat.S_IMODE(os.stat(p).st_mode) & 0o077 == 0, p
            data = open(p, "rb").read()
            for s in secrets:
                assert s not in data or (f.endswith(".json") and s != SECRET.encode()), p


@pytest.mark.parametrize("way", ["environment", "file", "stdin", "context"])
def test_secret_never_appears_in_cmdline_environ_logs_or_readable_files(sim, mount_factory,
                                                                          tmp_path, way):
    setup_clients(sim)
    state = str(tmp_path / "state")
    opts = ["client_id=m2m", "state_dir=%s" % state, "cache_ttl=1"]
    kw = {"key": None, "env": {"QLIK_API_KEY": API_KEY}}  # wiped too, though unused
    if way == "environment":
        kw["env"]["QLIK_CLIENT_SECRET"] = SECRET
    elif way == "file":
        f = tmp_path / "secret"
        f.write_text(SECRET + "\n")
        os.chmod(f, 0o600)
        opts.append("client_secret_file=%s" % f)
    elif way == "stdin":
        opts.append("client_secret_file=-")
        kw["stdin_data"] = (SECRET + "\n").encode()
    else:
        home = tmp_path / "home"
        home.mkdir()
        (home / "contexts.yml").write_text(CONTEXTS.format(key="x", url=sim.url, secret=SECRET))
        os.chmod(home / "contexts.yml", 0o600)
        kw["env"]["QLIK_CLI_USER_HOME_DIR"] = str(home)
        opts = ["context=sim-robot", "state_dir=%s" % state, "cache_ttl=1"]
    m = mount_factory(sim.url, *opts, **kw)
    assert len(os.listdir(m.path("users"))) == 120
    open(m.path("me.json")).read()
    tokens = sim.ctl("GET", "tokens")
    issued = tokens["access"] + tokens["refresh"] + tokens["code"]
    assert issued
    scan_for_leaks([SECRET, API_KEY] + issued, m, state)


# ------------------------------------------------------------ fstab and systemd

def test_fstab_mount_through_the_mount_helper(sim, tmp_path):
    """mount -T FSTAB MOUNTPOINT -> mount.fuse3 -> qlikfs, found on the helper's
    default PATH: in a private mount namespace, the build directory is bound
    over /usr/local/sbin so that nothing outside the test changes."""
    if subprocess.run(["sh", "-c", "command -v unshare && command -v mount.fuse3"],
                      capture_output=True).returncode:
        pytest.skip("needs unshare and mount.fuse3")
    setup_clients(sim)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(QLIKFS, bindir / "qlikfs")
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    os.chmod(secret, 0o600)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text(
        "# qlikfs from fstab\n"
        "%s %s fuse.qlikfs _netdev,nofail,noauto,client_id=m2m,client_secret_file=%s,"
        "state_dir=%s,cache_ttl=60,x-systemd.automount 0 0\n"
        % (sim.url, mnt, secret, tmp_path / "state"))
    script = """
set -e
mount --bind {bindir} /usr/local/sbin
mount -T {fstab} {mnt}
grep -q ' {mnt} fuse.qlikfs ' /proc/self/mounts && echo MOUNTED
ls {mnt}/users | wc -l
for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep '^qlikfs ' || true; done
umount {mnt}
echo UNMOUNTED
""".format(bindir=bindir, fstab=fstab, mnt=mnt)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "MOUNTED" and lines[1].strip() == "120", r.stdout
    assert "client_secret_file=%s" % secret in r.stdout  # the process seen by ps ...
    assert SECRET not in r.stdout + r.stderr  # ... shows where the secret is, not the secret
    assert "UNMOUNTED" in r.stdout
    wait_for(lambda: mounted_pid_for(str(mnt)) is None, what="qlikfs to exit")


def test_systemd_ready_and_stopping_notifications(sim, tmp_path):
    name = "qlikfs-test-%d-%d" % (os.getpid(), time.monotonic_ns())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(20)
    try:
        m = Mount(sim.url, ("cache_ttl=300",), env={"NOTIFY_SOCKET": "@" + name})
        msg = s.recv(4096).decode()
        assert "READY=1" in msg and "MAINPID=%d" % m.proc.pid in msg
        assert "STATUS=Mounted %s on %s" % (sim.url, m.mnt) in msg
        assert m.unmount() == 0
        assert "STOPPING=1" in s.recv(4096).decode()
    finally:
        s.close()


def test_the_man_page_and_the_unit_are_in_the_tree():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    man = open(os.path.join(root, "fs", "app", "qlikfs.1")).read()
    for word in ("client_secret_file", "context", "login", "fuse.qlikfs", "Type=notify"):
        assert word in man, word
    unit = open(os.path.join(root, "fs", "app", "qlikfs@.service.in")).read()
    assert "Type=notify" in unit and " -f " in unit
    if subprocess.run(["sh", "-c", "command -v man"], capture_output=True).returncode == 0:
        r = subprocess.run(["man", "-l", os.path.join(root, "fs", "app", "qlikfs.1")],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
        assert r.returncode == 0 and "qlikfs login" in r.stdout
