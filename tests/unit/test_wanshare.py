"""A site's WAN cap as one total: who the tracker counts on the WAN, and each part."""

from __future__ import annotations

import random

import pytest

from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.tracker.announce import Holder, TrackerError, parse_announce
from salt_p2pdist.tracker.tracker import Tracker
from salt_p2pdist.tracker.wanshare import TRICKLE, WanShare

SITES = {"paris": {"networks": ["10.20.0.0/16"]}, "nyc": {"networks": ["10.30.0.0/16"]}}
HOSTS = {f"{s[0]}{i}": f"10.{n}.0.{i}" for s, n in (("paris", 20), ("nyc", 30)) for i in (1, 2, 3)}
SWARM_A, SWARM_B = b"A" * 20, b"B" * 20
SIZE = 1000


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, require_cert: bool = False) -> Tracker:
    t = Tracker(interval=30, clock=clock, rng=random.Random(1), sites=SiteMap.from_config(SITES),
                require_cert=require_cert)
    for swarm in (SWARM_A, SWARM_B):
        t.register(swarm, frozenset(HOSTS), origin_port=0,  # the origin no longer seeds
                   torrent_name=swarm.decode())
    return t


def ann(t: Tracker, host: str, left: int, swarm: bytes = SWARM_A) -> None:
    q = (f"info_hash={swarm.decode()}&port=6881&left={left}&minion={host}")
    t.announce(parse_announce(q, HOSTS[host]), "10.0.0.1", Holder(host, swarm.decode()))


def shares(t: Tracker, site: str) -> dict[str, WanShare]:
    return {h: t.wan_share(h, ip) for h, ip in HOSTS.items() if h[0] == site[0]}


@pytest.fixture
def branch_downloads(clock) -> Tracker:
    """Paris complete (p1-p3 seeds); NYC fetching: n1 announces first, so it is NYC's fetcher."""
    t = make(clock)
    for h in ("p1", "p2", "p3"):
        ann(t, h, 0)
    for h in ("n1", "n2", "n3"):
        ann(t, h, SIZE)
    return t


def test_part_is_the_granted_fraction_and_hosts_without_one_get_a_trickle():
    assert WanShare("paris", True, 1, 1.0).part(3_000_000) == 3_000_000
    assert WanShare("paris", True, 3, 1 / 3).part(3_000_000) == 1_000_000
    assert WanShare("paris", False, 3, 0.0).part(3_000_000) == TRICKLE
    assert WanShare("paris", True, 3, 0.0).part(3_000_000) == TRICKLE  # waiting for room
    assert WanShare("paris", True, 3, 1 / 3).part(0) == 0  # no cap stays no cap


def test_a_downloading_branch_gives_its_whole_cap_to_its_one_fetcher(branch_downloads):
    nyc = shares(branch_downloads, "nyc")
    assert branch_downloads.fetchers(SWARM_A)["nyc"] == ["n1"]
    assert nyc["n1"] == WanShare("nyc", True, 1, 1.0)
    assert not nyc["n2"].on_wan and not nyc["n3"].on_wan
    assert sum(s.part(2_000_000) for s in nyc.values() if s.on_wan) == 2_000_000


def test_seeds_serving_another_site_split_its_cap_so_the_total_holds(branch_downloads):
    paris = shares(branch_downloads, "paris")
    assert all(s.on_wan and s.hosts == 3 for s in paris.values())  # all three were handed to n1
    assert sum(s.part(3_000_000) for s in paris.values()) == 3_000_000
    assert {s.fraction for s in paris.values()} == {1 / 3}


def test_a_host_in_two_swarms_is_counted_once(branch_downloads):
    for h in ("p1", "n1"):
        ann(branch_downloads, h, 0 if h == "p1" else SIZE, swarm=SWARM_B)
    assert shares(branch_downloads, "paris")["p1"].hosts == 3
    assert shares(branch_downloads, "nyc")["n1"] == WanShare("nyc", True, 1, 1.0)


def test_nobody_is_on_the_wan_once_the_swarm_is_complete(branch_downloads, clock):
    for h in ("n1", "n2", "n3"):
        ann(branch_downloads, h, 0)
    clock.now += 2  # the tracker recomputes at most once a second
    assert not any(s.on_wan for s in shares(branch_downloads, "paris").values())
    assert not any(s.on_wan for s in shares(branch_downloads, "nyc").values())


def test_a_host_not_matched_again_within_hold_leaves_the_wan(clock):
    t = make(clock)
    ann(t, "p1", 0)
    ann(t, "n1", SIZE)  # n1 gets p1: both on the WAN
    assert t.wan_share("p1", HOSTS["p1"]).on_wan
    clock.now += 2.5 * 30 + 1  # no re-announce since (peer_ttl keeps them in the swarm)
    assert not t.wan_share("p1", HOSTS["p1"]).on_wan
    ann(t, "n1", SIZE)  # renewed by the next announce
    clock.now += 1
    assert t.wan_share("p1", HOSTS["p1"]).on_wan


def test_a_host_that_left_the_swarm_leaves_the_wan(branch_downloads, clock):
    q = f"info_hash={SWARM_A.decode()}&port=6881&left=0&minion=p3&event=stopped"
    branch_downloads.announce(parse_announce(q, HOSTS["p3"]), "10.0.0.1")
    clock.now += 2
    assert shares(branch_downloads, "paris")["p1"].hosts == 2
    assert not shares(branch_downloads, "paris")["p3"].on_wan


def test_a_host_in_no_swarm_is_placed_by_its_address(clock):
    assert make(clock).wan_share("p9", "10.20.0.9") == WanShare("paris", False, 0, 0.0)


def test_in_closed_swarms_only_a_certified_host_learns_its_own_share(clock):
    t = make(clock, require_cert=True)
    ann(t, "p1", 0)
    for holder in (None, Holder("p2", SWARM_A.decode()), Holder("p1", "another swarm")):
        with pytest.raises(TrackerError, match="without p1's certificate"):
            t.wan_share("p1", HOSTS["p1"], holder)
    assert t.wan_share("p1", HOSTS["p1"], Holder("p1", SWARM_A.decode())).site == "paris"


def test_a_newcomer_gets_only_what_the_others_parts_leave_until_they_shrink(clock):
    """Parts granted never add up to more than the cap, even before hosts ask again."""
    t = make(clock)
    ann(t, "n1", 0)
    ann(t, "p1", SIZE)  # paris's fetcher: the only paris host on the WAN
    assert t.wan_share("p1", HOSTS["p1"]).fraction == 1.0
    clock.now += 1
    ann(t, "p2", SIZE)  # a second fetcher (the first one looks stalled, or per_site=2)...
    t.swarms[SWARM_A].fetchers.by_site["paris"].append("p2")
    ann(t, "p2", SIZE)  # ...matched with n1: two paris hosts on the WAN
    clock.now += 1
    p2 = t.wan_share("p2", HOSTS["p2"])
    assert (p2.hosts, p2.fraction) == (2, 0.0)  # p1 still holds the whole cap
    assert t.wan_share("p1", HOSTS["p1"]).fraction == 0.5  # p1 asks again: it shrinks
    assert t.wan_share("p2", HOSTS["p2"]).fraction == 0.5  # now there is room


def test_a_part_not_renewed_within_the_lease_is_free_again(clock):
    t = make(clock)
    ann(t, "n1", 0)
    ann(t, "p1", SIZE)
    assert t.wan_share("p1", HOSTS["p1"]).fraction == 1.0
    t.wan_grants.held["paris"]["p1"] = (1.0, clock.now - 20)  # p1 stopped asking 20 s ago
    t.swarms[SWARM_A].fetchers.by_site["paris"].append("p2")
    ann(t, "p2", SIZE)
    clock.now += 1
    assert t.wan_share("p2", HOSTS["p2"]).fraction == 0.5  # even share, p1's lease lapsed
