"""Priorities at the tracker, the agent and the origin: who holds what back, and how."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_wanshare import HOSTS, SIZE, SWARM_A, SWARM_B, Clock, ann, make

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.holding import Holds, origin_limits
from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import priority
from salt_p2pdist.tracker.priorities import dist_id_of, held_at_origin
from salt_p2pdist.tracker.tracker import Tracker

BG, FIX = dist_id_of(SWARM_A), dist_id_of(SWARM_B)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def both(clock: Clock) -> Tracker:
    """Paris holds both; NYC fetches both: n1 is NYC's WAN fetcher in each. A background, B urgent."""
    t = make(clock)
    t.swarms[SWARM_A].priority, t.swarms[SWARM_B].priority = "background", "urgent"
    for swarm in (SWARM_A, SWARM_B):
        for h in ("p1", "p2", "p3"):
            ann(t, h, 0, swarm)
        for h in ("n1", "n2", "n3"):
            ann(t, h, SIZE, swarm)
    clock.now += 2  # what is held is recomputed at most once a second
    return t


def test_the_wan_fetcher_of_the_lower_swarm_is_told_to_hold_it_back(both: Tracker) -> None:
    assert both.fetchers(SWARM_A)["nyc"] == ["n1"]
    assert both.wan_share("n1", HOSTS["n1"]).held == {BG: FIX}
    assert both.wan_share("n2", HOSTS["n2"]).held == {}  # fed over the LAN: untouched
    assert both.wan_share("p1", HOSTS["p1"]).held == {}  # Paris needs no WAN: nothing held there
    assert both.held.sites_of(BG) == {"nyc": FIX}
    assert both.wan_share("n1", HOSTS["n1"]).to_dict()["held"] == {BG: FIX}


def test_once_the_higher_swarm_is_in_the_background_runs_at_full_rate(both: Tracker, clock: Clock) -> None:
    ann(both, "n1", 0, SWARM_B)  # NYC's fetcher of the urgent one has it
    clock.now += 2  # recomputed at most once a second
    assert both.wan_share("n1", HOSTS["n1"]).held == {}


def test_a_level_changed_later_takes_effect(both: Tracker, clock: Clock) -> None:
    both.swarms[SWARM_A].priority = "urgent"  # both urgent: they share
    clock.now += 2
    assert both.wan_share("n1", HOSTS["n1"]).held == {}


@pytest.mark.parametrize("other", ["urgent", "background"])
def test_a_held_fetcher_is_not_benched_as_stalled_though_it_makes_no_progress(
        both: Tracker, clock: Clock, other: str) -> None:
    both.swarms[SWARM_B].priority = other  # background too: nothing is held, the control
    for i in range(10):  # 100 s: past stall_after (60 s) without progress in swarm A
        clock.now += 10
        for h in ("n1", "n2", "n3"):
            ann(both, h, SIZE, SWARM_A)
        ann(both, "n1", SIZE // 2 - i, SWARM_B)  # the urgent one progresses
    benched = "n1" in both.swarms[SWARM_A].fetchers.benched
    assert benched == (other == "background")


def test_the_origin_serves_the_higher_swarm_first(both: Tracker) -> None:
    for swarm in both.swarms.values():
        swarm.origin_port = 6881
    assert held_at_origin(both.swarms, 0.0) == {BG: FIX}
    both.swarms[SWARM_B].quiet_at = 1.0  # quiet: it needs nothing
    assert held_at_origin(both.swarms, 2.0) == {}


def added(book: TransferBook, add_transfer: Callable[..., Transfer], name: str, mode: str = "fetch",
          upload_limit: int = 0) -> Transfer:
    """A transfer on a real libtorrent handle (conftest.py), put in the agent's book."""
    t = add_transfer(name, mode, upload_limit)
    book.put(t)
    return t


def unlimited(limit: int) -> bool:
    return limit <= 0  # libtorrent reads -1 on a torrent never limited, 0 once a limit was lifted


def test_the_agent_holds_back_only_the_named_fetch_and_lets_go(
        tmp_path: Path, lt_session: Any, add_transfer: Callable[..., Transfer]) -> None:
    book = TransferBook(OrderStore(tmp_path / "dists"))
    bg, fix = added(book, add_transfer, "bg.bin"), added(book, add_transfer, "fix.bin")
    holds = Holds(book)
    holds.set({bg.dist_id: fix.dist_id})
    assert bg.handle.download_limit() == priority.TRICKLE and bg.held_by == fix.dist_id
    assert unlimited(fix.handle.download_limit()) and not fix.held_by
    assert unlimited(bg.handle.upload_limit())  # its LAN uploads to site-mates are not held back
    lt_session.remove_torrent(bg.handle)
    again = added(book, add_transfer, "bg.bin")  # re-added (moved into place): the limit comes back
    assert unlimited(again.handle.download_limit())
    holds.apply()
    assert again.handle.download_limit() == priority.TRICKLE
    holds.set({})
    assert unlimited(again.handle.download_limit()) and not again.held_by


def test_the_origin_uploads_a_held_seed_at_a_trickle_then_at_its_own_limit(
        tmp_path: Path, add_transfer: Callable[..., Transfer]) -> None:
    book = TransferBook(OrderStore(tmp_path / "dists"))
    seed = added(book, add_transfer, "bg.bin", "seed", upload_limit=5_000_000)
    seed.handle.set_upload_limit(5_000_000)  # as the engine sets it when it adds the seed
    origin_limits(book, {seed.dist_id: FIX})
    assert seed.handle.upload_limit() == priority.TRICKLE and seed.held_by == FIX
    Holds(book).set({})  # the origin's own WAN-share poller leaves its seeds alone
    assert seed.held_by == FIX
    origin_limits(book, {})
    assert seed.handle.upload_limit() == 5_000_000 and not seed.held_by


def test_nothing_here_blocks(tmp_path: Path) -> None:  # the origin loop stops with its event
    from salt_p2pdist.agent.holding import serve_by_priority
    stop = threading.Event()
    stop.set()
    serve_by_priority(make(Clock()), threading.Lock(), TransferBook(OrderStore(tmp_path)), stop)


def test_a_host_that_only_holds_back_leaves_the_sites_wan_cap_to_the_urgent_fetcher(clock: Clock) -> None:
    t = make(clock)
    t.swarms[SWARM_A].priority, t.swarms[SWARM_B].priority = "background", "urgent"
    for swarm, first in ((SWARM_A, "n1"), (SWARM_B, "n2")):  # different fetchers in NYC
        for h in ("p1", "p2", "p3"):
            ann(t, h, 0, swarm)
        ann(t, first, SIZE, swarm)
    clock.now += 2
    assert t.fetchers(SWARM_A)["nyc"] == ["n1"] and t.fetchers(SWARM_B)["nyc"] == ["n2"]
    n1, n2 = t.wan_share("n1", HOSTS["n1"]), t.wan_share("n2", HOSTS["n2"])
    assert n1.held == {BG: FIX} and not n1.on_wan  # a trickle: it holds back anyway
    assert n2.on_wan and n2.hosts == 1 and n2.fraction == 1.0  # the whole cap for the urgent one


def test_a_host_without_a_cap_asks_what_it_holds_back_without_taking_a_part(both: Tracker) -> None:
    share = both.wan_share("n1", HOSTS["n1"], capped=False)
    assert share.held == {BG: FIX} and share.fraction == 0.0
    assert "nyc" not in both.wan_grants.held or "n1" not in both.wan_grants.held["nyc"]


def test_a_new_fetcher_of_a_higher_swarm_holds_the_others_back_at_once(clock: Clock) -> None:
    t = make(clock)
    t.swarms[SWARM_A].priority, t.swarms[SWARM_B].priority = "background", "urgent"
    for h in ("p1", "p2", "p3"):
        ann(t, h, 0, SWARM_A)
        ann(t, h, 0, SWARM_B)
    ann(t, "n1", SIZE, SWARM_A)
    clock.now += 2
    assert t.wan_share("n1", HOSTS["n1"]).held == {}
    ann(t, "n1", SIZE, SWARM_B)  # the urgent one arrives: n1 asks as soon as it has its peers
    assert t.wan_share("n1", HOSTS["n1"]).held == {BG: FIX}  # not a second later
