from __future__ import annotations

import random

import pytest

from salt_p2pdist.handout import Peer, select_peers


def peer(host_id: str, complete: bool = False, n: int = 1) -> Peer:
    return Peer(host_id, f"10.0.0.{n}", 6881, complete, 0.0)


@pytest.fixture
def swarm() -> list[Peer]:
    peers = [peer(f"m{i}", complete=i % 3 == 0, n=i) for i in range(1, 21)]
    return [*peers, peer("origin", complete=True, n=254)]


@pytest.mark.parametrize("want", [0, 1, 5, 50])
def test_sample_is_a_subset_without_requester_or_duplicates(swarm, want):
    for seed in range(20):
        got = select_peers("m4", swarm, requester_complete=False, want=want, rng=random.Random(seed))
        assert len(got) == min(want, len(swarm) - 1)
        assert len(set(got)) == len(got)
        assert set(got) <= set(swarm)
        assert all(p.host_id != "m4" for p in got)


def test_seed_gets_no_seeds(swarm):
    leechers = {p.host_id for p in swarm if not p.complete}
    got = select_peers("m3", swarm, requester_complete=True, want=50, rng=random.Random(0))
    assert {p.host_id for p in got} == leechers
    for seed in range(20):
        got = select_peers("m3", swarm, requester_complete=True, want=4, rng=random.Random(seed))
        assert len(got) == 4
        assert not any(p.complete for p in got)


def test_a_seeding_requester_is_excluded_even_when_listed_as_leecher():
    me = peer("m1", complete=False)  # the swarm's stale view of the requester
    got = select_peers("m1", [me, peer("m2", n=2)], requester_complete=True, want=5,
                       rng=random.Random(0))
    assert [p.host_id for p in got] == ["m2"]


def test_leecher_gets_seeds_too(swarm):
    got = select_peers("m1", swarm, requester_complete=False, want=100, rng=random.Random(0))
    assert {p.host_id for p in got} == {p.host_id for p in swarm} - {"m1"}


def test_alone_in_the_swarm_gets_nothing():
    me = peer("m1")
    assert select_peers("m1", [me], requester_complete=False, want=10, rng=random.Random(0)) == []
    assert select_peers("m1", [], requester_complete=True, want=10, rng=random.Random(0)) == []


def test_sample_varies_with_rng_so_load_spreads(swarm):
    picks = {frozenset(p.host_id for p in select_peers(
        "m1", swarm, requester_complete=False, want=3, rng=random.Random(s))) for s in range(30)}
    assert len(picks) > 1
    # every candidate gets picked by someone over enough announces
    assert set().union(*picks) == {p.host_id for p in swarm} - {"m1"}


def test_deterministic_for_a_given_rng(swarm):
    a = select_peers("m1", swarm, requester_complete=False, want=4, rng=random.Random(7))
    b = select_peers("m1", swarm, requester_complete=False, want=4, rng=random.Random(7))
    assert a == b
