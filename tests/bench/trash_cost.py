#!/usr/bin/python3
"""Benchmark (not a test, not run by CI): what `rm` of an app costs with the
trash on (docs/SEMANTICS.md "Trash"), and what its undo costs, on the
simulator.

For each app size (the app is made by copying a .qvf of that size into
spaces/Finance/apps/, an import), one fresh mount per case:
  - notrash: `rm` with -o notrash (the baseline: one DELETE);
  - trash, export cached: the app's .qvf was read before (it is in the
    on-disk export cache), then `rm`;
  - trash, not cached: `rm` of an app whose export was never made;
then `mv .trash/ENTRY spaces/Finance/apps/` of the last one (the restore).
Printed per case: requests the simulator served during the command (by
method and route), bytes it sent, and the command's wall time.

The kept export is hard-linked from the export cache when the cache and
the state directory share a filesystem (the tests' layout), else copied:
--cache-dir on another filesystem (e.g. /dev/shm/x) measures the copy.

  QLIKFS_BUILD=build tests/bench/trash_cost.py [--sizes 300K,50M] [--latency-ms 0]
      [--cache-dir DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from conftest import Mount, Sim  # noqa: E402

MAGIC = b"QVFSIM\x01\n"


def parse_size(s):
    mul = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1].upper(), 1)
    return int(float(s[:-1] if mul > 1 else s) * mul)


def make_qvf(path, name, size):
    """A file the simulator imports as an app of about `size` bytes."""
    head = MAGIC + b"appid:bench\nname:" + name.encode() + b"\n\n"
    chunk = os.urandom(1 << 16)
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head)
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)


def requests(sim):
    log = sim.log()
    routes = {}
    for r in log:
        p = r["path"]
        if p.startswith("/api/v1/temp-contents/"):
            p = "/api/v1/temp-contents/{id}"
        elif p.startswith("/api/v1/apps/") and p != "/api/v1/apps/import":
            parts = p.split("/")
            parts[4] = "{id}"
            p = "/".join(parts)
        k = "%s %s" % (r["method"], p)
        routes[k] = routes.get(k, 0) + 1
    return len(log), routes


def imported(sim, m, src, name):
    d = m.path("spaces", "Finance", "apps")
    subprocess.run(["cp", src, os.path.join(d, name + ".qvf")], check=True)
    (f,) = [x for x in os.listdir(d) if x.startswith(name + " (") and x.endswith(".json")]
    return d, f


def run_case(sim_url_args, size, case, tmp, cache_dir):
    sim = Sim(sim_url_args)
    opts = ["cache_ttl=300", "trash_qvf_max=1G"] + (["notrash"] if case == "notrash" else [])
    if cache_dir:
        subprocess.run(["rm", "-rf", cache_dir])
        opts.append("cache_dir=" + cache_dir)
    m = Mount(sim.url, opts)
    out = []
    try:
        src = os.path.join(tmp, "bench.qvf")
        make_qvf(src, "Bench", size)
        d, f = imported(sim, m, src, "Bench")
        if case == "trash, export cached":
            with open(os.path.join(d, ".qvf", f[:-5] + ".qvf"), "rb") as q:
                while q.read(1 << 20):
                    pass
        sim.reset()
        t0 = time.monotonic()
        os.unlink(os.path.join(d, f))
        wall = time.monotonic() - t0
        n, routes = requests(sim)
        out.append(("rm, " + case, n, routes, wall))
        if case == "trash, not cached":
            (e,) = os.listdir(m.path(".trash"))
            sim.reset()
            t0 = time.monotonic()
            subprocess.run(["mv", m.path(".trash", e), d + "/"], check=True)
            wall = time.monotonic() - t0
            n, routes = requests(sim)
            out.append(("mv back (restore)", n, routes, wall))
    finally:
        m.unmount()
        sim.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="300K,50M")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--cache-dir", default=None)
    a = ap.parse_args()
    args = ["--latency-ms", str(a.latency_ms)] if a.latency_ms else []
    tmp = tempfile.mkdtemp(prefix="qlikfs-bench-trash-")
    print("latency %d ms per request; export cache %s" % (a.latency_ms, a.cache_dir or "beside the state directory"))
    for s in a.sizes.split(","):
        size = parse_size(s)
        print("\napp of %s (%d bytes)" % (s, size))
        print("%-28s %8s %9s  %s" % ("command", "requests", "wall s", "routes"))
        for case in ("notrash", "trash, export cached", "trash, not cached"):
            for what, n, routes, wall in run_case(args, size, case, tmp, a.cache_dir):
                r = ", ".join("%s x%d" % (k, v) for k, v in sorted(routes.items()))
                print("%-28s %8d %9.3f  %s" % (what, n, wall, r))
    subprocess.run(["rm", "-rf", tmp] + ([a.cache_dir] if a.cache_dir else []))


if __name__ == "__main__":
    main()
