#!/usr/bin/python3
"""Benchmark (not a test, not run by CI): a backup of the whole mount with
everyday tools, side by side with a dump written with the official
@qlik/api client, on the simulator with a per-request latency.

For each tenant size, in one run:
  - cold `tar` of the whole mount (changes/, api, reports/ left out), then
    the same `tar` again within the TTL (warm: should cost no request);
  - `rsync -a` twice (cold, then again within the TTL);
  - cold `cp -r`, cold `ls -lR`, cold `find -type f | wc -l`;
  - the official client's dump (tests/bench/official_dump.mjs: list every
    collection, GET every object, 8 in parallel), installed with npm into a
    temporary directory.
Every qlikfs run gets a fresh mount (cold caches) with -o noqvf and
-o noscripts: the official client's dump holds the objects, not app exports
(a .qvf costs an export per app), nor load scripts, data models or lineage
(2 + 1 + 1 requests per app, side by side).  Then find, ls -lR and tar run
again at default options ("default options:" rows, --default-runs): listing
the per-app views costs nothing, stat'ing or reading them one fetch each.  Printed per run: wall
time, HTTP requests the simulator served, the list-page minimum (one walk of
every tenant-wide list endpoint at its largest page size), peak RSS of the
qlikfs process (VmHWM), and the ratios to the minimum and to the official
client.

  QLIKFS_BUILD=build tests/bench/backup.py [--sizes 5000/500/2500,10000/1000/5000]
      [--latency-ms 20] [--no-official] [--opts prefetch=4] [--only tar,rsync]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from conftest import Mount, Sim  # noqa: E402

LEFT_OUT = ("changes", "api", "reports", "reloads")

# tenant-wide list endpoints and their largest page sizes (fs/res/restab.c)
LISTS = [
    ("/api/v1/users", 100),
    ("/api/v1/spaces", 100),
    ("/api/v1/items?resourceType=app", 100),
    ("/api/v1/data-files?includeAllSpaces=true&includeFolders=true", 1000),
    ("/api/v1/data-stores", 100),
    ("/api/v1/data-stores/*/data-assets", 100),
    ("/api/v1/data-stores/*/data-assets/*/data-sets", 100),
]


def list_page_minimum(sim):
    """Pages of one walk of every tenant-wide listing at the largest page
    size, and the number of objects they hold."""
    pages = objs = 0
    for path, limit in LISTS:
        url = sim.url + path + ("&" if "?" in path else "?") + "limit=%d" % limit
        while url:
            req = urllib.request.Request(url, headers={"Authorization": "Bearer " + sim.key})
            with urllib.request.urlopen(req, timeout=60) as r:
                page = json.loads(r.read())
            pages += 1
            objs += len(page.get("data") or [])
            nxt = ((page.get("links") or {}).get("next") or {}).get("href")
            if not nxt and "pages" in page and page.get("page", 0) + 1 < page["pages"]:
                nxt = url.split("&page=")[0] + "&page=%d" % (page["page"] + 1)
            url = nxt
    return pages, objs


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def top_entries(mnt):
    return sorted(e for e in os.listdir(mnt) if e not in LEFT_OUT)


def sh(cmd, **kw):
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, **kw)
    if r.returncode not in (0, 24):  # rsync 24: files vanished (none expected)
        raise RuntimeError("%s: exit %d: %s" % (cmd, r.returncode, r.stderr[-2000:]))
    return r.stdout


def q(p):
    return "'" + p.replace("'", "'\\''") + "'"


def qlikfs_runs(sim, opts, only, tmp):
    """Yields (name, requests, seconds, peak RSS MB, output note)."""
    def measure(m, name, cmd):
        sim.reset()
        t0 = time.monotonic()
        out = sh(cmd)
        t = time.monotonic() - t0
        return (name, sim.total(), t, peak_rss_mb(m.proc.pid), out.strip()[-40:])

    def fresh():
        return Mount(sim.url, opts)

    excl = " ".join("--exclude=./%s" % e for e in LEFT_OUT)
    if "tar" in only:
        m = fresh()
        try:
            dst = os.path.join(tmp, "a.tar")
            cmd = "tar -C %s %s -cf %s ." % (q(m.mnt), excl, q(dst))
            yield measure(m, "tar (cold)", cmd)
            yield measure(m, "tar again (within TTL)", cmd)
            os.unlink(dst)
        finally:
            m.unmount()
    if "rsync" in only:
        m = fresh()
        try:
            dst = os.path.join(tmp, "rsync")
            ex = " ".join("--exclude=/%s" % e for e in LEFT_OUT)
            cmd = "rsync -a %s %s/ %s/" % (ex, q(m.mnt), q(dst))
            yield measure(m, "rsync -a (cold)", cmd)
            yield measure(m, "rsync -a again (within TTL)", cmd)
            shutil.rmtree(dst)
        finally:
            m.unmount()
    if "cp" in only:
        m = fresh()
        try:
            dst = os.path.join(tmp, "cp")
            os.mkdir(dst)
            src = " ".join(q(os.path.join(m.mnt, e)) for e in top_entries(m.mnt))
            yield measure(m, "cp -r (cold)", "cp -r %s %s" % (src, q(dst)))
            shutil.rmtree(dst)
        finally:
            m.unmount()
    if "ls" in only:
        m = fresh()
        try:
            src = " ".join(q(os.path.join(m.mnt, e)) for e in top_entries(m.mnt))
            yield measure(m, "ls -lR (cold)", "ls -lR %s | wc -l" % src)
        finally:
            m.unmount()
    if "find" in only:
        m = fresh()
        try:
            src = " ".join(q(os.path.join(m.mnt, e)) for e in top_entries(m.mnt))
            yield measure(m, "find -type f, wc -l (cold)", "find %s -type f | wc -l" % src)
        finally:
            m.unmount()


def official_client(sim, tmp):
    """Installs @qlik/api into a temporary directory and runs the dump."""
    d = os.path.join(tmp, "official")
    os.mkdir(d)
    shutil.copy(os.path.join(HERE, "official_dump.mjs"), d)
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": "qlikfs-bench-baseline", "private": True, "type": "module"}, f)
    sh("cd %s && npm install --no-audit --no-fund --silent @qlik/api" % q(d))
    out = os.path.join(tmp, "dump")
    sim.reset()
    env = dict(os.environ, QLIK_API_KEY=sim.key)
    t0 = time.monotonic()
    p = subprocess.Popen(["node", "official_dump.mjs", sim.url, out], cwd=d, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while p.poll() is None:
        try:
            peak = max(peak, peak_rss_mb(p.pid))
        except OSError:
            pass
        time.sleep(0.05)
    o, e = p.communicate()
    t = time.monotonic() - t0
    if p.returncode:
        raise RuntimeError("official client dump failed: " + e[-2000:])
    shutil.rmtree(out, ignore_errors=True)
    return ("official @qlik/api dump (8 parallel)", sim.total(), t, peak, o.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000/500/2500,10000/1000/5000",
                    help="users/spaces/apps, comma-separated")
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--opts", default="", help="extra -o options of the mounts")
    ap.add_argument("--only", default="tar,rsync,cp,ls,find,official")
    ap.add_argument("--no-official", action="store_true")
    ap.add_argument("--default-runs", default="find,ls,tar",
                    help="runs repeated at default options (every per-app view on; "
                         "'' for none)")
    a = ap.parse_args()
    only = set(a.only.split(","))
    if a.no_official:
        only.discard("official")
    extra = tuple(o for o in a.opts.split(",") if o)
    opts = ("noqvf", "noscripts") + extra
    default_only = set(r for r in a.default_runs.split(",") if r)
    if "official" in only and not shutil.which("npm"):
        sys.exit("npm not found: apt-get install nodejs npm (or pass --no-official)")
    for size in a.sizes.split(","):
        users, spaces, apps = (int(x) for x in size.split("/"))
        sim = Sim(["--users", str(users), "--spaces", str(spaces), "--apps", str(apps),
                   "--latency-ms", str(a.latency_ms)])
        tmp = tempfile.mkdtemp(prefix="qlikfs-bench-")
        rows = []
        try:
            sim.config(latency_ms=0)
            minimum, objs = list_page_minimum(sim)
            sim.config(latency_ms=a.latency_ms)
            rows += list(qlikfs_runs(sim, opts, only, tmp))
            rows += [("default options: " + r[0],) + r[1:]
                     for r in qlikfs_runs(sim, extra, default_only, tmp)]
            if "official" in only:
                rows.append(official_client(sim, tmp))
        finally:
            sim.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        off = [r for r in rows if r[0].startswith("official")]
        off_t = off[0][2] if off else float("nan")
        print("\n%d users / %d spaces / %d apps (%d objects), %d ms per request; "
              "list-page minimum %d requests%s" %
              (users, spaces, apps, objs, a.latency_ms, minimum,
               (", mount options " + ",".join(opts)) if opts else ""))
        print("| run | requests | x minimum | seconds | x official | peak RSS MB | output |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for name, n, t, rss, out in rows:
            print("| %s | %d | %.2f | %.2f | %.2f | %.1f | %s |" %
                  (name, n, n / minimum, t, t / off_t if off else math.nan, rss, out))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
