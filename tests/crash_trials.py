#!/usr/bin/env python3
"""Crash trials: qlikfs is killed with SIGKILL at a random moment while a
writer edits a JSON file, creates a file or a directory, renames, uploads a
data file or imports a .qvf; the mount is then cleaned up (fusermount3 -u -z)
and the tenant (the simulator's state) and the state directory are checked:

  - the server object is the old one or the new one, never a mix or a part
    (a data file has the full size; an imported app exports the same bytes);
  - a create happened at most once (never a duplicate);
  - when the writer was told success, the server holds the new state.  A
    writer told an error may still find the change applied: the kill came
    after the server applied it and before the answer reached the writer
    (outcome "applied, writer told error"; see docs/FAULTS.md);
  - every file of the state directory (kept across all trials, with the change
    poller asked to poll during each trial) is whole: every JSON file parses.

Usage: QLIKFS_BUILD=build python3 tests/crash_trials.py --trials 100 --seed 1
The pytest test (tests/test_crash_trials.py) runs a few trials.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Mount, Sim  # noqa: E402

OPS = ("edit", "create_file", "mkdir", "rename", "upload", "import")

# The writer: one operation, then one JSON line saying what it was told.
WRITER = r'''
import json, os, sys
op, dst, arg = sys.argv[1], sys.argv[2], sys.argv[3]
res = {"ok": False, "errno": 0, "step": "open"}
try:
    if op == "mkdir":
        res["step"] = "mkdir"
        os.mkdir(dst)
    elif op == "rename":
        res["step"] = "rename"
        os.rename(arg, dst)
    else:
        flags = os.O_WRONLY | os.O_TRUNC | (0 if op == "edit" else os.O_CREAT)
        data = arg.encode() if op in ("edit", "create_file") else open(arg, "rb").read()
        fd = os.open(dst, flags, 0o600)
        res["step"] = "write"
        for off in range(0, len(data), 65536):
            os.write(fd, data[off:off + 65536])
        res["step"] = "close"
        os.close(fd)
    res["ok"] = True
except OSError as e:
    res["errno"] = e.errno
print(json.dumps(res), flush=True)
'''


def export_bytes(sim, app_id):
    """The .qvf bytes of an app, straight from the simulator."""
    h = {"Authorization": "Bearer " + sim.key}
    req = urllib.request.Request(sim.url + "/api/v1/apps/%s/export" % app_id, data=b"",
                                 method="POST", headers=h)
    with urllib.request.urlopen(req, timeout=30) as r:
        loc = r.headers["Location"]
    with urllib.request.urlopen(urllib.request.Request(sim.url + loc, headers=h),
                                timeout=30) as r:
        return r.read()


def apps_named(st, name):
    return [a["attributes"] for a in st["apps"] if a["attributes"]["name"] == name]


class Trials:
    def __init__(self, seed, workdir, log=print):
        self.rng = random.Random(seed)
        self.seed = seed
        self.work = workdir
        self.log = log
        self.sim = Sim()
        self.state_dir = os.path.join(workdir, "state")  # shared by every trial
        self.outcomes = {}
        self.violations = []
        self.state_files_checked = 0
        self.temp_leftovers = 0
        self.temp_unswept = 0
        self.qvf = None
        self.hangs = []

    def close(self):
        self.sim.stop()

    def mount(self):
        return Mount(self.sim.url, ("cache_ttl=60", "state_dir=" + self.state_dir,
                                    "poll_interval=0"))

    def source_qvf(self):
        if self.qvf is None:
            app = self.sim.state()["apps"][0]["attributes"]
            self.qvf = os.path.join(self.work, "source.qvf")
            with open(self.qvf, "wb") as f:
                f.write(export_bytes(self.sim, app["id"]))
        return self.qvf

    # ---- one operation: (writer args, check(state, told) -> outcome) ----

    def prepare(self, op, n, m):
        st = self.sim.state()
        if op == "edit":
            path = m.path("spaces", "Finance", "space.json")
            doc = json.load(open(path))
            old = doc.get("description", "")
            new = "trial %d %s" % (n, "x" * self.rng.randrange(10, 4000))
            doc["description"] = new
            sid = doc["id"]

            def check(st, ok):
                (sp,) = [s for s in st["spaces"] if s["id"] == sid]
                if sp["name"] != "Finance":
                    return "violation: the name changed"
                if sp.get("description") == new:
                    return "applied"
                if sp.get("description") == old:
                    return "not applied"
                return "violation: description is neither old nor new"
            return (path, json.dumps(doc)), check
        if op == "create_file":
            name = "Trial app %d" % n
            desc = "made by trial %d" % n
            path = m.path("spaces", "Finance", "apps", name + ".json")

            def check(st, ok):
                hits = apps_named(st, name)
                if len(hits) > 1:
                    return "violation: %d apps created" % len(hits)
                if hits and hits[0].get("description") != desc:
                    return "violation: created with a partial body"
                return "applied" if hits else "not applied"
            return (path, json.dumps({"description": desc})), check
        if op == "mkdir":
            name = "Trial space %d" % n

            def check(st, ok):
                hits = [s for s in st["spaces"] if s["name"] == name]
                if len(hits) > 1:
                    return "violation: %d spaces created" % len(hits)
                return "applied" if hits else "not applied"
            return (m.path("spaces", name), ""), check
        if op == "rename":
            app = self.rng.choice(st["apps"])["attributes"]
            old, aid = app["name"], app["id"]
            new = "Renamed %d" % n
            src = m.path("apps", "%s (%s).json" % (old, aid))
            dst = m.path("apps", "%s (%s).json" % (new, aid))

            def check(st, ok):
                hits = [a["attributes"] for a in st["apps"] if a["attributes"]["id"] == aid]
                if len(hits) != 1:
                    return "violation: %d apps with the id" % len(hits)
                if hits[0]["name"] == new:
                    return "applied"
                return "not applied" if hits[0]["name"] == old else "violation: name"
            return (dst, src), check
        if op == "upload":
            name = "trial-%d.csv" % n
            src = os.path.join(self.work, name)
            rows = self.rng.randrange(2000, 20000)
            with open(src, "w") as f:
                f.write("id,value\n")
                for i in range(rows):
                    f.write("%d,%d\n" % (i, (i * 7919 + n) % 100003))
            size = os.path.getsize(src)

            def check(st, ok):
                hits = [d for d in st["data_files"] if d["name"] == name]
                if len(hits) > 1:
                    return "violation: %d data files created" % len(hits)
                if hits and hits[0]["size"] != size:
                    return "violation: %d of %d bytes" % (hits[0]["size"], size)
                return "applied" if hits else "not applied"
            return (m.path("data-files", name), src), check
        if op == "import":
            name = "Imported %d" % n
            src = self.source_qvf()
            want = open(src, "rb").read()

            def check(st, ok):
                hits = apps_named(st, name)
                if len(hits) > 1:
                    return "violation: %d apps imported" % len(hits)
                if hits and export_bytes(self.sim, hits[0]["id"]) != want:
                    return "violation: the imported app differs"
                return "applied" if hits else "not applied"
            return (m.path("spaces", "Finance", "apps", name + ".qvf"), src), check
        raise ValueError(op)

    def check_state_dir(self, pid):
        """pid: the qlikfs just killed.  Its temporary files may remain (a kill
        before the rename); those of earlier trials must have been swept by
        the mount of this one."""
        for root, _, files in os.walk(self.state_dir):
            for f in files:
                p = os.path.join(root, f)
                if ".tmp." in f:
                    if f.rsplit(".tmp.", 1)[1].split(".")[0] == str(pid):
                        self.temp_leftovers += 1
                    else:
                        self.temp_unswept += 1
                    continue
                data = open(p, "rb").read()
                self.state_files_checked += 1
                if f.endswith(".json") or data[:1] in (b"{", b"["):
                    try:
                        json.loads(data)
                    except ValueError:
                        self.violations.append("state file %s is not whole JSON" % p)

    def hung(self, n, op, pid, dev):
        """The killed daemon did not exit: a thread of it is blocked in the
        kernel.  Record where, then abort the FUSE connection (fusectl)."""
        where = []
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                st = open("/proc/%d/task/%s/stat" % (pid, tid)).read().split()[2]
                stack = open("/proc/%d/task/%s/stack" % (pid, tid)).read().split("\n")[:6]
            except OSError:
                continue
            where.append("%s %s %s" % (tid, st, " < ".join(x.split(" ", 1)[-1] for x in stack if x)))
        self.hangs.append("trial %d (%s): %s" % (n, op, "; ".join(where)))
        ctl = "/sys/fs/fuse/connections/%d/abort" % os.minor(dev)
        if not os.path.exists(ctl) and os.geteuid() == 0:
            subprocess.run(["mount", "-t", "fusectl", "none", "/sys/fs/fuse/connections"],
                           check=False, stderr=subprocess.DEVNULL)
        if not os.path.exists(ctl):
            raise RuntimeError("qlikfs (pid %d) hangs after SIGKILL and %s is missing "
                               "(mount -t fusectl none /sys/fs/fuse/connections): %s"
                               % (pid, ctl, self.hangs[-1]))
        with open(ctl, "w") as f:
            f.write("1")

    def trial(self, n):
        op = OPS[n % len(OPS)] if n < len(OPS) else self.rng.choice(OPS)
        latency = self.rng.choice((0, 20, 60, 150))
        m = self.mount()
        try:
            args, check = self.prepare(op, n, m)
            self.sim.config(latency_ms=latency)
            if self.rng.random() < 0.5:
                os.kill(m.proc.pid, signal.SIGUSR1)  # the poller writes state meanwhile
            w = subprocess.Popen([sys.executable, "-c", WRITER, op, *args],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            delay = self.rng.uniform(0.03, 0.4)
            dev = os.stat(m.mnt).st_dev
            time.sleep(delay)
            os.kill(m.proc.pid, signal.SIGKILL)
            try:
                m.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.hung(n, op, m.proc.pid, dev)
                m.proc.wait(30)
            out, err = w.communicate(timeout=60)
        finally:
            self.sim.config(latency_ms=0)
            subprocess.run(["fusermount3", "-u", "-z", m.mnt], check=False,
                           stderr=subprocess.DEVNULL)
            m.logf.close()
            shutil.rmtree(m.dir, ignore_errors=True)
        told = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
        if told is None:
            self.violations.append("trial %d %s: the writer printed nothing: %s" % (n, op, err))
            return
        result = check(self.sim.state(), told["ok"])
        if told["ok"] and result == "not applied":
            result = "violation: the writer was told success, the server has the old state"
        if result == "applied" and not told["ok"]:
            result = "applied, writer told %s at %s" % (
                os.strerror(told["errno"]) if told["errno"] else "error", told["step"])
        elif result == "not applied":
            result = "not applied, writer told %s" % (
                os.strerror(told["errno"]) if told["errno"] else "error")
        key = "%s: %s" % (op, result)
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        if result.startswith("violation"):
            self.violations.append("trial %d (%s, latency %d ms, kill after %.3f s): %s" %
                                   (n, op, latency, delay, result))
        self.check_state_dir(m.proc.pid)

    def run(self, trials):
        for n in range(trials):
            self.trial(n)
        return self.report()

    def report(self):
        lines = ["crash trials: seed %d, %d trials" % (self.seed, sum(self.outcomes.values()))]
        for k in sorted(self.outcomes):
            lines.append("  %4d  %s" % (self.outcomes[k], k))
        lines.append("state files checked: %d, temporary files left by kills: %d, "
                     "left by an earlier kill and not swept: %d" %
                     (self.state_files_checked, self.temp_leftovers, self.temp_unswept))
        lines.append("daemon still alive 10 s after SIGKILL (connection aborted): %d"
                     % len(self.hangs))
        lines += ["  " + h for h in self.hangs]
        lines.append("violations: %d" % len(self.violations))
        lines += ["  " + v for v in self.violations]
        return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="qlikfs-crash-")
    t = Trials(a.seed, work)
    try:
        print(t.run(a.trials))
    finally:
        t.close()
        shutil.rmtree(work, ignore_errors=True)
    return 1 if t.violations else 0


if __name__ == "__main__":
    sys.exit(main())
