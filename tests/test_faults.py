"""Rate limits, server errors and dead networks, through the real mount."""
import errno
import os
import time

import pytest

from conftest import Sim


def test_429_storm_is_ridden_out(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=30")
    fresh_sim.reset()
    fresh_sim.faults(mode="status", status=429, count=3, retry_after=1, match="GET /api/v1/users")
    t0 = time.monotonic()
    names = os.listdir(m.path("users"))
    assert len(names) == 120
    assert time.monotonic() - t0 >= 2.9  # honoured Retry-After each time
    assert fresh_sim.routes()["GET /api/v1/users"] == 3 + 2
    assert "429" not in m.log() or "gave up" not in m.log()


def test_5xx_burst_is_retried(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    fresh_sim.reset()
    fresh_sim.faults(mode="status", status=503, count=2, match="GET /api/v1/spaces")
    assert "@personal" in os.listdir(m.path("spaces"))
    assert fresh_sim.routes()["GET /api/v1/spaces"] == 2 + 1


def test_dropped_connections_are_retried(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300")
    fresh_sim.faults(mode="drop", count=2, match="GET /api/v1/data-stores")
    assert len(os.listdir(m.path("data-stores"))) == 3


def test_persistent_5xx_gives_eio_and_logs(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=5", "retries=3")
    fresh_sim.faults(mode="status", status=500, count=100, match="GET /api/v1/users")
    with pytest.raises(OSError) as e:
        os.listdir(m.path("users"))
    assert e.value.errno == errno.EIO
    fresh_sim.faults(clear=True)
    assert "HTTP 500" in m.log()
    # recovers once the server does
    assert len(os.listdir(m.path("users"))) == 120


def test_stalled_server_gives_eio_within_timeout(fresh_sim, mount_factory):
    m = mount_factory(fresh_sim.url, "cache_ttl=300", "timeout=3")
    fresh_sim.faults(mode="stall", stall_ms=60000, count=100, match="GET /api/v1/apps")
    fresh_sim.faults(mode="stall", stall_ms=60000, count=100, match="GET /api/v1/items")
    t0 = time.monotonic()
    with pytest.raises(OSError) as e:
        os.listdir(m.path("apps"))
    took = time.monotonic() - t0
    assert e.value.errno == errno.EIO
    assert took < 6, took
    # the mount stays responsive meanwhile
    assert os.path.isdir(m.path("spaces"))


def test_dead_server_gives_eio_and_mount_stays_up(mount_factory):
    s = Sim()
    m = mount_factory(s.url, "cache_ttl=300", "timeout=3")
    assert "apps" in os.listdir(m.mnt)
    s.stop()
    t0 = time.monotonic()
    with pytest.raises(OSError) as e:
        os.listdir(m.path("users"))
    assert e.value.errno == errno.EIO
    assert time.monotonic() - t0 < 5
    assert "apps" in os.listdir(m.mnt)  # still answering (api sorts first now)
    assert "connection refused" in m.log()
