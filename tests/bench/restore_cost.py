#!/usr/bin/python3
"""Benchmark (not a test, not run by CI): what a restore costs
(docs/SEMANTICS.md "Restore").

A simulated tenant of the given size is backed up with `rsync -a` of its
mount (changes/, api, reports/ left out); a second, empty simulator (another
seed, so no id is shared) is mounted and the backup is copied into it with
`rsync -a` twice, excluding what is not a resource (data-model/, lineage/,
reloads/, me.json). Printed per run: wall time, the requests the target
served (in all, the writes among them, and the ten most frequent routes),
and whether the target's apps (name, description, space) and data sets
(asset, store) equal the source's.

  QLIKFS_BUILD=build tests/bench/restore_cost.py [--users 50] [--spaces 10]
      [--apps 60] [--data-files 10] [--data-stores 2] [--latency-ms 0]
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from conftest import Mount, Sim  # noqa: E402
import test_restore as T  # noqa: E402


def route(q):
    path = q["path"].split("?")[0]
    return q["method"] + " " + re.sub(r"/[0-9a-f-]{20,}", "/{id}", path)


def main():
    ap = argparse.ArgumentParser()
    for k, v in (("users", 50), ("spaces", 10), ("apps", 60), ("data-files", 10),
                 ("data-stores", 2), ("latency-ms", 0)):
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    size = ["--users", str(a.users), "--spaces", str(a.spaces), "--apps", str(a.apps),
            "--data-files", str(a.data_files), "--data-stores", str(a.data_stores)]
    lat = ["--latency-ms", str(a.latency_ms)]
    src = Sim(args=size + lat)
    dst = Sim(args=["--empty", "--seed", "77"] + lat)
    bk = tempfile.mkdtemp(prefix="restore-bench-")
    ms = md = None
    try:
        ms = Mount(src.url, ("cache_ttl=300",))
        t0 = time.monotonic()
        r = T.rsync(ms.mnt, bk, *T.NOT_BACKED_UP)
        print("backup: rsync rc %d, %.2f s" % (r.returncode, time.monotonic() - t0))
        md = Mount(dst.url, ("cache_ttl=300",))
        for run in (1, 2):
            n0 = len(dst.log())
            t0 = time.monotonic()
            r = T.rsync(bk, md.mnt, *T.DERIVED)
            dt = time.monotonic() - t0
            log = dst.log()[n0:]
            print("restore run %d: %.2f s, rsync rc %d, %d requests, %d writes"
                  % (run, dt, r.returncode, len(log), len(T.writes(dst, n0))))
            for k, v in collections.Counter(route(q) for q in log).most_common(10):
                print("    %5d %s" % (v, k))
        print("apps equal: %s, data sets equal: %s"
              % (T.app_places(dst) == T.app_places(src), T.data_places(dst) == T.data_places(src)))
    finally:
        for m in (md, ms):
            if m:
                m.unmount()
        src.stop()
        dst.stop()
        shutil.rmtree(bk, ignore_errors=True)


if __name__ == "__main__":
    main()
