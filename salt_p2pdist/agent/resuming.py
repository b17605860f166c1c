"""Resume data across the agent's restarts: trusted after a clean stop, re-checked after a crash.

Resume data says which pieces a download holds, so a restarted agent need
not hash its files again. It is saved every 30 s (the agent's own,
lightresume.py) and at a clean stop, which leaves a marker; without the
marker the last save may be older than the pieces written since, and a
staged download is checked against its files instead of fetching those
pieces again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import libtorrent as lt

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.lightresume import light_resume
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer, recheck
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import P2PDistError

log = logging.getLogger(__name__)


def clean_stop_marker(state_dir: Path) -> Path:
    return state_dir / "clean_stop"


def resume_all(book: TransferBook, state_dir: Path,
               start: Callable[[OrderRecord, bytes | None], Transfer],
               prepare: Callable[[OrderRecord], None]) -> None:
    """Start every recorded distribution again (a quiet one stays closed until woken; one whose
    staging was being seeded is seeded again, once the others are back: they are what it copies)."""
    # After a crash, resume data can be older than the pieces already
    # written (saved every 30 s): trusting it would fetch those pieces
    # again. Downloads are then re-checked against the files instead.
    marker = clean_stop_marker(state_dir)
    clean = marker.exists()
    marker.unlink(missing_ok=True)
    unseeded = []
    for record, resume in book.load():
        if record.phase == lifecycle.DORMANT:  # its swarm is quiet: no torrent until woken
            book.keep_quiet(record)
            continue
        if record.phase == lifecycle.PREPARE:
            unseeded.append(record)
            continue
        try:
            transfer = start(record, resume)
            if resume and not clean and record.phase == lifecycle.STAGING:
                log.info("%s: re-checking staged pieces (the last stop was not clean)", record.dist_id)
                recheck(transfer.handle)  # not at once: libtorrent would ignore it
        except (P2PDistError, RuntimeError) as exc:
            log.error("cannot resume %s: %s", record.dist_id, exc)
    for record in unseeded:
        try:
            prepare(record)
        except (P2PDistError, OSError, ValueError) as exc:
            log.error("cannot resume %s: %s", record.dist_id, exc)


def save_all(book: TransferBook, waiters: AlertWaiters) -> None:
    """Save every transfer's resume data (the session paused); one that cannot be saved is logged.

    A download keeps libtorrent's own, which lists the blocks of its unfinished pieces too;
    a seed the agent's, without block hashes (lightresume.py).
    """
    for t in book.all():
        # A handle removed meanwhile (a finished download being re-added as a
        # seed) raises RuntimeError; the stop must go on and leave its marker.
        try:
            if t.record.phase == lifecycle.STAGING:
                waiters.wait(t.dist_id, "resume", _saving_resume_data(t), timeout=10)
            else:
                book.save_resume(t.dist_id, light_resume(t))
        except (P2PDistError, RuntimeError) as exc:
            log.warning("%s: resume data not saved: %s", t.dist_id, exc)


def mark_clean_stop(state_dir: Path) -> None:
    """The resume data just saved can be trusted at the next start."""
    clean_stop_marker(state_dir).touch()


def _saving_resume_data(transfer: Transfer) -> Callable[[], None]:
    return lambda: transfer.handle.save_resume_data(lt.torrent_handle.flush_disk_cache)
