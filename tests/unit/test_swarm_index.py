"""A swarm's site index: an announce reads its own site and the other sites' seats and seeds,
and the hand-out from that is the hand-out from the whole swarm."""

from __future__ import annotations

import random

from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.tracker.fetchers import WanFetchers
from salt_p2pdist.tracker.handout import Peer, select_peers
from salt_p2pdist.tracker.swarm import Swarm

SITES = SiteMap(overrides={f"{s}{i}": s for s in "abc" for i in range(10)})


def host(name: str, complete: bool = False, seen: float = 0.0) -> Peer:
    return Peer(name, f"10.0.{ord(name[0])}.{int(name[1:]) + 1}", 6881, 0 if complete else 100, seen,
                SITES.site_of(name))


def swarm_of(peers: list[Peer], seats: dict[str, list[str]]) -> Swarm:
    swarm = Swarm(allowed=frozenset(p.host_id for p in peers), origin_port=0, fetchers=WanFetchers())
    for p in peers:
        swarm.put(p)
    swarm.fetchers.by_site = {site: list(hosts) for site, hosts in seats.items()}
    return swarm


def ids(peers: list[Peer]) -> set[str]:
    return {p.host_id for p in peers}


def everyone() -> list[Peer]:
    """Three sites of ten: site a's hosts 0-4 complete, b's 0-1, c's none."""
    return [host(f"{s}{i}", complete=i < {"a": 5, "b": 2, "c": 0}[s]) for s in "abc" for i in range(10)]


SEATS = {"a": ["a9"], "b": ["b9"], "c": ["c9"]}


def test_a_host_without_a_seat_reads_its_own_site_only() -> None:
    swarm = swarm_of(everyone(), SEATS)
    assert ids(swarm.candidates(host("c3"), 50, random.Random(0))) == {f"c{i}" for i in range(10)}


def test_a_seed_reads_the_other_sites_downloading_fetchers_and_a_fetcher_their_seeds_too() -> None:
    swarm = swarm_of(everyone(), SEATS)
    seed = swarm.candidates(swarm.peers["a0"], 50, random.Random(0))
    assert ids(seed) == {f"a{i}" for i in range(10)} | {"b9", "c9"}
    fetcher = swarm.candidates(swarm.peers["c9"], 50, random.Random(0))
    seeds = {f"a{i}" for i in range(5)} | {"b0", "b1"}
    assert ids(fetcher) == {f"c{i}" for i in range(10)} | {"a9", "b9"} | seeds
    few = swarm.candidates(swarm.peers["c9"], 3, random.Random(0))  # at most 3 seeds of each site
    assert len(ids(few) & {f"a{i}" for i in range(5)}) == 3 and {"b0", "b1"} <= ids(few)


def test_the_hand_out_from_the_candidates_is_the_hand_out_from_the_whole_swarm() -> None:
    peers = everyone()
    swarm = swarm_of(peers, SEATS)
    for name in ("a0", "a9", "b5", "c9", "c0"):
        me = swarm.peers[name]
        whole = select_peers(me, peers, fetchers=swarm.fetchers.all(), nearness=SITES.nearness,
                             want=50, rng=random.Random(1))
        read = select_peers(me, swarm.candidates(me, 50, random.Random(2)), fetchers=swarm.fetchers.all(),
                            nearness=SITES.nearness, want=50, rng=random.Random(1))
        assert ids(read) == ids(whole), name


def test_the_index_follows_hosts_that_complete_move_leave_and_expire() -> None:
    swarm = swarm_of(everyone(), SEATS)
    swarm.put(host("c0", complete=True))  # c0 finished: a seed now
    assert "c0" in ids(swarm.candidates(swarm.peers["a9"], 50, random.Random(0)))
    swarm.put(Peer("c0", "10.0.1.1", 6881, 100, 0.0, "b"))  # checking again, from site b now
    assert "c0" in swarm.members("b") and "c0" not in swarm.members("c")
    assert "c0" not in ids(swarm.candidates(swarm.peers["a9"], 50, random.Random(0)))
    swarm.drop("a1")
    swarm.pop("a2")
    assert {"a1", "a2"}.isdisjoint(swarm.members("a"))
    assert {"a1", "a2"}.isdisjoint(ids(swarm.candidates(swarm.peers["c9"], 50, random.Random(0))))
    for p in list(swarm.peers.values()):
        swarm.put(Peer(p.host_id, p.ip, p.port, p.left, 100.0 if p.site == "a" else 0.0, p.site))
    swarm.expire(now=150.0, peer_ttl=150.0)  # b and c not heard from for 150 s
    assert swarm.members("b") == {} and swarm.members("c") == {}
    assert ids(swarm.candidates(swarm.peers["a9"], 50, random.Random(0))) == set(swarm.members("a"))


def test_expiry_reads_the_swarm_at_most_once_a_second() -> None:
    swarm = swarm_of([host("a1", seen=0.0), host("a3", seen=0.5)], {})
    swarm.expire(now=150.0, peer_ttl=150.0)
    assert set(swarm.peers) == {"a3"}
    swarm.expire(now=150.6, peer_ttl=150.0)  # a3 is due too, but the swarm was read 0.6 s ago
    assert set(swarm.peers) == {"a3"}
    swarm.expire(now=151.0, peer_ttl=150.0)
    assert swarm.peers == {}
