"""The ban list blocks corrupt peers session-wide, never the origin."""

import libtorrent as lt

from salt_p2pdist.agent.bans import BLOCKED, BanList


def _session() -> lt.session:
    return lt.session(lt.session_params({"listen_interfaces": "127.0.0.1:0", "enable_dht": False}))


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
