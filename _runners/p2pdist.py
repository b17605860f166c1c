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
    from salt_p2pdist.agent.client import AgentClient
    from salt_p2pdist.core import admission, present, reports
    from salt_p2pdist.core import arguments as args_check
    from salt_p2pdist.core import status as status_view
    from salt_p2pdist.core.config import MasterSettings
    from salt_p2pdist.core.errors import Forbidden, P2PDistError
    from salt_p2pdist.files.audit import AuditLog
    from salt_p2pdist.master import orders, trackerhost, waiting
    from salt_p2pdist.master import origin as origin_side
    from salt_p2pdist.master import watch as watch_view
    from salt_p2pdist.master.approval import ApprovalDesk, ApprovalRule
    from salt_p2pdist.master.authz import Admins, host_groups, targets_within
    from salt_p2pdist.master.catalog import Catalog
    from salt_p2pdist.master.terminal import Painter
    from salt_p2pdist.torrent import creation, metainfo, signature
    from salt_p2pdist.torrent.swarmca import SwarmCA

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
               targets: list[str]) -> bool:
    """p2pdist:admins, on top of Salt's own ACLs: which user may push what to whom.

    True if the user may push to any minion (then a re-push also re-orders
    the distribution's earlier targets, see status.to_order).
    """
    admins = Admins.from_config(cfg.admins)
    groups = host_groups(user) if admins.grants else []
    admins.check(user, groups, source, tgt, tgt_type)
    allowed = admins.targets_for(user, groups, source)
    # The expression matched; the minions it names must be within the allowed ones too.
    if allowed is not None and not targets_within(
            set(targets), [set(_resolve(expr, "compound")) for expr in allowed]):
        raise Forbidden(f"{user} may push only to {', '.join(allowed)}; {tgt!r} reaches other minions")
    return allowed is None


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


PUSH_ARGS = {"path": args_check.Spec(str, required=True, hint="the file or directory to push"),
             "tgt": args_check.Spec(str, required=True, hint="which minions receive the content"
                                    " (e.g. tgt='web*')"),
             "tgt_type": args_check.TGT_TYPE, "dest": args_check.TEXT, "force": args_check.FLAG,
             "wait": args_check.FLAG, "timeout": args_check.SECONDS,
             "order_timeout": args_check.SECONDS}


def push(path: str = "", tgt: str = "", tgt_type: str = "glob", dest: str = "", force: bool = False,
         wait: bool = False, timeout: int = 3600, order_timeout: int = 30, allow: str = "",
         allow_type: str = "glob", *args: Any, **kwargs: Any) -> dict[str, Any]:
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
    allow / allow_type
        Minions that may fetch the content later through a ``p2pdist.present``
        state (they get no order now), as a Salt target expression. Resolved
        now: a minion accepted later is not admitted until the next push.
        Everyone else, targeted neither way, is refused.
    wait
        Follow progress until every target is done or failed, then summarise.
        The live progress goes to stderr; the result is the one document on stdout.
    timeout
        With ``wait``: stop following after this many seconds (default 3600).
    order_timeout
        Seconds to wait for the minions' answers to the order (default 30). An
        offline minion is waited for that long; it gets the order when it returns.

    Pushing the same content again also re-orders every earlier target that
    does not hold a verified copy (failed, removed, never answered); the same
    content to another dest is refused until it is cancelled.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.push /srv/dist/app-2.3.tar tgt='G@role:web' tgt_type=compound dest=/opt/dist
        salt-run p2pdist.push /srv/dist/app-2.3.tar tgt='web1' allow='web*' dest=/opt/dist
    """
    bad = args_check.invalid("p2pdist.push", PUSH_ARGS, locals(), kwargs, args)
    if bad:
        return _fail(bad)
    user = _user()
    painter = Painter()
    audit = {"path": path, "tgt": tgt, "tgt_type": tgt_type, "dest": dest,
             **({"allow": allow, "allow_type": allow_type} if allow else {})}
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
        unrestricted = _authorize(cfg, user, source.resolve(), tgt, tgt_type, targets)
        allowed = _resolve(allow, allow_type) if allow else []
        if allow and not allowed:
            return _fail(f"allow {allow!r} ({allow_type}) matches no minion; nothing was distributed. "
                         "Check it with: salt --preview-target ...")
        if allow:  # allowing is granting: the same p2pdist:admins rules apply
            _authorize(cfg, user, source.resolve(), allow, allow_type, allowed)
        held = _hold(cfg, "push", user, sorted({*targets, *allowed}), {
            "path": path, "tgt": tgt, "tgt_type": tgt_type, "dest": dest, "force": force,
            "order_timeout": order_timeout, "allow": allow, "allow_type": allow_type})
        if held is not None:
            return held
        origin = _origin(cfg)
        origin.ensure()
        tracker = trackerhost.tracker_url(cfg, __opts__)
        # A closed swarm: the torrent carries the master's swarm CA, and the
        # master's signature so minions refuse torrents from anyone else.
        ca = SwarmCA(cfg.ca_dir)
        unsigned = creation.create_in_subprocess(source, tracker, ca.dir / "ca.pem")
        meta = metainfo.describe(unsigned)
        catalog = _catalog(cfg)
        existing = catalog.distribution(meta.dist_id)
        orders.check_same_dest(existing, dest)  # before anything is recorded
        # A re-push also orders every earlier target that does not hold the copy.
        earlier = catalog.host_rows(meta.dist_id) if existing and not existing["cancelled"] else []
        targets = status_view.to_order(targets, earlier if unrestricted else [])
        # Earlier pushes of the same content stay admitted (same id, same swarm).
        admitted = admission.admitted_list(
            [*targets, *catalog.targets(meta.dist_id)], [*allowed, *catalog.allowed(meta.dist_id)],
            targets_only=cfg.targets_only)
        torrent = signature.sign_torrent(unsigned, Path(__opts__["pki_dir"]) / "master.pem",
                                         cfg.allowed_dest, admitted)
        order_id = catalog.add_distribution(
            dist_id=meta.dist_id, name=source.name, source=str(source), dest=dest, torrent=torrent,
            total_bytes=meta.total_size, num_pieces=meta.num_pieces, user=user, targets=targets,
            allowed=allowed, rule=f"{allow} ({allow_type})")
        torrent_url = origin_side.publish_torrent(cfg, meta.dist_id, source.name, torrent)
        # The tracker certifies exactly the admitted hosts.
        swarm_hosts = sorted({*catalog.targets(meta.dist_id), *catalog.allowed(meta.dist_id)})
        origin.call("POST", "/dists", orders.seed_order(
            meta, torrent, source=source, targets=swarm_hosts, upload_limit=cfg.origin_upload_rate))
        _send_topology(cfg, origin, catalog)
        order = orders.fetch_order(meta, torrent, dest=dest, force=force,
                                   tracker=tracker, sites=cfg.sites, order_id=order_id)
        answers = _order(targets, order, catalog, meta.dist_id, order_timeout, painter)
        if answers.pop("site_grains") != {}:
            _send_topology(cfg, origin, catalog)
    except P2PDistError as exc:
        _audit("push", user, f"refused: {exc}", **audit)
        return _fail(f"p2pdist.push refused: {exc}")
    _audit("push", user, "ok" if not answers["refused"] else "partly refused", id=meta.dist_id,
           minions=len(targets), allowed=allowed, refused=sorted(answers["refused"]), **audit)
    log.info("p2pdist: %s pushed %s (%s) to %d minions", user, source, meta.dist_id, len(targets))
    result = {"result": not answers["refused"], "id": meta.dist_id, "name": source.name,
              "dest": dest, "bytes": meta.total_size, "pieces": meta.num_pieces,
              "targets": targets, "allowed": allowed, "torrent": torrent_url, **answers}
    if answers["refused"]:
        __context__["retcode"] = result["retcode"] = 1
    if wait:
        last = watch_view.follow(catalog, origin, meta.dist_id, timeout, painter)
        result["summary"] = last["distribution"]
        if result["summary"]["state"] != "complete":
            __context__["retcode"] = result["retcode"] = 1
            result["result"] = False
    return _shown(result)


ORDER_TIMEOUT_S = 30


def _order(targets: list[str], order: dict[str, Any], catalog: Catalog, dist_id: str,
           order_timeout: int = ORDER_TIMEOUT_S, painter: Painter | None = None) -> dict[str, Any]:
    """Publish the order and collect each minion's answer.

    Every answer is recorded at once, stamped with the minion's time: a
    refusal (a file in the way, a bad dest) as failed with its reason, an
    acceptance as the state it reports. One that does not answer stays
    pending (offline, or slow), and ``p2pdist.status`` shows it so.
    """
    import salt.client

    client = salt.client.get_local_client(mopts=__opts__)
    returns = waiting.collect(client, targets, "p2pdist.fetch", order, order_timeout,
                              painter or Painter())
    accepted, refused, grains, silent = orders.classify_answers(targets, returns)
    catalog.record_reports(reports.rows_from_answers(dist_id, order.get("order_id", ""), returns,
                                                     refused, time.time()))
    known = catalog.site_overrides()
    changed = {m: s for m, s in grains.items() if known.get(m, "") != s}
    catalog.set_site_overrides(changed)
    return {"accepted": sorted(accepted), "refused": refused,
            "no_answer": sorted(silent), "site_grains": changed}


def _send_topology(cfg: MasterSettings, origin: AgentClient, catalog: Catalog) -> None:
    """The tracker's site map: master config plus minions' site grains."""
    origin.call("POST", "/topology", {"sites": cfg.sites or {}, "overrides": catalog.site_overrides()})


def _structured() -> bool:
    return present.is_structured(__opts__.get("output"))


def _shown(result: Any) -> Any:
    """The one document on stdout: ISO dates; for people also no unknown (None) values."""
    return present.for_json(result) if _structured() else present.for_humans(result)


STATUS_ARGS = {"id": args_check.TEXT, "watch": args_check.FLAG, "timeout": args_check.SECONDS}


def status(id: str = "", watch: bool = False, timeout: int = 3600, *args: Any,  # noqa: A002
           **kwargs: Any) -> Any:
    """
    Show distributions: all of them one line each (state, size, dest, when and
    by whom), or one with a bar per site (stragglers named). ``--out json``
    gives everything, per minion too, dates in ISO 8601; ``watch=True`` draws
    live progress on stderr until the distribution is done.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.status
        salt-run p2pdist.status 3f9a0c1d2e4b5a69
        salt-run p2pdist.status 3f9a0c1d2e4b5a69 watch=True
        salt-run p2pdist.status 3f9a0c1d2e4b5a69 --out json
    """
    bad = args_check.invalid("p2pdist.status", STATUS_ARGS, locals(), kwargs, args)
    if bad:
        return _fail(bad)
    cfg = _settings()
    catalog = _catalog(cfg)
    if id:
        if watch and catalog.distribution(id) is not None:
            watch_view.follow(catalog, _origin(cfg), id, timeout, Painter())
        view = watch_view.view(catalog, _origin(cfg), id)
        if view is None:
            return _fail(f"no distribution {id!r} on this master; list them with: salt-run p2pdist.status")
        return present.for_json(view) if _structured() else "\n".join(present.detail_lines(view))
    now = time.time()
    entries = [present.list_entry(status_view.distribution_view(
        dist, catalog.host_rows(dist["id"]), now)["distribution"]) for dist in catalog.distributions()]
    # Held by the two-person rule: nothing was sent yet.
    held = {req["id"]: {**req, "state": "awaiting approval"}
            for req in _desk(cfg).pending(ApprovalRule.from_config(cfg.approval).ttl)}
    if _structured():
        return {**{e["id"]: e for e in entries}, **held}
    lines = {rid: f"awaiting approval: {req['action']} by {req['user']} ({'; '.join(req['reasons'])})"
             for rid, req in held.items()}
    listed = present.list_for_humans(entries)
    if not lines:
        return listed
    return {**listed, **lines} if isinstance(listed, dict) else lines


POLICY_ARGS = {"tgt": args_check.Spec(str, required=True, hint="which minions (e.g. 'laptop*')"),
               "tgt_type": args_check.TGT_TYPE, "timeout": args_check.SECONDS}


def policy(tgt: str = "", tgt_type: str = "glob", timeout: int = 30, *args: Any,
           **kwargs: Any) -> dict[str, Any]:
    """
    The share policy in force on the targeted minions and where each value came
    from. Fails (exit 1) when a targeted minion does not answer or refused its
    pillar policy (the last valid one then stays in force).

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.policy laptop42
        salt-run p2pdist.policy 'laptop*'
        salt-run p2pdist.policy G@site:lyon tgt_type=compound
    """
    bad = args_check.invalid("p2pdist.policy", POLICY_ARGS, locals(), kwargs, args)
    if bad:
        return _fail(bad)
    import salt.client

    targets = _resolve(tgt, tgt_type)
    if not targets:
        return _fail(f"target {tgt!r} ({tgt_type}) matches no minion. "
                     "Check it with: salt --preview-target ...")
    ret = salt.client.get_local_client(mopts=__opts__).cmd(
        targets, "p2pdist.policy", tgt_type="list", timeout=timeout)
    out: dict[str, Any] = {m: ret.get(m, "did not answer (offline or busy)") for m in targets}
    if any(not isinstance(r, dict) or not r.get("result") for r in out.values()):
        __context__["retcode"] = out["retcode"] = 1
    return _shown(out)


def stop_seeding(id: str = "", *args: Any, **kwargs: Any) -> dict[str, Any]:  # noqa: A002
    """
    The master stops serving a distribution; the minions go on sharing it among
    themselves and the tracker keeps introducing them. Frees the HQ uplink once
    full copies are out. Asking again changes nothing (the swarm stays).

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.stop_seeding 3f9a0c1d2e4b5a69
    """
    bad = args_check.invalid("p2pdist.stop_seeding", {"id": args_check.DIST_ID}, locals(),
                             kwargs, args)
    if bad:
        return _fail(bad)
    cfg = _settings()
    if _catalog(cfg).distribution(id) is None:
        return _fail(f"no distribution {id!r} on this master; list them with: salt-run p2pdist.status")
    try:
        _origin(cfg).call("DELETE", f"/dists/{id}?keep_swarm=1")
    except P2PDistError as exc:
        return _fail(f"the master's seeder did not stop {id}: {exc}")
    _audit("stop_seeding", _user(), "ok", id=id)
    return {"result": True, "id": id, "comment": "the master no longer serves this distribution"}


CANCEL_ARGS = {"id": args_check.DIST_ID, "purge": args_check.FLAG}


def cancel(id: str = "", purge: bool = False, *args: Any, **kwargs: Any  # noqa: A002
           ) -> dict[str, Any]:
    """
    Cancel a distribution: every target stops and drops partial data; the master
    stops seeding. Completed copies at dest stay unless ``purge=True``. A
    minion that no longer holds it counts as done; one that does not answer
    is named in ``no_answer`` and the exit code is 1: run the cancel again
    once it is back.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.cancel 3f9a0c1d2e4b5a69
    """
    bad = args_check.invalid("p2pdist.cancel", CANCEL_ARGS, locals(), kwargs, args)
    if bad:
        return _fail(bad)
    cfg = _settings()
    catalog = _catalog(cfg)
    if catalog.distribution(id) is None:
        return _fail(f"no distribution {id!r} on this master; list them with: salt-run p2pdist.status")
    targets = catalog.targets(id)
    held = _hold(cfg, "cancel", _user(), targets, {"id": id, "purge": purge})
    if held is not None:
        return held
    catalog.cancel(id)  # first: a minion that starts now is not ordered again
    import salt.client

    ret = salt.client.get_local_client(mopts=__opts__).cmd(
        targets, "p2pdist.remove", [id], kwarg={"purge": purge}, tgt_type="list", timeout=30)
    try:
        _origin(cfg).call("DELETE", f"/dists/{id}")
    except P2PDistError as exc:
        log.warning("p2pdist: origin did not drop %s: %s", id, exc)
    # Already gone from a minion counts as done; one that did not answer still holds it.
    _accepted, refused, _grains, silent = orders.classify_answers(targets, ret)
    ok = not refused and not silent
    approved = _APPROVED.get()
    _audit("cancel", _user(), "ok" if ok else "partly done", id=id, purge=purge,
           minions=len(targets), refused=sorted(refused), no_answer=sorted(silent),
           **({"approved_by": approved[1]} if approved else {}))
    result = {"result": ok, "id": id, "minions": ret, "refused": refused,
              "no_answer": sorted(silent)}
    if not ok:
        __context__["retcode"] = result["retcode"] = 1
        result["error"] = (f"{', '.join(sorted([*refused, *silent]))} did not remove {id}; "
                           "they may still hold and share it. Run this cancel again once they "
                           "are back (see the per-minion answers)")
    return result


APPROVE_ARGS = {"id": args_check.Spec(str, required=True, hint="the request id a held push or cancel"
                                    " returned, as listed by: salt-run p2pdist.status"),
                "wait": args_check.FLAG, "timeout": args_check.SECONDS}


def approve(id: str = "", wait: bool = False, timeout: int = 3600, *args: Any,  # noqa: A002
            **kwargs: Any) -> dict[str, Any]:
    """
    Carry out a push or cancel held by the two-person rule (``p2pdist:approval``).
    Another admin than the one who asked must approve; the request then runs
    exactly as it was asked, recorded under both names in the audit log.

    CLI Example:

    .. code-block:: bash

        salt-run p2pdist.approve 9c1e5a0b7f32
        salt-run p2pdist.approve 9c1e5a0b7f32 wait=True
    """
    bad = args_check.invalid("p2pdist.approve", APPROVE_ARGS, locals(), kwargs, args)
    if bad:
        return _fail(bad)
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
