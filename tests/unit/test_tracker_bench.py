"""The tracker bench measures what it says: real announces answered, over real TLS."""

from __future__ import annotations

from pathlib import Path

from lab import tracker_bench


def test_the_filled_tracker_holds_every_host_in_its_sites():
    tracker = tracker_bench.filled_tracker(300, sites=10)
    swarm = tracker.swarms[tracker_bench.HASH]
    assert len(swarm.peers) == 300
    assert len({p.site for p in swarm.peers.values()}) == 10
    assert tracker_bench.cpu_per_announce(300, rounds=20) > 0


def test_announces_over_tls_are_answered_and_counted(tmp_path: Path):
    got = tracker_bench.over_tls(tmp_path, clients=1, seconds=1.0, swarm=0)
    assert got["announces"] > 0  # a refused announce (no certificate) would not count
    assert got["server_cpu_ms_per_announce"] > 0
