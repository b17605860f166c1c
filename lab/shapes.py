"""The lab's WAN shape: per-site link rates, the HQ link, mesh or hub (``--topology FILE.yaml``).

The file, all rates in Mbit/s (10^6 bit/s, as ``tc`` counts them)::

    hq: {up: 100, down: 100}
    wan: mesh            # or hub: branch-to-branch traffic crosses the HQ link in and out
    sites:
      - {name: paris, clients: 5, down: 20, up: 20}
      - {name: lyon,  clients: 8, down: 8,  up: 1}

Without a file the command line's flags describe the uniform case (every
branch ``--branch-mbit`` both ways). The bound comes from the product's own
planner (``salt_p2pdist.core.planner``), so the lab measures against what
``salt-run p2pdist.plan`` promises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from salt_p2pdist.core.planner import plan
from salt_p2pdist.core.wanlinks import HUB, MESH, Link, Wan

__all__ = ["HUB", "MESH", "LabShape", "SiteShape", "load"]

NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # a minion id prefix and a p2pdist site name
MAX_SITES, MAX_CLIENTS = 100, 200  # the address plan's limits (topology.py)


@dataclass(frozen=True)
class SiteShape:
    name: str
    clients: int
    down: float  # Mbit/s into the site
    up: float  # Mbit/s out of the site


@dataclass(frozen=True)
class LabShape:
    hq_up: float
    hq_down: float
    wan: str
    sites: tuple[SiteShape, ...]
    name: str = "uniform"

    @classmethod
    def uniform(cls, branches: int, clients: int, branch_mbit: float, hq_mbit: float) -> LabShape:
        return cls(hq_mbit, hq_mbit, MESH, tuple(
            SiteShape(f"s{k}", clients, branch_mbit, branch_mbit) for k in range(1, branches + 1)))

    def wan_model(self) -> Wan:
        return Wan(self.wan, Link(self.hq_down, self.hq_up),
                   {s.name: Link(s.down, s.up) for s in self.sites})

    def plan(self, size: int) -> dict[str, Any]:
        """The product planner's plan (bound, binding term, ETA per site) for ``size`` bytes."""
        return plan(self.wan_model(), {s.name: s.clients for s in self.sites}, size)

    def naive_s(self, size: int) -> float:
        """Every client pulling its own copy from HQ (what the HTTP baseline does)."""
        bits = size * 8
        per_site = max(s.clients * bits / (s.down * 1e6) for s in self.sites)
        return max(per_site, sum(s.clients for s in self.sites) * bits / (self.hq_up * 1e6))


def _rate(raw: dict[str, Any], key: str, where: str, problems: list[str]) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.1 <= value <= 10_000:
        problems.append(f"{where}: {key} must be a rate of 0.1..10000 Mbit/s, got {value!r}")
        return 1.0
    return float(value)


def load(path: Path) -> LabShape:
    """Read and check a topology file; every problem is named at once (ValueError)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with hq, wan and sites")
    unknown = set(raw) - {"hq", "wan", "sites"}
    if unknown:
        problems.append(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    hq: dict[str, Any] = raw["hq"] if isinstance(raw.get("hq"), dict) else {}
    hq_up, hq_down = _rate(hq, "up", "hq", problems), _rate(hq, "down", "hq", problems)
    wan = raw.get("wan", MESH)
    if wan not in (MESH, HUB):
        problems.append(f"wan must be mesh or hub, got {wan!r}")
    listed = raw.get("sites")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_SITES:
        problems.append(f"sites must be a list of 1..{MAX_SITES} sites")
        listed = []
    sites = []
    for i, spec in enumerate(listed, start=1):
        spec = spec if isinstance(spec, dict) else {}
        name = spec.get("name")
        where = f"site {i} ({name})"
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(f"{where}: name must be 1-10 lower-case letters and digits")
        clients = spec.get("clients")
        if isinstance(clients, bool) or not isinstance(clients, int) or not 1 <= clients <= MAX_CLIENTS:
            problems.append(f"{where}: clients must be 1..{MAX_CLIENTS}, got {clients!r}")
            clients = 1
        sites.append(SiteShape(str(name), clients, _rate(spec, "down", where, problems),
                               _rate(spec, "up", where, problems)))
    if len({s.name for s in sites}) != len(sites):
        problems.append("site names must differ")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return LabShape(hq_up, hq_down, str(wan), tuple(sites), name=path.stem)
