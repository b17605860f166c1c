"""The planner: how fast a distribution can possibly finish on this WAN, and what binds it (pure).

The classic bound for one seed of upload ``u_s`` sending F bytes to N peers
(download ``d_i``, upload ``u_i``) is ``max{F/u_s, F/d_min, N·F/(u_s+Σu_i)}``:
the seed must send every byte once, the slowest peer must receive F, and the
N·F bytes received must all be uploaded by someone. It is reached in the
fluid limit (Kumar & Ross, 2006).

p2pdist's hosts sit in sites behind WAN links, and spreading a copy on a LAN
is fast next to the WAN, so the peers of that bound are the *sites*: site i
with ``n_i > 0`` targets, WAN link ``d_i``/``u_i``, needs at least one copy
over its downlink, and S such branch sites need S·F bytes across the WAN:

- mesh (branches reach each other directly)::

      T >= max{ F/u_hq,  F/d_i for every branch i,  S·F / (u_hq + Σ u_i) }

- hub (branch-to-branch traffic enters and leaves the HQ link): every byte
  into a branch crosses the HQ uplink, from the origin or relayed, so the
  branches' uploads add nothing and the bound is::

      T >= max{ S·F/u_hq,  F/d_i for every branch i }

  and the best plan sends each branch one copy from HQ and trades nothing
  between branches (that would cost the HQ link twice).

Hosts on the HQ LAN (``hq.site``) cross no WAN link. Times ignore protocol
headers (~4.5 %) and start-up; a measurement reports its ratio to this bound.

The plan's ETA per site shares the WAN's supply (mesh: ``u_hq + Σu_i``; hub:
``u_hq``) by max-min fairness: a site receives at ``min(d_i, λ)`` with λ
set so the rates add up to the supply, never before ``F/u_hq``. Its last ETA
equals the bound; a slow site does not hold the others back.

A link without a configured rate is not guessed: each term that needs it is
left out and named in ``unknown``; the bound of the known terms is still a
lower bound, marked ``complete: False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salt_p2pdist.core.wanlinks import HUB, MBIT, Link, Wan

NO_SITE = "(no site)"  # hosts in no configured site: their links are unknown


def _fair_rates(downs: Mapping[str, float | None], supply: float) -> dict[str, float]:
    """Max-min fair shares of ``supply`` (bytes/s) among sites capped at their downlinks.

    A site with an unknown downlink takes a full share (it may be fast).
    """
    rates: dict[str, float] = {}
    left, todo = supply, sorted(downs, key=lambda s: (downs[s] is None, downs[s] or 0.0))
    while todo:
        share = left / len(todo)
        site = todo[0]
        cap = downs[site]
        if cap is not None and cap <= share:
            rates[site] = cap
            left -= cap
            todo.pop(0)
        else:
            rates.update({s: share for s in todo})
            break
    return rates


def _bytes_per_s(mbit: float | None) -> float | None:
    return mbit * MBIT if mbit else None


def plan(wan: Wan, hosts: Mapping[str, int], size: int) -> dict[str, Any]:
    """The bound, its binding term, ETA and WAN bytes per site for ``size`` bytes to ``hosts``.

    ``hosts`` maps site names (as the site map places the targets) to how many
    targets each holds; :data:`NO_SITE` counts targets in no site.
    """
    F = float(size)
    unknown: list[str] = []
    branches = sorted(s for s, n in hosts.items() if n > 0 and s != wan.hq_site and s != NO_SITE)
    if hosts.get(NO_SITE):
        unknown.append(f"{hosts[NO_SITE]} target(s) in no configured site: their links are unknown")
    links = {s: wan.sites.get(s, Link()) for s in branches}
    down = {s: _bytes_per_s(links[s].down) for s in branches}
    up = {s: _bytes_per_s(links[s].up) for s in branches}
    hq_up = wan.hq.up * MBIT if wan.hq.up else None
    terms: list[dict[str, Any]] = []

    def term(name: str, seconds: float, what: str) -> None:
        terms.append({"term": name, "seconds": seconds, "what": what})

    S = len(branches)
    if not S:
        pass
    elif hq_up is None:
        unknown.append("the HQ uplink (p2pdist:hq:up) is not configured: the time for copies "
                       "to leave HQ is unknown")
    elif wan.shape == HUB:
        term("hq_uplink", S * F / hq_up, f"every copy into the {S} branch site(s) crosses the "
             "HQ uplink (hub WAN)")
    else:
        term("hq_uplink", F / hq_up, "the first copy leaves HQ over its uplink")
    for s in branches:
        if down[s] is None:
            unknown.append(f"site {s}: no down rate configured: its ETA is unknown")
    known = [s for s in branches if down[s] is not None]
    if known:
        slow = min(known, key=lambda s: down[s] or 0.0)
        term(f"downlink:{slow}", F / (down[slow] or 1.0),
             f"site {slow} receives a full copy over its {links[slow].down:g} Mbit/s downlink")
    supply: float | None = hq_up
    if wan.shape != HUB and S > 1:
        missing = [s for s in branches if up[s] is None]
        if missing:
            unknown.append(f"no up rate for site(s) {', '.join(missing)}: the sites' total upload "
                           "term is left out")
            supply = None
        elif hq_up is not None:
            supply = hq_up + sum(u or 0.0 for u in up.values())
            term("total_upload", S * F / supply, f"{S} copies into branches, uploaded by HQ "
                 "and the branch sites together")
    return _assemble(wan, hosts, branches, F, terms, unknown, down, up, supply, hq_up)


def _assemble(wan: Wan, hosts: Mapping[str, int], branches: list[str], F: float,
              terms: list[dict[str, Any]], unknown: list[str], down: Mapping[str, float | None],
              up: Mapping[str, float | None], supply: float | None,
              hq_up: float | None) -> dict[str, Any]:
    binding = max(terms, key=lambda t: t["seconds"]) if terms else None
    rates = _fair_rates(down, supply) if supply is not None else {}
    sites: dict[str, dict[str, Any]] = {}
    S = len(branches)
    into = S * F
    # HQ sends at least one copy; in a mesh the rest follows each link's share of the supply.
    out_of_hq = into if wan.shape == HUB else (
        min(into, max(F, into * (hq_up or 0.0) / supply)) if supply and hq_up else None)
    relayed = into - out_of_hq if out_of_hq is not None else None
    branch_up = sum(u or 0.0 for u in up.values())
    for s in branches:
        eta = None
        if down[s] is not None:
            eta = F / min(down[s] or 1.0, rates.get(s, down[s] or 1.0))
            eta = max(eta, F / hq_up) if hq_up else eta
        sent = 0.0 if wan.shape == HUB else (
            relayed * (up[s] or 0.0) / branch_up if relayed is not None and branch_up else None)
        sites[s] = {"hosts": hosts[s], "down_mbit": wan.sites.get(s, Link()).down,
                    "up_mbit": wan.sites.get(s, Link()).up, "eta_s": eta,
                    "wan_in_bytes": int(F), "wan_out_bytes": None if sent is None else int(sent)}
    if wan.hq_site and hosts.get(wan.hq_site):  # on the origin's LAN: no WAN link to wait for
        sites[wan.hq_site] = {"hosts": hosts[wan.hq_site], "eta_s": 0.0, "on_hq_lan": True,
                              "wan_in_bytes": 0, "wan_out_bytes": 0}
    complete = not unknown and binding is not None
    return {"size_bytes": int(F), "shape": wan.shape, "branch_sites": S,
            "bound_s": binding["seconds"] if binding else (0.0 if not S and not unknown else None),
            "binding": binding, "complete": complete or (not S and not unknown),
            "terms": terms, "unknown": unknown, "sites": sites,
            "hq": {"up_mbit": wan.hq.up, "down_mbit": wan.hq.down,
                   "wan_out_bytes": None if out_of_hq is None else int(out_of_hq),
                   "wan_in_bytes": 0}}
