from __future__ import annotations

from salt_p2pdist.tracker.fetchers import WanFetchers
from salt_p2pdist.tracker.handout import Peer

STALL = 60.0
STARVE = 15.0


class Site:
    """One site's members as the tracker sees them, announcing to a WanFetchers."""

    def __init__(self, fetchers: WanFetchers, name: str = "paris"):
        self.fetchers = fetchers
        self.name = name
        self.members: dict[str, Peer] = {}

    def announce(self, host_id: str, left: int, now: float) -> list[str]:
        """What Tracker.announce does: record, observe, elect the announcer's site."""
        me = Peer(host_id, "10.20.0.1", 6881, left, now, self.name)
        self.members[host_id] = me
        self.fetchers.observe(me, now)
        return self.fetchers.elect(self.name, self.members, now, announcer=host_id)

    def leave(self, host_id: str) -> None:
        del self.members[host_id]
        self.fetchers.forget(host_id)


def site(per_site: int = 1, name: str = "paris") -> Site:
    return Site(WanFetchers(per_site=per_site, stall_after=STALL, starve_after=STARVE), name)


# -- election -------------------------------------------------------------

def test_first_incomplete_announcer_becomes_the_fetcher():
    s = site()
    assert s.announce("a", 100, 0) == ["a"]
    assert s.announce("b", 100, 1) == ["a"]
    assert s.announce("c", 10, 2) == ["a"]  # more progress elsewhere does not unseat it
    assert s.fetchers.by_site == {"paris": ["a"]}
    assert s.fetchers.all() == frozenset({"a"})


def test_a_complete_announcer_is_not_elected():
    s = site()
    assert s.announce("a", 0, 0) == []
    assert s.announce("b", 100, 1) == ["b"]


def test_two_fetchers_per_site():
    s = site(per_site=2)
    assert s.announce("a", 100, 0) == ["a"]
    assert s.announce("b", 100, 1) == ["a", "b"]
    assert s.announce("c", 100, 2) == ["a", "b"]
    assert s.fetchers.all() == frozenset({"a", "b"})


def test_sites_elect_independently():
    f = WanFetchers(stall_after=STALL)
    paris, nyc = Site(f, "paris"), Site(f, "nyc")
    assert paris.announce("p1", 100, 0) == ["p1"]
    assert nyc.announce("n1", 100, 0) == ["n1"]
    assert paris.announce("p2", 100, 1) == ["p1"]
    assert f.all() == frozenset({"p1", "n1"})
    assert f.by_site == {"paris": ["p1"], "nyc": ["n1"]}


# -- replacement when a fetcher leaves -------------------------------------

def test_a_fetcher_that_leaves_is_replaced_on_the_next_announce_from_its_site():
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 1)
    s.announce("c", 50, 2)
    s.leave("a")
    assert s.fetchers.all() == frozenset()  # nobody until the site announces again
    # the announcer, though c has more: it gets remote peers in this very answer
    assert s.announce("b", 100, 3) == ["b"]
    assert "a" not in s.fetchers.progress


def test_a_fetcher_missing_from_the_members_is_dropped_even_if_not_forgotten():
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 1)
    del s.members["a"]  # e.g. its address moved it to another site
    assert s.announce("b", 100, 2) == ["b"]


def test_replacement_prefers_progress_then_host_id_when_the_announcer_cannot_fetch():
    s = site()
    s.announce("a", 100, 0)
    for h in ("d", "c", "b"):
        s.announce(h, 70, 1)
    s.announce("e", 90, 1)
    s.leave("a")
    assert s.announce("e", 0, 2) == ["b"]  # e is complete: no seat for it


# -- stalls -----------------------------------------------------------------

def test_a_fetcher_making_progress_is_kept():
    s = site()
    for i in range(10):
        assert s.announce("a", 100 - i, i * 30) == ["a"]
        s.announce("b", 100, i * 30)


def test_a_stalled_fetcher_is_replaced_and_benched():
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 0)
    assert s.announce("b", 100, STALL) == ["a"]  # exactly stall_after: not yet
    assert s.announce("b", 100, STALL + 1) == ["b"]
    assert s.fetchers.benched == {"a": STALL + 1 + STALL}


def test_a_new_fetcher_gets_a_full_stall_period_before_it_is_judged():
    """Before its election it had no remote peers, so its lack of progress says nothing."""
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 0)
    s.announce("c", 100, 0)
    assert s.announce("c", 100, 100) == ["c"]  # a stalled; c had nothing since t=0 either
    assert s.announce("b", 100, 101) == ["c"]
    assert s.announce("b", 100, 100 + STALL) == ["c"]
    # now c has had its chance; a, benched until 160, has rested and wins the tie on host id
    assert s.announce("c", 100, 101 + STALL) == ["a"]
    assert s.fetchers.benched == {"a": 100 + STALL, "c": 101 + 2 * STALL}


def test_a_benched_host_is_not_re_elected_while_others_can_fetch():
    s = site()
    s.announce("a", 10, 0)  # a has the most progress: the favourite in any election
    s.announce("b", 100, 0)
    s.announce("c", 100, 0)
    assert s.announce("b", 100, 61) == ["b"]
    assert "a" in s.fetchers.benched
    s.leave("b")
    assert s.announce("c", 100, 62) == ["c"]  # a is still benched
    s.leave("c")
    # never starve: a benched host is taken when it is the only candidate
    assert s.announce("a", 10, 63) == ["a"]


def test_a_benched_host_may_be_elected_again_once_rested():
    s = site()
    s.announce("a", 10, 0)
    s.announce("b", 100, 0)
    assert s.announce("b", 100, 61) == ["b"]
    assert s.fetchers.benched["a"] == 121
    s.announce("d", 100, 62)
    s.leave("b")
    s.announce("c", 0, 121)  # a complete announcer takes no seat
    assert s.fetchers.by_site["paris"] == ["a"]  # rested, and still the most advanced


def test_the_only_host_of_a_site_is_never_starved():
    s = site()
    assert s.announce("a", 100, 0) == ["a"]
    assert s.announce("a", 100, 61) == ["a"]  # stalled, benched, yet re-elected
    assert "a" in s.fetchers.benched
    assert s.announce("a", 100, 62) == ["a"]  # and given a fresh period
    assert s.announce("a", 100, 122) == ["a"]


# -- completion -----------------------------------------------------------

def test_a_complete_fetcher_keeps_its_seat_while_its_site_mates_progress():
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 0)
    s.announce("a", 0, 10)
    for i in range(1, 100):  # b is fed from a over the LAN, slowly but steadily
        assert s.announce("b", 100 - i, 10 + i * (STARVE - 1)) == ["a"]
    assert "a" not in s.fetchers.benched


def test_a_site_mate_starving_beside_a_complete_fetcher_takes_the_seat():
    """a's copy cannot feed b (it rotted and b banned it): b must reach the WAN itself."""
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 0)
    s.announce("a", 0, 10)
    assert s.announce("b", 60, 12) == ["a"]  # progress from a, then nothing more
    assert s.announce("b", 60, 12 + STARVE) == ["a"]  # exactly starve_after: not yet
    assert s.announce("b", 60, 13 + STARVE) == ["b"]
    assert "a" not in s.fetchers.benched  # a did nothing wrong as a fetcher


def test_the_starving_site_mate_gets_the_seat_before_one_with_more_progress():
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 0)
    s.announce("c", 100, 0)
    s.announce("a", 0, 10)
    s.announce("b", 90, 11)  # b then starves
    s.announce("c", 20, 12 + STARVE)  # c is fed and far ahead
    assert s.announce("c", 10, 12 + STARVE) == ["b"]


def test_a_complete_fetcher_that_left_keeps_its_seat_for_the_grace_period_only():
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 100, 0)
    s.announce("a", 0, 10)
    del s.members["a"]  # said goodbye while complete: moving its copy into place
    s.fetchers.hold("a", until=40)
    assert s.announce("b", 90, 20) == ["a"]  # nobody takes the seat in that gap
    assert s.announce("a", 0, 21) == ["a"]  # back as a seed: the seat is its own again
    assert s.fetchers.held == {}
    del s.members["a"]
    s.fetchers.hold("a", until=50)
    assert s.announce("b", 80, 50) == ["b"]  # it did not come back in time


def test_only_a_seated_host_is_held():
    s = site()
    s.announce("a", 100, 0)
    s.announce("b", 0, 0)
    s.fetchers.hold("b", until=40)
    assert s.fetchers.held == {}


def test_a_site_whose_hosts_are_all_complete_needs_no_fetcher():
    s = site(per_site=2)
    for i, h in enumerate("abc"):
        assert s.announce(h, 0, i) == []
    assert s.fetchers.all() == frozenset()
    assert s.announce("d", 5, 10) == ["d"]
