from __future__ import annotations

import random

import pytest

from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.tracker.handout import ORIGIN_SITE, Peer, select_peers

NO_SITES = SiteMap()  # every host a site of its own
ONE_SITE = SiteMap(overrides={f"m{i}": "lan" for i in range(1, 21)})


def peer(host_id: str, complete: bool = False, n: int = 1, site: str = "lan") -> Peer:
    return Peer(host_id, f"10.0.0.{n}", 6881, 0 if complete else 100, 0.0, site)


def pick(requester: Peer, candidates: list[Peer], *, want: int = 50, seed: int = 0,
         fetchers: frozenset[str] = frozenset(), sites: SiteMap = ONE_SITE) -> list[Peer]:
    return select_peers(requester, candidates, fetchers=fetchers, nearness=sites.nearness,
                        want=want, rng=random.Random(seed))


def ids(peers: list[Peer]) -> set[str]:
    return {p.host_id for p in peers}


# -- one site: the hand-out is a random sample of the swarm --------------

@pytest.fixture
def swarm() -> list[Peer]:
    """Twenty hosts of one site, every third a seed, plus a seeding peer of the same site."""
    peers = [peer(f"m{i}", complete=i % 3 == 0, n=i) for i in range(1, 21)]
    return [*peers, peer("s0", complete=True, n=254)]


def by_id(swarm: list[Peer], host_id: str) -> Peer:
    return next(p for p in swarm if p.host_id == host_id)


@pytest.mark.parametrize("want", [0, 1, 5, 50])
def test_sample_is_a_subset_without_requester_or_duplicates(swarm, want):
    me = by_id(swarm, "m4")
    for seed in range(20):
        got = pick(me, swarm, want=want, seed=seed)
        assert len(got) == min(want, len(swarm) - 1)
        assert len(set(got)) == len(got)
        assert set(got) <= set(swarm)
        assert all(p.host_id != "m4" for p in got)


def test_seed_gets_no_seeds(swarm):
    leechers = {p.host_id for p in swarm if not p.complete}
    me = by_id(swarm, "m3")
    assert me.complete
    assert ids(pick(me, swarm)) == leechers
    for seed in range(20):
        got = pick(me, swarm, want=4, seed=seed)
        assert len(got) == 4
        assert not any(p.complete for p in got)


def test_a_seeding_requester_is_excluded_even_when_listed_as_leecher():
    me = peer("m1", complete=False)  # the swarm's stale view of the requester
    got = pick(peer("m1", complete=True), [me, peer("m2", n=2)], want=5)
    assert ids(got) == {"m2"}


def test_leecher_gets_seeds_too(swarm):
    got = pick(by_id(swarm, "m1"), swarm, want=100)
    assert ids(got) == ids(swarm) - {"m1"}


def test_alone_in_the_swarm_gets_nothing():
    me = peer("m1")
    assert pick(me, [me], want=10) == []
    assert pick(peer("m1", complete=True), [], want=10) == []
    assert pick(me, [me], want=10, fetchers=frozenset({"m1"})) == []


def test_sample_varies_with_rng_so_load_spreads(swarm):
    me = by_id(swarm, "m1")
    picks = {frozenset(ids(pick(me, swarm, want=3, seed=s))) for s in range(30)}
    assert len(picks) > 1
    # every candidate gets picked by someone over enough announces
    assert set().union(*picks) == ids(swarm) - {"m1"}


def test_deterministic_for_a_given_rng(swarm):
    me = by_id(swarm, "m1")
    assert pick(me, swarm, want=4, seed=7) == pick(me, swarm, want=4, seed=7)
    fetchers = frozenset({"m1"})
    assert (pick(me, swarm, want=4, seed=7, fetchers=fetchers)
            == pick(me, swarm, want=4, seed=7, fetchers=fetchers))


def test_peer_complete_means_nothing_left():
    assert peer("a", complete=True).complete
    assert not Peer("a", "10.0.0.1", 1, 1, 0.0).complete


# -- sites: only WAN fetchers get remote peers ----------------------------

SITES = SiteMap.from_config({
    "paris": {"networks": ["10.20.0.0/16"], "parent": "emea"},
    "lyon": {"networks": ["10.21.0.0/16"], "parent": "emea"},
    "nyc": {"networks": ["10.30.0.0/16"], "parent": "amer"},
})
NET = {"paris": 20, "lyon": 21, "nyc": 30}
FETCHERS = frozenset({"p1", "l1", "n1"})


def host(host_id: str, site: str, n: int, left: int = 100) -> Peer:
    return Peer(host_id, f"10.{NET[site]}.0.{n}", 6881, left, 0.0, site)


ORIGIN = Peer("origin", "192.0.2.1", 7000, 0, 0.0, ORIGIN_SITE)


@pytest.fixture
def wan() -> list[Peer]:
    """Paris (4 hosts), Lyon and NYC (3 each); p1, l1, n1 fetch; plus the origin."""
    return [*(host(f"p{i}", "paris", i) for i in range(1, 5)),
            *(host(f"l{i}", "lyon", i) for i in range(1, 4)),
            *(host(f"n{i}", "nyc", i) for i in range(1, 4)), ORIGIN]


def wan_pick(requester: Peer, candidates: list[Peer], **kw) -> list[Peer]:
    return pick(requester, candidates, fetchers=kw.pop("fetchers", FETCHERS), sites=SITES, **kw)


def test_non_fetcher_gets_only_its_own_site(wan):
    me = by_id(wan, "p2")
    assert ids(wan_pick(me, wan)) == {"p1", "p3", "p4"}
    for seed in range(30):
        got = wan_pick(me, wan, want=2, seed=seed)
        assert len(got) == 2
        assert all(p.site == "paris" for p in got)  # never the origin, never another site


def test_non_fetcher_alone_in_its_site_gets_nothing(wan):
    lonely = host("x1", "nyc", 9)
    assert wan_pick(lonely, [lonely, ORIGIN, by_id(wan, "p1"), by_id(wan, "l1")]) == []


def test_fetcher_gets_its_site_the_origin_and_other_fetchers_only(wan):
    got = ids(wan_pick(by_id(wan, "p1"), wan))
    assert got == {"p2", "p3", "p4", "origin", "l1", "n1"}
    assert not got & {"l2", "l3", "n2", "n3"}  # other sites' non-fetchers stay hidden


def test_same_region_fetchers_come_before_other_regions_when_want_is_small(wan):
    me = by_id(wan, "p1")
    for seed in range(20):
        remote = [p for p in wan_pick(me, wan, want=1, seed=seed) if p.site != "paris"]
        assert ids(remote) == {"l1"}
    far = set()
    for seed in range(30):
        remote = [p for p in wan_pick(me, wan, want=2, seed=seed) if p.site != "paris"]
        assert "l1" in ids(remote)
        far |= ids(remote) - {"l1"}
    assert far == {"n1", "origin"}  # equals in distance share the load


def test_fetcher_in_a_big_site_still_gets_remote_peers(wan):
    big = [*(host(f"p{i}", "paris", i) for i in range(1, 80)), *wan[4:]]
    for seed in range(10):
        got = wan_pick(by_id(big, "p1"), big, want=5, seed=seed)
        assert len(got) == 5
        assert ids(got) & {"l1", "n1", "origin"}


def test_more_fetchers_per_site(wan):
    fetchers = FETCHERS | {"p2", "n2"}
    got = ids(wan_pick(by_id(wan, "p1"), wan, fetchers=fetchers))
    assert got == {"p2", "p3", "p4", "origin", "l1", "n1", "n2"}
    assert ids(wan_pick(by_id(wan, "p3"), wan, fetchers=fetchers)) == {"p1", "p2", "p4"}


def test_complete_fetcher_gets_no_seeds_not_even_the_origin(wan):
    done = Peer("p1", "10.20.0.1", 6881, 0, 0.0, "paris")
    lyon_seed = host("l1", "lyon", 1, left=0)
    got = ids(wan_pick(done, [done, lyon_seed, *wan[1:4], *wan[5:]]))
    assert got == {"p2", "p3", "p4", "n1"}


def test_remote_seeds_are_handed_to_fetchers_and_seeds_get_remote_fetchers(wan):
    """A host that arrives complete is never elected, yet it serves other sites' fetchers."""
    lyon_seed = host("l9", "lyon", 9, left=0)
    swarm = [*wan, lyon_seed]
    assert "l9" in ids(wan_pick(by_id(wan, "p1"), swarm))
    assert "l9" not in ids(wan_pick(by_id(wan, "p2"), swarm))  # non-fetchers still see no remote host
    assert ids(wan_pick(lyon_seed, swarm)) == {"l2", "l3", "l1", "p1", "n1"}


def test_everyone_its_own_site_everyone_fetches_and_sees_everyone():
    """Without a site map every host is a site of its own, hence its site's fetcher."""
    hosts = [Peer(f"m{i}", f"10.0.0.{i}", 6881, 0 if i % 3 == 0 else 100, 0.0,
                  NO_SITES.site_of(f"m{i}", f"10.0.0.{i}")) for i in range(1, 10)]
    assert len({p.site for p in hosts}) == 9
    fetchers = frozenset(p.host_id for p in hosts if not p.complete)
    swarm = [*hosts, ORIGIN]
    for me in hosts:
        got = ids(pick(me, swarm, fetchers=fetchers, sites=NO_SITES))
        if me.complete:  # a seed gets every leecher, no seed
            assert got == {p.host_id for p in hosts if not p.complete}
        else:
            assert got == ids(swarm) - {me.host_id}
