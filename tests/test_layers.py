"""The layer rule of fs/ (docs/ARCHITECTURE.md): no include or name pointing up a
layer, no circle of files, beyond the debts listed in tests/layers_debt.txt
(which may only shrink: a debt paid must leave the list)."""
import os
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
