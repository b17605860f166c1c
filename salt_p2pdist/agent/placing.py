"""When moving a finished download into dest fails: one distribution fails, nothing else.

The torrent was removed from the session to close its files before the
move; a failed move leaves a dead handle behind, which would make every
status call raise. So the download is added again from staging (its resume
data says every piece is there: no re-hash) and keeps seeding from there,
marked failed with the reason. It is not moved again on its own, which
would repeat the failure in a loop: ordering it again (a re-push, the state)
retries, as does the agent's next start.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from salt_p2pdist.agent.transfer import Transfer

if TYPE_CHECKING:
    from salt_p2pdist.agent.engine import Engine

log = logging.getLogger(__name__)
FAILED_KEY = "place_error"  # in the record while a move into dest has failed


def may_place(transfer: Transfer) -> bool:
    """Should a finished download be moved into dest now (not after a failure until ordered again)?"""
    return (transfer.record["phase"] == "staging" and not transfer.finishing
            and not transfer.record.get(FAILED_KEY))


def keep_staged(engine: Engine, transfer: Transfer, resume: bytes | None, removed: bool,
                error: str) -> None:
    """Mark the distribution failed; if its torrent was already removed, seed again from staging."""
    transfer.error = error
    transfer.record[FAILED_KEY] = error
    if not removed or resume is None:
        return
    with engine.lock:
        if engine.transfers.get(transfer.dist_id) is not transfer:
            return  # removed by the admin meanwhile
        try:
            engine.start(transfer.record, resume).error = error
        except (RuntimeError, ValueError) as exc:  # the status must not keep a dead handle
            log.error("%s: cannot share it from staging again: %s", transfer.dist_id, exc)
            engine.transfers.pop(transfer.dist_id, None)


def retry(engine: Engine, transfer: Transfer) -> None:
    """Ordered again after a failed move: try the move again."""
    if transfer.record.pop(FAILED_KEY, None) is None or transfer.record["phase"] != "staging":
        return
    if not transfer.handle.status().is_finished or transfer.finishing:
        return
    from salt_p2pdist.agent.finishing import finish

    transfer.finishing = True
    threading.Thread(target=finish, args=(engine, transfer), daemon=True).start()
