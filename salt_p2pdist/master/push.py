"""A push: from an admin's request to orders on the minions (``salt-run p2pdist.push``).

Checks first, so a refused push changes nothing: the source and dest, the
targets, ``p2pdist:admins`` and the two-person rule. Then the torrent is made
and signed, the distribution recorded, the master's seeder started on it, and
the order published to the targets, whose answers are recorded at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import admission
from salt_p2pdist.core import arguments as args_check
from salt_p2pdist.core import priority as priorities
from salt_p2pdist.core import status as status_view
from salt_p2pdist.core.agentorders import seed_order
from salt_p2pdist.core.errors import NotFound, P2PDistError
from salt_p2pdist.core.quiet import parse_grace
from salt_p2pdist.master import orders, origin, pacing, publishing, quieting, trackerhost, watch
from salt_p2pdist.master import plan as planning
from salt_p2pdist.master.caller import Caller, failed
from salt_p2pdist.master.terminal import Painter
from salt_p2pdist.torrent import creation, metainfo, signature
from salt_p2pdist.torrent.swarmca import SwarmCA

log = logging.getLogger(__name__)
NO_MATCH = "matches no minion; nothing was distributed. Check it with: salt --preview-target ..."
ARGS = {"path": args_check.Spec(str, required=True, hint="the file or directory to push"),
        "tgt": args_check.Spec(str, required=True, hint="which minions receive the content"
                               " (e.g. tgt='web*')"),
        "tgt_type": args_check.TGT_TYPE, "dest": args_check.Spec(object),  # a path, or {os: path}
        "force": args_check.FLAG,
        "wait": args_check.FLAG, "timeout": args_check.SECONDS, "order_timeout": args_check.SECONDS,
        "quiet_after": args_check.Spec(object),  # seconds, "2h", "7d" or "never" (core/quiet.py)
        "priority": args_check.Spec(str)}  # urgent, normal or background (core/priority.py)


@dataclass(frozen=True)
class PushRequest:
    """What the admin asked for (see the runner's ``p2pdist.push`` for each field)."""
    path: str
    tgt: str
    tgt_type: str = "glob"
    dest: Any = ""  # a path, or one per OS: {windows: ..., posix: ...}
    force: bool = False
    order_timeout: int = publishing.ORDER_TIMEOUT_S
    allow: str = ""
    allow_type: str = "glob"
    wait: bool = False
    timeout: int = 3600
    quiet_after: Any = ""  # the swarm's grace once every target holds it; "" for p2pdist:quiet_after
    priority: str = ""  # urgent, normal or background; "" keeps a re-push's level (new: normal)


def push(caller: Caller, req: PushRequest, painter: Painter | None = None) -> dict[str, Any]:
    """Push, or refuse with nothing changed; the answer ``salt-run`` prints (before presentation)."""
    painter = painter or Painter()
    audit = {"path": req.path, "tgt": req.tgt, "tgt_type": req.tgt_type, "dest": req.dest,
             **({"allow": req.allow, "allow_type": req.allow_type} if req.allow else {}),
             **({"approved_by": caller.approved_by} if caller.approved_by else {})}
    try:
        grace = parse_grace(req.quiet_after) if req.quiet_after != "" else caller.cfg.quiet_after_s
        if req.priority != "":
            audit["priority"] = priorities.parse(req.priority)
        source = orders.check_source(req.path)
        dest = orders.check_dest(req.dest, caller.cfg.allowed_dest)
        if not req.tgt:
            return failed("tgt is required: which minions receive the content (e.g. tgt='web*')")
        targets = caller.minions.resolve(req.tgt, req.tgt_type)
        if not targets:
            return failed(f"target {req.tgt!r} ({req.tgt_type}) {NO_MATCH}")
        unrestricted = caller.authorize(source.resolve(), req.tgt, req.tgt_type, targets)
        allowed = caller.minions.resolve(req.allow, req.allow_type) if req.allow else []
        if req.allow and not allowed:
            return failed(f"allow {req.allow!r} ({req.allow_type}) {NO_MATCH}")
        if req.allow:  # allowing is granting: the same p2pdist:admins rules apply
            caller.authorize(source.resolve(), req.allow, req.allow_type, allowed)
        held_args = {k: v for k, v in asdict(req).items() if k not in ("wait", "timeout")}
        held = caller.hold("push", sorted({*targets, *allowed}), {**held_args, "dest": dest})
        if held is not None:
            return held
        result = _distribute(caller, req, source, dest, targets, allowed, unrestricted, painter, grace)
    except P2PDistError as exc:
        caller.audit("push", f"refused: {exc}", **audit)
        return failed(f"p2pdist.push refused: {exc}")
    caller.audit("push", "ok" if not result["refused"] else "partly refused", id=result["id"],
                 minions=len(result["targets"]), allowed=allowed, refused=sorted(result["refused"]),
                 **audit)
    log.info("p2pdist: %s pushed %s (%s) to %d minions", caller.user, source, result["id"],
             len(result["targets"]))
    if result["refused"]:
        result["retcode"] = 1
    if req.wait:
        last = watch.follow(caller.catalog(), caller.origin(), result["id"], req.timeout, painter)
        result["summary"] = last["distribution"]
        if result["summary"]["state"] != "complete":
            result["retcode"], result["result"] = 1, False
    return caller.shown(result)


def _distribute(caller: Caller, req: PushRequest, source: Path, dest: str, targets: list[str],
                allowed: list[str], unrestricted: bool, painter: Painter,
                grace: float | None) -> dict[str, Any]:
    """Make, sign and record the torrent, seed it, and order the targets to fetch it.

    A swarm set to go quiet (or quiet) is woken first, so its holders serve the
    new targets; if the master stopped seeding it and minions hold it, it is
    not seeded again: the holders serve.
    """
    cfg = caller.cfg
    # A closed swarm: the torrent carries the master's swarm CA, and the
    # master's signature so minions refuse torrents from anyone else.
    ca_file = SwarmCA(cfg.ca_dir).dir / "ca.pem"  # made here if new, before the origin reads it
    seeder = caller.origin()
    seeder.start()  # a first push starts the origin while the content is hashed
    tracker = trackerhost.tracker_url(cfg, caller.opts)
    started = time.monotonic()
    unsigned = creation.create_in_subprocess(source, tracker, ca_file)
    meta = metainfo.describe(unsigned)
    seeder.ensure()
    # Hashing is most of a push's start-up for big content: the log says how much.
    log.info("p2pdist: %s: torrent made in %.2f s (%d pieces)", meta.dist_id,
             time.monotonic() - started, meta.num_pieces)
    catalog = caller.catalog()
    existing = catalog.distribution(meta.dist_id)
    orders.check_same_dest(existing, dest)  # before anything is recorded
    # A re-push also orders every earlier target that does not hold the copy.
    earlier = catalog.host_rows(meta.dist_id) if existing and not existing["cancelled"] else []
    targets = status_view.to_order(targets, earlier if unrestricted else [])
    # Earlier pushes of the same content stay admitted (same id, same swarm).
    admitted = admission.admitted_list(
        [*targets, *catalog.targets(meta.dist_id)], [*allowed, *catalog.allowed(meta.dist_id)],
        targets_only=cfg.targets_only)
    torrent = signature.sign_torrent(unsigned, Path(caller.opts["pki_dir"]) / "master.pem",
                                     cfg.allowed_dest, admitted)
    quieting.wake(cfg, seeder, caller.minions, catalog, meta.dist_id, user=caller.user, why="push",
                  ordered=targets)
    held_by = quieting.holders(earlier)
    order_id = catalog.add_distribution(
        dist_id=meta.dist_id, name=source.name, source=str(source), dest=dest, torrent=torrent,
        total_bytes=meta.total_size, num_pieces=meta.num_pieces, user=caller.user, targets=targets,
        allowed=allowed, rule=f"{req.allow} ({req.allow_type})", quiet_after=quieting.stored_grace(grace),
        priority=priorities.parse(req.priority) if req.priority != "" else "")
    level = priorities.level_of((catalog.distribution(meta.dist_id) or {}).get("priority"))
    torrent_url = origin.publish_torrent(cfg, meta.dist_id, source.name, torrent)
    # The tracker certifies exactly the admitted hosts.
    swarm_hosts = sorted({*catalog.targets(meta.dist_id), *catalog.allowed(meta.dist_id)})
    seeds = not held_by or not _joins_kept_swarm(seeder, meta.dist_id, swarm_hosts)
    publishing.send_topology(cfg, seeder, catalog)  # the WAN's rates before the swarm's relays
    if seeds:
        relays = planning.relays(cfg, targets, lambda: planning.grains_reader(caller.opts))
        seeder.call("POST", "/dists", seed_order(torrent, source=source, targets=swarm_hosts,
                                                 upload_limit=cfg.origin_upload_rate, priority=level,
                                                 relays=relays))
    else:
        seeder.call("POST", f"/swarms/{meta.dist_id}", {"priority": level}, timeout=10)
    order = orders.fetch_order(meta, torrent, dest=dest, force=req.force, tracker=tracker,
                               sites=cfg.sites, order_id=order_id, priority=level,
                               report_every=pacing.pace(cfg, catalog, targets))
    answers = publishing.publish(caller.minions, targets, order, catalog, req.order_timeout, painter)
    if answers.pop("site_grains") != {}:
        publishing.send_topology(cfg, seeder, catalog)
    quieting.note_complete(cfg, seeder, catalog, [meta.dist_id])  # every target held it already
    return {"result": not answers["refused"], "id": meta.dist_id, "name": source.name,
            "origin": "seeding" if seeds else f"not seeding (stopped); {len(held_by)} holders serve",
            "dest": dest, "priority": level, "bytes": meta.total_size, "pieces": meta.num_pieces,
            "targets": targets, "allowed": allowed, "torrent": torrent_url, **answers}


def _joins_kept_swarm(seeder: AgentClient, dist_id: str, hosts: list[str]) -> bool:
    """If the master stopped seeding ``dist_id`` (stop_seeding), admit ``hosts`` to its kept swarm
    and say True; False if the origin seeds it (or never did): then it is seeded as usual."""
    try:
        seeder.call("GET", f"/dists/{dist_id}", timeout=10)
        return False
    except NotFound:
        pass
    try:
        seeder.call("POST", f"/swarms/{dist_id}", {"targets": hosts}, timeout=10)
    except NotFound:
        return False
    return True
