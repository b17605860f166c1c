"""Creating the lab's namespaces and links (see topology.py for the layout)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from lab.netns import run
from lab.shapes import HUB
from lab.shaping import shape
from lab.topology import (
    HQ_GATEWAY,
    HQ_IP,
    LAB_NET,
    WAN_DEV,
    Lab,
    site_lan,
    site_transit,
)

CHUNK = 1024 * 1024
HUB_TABLE = "100"  # the WAN router's routes for packets from branches in a hub WAN


def make_payload(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` and return their sha256.

    Random, so that no compression or deduplication anywhere can make a
    method look faster than the bytes it really moved.
    """
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left > 0:
            chunk = os.urandom(min(CHUNK, left))
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    path.chmod(0o644)
    return digest.hexdigest()


def _ip(ns: str, *args: str) -> None:
    run(["ip", "-n", ns, *args])


def _veth(ns_a: str, dev_a: str, ns_b: str, dev_b: str) -> None:
    # Both ends are made directly inside lab namespaces: no device of the lab
    # ever exists in the root namespace, not even for a moment. ("name" is
    # spelled out: a bare short device name such as "a" is taken by ip(8) as
    # an abbreviation of a keyword.)
    _ip(ns_a, "link", "add", "name", dev_a, "type", "veth",
        "peer", "name", dev_b, "netns", ns_b)


def _up(ns: str, dev: str, cidr: str | None = None) -> None:
    if cidr:
        _ip(ns, "addr", "add", cidr, "dev", dev)
    _ip(ns, "link", "set", "dev", dev, "up")


def _new_namespace(ns: str, *, router: bool) -> None:
    run(["ip", "netns", "add", ns])
    # IPv6 off: its autoconfiguration chatter (router solicitations, MLD)
    # would show up in the WAN byte counts and no scenario needs it.
    settings = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    if router:
        # A hub's relayed packets come back from HQ with a branch's source
        # address: no reverse-path filter, and HQ sends them on without
        # redirecting the router to the branch (it must cross HQ's link).
        settings += ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                     "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.send_redirects=0",
                     "net.ipv4.conf.default.send_redirects=0"]
    run(["sysctl", "-q", "-w", *settings], ns=ns)
    _up(ns, "lo")


def build(lab: Lab) -> None:
    """Create every namespace, link, address, route and shaper of ``lab``."""
    layout = lab.params.layout
    hub = layout.wan == HUB
    _new_namespace(lab.hq_ns, router=hub)  # in a hub, HQ relays between branches
    _new_namespace(lab.wan_ns, router=True)
    for site in lab.sites:
        _new_namespace(site.ns, router=True)
        for client in site.clients:
            _new_namespace(client.ns, router=False)

    # HQ uplink: HQ and the router share 10.200.0.0/24.
    _veth(lab.hq_ns, WAN_DEV, lab.wan_ns, "hq")
    _up(lab.hq_ns, WAN_DEV, f"{HQ_IP}/24")
    _up(lab.wan_ns, "hq", f"{HQ_GATEWAY}/24")
    shape(lab.hq_ns, WAN_DEV, layout.hq_up)  # out of HQ
    shape(lab.wan_ns, "hq", layout.hq_down)  # into HQ
    _ip(lab.hq_ns, "route", "add", LAB_NET, "via", HQ_GATEWAY)

    for k, site in enumerate(lab.sites, start=1):
        router_ip, site_ip = site_transit(k)
        _veth(site.ns, WAN_DEV, lab.wan_ns, site.router_dev)
        _up(site.ns, WAN_DEV, f"{site_ip}/30")
        _up(lab.wan_ns, site.router_dev, f"{router_ip}/30")
        shape(site.ns, WAN_DEV, site.up_mbit)  # out of the site
        shape(lab.wan_ns, site.router_dev, site.down_mbit)  # into the site
        if hub:  # whatever a branch sends goes to HQ first (table 100)
            _ip(lab.wan_ns, "rule", "add", "iif", site.router_dev, "lookup", HUB_TABLE)
        _ip(site.ns, "route", "add", LAB_NET, "via", router_ip)
        _ip(lab.wan_ns, "route", "add", f"{site_lan(k)}.0/24", "via", site_ip)

        # The LAN: a bridge in the site namespace, unshaped. With STP off
        # (the default) ports forward at once, no listening delay.
        _ip(site.ns, "link", "add", "name", "br0", "type", "bridge")
        _up(site.ns, "br0", f"{site.gateway}/24")
        for j, client in enumerate(site.clients, start=1):
            port = f"c{j}"
            _veth(client.ns, "eth0", site.ns, port)
            _ip(site.ns, "link", "set", "dev", port, "master", "br0")
            _up(site.ns, port)
            _up(client.ns, "eth0", f"{client.ip}/24")
            _ip(client.ns, "route", "add", LAB_NET, "via", site.gateway)
    if hub:
        _ip(lab.wan_ns, "route", "add", LAB_NET, "via", HQ_IP, "dev", "hq", "table", HUB_TABLE)
