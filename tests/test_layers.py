"""The layer rule of fs/ (docs/ARCHITECTURE.md): no include or name pointing up a
layer, no circle of files, beyond the debts listed in tests/layers_debt.txt
(which may only shrink: a debt paid must leave the list)."""
import os
import re
import subprocess

from conftest import BUILD, ROOT


def test_layers_hold():
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "check_layers.py"),
                        "--build", BUILD], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_checker_sees_an_up_include(tmp_path, monkeypatch):
    """A util/ file that includes ns/ns.h is reported (the check can fail)."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import check_layers
    bad = os.path.join(ROOT, "fs", "util", "zz_layer_probe.c")
    with open(bad, "w") as f:
        f.write('#include "ns/ns.h"\n#include "util/url.h"\n')
    try:
        found = check_layers.include_violations(check_layers.sources())
    finally:
        os.unlink(bad)
    assert any("zz_layer_probe.c" in v and "include up" in v for v in found), found


def test_the_checker_sees_a_circle():
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import check_layers
    comps = check_layers.sccs({"a.c": {"b.c": {"f"}}, "b.c": {"c.c": {"g"}}, "c.c": {"a.c": {"h"}},
                               "d.c": {"a.c": {"f"}}})
    assert comps == [["a.c", "b.c", "c.c"]]


# Sizes (issue 12, item 7): no C file of the product over 800 lines, no
# function over 100.  A function is counted from the line that names it to
# its closing brace (its body opens with a '{' at column 0 and ends with a
# '}' at column 0, the style of every file here).
MAX_FILE_LINES = 800
MAX_FUNC_LINES = 100
# known, to be split; the check fails when one is fixed but still listed
SIZE_DEBT = set()


def c_functions(text):
    """(name, first line, lines) of every function defined in a C file's text."""
    lines = text.split("\n")
    out, start = [], None
    for i, line in enumerate(lines):
        if line == "{" and start is None:
            j = i - 1  # back to the line that names it (at column 0)
            while j > 0 and (lines[j][:1] in (" ", "\t") or lines[j] == ""):
                j -= 1
            m = re.search(r"(\w+)\s*\(", lines[j])
            start = (m.group(1) if m else "?", j)
        elif line.startswith("}") and start is not None:
            out.append((start[0], start[1] + 1, i - start[1] + 1))
            start = None
    return out


def product_sources():
    for top in ("fs", "cache"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith(".c"):
                    yield os.path.relpath(os.path.join(d, f), ROOT)


def test_no_file_or_function_too_long():
    long_files, long_funcs = [], set()
    for rel in product_sources():
        text = open(os.path.join(ROOT, rel), errors="replace").read()
        if text.count("\n") > MAX_FILE_LINES:
            long_files.append("%s: %d lines" % (rel, text.count("\n")))
        for name, line, n in c_functions(text):
            if n > MAX_FUNC_LINES:
                long_funcs.add((rel, name))
                if (rel, name) not in SIZE_DEBT:
                    long_files.append("%s:%d: %s() is %d lines" % (rel, line, name, n))
    assert not long_files, "\n".join(long_files)
    assert SIZE_DEBT <= long_funcs, "paid, remove from SIZE_DEBT: %s" % (SIZE_DEBT - long_funcs)


def test_the_size_check_counts_a_function():
    text = "static int\nf(int a,\n  int b)\n{\n" + "\tx();\n" * 97 + "}\n\nint g(void)\n{\n}\n"
    assert c_functions(text) == [("f", 2, 101), ("g", 104, 3)]


# Node kinds (issue 12, item 3): the dispatcher chooses by kind table only
# (KIND(ns, n)->op, its default where the op is NULL); it names no role.
DISPATCHER = ["ns.c", "ns_file.c", "ns_dirops.c", "ns_notify.c"]
ROLE = re.compile(r"\bR_[A-Z]+\b")


def roles_named(text):
    return sorted(set(ROLE.findall(text)))


def named_in(files, names_in):
    """{file: names} for the files (paths under the root) where names_in
    finds some."""
    found = {}
    for f in files:
        with open(os.path.join(ROOT, f)) as fh:
            named = names_in(fh.read())
        if named:
            found[f] = named
    return found


def test_the_dispatcher_names_no_role():
    found = named_in([os.path.join("fs", "ns", f) for f in DISPATCHER], roles_named)
    assert not found, "the dispatcher chooses by role: %s" % found


def test_the_role_check_sees_a_role():
    assert roles_named("if (n->role == R_COLL) x(); FOR_EACH_KIND(ns, k) MUT_MKDIR_WHERE") == ["R_COLL"]


# The resource table is the one place for a Qlik kind (issue 12, item 4):
# the dispatcher, the node table and the resource writes name none (a kind's
# habits are columns of its row), except the restore, whose app content,
# data-file bytes and user matching are about those kinds themselves.
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
QLIK_KIND = re.compile(r"\bRK_(?!COUNT\b)[A-Z]+\b")
KIND_FREE = [os.path.join("fs", "ns", f) for f in DISPATCHER + ["ns_life.c"]] + \
    [os.path.join("fs", "res", f) for f in ("reswrite.c", "reswrite.h")]


def qlik_kinds_named(text):
    return sorted(set(QLIK_KIND.findall(COMMENT.sub("", text))))


def test_only_the_resource_table_names_a_qlik_kind():
    files = list(KIND_FREE)
    core = os.path.join(ROOT, "fs", "ns", "core")
    files += [os.path.join("fs", "ns", "core", f) for f in sorted(os.listdir(core))
              if f.endswith((".c", ".h")) and not f.startswith("ns_restore")]
    found = named_in([f for f in files if os.path.exists(os.path.join(ROOT, f))],
                     qlik_kinds_named)
    assert not found, "Qlik kinds named outside the resource table: %s" % found


def test_the_qlik_kind_check_sees_a_kind():
    assert qlik_kinds_named("if (rt->kind == RK_APP) /* RK_USER */ x(RK_COUNT);") == ["RK_APP"]


# ---- a node kind is one table, named in one registration line ----

KIND_DEF = re.compile(r"^const struct ns_kind (ns_\w+_kind) = \{", re.M)


def kind_uses(sources):
    """{kind table: problems} for sources {path: text}: a table must be
    defined once, declared only in headers (extern lines), registered by
    exactly one line of fs/ns/ns_life.c, and named by no other file (a
    kind's other files find it by name: ns_kind_named).  Comments do not
    count."""
    code = {p: COMMENT.sub("", t) for p, t in sources.items()}
    defs = {}
    for path, text in code.items():
        for k in KIND_DEF.findall(text):
            defs.setdefault(k, []).append(path)
    bad = {}
    for k, where in defs.items():
        probs = []
        if len(where) != 1:
            probs.append("defined in %s" % where)
        word = re.compile(r"\b%s\b" % k)
        for path, text in code.items():
            lines = [ln for ln in text.splitlines() if word.search(ln)]
            if path in where or not lines:
                continue
            if path.endswith(".h"):
                if any(not ln.startswith("extern const struct ns_kind ") for ln in lines):
                    probs.append("named in header %s beyond its declaration" % path)
            elif path.endswith("ns/ns_life.c"):
                regs = [ln for ln in lines if "ns_kind_add(ns, &%s)" % k in ln or
                        re.search(r"ns->kinds\[R_\w+\](\s*=\s*ns->kinds\[R_\w+\])*"
                                  r"\s*=\s*&%s;" % k, ln)]
                if len(lines) != 1 or len(regs) != 1:
                    probs.append("ns_life.c registers it in %d lines, names it in %d" %
                                 (len(regs), len(lines)))
            else:
                probs.append("named by %s" % path)
        if probs:
            bad[k] = probs
    return defs, bad


def read_ns_sources():
    out = {}
    for d, _, files in os.walk(os.path.join(ROOT, "fs", "ns")):
        for f in files:
            if f.endswith((".c", ".h")):
                p = os.path.join(d, f)
                with open(p, encoding="utf-8") as fh:
                    out[os.path.relpath(p, ROOT)] = fh.read()
    return out


def test_every_kind_is_one_table_and_one_registration_line():
    defs, bad = kind_uses(read_ns_sources())
    assert len(defs) >= 18, sorted(defs)  # (every kind there is, found)
    assert not bad, bad


def test_the_kind_check_sees_a_kind_named_twice():
    src = {
        "fs/ns/kinds/a.c": "const struct ns_kind ns_a_kind = {\n};\n/* ns_a_kind */\n",
        "fs/ns/kinds/a.h": "extern const struct ns_kind ns_a_kind;\n",
        "fs/ns/kinds/b.c": "static int f(void) { return node_is(ns, n, &ns_a_kind); }\n",
        "fs/ns/ns_life.c": "\tns_kind_add(ns, &ns_a_kind);\n",
    }
    assert kind_uses(src)[1] == {"ns_a_kind": ["named by fs/ns/kinds/b.c"]}
    del src["fs/ns/kinds/b.c"]
    assert kind_uses(src)[1] == {}
    src["fs/ns/ns_life.c"] = "\tns_kind_add(ns, &ns_a_kind);\n\tns_kind_add(ns, &ns_a_kind);\n"
    assert kind_uses(src)[1] == {"ns_a_kind": ["ns_life.c registers it in 2 lines, names it in 2"]}


# Each layer states its rule at the top of its main header (issue 12, item 1),
# and the layers named there are the checker's.
MAIN_HEADER = {
    "app": "app/options.h", "fuse": "fuse/fuse_ops.h", "ns": "ns/ns.h",
    "ns/kinds": "ns/kinds/ns_ext.h", "ns/core": "ns/core/ns_internal.h",
    "res": "res/restab.h", "actions": "actions/upload.h", "changes": "changes/changes.h",
    "client": "client/qclient.h", "http": "http/http.h", "util": "util/log.h",
}


def test_every_layer_states_its_rule_in_its_main_header():
    import check_layers
    assert set(MAIN_HEADER) == set(check_layers.RANK)
    missing = []
    for layer, h in MAIN_HEADER.items():
        with open(os.path.join(ROOT, "fs", h)) as f:
            head = f.read(600)
        if not re.match(r"/\*\n \* Layer [^\n]*%s/" % re.escape(layer), head):
            missing.append(h)
    assert not missing, "no rule at the top of: %s" % missing
