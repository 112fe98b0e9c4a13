"""The .index.json pick-list of every collection: exactly what the
collection holds, made from the listing at no extra request."""
import json
import os

import pytest


def entries(m, rel):
    """Every resource entry below a collection (data-file folders walked)."""
    out = set()
    base = m.path(rel)
    if rel in ("spaces", "data-stores"):  # resources shown as directories
        return {x for x in os.listdir(base) if x not in ("@personal", ".index.json")}
    for d, dirs, files in os.walk(base):
        r = os.path.relpath(d, base)
        for x in files:
            if x != ".index.json":
                out.add(x if r == "." else os.path.join(r, x))
    return out


@pytest.mark.parametrize("rel", ["apps", "users", "data-files", "data-stores", "data-assets",
                                 "data-sets", "spaces", "spaces/Finance/apps",
                                 "spaces/@personal/data-files"])
def test_index_lists_exactly_the_collection(mounted, sim, rel):
    p = mounted.path(rel, ".index.json")
    idx = json.load(open(p))
    assert os.path.getsize(p) == len(open(p, "rb").read())
    got = {e["entry"] for e in idx}
    assert got == entries(mounted, rel)
    assert [e["entry"] for e in idx] == sorted(got)
    for e in idx:
        assert e["id"] in e["entry"] or rel in ("spaces",) or "data-files" in rel
        assert set(e) == {"id", "name", "entry"}


def test_index_of_users_matches_the_tenant_and_costs_nothing(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    os.listdir(m.path("users"))
    fresh_sim.reset()
    idx = json.load(open(m.path("users", ".index.json")))
    assert fresh_sim.total() == 0
    want = {(u["id"], u["name"]) for u in fresh_sim.state()["users"]}
    assert {(e["id"], e["name"]) for e in idx} == want


def test_index_follows_changes(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    before = json.load(open(m.path("spaces", ".index.json")))
    os.mkdir(m.path("spaces", "Indexed"))
    after = json.load(open(m.path("spaces", ".index.json")))
    assert len(after) == len(before) + 1
    assert any(e["name"] == "Indexed" and e["entry"] == "Indexed" for e in after)
    with pytest.raises(OSError):
        open(m.path("spaces", ".index.json"), "w")
