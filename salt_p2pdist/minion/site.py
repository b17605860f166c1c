"""Where this minion is: its site and the share policy pillar gives it there."""

from __future__ import annotations

from typing import Any

from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.minion.host import Minion

ANY_ADDRESS = ("0.0.0.0", "::")


def site_of(minion: Minion, sites: SiteMap) -> str:
    """The site of the first address peers and the tracker see (the one BitTorrent goes out from).

    A ``p2pdist:site`` grain overrides the address match; with no match the
    host is a site of its own (``host:<id>``).
    """
    cfg = minion.settings()
    ips = [ip for ip in (cfg.outgoing_interface, cfg.bt_interface) if ip and ip not in ANY_ADDRESS]
    found = (sites.site_of(minion.id, ip) for ip in [*ips, *minion.grains.get("ipv4", [])])
    return next((s for s in found if not s.startswith("host:")), sites.site_of(minion.id))


def policy_body(minion: Minion) -> dict[str, Any]:
    """The share policy for this minion from pillar, with its site's networks and WAN cap."""
    section = minion.pillar.get("p2pdist") or {}
    grain = minion.site_grain()
    sites = SiteMap.from_config(section.get("sites"), {minion.id: grain} if grain else None)
    site = site_of(minion, sites)
    spec = (section.get("sites") or {}).get(site) or {}
    return {"policy": section.get("policy"), "site": site, "site_networks": sites.networks_of(site),
            "wan_rate": spec.get("wan_rate") if isinstance(spec, dict) else None}
