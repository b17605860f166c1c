"""From an order to a record, and from a record to a torrent in the session.

The checks a new order passes before anything is written (dest names, the
allowed roots, what is already at dest), and the parameters libtorrent gets
for a record: where the files are, which tracker, seed or fetch.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import libtorrent as lt

from salt_p2pdist.agent import freespace, seeding
from salt_p2pdist.agent.certify import announce_url
from salt_p2pdist.agent.ledger import PeerLedger
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.core import delta, lifecycle, names, priority
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import TorrentMeta


def new_record(order: dict[str, Any], meta: TorrentMeta, staging_dir: Path,
               held: Sequence[seeding.Held]) -> tuple[OrderRecord, list[delta.Seed]]:
    """The record of a checked order, and the older copies this host holds (``held``
    distributions, the files at dest) to seed its staging from: if there are any, the record
    is in phase preparing and agent/preparing.py copies them (libtorrent's check pass then
    keeps what matches). Only looks (a stat per file): nothing is copied or hashed here."""
    record = OrderRecord(dist_id=meta.dist_id, mode=order["mode"], torrent=order["torrent"],
                         phase=lifecycle.SEED, save_path="", name=meta.name,
                         tracker=order.get("tracker") or meta.tracker, force=bool(order.get("force")),
                         targets=order.get("targets") or [], upload_limit=int(order.get("upload_limit") or 0),
                         sites=order.get("sites") or {}, site=order.get("site") or "",
                         order_id=str(order.get("order_id") or ""),
                         priority=priority.level_of(order.get("priority")))
    if order["mode"] == "seed":
        record.save_path = str(placement.save_path(Path(order["source"]).parent, meta))
        return record, []
    dest = Path(order["dest"])
    files = placement.dest_files(meta)
    names.check_length(str(dest), [rel for rel, _, _ in files], names.local_flavor())
    # Staging too: on Windows it is the longer path (MAX_PATH 260) far more often.
    names.check_length(str(staging_dir / meta.dist_id), [rel for rel, _, _ in files], names.local_flavor())
    if order.get("allowed_dest") is not None:
        placement.check_within(dest, [Path(r) for r in order["allowed_dest"]], files)
    # Files an older version held here placed at dest are replaced without force.
    verdict = placement.check_destination(dest, files, force=record.force,
                                          replaceable=seeding.replaceable(dest, files, held))
    base = dest if verdict == placement.IDENTICAL else staging_dir / meta.dist_id
    seeds: list[delta.Seed] = []
    if verdict != placement.IDENTICAL:
        freespace.check_fetch(base, dest, files)  # before anything is written to staging
        record.supersedes = [t.dist_id for t in seeding.older_versions(dest, files, held, placed_only=False)]
        seeds = seeding.choose(dest, files, held)
    record.dest = str(dest)
    record.phase = (lifecycle.PLACED if verdict == placement.IDENTICAL
                    else lifecycle.PREPARE if seeds else lifecycle.STAGING)
    record.save_path = str(placement.save_path(base, meta))
    return record, seeds


def torrent_params(record: OrderRecord, resume: bytes | None, host_id: str) -> Any:
    """libtorrent's add_torrent_params for ``record``, from resume data if there is some."""
    if record.phase == lifecycle.PREPARE:  # a bug: the copy into staging must end first
        raise lifecycle.IllegalTransition(f"{record.dist_id}: its torrent is added once staging is seeded")
    atp = lt.read_resume_data(resume) if resume else lt.load_torrent_buffer(base64.b64decode(record.torrent))
    if atp.ti is None:  # resume data saved without the info dict (lightresume.py)
        atp.ti = lt.load_torrent_buffer(base64.b64decode(record.torrent)).ti
    atp.save_path = record.save_path
    # Not auto-managed: libtorrent's queue would stop seeding past 5 torrents.
    atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    if record.phase == lifecycle.SEED:
        atp.trackers = []
        if not resume:
            atp.flags |= lt.torrent_flags.seed_mode  # just hashed by the master
    else:
        # A closed swarm gets its tracker only after its certificate is set (joining.py).
        closed = bool(atp.ti and atp.ti.ssl_cert())
        atp.trackers = [] if closed else [announce_url(record.tracker, host_id)]
    return atp


def ledger_for(record: OrderRecord, host_id: str) -> PeerLedger | None:
    """Counting bytes by source, for fetches; totals kept across re-adds."""
    if record.mode != "fetch":
        return None
    sites = SiteMap.from_config(record.sites, {host_id: record.site} if record.site else None)
    ledger = PeerLedger(sites, host_id, urlsplit(record.tracker).hostname or "", own_site=record.site_seen)
    ledger.totals.update(record.ledger)  # kept across the move into dest
    return ledger
