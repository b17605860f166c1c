"""The hand-out on a hub WAN and with weak uplinks; unchanged when the WAN is not described."""

from __future__ import annotations

import random

import pytest

from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.core.wanlinks import wan_from_config
from salt_p2pdist.tracker.announce import Announce
from salt_p2pdist.tracker.handout import ORIGIN_SITE, Peer, select_peers
from salt_p2pdist.tracker.routes import RELAY_WAIT, WanRoutes
from salt_p2pdist.tracker.tracker import Tracker

SITES = SiteMap()  # the peers carry their site; nearness needs no ranges
HUB = {"north": {"down": 20, "up": 20}, "south": {"down": 20, "up": 5},
       "hqlan": {"down": 100, "up": 100}}
ASYMMETRIC = {"adsl1": {"down": 16, "up": 1}, "adsl2": {"down": 16, "up": 1},
              "office": {"down": 20, "up": 20}}


def peer(host_id: str, site: str, complete: bool = False) -> Peer:
    return Peer(host_id, "10.0.0.1", 6881, 0 if complete else 100, 0.0, site)


ORIGIN = peer("origin", ORIGIN_SITE, complete=True)


def hub() -> WanRoutes:
    return WanRoutes(wan_from_config(HUB, {"up": 40, "down": 40, "site": "hqlan"}, "hub"))


def asymmetric() -> WanRoutes:
    return WanRoutes(wan_from_config(ASYMMETRIC, {"up": 20, "down": 20}, "mesh"))


def handed(me: Peer, swarm: list[Peer], fetchers: set[str], routes: WanRoutes | None,
           seed: int = 0, hungry: bool = False) -> list[str]:
    got = select_peers(me, [*swarm, ORIGIN], fetchers=frozenset(fetchers), nearness=SITES.nearness,
                       want=50, rng=random.Random(seed), routes=routes, hungry=hungry)
    return [p.host_id for p in got]


# -- hub: a branch trades across the WAN with HQ only ----------------------

def test_hub_branch_fetcher_gets_only_the_origin_and_hq_hosts_as_remote_peers():
    swarm = [peer("n1", "north"), peer("n2", "north"), peer("s1", "south"),
             peer("s2", "south", complete=True), peer("h1", "hqlan", complete=True)]
    got = handed(swarm[0], swarm, {"n1", "s1"}, hub())
    assert set(got) == {"n2", "origin", "h1"}  # its site-mate, HQ; never south's fetcher or seed


def test_hub_branch_seed_serves_no_other_branch():
    swarm = [peer("n1", "north", complete=True), peer("n2", "north"), peer("s1", "south")]
    assert handed(swarm[0], swarm, {"n1", "s1"}, hub()) == ["n2"]


def test_hub_hq_site_still_serves_the_branches():
    swarm = [peer("h1", "hqlan", complete=True), peer("n1", "north"), peer("s1", "south")]
    assert set(handed(swarm[0], swarm, {"n1", "s1"}, hub())) == {"n1", "s1"}


def test_hub_through_the_tracker_keeps_branch_fetchers_apart():
    wan = wan_from_config({"north": {"networks": ["10.1.0.0/16"]}, "south": {"networks": ["10.2.0.0/16"]}},
                          {"up": 40}, "hub")
    sites = SiteMap.from_config({"north": {"networks": ["10.1.0.0/16"]},
                                 "south": {"networks": ["10.2.0.0/16"]}})
    t = Tracker(sites=sites, wan=wan, rng=random.Random(1), clock=lambda: 0.0)
    t.register(b"h" * 20, frozenset({"n1", "s1"}), 7000)
    for host, ip in (("n1", "10.1.0.5"), ("s1", "10.2.0.5")):
        got = t.announce(Announce(b"h" * 20, host, ip, 6881, 100, "", 50, ""), "10.0.0.1")
        assert [p.host_id for p in got] == ["origin"]


# -- weak uplinks: take, but do not serve other sites ----------------------

def test_weak_uplink_site_is_not_a_remote_source():
    routes = asymmetric()
    assert routes.weak("adsl1") and not routes.weak("office")
    swarm = [peer("a1", "adsl1"), peer("b1", "adsl2"), peer("o1", "office"),
             peer("b2", "adsl2", complete=True)]
    for seed in range(10):
        assert set(handed(swarm[0], swarm, {"a1", "b1", "o1"}, routes, seed)) == {"o1"}
        # the office fetcher is not handed the ADSL sites either (it would pull across 1 Mbit/s)
        assert set(handed(swarm[2], swarm, {"a1", "b1", "o1"}, routes, seed)) == {"origin"}


def test_weak_site_gets_the_origin_once_no_good_site_relays_or_when_hungry():
    routes = asymmetric()
    fetching = [peer("a1", "adsl1"), peer("o1", "office"), peer("o2", "office", complete=True)]
    assert set(handed(fetching[0], fetching, {"a1", "o1"}, routes)) == {"o1", "o2"}
    assert set(handed(fetching[0], fetching, {"a1", "o1"}, routes, hungry=True)) == {"o1", "o2", "origin"}
    done = [peer("a1", "adsl1"), peer("o1", "office", complete=True)]
    assert set(handed(done[0], done, {"a1", "o1"}, routes)) == {"o1", "origin"}
    alone = [peer("a1", "adsl1"), peer("b1", "adsl2")]  # no good-uplink site among the targets
    assert set(handed(alone[0], alone, {"a1", "b1"}, routes)) == {"origin"}


def test_good_uplink_sources_come_first():
    routes = WanRoutes(wan_from_config({**ASYMMETRIC, "mid": {"down": 10, "up": 5}}, {"up": 20}, "mesh"))
    assert not routes.weak("mid")  # 5 of 10: not far below
    swarm = [peer("a1", "adsl1"), peer("m1", "mid"), peer("o1", "office")]
    for seed in range(10):
        got = select_peers(swarm[0], [*swarm, ORIGIN], fetchers=frozenset({"a1", "m1", "o1"}),
                           nearness=SITES.nearness, want=2, rng=random.Random(seed), routes=routes,
                           hungry=True)
        assert {p.host_id for p in got} == {"o1", "origin"}  # 20 Mbit/s up each; mid's 5 comes after


def test_weak_uplink_seed_serves_no_other_site_but_good_seeds_serve_it():
    routes = asymmetric()
    swarm = [peer("a1", "adsl1", complete=True), peer("a2", "adsl1"), peer("b1", "adsl2"),
             peer("o1", "office", complete=True)]
    assert handed(swarm[0], swarm, {"a1", "b1"}, routes) == ["a2"]
    assert "b1" in handed(swarm[3], swarm, {"a1", "b1"}, routes)


def test_weak_uplink_sources_are_handed_out_when_no_one_else_has_a_copy():
    routes = asymmetric()
    swarm = [peer("o1", "office"), peer("a1", "adsl1", complete=True)]
    got = select_peers(swarm[0], swarm, fetchers=frozenset({"o1"}), nearness=SITES.nearness,
                       want=50, rng=random.Random(0), routes=routes)  # no origin: it stopped seeding
    assert [p.host_id for p in got] == ["a1"]


# -- no WAN described: exactly as before -----------------------------------

@pytest.mark.parametrize("routes", [None, WanRoutes(), WanRoutes(wan_from_config(
    {"adsl1": {"networks": []}}, None, None))])
def test_without_rates_the_hand_out_is_unchanged(routes):
    swarm = [peer("a1", "adsl1"), peer("b1", "adsl2"), peer("o1", "office"),
             peer("b2", "adsl2", complete=True), peer("a2", "adsl1", complete=True)]
    for me in swarm:
        for seed in range(10):
            assert handed(me, swarm, {"a1", "b1", "o1"}, routes, seed) == \
                handed(me, swarm, {"a1", "b1", "o1"}, None, seed)
    assert handed(swarm[0], swarm, {"a1", "b1", "o1"}, routes) and \
        {"b1", "o1", "b2", "origin"} <= set(handed(swarm[0], swarm, {"a1", "b1", "o1"}, routes))


def _asymmetric_tracker(now: list[float]) -> Tracker:
    config = {site: {**rates, "networks": [net]} for (site, rates), net in
              zip(ASYMMETRIC.items(), ("10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"), strict=True)}
    return Tracker(sites=SiteMap.from_config(config), wan=wan_from_config(config, {"up": 20}, "mesh"),
                   rng=random.Random(1), clock=lambda: now[0])


def _announce(t: Tracker, host: str, ip: str, left: int = 100) -> set[str]:
    return {p.host_id for p in t.announce(Announce(b"a" * 20, host, ip, 6881, left, "", 50, ""), "10.0.0.1")}


def test_a_weak_site_that_announces_first_waits_for_the_relay_the_master_placed():
    now = [0.0]
    t = _asymmetric_tracker(now)
    t.register(b"a" * 20, frozenset({"a1", "o1"}), 7000, relays={"o1": "office"})
    assert _announce(t, "a1", "10.1.0.5") == set()  # not the origin: the office is on its way
    assert _announce(t, "o1", "10.3.0.5") == {"origin"}
    assert _announce(t, "a1", "10.1.0.5") == {"o1"}  # fed by the relay, as once it had announced
    _announce(t, "o1", "10.3.0.5", left=0)
    assert _announce(t, "a1", "10.1.0.5") == {"o1", "origin"}  # the relay is done: HQ is free


def test_a_relay_that_never_announces_holds_a_weak_site_back_at_most_relay_wait():
    now = [0.0]
    t = _asymmetric_tracker(now)
    t.register(b"a" * 20, frozenset({"a1", "o1"}), 7000, relays={"o1": "office"})
    assert _announce(t, "a1", "10.1.0.5") == set()
    now[0] = RELAY_WAIT + 0.1
    assert _announce(t, "a1", "10.1.0.5") == {"origin"}


def test_without_relays_a_weak_site_announcing_first_gets_the_origin():
    t = _asymmetric_tracker([0.0])
    t.register(b"a" * 20, frozenset({"a1", "o1"}), 7000)
    assert _announce(t, "a1", "10.1.0.5") == {"origin"}
