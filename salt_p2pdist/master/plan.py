"""``salt-run p2pdist.plan``: what a push would take over the WAN, before anything moves.

A dry run: the content is measured (not hashed), the targets are placed in
sites as the tracker would place them, and the planner (core/planner.py)
gives the bound and the plan. Nothing is recorded, nothing is sent, no
agent is started. Salt's side (target resolution, the minions' cached
grains) is handed in by the runner.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core import planview, present
from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import InvalidRequest, NotFound
from salt_p2pdist.core.planner import NO_SITE, plan
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.core.wanlinks import parse_size, wan_from_config
from salt_p2pdist.master.caller import Caller
from salt_p2pdist.tracker.routes import WanRoutes

Grains = Callable[[str], Mapping[str, Any] | None]

ARGS = {"path": args_check.Spec(str, required=True, hint="a file or directory on the master,"
                                " or a size such as 700MiB"),
        "tgt": args_check.Spec(str, required=True, hint="which minions would receive it"),
        "tgt_type": args_check.TGT_TYPE}


def content_size(what: str) -> tuple[int, str]:
    """The bytes a push of ``what`` would move, and what was measured.

    ``what`` is a file or directory on the master, or a size (``700MiB``).
    """
    path = Path(what).expanduser()
    if path.is_file():
        return path.stat().st_size, str(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()), str(path)
    if what.strip().startswith(("/", "~", ".")) or "/" in what or "\\" in what:
        raise NotFound(f"{what} does not exist on the master (give a path there, or a size "
                       "such as 700MiB)")
    return parse_size(what), f"{what} (a size, no file)"


def site_of(sitemap: SiteMap, minion: str, grains: Mapping[str, Any] | None) -> str:
    """Where the tracker will place a minion: its ``p2pdist:site`` grain, else its addresses.

    From the master's cache of the minion's grains; NO_SITE when they do not tell.
    """
    grains = grains or {}
    named = (grains.get("p2pdist") or {}).get("site") if isinstance(grains.get("p2pdist"), dict) else ""
    if named:
        return str(named)
    for ip in grains.get("ipv4") or []:
        site = sitemap.site_of(minion, str(ip))
        if not site.startswith("host:"):
            return site
    return NO_SITE


def cached_grains(cache: Any, minion: str) -> Mapping[str, Any] | None:
    """A minion's grains from Salt's minion data cache (``salt.cache``), old layout or new."""
    grains = cache.fetch("grains", minion)  # Salt 3008: bank "grains", key = minion id
    if not grains:  # before: bank "minions/<id>", key "data" = {grains, pillar}
        grains = (cache.fetch(f"minions/{minion}", "data") or {}).get("grains")
    return grains if isinstance(grains, Mapping) else None


def dry_run(cfg: MasterSettings, what: str, targets: list[str], grains_of: Grains) -> dict[str, Any]:
    """The plan for pushing ``what`` to ``targets``: bound, binding term, per-site ETA and bytes."""
    if not targets:
        raise InvalidRequest("the target matches no minion: there is nothing to plan")
    size, measured = content_size(what)
    wan = wan_from_config(cfg.sites, cfg.hq, cfg.wan)
    sitemap = SiteMap.from_config(cfg.sites)
    placed = {m: site_of(sitemap, m, grains_of(m)) for m in targets}
    result = plan(wan, Counter(placed.values()), size)
    unplaced = sorted(m for m, s in placed.items() if s == NO_SITE)
    if unplaced:
        shown = ", ".join(unplaced[:10]) + (f" and {len(unplaced) - 10} more" if len(unplaced) > 10 else "")
        result["unknown"].append(f"not placed in a site (no p2pdist:site grain, no address in "
                                 f"p2pdist:sites among their cached grains): {shown}")
    return {"dry_run": True, "content": measured, "targets": len(targets), **result,
            "comment": "a plan only: nothing was recorded or sent"}


def relays(cfg: MasterSettings, hosts: list[str], grains_of: Callable[[], Grains]) -> dict[str, str]:
    """The ``hosts`` placed in good-uplink sites (host -> site), when the WAN also has weak ones.

    A push hands these to the tracker: at the start, a weak site's fetcher waits for
    them rather than take HQ's uplink (tracker/routes.py). {} without weak sites, and
    then no grains are read (``grains_of`` makes the reader: at 10,000 targets it costs).
    """
    routes = WanRoutes(wan_from_config(cfg.sites, cfg.hq, cfg.wan))
    configured = list(routes.wan.sites)
    if not any(map(routes.weak, configured)) or not any(map(routes.relay_site, configured)):
        return {}
    sitemap, grains = SiteMap.from_config(cfg.sites), grains_of()
    placed = {host: site_of(sitemap, host, grains(host)) for host in hosts}
    return {host: site for host, site in placed.items() if routes.relay_site(site)}


def grains_reader(opts: Mapping[str, Any]) -> Grains:
    """Each minion's cached grains, from the master's minion data cache."""
    import salt.cache  # the master's minion data cache: where each target's grains are kept

    cache = salt.cache.factory(opts)
    return lambda m: cached_grains(cache, m)


def command(caller: Caller, what: str, tgt: str, tgt_type: str) -> Any:
    """``salt-run p2pdist.plan``: the dry run, as a document (``--out json``) or lines for people."""
    result = dry_run(caller.cfg, what, caller.minions.resolve(tgt, tgt_type), grains_reader(caller.opts))
    if present.is_structured(caller.opts.get("output")):
        return present.for_json(result)
    return "\n".join(planview.plan_lines(result))
