"""The WAN's links as the admin describes them: rates per site, the HQ link, the WAN's shape.

In the master config, beside each site's ``networks``, all rates in Mbit/s::

    p2pdist:
      hq: {up: 100, down: 100, site: paris}  # site: the sites entry that is the HQ LAN (optional)
      wan: mesh                               # or hub
      sites:
        lyon:  {networks: [10.21.0.0/16], down: 8, up: 1}
        nice:  {networks: [10.22.0.0/16], down: 20, up: 20}

``mesh``: branches reach each other directly. ``hub``: branch-to-branch
traffic crosses the HQ link in and out (a VPN concentrator, a hub MPLS).
Every rate is optional: a link left out is one the planner says it cannot
know about, it never guesses. Validation names every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from salt_p2pdist.core.errors import InvalidRequest

MESH, HUB = "mesh", "hub"
SHAPES = (MESH, HUB)
RATE_KEYS = ("down", "up")
MBIT = 1_000_000 / 8  # bytes per second in one Mbit/s


@dataclass(frozen=True)
class Link:
    """One WAN link's rates in Mbit/s; None where the admin did not say."""

    down: float | None = None
    up: float | None = None


@dataclass(frozen=True)
class Wan:
    shape: str = MESH
    hq: Link = Link()
    sites: Mapping[str, Link] = field(default_factory=dict)
    hq_site: str = ""  # the site whose hosts share the origin's LAN: no WAN link to cross


def rate_problem(where: str, value: Any) -> str:
    """Why a configured rate is not one; "" when it is a positive number of Mbit/s."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        return f"{where}: {value!r} is not a rate in Mbit/s (a number above 0, e.g. 20 or 1.5)"
    return ""


def _link(raw: Mapping[str, Any], where: str, problems: list[str]) -> Link:
    rates = {}
    for key in RATE_KEYS:
        problem = rate_problem(f"{where}:{key}", raw.get(key))
        if problem:
            problems.append(problem)
        elif raw.get(key) is not None:
            rates[key] = float(raw[key])
    return Link(**rates)


def wan_from_config(sites: Mapping[str, Any] | None, hq: Any = None, shape: Any = None) -> Wan:
    """The WAN from ``p2pdist:sites``, ``p2pdist:hq`` and ``p2pdist:wan``; every problem named."""
    problems: list[str] = []
    sites = sites if isinstance(sites, Mapping) else {}  # SiteMap names a malformed map
    if shape is not None and shape not in SHAPES:
        problems.append(f"p2pdist:wan: {shape!r} is not a WAN shape; use mesh (branches reach "
                        "each other directly) or hub (branch-to-branch traffic crosses the HQ link)")
    if hq is not None and not isinstance(hq, Mapping):
        problems.append("p2pdist:hq: expected a mapping like {up: 100, down: 100}")
        hq = {}
    hq = dict(hq or {})
    unknown = set(hq) - {*RATE_KEYS, "site"}
    if unknown:
        problems.append(f"p2pdist:hq: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                        "known: down, site, up")
    hq_link = _link(hq, "p2pdist:hq", problems)
    hq_site = hq.get("site") or ""
    if not isinstance(hq_site, str) or (hq_site and hq_site not in sites):
        problems.append(f"p2pdist:hq:site: {hq_site!r} is not one of p2pdist:sites")
    links = {}
    for name, spec in sites.items():
        if isinstance(spec, Mapping):
            links[str(name)] = _link(spec, f"p2pdist:sites:{name}", problems)
    if problems:
        raise InvalidRequest("invalid WAN description: " + "; ".join(problems))
    return Wan(str(shape or MESH), hq_link, links, str(hq_site))


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A content size given by hand: ``700M``, ``64MiB``, ``1.5 GB``, ``4096`` (bytes).

    ``MiB`` and a bare ``M`` count in 1024s, ``MB`` in 1000s.
    """
    match = _SIZE.match(str(text))
    if not match:
        raise InvalidRequest(f"{text!r} is neither a path on the master nor a size "
                             "(e.g. 700MiB, 1.5GB, 4096)")
    number, unit, binary = float(match.group(1)), match.group(2).lower(), match.group(3)
    decimal = text.strip().lower().endswith("b") and not binary
    base = 1000 if decimal else 1024
    size = int(number * base ** ("kmgt".index(unit) + 1 if unit else 0))
    if size <= 0:
        raise InvalidRequest(f"{text!r}: the size must be more than 0 bytes")
    return size
