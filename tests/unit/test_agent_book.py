"""The one owner of the agent's state: phase moves by the table, writes only for current transfers."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path

import pytest

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import lifecycle
from salt_p2pdist.torrent import creation, metainfo


@pytest.fixture
def book(tmp_path: Path) -> TransferBook:
    return TransferBook(OrderStore(tmp_path / "dists"))


def _transfer(tmp_path: Path, phase: str = lifecycle.STAGING) -> Transfer:
    (tmp_path / "pkg.bin").write_bytes(b"x" * 40_000)
    torrent = creation.create(tmp_path / "pkg.bin", "http://127.0.0.1:9/announce")
    meta = metainfo.describe(torrent)
    record = OrderRecord(dist_id=meta.dist_id, mode="fetch", torrent=base64.b64encode(torrent).decode(),
                         phase=phase, save_path=str(tmp_path / "staging"), dest=str(tmp_path / "dest"))
    return Transfer(record=record, meta=meta, handle=None)  # the book never touches the handle


def _on_disk(tmp_path: Path, dist_id: str) -> dict[str, object]:
    return dict(json.loads((tmp_path / "dists" / dist_id / "order.json").read_text()))


def test_a_download_moves_through_its_phases_and_each_move_is_written(book: TransferBook, tmp_path: Path):
    t = _transfer(tmp_path)
    book.create(t.record)
    book.put(t)
    assert book.move(t, lifecycle.MOVING)
    assert _on_disk(tmp_path, t.dist_id)["phase"] == lifecycle.STAGING  # a cut-short move restarts staged
    assert book.move(t, lifecycle.PLACED, save_path=str(tmp_path / "dest"))
    assert _on_disk(tmp_path, t.dist_id)["phase"] == lifecycle.PLACED
    assert _on_disk(tmp_path, t.dist_id)["save_path"] == str(tmp_path / "dest")


def test_an_illegal_move_raises_and_changes_nothing(book: TransferBook, tmp_path: Path):
    t = _transfer(tmp_path, lifecycle.PLACED)
    book.create(t.record)
    book.put(t)
    with pytest.raises(lifecycle.IllegalTransition, match="phase 'placed' cannot become 'staging'"):
        book.move(t, lifecycle.STAGING, save_path="/elsewhere")
    assert t.record.phase == lifecycle.PLACED and t.record.save_path == str(tmp_path / "staging")
    assert _on_disk(tmp_path, t.dist_id)["phase"] == lifecycle.PLACED


def test_phase_changes_only_by_move_and_only_known_fields(book: TransferBook, tmp_path: Path):
    t = _transfer(tmp_path)
    book.put(t)
    with pytest.raises(TypeError, match="phase"):
        book.update(t, phase=lifecycle.PLACED)
    with pytest.raises(TypeError, match="colour"):
        book.update(t, colour="blue")
    with pytest.raises(lifecycle.IllegalTransition):
        book.create(dataclasses.replace(t.record, phase=lifecycle.MOVING))


def test_a_late_write_does_not_bring_back_a_removed_distribution(book: TransferBook, tmp_path: Path):
    """A certificate arriving after the distribution was removed must not recreate its order.json
    (the next start would resume a distribution the master removed)."""
    t = _transfer(tmp_path)
    book.create(t.record)
    book.put(t)
    assert book.pop(t.dist_id) is t
    book.forget(t.dist_id)
    assert not book.update(t, tls_cert="PEM")
    book.save_resume(t.dist_id, b"resume")
    assert not (tmp_path / "dists" / t.dist_id).exists()
    assert book.get(t.dist_id) is None and book.all() == []


def test_a_replaced_transfer_is_no_longer_current(book: TransferBook, tmp_path: Path):
    old = _transfer(tmp_path)
    book.put(old)
    new = Transfer(record=old.record, meta=old.meta, handle=None)
    book.put(new)  # re-added with a new handle
    assert book.is_current(new) and not book.is_current(old)
    assert not book.update(old, failed_bytes=5) and old.record.failed_bytes == 0
    assert book.update(new, failed_bytes=5) and new.record.failed_bytes == 5


def test_errors_are_set_and_cleared_through_the_book(book: TransferBook, tmp_path: Path):
    t = _transfer(tmp_path)
    book.put(t)
    book.set_error(t, "disk full")
    assert t.error == "disk full"
    book.set_error(t, "")
    assert t.error == ""



def test_a_placed_copy_goes_quiet_keeps_its_record_and_wakes_placed(book: TransferBook, tmp_path: Path):
    t = _transfer(tmp_path, lifecycle.PLACED)
    book.create(t.record)
    book.put(t)
    assert book.go_quiet(t, dest_stamp=[["pkg.bin", 40_000, 7]])
    assert book.get(t.dist_id) is None and book.all() == []  # no torrent, nothing for the loops
    assert [r.dist_id for r in book.quiet_records()] == [t.dist_id]
    assert _on_disk(tmp_path, t.dist_id)["phase"] == lifecycle.DORMANT
    book.forget(t.dist_id)  # a quiet distribution's record is not dropped by mistake
    assert _on_disk(tmp_path, t.dist_id)["dest_stamp"] == [["pkg.bin", 40_000, 7]]
    # Read back after a restart: kept quiet, not started.
    [(loaded, _resume)] = book.load()
    assert loaded.phase == lifecycle.DORMANT
    record = book.wake(t.dist_id)
    assert record is not None and record.phase == lifecycle.PLACED and book.quiet_records() == []
    assert _on_disk(tmp_path, t.dist_id)["phase"] == lifecycle.PLACED
    assert book.wake(t.dist_id) is None  # awake already


def test_only_a_placed_copy_goes_quiet(book: TransferBook, tmp_path: Path):
    t = _transfer(tmp_path)  # staging
    book.create(t.record)
    book.put(t)
    with pytest.raises(lifecycle.IllegalTransition):
        book.go_quiet(t)
    assert book.get(t.dist_id) is t and book.quiet_records() == []
