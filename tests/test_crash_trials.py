"""A few crash trials (tests/crash_trials.py runs as many as asked): qlikfs
killed with SIGKILL during writes, creates, renames, uploads and imports
never leaves a partial or duplicated change on the tenant, never tells a
writer success for a change the tenant does not hold, and never leaves a
state file half-written."""
import os

from crash_trials import Trials


def test_crash_trials(tmp_path):
    t = Trials(int(os.environ.get("QLIKFS_CRASH_SEED", "7")), str(tmp_path))
    try:
        report = t.run(15)
    finally:
        t.close()
    print(report)
    assert not t.violations, report
    assert sum(t.outcomes.values()) == 15, report
    assert t.state_files_checked > 0, report
    assert t.temp_unswept == 0, report  # each mount sweeps what a killed one left
    # every kind of operation ran
    assert {k.split(":")[0] for k in t.outcomes} == {"edit", "create_file", "mkdir", "rename",
                                                       "upload", "import"}, report
