"""Sites and regions: where each host is, and how near two hosts are.

The master's config maps sites to address ranges, each site optionally inside
a region (its parent)::

    p2pdist:
      sites:
        paris: {networks: [10.20.0.0/16], parent: emea}
        lyon:  {networks: [10.21.0.0/16], parent: emea}

A minion's ``p2pdist:site`` grain overrides the address match. A host in no
site is a site of its own. Nearness is a small integer: 0 same site, 1 same
region, 2 anywhere else; the hand-out prefers smaller.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from salt_p2pdist.core.errors import InvalidRequest

SAME_SITE, SAME_REGION, ELSEWHERE = 0, 1, 2
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Site:
    name: str
    networks: tuple[Network, ...] = ()
    parent: str = ""  # the region; "" when the site stands alone


class SiteMap:
    def __init__(self, sites: Mapping[str, Site] | None = None,
                 overrides: Mapping[str, str] | None = None):
        self.sites = dict(sites or {})
        self.overrides = dict(overrides or {})  # host id -> site name (the grain)
        # Longest prefix first, so a /24 inside a /16 wins.
        self._ranges = sorted(((net, s.name) for s in self.sites.values() for net in s.networks),
                              key=lambda pair: -pair[0].prefixlen)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None,
                    overrides: Mapping[str, str] | None = None) -> SiteMap:
        """Build from ``p2pdist:sites``; report every problem at once."""
        if raw is not None and not isinstance(raw, Mapping):
            raise InvalidRequest("invalid p2pdist:sites: expected a mapping of site names to specs")
        problems, sites = [], {}
        for name, spec in (raw or {}).items():
            if not isinstance(spec, Mapping):
                problems.append(f"site {name!r}: expected a mapping with 'networks'")
                continue
            # down/up: the WAN link's rates, read by the planner (wanlinks.py)
            unknown = set(spec) - {"networks", "parent", "wan_rate", "down", "up"}
            if unknown:
                problems.append(f"site {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
            nets = []
            listed = spec.get("networks") or []
            if not isinstance(listed, list | tuple):
                problems.append(f"site {name!r}: networks must be a list of address ranges")
                listed = []
            for cidr in listed:
                try:
                    nets.append(ipaddress.ip_network(str(cidr), strict=False))
                except ValueError:
                    problems.append(f"site {name!r}: {cidr!r} is not an address range (a.b.c.d/n)")
            sites[str(name)] = Site(str(name), tuple(nets), str(spec.get("parent") or ""))
        if overrides is not None and not (isinstance(overrides, Mapping) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in overrides.items())):
            problems.append("site overrides must map minion ids to site names")
        if problems:
            raise InvalidRequest("invalid p2pdist:sites: " + "; ".join(problems))
        return cls(sites, overrides)

    def site_of(self, host_id: str, ip: str = "") -> str:
        if host_id in self.overrides:
            return self.overrides[host_id]
        if ip:
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                addr = None
            for net, name in self._ranges:
                if addr is not None and addr.version == net.version and addr in net:
                    return name
        return f"host:{host_id}"  # in no site: a site of its own

    def region_of(self, site: str) -> str:
        s = self.sites.get(site)
        return s.parent if s else ""

    def nearness(self, site_a: str, site_b: str) -> int:
        if site_a == site_b:
            return SAME_SITE
        region = self.region_of(site_a)
        return SAME_REGION if region and region == self.region_of(site_b) else ELSEWHERE

    def networks_of(self, site: str) -> list[str]:
        s = self.sites.get(site)
        return [str(n) for n in s.networks] if s else []

    def to_config(self) -> dict[str, Any]:
        return {n: {"networks": [str(x) for x in s.networks], "parent": s.parent}
                for n, s in self.sites.items()}
