"""The share policy's limits as libtorrent peer classes: plain data for the agent.

:func:`peer_class_plan` says which classes to create, which address ranges
belong to which, and the session settings; ``agent/enforcer.py`` applies it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.policy import Limits


@dataclass(frozen=True)
class ClassSpec:
    upload_limit: int = 0  # bytes/s shared by every peer in the class; 0 = unlimited
    download_limit: int = 0
    ignore_unchoke_slots: bool = False


@dataclass(frozen=True)
class PeerClassPlan:
    """Plain data for the agent: create each of ``classes`` once (``create_peer_class``) and
    read-modify-write its info; ``global`` in ``ranges`` is the built-in class, whose limits
    belong to ``settings`` (``apply_settings`` would overwrite a ``set_peer_class`` on it)."""

    classes: dict[str, ClassSpec] = field(default_factory=dict)  # created by the agent, by name
    ranges: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (cidr, classes) in order; later wins
    settings: dict[str, int] = field(default_factory=dict)  # for session.apply_settings

    def ip_rules(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """``(first, last, classes)`` for ``ip_filter.add_rule``, in order."""
        nets = ((ipaddress.ip_network(c), names) for c, names in self.ranges)
        return [(str(n[0]), str(n[-1]), names) for n, names in nets]

    def to_dict(self) -> dict[str, Any]:
        return {"classes": {n: asdict(c) for n, c in self.classes.items()},
                "ranges": [[c, list(names)] for c, names in self.ranges], "settings": dict(self.settings)}


GLOBAL = "global"  # libtorrent's built-in class (session.global_peer_class_id)


def peer_class_plan(limits: Limits, site_networks: list[str]) -> PeerClassPlan:
    """How the agent maps peers to libtorrent peer classes to enforce ``limits``.

    - Every address is in ``global``, whose limits are the session's
      ``upload_rate_limit``/``download_rate_limit``, so this minion's caps hold for
      *all* peers. By default libtorrent puts private ranges (10/8, 192.168/16,
      127/8, fc00::/7 ...) in its ``local`` class *instead of* global, where no
      rate limit or unchoke slot applies: in a corporate 10.x network the caps
      would do nothing. The plan replaces the whole filter, so ``local`` is unused.
    - The site's ranges are also in ``site``, everything else (0.0.0.0/0, ::/0)
      in ``wan``: ``wan`` carries the site's WAN cap, one bucket for all remote
      peers together (per minion: it cannot see its neighbours' WAN traffic).
    - Whom we upload to is decided by choking, not by an upload limit of 1: a
      class limit throttles *every* byte sent, our piece requests too, so it
      would starve this minion's downloads. ``unchoke_slots_limit`` 0 keeps a
      peer choked (no optimistic unchokes either) unless one of its classes has
      ``ignore_unchoke_slots``; upload "all" sets it on both classes (and
      unlimited slots), "site" on ``site`` only, "none" on neither.
      ``choking_algorithm`` must be fixed slots: the rate-based choker ignores
      the slot limit. ``allowed_fast_set_size`` 0, because a choked peer may
      still fetch its "allowed fast" pieces (BEP 6; 5 by default, offered at
      connect time, so a switch mid-transfer still leaks those to peers already
      connected: measured 1.25 MiB each with 256 KiB pieces).

    Ranges depend only on ``site_networks``: libtorrent assigns classes when a
    peer connects, so the agent sets the filter once, before adding torrents;
    class limits and settings apply to existing connections and may change with
    the policy's windows.
    """
    try:
        nets = sorted({ipaddress.ip_network(str(n), strict=False) for n in site_networks},
                      key=lambda n: (n.version, n.network_address, n.prefixlen))
    except ValueError as e:
        raise InvalidRequest(f"invalid site network: {e}") from e
    remote = (GLOBAL, "wan")
    ranges = (("0.0.0.0/0", remote), ("::/0", remote), *((str(n), (GLOBAL, "site")) for n in nets))
    wan, everyone = limits.wan_rate, limits.upload_mode == "all"
    return PeerClassPlan(
        classes={"site": ClassSpec(0, 0, limits.upload_mode in ("all", "site")),
                 "wan": ClassSpec(wan, wan, everyone)},
        ranges=ranges,
        settings={"upload_rate_limit": limits.upload_rate, "download_rate_limit": limits.download_rate,
                  "unchoke_slots_limit": -1 if everyone else 0,
                  "allowed_fast_set_size": 5 if everyone else 0,  # 5: libtorrent's default
                  "choking_algorithm": 0})  # lt.choking_algorithm_t.fixed_slots_choker
