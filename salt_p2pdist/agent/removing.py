"""Removing a distribution from the agent: its torrent, its staged data, its files at dest if asked.

Apart from the engine because what goes depends on where the distribution is:
a quiet one has no torrent to remove, one being prepared has a copy to stop
first (preparing.py), staged data is the agent's alone and always goes, and the
files at dest go only when asked (purge).
"""

from __future__ import annotations

import base64
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.preparing import STOP_WAIT_S
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import NotFound
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import describe

log = logging.getLogger(__name__)


def remove(cfg: AgentConfig, book: TransferBook, waiters: AlertWaiters, session: Any, dist_id: str,
           *, remove_data: bool) -> dict[str, Any]:
    """Stop sharing; drop staged data, and the files at dest if asked. The caller holds the ops lock."""
    quiet = book.pop_quiet(dist_id)
    if quiet is not None:  # no torrent to remove
        if remove_data and quiet.dest:  # the origin's seed has none: its source is never removed
            placement.remove_files(Path(quiet.dest), placement.dest_files(
                describe(base64.b64decode(quiet.torrent))))
        book.forget(dist_id)
        return {"dist_id": dist_id, "state": lifecycle.CANCELLED, "removed_data": remove_data,
                "order_id": quiet.order_id, "as_of": time.time()}
    prep = book.pop_preparing(dist_id)
    if prep is not None:  # no torrent yet: stop the copy before its staging goes
        if not prep.halt(STOP_WAIT_S):
            log.warning("%s: the copy into staging did not stop within %.0f s; removing its staging "
                        "anyway", dist_id, STOP_WAIT_S)
        shutil.rmtree(cfg.staging_dir / dist_id, ignore_errors=True)
        book.forget(dist_id)
        return {"dist_id": dist_id, "state": lifecycle.CANCELLED, "removed_data": True,
                "order_id": prep.record.order_id, "as_of": time.time()}
    transfer = book.pop(dist_id)
    if transfer is None:
        raise NotFound(f"no distribution {dist_id} on {cfg.host_id}")
    waiters.wait(dist_id, "removed", lambda: session.remove_torrent(transfer.handle))
    record = transfer.record
    staged = record.phase in (lifecycle.STAGING, lifecycle.MOVING)
    if staged:  # the staging dir is ours alone
        shutil.rmtree(cfg.staging_dir / dist_id, ignore_errors=True)
    elif record.phase == lifecycle.PLACED and remove_data:
        placement.remove_files(Path(record.dest), transfer.files)
    book.forget(dist_id)
    return {"dist_id": dist_id, "state": lifecycle.CANCELLED, "removed_data": remove_data or staged,
            "order_id": record.order_id, "as_of": time.time()}
