"""What a built lab is: namespaces, addresses, directories, processes.

This is the object every scenario gets. Layout (``P`` is the prefix, default
``p2pl-``; site k = 1..S, client j = 1..M)::

    P hq  --[hq_mbit tbf both ways]--  P wan  --[branch_mbit tbf both ways]--  P s<k>
    10.200.0.10/24    dev "wan"          router    dev "s<k>"   dev "wan"    bridge br0
                                                                            10.200.k.1/24
                                                                  |  unshaped LAN  |
                                                             P s<k>c<j>: 10.200.k.(10+j)

Each link is shaped per direction (a site's ``down``/``up``, the HQ's). In a
``hub`` WAN the router hands every packet from a branch to HQ, which sends
it back out: branch-to-branch traffic crosses the HQ link in and out, as
through a VPN concentrator. Routing goes through the WAN router. No namespace has a link to the host's
root namespace, and no namespace has a default route: only 10.200.0.0/16 is
routed, so lab traffic can reach nothing but the lab.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.netns import Processes, kill_all_in, run
from lab.params import LabParams
from lab.shaping import Counters, read_counters

# Hosts route only this range, and only towards the lab's WAN router, which
# routes nothing else: a packet for any other address fails at its sender
# (ENETUNREACH) instead of crossing and skewing a counted WAN link.
LAB_NET = "10.200.0.0/16"
HQ_IP = "10.200.0.10"
HQ_GATEWAY = "10.200.0.1"
# The name of the shaped WAN veth inside the HQ and every site namespace.
WAN_DEV = "wan"


def site_lan(k: int) -> str:
    return f"10.200.{k}"


def site_transit(k: int) -> tuple[str, str]:
    """(router side, site side) addresses of site k's /30 WAN link."""
    return f"10.200.{128 + k}.1", f"10.200.{128 + k}.2"


@dataclass(frozen=True)
class Client:
    name: str  # "s1c2": site 1, client 2
    site: str  # "s1"
    ns: str  # namespace to run its processes in
    ip: str
    dir: Path  # its scratch dir: empty when a scenario starts


@dataclass(frozen=True)
class Site:
    name: str  # "s1"
    ns: str  # holds the LAN bridge and the site end of the WAN link
    gateway: str  # the bridge's address, the clients' default route
    router_dev: str  # the WAN router's end of this site's link
    clients: tuple[Client, ...]
    down_mbit: float = 0.0  # the site's WAN link into it
    up_mbit: float = 0.0  # and out of it


@dataclass
class Lab:
    """A built lab. Scenarios read its fields and use ``spawn``/``run``.

    ``payload`` is the file to distribute (read-only: do not move or modify
    it); ``hq_dir`` is the HQ's scratch dir (served files, torrents, configs),
    emptied with the clients' dirs between scenarios.
    """

    params: LabParams
    workdir: Path
    hq_ns: str
    wan_ns: str
    sites: tuple[Site, ...]
    payload: Path
    payload_sha256: str
    hq_dir: Path
    log_dir: Path
    hq_ip: str = HQ_IP
    procs: Processes = field(init=False)

    def __post_init__(self) -> None:
        self.procs = Processes(self.log_dir)

    @property
    def clients(self) -> tuple[Client, ...]:
        return tuple(c for s in self.sites for c in s.clients)

    @property
    def namespaces(self) -> list[str]:
        names = [self.hq_ns, self.wan_ns]
        for site in self.sites:
            names.append(site.ns)
            names.extend(c.ns for c in site.clients)
        return names

    def dest(self, client: Client) -> Path:
        """Where a scenario must leave the client's complete copy."""
        return client.dir / self.payload.name

    def spawn(
        self, ns: str, argv: Sequence[str], *, log_name: str,
        cwd: Path | None = None, env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a process inside ``ns``; it is stopped by the harness after
        the scenario (or by teardown), its output is in log_dir/<log_name>.log."""
        return self.procs.spawn(ns, argv, log_name=log_name, cwd=cwd, env=env)

    def run(self, ns: str, argv: Sequence[str], *, timeout: float = 60.0) -> str:
        """Run a short command inside ``ns`` and return its stdout."""
        return run(argv, ns=ns, timeout=timeout)

    def stop_processes(self) -> None:
        """Stop what ``spawn`` started (SIGTERM, then SIGKILL, by process
        group), then SIGKILL anything else still in a lab namespace, such as
        a daemon that left its process group."""
        self.procs.stop_all()
        for ns in self.namespaces:
            kill_all_in(ns)

    def wan_counters(self) -> dict[str, Counters]:
        """Counters of each site's WAN veth (site side) and of the HQ uplink
        (HQ side, key "hq"): rx = into that place, tx = out of it."""
        result = {s.name: read_counters(s.ns, WAN_DEV) for s in self.sites}
        result["hq"] = read_counters(self.hq_ns, WAN_DEV)
        return result


def plan(params: LabParams, workdir: Path, payload: Path, sha256: str) -> Lab:
    """The lab's names, addresses and dirs; nothing is created here."""
    p = params.prefix
    sites = []
    for k, shape in enumerate(params.layout.sites, start=1):
        # Namespaces and devices are named by number (device names are short);
        # the site and its clients by the topology's names.
        clients = tuple(
            Client(
                name=f"{shape.name}c{j}", site=shape.name, ns=f"{p}s{k}c{j}",
                ip=f"{site_lan(k)}.{10 + j}", dir=workdir / "clients" / f"{shape.name}c{j}",
            )
            for j in range(1, shape.clients + 1)
        )
        sites.append(Site(
            name=shape.name, ns=f"{p}s{k}", gateway=f"{site_lan(k)}.1",
            router_dev=f"s{k}", clients=clients, down_mbit=shape.down, up_mbit=shape.up,
        ))
    return Lab(
        params=params, workdir=workdir, hq_ns=f"{p}hq", wan_ns=f"{p}wan",
        sites=tuple(sites), payload=payload, payload_sha256=sha256,
        hq_dir=workdir / "hq", log_dir=workdir / "logs",
    )
