"""100 finished distributions go quiet on real agents; a newcomer wakes one and completes from them.

Real agents and libtorrent on loopback, without Salt (the master's part is
played by hand through the origin's API, as master/quieting.py does it): an
origin (tracker + seed) and two holders fetch 100 small distributions. The
master's tracker is told they are quiet; each holder closes its torrents at
its next announce, and the origin closes its seeds. Measured: the announces
the tracker gets for the quiet swarms over three announce intervals (the
figure: announces per second), and the torrents each agent, the origin too,
holds open. Then the origin stops seeding one, the swarm is woken, and a third
agent completes it from the two quiet holders; another is woken with its
holders left closed, and the third agent completes it from the origin alone.
"""

from __future__ import annotations

import base64
import functools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing import waiting
from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.testing.deployment import write_random
from salt_p2pdist.torrent import creation, metainfo

COUNT = 100
SIZE = 64 << 10
INTERVAL = 2  # the tracker's announce interval, seconds
wait_for = functools.partial(waiting.wait_for, timeout=90, every=0.5)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_agents_under(tmp_path)


def _states(agent: AgentClient) -> dict[str, str]:
    return {d: s["state"] for d, s in agent.call("GET", "/dists").items()}


def _announces(origin: AgentClient, ids: list[str]) -> int:
    return sum(origin.call("GET", f"/swarms/{d}")["announces"] for d in ids)


def test_a_hundred_quiet_swarms_cost_no_announces_and_a_newcomer_completes_from_holders(
        root: Path) -> None:
    origin = AgentClient(root / "origin", "origin", [
        "--bt-interface", "127.0.0.1", "--tracker-port", "0", "--tracker-interface", "127.0.0.1",
        "--announce-interval", str(INTERVAL)])
    tracker = f"http://127.0.0.1:{origin.ensure()['tracker_port']}/announce"
    holders = [AgentClient(root / m, m, ["--bt-interface", f"127.0.0.{i}"])
               for i, m in ((2, "m1"), (3, "m2"))]
    orders: dict[str, str] = {}
    sources: dict[str, Path] = {}
    for n in range(COUNT):
        src = write_random(root / "src" / f"pkg{n:03}.bin", SIZE, seed=n)
        torrent = creation.create(src, tracker)
        b64 = base64.b64encode(torrent).decode()
        dist_id = metainfo.describe(torrent).dist_id
        orders[dist_id], sources[dist_id] = b64, src
        origin.call("POST", "/dists", {"mode": "seed", "torrent": b64, "source": str(src),
                                       "targets": ["m1", "m2"], "upload_limit": 0})
    ids = sorted(orders)
    for agent in holders:
        agent.ensure()
        for b64 in orders.values():
            agent.call("POST", "/dists", {"mode": "fetch", "torrent": b64,
                                          "dest": str(root / agent.host_id / "dest")})
    wait_for("both holders seeding all 100", lambda: all(
        sorted(_states(a).values()) == ["seeding"] * COUNT for a in holders))
    assert all(a.call("GET", "/torrents")["open"] == COUNT for a in holders)
    assert origin.call("GET", "/torrents")["open"] == COUNT
    awake = _announces(origin, ids)
    time.sleep(3 * INTERVAL)
    awake = _announces(origin, ids) - awake
    print(f"\n{COUNT} distributions x {len(holders)} holders seeding: {awake} announces in "
          f"{3 * INTERVAL} s ({awake / (3 * INTERVAL):.1f}/s)")

    quiet_at = time.time()
    for dist_id in ids:
        origin.call("POST", f"/swarms/{dist_id}", {"quiet_at": quiet_at})
    wait_for("every torrent closed", lambda: all(
        a.call("GET", "/torrents")["open"] == 0 for a in (origin, *holders)))
    assert all(set(_states(a).values()) == {"quiet"} for a in (origin, *holders))
    # The master's seeder is quiet too: it says so, and the pushed files stay where they were.
    assert {origin.call("GET", f"/swarms/{d}")["origin"] for d in ids} == {"quiet"}
    assert (root / "src" / "pkg000.bin").stat().st_size == SIZE
    # The files stay at dest.
    assert all((root / a.host_id / "dest" / "pkg000.bin").stat().st_size == SIZE for a in holders)
    wait_for("the tracker's table empty", lambda: all(
        origin.call("GET", f"/swarms/{d}")["peers"] == 0 for d in ids))
    before, start = _announces(origin, ids), time.monotonic()
    time.sleep(3 * INTERVAL)
    after, window = _announces(origin, ids), time.monotonic() - start
    rate = (after - before) / window
    open_now = [a.call("GET", "/torrents")["open"] for a in (origin, *holders)]
    print(f"{COUNT} quiet distributions x {len(holders)} holders: {after - before} announces "
          f"in {window:.1f} s ({rate:.2f}/s); open torrents on the origin, m1, m2: {open_now}")
    assert open_now == [0, 0, 0]
    assert after == before, f"{after - before} announces for quiet swarms in {window:.1f} s"

    # The origin stops seeding one; its swarm wakes for a newcomer, m3.
    woken = ids[0]
    origin.call("DELETE", f"/dists/{woken}?keep_swarm=1")
    origin.call("POST", f"/swarms/{woken}", {"quiet_at": None, "targets": ["m1", "m2", "m3"]})
    for agent in holders:
        assert agent.call("POST", f"/dists/{woken}/wake")["dist_id"] == woken
        assert agent.call("GET", "/torrents")["open"] == 1  # only the woken one
    newcomer = AgentClient(root / "m3", "m3", ["--bt-interface", "127.0.0.4"])
    newcomer.ensure()
    newcomer.call("POST", "/dists", {"mode": "fetch", "torrent": orders[woken],
                                     "dest": str(root / "m3" / "dest")})
    wait_for("the newcomer complete", lambda: _states(newcomer).get(woken) == "seeding")
    # The origin holds no torrent for it: every byte came from the two woken holders.
    assert woken not in origin.call("GET", "/dists")
    name = newcomer.call("GET", f"/dists/{woken}")["name"]
    assert (root / "m3" / "dest" / name).read_bytes() == (root / "src" / name).read_bytes()
    # libtorrent adds the last second's bytes to its counters at its next tick.
    wait_for("the holders' upload counters", lambda: sum(
        a.call("GET", f"/dists/{woken}")["uploaded"] for a in holders) >= SIZE, timeout=15)
    # Nothing was hashed again on waking: the holders' copies were trusted.
    assert all("changed while quiet" not in (root / a.host_id / "agent.log").read_text()
               for a in holders)
    # Another swarm is woken for m3 while its holders stay closed (offline, say): the origin,
    # quiet until now, opens its seed (resume data, no check) and is m3's only source.
    only = ids[2]
    served = origin.call("GET", f"/dists/{only}")["uploaded"]  # a quiet seed still counts them
    origin.call("POST", f"/swarms/{only}", {"quiet_at": None})  # master/quieting.wake, first
    assert origin.call("GET", "/torrents")["dist_ids"] == [only]
    # The push's seed order admits m3 to the swarm.
    origin.call("POST", "/dists", {"mode": "seed", "torrent": orders[only], "source": str(sources[only]),
                                   "targets": ["m1", "m2", "m3"], "upload_limit": 0})
    newcomer.call("POST", "/dists", {"mode": "fetch", "torrent": orders[only],
                                     "dest": str(root / "m3" / "dest")})
    wait_for("the newcomer complete from the origin", lambda: _states(newcomer).get(only) == "seeding")
    name = newcomer.call("GET", f"/dists/{only}")["name"]
    assert (root / "m3" / "dest" / name).read_bytes() == (root / "src" / name).read_bytes()
    assert all(a.call("GET", "/torrents")["dist_ids"] == [woken] for a in holders)  # still closed
    wait_for("the origin's upload counter", lambda: origin.call(
        "GET", f"/dists/{only}")["uploaded"] >= served + SIZE, timeout=15)
    assert "changed while quiet" not in (root / "origin" / "agent.log").read_text()
    # A copy touched while quiet is checked when woken, and shared once it checks out.
    m1, other = holders[0], ids[1]
    touched = root / "m1" / "dest" / m1.call("GET", f"/dists/{other}")["name"]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    origin.call("POST", f"/swarms/{other}", {"quiet_at": None})  # else told quiet again at once
    m1.call("POST", f"/dists/{other}/wake")
    wait_for("the touched copy checked and shared", lambda: _states(m1)[other] == "seeding")
    assert f"{other}: its files at" in (root / "m1" / "agent.log").read_text()
