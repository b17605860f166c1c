"""Runner: start, follow and cancel p2pdist distributions from the Salt master.

Thin: it checks input, asks the core, talks to the origin agent and publishes
orders through Salt. The master is the only place a distribution starts (R1).
"""

from __future__ import annotations

import contextvars
import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
__virtualname__ = "p2pdist"

try:
    from salt_p2pdist import metainfo, orders, signature
    from salt_p2pdist import origin as origin_side
    from salt_p2pdist import status as status_view
    from salt_p2pdist import watch as watch_view
    from salt_p2pdist.agent.client import AgentClient
    from salt_p2pdist.approval import ApprovalDesk, ApprovalRule
    from salt_p2pdist.audit import AuditLog
    from salt_p2pdist.authz import Admins, host_groups, targets_within
    from salt_p2pdist.catalog import Catalog
    from salt_p2pdist.config import MasterSettings
    from salt_p2pdist.errors import Forbidden, P2PDistError
    from salt_p2pdist.swarmca import SwarmCA

    HAS_LIBS = True
except ImportError:  # pragma: no cover - reported by __virtual__
    HAS_LIBS = False


def __virtual__():  # type: ignore[no-untyped-def]
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package (and libtorrent) on the master"
    return __virtualname__


def _settings() -> MasterSettings:
    return MasterSettings.from_opts(__opts__)


def _catalog(cfg: MasterSettings) -> Catalog:
    return origin_side.catalog_of(cfg)


def _origin(cfg: MasterSettings) -> AgentClient:
    return origin_side.origin_client(cfg, __opts__)


# (requester, approver) while p2pdist.approve carries out a held request. Not a
# keyword argument on purpose: salt-run passes any key=value through, and a
# caller must never be able to claim an approval.
_APPROVED: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "p2pdist_approved", default=None)


def _user() -> str:
    # The master injects __user__ into runners (eauth or the shell user); an
    # approved request runs as the admin who asked for it.
    approved = _APPROVED.get()
    if approved is not None:
        return approved[0]
    return str(globals().get("__user__") or "root")


def _hold(cfg: MasterSettings, action: str, user: str, targets: list[str],
          args: dict[str, Any]) -> dict[str, Any] | None:
    """Under the two-person rule, write the request down and stop here.

    Returns the runner's answer when the request waits for a second admin,
    None when it may go on (no rule applies, or it is being approved now).
    """
    approved = _APPROVED.get()
    if approved is not None:
        return None
    rule = ApprovalRule.from_config(cfg.approval)
    why = rule.reasons(targets, lambda expr: _resolve(expr, "compound")) if rule.active else []
    if not why:
        return None
    entry = _desk(cfg).request(action, user, args, why)
    _audit(action, user, "awaiting approval", request=entry["id"], reasons=why, **args)
    return {"result": True, "state": "awaiting approval", "request": entry["id"], "reasons": why,
            "comment": f"nothing was sent: another admin must run salt-run p2pdist.approve {entry['id']}"}


def _desk(cfg: MasterSettings) -> ApprovalDesk:
    return ApprovalDesk(cfg.state_dir / "approvals")


def _audit(action: str, user: str, result: str, **details: Any) -> None:
    """Append to the master's audit log; a refusal is recorded as well."""
    try:
        AuditLog(_settings().state_dir / "audit.log").record(action, user, result=result, **details)
    except (OSError, P2PDistError) as exc:
        log.error("p2pdist: cannot write the audit log: %s", exc)


def _authorize(cfg: MasterSettings, user: str, source: Path, tgt: str, tgt_type: str,
               targets: list[str]) -> None:
    """p2pdist:admins, on top of Salt's own ACLs: which user may push what to whom."""
    admins = Admins.from_config(cfg.admins)
    groups = host_groups(user) if admins.grants else []
    admins.check(user, groups, source, tgt, tgt_type)
    allowed = admins.targets_for(user, groups, source)
    # The expression matched; the minions it names must be within the allowed ones too.
    if allowed is not None and not targets_within(
            set(targets), [set(_resolve(expr, "compound")) for expr in allowed]):
        raise Forbidden(f"{user} may push only to {', '.join(allowed)}; {tgt!r} reaches other minions")


def _fail(message: str) -> dict[str, Any]:
    # Salt exits 0 on some refusals; a non-zero retcode and an explicit
    # result make the failure unmistakable to scripts and to people.
    # salt-run exits with a returned dict's "retcode".
    __context__["retcode"] = 1
    return {"result": False, "error": message, "retcode": 1}


def _resolve(tgt: str, tgt_type: str) -> list[str]:
    import salt.utils.minions

    found = salt.utils.minions.CkMinions(__opts__).check_minions(tgt, tgt_type)
    return sorted(found.get("minions", []))


def push(path: str, tgt: str = "", tgt_type: str = "glob", dest: str = "", force: bool = False,
         wait: bool = False, timeout: int = 3600) -> dict[str, Any]:
    """
    Distribute a file or directory from the master to the targeted minions.

    path
        Absolute path of a file or directory on the master. The master seeds it
        in place (no copy).
    tgt / tgt_type
        Salt targeting (glob, list, grain, compound, nodegroup, ...).
    dest
        Absolute directory on the minions; the content appears at dest/<name>.
    force
        Replace an existing, different file at the destination.
    wait
        Follow progress until every target is done or failed, then summarise.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.push /srv/dist/app-2.3.tar tgt='G@role:web' tgt_type=compound dest=/opt/dist
    """
    user = _user()
    audit = {"path": path, "tgt": tgt, "tgt_type": tgt_type, "dest": dest}
    if (approved := _APPROVED.get()) is not None:
        audit["approved_by"] = approved[1]
    try:
        cfg = _settings()
        source = orders.check_source(path)
        dest = orders.check_dest(dest, cfg.allowed_dest)
        if not tgt:
            return _fail("tgt is required: which minions receive the content (e.g. tgt='web*')")
        targets = _resolve(tgt, tgt_type)
        if not targets:
            return _fail(f"target {tgt!r} ({tgt_type}) matches no minion; nothing was distributed. "
                         "Check it with: salt --preview-target ...")
        _authorize(cfg, user, source.resolve(), tgt, tgt_type, targets)
        held = _hold(cfg, "push", user, targets, {"path": path, "tgt": tgt, "tgt_type": tgt_type,
                                                  "dest": dest, "force": force})
        if held is not None:
            return held
        origin = _origin(cfg)
        origin.ensure()
        tracker = cfg.tracker_url(__opts__)
        # A closed swarm: the torrent carries the master's swarm CA, and the
        # master's signature so minions refuse torrents from anyone else.
        ca = SwarmCA(cfg.ca_dir)
        torrent = signature.sign_torrent(
            metainfo.create_in_subprocess(source, tracker, ca.dir / "ca.pem"),
            Path(__opts__["pki_dir"]) / "master.pem", cfg.allowed_dest)
        meta = metainfo.describe(torrent)
        catalog = _catalog(cfg)
        catalog.add_distribution(dist_id=meta.dist_id, name=source.name, source=str(source),
                                 dest=dest, torrent=torrent, total_bytes=meta.total_size,
                                 num_pieces=meta.num_pieces, user=user, targets=targets)
        torrent_url = origin_side.publish_torrent(cfg, source.name, torrent)
        all_targets = catalog.targets(meta.dist_id)
        origin.call("POST", "/dists", orders.seed_order(
            meta, torrent, source=source, targets=all_targets, upload_limit=cfg.origin_upload_rate))
        _send_topology(cfg, origin, catalog)
        order = orders.fetch_order(meta, torrent, dest=dest, force=force,
                                   tracker=tracker, sites=cfg.sites)
        answers = _order(targets, order, catalog, meta.dist_id)
        if answers.pop("site_grains") != {}:
            _send_topology(cfg, origin, catalog)
    except P2PDistError as exc:
        _audit("push", user, f"refused: {exc}", **audit)
        return _fail(f"p2pdist.push refused: {exc}")
    _audit("push", user, "ok" if not answers["refused"] else "partly refused", id=meta.dist_id,
           minions=len(targets), refused=sorted(answers["refused"]), **audit)
    log.info("p2pdist: %s pushed %s (%s) to %d minions", user, source, meta.dist_id, len(targets))
    result = {"result": not answers["refused"], "id": meta.dist_id, "name": source.name,
              "dest": dest, "bytes": meta.total_size, "pieces": meta.num_pieces,
              "targets": targets, "torrent": torrent_url, **answers}
    if answers["refused"]:
        __context__["retcode"] = result["retcode"] = 1
    if wait:
        result["summary"] = watch_view.follow(catalog, origin, meta.dist_id, timeout, _emit)
        if result["summary"]["state"] != "complete":
            __context__["retcode"] = result["retcode"] = 1
            result["result"] = False
    return result


ORDER_TIMEOUT_S = 30


def _order(targets: list[str], order: dict[str, Any], catalog: Catalog, dist_id: str
           ) -> dict[str, Any]:
    """Publish the order and collect each minion's answer.

    A minion that refuses (a file in the way, a bad dest) is recorded as
    failed with its reason at once; one that does not answer stays pending
    (offline, or slow), and ``p2pdist.status`` shows it so.
    """
    import salt.client

    client = salt.client.get_local_client(mopts=__opts__)
    returns = client.cmd(targets, "p2pdist.fetch", kwarg=order, tgt_type="list",
                         timeout=ORDER_TIMEOUT_S)
    accepted, refused, grains, silent = orders.classify_answers(targets, returns)
    now = time.time()
    catalog.record_reports((dist_id, m, now, {"state": "failed", "error": err})
                           for m, err in refused.items())
    known = catalog.site_overrides()
    changed = {m: s for m, s in grains.items() if known.get(m, "") != s}
    catalog.set_site_overrides(changed)
    return {"accepted": sorted(accepted), "refused": refused,
            "no_answer": sorted(silent), "site_grains": changed}


def _send_topology(cfg: MasterSettings, origin: AgentClient, catalog: Catalog) -> None:
    """The tracker's site map: master config plus minions' site grains."""
    origin.call("POST", "/topology", {"sites": cfg.sites or {}, "overrides": catalog.site_overrides()})


def _emit(line: str) -> None:
    if "__jid_event__" in globals():  # salt-run prints progress events as they come
        __jid_event__.fire_event({"message": line}, "progress")


def status(id: str = "", watch: bool = False, timeout: int = 3600) -> Any:  # noqa: A002
    """
    Show distributions: all of them one line each, or one as a table by site
    (stragglers named). ``--out json`` gives everything, per minion too;
    ``watch=True`` redraws progress until the distribution is done.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.status
        salt-run p2pdist.status 3f9a0c1d2e4b5a69
        salt-run p2pdist.status 3f9a0c1d2e4b5a69 watch=True
        salt-run p2pdist.status 3f9a0c1d2e4b5a69 --out json
    """
    cfg = _settings()
    catalog = _catalog(cfg)
    structured = __opts__.get("output") in ("json", "yaml")
    if id:
        if watch and catalog.distribution(id) is not None:
            watch_view.follow(catalog, _origin(cfg), id, timeout, _emit)
        view = watch_view.view(catalog, _origin(cfg), id)
        if view is None:
            return _fail(f"no distribution {id!r} on this master; list them with: salt-run p2pdist.status")
        return view if structured else status_view.site_lines(view)
    counts = catalog.state_counts()
    out: dict[str, Any] = {}
    for dist in catalog.distributions():
        c = counts.get(dist["id"], {})
        out[dist["id"]] = {**dist, "states": c} if structured else status_view.one_line(dist, c)
    for req in _desk(cfg).pending(ApprovalRule.from_config(cfg.approval).ttl):
        # Held by the two-person rule: nothing was sent yet.
        out[req["id"]] = ({**req, "state": "awaiting approval"} if structured else
                          f"awaiting approval: {req['action']} by {req['user']} "
                          f"({'; '.join(req['reasons'])})")
    return out


def policy(minion: str) -> dict[str, Any]:
    """
    The share policy in force on a minion and where each value came from.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.policy laptop42
    """
    import salt.client

    ret = salt.client.get_local_client(mopts=__opts__).cmd(
        minion, "p2pdist.policy", tgt_type="glob", timeout=30)
    if minion not in ret:
        return _fail(f"{minion} did not answer (unknown or offline)")
    return {minion: ret[minion]}


def stop_seeding(id: str) -> dict[str, Any]:  # noqa: A002
    """
    The master stops serving a distribution; the minions go on sharing it among
    themselves and the tracker keeps introducing them. Frees the HQ uplink once
    full copies are out.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.stop_seeding 3f9a0c1d2e4b5a69
    """
    cfg = _settings()
    if _catalog(cfg).distribution(id) is None:
        return _fail(f"no distribution {id!r} on this master; list them with: salt-run p2pdist.status")
    try:
        _origin(cfg).call("DELETE", f"/dists/{id}?keep_swarm=1")
    except P2PDistError as exc:
        return _fail(f"the master's seeder did not stop {id}: {exc}")
    _audit("stop_seeding", _user(), "ok", id=id)
    return {"result": True, "id": id, "comment": "the master no longer serves this distribution"}


def cancel(id: str, purge: bool = False) -> dict[str, Any]:  # noqa: A002
    """
    Cancel a distribution: every target stops and drops partial data; the master
    stops seeding. Completed copies at dest stay unless ``purge=True``.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.cancel 3f9a0c1d2e4b5a69
    """
    cfg = _settings()
    catalog = _catalog(cfg)
    if catalog.distribution(id) is None:
        return _fail(f"no distribution {id!r} on this master; list them with: salt-run p2pdist.status")
    targets = catalog.targets(id)
    held = _hold(cfg, "cancel", _user(), targets, {"id": id, "purge": purge})
    if held is not None:
        return held
    catalog.cancel(id)
    import salt.client

    ret = salt.client.get_local_client(mopts=__opts__).cmd(
        targets, "p2pdist.remove", [id], kwarg={"purge": purge}, tgt_type="list", timeout=30)
    try:
        _origin(cfg).call("DELETE", f"/dists/{id}")
    except P2PDistError as exc:
        log.warning("p2pdist: origin did not drop %s: %s", id, exc)
    approved = _APPROVED.get()
    _audit("cancel", _user(), "ok", id=id, purge=purge, minions=len(targets),
           **({"approved_by": approved[1]} if approved else {}))
    return {"result": True, "id": id, "minions": ret}


def approve(id: str, wait: bool = False, timeout: int = 3600) -> dict[str, Any]:  # noqa: A002
    """
    Carry out a push or cancel held by the two-person rule (``p2pdist:approval``).
    Another admin than the one who asked must approve; the request then runs
    exactly as it was asked, recorded under both names in the audit log.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.approve 9c1e5a0b7f32
        salt-run p2pdist.approve 9c1e5a0b7f32 wait=True
    """
    cfg = _settings()
    approver = _user()
    try:
        rule = ApprovalRule.from_config(cfg.approval)
        entry = _desk(cfg).take(str(id), approver, rule.ttl)
        if entry["action"] == "push":
            # The approver vouches for the push, so they must be allowed to make it.
            source = orders.check_source(entry["args"]["path"]).resolve()
            targets = _resolve(entry["args"]["tgt"], entry["args"]["tgt_type"])
            _authorize(cfg, approver, source, entry["args"]["tgt"], entry["args"]["tgt_type"], targets)
    except P2PDistError as exc:
        _audit("approve", approver, f"refused: {exc}", request=str(id))
        return _fail(f"p2pdist.approve refused: {exc}")
    _audit("approve", approver, "ok", request=entry["id"], carries_out=entry["action"],
           requested_by=entry["user"])
    token = _APPROVED.set((entry["user"], approver))
    try:
        if entry["action"] == "push":
            result = push(**entry["args"], wait=wait, timeout=timeout)
        else:
            result = cancel(**entry["args"])
    finally:
        _APPROVED.reset(token)
    return {**result, "request": entry["id"], "requested_by": entry["user"], "approved_by": approver}
