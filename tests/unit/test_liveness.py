"""No stalls: a dead WAN fetcher is replaced within seconds, and nobody waits out a gap.

The tracker with a fake clock: downloading hosts are given short announce
intervals (within a budget of announces per second), a seated fetcher that
misses its announces loses its seat at the next site-mate's announce, and a
finishing fetcher's gap (remove, move into place, add again as a seed) does
not count against the site-mates it feeds.
"""

from __future__ import annotations

import random

import libtorrent as lt
import pytest
from test_tracker import HOSTS, INFO_HASH, ORIGIN, ORIGIN_PORT, SITES, Clock, announce, peers_of

from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.tracker.intervals import FLOOR_S, LATE_S, IntervalRule
from salt_p2pdist.tracker.tracker import Tracker

H1, H2 = "-PD0100-handle1aaaaa", "-PD0100-handle2bbbbb"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wan(clock: Clock) -> Tracker:
    t = Tracker(interval=30, clock=clock, rng=random.Random(3), sites=SiteMap.from_config(SITES))
    t.register(INFO_HASH, frozenset(HOSTS), ORIGIN_PORT)
    return t


def go(t: Tracker, host: str, **kw: object) -> set[tuple[str, int]]:
    ip, port = HOSTS[host]
    return peers_of(announce(t, host, ip, port=port, **kw))


def interval(t: Tracker, host: str, **kw: object) -> int:
    ip, port = HOSTS[host]
    return int(lt.bdecode(announce(t, host, ip, port=port, **kw))[b"interval"])


def test_a_fetcher_that_misses_its_announces_loses_its_seat_to_the_next_site_mate(wan, clock):
    go(wan, "p1")
    go(wan, "p2")
    assert wan.fetchers(INFO_HASH)["paris"] == ["p1"]
    clock.now += FLOOR_S  # p1 was killed: it does not announce again
    assert ORIGIN not in go(wan, "p2")  # one interval late is not yet missing
    assert wan.fetchers(INFO_HASH)["paris"] == ["p1"]
    clock.now += FLOOR_S  # 6 s: 1.5 of p1's 3 s interval, but a busy host may be late
    assert ORIGIN not in go(wan, "p2")
    clock.now += LATE_S  # past 1.5 intervals and the lateness allowed
    assert ORIGIN in go(wan, "p2")  # the seat and the origin in the same answer
    assert wan.fetchers(INFO_HASH)["paris"] == ["p2"]
    clock.now += FLOOR_S
    assert ORIGIN not in go(wan, "p1")  # back after all: a site-mate like any other
    assert wan.fetchers(INFO_HASH)["paris"] == ["p2"]


def test_a_silent_host_is_not_elected(wan, clock):
    go(wan, "p1", left=10)  # the most advanced: the favourite
    go(wan, "p2", left=100)
    go(wan, "p3", left=0)
    clock.now += 2 * FLOOR_S + LATE_S  # p1 and p2 both silent: p2 comes back first
    go(wan, "p3", left=0)  # a seed's announce elects nobody silent
    assert wan.fetchers(INFO_HASH).get("paris", []) == []
    assert ORIGIN in go(wan, "p2", left=100)


def test_seeds_keep_the_configured_interval_and_downloaders_come_back_soon(wan):
    assert interval(wan, "p1") == FLOOR_S  # the fetcher
    assert interval(wan, "p2") == FLOOR_S  # a site-mate
    assert interval(wan, "p3", left=0) == 30


def test_short_intervals_grow_with_the_number_of_downloading_hosts_within_the_budget(clock):
    hosts = {f"h{i:03d}": (f"10.20.{i // 200}.{i % 200 + 1}", 6000 + i) for i in range(300)}
    t = Tracker(interval=30, clock=clock, announce_budget=20, sites=SiteMap.from_config(SITES))
    t.register(INFO_HASH, frozenset(hosts), ORIGIN_PORT)
    for host, (ip, port) in hosts.items():
        announce(t, host, ip, port=port)
    clock.now += 1.1  # counted once a second
    given = {h: int(lt.bdecode(announce(t, h, ip, port=port))[b"interval"])
             for h, (ip, port) in hosts.items()}
    (fetcher,) = t.fetchers(INFO_HASH)["paris"]
    assert given[fetcher] == FLOOR_S  # one seat: far within its half of the budget
    assert {i for h, i in given.items() if h != fetcher} == {30}  # 299 / 10 per s, capped at 30


@pytest.mark.parametrize("hosts", [10, 100, 1000, 10_000, 100_000])
@pytest.mark.parametrize("sites", [1, 100])
def test_the_announce_rate_stays_within_the_budget_above_what_the_interval_costs(hosts, sites):
    rule = IntervalRule(seed_interval=30, budget=50)
    seats = min(sites, hosts)
    rule.recount(0.0, [True] * seats + [False] * (hosts - seats))
    rate = seats / rule.interval(left=1, seated=True) + (hosts - seats) / rule.interval(left=1, seated=False)
    assert rate <= hosts / 30 + 50
    if seats <= 50:  # a few fetchers per site: back within 4 s, seen missing within 6 s
        assert rule.interval(left=1, seated=True) <= 4


def test_a_site_mate_waiting_through_the_finishing_fetchers_gap_keeps_off_the_wan(wan, clock):
    """The gap: remove the download, move it into place, add it again as a seed, reconnect."""
    go(wan, "p1", peer_id=H1)
    go(wan, "p2", left=100)
    clock.now += 3
    go(wan, "p2", left=50)  # fed by p1 over the LAN
    go(wan, "p1", left=0, event="completed", peer_id=H1)
    go(wan, "p1", left=0, event="stopped", peer_id=H1)
    for _ in range(4):  # 12 s away moving a big copy into place: p2 gets nothing meanwhile
        clock.now += 3
        assert ORIGIN not in go(wan, "p2", left=50)
    go(wan, "p1", left=0, event="started", peer_id=H2)
    for _ in range(3):  # 9 s more until p2 reconnects: 21 s without progress in all
        clock.now += 3
        assert go(wan, "p2", left=50) == {HOSTS["p1"]}
    assert wan.fetchers(INFO_HASH)["paris"] == ["p1"]


def test_a_fetcher_re_added_without_a_goodbye_also_restarts_the_fed_clock(wan, clock):
    """libtorrent gives up on a "stopped" announce after a second: the tracker may never see it."""
    go(wan, "p1", peer_id=H1)
    go(wan, "p2", left=100)
    go(wan, "p1", left=0, event="completed", peer_id=H1)
    for _ in range(3):
        clock.now += 3
        go(wan, "p2", left=100)
    go(wan, "p1", left=0, event="started", peer_id=H2)  # the new handle, 9 s later
    for _ in range(3):
        clock.now += 3
        assert ORIGIN not in go(wan, "p2", left=100)
    for _ in range(2):  # fed for 15 s now, and nothing came: p1's copy does not reach p2
        clock.now += 3
        go(wan, "p1", left=0, peer_id=H2)
        got = go(wan, "p2", left=100)
    assert ORIGIN in got
    assert wan.fetchers(INFO_HASH)["paris"] == ["p2"]


def test_agents_let_the_tracker_ask_them_back_after_the_floor_interval():
    """libtorrent waits max(the tracker's interval, min_announce_interval): 5 s would stretch 3 s."""
    from salt_p2pdist.agent.settings import session_settings

    s = session_settings(listen="127.0.0.1:0", outgoing="", alert_mask=0, base={})
    assert s["min_announce_interval"] <= FLOOR_S


def test_a_goodbye_after_completed_keeps_the_seat_whatever_left_it_states(wan, clock):
    """The seat is held on what the tracker knows (the "completed" announce), not only on the
    goodbye's own ``left``, which a removed torrent may state loosely."""
    go(wan, "p1", peer_id=H1)
    go(wan, "p2")
    go(wan, "p1", left=0, event="completed", peer_id=H1)
    go(wan, "p1", left=16384, event="stopped", peer_id=H1)
    clock.now += FLOOR_S
    assert ORIGIN not in go(wan, "p2")  # no second fetcher in the gap
    assert wan.fetchers(INFO_HASH)["paris"] == ["p1"]
