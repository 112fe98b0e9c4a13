"""The reference-model random test (tests/model.py): random operations
through the mount mixed with changes behind its back; after every step the
model, the tenant and the mount must agree (within the documented window).
Long runs: tests/bench/model_long.sh."""
import json

import pytest

import model


@pytest.mark.parametrize("seed,ttl_ms", [(1, 1000), (2, 1000), (3, 300000), (4, 300000)])
def test_random_steps_agree_with_the_model(seed, ttl_ms):
    ok, info = model.run(seed, 120, model.KINDS, ttl_ms, log=print)
    assert ok, info.get("report", info)
    assert info["steps"] == 120
    # every kind of step was taken (the run is not vacuous).  With a 1 s TTL
    # which steps are possible depends on timing (what the mount may still
    # show from before a change behind its back), so a slow or loaded
    # machine may never draw one kind: those runs must take most kinds; the
    # long-TTL runs, whose mix does not depend on time, every one.
    ops = info["ops"]
    kinds = ("mkdir", "create_app", "write", "rename_app", "move_app", "rm_app", "upload")
    taken = [op for op in kinds if ops.get(op)]
    if ttl_ms > 60000:
        assert taken == list(kinds), ops
    else:
        assert len(taken) >= len(kinds) - 1, ops
    assert sum(n for op, n in ops.items() if op.startswith("r_")) >= 10, ops
    if ttl_ms > 60000:
        assert info["sighups"] >= 1


def test_a_change_the_model_does_not_know_is_caught():
    e = model.Engine(5, model.KINDS, 300000)
    try:
        e.check(full=True)
        app = next(r for r in e.model.ents["apps"].values() if e.model.app_visible(r))
        e.sim.api("PUT", "/api/v1/apps/" + app["id"], {"attributes": {"description": "unmodelled"}})
        with pytest.raises(model.Divergence) as x:
            e.check(full=True)
        assert app["id"] in str(x.value) and "unmodelled" in str(x.value)
        # the mount does not show it either (long TTL) until SIGHUP
        app["description"] = "unmodelled"
        with pytest.raises(model.Divergence) as x:
            e.check_file("apps", next(lb for lb, r in e.model.ents["apps"].items() if r is app))
        assert "description" in str(x.value)
        e.x_sighup({})
        e.check(full=True)
    finally:
        assert e.close() == 0


def test_replay_of_a_step_list():
    steps = [{"op": "mkdir", "name": "Replayed space"},
             {"op": "create_app", "name": "Replayed app", "where": "space",
              "description": "d", "name_in_json": True, "space": "+Replayed space"},
             {"op": "write", "kind": "apps", "label": "+Replayed app", "field": "description",
              "value": "edited", "how": "sed", "where": 1},
             {"op": "rm_r", "label": "+Replayed space"},
             {"op": "rm_app", "label": "+Replayed app", "where": 0}]  # gone: skipped
    ok, info = model.run(9, len(steps), model.KINDS, 1000, replay=json.loads(json.dumps(steps)))
    assert ok, info.get("report", info)
    assert [s.get("skipped", False) for s in info["trace"]] == [False] * 4 + [True]
    assert info["ops"] == {"mkdir": 1, "create_app": 1, "write": 1, "rm_r": 1}


def test_writes_racing_with_remote_changes_are_estale():
    """One racing write per kind: ESTALE, the remote change kept, the
    rejected bytes in NAME.rejected (checked by the engine)."""
    steps = [{"op": "race", "kind": k, "label": "seed:%d" % i, "field": f, "value": v,
              "how": "rplus", "where": 0, "remote": r}
             for k, i, f, v, r in (("apps", 0, "description", "mine", "theirs"),
                                   ("spaces", 0, "description", "mine", "theirs"),
                                   ("users", 5, "name", "Mine Name", "Their Name"),
                                   ("stores", 0, "description", "mine", "theirs"))]
    ok, info = model.run(11, len(steps), model.KINDS, 1000, replay=steps)
    assert ok, info.get("report", info)
    assert info["ops"] == {"race": 4}
