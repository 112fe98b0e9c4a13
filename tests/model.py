#!/usr/bin/python3
"""A reference-model random test of qlikfs (in the spirit of mountpoint-s3's
reference-model tests).

A Python model of the tenant (spaces, apps, data files, users, data stores)
is driven by random operations made THROUGH THE MOUNT (mkdir, file creates,
JSON field writes by several tools, renames, moves, rm, rm -r, rmdir, a write
racing with a remote change) mixed with changes made BEHIND the mount
through the simulator's REST API.  After every step three views must agree:
the model, the simulator's state (/_sim/state, strictly) and the mount
(listings and file contents parsed as JSON, and st_size == bytes read).

Consistency window: a change made behind the mount's back may show late.
The model marks each entity touched remotely "unsure" until its window ends:
cache_ttl (and neg_ttl) after the change, plus a margin; with a long TTL,
until the next SIGHUP step (which drops every cache, as documented).  While
an entity is unsure, its old and new names are allowed in listings and its
file is not compared; everything else is compared exactly.  Operations
through the mount only pick entities that are sure.

Usage:
  python3 tests/model.py --seed S --steps N [--kinds spaces,apps,...]
                         [--ttl MS] [--replay steps.json] [--shrink]
Environment: QLIKFS_BUILD (default build), as for the pytest tests.
"""
import argparse
import errno
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Mount, Sim  # noqa: E402

KINDS = ("spaces", "apps", "datafiles", "users", "stores")
INF = float("inf")

WORDS = ["alpha", "Beta", "gamma two", "Ünïcödé", "売上", "rocket 🚀", "O'Neil", "x", "Zoë",
         "Quarterly", "plan-B", "v2.1", "naïve café", "long description of several words"]
APP_WORDS = WORDS + ["Q1/Q2", "a/b/c"]  # apps may hold '/' (shown as ／)


class Divergence(AssertionError):
    pass


class Skip(Exception):
    """A replayed step whose target no longer exists (or is unsure)."""


def fsname(name):
    """The directory entry qlikfs shows for a server name (fs/names.c)."""
    if name == "":
        return "\u201b"
    if name in (".", ".."):
        return "\uff0e" * len(name)
    out = []
    for ch in name:
        cp = ord(ch)
        if ch == "/":
            out.append("\uff0f")
        elif 1 <= cp <= 0x1f:
            out.append(chr(0x2400 + cp))
        elif cp == 0x7f:
            out.append("\u2421")
        elif (cp == 0xff0f or 0x2401 <= cp <= 0x241f or cp in (0x2421, 0x201b)
              or 0xf700 <= cp <= 0xf7ff):
            out.append("\u201b" + ch)
        else:
            out.append(ch)
    return "".join(out)


# ------------------------------------------------------------------ model

class Model:
    """The tenant as the test believes it is.  ents[kind] maps a stable label
    (seed:<i> for seeded entities, +<name> for created ones) to a record with
    the server id and the fields the test follows."""

    def __init__(self, state, kinds):
        self.me = state["me"]
        self.kinds = kinds
        self.ents = {k: {} for k in KINDS}
        self.unsure = {}  # (kind, label) -> (deadline, set of names it may show)
        self.counter = 0
        self.frozen = None  # during a check: the one "now" of its window tests
        for i, s in enumerate(state["spaces"]):
            self.ents["spaces"]["seed:%d" % i] = self.space_rec(s)
        for i, a in enumerate(state["apps"]):
            self.ents["apps"]["seed:%d" % i] = self.app_rec(a)
        for i, d in enumerate(x for x in state["data_files"] if not x["folder"]):
            self.ents["datafiles"]["seed:%d" % i] = self.df_rec(d)
        for i, u in enumerate(state["users"]):
            self.ents["users"]["seed:%d" % i] = self.user_rec(u)
        for i, s in enumerate(state["data_stores"]):
            self.ents["stores"]["seed:%d" % i] = self.store_rec(s)

    @staticmethod
    def space_rec(s):
        return {"id": s["id"], "name": s["name"], "description": s.get("description") or ""}

    @staticmethod
    def app_rec(a):
        at = a["attributes"]
        return {"id": at["id"], "name": at["name"], "description": at.get("description") or "",
                "spaceId": at.get("spaceId") or None, "ownerId": at.get("ownerId")}

    @staticmethod
    def df_rec(d):
        return {"id": d["id"], "name": d["name"], "spaceId": d.get("spaceId") or None,
                "ownerId": d.get("ownerId")}

    @staticmethod
    def user_rec(u):
        return {"id": u["id"], "name": u["name"], "status": u["status"]}

    @staticmethod
    def store_rec(s):
        return {"id": s["id"], "name": s["name"], "description": s.get("description") or "",
                "spaceId": s.get("spaceId") or None}

    def sim_view(self, state):
        """The followed fields of the simulator's state, keyed by id."""
        return {
            "spaces": {s["id"]: self.space_rec(s) for s in state["spaces"]},
            "apps": {a["attributes"]["id"]: self.app_rec(a) for a in state["apps"]},
            "datafiles": {d["id"]: self.df_rec(d) for d in state["data_files"] if not d["folder"]},
            "users": {u["id"]: self.user_rec(u) for u in state["users"]},
            "stores": {s["id"]: self.store_rec(s) for s in state["data_stores"]},
        }

    def by_id(self, kind):
        return {r["id"]: r for r in self.ents[kind].values()}

    def new_name(self, prefix, rng, words=WORDS):
        self.counter += 1
        return "%s%d %s" % (prefix, self.counter, rng.choice(words))

    # ---- the window
    def is_sure(self, kind, label):
        u = self.unsure.get((kind, label))
        if u is None:
            return True
        if (self.frozen or time.monotonic()) >= u[0]:
            del self.unsure[(kind, label)]
            return True
        return False

    def mark(self, kind, label, deadline, names):
        old = self.unsure.get((kind, label))
        names = set(names) | (old[1] if old else set())
        dl = max(deadline, old[0]) if old else deadline
        self.unsure[(kind, label)] = (dl, names)

    def unsure_names(self, kind):
        out = set()
        for (k, label), (dl, names) in list(self.unsure.items()):
            if k == kind and not self.is_sure(k, label):
                out |= names
        return out

    def sure(self, kind):
        return [lb for lb in self.ents[kind] if self.is_sure(kind, lb)]

    def space_clean(self, sid):
        """No unsure app, data file or data store may be in (or moving through) space sid."""
        for kind in ("apps", "datafiles", "stores"):
            for lb, r in self.ents[kind].items():
                if not self.is_sure(kind, lb) and (r["spaceId"] == sid or
                                                   ("space", sid) in self.unsure[(kind, lb)][1]):
                    return False
        for (k, lb), (dl, names) in list(self.unsure.items()):
            if k in ("apps", "datafiles", "stores") and lb not in self.ents[k] and ("space", sid) in names:
                if not self.is_sure(k, lb):
                    return False
        return True

    def space_ok(self, sid):
        """Space sid is sure, and so is everything in it."""
        for lb, r in self.ents["spaces"].items():
            if r["id"] == sid:
                return self.is_sure("spaces", lb) and self.space_clean(sid)
        return False

    def app_visible(self, r):
        return bool(r["spaceId"]) or r["ownerId"] == self.me

    def apps_in(self, sid):
        return [r for r in self.ents["apps"].values() if r["spaceId"] == sid]

    def dfiles_in(self, sid):
        return [r for r in self.ents["datafiles"].values() if r["spaceId"] == sid]

    def stores_in(self, sid):
        """The data stores of space sid (shown in its data-stores/)."""
        return [r for r in self.ents["stores"].values() if r["spaceId"] == sid]


# ------------------------------------------------------------------ engine

class Engine:
    def __init__(self, seed, kinds=KINDS, ttl_ms=1000, sim=None, log=print):
        self.seed = seed
        self.kinds = tuple(kinds)
        self.ttl = ttl_ms / 1000.0
        self.long = self.ttl >= 30
        self.rng = random.Random(seed)
        self.crng = random.Random(seed + 1)  # samples for the checks
        self.log = log
        self.own_sim = sim is None
        self.sim = sim or Sim()
        opts = ["cache_ttl=%g" % self.ttl, "noqvf"]
        if not self.long:
            opts.append("neg_ttl=%g" % self.ttl)
        self.neg = 5.0 if self.long else self.ttl
        self.mount = Mount(self.sim.url, opts)
        self.model = Model(self.sim.state(), self.kinds)
        self.steps = []
        self.stats = {}
        self.sighups = 0
        self.touched = []

    def close(self):
        rc = self.mount.unmount()
        if self.own_sim:
            self.sim.stop()
        return rc

    def p(self, *parts):
        return self.mount.path(*parts)

    # ---- paths
    def space_dir(self, r):
        return self.p("spaces", fsname(r["name"]))

    def app_entry(self, r):
        return "%s (%s).json" % (fsname(r["name"]), r["id"])

    def app_path(self, r, where=None):
        m = self.model
        dirs = [("apps",)]
        if r["spaceId"]:
            s = m.by_id("spaces").get(r["spaceId"])
            if s and m.space_ok(s["id"]):
                dirs.append(("spaces", fsname(s["name"]), "apps"))
        elif r["ownerId"] == m.me:
            dirs.append(("spaces", "@personal", "apps"))
        d = dirs[where % len(dirs)] if where is not None else dirs[0]
        return self.p(*d, self.app_entry(r))

    def user_path(self, r):
        return self.p("users", "%s (%s).json" % (fsname(r["name"]), r["id"]))

    def store_path(self, r):
        return self.p("data-stores", "%s (%s)" % (fsname(r["name"]), r["id"]), "data-store.json")

    def df_path(self, r):
        return self.p("data-files", fsname(r["name"]) + ".json")

    def path_of(self, kind, r, where=None):
        if kind == "spaces":
            return os.path.join(self.space_dir(r), "space.json")
        if kind == "apps":
            return self.app_path(r, where)
        if kind == "users":
            return self.user_path(r)
        if kind == "stores":
            return self.store_path(r)
        return self.df_path(r)

    # ---- helpers
    def deadline(self):
        return INF if self.long else time.monotonic() + max(self.ttl, self.neg) + 0.5

    def remote_touch(self, kind, label, names):
        self.model.mark(kind, label, self.deadline(), names)

    def api(self, method, path, body=None, want=(200, 201, 204)):
        st, out = self.sim.api(method, path, body)
        if st not in want:
            raise Divergence("remote %s %s -> %s %r" % (method, path, st, out))
        return out

    def find_new(self, state_list, key, name, known):
        for x in state_list:
            xid, xname = key(x)
            if xname == name and xid not in known:
                return x
        raise Divergence("the tenant has no new resource named %r" % name)

    def label_rec(self, kind, label):
        r = self.model.ents[kind].get(label)
        if r is None or not self.model.is_sure(kind, label):
            raise Skip("%s %s" % (kind, label))
        return r

    # ------------------------------------------------------------ generation

    def gen(self):
        """One random step, as a JSON-able dict."""
        rng = self.rng
        ops = []

        def add(w, f):
            ops.append((w, f))

        k = self.kinds
        if "spaces" in k:
            add(3, self.g_mkdir)
            add(4, lambda: self.g_write("spaces"))
            add(2, self.g_rename_space)
            add(2, self.g_rmdir)
            add(1, self.g_rm_r)
            add(3, self.g_r_space)
        if "apps" in k:
            add(4, self.g_create_app)
            add(6, lambda: self.g_write("apps"))
            add(3, self.g_rename_app)
            add(3, self.g_move_app)
            add(2, self.g_rm_app)
            add(4, self.g_r_app)
        if "datafiles" in k:
            add(2, self.g_upload)
            add(2, self.g_rename_df)
            add(1, self.g_rm_df)
            add(2, self.g_r_df)
        if "users" in k:
            add(3, lambda: self.g_write("users"))
            add(1, self.g_create_user)
            add(2, self.g_r_user)
        if "stores" in k:
            add(2, lambda: self.g_write("stores"))
            add(1, self.g_r_store)
        if k and set(k) & {"spaces", "apps", "users", "stores"}:
            add(2, self.g_race)
        if self.long:
            add(1, lambda: {"op": "sighup"})
        total = sum(w for w, _ in ops)
        for _ in range(50):
            x = rng.uniform(0, total)
            for w, f in ops:
                x -= w
                if x <= 0:
                    break
            st = f()
            if st:
                return st
        return {"op": "noop"}

    def pick(self, kind, pred=lambda r: True):
        cands = [lb for lb in self.model.sure(kind) if pred(self.model.ents[kind][lb])]
        return self.rng.choice(cands) if cands else None

    def g_mkdir(self):
        if self.rng.random() < 0.1:  # an existing name: EEXIST
            lb = self.pick("spaces")
            if lb:
                return {"op": "mkdir", "name": self.model.ents["spaces"][lb]["name"], "exists": True}
        return {"op": "mkdir", "name": self.model.new_name("S", self.rng)}

    def sure_space(self, exclude=None):
        m = self.model
        return self.pick("spaces", lambda r: r["id"] != exclude and m.space_ok(r["id"]))

    def g_create_app(self):
        m, rng = self.model, self.rng
        name = m.new_name("A", rng, APP_WORDS)
        where = rng.choice(["space", "space", "apps", "personal"])
        st = {"op": "create_app", "name": name, "where": where,
              "description": rng.choice(WORDS), "name_in_json": rng.random() < 0.5}
        if where == "space":
            lb = self.sure_space()
            if not lb:
                return None
            st["space"] = lb
        return st

    def g_write(self, kind):
        rng = self.rng
        if kind == "stores":
            lb = self.pick("stores")
            field = "description"
        elif kind == "users":
            # not the caller: disabling it locks the mount out (401 on every
            # request after the PATCH)
            lb = self.pick("users", lambda r: r["id"] != self.model.me)
            field = rng.choice(["name", "status"])
        elif kind == "spaces":
            lb = self.pick("spaces", lambda r: self.model.space_ok(r["id"]))
            field = rng.choice(["description", "description", "name"])
        else:
            lb = self.pick("apps", self.model.app_visible)
            field = rng.choice(["description", "description", "name"])
        if not lb:
            return None
        if field == "status":
            value = rng.choice(["active", "disabled"])
        elif field == "name":
            value = self.model.new_name({"spaces": "S", "apps": "A", "users": "U"}[kind], rng,
                                        APP_WORDS if kind == "apps" else WORDS)
        else:
            value = rng.choice(WORDS + [""]) + (" %d" % rng.randrange(100))
        how = rng.choice(["owc", "rplus", "sed", "shell", "tmp_mv"])
        return {"op": "write", "kind": kind, "label": lb, "field": field, "value": value,
                "how": how, "where": rng.randrange(3)}

    def g_rename_space(self):
        lb = self.pick("spaces", lambda r: self.model.space_ok(r["id"]))
        return lb and {"op": "rename_space", "label": lb, "name": self.model.new_name("S", self.rng)}

    def g_rmdir(self):
        lb = self.pick("spaces", lambda r: self.model.space_ok(r["id"]))
        return lb and {"op": "rmdir", "label": lb}

    def g_rm_r(self):
        # only spaces the model created: seeded ones are kept to have content
        lb = self.pick("spaces", lambda r: self.model.space_ok(r["id"]))
        if not lb or (lb.startswith("seed:") and self.rng.random() < 0.8):
            return None
        return {"op": "rm_r", "label": lb}

    def g_rename_app(self):
        lb = self.pick("apps", self.model.app_visible)
        return lb and {"op": "rename_app", "label": lb, "where": self.rng.randrange(3),
                       "name": self.model.new_name("A", self.rng, APP_WORDS)}

    def g_move_app(self):
        m = self.model
        lb = self.pick("apps", lambda r: r["spaceId"] and m.space_ok(r["spaceId"]))
        if not lb:
            return None
        src = m.ents["apps"][lb]["spaceId"]
        if self.rng.random() < 0.15:
            return {"op": "move_app", "label": lb, "to": "@personal"}
        to = self.sure_space(exclude=src)
        return to and {"op": "move_app", "label": lb, "to": to}

    def g_rm_app(self):
        lb = self.pick("apps", self.model.app_visible)
        return lb and {"op": "rm_app", "label": lb, "where": self.rng.randrange(3)}

    def g_upload(self):
        n = self.model.new_name("f", self.rng, ["a", "b", "c"]).replace(" ", "_")
        return {"op": "upload", "name": n + self.rng.choice([".csv", ".txt"]),
                "size": self.rng.randrange(0, 3000)}

    def top_df(self, r):
        return "/" not in r["name"] and (r["spaceId"] or r["ownerId"] == self.model.me)

    def g_rename_df(self):
        lb = self.pick("datafiles", lambda r: self.top_df(r) and not self.df_dup(r))
        if not lb:
            return None
        ext = os.path.splitext(self.model.ents["datafiles"][lb]["name"])[1]
        n = self.model.new_name("g", self.rng, ["a", "b"]).replace(" ", "_") + ext
        return {"op": "rename_df", "label": lb, "name": n}

    def g_rm_df(self):
        lb = self.pick("datafiles", lambda r: self.top_df(r) and not self.df_dup(r))
        return lb and {"op": "rm_df", "label": lb}

    def g_create_user(self):
        n = self.model.new_name("U", self.rng)
        return {"op": "create_user", "name": n}

    def g_race(self):
        kinds = [k for k in ("spaces", "apps", "users", "stores") if k in self.kinds]
        kind = self.rng.choice(kinds)
        st = self.g_write(kind)
        if not st:
            return None
        if kind == "users":  # status has two values: race on the name
            st["field"] = "name"
            st["value"] = self.model.new_name("U", self.rng)
            st["remote"] = self.model.new_name("RU", self.rng)
        elif st["field"] == "name":
            return None
        else:
            st["remote"] = "theirs %d" % self.rng.randrange(1000)
        st["op"] = "race"
        st["how"] = "rplus"
        return st

    # remote changes
    def g_r_space(self):
        m, rng = self.model, self.rng
        x = rng.random()
        if x < 0.35:
            return {"op": "r_space_create", "name": m.new_name("R", rng)}
        lb = self.pick("spaces")
        if not lb:
            return None
        if x < 0.8:
            field = rng.choice(["name", "description"])
            v = m.new_name("R", rng) if field == "name" else rng.choice(WORDS)
            return {"op": "r_space_patch", "label": lb, "field": field, "value": v}
        r = m.ents["spaces"][lb]
        if m.apps_in(r["id"]) or m.dfiles_in(r["id"]):
            return None
        return {"op": "r_space_delete", "label": lb}

    def g_r_app(self):
        m, rng = self.model, self.rng
        x = rng.random()
        if x < 0.3:
            sp = self.pick("spaces")
            return {"op": "r_app_create", "name": m.new_name("RA", rng, APP_WORDS),
                    "space": sp if rng.random() < 0.8 else None}
        lb = self.pick("apps", m.app_visible)
        if not lb:
            return None
        if x < 0.7:
            field = rng.choice(["name", "description"])
            v = m.new_name("RA", rng, APP_WORDS) if field == "name" else rng.choice(WORDS)
            return {"op": "r_app_update", "label": lb, "field": field, "value": v}
        if x < 0.85:
            return {"op": "r_app_move", "label": lb, "to": self.pick("spaces")}
        return {"op": "r_app_delete", "label": lb}

    def g_r_df(self):
        m, rng = self.model, self.rng
        x = rng.random()
        if x < 0.4:
            n = m.new_name("rf", rng, ["a", "b"]).replace(" ", "_") + ".csv"
            return {"op": "r_df_create", "name": n, "size": rng.randrange(1, 2000)}
        lb = self.pick("datafiles", lambda r: self.top_df(r) and not self.df_dup(r))
        if not lb:
            return None
        if x < 0.75:
            n = m.new_name("rg", rng, ["a", "b"]).replace(" ", "_") + ".csv"
            return {"op": "r_df_rename", "label": lb, "name": n}
        return {"op": "r_df_delete", "label": lb}

    def g_r_user(self):
        lb = self.pick("users", lambda r: r["id"] != self.model.me)
        if not lb:
            return None
        field = self.rng.choice(["name", "status"])
        v = self.model.new_name("RU", self.rng) if field == "name" else \
            self.rng.choice(["active", "disabled"])
        return {"op": "r_user_patch", "label": lb, "field": field, "value": v}

    def g_r_store(self):
        lb = self.pick("stores")
        return lb and {"op": "r_store_patch", "label": lb,
                       "value": self.rng.choice(WORDS) + " %d" % self.rng.randrange(100)}

    def df_dup(self, r):
        base = r["name"].lower()
        return sum(1 for x in self.model.ents["datafiles"].values()
                   if x["name"].lower() == base) > 1

    # ------------------------------------------------------------ execution

    def run(self, st):
        op = st["op"]
        getattr(self, "x_" + op)(st)
        self.stats[op] = self.stats.get(op, 0) + 1

    def x_noop(self, st):
        pass

    def x_sighup(self, st):
        before = self.mount.log().count("SIGHUP: dropping every cache")
        os.kill(self.mount.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.mount.log().count("SIGHUP: dropping every cache") <= before:
            if time.monotonic() > deadline:
                raise Divergence("SIGHUP was not handled within 10 s")
            time.sleep(0.01)
        time.sleep(0.2)  # the kernel invalidations follow the log line
        self.model.unsure.clear()
        self.sighups += 1

    # -- through the mount
    def expect_oserror(self, fn, errs, what):
        try:
            fn()
        except OSError as e:
            if e.errno not in errs:
                raise Divergence("%s: errno %s, expected %s" % (what, errno.errorcode.get(e.errno),
                                 [errno.errorcode[x] for x in errs]))
            return
        raise Divergence("%s succeeded, expected %s" % (what, [errno.errorcode[x] for x in errs]))

    def x_mkdir(self, st):
        m = self.model
        path = self.p("spaces", fsname(st["name"]))
        if st.get("exists"):
            self.expect_oserror(lambda: os.mkdir(path), (errno.EEXIST,), "mkdir of an existing space")
            return
        os.mkdir(path)
        s = self.find_new(self.sim.state()["spaces"],
                          lambda x: (x["id"], x["name"]), st["name"], m.by_id("spaces"))
        m.ents["spaces"]["+" + st["name"]] = m.space_rec(s)

    def x_create_app(self, st):
        m = self.model
        body = {"description": st["description"]}
        if st["name_in_json"]:
            body["name"] = st["name"]
            fname = "new app.json"
        else:
            fname = fsname(st["name"]) + ".json"
        if st["where"] == "space":
            r = self.label_rec("spaces", st["space"])
            sid = r["id"]
            d = os.path.join(self.space_dir(r), "apps")
        elif st["where"] == "personal":
            sid, d = None, self.p("spaces", "@personal", "apps")
        else:
            sid, d = None, self.p("apps")
        with open(os.path.join(d, fname), "w") as f:
            json.dump(body, f)
        a = self.find_new(self.sim.state()["apps"], lambda x: (x["attributes"]["id"],
                          x["attributes"]["name"]), st["name"], m.by_id("apps"))
        rec = m.app_rec(a)
        if rec["spaceId"] != sid:
            raise Divergence("app created in space %s, expected %s" % (rec["spaceId"], sid))
        if os.path.exists(os.path.join(d, fname)):
            raise Divergence("the new file %s is still there after the create" % fname)
        m.ents["apps"]["+" + st["name"]] = rec
        self.touched.append(("apps", "+" + st["name"]))

    def edit(self, text, field, value, how, path):
        """Writes field=value into the file at path with tool `how`."""
        if how == "sed":
            d = json.loads(text)
            old = json.dumps(d[field], ensure_ascii=False)
            new = json.dumps(value, ensure_ascii=False)
            pat = re.sub(r"([][\\.*^$/])", r"\\\1", '"%s": %s' % (field, old))
            rep = ('"%s": %s' % (field, new)).replace("\\", "\\\\").replace("&", "\\&") \
                .replace("/", "\\/")
            subprocess.run(["sed", "-i", "0,/%s/s//%s/" % (pat, rep), path], check=True,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        elif how == "owc":
            d = json.loads(text)
            d[field] = value
            with open(path, "w") as f:
                json.dump(d, f, indent=1, ensure_ascii=self.rng.random() < 0.5)
        elif how == "rplus":
            with open(path, "r+") as f:
                d = json.load(f)
                d[field] = value
                f.seek(0)
                f.truncate()
                json.dump(d, f)
        elif how == "shell":
            subprocess.run(["sh", "-c", 'printf "%s" "$2" > "$1"', "sh", path,
                            json.dumps({field: value})], check=True)
        elif how == "tmp_mv":
            d = json.loads(text)
            d[field] = value
            # A space's or store's directory takes no new files (EPERM, as
            # documented): there the temporary file is outside the mount and
            # is copied over (cp: O_TRUNC).  Not mv: a cross-filesystem mv
            # unlinks the target first, then creates it O_EXCL (see the
            # report: EEXIST on space.json, delete + re-create of an app).
            inside = os.path.basename(path) not in ("space.json", "data-store.json")
            t = os.path.join(os.path.dirname(path) if inside else self.mount.dir, "t")
            with open(t, "w") as f:
                json.dump(d, f, indent=2)
            subprocess.run(["mv" if inside else "cp", t, path], check=True)
        else:
            raise ValueError(how)

    def x_write(self, st):
        kind, field, value = st["kind"], st["field"], st["value"]
        r = self.label_rec(kind, st["label"])
        path = self.path_of(kind, r, st.get("where"))
        text = self.read_json_file(path)
        self.edit(text, field, value, st["how"], path)
        r[field] = value
        self.touched.append((kind, st["label"]))

    def x_race(self, st):
        kind, field = st["kind"], st["field"]
        r = self.label_rec(kind, st["label"])
        path = self.path_of(kind, r, st.get("where"))
        before = self.entry_names(kind, r)
        f = open(path, "r+")
        try:
            d = json.load(f)
            self.remote_set(kind, r, field, st["remote"])
            d[field] = st["value"]
            f.seek(0)
            f.truncate()
            json.dump(d, f)
        except BaseException:
            f.close()
            raise
        try:
            f.close()
        except OSError as e:
            if e.errno != errno.ESTALE:
                raise Divergence("racing write: errno %s, expected ESTALE" %
                                 errno.errorcode.get(e.errno))
        else:
            raise Divergence("a write racing with a remote change succeeded (lost update)")
        r[field] = st["remote"]
        rej = path + ".rejected"
        got = json.load(open(rej))
        if got.get(field) != st["value"]:
            raise Divergence("%s holds %r, expected the rejected value %r" %
                             (rej, got.get(field), st["value"]))
        os.unlink(rej)
        # the remote change itself follows the window
        self.remote_touch(kind, st["label"], before | self.entry_names(kind, r))

    def x_rename_space(self, st):
        r = self.label_rec("spaces", st["label"])
        os.rename(self.space_dir(r), self.p("spaces", fsname(st["name"])))
        r["name"] = st["name"]
        self.touched.append(("spaces", st["label"]))

    def x_rmdir(self, st):
        m = self.model
        r = self.label_rec("spaces", st["label"])
        if m.apps_in(r["id"]) or m.dfiles_in(r["id"]) or m.stores_in(r["id"]):
            self.expect_oserror(lambda: os.rmdir(self.space_dir(r)),
                                (errno.ENOTEMPTY, errno.EEXIST), "rmdir of a non-empty space")
            return
        os.rmdir(self.space_dir(r))
        del m.ents["spaces"][st["label"]]

    def x_rm_r(self, st):
        m = self.model
        r = self.label_rec("spaces", st["label"])
        # everything the tenant counts as the space's content is shown in its
        # directory (apps, data files, data stores): rm -r removes it all
        p = subprocess.run(["rm", "-r", self.space_dir(r)], capture_output=True, text=True)
        if p.returncode != 0:
            raise Divergence("rm -r of a space exited %d: %s" % (p.returncode, p.stderr.strip()))
        for kind in ("apps", "datafiles", "stores"):
            for lb, x in list(m.ents[kind].items()):
                if x["spaceId"] == r["id"]:
                    del m.ents[kind][lb]
        del m.ents["spaces"][st["label"]]

    def x_rename_app(self, st):
        r = self.label_rec("apps", st["label"])
        old = self.app_path(r, st["where"])
        new = os.path.join(os.path.dirname(old), "%s (%s).json" % (fsname(st["name"]), r["id"]))
        os.rename(old, new)
        r["name"] = st["name"]
        self.touched.append(("apps", st["label"]))

    def x_move_app(self, st):
        m = self.model
        r = self.label_rec("apps", st["label"])
        src = m.by_id("spaces")[r["spaceId"]]
        if st["to"] == "@personal":
            dst, sid = self.p("spaces", "@personal", "apps"), None
        else:
            s = self.label_rec("spaces", st["to"])
            dst, sid = os.path.join(self.space_dir(s), "apps"), s["id"]
        subprocess.run(["mv", os.path.join(self.space_dir(src), "apps", self.app_entry(r)),
                        dst + "/"], check=True)
        r["spaceId"] = sid
        if m.app_visible(r):
            self.touched.append(("apps", st["label"]))
        else:
            del m.ents["apps"][st["label"]]

    def x_rm_app(self, st):
        r = self.label_rec("apps", st["label"])
        os.unlink(self.app_path(r, st["where"]))
        del self.model.ents["apps"][st["label"]]

    def x_upload(self, st):
        m = self.model
        data = bytes(self.rng.randrange(32, 127) for _ in range(st["size"])) or b"\n"
        with open(self.p("data-files", st["name"]), "wb") as f:
            f.write(data)
        d = self.find_new(self.sim.state()["data_files"], lambda x: (x["id"], x["name"]),
                          st["name"], m.by_id("datafiles"))
        if d["size"] != len(data):
            raise Divergence("uploaded %d bytes, the tenant holds %d" % (len(data), d["size"]))
        m.ents["datafiles"]["+" + st["name"]] = m.df_rec(d)
        self.touched.append(("datafiles", "+" + st["name"]))

    def x_rename_df(self, st):
        r = self.label_rec("datafiles", st["label"])
        os.rename(self.df_path(r), self.p("data-files", fsname(st["name"]) + ".json"))
        r["name"] = st["name"]
        self.touched.append(("datafiles", st["label"]))

    def x_rm_df(self, st):
        r = self.label_rec("datafiles", st["label"])
        os.unlink(self.df_path(r))
        del self.model.ents["datafiles"][st["label"]]

    def x_create_user(self, st):
        m = self.model
        sub = "auth0|model-%s" % re.sub(r"[^A-Za-z0-9]", "", st["name"])
        with open(self.p("users", "new.json"), "w") as f:
            json.dump({"name": st["name"], "subject": sub, "email": "m@x.example"}, f)
        u = self.find_new(self.sim.state()["users"], lambda x: (x["id"], x["name"]), st["name"],
                          m.by_id("users"))
        m.ents["users"]["+" + st["name"]] = m.user_rec(u)
        self.touched.append(("users", "+" + st["name"]))

    # -- behind the mount
    def entry_names(self, kind, r):
        if kind == "spaces":
            return {fsname(r["name"])}
        if kind == "apps":
            return {self.app_entry(r), ("space", r["spaceId"])}
        if kind == "datafiles":
            return {fsname(r["name"]) + ".json", ("space", r["spaceId"])}
        if kind == "users":
            return {os.path.basename(self.user_path(r))}
        return {"%s (%s)" % (fsname(r["name"]), r["id"])}

    def remote_set(self, kind, r, field, value):
        if kind == "spaces":
            self.api("PATCH", "/api/v1/spaces/" + r["id"],
                     [{"op": "replace", "path": "/" + field, "value": value}])
        elif kind == "apps":
            self.api("PUT", "/api/v1/apps/" + r["id"], {"attributes": {field: value}})
        elif kind == "users":
            self.api("PATCH", "/api/v1/users/" + r["id"],
                     [{"op": "replace", "path": "/" + field, "value": value}])
        elif kind == "stores":
            self.api("PATCH", "/api/v1/data-stores/" + r["id"],
                     [{"op": "replace", "path": "/" + field, "value": value}])

    def remote_update(self, kind, label, field, value):
        r = self.label_any(kind, label)
        before = self.entry_names(kind, r)
        self.remote_set(kind, r, field, value)
        r[field] = value
        self.remote_touch(kind, label, before | self.entry_names(kind, r))

    def label_any(self, kind, label):
        r = self.model.ents[kind].get(label)
        if r is None:
            raise Skip("%s %s" % (kind, label))
        return r

    def x_r_space_create(self, st):
        s = self.api("POST", "/api/v1/spaces", {"name": st["name"], "type": "shared"})
        self.model.ents["spaces"]["+" + st["name"]] = self.model.space_rec(s)
        self.remote_touch("spaces", "+" + st["name"], {fsname(st["name"])})

    def x_r_space_patch(self, st):
        self.remote_update("spaces", st["label"], st["field"], st["value"])

    def x_r_space_delete(self, st):
        r = self.label_any("spaces", st["label"])
        self.api("DELETE", "/api/v1/spaces/" + r["id"])
        del self.model.ents["spaces"][st["label"]]
        self.remote_touch("spaces", st["label"], {fsname(r["name"])})

    def x_r_app_create(self, st):
        at = {"name": st["name"]}
        if st["space"]:
            at["spaceId"] = self.label_any("spaces", st["space"])["id"]
        a = self.api("POST", "/api/v1/apps", {"attributes": at})
        rec = self.model.app_rec(a)
        self.model.ents["apps"]["+" + st["name"]] = rec
        self.remote_touch("apps", "+" + st["name"], self.entry_names("apps", rec))

    def x_r_app_update(self, st):
        self.remote_update("apps", st["label"], st["field"], st["value"])

    def x_r_app_move(self, st):
        r = self.label_any("apps", st["label"])
        before = self.entry_names("apps", r)
        if st["to"]:
            sid = self.label_any("spaces", st["to"])["id"]
            self.api("PUT", "/api/v1/apps/%s/space" % r["id"], {"spaceId": sid})
        else:
            sid = None
            self.api("DELETE", "/api/v1/apps/%s/space" % r["id"])
        r["spaceId"] = sid
        self.remote_touch("apps", st["label"], before | self.entry_names("apps", r))
        if not self.model.app_visible(r):
            del self.model.ents["apps"][st["label"]]

    def x_r_app_delete(self, st):
        r = self.label_any("apps", st["label"])
        self.api("DELETE", "/api/v1/apps/" + r["id"])
        del self.model.ents["apps"][st["label"]]
        self.remote_touch("apps", st["label"], self.entry_names("apps", r))

    def multipart(self, method, path, meta, data):
        b = "----modelboundary%d" % self.rng.randrange(10 ** 9)
        parts = [b"--" + b.encode() + b'\r\nContent-Disposition: form-data; name="Json"\r\n'
                 b"Content-Type: application/json\r\n\r\n" + json.dumps(meta).encode() + b"\r\n"]
        if data is not None:
            parts.append(b"--" + b.encode() + b'\r\nContent-Disposition: form-data; name="File"; '
                         b'filename="f"\r\nContent-Type: application/octet-stream\r\n\r\n' +
                         data + b"\r\n")
        body = b"".join(parts) + b"--" + b.encode() + b"--\r\n"
        st, out = self.sim._req(method, path, body,
                                headers={"Content-Type": "multipart/form-data; boundary=" + b})
        if st not in (200, 201):
            raise Divergence("remote %s %s -> %s %r" % (method, path, st, out))
        return out

    def x_r_df_create(self, st):
        d = self.multipart("POST", "/api/v1/data-files", {"name": st["name"]}, b"r" * st["size"])
        rec = self.model.df_rec(d)
        self.model.ents["datafiles"]["+" + st["name"]] = rec
        self.remote_touch("datafiles", "+" + st["name"], self.entry_names("datafiles", rec))

    def x_r_df_rename(self, st):
        r = self.label_any("datafiles", st["label"])
        before = self.entry_names("datafiles", r)
        self.multipart("PUT", "/api/v1/data-files/" + r["id"], {"name": st["name"]}, None)
        r["name"] = st["name"]
        self.remote_touch("datafiles", st["label"], before | self.entry_names("datafiles", r))

    def x_r_df_delete(self, st):
        r = self.label_any("datafiles", st["label"])
        self.api("DELETE", "/api/v1/data-files/" + r["id"])
        del self.model.ents["datafiles"][st["label"]]
        self.remote_touch("datafiles", st["label"], self.entry_names("datafiles", r))

    def x_r_user_patch(self, st):
        self.remote_update("users", st["label"], st["field"], st["value"])

    def x_r_store_patch(self, st):
        self.remote_update("stores", st["label"], "description", st["value"])

    # ------------------------------------------------------------ checks

    def read_json_file(self, path):
        """stat, then read: st_size must be the number of bytes read."""
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            raw = f.read()
        if size != len(raw):
            raise Divergence("%s: st_size %d but %d bytes read" % (path, size, len(raw)))
        try:
            text = raw.decode()
            json.loads(text)
        except ValueError as e:
            raise Divergence("%s: not JSON (%s): %r" % (path, e, raw[:200]))
        return text

    def check_sim(self):
        m = self.model
        view = m.sim_view(self.sim.state())
        for kind in self.kinds:
            want = m.by_id(kind)
            got = view[kind]
            if kind == "apps":  # apps out of sight (other users' personal) are not followed
                got = {i: r for i, r in got.items() if m.app_visible(r)}
            for i in sorted(set(want) | set(got)):
                a, b = want.get(i), got.get(i)
                if a is None or b is None:
                    raise Divergence("tenant %s %s: model %r, tenant %r" % (kind, i, a, b))
                for f, v in a.items():
                    if b.get(f) != v and f != "ownerId":
                        raise Divergence("tenant %s %s.%s: model %r, tenant %r" %
                                         (kind, i, f, v, b.get(f)))

    def listing(self, d, what):
        want_dirs = what in ("spaces", "stores")
        out = set()
        try:
            it = list(os.scandir(d))
        except OSError as e:
            raise Divergence("ls %s: %s" % (d, e))
        for e in it:
            if e.name.startswith("."):
                continue
            if want_dirs:
                if e.is_dir() and e.name != "@personal":
                    out.add(e.name)
            elif e.name.endswith(".json") and not e.is_dir():
                out.add(e.name)
        return out

    def explain(self, kind, names):
        """What the model knows about entry names (for divergence messages)."""
        out = []
        now = time.monotonic()
        for n in sorted(names):
            hits = []
            for lb, r in self.model.ents[kind].items():
                if n in self.entry_names(kind, r):
                    hits.append("%s=%s" % (lb, json.dumps(r, ensure_ascii=False)))
            for (k, lb), (dl, ns) in self.model.unsure.items():
                if k == kind and n in ns:
                    hits.append("unsure %s until %+.2fs" % (lb, dl - now))
            out.append("%s: %s" % (n, "; ".join(hits) or "unknown to the model"))
        return " | ".join(out)

    def cmp_listing(self, d, kind, expect):
        allowed = {n for n in self.model.unsure_names(kind) if isinstance(n, str)}
        actual = self.listing(d, kind)
        missing = expect - actual - allowed
        extra = actual - expect - allowed
        if missing or extra:
            raise Divergence("ls %s: missing %s, unexpected %s (%s)" %
                             (os.path.relpath(d, self.mount.mnt), sorted(missing), sorted(extra),
                              self.explain(kind, missing | extra)))

    def check_listings(self, full=True):
        m = self.model
        sure = {k: [m.ents[k][lb] for lb in m.sure(k)] for k in KINDS}
        # every space's own directories on a full check; else the spaces the
        # step touched and 3 more (the cost stays flat as spaces accumulate)
        spaces = m.sure("spaces")
        if not full and len(spaces) > 3:
            spaces = self.crng.sample(spaces, 3) + [lb for k, lb in self.touched
                                                    if k == "spaces" and lb in spaces]
        if "spaces" in self.kinds:
            self.cmp_listing(self.p("spaces"), "spaces", {fsname(r["name"]) for r in sure["spaces"]})
        if "apps" in self.kinds:
            self.cmp_listing(self.p("apps"), "apps",
                             {self.app_entry(r) for r in sure["apps"] if m.app_visible(r)})
            self.cmp_listing(self.p("spaces", "@personal", "apps"), "apps",
                             {self.app_entry(r) for r in sure["apps"]
                              if not r["spaceId"] and r["ownerId"] == m.me})
            for lb in spaces:
                s = m.ents["spaces"][lb]
                if not m.space_ok(s["id"]):
                    continue
                self.cmp_listing(os.path.join(self.space_dir(s), "apps"), "apps",
                                 {self.app_entry(r) for r in sure["apps"] if r["spaceId"] == s["id"]})
        if "datafiles" in self.kinds:
            tops = [r for r in sure["datafiles"] if self.top_df(r)]
            dups = {r["name"].lower() for r in m.ents["datafiles"].values() if self.df_dup(r)}
            self.cmp_listing_df(self.p("data-files"), {fsname(r["name"]) + ".json" for r in tops
                                                       if r["name"].lower() not in dups}, dups)
            for lb in spaces:
                s = m.ents["spaces"][lb]
                if m.space_ok(s["id"]):
                    self.cmp_listing_df(os.path.join(self.space_dir(s), "data-files"),
                                        {fsname(r["name"]) + ".json" for r in tops
                                         if r["spaceId"] == s["id"]}, set())
        if "users" in self.kinds:
            self.cmp_listing(self.p("users"), "users",
                             {os.path.basename(self.user_path(r)) for r in sure["users"]})
        if "stores" in self.kinds:
            self.cmp_listing(self.p("data-stores"), "stores",
                             {"%s (%s)" % (fsname(r["name"]), r["id"]) for r in sure["stores"]})

    def cmp_listing_df(self, d, expect, dups):
        allowed = {n for n in self.model.unsure_names("datafiles") if isinstance(n, str)}
        actual = {n for n in self.listing(d, "datafiles")
                  if not any(n.lower().startswith(x) for x in dups)}
        missing = expect - actual - allowed
        extra = actual - expect - allowed
        if missing or extra:
            raise Divergence("ls %s: missing %s, unexpected %s (%s)" %
                             (os.path.relpath(d, self.mount.mnt), sorted(missing), sorted(extra),
                              self.explain("datafiles", missing | extra)))

    def check_file(self, kind, label, where=None):
        m = self.model
        r = m.ents[kind].get(label)
        if r is None or not m.is_sure(kind, label):
            return
        if kind == "apps" and not m.app_visible(r):
            return
        if kind in ("apps", "datafiles") and r["spaceId"] and not m.space_ok(r["spaceId"]):
            return
        if kind == "datafiles" and (not self.top_df(r) or self.df_dup(r)):
            return
        if kind == "spaces" and not m.space_ok(r["id"]):
            return
        path = self.path_of(kind, r, where)
        d = json.loads(self.read_json_file(path))
        got_id = d.get("resourceId") if kind == "apps" else d.get("id")
        if got_id != r["id"]:
            raise Divergence("%s: id %r, expected %r" % (path, got_id, r["id"]))
        fields = {"spaces": ("name", "description"), "apps": ("name", "description", "spaceId"),
                  "datafiles": ("name",), "users": ("name", "status"),
                  "stores": ("name", "description")}[kind]
        for f in fields:
            got = d.get(f) or (None if f == "spaceId" else "")
            if got != r[f] and not (f == "description" and not got and not r[f]):
                raise Divergence("%s: %s is %r, expected %r" %
                                 (os.path.relpath(path, self.mount.mnt), f, got, r[f]))

    def check(self, full=False):
        self.model.frozen = time.monotonic()
        try:
            self.check_frozen(full)
        finally:
            self.model.frozen = None

    def check_frozen(self, full):
        self.check_sim()
        self.check_listings(full)
        for kind, lb in self.touched:
            for where in range(3):
                self.check_file(kind, lb, where)
        m = self.model
        for kind in self.kinds:
            labels = m.sure(kind)
            if not full:
                labels = self.crng.sample(labels, min(len(labels), 2))
            for lb in labels:
                self.check_file(kind, lb, self.crng.randrange(3))

    # ------------------------------------------------------------ driver

    def step(self, st, full=False):
        self.touched = []
        self.steps.append(st)
        self.run(st)
        self.check(full)

    def run_random(self, n, full_every=50):
        for i in range(n):
            self.step(self.gen(), full=(i + 1) % full_every == 0)
        self.final()

    def final(self):
        if self.long:
            self.x_sighup({})
        else:
            time.sleep(max(self.ttl, self.neg) + 0.6)
            self.model.unsure.clear()
        self.touched = []
        self.check(full=True)


def replay_cmd(seed, steps, kinds, ttl_ms):
    return ("QLIKFS_BUILD=%s python3 tests/model.py --seed %d --steps %d --kinds %s --ttl %d" %
            (os.environ.get("QLIKFS_BUILD", "build"), seed, steps, ",".join(kinds), ttl_ms))


def run(seed, steps, kinds=KINDS, ttl_ms=1000, replay=None, log=print, full_every=50):
    """Runs one sequence; returns (ok, engine info).  On a divergence the
    message holds the replay command and the numbered step list."""
    log("model: seed %d, %d steps, kinds %s, ttl %d ms" % (seed, steps, ",".join(kinds), ttl_ms))
    log("model: replay with: " + replay_cmd(seed, steps, kinds, ttl_ms))
    e = Engine(seed, kinds, ttl_ms, log=log)
    t0 = time.monotonic()
    err = None
    try:
        e.check(full=True)
        if replay is not None:
            for st in replay:
                try:
                    e.step(st)
                except Skip:
                    e.steps[-1]["skipped"] = True
            e.final()
        else:
            e.run_random(steps, full_every)
    except Exception as x:  # noqa: BLE001 (every failure is reported with the steps)
        err = "%s: %s" % (type(x).__name__, x)
        if not isinstance(x, Divergence):
            err += "\n" + traceback.format_exc(limit=3)
    finally:
        try:
            rc = e.close()
        except AssertionError as x:
            err = (err or "") + "\nunmount: %s" % x
            rc = -1
    info = {"seed": seed, "steps": len(e.steps), "seconds": round(time.monotonic() - t0, 1),
            "ops": e.stats, "sighups": e.sighups, "rc": rc, "trace": e.steps}
    if err:
        lines = ["model: DIVERGENCE at step %d (seed %d): %s" % (len(e.steps), seed, err),
                 "model: replay with: " + replay_cmd(seed, len(e.steps), kinds, ttl_ms),
                 "model: steps:"]
        first = max(0, len(e.steps) - 100)
        if first:
            lines.append("  (the first %d steps are in the file below)" % first)
        lines += ["  %4d %s" % (i + 1, json.dumps(s, ensure_ascii=False))
                  for i, s in enumerate(e.steps) if i >= first]
        info["error"] = err
        info["trace_file"] = os.path.join(tempfile.gettempdir(), "model-seed%d-steps.json" % seed)
        try:
            with open(info["trace_file"], "w") as f:
                json.dump(e.steps, f, ensure_ascii=False, indent=1)
            lines.append("model: the exact steps are in %s (--replay)" % info["trace_file"])
        except OSError:
            pass
        info["report"] = "\n".join(lines)
        return False, info
    return rc == 0, info


def shrink(seed, trace, kinds, ttl_ms, budget=80):
    """Greedy delta debugging: the shortest sub-list of trace that still
    diverges (any divergence), within budget replays."""
    cur = list(trace)
    n = 2
    tries = 0
    while len(cur) >= 2 and tries < budget:
        chunk = max(1, len(cur) // n)
        reduced = False
        for i in range(0, len(cur), chunk):
            cand = cur[:i] + cur[i + chunk:]
            tries += 1
            ok, _ = run(seed, len(cand), kinds, ttl_ms, replay=[dict(s) for s in cand],
                        log=lambda *a: None)
            if not ok:
                cur, reduced = cand, True
                break
            if tries >= budget:
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(cur), n * 2)
    return cur


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--ttl", type=int, default=1000, help="cache_ttl in ms (>= 30000: long TTL, SIGHUP)")
    ap.add_argument("--replay", help="a JSON file with a step list to run instead of random steps")
    ap.add_argument("--shrink", action="store_true", help="on a divergence, minimise the steps")
    ap.add_argument("--full-every", type=int, default=50)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 31)
    kinds = tuple(k for k in a.kinds.split(",") if k)
    for k in kinds:
        if k not in KINDS:
            ap.error("unknown kind %r (known: %s)" % (k, ",".join(KINDS)))
    replay = json.load(open(a.replay)) if a.replay else None
    ok, info = run(seed, a.steps, kinds, a.ttl, replay=replay, full_every=a.full_every)
    print("model: %d steps in %.1f s, ops %s" % (info["steps"], info["seconds"],
                                                 json.dumps(info["ops"], sort_keys=True)))
    if ok:
        print("model: OK")
        return 0
    print(info.get("report", "unmount rc %s" % info["rc"]))
    if a.shrink and "trace" in info:
        small = shrink(seed, info["trace"], kinds, a.ttl)
        path = os.path.join(tempfile.gettempdir(), "model-seed%d-min.json" % seed)
        with open(path, "w") as f:
            json.dump(small, f, ensure_ascii=False, indent=1)
        print("model: minimal sequence (%d steps) in %s; replay with --replay %s" %
              (len(small), path, path))
        for i, s in enumerate(small):
            print("  %4d %s" % (i + 1, json.dumps(s, ensure_ascii=False)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
