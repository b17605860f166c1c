"""Moving a finished download from staging into dest, then seeding from there.

The torrent is removed (its files closed) before the files are renamed into
place, then added again with the resume data saved just before, pointing at
dest: libtorrent then trusts the pieces and seeds without re-hashing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import libtorrent as lt

from salt_p2pdist.agent import placing
from salt_p2pdist.agent.transfer import Transfer, status_of
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.torrent import placement

if TYPE_CHECKING:
    from salt_p2pdist.agent.engine import Engine

log = logging.getLogger(__name__)


def finish(engine: Engine, transfer: Transfer) -> None:
    """Worker thread: save resume data, remove, move into dest, add again as a seed."""
    dist_id, record = transfer.dist_id, transfer.record
    record["failed_bytes"] = status_of(transfer)["failed_bytes"]
    resume, removed = None, False
    try:
        resume = engine._wait(dist_id, "resume", lambda: transfer.handle.save_resume_data(
            lt.torrent_handle.flush_disk_cache | lt.torrent_handle.save_info_dict))
        with engine.lock:
            engine._wait(dist_id, "removed", lambda: engine.session.remove_torrent(transfer.handle))
            removed = True
            dest = Path(record["dest"])
            placement.place(engine.cfg.staging_dir / dist_id, dest, transfer.files,
                            force=record["force"])
            record.update(phase="placed", save_path=str(placement.save_path(dest, transfer.meta)))
            if transfer.ledger is not None:
                record["ledger"] = dict(transfer.ledger.totals)
                record["site_seen"] = transfer.ledger.own_site
            engine.store.save(dist_id, record)
            engine.store.save_resume(dist_id, resume)
            engine.transfers[dist_id] = engine.start(record, resume)
    except (OSError, P2PDistError, RuntimeError) as exc:
        log.error("finishing %s failed: %s", dist_id, exc)
        placing.keep_staged(engine, transfer, resume, removed,
                            f"moving into {record.get('dest')} failed: {exc}")
    finally:
        transfer.finishing = False


def forget_bans(engine: Engine, transfer: Transfer) -> None:
    """Worker thread: re-add a download with an empty peer list, lifting libtorrent's bans.

    libtorrent bans every peer that contributed to a piece failing its hash
    once its trust runs out, so a piece mixing blocks from a corrupt peer and
    the origin can cost the origin's entry, and with it the download's only
    good source. The corrupt peer's address stays blocked (bans.py).
    """
    dist_id, record = transfer.dist_id, transfer.record
    try:
        resume = engine._wait(dist_id, "resume", lambda: transfer.handle.save_resume_data(
            lt.torrent_handle.flush_disk_cache | lt.torrent_handle.save_info_dict))
        params = lt.read_resume_data(resume)
        params.banned_peers = []  # resume data carries libtorrent's bans
        resume = bytes(lt.write_resume_data_buf(params))
        with engine.lock:
            if engine.transfers.get(dist_id) is not transfer or transfer.finishing:
                return
            record["failed_bytes"] = status_of(transfer)["failed_bytes"]
            if transfer.ledger is not None:
                record["ledger"] = dict(transfer.ledger.totals)
            engine._wait(dist_id, "removed", lambda: engine.session.remove_torrent(transfer.handle))
            engine.store.save(dist_id, record)
            engine.store.save_resume(dist_id, resume)
            engine.transfers[dist_id] = engine.start(record, resume)
        log.warning("%s: re-added with a fresh peer list so the origin is reachable again", dist_id)
    except (OSError, P2PDistError, RuntimeError) as exc:
        log.error("re-adding %s failed: %s", dist_id, exc)
