"""Runs the C unit tests of the pure modules (built by meson) under pytest,
so that one summary covers the whole suite."""
import glob
import os
import subprocess

import pytest

from conftest import BUILD

UNIT = sorted(glob.glob(os.path.join(BUILD, "tests", "unit", "test_*")))
UNIT = [u for u in UNIT if os.access(u, os.X_OK) and not u.endswith((".p", ".o"))
        and os.path.isfile(u)]


def test_unit_binaries_exist():
    names = {os.path.basename(u) for u in UNIT}
    for want in ("test_cache", "test_names", "test_url", "test_qtime", "test_qclient",
                 "test_ns", "test_sim", "test_render", "test_http_curl", "test_statedir", "test_oauth",
                 "test_contexts", "test_secret", "test_multipart", "test_upload", "test_qvf",
                 "test_reports", "test_rawreq", "test_actions_http", "test_changes", "test_ns_local",
                 "test_ns_ext", "test_http_fault", "test_flight"):
        assert want in names, "unit test %s was not built (have %s)" % (want, sorted(names))


@pytest.mark.parametrize("binary", UNIT, ids=[os.path.basename(u) for u in UNIT])
def test_unit(binary):
    r = subprocess.run([binary], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " passed, 0 failed" in r.stdout, r.stdout
