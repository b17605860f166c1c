"""A download added back from staging after a failed move is marked before anyone can see it
(real agent engine): libtorrent reports it finished again at once, and an unmarked transfer
would be moved again by the alert thread, failing a second time (seen in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback_engine import fetching

from salt_p2pdist.agent.alerts import may_move
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.lightresume import light_resume
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import lifecycle


def test_a_download_added_back_after_a_failed_move_is_never_in_the_book_unmarked(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist_id = fetching(engine, tmp_path)
    transfer = engine.book.get(dist_id)
    assert transfer is not None
    seen: list[bool] = []  # place_failed of each transfer as it enters the book
    put = engine.book.put

    def recording_put(t: Transfer) -> None:
        seen.append(t.place_failed)
        put(t)

    monkeypatch.setattr(engine.book, "put", recording_put)
    resume = light_resume(transfer)
    assert engine.book.move(transfer, lifecycle.MOVING)  # as the alert thread does
    engine._readder._remove_torrent(transfer)  # as the move does, before it fails
    engine._readder._keep_staged(transfer, resume, "moving into dest failed: read-only")
    again = engine.book.get(dist_id)
    assert again is not None and again is not transfer
    assert seen == [True], seen
    assert again.error == "moving into dest failed: read-only" and not may_move(again)
    assert again.record.phase == lifecycle.STAGING
