#!/usr/bin/env python3
"""The layer rule of fs/ (docs/ARCHITECTURE.md), checked from the code itself.

Two graphs are read:
  - includes: every `#include "dir/file.h"` of fs/**.[ch];
  - names: which compiled file uses a function or variable another defines
    (nm over the objects of a build: exact, where includes can hide a use
    behind a shared header).
It reports
  - an include or a name that points up a layer (a lower layer using a higher);
  - fuse/ using anything of ns/ but ns/ns.h;
  - every circle of files in the names graph (files that use each other).
Known debts are listed in tests/layers_debt.txt, one violation per line; the
check fails on a violation not listed there AND on a listed one that no
longer occurs, so the list only shrinks.

usage: check_layers.py [--build DIR] [--write-debt]
"""
import argparse
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FS = os.path.join(ROOT, "fs")
DEBT = os.path.join(ROOT, "tests", "layers_debt.txt")

# top to bottom; a file may use its own layer and the layers below it
LAYERS = [
    ("app", 9),
    ("fuse", 8),
    ("ns", 7),
    ("ns/kinds", 6),
    ("ns/core", 5.5),
    ("res", 5), ("actions", 5), ("changes", 5),
    ("client", 4),
    ("http", 3),
    ("util", 2),
]
RANK = dict(LAYERS)


def layer_of(rel):
    """The layer of a path relative to fs/ ("ns/kinds/ns_ext.c" -> "ns/kinds")."""
    d = os.path.dirname(rel)
    if d not in RANK:
        raise SystemExit("check_layers: %s is in no layer (add its folder to LAYERS)" % rel)
    return d


def sources():
    out = []
    for p in glob.glob(os.path.join(FS, "**", "*.[ch]"), recursive=True):
        out.append(os.path.relpath(p, FS))
    return sorted(out)


INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def include_violations(files):
    bad = []
    for rel in files:
        src_layer = layer_of(rel)
        text = open(os.path.join(FS, rel), encoding="utf-8", errors="replace").read()
        for inc in INC.findall(text):
            if "/" not in inc:
                if inc != "cache.h" and os.path.exists(os.path.join(FS, inc)):
                    bad.append("include without its layer: %s -> %s" % (rel, inc))
                continue  # cache.h and system-like headers
            if not os.path.exists(os.path.join(FS, inc)):
                continue
            dst_layer = layer_of(inc)
            if RANK[dst_layer] > RANK[src_layer]:
                bad.append("include up: %s (%s) -> %s (%s)" % (rel, src_layer, inc, dst_layer))
            if src_layer == "fuse" and dst_layer.startswith("ns") and inc != "ns/ns.h":
                bad.append("fuse beyond ns/ns.h: %s -> %s" % (rel, inc))
    return bad


def symbols(build, files):
    """{source: (defined names, used names)} from the build's objects."""
    by_obj = {rel.replace("/", "_") + ".o": rel for rel in files if rel.endswith(".c")}
    objs = glob.glob(os.path.join(build, "fs", "*.p", "*.o"))
    if not objs:
        raise SystemExit("check_layers: no objects under %s/fs (build it first)" % build)
    out = {}
    for o in objs:
        rel = by_obj.get(os.path.basename(o))
        if not rel:
            continue
        nm = subprocess.run(["nm", o], check=True, capture_output=True, text=True).stdout
        defined, used = set(), set()
        for line in nm.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBR":
                defined.add(parts[2])
            elif len(parts) == 2 and parts[0] == "U":
                used.add(parts[1])
        out[rel] = (defined, used)
    return out


def name_graph(syms):
    owner = {}
    for rel, (defined, _) in syms.items():
        for n in defined:
            owner[n] = rel
    edges = {rel: {} for rel in syms}
    for rel, (_, used) in syms.items():
        for n in used:
            o = owner.get(n)
            if o and o != rel:
                edges[rel].setdefault(o, set()).add(n)
    return edges


def sccs(edges):
    """Tarjan's strongly connected components (iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def name_violations(edges):
    bad = []
    for rel, dsts in sorted(edges.items()):
        for dst, names in sorted(dsts.items()):
            if RANK[layer_of(dst)] > RANK[layer_of(rel)]:
                bad.append("name up: %s -> %s (%s)" % (rel, dst, ", ".join(sorted(names)[:4])))
    for comp in sccs(edges):
        # one line per member: a file leaving the circle pays its debt, a
        # file joining it is new
        for f in comp:
            bad.append("in a circle: %s (with %d others)" % (f, len(comp) - 1))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("QLIKFS_BUILD", "build"))
    ap.add_argument("--write-debt", action="store_true",
                    help="write the violations found to tests/layers_debt.txt")
    a = ap.parse_args()
    build = a.build if os.path.isabs(a.build) else os.path.join(ROOT, a.build)
    files = sources()
    found = include_violations(files) + name_violations(name_graph(symbols(build, files)))
    # the debt file names violations without the names list (stable across edits)
    key = lambda v: re.sub(r" \((with \d+ others|([a-z_0-9]+, )*[a-z_0-9]+)\)$", "", v)
    found_keys = sorted(set(key(v) for v in found))
    if a.write_debt:
        with open(DEBT, "w") as f:
            f.write("# Known layer debts (tests/check_layers.py): the namespace's kind files and\n"
                    "# its dispatcher still use each other; the kind registry removes these.\n")
            for v in found_keys:
                f.write(v + "\n")
        print("wrote %d debts" % len(found_keys))
        return 0
    debt = set()
    if os.path.exists(DEBT):
        debt = {l.strip() for l in open(DEBT) if l.strip() and not l.startswith("#")}
    new = [v for v in found if key(v) not in debt]
    paid = sorted(debt - set(found_keys))
    for v in new:
        print("NEW  " + v)
    for v in paid:
        print("PAID " + v + "   (remove it from tests/layers_debt.txt)")
    print("%d violations, %d known debts, %d new, %d paid" % (len(found_keys), len(debt), len(new),
                                                              len(paid)))
    return 1 if new or paid else 0


if __name__ == "__main__":
    sys.exit(main())
