#!/usr/bin/python3
"""Benchmark: HTTP requests and wall time of common operations through
qlikfs, side by side with a baseline that scripts the API the way a
hand-written loop does (list at the default page size, then GET each
object).  Runs against the simulator with a per-request latency, so the
request count dominates the time as it does against a real tenant.

  QLIKFS_BUILD=build tests/bench.py [--users 10000] [--apps 5000] [--latency-ms 20]
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Mount, Sim  # noqa: E402


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def baseline(sim, path, default_limit, get_path):
    """List at the API's default page size, then GET every object."""
    n = 0

    def get(url):
        nonlocal n
        n += 1
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + sim.key})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def run():
        url = sim.url + path + ("&" if "?" in path else "?") + "limit=%d" % default_limit
        ids = []
        while url:
            page = get(url)
            ids += [o["resourceId"] if "resourceId" in o else o["id"] for o in page["data"]]
            url = ((page.get("links") or {}).get("next") or {}).get("href")
        for i in ids:
            get(sim.url + get_path(i))
    t = timed(run)
    return n, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--apps", type=int, default=5000)
    ap.add_argument("--latency-ms", type=int, default=20)
    a = ap.parse_args()
    sim = Sim(["--users", str(a.users), "--apps", str(a.apps), "--latency-ms", str(a.latency_ms)])
    rows = []
    try:
        m = Mount(sim.url, ("cache_ttl=600",))
        try:
            def measure(what, fn):
                sim.reset()
                t = timed(fn)
                rows.append((what, sim.total(), t))

            users, apps = m.path("users"), m.path("apps")
            measure("ls -l users/ (cold)", lambda: sh("ls", "-l", users))
            measure("cat users/* (after ls)", lambda: [open(os.path.join(users, f), "rb").read()
                                                     for f in os.listdir(users)])
            measure("ls -l users/ (again, within TTL)", lambda: sh("ls", "-l", users))
            measure("ls -l apps/ (cold)", lambda: sh("ls", "-l", apps))
            measure("cat apps/* (after ls)", lambda: [open(os.path.join(apps, f), "rb").read()
                                                    for f in os.listdir(apps)])
        finally:
            m.unmount()
        m = Mount(sim.url, ("cache_ttl=600",))
        try:
            import tempfile
            dst = tempfile.mkdtemp()
            sim.reset()
            t = timed(lambda: sh("cp", "-r", m.mnt, dst + "/copy"))
            rows.append(("cp -r of the whole mount (cold)", sim.total(), t))
            sim.reset()
            t = timed(lambda: sh("rsync", "-a", m.mnt + "/", dst + "/copy/"))
            rows.append(("rsync -a again (within TTL)", sim.total(), t))
            sh("rm", "-rf", dst)
        finally:
            m.unmount()
        bu = baseline(sim, "/api/v1/users", 20, lambda i: "/api/v1/users/" + i)
        ba = baseline(sim, "/api/v1/items?resourceType=app", 10, lambda i: "/api/v1/apps/" + i)
    finally:
        sim.stop()
    print("| operation (%d users, %d apps, %d ms per request) | requests | seconds |"
          % (a.users, a.apps, a.latency_ms))
    print("|---|---:|---:|")
    for what, n, t in rows:
        print("| qlikfs: %s | %d | %.2f |" % (what, n, t))
    print("| baseline: list users (limit 20) + GET each | %d | %.2f |" % bu)
    print("| baseline: list app items (limit 10) + GET each app | %d | %.2f |" % ba)


if __name__ == "__main__":
    main()
