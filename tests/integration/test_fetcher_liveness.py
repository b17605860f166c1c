"""No stalls: a WAN fetcher whose host dies mid-download is replaced by a site-mate at once.

A deployment of its own, with the master's default announce interval (30 s):
downloading hosts are asked back every few seconds regardless, which is what
this shows. Two sites on loopback addresses (paris: m1, m2; lyon: m3, m4);
paris's WAN fetcher crashes (salt-minion and agent SIGKILLed, nothing said to
the tracker). Before, its seat stayed taken until its lack of progress
passed ``stall_after`` (60 s), and its site-mate waited that long.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import wait_for

SITE_OF = {"m1": "paris", "m2": "paris", "m3": "lyon", "m4": "lyon"}
SITES = {"paris": {"networks": ["127.0.0.11/32", "127.0.0.12/32"], "parent": "fr"},
         "lyon": {"networks": ["127.0.0.13/32", "127.0.0.14/32"], "parent": "fr"}}
STALL_AFTER_S = 60  # the master's default: what a dead fetcher's site waited before


@pytest.fixture(scope="module")
def fleet() -> Iterator[Deployment]:
    root = Path(tempfile.mkdtemp(prefix="p2pl-"))
    # Product defaults for the tracker (announce_interval 30, stall_after 60); the
    # master serves 2 MiB/s, as a thin uplink would, so the download lasts a while.
    lab = Deployment(root, master_p2pdist={"announce_interval": 30, "origin_upload_rate": 2 << 20,
                                           "sites": SITES})
    try:
        lab.start([lab.minion(m, i) for i, m in enumerate(SITE_OF, start=1)])
        yield lab
    finally:
        lab.stop()


def agent(fleet: Deployment, minion: str) -> AgentClient:
    return AgentClient(fleet.minion_root(minion) / "cache" / "p2pdist", minion)


def bytes_done(fleet: Deployment, minion: str, dist_id: str) -> int:
    try:
        return int(agent(fleet, minion).call("GET", f"/dists/{dist_id}").get("bytes_done", 0))
    except P2PDistError:  # not ordered yet
        return 0


def fetchers(fleet: Deployment, dist_id: str) -> dict[str, Any]:
    """Each site's WAN fetchers, as the master's tracker has them now."""
    origin = AgentClient(fleet.root / "master" / "cache" / "p2pdist" / "origin", "origin")
    return dict(origin.call("GET", "/fetchers").get(dist_id, {}))


def test_a_killed_wan_fetcher_is_replaced_by_its_site_mate_and_the_site_completes(fleet: Deployment) -> None:
    payload = write_random(fleet.root / "srv" / "live.bin", 24 << 20, seed=41)
    size = payload.stat().st_size
    ret = fleet.salt_run("p2pdist.push", str(payload), timeout=300, kwargs={"tgt": "m*", "dest": "/opt/live"})
    assert ret["result"] is True, ret
    dist_id = ret["id"]
    (victim,) = wait_for("paris's WAN fetcher", lambda: fetchers(fleet, dist_id).get("paris"), timeout=60)
    (mate,) = {m for m, s in SITE_OF.items() if s == "paris"} - {victim}
    wait_for(f"{victim} a few MiB in", lambda: size // 8 < bytes_done(fleet, victim, dist_id) < size,
             timeout=60, every=0.2)
    # The host crashes: no "stopped" announce, the tracker just stops hearing from it.
    fleet.crash(victim)
    # The seat passes to the site-mate well before the old stall timer could have fired.
    wait_for(f"{mate} in {victim}'s seat", lambda: fetchers(fleet, dist_id).get("paris") == [mate],
             timeout=STALL_AFTER_S / 2, every=0.2)
    for minion in ("m1", "m2", "m3", "m4"):
        if minion != victim:
            copy = fleet.copy_at(minion, "/opt/live", payload.name)
            wait_for(f"{minion}'s copy", copy.exists, timeout=120)
            assert sha256(copy) == sha256(payload)
    # Its only site-mate dead, the mate's copy came across the WAN. (Not read from the mate's
    # per-source counters: they miss a peer's last second when its connection closes at the end,
    # and a nearly complete victim leaves only that second's bytes to fetch.)
    assert not fleet.agent_processes(victim), f"{victim}'s agent came back and served its site"
    assert agent(fleet, mate).call("GET", f"/dists/{dist_id}")["state"] == "seeding"
