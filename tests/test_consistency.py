"""Changes made behind the mount's back show after the cache TTL: new,
renamed and deleted resources, in listings, lookups and contents."""
import json
import os
import time


def test_changes_behind_the_mount_show_after_ttl(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=1", "neg_ttl=1")
    before = set(os.listdir(m.path("spaces")))
    assert "Budget 2027" not in before
    st, sp = fresh_sim.api("POST", "/api/v1/spaces", {"name": "Budget 2027", "type": "shared"})
    assert st == 201
    # within the TTL the listing is served from the cache
    assert "Budget 2027" not in os.listdir(m.path("spaces"))
    time.sleep(1.2)
    assert "Budget 2027" in os.listdir(m.path("spaces"))
    ino = os.stat(m.path("spaces", "Budget 2027")).st_ino
    assert json.load(open(m.path("spaces", "Budget 2027", "space.json")))["id"] == sp["id"]

    st, _ = fresh_sim.api("PATCH", "/api/v1/spaces/" + sp["id"],
                          [{"op": "replace", "path": "/name", "value": "Budget 2028"}])
    assert st == 200
    time.sleep(1.2)
    names = os.listdir(m.path("spaces"))
    assert "Budget 2028" in names and "Budget 2027" not in names
    assert os.stat(m.path("spaces", "Budget 2028")).st_ino == ino  # same resource, same inode
    assert json.load(open(m.path("spaces", "Budget 2028", "space.json")))["name"] == "Budget 2028"

    st, _ = fresh_sim.api("DELETE", "/api/v1/spaces/" + sp["id"], None)
    assert st == 204
    time.sleep(1.2)
    assert "Budget 2028" not in os.listdir(m.path("spaces"))
    assert not os.path.exists(m.path("spaces", "Budget 2028"))


def test_content_change_updates_size_and_mtime(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=1")
    u = fresh_sim.state()["users"][10]
    p = m.path("users", u["id"] + ".json")
    st0 = os.stat(p)
    st, _ = fresh_sim.api("PATCH", "/api/v1/users/" + u["id"],
                          [{"op": "replace", "path": "/name", "value": u["name"] + " with a much longer name"}])
    assert st == 204
    time.sleep(1.2)
    listed = [n for n in os.listdir(m.path("users")) if n.endswith("(%s).json" % u["id"])]
    assert listed == ["%s with a much longer name (%s).json" % (u["name"], u["id"])]
    p2 = m.path("users", listed[0])
    raw = open(p2, "rb").read()
    st1 = os.stat(p2)
    assert st1.st_size == len(raw) > st0.st_size
    assert st1.st_mtime > st0.st_mtime
    assert json.loads(raw)["name"].endswith("much longer name")


def test_duplicate_arrival_does_not_rename_existing(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=1")
    before = sorted(os.listdir(m.path("apps")))
    st, app = fresh_sim.api("POST", "/api/v1/apps", {"attributes": {"name": "Sales Dashboard"}})
    assert st == 200
    time.sleep(1.2)
    after = sorted(os.listdir(m.path("apps")))
    assert set(before) <= set(after)
    assert set(after) - set(before) == {"Sales Dashboard (%s).json" % app["attributes"]["id"]}


def test_temporary_files_survive_a_listing_refresh(fresh_sim, mount_factory):
    """Memory-only files (a tool's temporary file, a failed create) are in no
    listing: refreshing the collection after the TTL must not drop them."""
    m = mount_factory(fresh_sim.url, "cache_ttl=1", "neg_ttl=1")
    hit = [f for f in os.listdir(m.path("apps")) if f.startswith("Budget draft (")][0]
    p = m.path("apps", hit)
    d = json.load(open(p))
    d["description"] = "after a refresh"
    t = m.path("apps", "t")
    with open(t, "w") as f:
        json.dump(d, f)
    bad = m.path("users", "nobody.json")
    try:
        with open(bad, "w") as f:
            json.dump({"name": "No Subject"}, f)  # refused: kept as a local file
    except OSError:
        pass
    time.sleep(1.2)
    assert hit in os.listdir(m.path("apps"))  # the listing is fetched again
    os.listdir(m.path("users"))
    assert json.load(open(t)) == d
    assert json.load(open(bad)) == {"name": "No Subject"}
    os.rename(t, p)
    assert json.load(open(p))["description"] == "after a refresh"
    os.unlink(bad)
