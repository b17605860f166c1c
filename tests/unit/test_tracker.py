from __future__ import annotations

import itertools
import random
import socket
from urllib.parse import quote_from_bytes

import libtorrent as lt
import pytest

from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.tracker.announce import TrackerError, compact, parse_announce
from salt_p2pdist.tracker.tracker import ORIGIN_ID, Tracker

# Bytes that break naive query handling: '&', '=', '+', '%', space, NUL, high bytes.
INFO_HASH = b"\x00&=+% \xff\x80abcXYZ~.-\x01\x7f\xfe"
OTHER_HASH = bytes(range(20))
ORIGIN_IP = "192.0.2.1"
ORIGIN_PORT = 7000


def query(minion: str, *, port: int = 6881, left: int = 100, event: str = "", numwant: int = 50,
          info_hash: bytes = INFO_HASH, peer_id: str = "-LT2110-abcdefghijkl") -> str:
    q = (f"info_hash={quote_from_bytes(info_hash)}&peer_id={peer_id}&port={port}"
         f"&uploaded=0&downloaded=0&left={left}&corrupt=0&numwant={numwant}&compact=1&no_peer_id=1"
         f"&minion={minion}")
    return q + (f"&event={event}" if event else "")


def peers_of(response: bytes) -> set[tuple[str, int]]:
    """Decode a tracker answer's compact peer list (fails on a failure reason)."""
    d = lt.bdecode(response)
    assert b"failure reason" not in d, d
    raw = d[b"peers"]
    assert len(raw) % 6 == 0
    return {(socket.inet_ntoa(raw[i:i + 4]), int.from_bytes(raw[i + 4:i + 6], "big"))
            for i in range(0, len(raw), 6)}


def failure(response: bytes) -> str:
    return lt.bdecode(response)[b"failure reason"].decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(clock) -> Tracker:
    t = Tracker(interval=30, peer_ttl=150, clock=clock, rng=random.Random(1))
    t.register(INFO_HASH, frozenset({"m1", "m2", "m3"}), ORIGIN_PORT)
    return t


def announce(tracker: Tracker, minion: str, ip: str, **kw) -> bytes:
    return tracker.respond(query(minion, **kw), ip, ORIGIN_IP)


ORIGIN = (ORIGIN_IP, ORIGIN_PORT)


# -- parsing ------------------------------------------------------------

def test_parse_announce_decodes_a_percent_encoded_binary_info_hash():
    a = parse_announce(query("m1", port=51413, left=7, event="started", numwant=12), "10.0.0.5")
    assert a.info_hash20 == INFO_HASH
    assert (a.host_id, a.ip, a.port, a.left, a.event, a.numwant) == (
        "m1", "10.0.0.5", 51413, 7, "started", 12)


def test_parse_announce_defaults_and_clamps_numwant():
    q = f"info_hash={quote_from_bytes(OTHER_HASH)}&port=1&minion=m"
    a = parse_announce(q, "10.0.0.1")
    assert (a.left, a.event, a.numwant) == (0, "", 50)
    assert parse_announce(q + "&numwant=100000", "x").numwant == 200
    assert parse_announce(q + "&numwant=-5", "x").numwant == 0


H = f"info_hash={quote_from_bytes(OTHER_HASH)}"


@pytest.mark.parametrize(("q", "message"), [
    pytest.param("port=1&minion=m", "missing info_hash", id="no-info-hash"),
    pytest.param(f"info_hash={quote_from_bytes(OTHER_HASH[:19])}&port=1&minion=m", "bad info_hash",
                 id="short-hash"),
    pytest.param(f"info_hash={quote_from_bytes(OTHER_HASH + b'x')}&port=1&minion=m", "bad info_hash",
                 id="long-hash"),
    pytest.param(f"{H}&port=1", "missing minion", id="no-minion"),
    pytest.param(f"{H}&minion=m", "missing port", id="no-port"),
    pytest.param(f"{H}&port=http&minion=m", "bad announce", id="port-nan"),
    pytest.param(f"{H}&port=1&left=x&minion=m", "bad announce", id="left-nan"),
    pytest.param(f"{H}&port=70000&minion=m", "out of range", id="port-too-big"),
    pytest.param(f"{H}&port=0&minion=m", "out of range", id="port-zero"),
])
def test_parse_announce_refusals(q, message):
    with pytest.raises(TrackerError, match=message):
        parse_announce(q, "10.0.0.1")


def test_compact():
    from salt_p2pdist.tracker.handout import Peer
    assert compact([Peer("a", "10.1.2.3", 6881, 5, 0), Peer("b", "1.2.3.4", 1, 0, 0)]) == (
        bytes([10, 1, 2, 3]) + (6881).to_bytes(2, "big") + bytes([1, 2, 3, 4, 0, 1]))
    assert compact([]) == b""


# -- refusals -----------------------------------------------------------

def test_unknown_info_hash_gets_a_failure_reason(tracker):
    resp = announce(tracker, "m1", "10.0.0.1", info_hash=OTHER_HASH)
    assert "unknown torrent" in failure(resp)
    assert b"peers" not in lt.bdecode(resp)


def test_non_target_minion_gets_a_failure_reason_and_is_not_recorded(tracker):
    resp = announce(tracker, "intruder", "10.0.0.9")
    assert "intruder is not a target" in failure(resp)
    assert "intruder" not in tracker.swarms[INFO_HASH].peers
    # and is never handed out to the others
    assert peers_of(announce(tracker, "m1", "10.0.0.1")) == {ORIGIN}


def test_malformed_announce_gets_a_failure_reason(tracker):
    assert failure(tracker.respond("info_hash=short&port=1&minion=m1", "10.0.0.1", ORIGIN_IP))
    # a bad port would break compact() for everybody else: it is refused up front
    assert "out of range" in failure(announce(tracker, "m1", "10.0.0.1", port=70000))
    assert peers_of(announce(tracker, "m2", "10.0.0.2")) == {ORIGIN}


def test_unregister_forgets_the_swarm(tracker):
    peers_of(announce(tracker, "m1", "10.0.0.1"))
    tracker.unregister(INFO_HASH)
    tracker.unregister(INFO_HASH)  # idempotent
    assert "unknown torrent" in failure(announce(tracker, "m1", "10.0.0.1"))


# -- hand-out -----------------------------------------------------------

def test_first_host_gets_the_origin_at_origin_ip(tracker):
    resp = announce(tracker, "m1", "10.0.0.1", port=6001)
    d = lt.bdecode(resp)
    assert peers_of(resp) == {ORIGIN}
    assert d[b"interval"] == 3  # it downloads: back soon (intervals.py)
    assert d[b"min interval"] == 1


def test_a_seed_announces_at_the_configured_interval(tracker):
    d = lt.bdecode(announce(tracker, "m1", "10.0.0.1", left=0))
    assert d[b"interval"] == 30
    assert d[b"min interval"] == 10


def test_other_peers_are_handed_out_in_compact_form(tracker):
    announce(tracker, "m1", "10.0.0.1", port=6001)
    announce(tracker, "m2", "10.0.0.2", port=6002)
    assert peers_of(announce(tracker, "m3", "10.0.0.3", port=6003)) == {
        ORIGIN, ("10.0.0.1", 6001), ("10.0.0.2", 6002)}
    # the requester never gets itself
    assert peers_of(announce(tracker, "m1", "10.0.0.1", port=6001)) == {
        ORIGIN, ("10.0.0.2", 6002), ("10.0.0.3", 6003)}


def test_origin_address_is_the_one_the_client_reached(tracker):
    resp = tracker.respond(query("m1"), "10.0.0.1", "172.16.0.1")
    assert peers_of(resp) == {("172.16.0.1", ORIGIN_PORT)}


def test_seed_gets_no_seeds_not_even_the_origin(tracker):
    announce(tracker, "m1", "10.0.0.1", port=6001, left=0)  # a seed
    announce(tracker, "m2", "10.0.0.2", port=6002, left=5)  # a leecher
    assert peers_of(announce(tracker, "m3", "10.0.0.3", port=6003, left=0)) == {("10.0.0.2", 6002)}
    # a leecher gets the seeds
    assert peers_of(announce(tracker, "m2", "10.0.0.2", port=6002, left=5)) == {
        ORIGIN, ("10.0.0.1", 6001), ("10.0.0.3", 6003)}


def test_numwant_limits_the_hand_out(tracker):
    announce(tracker, "m1", "10.0.0.1", port=6001)
    announce(tracker, "m2", "10.0.0.2", port=6002)
    got = peers_of(announce(tracker, "m3", "10.0.0.3", numwant=1))
    assert len(got) == 1
    assert got <= {ORIGIN, ("10.0.0.1", 6001), ("10.0.0.2", 6002)}
    assert peers_of(announce(tracker, "m3", "10.0.0.3", numwant=0)) == set()


def test_origin_not_handed_out_once_it_stops_seeding(tracker):
    tracker.register(INFO_HASH, frozenset({"m1", "m2", "m3"}), 0)
    assert peers_of(announce(tracker, "m1", "10.0.0.1")) == set()
    announce(tracker, "m2", "10.0.0.2", port=6002)
    assert peers_of(announce(tracker, "m1", "10.0.0.1")) == {("10.0.0.2", 6002)}


def test_reregister_keeps_peers_and_updates_targets(tracker):
    announce(tracker, "m1", "10.0.0.1", port=6001)
    tracker.register(INFO_HASH, frozenset({"m1", "m2", "m3", "m4"}), ORIGIN_PORT)
    assert peers_of(announce(tracker, "m4", "10.0.0.4")) == {ORIGIN, ("10.0.0.1", 6001)}
    tracker.register(INFO_HASH, frozenset({"m1"}), ORIGIN_PORT)
    assert "m4 is not a target" in failure(announce(tracker, "m4", "10.0.0.4"))


def test_ipv6_peers_are_left_out_of_the_compact_list(tracker):
    announce(tracker, "m1", "2001:db8::1", port=6001)
    assert peers_of(announce(tracker, "m2", "10.0.0.2")) == {ORIGIN}


def test_reannounce_updates_address_instead_of_duplicating(tracker):
    announce(tracker, "m1", "10.0.0.1", port=6001)
    announce(tracker, "m1", "10.0.0.11", port=6011)
    assert peers_of(announce(tracker, "m2", "10.0.0.2")) == {ORIGIN, ("10.0.0.11", 6011)}


# -- leaving ------------------------------------------------------------

def test_stopped_removes_the_peer(tracker):
    announce(tracker, "m1", "10.0.0.1", port=6001)
    resp = announce(tracker, "m1", "10.0.0.1", port=6001, event="stopped")
    assert peers_of(resp) == set()
    assert "m1" not in tracker.swarms[INFO_HASH].peers
    assert peers_of(announce(tracker, "m2", "10.0.0.2")) == {ORIGIN}


def test_peers_expire_after_peer_ttl(tracker, clock):
    announce(tracker, "m1", "10.0.0.1", port=6001)
    clock.now += 149
    assert ("10.0.0.1", 6001) in peers_of(announce(tracker, "m2", "10.0.0.2", port=6002))
    clock.now += 2  # m1 silent for 151 s, m2 for 2 s
    assert peers_of(announce(tracker, "m3", "10.0.0.3")) == {ORIGIN, ("10.0.0.2", 6002)}
    assert set(tracker.swarms[INFO_HASH].peers) == {"m2", "m3"}


def test_reannounce_keeps_a_peer_alive(tracker, clock):
    for _ in range(5):
        announce(tracker, "m1", "10.0.0.1", port=6001)
        clock.now += 100
    assert ("10.0.0.1", 6001) in peers_of(announce(tracker, "m2", "10.0.0.2"))


def test_origin_id_is_not_a_minion_id(tracker):
    # a minion named like the origin must not displace it (it is simply not a target here)
    assert ORIGIN_ID not in tracker.swarms[INFO_HASH].allowed
    assert "not a target" in failure(announce(tracker, ORIGIN_ID, "10.0.0.66"))


def test_parse_announce_round_trips_every_byte_value():
    for byte in range(256):
        info_hash = bytes([byte]) * 10 + bytes([255 - byte]) * 10
        assert parse_announce(query("m1", info_hash=info_hash), "10.0.0.1").info_hash20 == info_hash


def test_without_a_site_map_every_host_is_its_own_sites_fetcher(tracker):
    for i in (1, 2, 3):
        announce(tracker, f"m{i}", f"10.0.0.{i}", port=6000 + i)
    assert tracker.fetchers(INFO_HASH) == {"host:m1": ["m1"], "host:m2": ["m2"], "host:m3": ["m3"]}
    assert tracker.fetchers(OTHER_HASH) == {}


def test_a_host_that_arrives_complete_is_still_handed_out_without_a_site_map(tracker):
    """No site map: a host announcing complete (e.g. after its agent restarted) is not
    elected, yet leechers get it, and it gets them, once the origin stops seeding too."""
    tracker.register(INFO_HASH, frozenset({"m1", "m2", "m3"}), 0)
    announce(tracker, "m1", "10.0.0.1", port=6001, left=0)
    assert peers_of(announce(tracker, "m2", "10.0.0.2", port=6002)) == {("10.0.0.1", 6001)}
    assert peers_of(announce(tracker, "m1", "10.0.0.1", port=6001, left=0)) == {("10.0.0.2", 6002)}


# -- sites and WAN fetchers ----------------------------------------------

SITES = {"paris": {"networks": ["10.20.0.0/16"], "parent": "emea"},
         "nyc": {"networks": ["10.30.0.0/16"], "parent": "amer"}}
HOSTS = {f"{s[0]}{i}": (f"10.{n}.0.{i}", 6000 + n * 10 + i)
         for s, n in (("paris", 20), ("nyc", 30)) for i in (1, 2, 3)}
SITE_IPS = {"paris": {ip for h, (ip, _) in HOSTS.items() if h[0] == "p"},
            "nyc": {ip for h, (ip, _) in HOSTS.items() if h[0] == "n"}}


def site_of(host: str) -> str:
    return "paris" if host[0] == "p" else "nyc"


@pytest.fixture
def wan(clock) -> Tracker:
    """Two sites of three hosts each (p1-p3 in Paris, n1-n3 in NYC), plus the origin."""
    t = Tracker(interval=30, peer_ttl=150, clock=clock, rng=random.Random(3),
                sites=SiteMap.from_config(SITES), stall_after=60)
    t.register(INFO_HASH, frozenset(HOSTS), ORIGIN_PORT)
    return t


def wan_announce(t: Tracker, host: str, **kw) -> set[tuple[str, int]]:
    ip, port = HOSTS[host]
    return peers_of(announce(t, host, ip, port=port, **kw))


def only_fetcher(t: Tracker, site: str) -> str:
    (fetcher,) = t.fetchers(INFO_HASH)[site]
    return fetcher


@pytest.mark.parametrize("seed", range(5))
def test_one_host_per_site_gets_remote_peers_and_the_rest_only_their_site(wan, clock, seed):
    order = sorted(HOSTS)
    random.Random(seed).shuffle(order)
    for rnd in range(2):
        answers = {}
        for host in order:  # each within the interval it was given
            answers[host] = wan_announce(wan, host)
            clock.now += 0.5
        fetchers = {site: only_fetcher(wan, site) for site in SITE_IPS}
        assert set(wan.fetchers(INFO_HASH)) == set(SITE_IPS)
        with_remote = {h for h, got in answers.items() if {ip for ip, _ in got} - SITE_IPS[site_of(h)]}
        if rnd == 0:  # an early fetcher may have announced before the other site had one
            assert with_remote <= set(fetchers.values())
            assert min(order.index(f) for f in fetchers.values()) == 0  # the very first announcer
        else:
            assert with_remote == set(fetchers.values())
        for host, got in answers.items():
            mates = {HOSTS[h] for h in HOSTS if site_of(h) == site_of(host)} - {HOSTS[host]}
            if host in fetchers.values():
                other = HOSTS[fetchers["nyc" if site_of(host) == "paris" else "paris"]]
                assert ORIGIN in got
                assert got <= mates | {ORIGIN, other}
                if rnd == 1:
                    assert got == mates | {ORIGIN, other}
            else:  # non-fetchers: same-site addresses only
                assert {ip for ip, _ in got} <= SITE_IPS[site_of(host)]
                assert got <= mates
                if rnd == 1:
                    assert got == mates


def test_first_incomplete_host_of_each_site_fetches(wan):
    assert wan_announce(wan, "p2") == {ORIGIN}
    assert wan_announce(wan, "p1") == {HOSTS["p2"]}
    assert wan_announce(wan, "n3") == {ORIGIN, HOSTS["p2"]}
    assert wan.fetchers(INFO_HASH) == {"paris": ["p2"], "nyc": ["n3"]}


def test_a_stopped_fetcher_is_replaced_and_the_new_one_gets_the_origin(wan, clock):
    for host in ("p1", "p2", "p3", "n1", "n2", "n3"):
        wan_announce(wan, host)
    assert only_fetcher(wan, "paris") == "p1"
    assert ORIGIN not in wan_announce(wan, "p2")
    clock.now += 5
    assert wan_announce(wan, "p1", event="stopped") == set()
    assert "p1" not in wan.fetchers(INFO_HASH).get("paris", [])
    got = wan_announce(wan, "p2")
    assert only_fetcher(wan, "paris") == "p2"
    assert got == {ORIGIN, HOSTS["p3"], HOSTS["n1"]}
    assert ORIGIN not in wan_announce(wan, "p3")
    assert wan_announce(wan, "n1") == {ORIGIN, HOSTS["n2"], HOSTS["n3"], HOSTS["p2"]}


def test_a_fetcher_silent_past_the_ttl_is_replaced(wan, clock):
    for host in ("p1", "p2", "p3"):
        wan_announce(wan, host)
    clock.now += 100
    wan_announce(wan, "p3")
    clock.now += 60  # p1 and p2 silent for 160 s, p3 for 60 s
    assert wan_announce(wan, "p3") == {ORIGIN}
    assert wan.fetchers(INFO_HASH) == {"paris": ["p3"]}


def test_a_stalled_fetcher_is_replaced_and_loses_its_remote_peers(wan, clock):
    for host in ("p1", "p2", "p3"):
        wan_announce(wan, host, left=100)
    for step in range(1, 22):  # p1 makes no progress for 63 s; p2 and p3 do, from the LAN
        clock.now += 3
        wan_announce(wan, "p1", left=100)
        wan_announce(wan, "p2", left=100 - step)
        wan_announce(wan, "p3", left=100 - 2 * step)
    assert only_fetcher(wan, "paris") == "p3"  # the most advanced took over
    assert ORIGIN not in wan_announce(wan, "p1", left=100)
    assert ORIGIN in wan_announce(wan, "p3", left=90)
    for _ in range(4):  # no progress, but well within the new fetcher's own stall period
        clock.now += 3
        wan_announce(wan, "p3", left=90)
        wan_announce(wan, "p2", left=90)
    assert only_fetcher(wan, "paris") == "p3"


def test_grain_override_moves_a_host_to_another_site(clock):
    t = Tracker(clock=clock, rng=random.Random(0),
                sites=SiteMap.from_config(SITES, {"p3": "nyc"}))
    t.register(INFO_HASH, frozenset(HOSTS), ORIGIN_PORT)
    wan_announce(t, "p1")
    wan_announce(t, "n1")
    assert wan_announce(t, "p3") == {HOSTS["n1"]}  # its nyc site-mate, not paris's
    assert wan_announce(t, "p2") == {HOSTS["p1"]}


def test_complete_hosts_of_a_site_elect_no_fetcher(wan):
    for host in ("p1", "p2", "p3"):
        wan_announce(wan, host, left=0)
    assert wan.fetchers(INFO_HASH) == {}
    assert wan_announce(wan, "n1") == {ORIGIN, *(HOSTS[h] for h in ("p1", "p2", "p3"))}


def test_a_site_with_no_progress_changes_fetcher_at_most_once_per_stall_period(wan, clock):
    """Hosts waiting on a stalled fetcher make no progress either; each new fetcher
    must get its own stall period, not be judged on the time it spent waiting."""
    for host in ("p1", "p2", "p3"):
        wan_announce(wan, host)
    seen = []
    for _ in range(120):  # 4 minutes, one announce every 2 s, nobody progresses
        clock.now += 2
        wan_announce(wan, ("p1", "p2", "p3")[len(seen) % 3])
        seen.append(only_fetcher(wan, "paris"))
    changes = sum(a != b for a, b in itertools.pairwise(seen))
    assert 2 <= changes <= 4
    assert "p2" in seen  # the stalled fetcher did make way


# -- a fetcher that completes ------------------------------------------------

def test_a_finishing_fetcher_keeps_its_seat_while_it_comes_back_as_a_seed(wan, clock):
    """The agent removes a finished download ("stopped") and adds it again as a seed."""
    wan_announce(wan, "p1", peer_id="-PD0100-handle1aaaaa")
    wan_announce(wan, "p2")
    clock.now += 20
    wan_announce(wan, "p1", left=0, event="completed", peer_id="-PD0100-handle1aaaaa")
    assert wan_announce(wan, "p1", left=0, event="stopped", peer_id="-PD0100-handle1aaaaa") == set()
    clock.now += 2
    assert ORIGIN not in wan_announce(wan, "p2")  # no second fetcher in the gap
    assert wan.fetchers(INFO_HASH) == {"paris": ["p1"]}
    wan_announce(wan, "p1", left=0, event="started", peer_id="-PD0100-handle2bbbbb")
    assert wan_announce(wan, "p2", left=50) == {HOSTS["p1"]}  # fed by the seed on its LAN
    assert wan.fetchers(INFO_HASH) == {"paris": ["p1"]}


def test_a_complete_fetcher_that_does_not_come_back_hands_its_seat_on_after_the_grace(wan, clock):
    wan_announce(wan, "p1")
    wan_announce(wan, "p2")
    wan_announce(wan, "p1", left=0, event="stopped")
    clock.now += 29
    assert ORIGIN not in wan_announce(wan, "p2")
    clock.now += 2
    assert ORIGIN in wan_announce(wan, "p2")
    assert wan.fetchers(INFO_HASH) == {"paris": ["p2"]}


def test_a_late_stopped_from_a_replaced_handle_is_ignored(wan, clock):
    """The re-added seed announced before the old handle's goodbye reached the tracker."""
    wan_announce(wan, "p1", peer_id="-PD0100-handle1aaaaa")
    wan_announce(wan, "p2")
    wan_announce(wan, "p1", left=0, event="started", peer_id="-PD0100-handle2bbbbb")
    wan_announce(wan, "p1", left=0, event="stopped", peer_id="-PD0100-handle1aaaaa")
    clock.now += 40  # past the grace a goodbye would have given, within the seed's interval
    assert wan_announce(wan, "p2", left=50) == {HOSTS["p1"]}
    assert wan.fetchers(INFO_HASH) == {"paris": ["p1"]}


def test_a_stopped_from_the_current_handle_removes_the_host(wan, clock):
    wan_announce(wan, "p1", left=0, peer_id="-PD0100-handle1aaaaa")
    wan_announce(wan, "p1", left=0, event="stopped", peer_id="-PD0100-handle1aaaaa")
    assert wan_announce(wan, "p2") == {ORIGIN}


def test_a_site_mate_the_complete_fetcher_cannot_feed_gets_the_origin(wan, clock):
    """A rotten copy on the site's complete fetcher must not stall its site-mates."""
    wan_announce(wan, "p1")
    clock.now += 20
    wan_announce(wan, "p1", left=0)  # the site's copy; later it rots on disk
    assert wan_announce(wan, "p2", left=100) == {HOSTS["p1"]}
    clock.now += 5
    assert wan_announce(wan, "p2", left=80) == {HOSTS["p1"]}  # some pieces were good
    for _ in range(4):  # the rest fail their hash: p2 bans p1 and has no source left
        clock.now += 3
        assert ORIGIN not in wan_announce(wan, "p2", left=80)
    clock.now += 3  # 15 s without progress, five of its 3 s intervals: past starve_after (12 s)
    assert ORIGIN in wan_announce(wan, "p2", left=80)
    assert wan.fetchers(INFO_HASH) == {"paris": ["p2"]}


def test_a_refusal_says_when_to_ask_again(tracker):
    """Without an interval libtorrent waits 1800 s after a failure; a host admitted a moment
    later (a re-push adding it) would sit out half an hour."""
    d = lt.bdecode(announce(tracker, "intruder", "10.0.0.9"))
    assert b"failure reason" in d
    assert d[b"interval"] == tracker.interval and 1 <= d[b"min interval"] <= tracker.interval
