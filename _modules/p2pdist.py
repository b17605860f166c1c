"""Execution module: the minion's side of p2pdist.

Thin: it forwards the master's orders to the host's p2pdist agent (started on
demand, long-lived, one libtorrent session) and reports progress. A minion
never starts a transfer on its own (R1): ``fetch`` runs only when the master
publishes it or a state applied from the master asks for it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)
__virtualname__ = "p2pdist"
SCHEDULE_NAME = "p2pdist_report"
KEEPALIVE_NAME = "p2pdist_agent"
KEEPALIVE_S = 300

try:
    from salt_p2pdist.agent import uninstall as uninstalling
    from salt_p2pdist.agent.client import AgentClient
    from salt_p2pdist.core import admission, destpaths, lifecycle, names, present
    from salt_p2pdist.core import arguments as args_check
    from salt_p2pdist.core.config import MinionSettings
    from salt_p2pdist.core.errors import Forbidden, NotFound, P2PDistError
    from salt_p2pdist.core.policy import Policy
    from salt_p2pdist.core.reports import REPORT_TAG_PREFIX
    from salt_p2pdist.core.topology import SiteMap
    from salt_p2pdist.torrent.signature import admitted, check_torrent

    HAS_LIBS = True
except ImportError:  # pragma: no cover - reported by __virtual__
    HAS_LIBS = False


def __virtual__():  # type: ignore[no-untyped-def]
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package (and libtorrent) on this minion"
    return __virtualname__


def _agent() -> AgentClient:
    cfg = MinionSettings.from_opts(__opts__)
    # The Salt key signs requests for closed-swarm certificates (swarmca.py).
    salt_key = Path(__opts__["pki_dir"]) / "minion.pem"
    return AgentClient(cfg.state_dir, __opts__["id"], [*cfg.agent_args(), "--salt-key", str(salt_key)])


def _policy_body() -> dict[str, Any]:
    """The share policy for this minion from pillar, with its site's networks and WAN cap."""
    section = __pillar__.get("p2pdist") or {}
    sites = SiteMap.from_config(section.get("sites"),
                                {__opts__["id"]: __grains__.get("p2pdist", {}).get("site")}
                                if __grains__.get("p2pdist", {}).get("site") else None)
    # The address peers and the tracker see first: the one BitTorrent goes out from.
    cfg = MinionSettings.from_opts(__opts__)
    ips = [ip for ip in (cfg.outgoing_interface, cfg.bt_interface) if ip and ip not in ("0.0.0.0", "::")]
    site = next((s for s in (sites.site_of(__opts__["id"], ip) for ip in [*ips, *__grains__.get("ipv4", [])])
                 if not s.startswith("host:")), sites.site_of(__opts__["id"]))
    spec = (section.get("sites") or {}).get(site) or {}
    return {"policy": section.get("policy"), "site": site, "site_networks": sites.networks_of(site),
            "wan_rate": spec.get("wan_rate") if isinstance(spec, dict) else None}


def _sync_policy(agent: AgentClient) -> str:
    """Hand the agent the pillar's policy; an invalid one is refused and the last valid stays.

    A change that takes effect, or a new invalid policy, is announced to the
    master, which writes it into its audit log.
    """
    body: dict[str, Any] = {}
    try:
        body = _policy_body()
        before = agent.call("GET", "/policy").get("digest", "")
        Policy.from_pillar(body["policy"], site_wan_rate=body["wan_rate"], site=body["site"])
        after = agent.call("POST", "/policy", body).get("digest", "")
    except P2PDistError as exc:
        log.error("p2pdist: policy from pillar refused, the last valid one stays: %s", exc)
        _announce_policy(f"refused: {exc}", body)
        return str(exc)
    if after != before:
        _announce_policy("applied", body)
    return ""


def _announce_policy(result: str, body: dict[str, Any]) -> None:
    # A refused policy is announced once, not at every report while it stays wrong.
    marker = MinionSettings.from_opts(__opts__).state_dir / "policy_refused"
    if result != "applied":
        seen = json.dumps(body.get("policy"), sort_keys=True, default=str)
        if marker.exists() and marker.read_text() == seen:
            return
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(seen)
    else:
        marker.unlink(missing_ok=True)
    __salt__["event.fire_master"]({"result": result, "policy": body.get("policy"),
                                   "site": body.get("site")}, "p2pdist/policy/" + __opts__["id"])


def _error(exc: Exception) -> dict[str, Any]:
    __context__["retcode"] = 1
    return {"result": False, "error": str(exc)}


def _bad_call(function: str, specs: dict[str, Any], given: dict[str, Any], extra: dict[str, Any],
              extra_args: tuple[Any, ...]) -> dict[str, Any] | None:
    """The error to return for an unknown or ill-typed argument; None when the call is good."""
    bad = args_check.invalid(f"p2pdist.{function}", specs, given, extra, extra_args)
    return _error(P2PDistError(bad)) if bad else None


F = TypeVar("F", bound=Callable[..., Any])


def _retcode(func: F) -> F:
    """Every failure of an execution function sets Salt's retcode, so ``salt`` exits non-zero.

    A refusal p2pdist raises becomes ``{"result": False, "error": ...}``; a
    returned dict with ``result: False`` or an ``error`` counts as a failure too.
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            ret = func(*args, **kwargs)
        except (P2PDistError, binascii.Error) as exc:
            log.error("p2pdist.%s failed: %s", func.__name__, exc)
            ret = {"result": False, "error": str(exc)}
        if isinstance(ret, dict) and (ret.get("result") is False or ret.get("error")):
            __context__["retcode"] = 1
        return ret

    return wrapper  # type: ignore[return-value]


def _ensure_reporting() -> None:
    """Report progress to the master on a schedule while transfers are active."""
    interval = MinionSettings.from_opts(__opts__).report_interval
    jobs = __salt__["schedule.list"](return_yaml=False)
    if SCHEDULE_NAME not in jobs:
        __salt__["schedule.add"](SCHEDULE_NAME, function="p2pdist.report", seconds=interval,
                                 returner="p2pdist", return_job=False, persist=True)
    if KEEPALIVE_NAME not in jobs:
        # Keeps the agent (and so seeding) up across reboots and crashes, also
        # when nothing is active and the report schedule is gone. No return:
        # it costs the master nothing.
        __salt__["schedule.add"](KEEPALIVE_NAME, function="p2pdist.ensure_agent",
                                 seconds=KEEPALIVE_S, run_on_start=True, return_job=False,
                                 persist=True)


@_retcode
def fetch(torrent: str, dest: str, tracker: str = "", force: bool = False,
          dist_id: str = "", sites: dict[str, Any] | None = None, order_id: str = "",
          **_: Any) -> dict[str, Any]:
    """
    Fetch a distribution ordered by the master (normally published by
    ``salt-run p2pdist.push``, not typed by hand).

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.fetch torrent=<base64> dest=/opt/dist

    ``tracker`` is ignored (kept for orders from older masters): the tracker
    named in the signed torrent is the one used. ``order_id`` names the
    master's order; this minion's reports carry it back. The answer's ``ts``
    is this minion's time after taking the order (the agent's ``as_of`` in the
    answer is what the master orders answers and reports by).
    """
    try:
        # Only torrents this minion's master signed; the tracker is the signed one.
        data = base64.b64decode(torrent)
        meta, roots = check_torrent(data, Path(__opts__["pki_dir"]) / "minion_master.pub")
        # Only hosts the master admitted (push targets, allow=): checked before
        # anything is written; the master's tracker would refuse a certificate too.
        try:
            admission.check(__opts__["id"], admitted(data), meta.dist_id)
        except Forbidden as exc:
            refused(meta.dist_id, "p2pdist.fetch", str(exc))
            raise
        cfg = MinionSettings.from_opts(__opts__)
        # One dest per OS may come; this host takes its own, with its own OS's roots.
        flavor = names.local_flavor()
        order = {"mode": "fetch", "torrent": torrent,
                 "dest": cfg.resolve_dest(destpaths.for_host(dest, flavor)),
                 "allowed_dest": [cfg.resolve_dest(r) for r in destpaths.roots_for(roots, flavor)],
                 "tracker": meta.tracker, "force": force, "sites": sites or {},
                 "site": __salt__["grains.get"]("p2pdist:site", ""), "order_id": order_id}
        agent = _agent()
        agent.ensure()
        _sync_policy(agent)
        result = agent.call("POST", "/dists", order)
        _ensure_reporting()
    except (P2PDistError, binascii.Error) as exc:
        log.error("p2pdist: refused %s: %s", dist_id, exc)
        return {**_error(exc), "ts": time.time()}
    # The site grain goes back to the master: it overrides the address match.
    return {"result": True, **result, "site": order["site"], "ts": time.time()}


def refused(dist_id: str, route: str, reason: str) -> None:
    """Log a refused distribution here and tell the master, which writes it into its audit log.

    Called by ``fetch`` and the ``p2pdist.present`` state, not meant for the CLI.
    """
    log.error("p2pdist: refused %s (%s): %s", dist_id, route, reason)
    try:
        __salt__["event.fire_master"](admission.refusal_event(dist_id, route, reason),
                                      admission.REFUSED_TAG_PREFIX + __opts__["id"])
    except Exception as exc:  # the refusal stands even if the master is unreachable
        log.error("p2pdist: could not report the refusal to the master: %s", exc)


@_retcode
def status(dist_id: str = "", verbose: bool = False, *args: Any, **kwargs: Any) -> Any:
    """
    What this minion's p2pdist session holds. Every distribution in a few
    fields (name, state, dest, percent done, the error if any), or with
    ``verbose=True`` everything the agent knows (rates, peers, sites...); one
    distribution (``dist_id``) always in full.

    CLI Example:

    .. code-block:: bash

        salt 'web*' p2pdist.status
        salt 'web*' p2pdist.status verbose=True
        salt 'web1' p2pdist.status 3f9a0c1d2e4b5a69 --out json
    """
    bad = _bad_call("status", {"dist_id": args_check.TEXT, "verbose": args_check.FLAG},
                    locals(), kwargs, args)
    if bad:
        return bad
    agent = _agent()
    if not agent.alive():
        return {} if not dist_id else _error(P2PDistError("the p2pdist agent is not running"))
    try:
        found = agent.call("GET", f"/dists/{dist_id}" if dist_id else "/dists")
    except P2PDistError as exc:
        return _error(exc)
    if verbose or dist_id:
        return found
    return {d: present.compact_transfer(s) for d, s in found.items()}


@_retcode
def report(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Progress of every distribution on this minion, for the master. Run by the
    ``p2pdist_report`` schedule while transfers are active; the schedule removes
    itself once everything here is settled, after one last report.

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.report
    """
    bad = _bad_call("report", {}, locals(), kwargs, args)
    if bad:
        return bad
    agent = _agent()
    try:
        agent.ensure()  # the schedule also supervises the agent: restart it if it died
        policy_error = _sync_policy(agent)  # pillar changes reach the session on the fly
        # Each distribution's state carries the agent's own stamp (as_of), which
        # the master orders reports and answers by; this one is for older agents.
        ts = time.time()
        dists = agent.call("GET", "/dists")
    except P2PDistError as exc:
        return {"minion": __opts__["id"], "ts": time.time(), "dists": {}, "error": str(exc)}
    if not any(lifecycle.is_active(d["state"]) for d in dists.values()):
        __salt__["schedule.delete"](SCHEDULE_NAME, persist=True)
    # Each distribution's report names the host's site as the master's map
    # (sent with the order) places it, so no site of its own is added here.
    return {"minion": __opts__["id"], "ts": ts, "dists": dists,
            **({"policy_error": policy_error} if policy_error else {})}


@_retcode
def ensure_agent(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Start this minion's p2pdist agent if it holds distributions and is not
    running (run by the ``p2pdist_agent`` schedule).

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.ensure_agent
    """
    bad = _bad_call("ensure_agent", {}, locals(), kwargs, args)
    if bad:
        return bad
    cfg = MinionSettings.from_opts(__opts__)
    held = len(list((cfg.state_dir / "dists").glob("*/order.json")))
    agent = _agent()
    started = False
    if held and not agent.alive():
        try:
            agent.ensure()
        except P2PDistError as exc:
            return _error(exc)
        started = True
    policy_error = _sync_policy(agent) if agent.alive() else ""
    return {"result": True, "started": started, "distributions": held,
            **({"policy_error": policy_error} if policy_error else {})}


@_retcode
def policy(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    The share policy in force on this minion and where each value came from
    (pillar ``p2pdist:policy``, a time window, the site's ``wan_rate``, default).

    CLI Example:

    .. code-block:: bash

        salt 'laptop*' p2pdist.policy

    Exits non-zero when the pillar's policy is refused (the last valid one stays).
    """
    bad = _bad_call("policy", {}, locals(), kwargs, args)
    if bad:
        return bad
    agent = _agent()
    try:
        agent.ensure()
        error = _sync_policy(agent)
        if error:
            __context__["retcode"] = 1
        return {"result": not error, **agent.call("GET", "/policy"),
                **({"error": f"pillar policy refused, the last valid one stays: {error}"}
                   if error else {})}
    except P2PDistError as exc:
        return _error(exc)


@_retcode
def remove(dist_id: str = "", purge: bool = False, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Stop sharing a distribution and delete its partial data; with
    ``purge=True`` also delete the completed copy at its destination.
    Removing what this minion does not hold succeeds. The master learns of
    the removal at once (its status shows ``removed``).

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.remove 3f9a0c1d2e4b5a69 purge=True
    """
    bad = _bad_call("remove", {"dist_id": args_check.DIST_ID, "purge": args_check.FLAG},
                    locals(), kwargs, args)
    if bad:
        return bad
    dist_id = str(dist_id)  # the CLI reads an all-digit id as a number
    if not dist_id.isalnum():
        return _error(P2PDistError(f"{dist_id!r} is not a distribution id (16 hex digits, "
                                   "as salt-run p2pdist.status lists them)"))
    agent = _agent()
    try:
        # A stopped agent may still hold it on disk and would resume it: start it.
        if (MinionSettings.from_opts(__opts__).state_dir / "dists" / dist_id).exists():
            agent.ensure()
        elif not agent.alive():
            return {"result": True, "dist_id": dist_id, "comment": "not held on this minion"}
        removed = agent.call("DELETE", f"/dists/{dist_id}?remove_data={'1' if purge else '0'}")
    except NotFound:
        return {"result": True, "dist_id": dist_id, "comment": "not held on this minion"}
    except P2PDistError as exc:
        return _error(exc)
    report = {"minion": __opts__["id"], "ts": removed.get("as_of") or time.time(), "dists": {dist_id: {
        "state": lifecycle.REMOVED, "order_id": removed.get("order_id", "")}}}
    __salt__["event.fire_master"](report, REPORT_TAG_PREFIX + __opts__["id"])
    return {"result": True, **removed}


@_retcode
def stop_agent(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Stop this minion's p2pdist agent (it saves resume data first). It starts
    again with the next order or status report.

    CLI Example:

    .. code-block:: bash

        salt 'web1' p2pdist.stop_agent
    """
    bad = _bad_call("stop_agent", {}, locals(), kwargs, args)
    if bad:
        return bad
    _agent().stop()
    return {"result": True}


@_retcode
def uninstall(purge: bool = False, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """
    Remove p2pdist from this minion: stop its agent, delete the ``p2pdist_report``
    and ``p2pdist_agent`` schedules and the state directory (orders, resume data,
    partial downloads, certificates, the agent's log). Copies already delivered
    at their destinations stay unless ``purge=True``. Run it before removing the
    package (``salt-pip uninstall salt-p2pdist``).

    CLI Example:

    .. code-block:: bash

        salt 'web*' p2pdist.uninstall
    """
    bad = _bad_call("uninstall", {"purge": args_check.FLAG}, locals(), kwargs, args)
    if bad:
        return bad
    try:
        return uninstalling.uninstall(
            _agent(), MinionSettings.from_opts(__opts__).state_dir, purge,
            lambda name: __salt__["schedule.delete"](name, persist=True),
            [SCHEDULE_NAME, KEEPALIVE_NAME])
    except (P2PDistError, OSError) as exc:
        return _error(exc)
