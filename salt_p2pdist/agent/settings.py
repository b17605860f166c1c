"""libtorrent session settings for p2pdist (pure: returns a dict).

Why each group:
- No tit-for-tat: every interested peer is unchoked (fixed slots, unlimited).
- uTP off: it caps LAN transfers at ~10-15 MiB/s; TCP reaches disk speed.
- Private swarms only: no DHT, LSD, UPnP or NAT-PMP; peers come from the
  master's tracker.
- Several hosts may share an address (NAT, the loopback demo).
"""

from __future__ import annotations

from typing import Any

from salt_p2pdist.tracker.intervals import FLOOR_S


def session_settings(*, listen: str, outgoing: str, alert_mask: int, base: dict[str, Any]) -> dict[str, Any]:
    import libtorrent as lt

    s = dict(base)
    s.update({
        "listen_interfaces": listen,
        "outgoing_interfaces": outgoing,
        "alert_mask": alert_mask,
        "choking_algorithm": int(lt.choking_algorithm_t.fixed_slots_choker),
        "seed_choking_algorithm": int(lt.seed_choking_algorithm_t.round_robin),
        "unchoke_slots_limit": -1,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "mixed_mode_algorithm": int(lt.bandwidth_mixed_algo_t.prefer_tcp),
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        # The tracker asks downloading hosts back after FLOOR_S seconds (a dead
        # WAN fetcher must be noticed within seconds); libtorrent's floor must allow it.
        "min_announce_interval": FLOOR_S,
        "connections_limit": 500,
        "send_buffer_watermark": 4 << 20,
        "send_buffer_low_watermark": 1 << 20,
        # Seconds of a peer's rate kept requested ahead (libtorrent's default: 3). At the end
        # of a download libtorrent asks other peers for the blocks still outstanding, and
        # what two peers send counts twice on the site's WAN link: a WAN fetcher fed by the
        # origin and three sites received 1.3-2.3 % of the content twice with 3 s, 0.2-1.5 %
        # with 1 s (docs/benchmark.md). 1 s is still many round trips of a WAN link.
        "request_queue_time": 1,
        "max_out_request_queue": 1500,
        # Rate limits (a background download's, a held one's) hand out quota once a tick:
        # at the default 500 ms a limited peer's socket is read in half-second gulps, its
        # sender answers each with a burst at the sender's line rate that overflows a thin
        # link's router queue. 100 ms gulps are five times smaller (documented for this).
        "tick_interval": 100,
        # high_performance_seed shortens these to 20/20/10 s, which drops
        # peers on a congested WAN link; keep libtorrent's defaults.
        "peer_timeout": 120,
        "inactivity_timeout": 600,
        "request_timeout": 60,
        "stop_tracker_timeout": 1,
        # After a disconnect libtorrent waits min_reconnect_time x (failures
        # + 1) before it tries that peer again, even when the tracker hands it
        # out again: 60 s by default, and a fetcher that finishes drops its
        # site-mates (it re-adds its download as a seed). 2 s, and up to 3
        # failures in a row (high_performance_seed allows 1) before a peer
        # waits for the tracker to hand it out again: bounded retries.
        "min_reconnect_time": 2,
        "max_failcount": 3,
        "user_agent": "p2pdist",
        "peer_fingerprint": "-PD0100-",
    })
    return s


def make_session(listen: str, outgoing: str) -> Any:
    import libtorrent

    # The wheel's stubs do not know session_params(dict) or settings_pack as a dict.
    lt: Any = libtorrent

    # peer: for peer_ban_alert (see bans.py); the other peer alerts are dropped.
    mask = (lt.alert_category.error | lt.alert_category.status | lt.alert_category.storage
            | lt.alert_category.tracker | lt.alert_category.peer)
    base = lt.high_performance_seed()
    params = lt.session_params(session_settings(
        listen=listen, outgoing=outgoing, alert_mask=int(mask), base=base))
    # The default pread back end holds written blocks in memory (megabytes),
    # so a crash loses verified pieces and a restart fetches them again over
    # the WAN. posix I/O writes through: measured ~190 MiB/s, far above any
    # WAN link, and less memory.
    params.disk_io_constructor = "posix_disk_io_constructor"
    return lt.session(params)
