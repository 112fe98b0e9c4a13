"""Shared fixtures: the tenant simulator (qlik-sim) and real FUSE mounts of it.

Environment:
  QLIKFS_BUILD   build directory holding fs/qlikfs and tests/sim/qlik-sim (default: build)
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("QLIKFS_BUILD", os.path.join(ROOT, "build")))
QLIKFS = os.path.join(BUILD, "fs", "qlikfs")
QLIK_SIM = os.path.join(BUILD, "tests", "sim", "qlik-sim")
API_KEY = "test-admin-key-0123456789"


def wait_for(pred, timeout=15.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError("timed out waiting for " + what)


class Sim:
    """A running qlik-sim process and helpers for its /_sim control API."""

    def __init__(self, args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="qlik-sim-")
        port_file = os.path.join(self.dir, "port")
        self.stderr = open(os.path.join(self.dir, "stderr"), "w+")
        e = dict(os.environ, QLIK_SIM_API_KEY=API_KEY)
        if env:
            e.update(env)
        self.proc = subprocess.Popen([QLIK_SIM, "--port", "0", "--port-file", port_file, *args],
                                     stderr=self.stderr, stdout=subprocess.DEVNULL, env=e)
        wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(),
                 what="qlik-sim port file")
        self.port = int(open(port_file).read().strip())
        self.url = "http://127.0.0.1:%d" % self.port
        self.key = API_KEY

    def _req(self, method, path, body=None, auth=True, headers=None):
        data = None
        h = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if auth:
            h["Authorization"] = "Bearer " + self.key
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                # (the request log may hold binary bodies: not UTF-8)
                return r.status, (json.loads(raw.decode("utf-8", "replace")) if raw.strip() else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw) if raw.strip() else None
            except ValueError:
                return e.code, raw

    def api(self, method, path, body=None):
        """A request to the tenant's API behind the mount's back."""
        return self._req(method, path, body)

    def ctl(self, method, path, body=None):
        status, out = self._req(method, "/_sim/" + path, body, auth=False)
        assert status == 200, (path, status, out)
        return out

    def stats(self):
        return self.ctl("GET", "stats")

    def total(self):
        return self.stats()["total"]

    def routes(self):
        return self.stats()["routes"]

    def log(self):
        return self.ctl("GET", "log")["requests"]

    def reset(self):
        self.ctl("POST", "reset", {})

    def faults(self, **kw):
        self.ctl("POST", "faults", kw)

    def config(self, **kw):
        self.ctl("POST", "config", kw)

    def state(self):
        return self.ctl("GET", "state")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _has_opt(opts, name):
    return any(part.startswith(name + "=") for o in opts for part in o.split(","))


class Mount:
    """qlikfs mounted in the foreground on a temporary directory.

    Unless opts say otherwise, each mount keeps its state in its own
    temporary directory (-o state_dir=, so tests never touch the real one)
    and deletes are sent at once (-o delete_delay=0, so that a test can read
    the tenant right after rm; tests of the delay set it), and
    the change poller only polls when asked (-o poll_interval=0, so
    request counts are not disturbed)."""

    def __init__(self, sim_url, opts=(), key=API_KEY, env=None, expect_fail=False,
                 stdin_data=None):
        self.dir = tempfile.mkdtemp(prefix="qlikfs-test-")
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        opts = list(opts)
        if not _has_opt(opts, "state_dir"):
            self.state_dir = os.path.join(self.dir, "state")
            opts.append("state_dir=" + self.state_dir)
        else:
            self.state_dir = [p.split("=", 1)[1] for o in opts for p in o.split(",")
                              if p.startswith("state_dir=")][-1]
        if not _has_opt(opts, "poll_interval"):
            opts.append("poll_interval=0")
        if not _has_opt(opts, "delete_delay"):
            opts.append("delete_delay=0")  # deletes at once: tests read the tenant after rm
        self.log_path = os.path.join(self.dir, "qlikfs.log")
        self.logf = open(self.log_path, "w+")
        e = dict(os.environ)
        e.pop("QLIK_API_KEY", None)
        if key is not None:
            e["QLIK_API_KEY"] = key
        # exports and upload buffers of this mount stay in its own directory
        e["XDG_CACHE_HOME"] = os.path.join(self.dir, "cache")
        if env:
            e.update(env)
        args = [QLIKFS, "-f"]
        for o in opts:
            args += ["-o", o]
        args += [a for a in (sim_url, self.mnt) if a is not None]
        self.proc = subprocess.Popen(args, stderr=self.logf, stdout=self.logf, env=e,
                                     stdin=subprocess.PIPE if stdin_data is not None else None)
        if stdin_data is not None:
            self.proc.stdin.write(stdin_data)
            self.proc.stdin.close()
        if expect_fail:
            self.proc.wait(60)
            return
        try:
            wait_for(lambda: os.path.ismount(self.mnt) or self.proc.poll() is not None,
                     what="mount")
        except TimeoutError:
            self.proc.kill()
            raise
        if self.proc.poll() is not None:
            raise RuntimeError("qlikfs exited %d: %s" % (self.proc.returncode, self.log()))

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def log(self):
        self.logf.flush()
        with open(self.log_path) as f:
            return f.read()

    def unmount(self):
        if self.proc.poll() is None:
            subprocess.run(["fusermount3", "-u", self.mnt], check=False)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                subprocess.run(["fusermount3", "-uz", self.mnt], check=False)
                raise AssertionError("qlikfs did not exit after unmount")
        rc = self.proc.returncode
        log = self.log()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        assert "ERROR: AddressSanitizer" not in log, log
        assert "runtime error:" not in log, log
        assert "LeakSanitizer" not in log, log
        return rc


@pytest.fixture(scope="module")
def sim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture
def fresh_sim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture
def mount_factory():
    mounts = []

    def make(sim_url, *opts, **kw):
        m = Mount(sim_url, opts, **kw)
        mounts.append(m)
        return m

    yield make
    for m in mounts:
        if m.proc.poll() is None:
            assert m.unmount() == 0
        else:
            m.logf.close()


@pytest.fixture(scope="module")
def mounted(sim):
    # the JSON tree only: .qvf exports have their own tests (test_actions.py)
    m = Mount(sim.url, ("cache_ttl=300", "noqvf"))
    yield m
    assert m.unmount() == 0
