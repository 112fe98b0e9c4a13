#!/usr/bin/python3
"""Benchmark: the requests one changes/ poll costs, per type, against the
simulator (default: 10,000 users, 1,000 spaces, 5,000 apps, 20 data stores;
the simulator's default data files).  Measured through a real mount, polls
asked for with SIGUSR1, requests counted by the simulator.

  QLIKFS_BUILD=build tests/bench_changes.py [--users N] [--spaces N] [--apps N]
      [--data-stores N] [--changes 10] [--latency-ms 20]

Rows: the bootstrap poll (complete scans), a poll with no change, a poll with
N changes of every type (N/2 created, N/2 updated), and a poll that is also a
complete scan for the sorted types (-o changes_full_scan=1: deletions).
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Mount, Sim  # noqa: E402
from test_changes import TYPES, poll, reupload, upload  # noqa: E402

ROUTES = {
    "spaces": ("GET /api/v1/spaces", "GET /api/v1/spaces/{id}"),
    "users": ("GET /api/v1/users", "GET /api/v1/users/{id}"),
    "apps": ("GET /api/v1/items",),
    "data-files": ("GET /api/v1/data-files", "GET /api/v1/data-files/{id}"),
    "data-stores": ("GET /api/v1/data-stores", "GET /api/v1/data-stores/{id}"),
}


def measure(sim, m):
    sim.reset()
    t0 = time.monotonic()
    st = poll(m, timeout=600)
    dt = time.monotonic() - t0
    r = sim.routes()
    per = {t: sum(r.get(k, 0) for k in ROUTES[t]) for t in TYPES}
    total = sim.stats()["total"]
    for t in TYPES:
        assert per[t] == st["types"][t]["requests"], (t, per[t], st["types"][t])
    return per, total, dt, st


def make_changes(sim, n, tag):
    st = sim.state()
    half = n // 2
    for i in range(half):
        sim.api("POST", "/api/v1/spaces", {"name": "Bench %s %d" % (tag, i), "type": "shared"})
        sim.api("PATCH", "/api/v1/spaces/" + st["spaces"][i * 7]["id"],
                [{"op": "replace", "path": "/description", "value": tag}])
        sim.api("POST", "/api/v1/users", {"subject": "bench-%s-%d" % (tag, i), "name": "Bench",
                                          "email": "b%s%d@example.com" % (tag, i)})
        sim.api("PATCH", "/api/v1/users/" + st["users"][i * 13]["id"],
                [{"op": "replace", "path": "/name", "value": "Bench " + tag}])
        sim.api("POST", "/api/v1/apps", {"attributes": {"name": "Bench %s %d" % (tag, i)}})
        sim.api("PUT", "/api/v1/apps/" + st["apps"][i * 11]["attributes"]["id"],
                {"attributes": {"description": tag}})
        upload(sim, "bench-%s-%d.csv" % (tag, i))
        files = [f for f in st["data_files"] if not f.get("folder") and f.get("spaceId")]
        reupload(sim, files[i]["id"])
        sim.api("POST", "/api/v1/data-stores", {"name": "Bench %d" % i, "type": "gbq",
                                                "technicalName": "bench_%s_%d" % (tag, i)})
        sim.api("PATCH", "/api/v1/data-stores/" + st["data_stores"][i]["id"],
                [{"op": "replace", "path": "/description", "value": tag}])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--spaces", type=int, default=1000)
    ap.add_argument("--apps", type=int, default=5000)
    ap.add_argument("--data-stores", type=int, default=20)
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--latency-ms", type=int, default=20)
    a = ap.parse_args()
    sim = Sim(args=["--users", str(a.users), "--spaces", str(a.spaces), "--apps", str(a.apps),
                    "--data-stores", str(a.data_stores)])
    sd = tempfile.mkdtemp(prefix="qlikfs-bench-state-")
    rows = []
    m = None
    sim.config(latency_ms=a.latency_ms)
    try:
        m = Mount(sim.url, ("state_dir=" + sd, "changes_full_scan=0"))
        rows.append(("bootstrap (complete scans)",) + measure(sim, m)[:3])
        rows.append(("no change",) + measure(sim, m)[:3])
        make_changes(sim, a.changes, "a")
        per, total, dt, st = measure(sim, m)
        for t in TYPES:
            n = st["types"][t]["created"] + st["types"][t]["updated"]
            assert n == a.changes, (t, st["types"][t])
        rows.append(("%d changes of each type" % a.changes, per, total, dt))
        assert m.unmount() == 0
        m = Mount(sim.url, ("state_dir=" + sd, "changes_full_scan=1"))
        rows.append(("no change, complete scan (deletions)",) + measure(sim, m)[:3])
        make_changes(sim, a.changes, "b")
        rows.append(("%d changes, complete scan" % a.changes,) + measure(sim, m)[:3])
    finally:
        if m and m.proc.poll() is None:
            m.unmount()
        sim.stop()
    print("tenant: %d users, %d spaces, %d apps, %d data stores (+ the simulator's 40 data files)"
          % (a.users, a.spaces, a.apps, a.data_stores))
    print("%d ms added to every request" % a.latency_ms)
    print("| poll | " + " | ".join(TYPES) + " | total requests | seconds |")
    print("|---|" + "---:|" * (len(TYPES) + 2))
    for name, per, total, dt in rows:
        print("| %s | %s | %d | %.2f |" % (name, " | ".join(str(per[t]) for t in TYPES), total, dt))


if __name__ == "__main__":
    main()
