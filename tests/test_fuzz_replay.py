"""Replays the seed corpus of every libFuzzer target (tests/fuzz/, built with
clang by tests/fuzz.sh into its own build directory): each input must run
without a crash, a leak, undefined behaviour or a broken invariant.
docs/FUZZING.md explains the targets and how to fuzz for longer."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "fuzz.sh")
BUILD = os.environ.get("QLIKFS_FUZZ_BUILD", os.path.join(ROOT, "build-fuzz"))


def targets():
    d = os.path.join(ROOT, "tests", "fuzz")
    return sorted(f[len("fuzz_"):-2] for f in os.listdir(d)
                  if f.startswith("fuzz_") and f.endswith(".c") and f != "fuzz_common.c")


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang (with libFuzzer) is not installed")
def test_fuzz_replay():
    r = subprocess.run([SCRIPT, "--replay", "--build-dir", BUILD], capture_output=True, text=True,
                       timeout=1800)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # every target ran over a non-empty corpus
    for t in targets():
        line = [l for l in r.stdout.splitlines() if l.startswith("fuzz_%s:" % t)]
        assert line and line[0].endswith("inputs ok"), out
        assert int(line[0].split()[1]) > 0, line


def test_every_target_has_a_corpus():
    for t in targets():
        d = os.path.join(ROOT, "tests", "fuzz", "corpus", t)
        assert os.path.isdir(d) and len(os.listdir(d)) >= 3, "corpus of %s: %s" % (t, d)
