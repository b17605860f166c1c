"""The ban list blocks corrupt peers session-wide for a time that doubles, never the origin."""

import libtorrent as lt

from salt_p2pdist.agent.bans import BLOCKED, FIRST_BLOCK_S, LONGEST_BLOCK_S, BanList, block_time


def _session() -> lt.session:
    return lt.session(lt.session_params({"listen_interfaces": "127.0.0.1:0", "enable_dht": False}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_banned_peer_is_blocked_for_every_torrent() -> None:
    ses = _session()
    bans = BanList(ses)
    assert bans.ban("127.0.0.11", "d1", origin_hosts={"127.0.0.1"})
    assert ses.get_ip_filter().access("127.0.0.11") == BLOCKED
    assert ses.get_ip_filter().access("127.0.0.12") == 0
    assert bans.of("d1") == ["127.0.0.11"] and bans.of("d2") == []


def test_the_origin_is_never_blocked_and_a_second_ban_is_a_no_op() -> None:
    ses = _session()
    bans = BanList(ses)
    assert not bans.ban("127.0.0.1", "d1", origin_hosts={"127.0.0.1"})
    assert ses.get_ip_filter().access("127.0.0.1") == 0
    assert bans.ban("10.0.0.5", "d1", origin_hosts=set())
    assert not bans.ban("10.0.0.5", "d2", origin_hosts=set())
    assert bans.of("d2") == []


def test_a_block_ends_after_its_time_and_each_new_ban_doubles_it() -> None:
    ses, clock = _session(), Clock()
    bans = BanList(ses, clock=clock)
    assert bans.ban("10.0.0.5", "d1", origin_hosts=set())
    assert bans.ban("10.0.0.6", "d1", origin_hosts=set())
    clock.now += FIRST_BLOCK_S - 1
    assert bans.lift_due() == {}
    assert ses.get_ip_filter().access("10.0.0.5") == BLOCKED
    clock.now += 1
    assert bans.lift_due() == {"10.0.0.5": "d1", "10.0.0.6": "d1"}
    assert ses.get_ip_filter().access("10.0.0.5") == 0 and bans.of("d1") == []
    # Banned again (it sent bad data again): blocked twice as long; the other stays free.
    assert bans.ban("10.0.0.5", "d2", origin_hosts=set())
    clock.now += FIRST_BLOCK_S
    assert bans.lift_due() == {} and ses.get_ip_filter().access("10.0.0.5") == BLOCKED
    clock.now += FIRST_BLOCK_S
    assert bans.lift_due() == {"10.0.0.5": "d2"}
    assert ses.get_ip_filter().access("10.0.0.6") == 0
    assert bans.ban("10.0.0.6", "d3", origin_hosts=set())  # its second ban: 2 x the first
    clock.now += 2 * FIRST_BLOCK_S
    assert bans.lift_due() == {"10.0.0.6": "d3"}


def test_the_block_time_grows_to_a_day_and_no_further() -> None:
    assert [block_time(n) for n in range(3)] == [FIRST_BLOCK_S, 2 * FIRST_BLOCK_S, 4 * FIRST_BLOCK_S]
    assert block_time(10) == LONGEST_BLOCK_S == 86_400
    assert block_time(10_000) == LONGEST_BLOCK_S
