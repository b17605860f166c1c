"""A new version's staging seeded from the old copy in a worker thread, on a real agent engine
(agent/preparing.py): the order is answered at once, the torrent added once the copy ends.

v1 of an 8 MiB image is held placed at dest; v2 (one region changed in place) is
ordered to the same dest. The copy is slowed or held with the engine's own hook
(``engine.preparer.pace``, called after each chunk). Nothing listens at the
tracker: no piece is downloaded, so what v2 holds is what the check kept.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.core import lifecycle
from salt_p2pdist.files import prefixcopy
from salt_p2pdist.files.prefixcopy import partial_name
from salt_p2pdist.master import orders
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import creation, metainfo

TRACKER = "http://127.0.0.1:9/announce"
SIZE, PIECE = 8 << 20, 64 << 10  # creation.piece_size_for(8 MiB): 64 KiB, 128 pieces
CHANGED_AT = 1_000_003  # 100 bytes in piece 15


def version(tmp_path: Path, n: int) -> tuple[Path, dict[str, Any]]:
    """v1 (random), or v2: v1 with 100 bytes changed in place; the file and an order for it."""
    path = tmp_path / f"v{n}" / "disk.img"
    path.parent.mkdir()
    data = bytearray(random.Random(7).randbytes(SIZE))
    if n == 2:
        data[CHANGED_AT:CHANGED_AT + 100] = random.Random(8).randbytes(100)
    path.write_bytes(data)
    torrent = creation.create(path, TRACKER)
    order = orders.fetch_order(metainfo.describe(torrent), torrent, dest=str(tmp_path / "dest"),
                               force=False, tracker=TRACKER, order_id="o1")
    return path, {**order, "mode": "fetch"}


def make_engine(tmp_path: Path) -> Engine:
    return Engine(AgentConfig(state_dir=tmp_path / "agent", host_id="m1", bt_interface="127.0.0.1"))


@pytest.fixture
def v1_placed(tmp_path: Path) -> Iterator[tuple[Engine, dict[str, Any]]]:
    """An engine holding v1 placed at dest (found there whole, so seeded from it), and v2's order."""
    v1, order1 = version(tmp_path, 1)
    (tmp_path / "dest").mkdir()
    shutil.copyfile(v1, tmp_path / "dest" / "disk.img")
    engine = make_engine(tmp_path)
    try:
        assert engine.add(order1)["state"] in (lifecycle.CHECKING, lifecycle.SEEDING)
        wait_for("v1 seeding", lambda: engine.status(order1["dist_id"])["state"] == lifecycle.SEEDING,
                 timeout=30)
        yield engine, version(tmp_path, 2)[1]
    finally:
        engine.close()


def slowed(engine: Engine, monkeypatch: pytest.MonkeyPatch, seconds_per_chunk: float) -> None:
    """The copy goes 64 KiB at a time, waiting after each chunk: 128 chunks for the image."""
    monkeypatch.setattr(prefixcopy, "CHUNK", 64 << 10)
    engine.preparer.pace = lambda _n: time.sleep(seconds_per_chunk)


def staged(engine: Engine, dist_id: str) -> Path:
    return engine.cfg.staging_dir / dist_id


def phase_on_disk(engine: Engine, dist_id: str) -> str | None:
    """The phase order.json holds; None without a record."""
    path = engine.cfg.dists_dir / dist_id / "order.json"
    return str(json.loads(path.read_text())["phase"]) if path.exists() else None


def test_the_order_is_answered_while_the_copy_waits_and_the_torrent_added_after_it(
        v1_placed: tuple[Engine, dict[str, Any]]) -> None:
    engine, order2 = v1_placed
    dist_id = order2["dist_id"]
    release = threading.Event()
    engine.preparer.pace = lambda _n: release.wait(30)  # the copy cannot end before the answer is read
    answer = engine.add(order2)
    try:
        assert answer["state"] == lifecycle.PREPARING, answer
        assert answer["to_seed"] == SIZE and answer["seeded"] < SIZE and answer["order_id"] == "o1"
        assert engine.status()[dist_id]["state"] == lifecycle.PREPARING
        assert dist_id not in {str(h.info_hashes().v2)[:16] for h in engine.session.get_torrents()}
        assert phase_on_disk(engine, dist_id) == lifecycle.PREPARE
        # Pushed again meanwhile: the record takes the new order, the copy goes on.
        again = engine.add({**order2, "order_id": "o2"})
        assert again["state"] == lifecycle.PREPARING and again["order_id"] == "o2"
    finally:
        release.set()
    wait_for("v2's torrent added", lambda: engine.status(dist_id)["state"] != lifecycle.PREPARING, timeout=30)
    wait_for("v2 checked", lambda: engine.status(dist_id)["state"] == lifecycle.DOWNLOADING, timeout=30)
    st = engine.status(dist_id)
    # Every piece but the changed one was kept by libtorrent's check; nothing was downloaded.
    assert st["bytes_done"] == SIZE - PIECE and st["downloaded"] == 0, st
    assert st["seeded"] == SIZE and st["reused"] == 0 and st["order_id"] == "o2", st
    assert phase_on_disk(engine, dist_id) == lifecycle.STAGING


def test_removing_it_mid_copy_stops_the_copy_and_leaves_nothing(
        v1_placed: tuple[Engine, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine, order2 = v1_placed
    dist_id = order2["dist_id"]
    slowed(engine, monkeypatch, 0.05)  # 6.4 s for the whole copy
    engine.add(order2)
    wait_for("the copy under way", lambda: engine.status(dist_id)["seeded"] > 0, every=0.01, timeout=30)
    t0 = time.monotonic()
    gone = engine.remove(dist_id, remove_data=False)
    took = time.monotonic() - t0
    assert gone["state"] == lifecycle.CANCELLED and took < 3, (gone, took)
    time.sleep(0.3)  # a copy that went on would write again by now
    assert not staged(engine, dist_id).exists() and phase_on_disk(engine, dist_id) is None
    assert dist_id not in engine.status()
    assert (tmp_path / "dest" / "disk.img").read_bytes() == (tmp_path / "v1" / "disk.img").read_bytes()


def test_an_agent_stopped_mid_copy_copies_the_rest_at_its_next_start(
        tmp_path: Path, v1_placed: tuple[Engine, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, order2 = v1_placed
    dist_id = order2["dist_id"]
    slowed(engine, monkeypatch, 0.05)
    engine.add(order2)
    wait_for("the copy under way", lambda: engine.status(dist_id)["seeded"] > 0, every=0.01, timeout=30)
    engine.close()  # stops the copy; the record stays, phase preparing
    assert phase_on_disk(engine, dist_id) == lifecycle.PREPARE
    target = staged(engine, dist_id) / "disk.img"
    assert not target.exists()
    partial_name(target).write_bytes(b"cut short")  # as a crash mid-chunk would leave it
    monkeypatch.setattr(prefixcopy, "CHUNK", 1 << 20)
    again = make_engine(tmp_path)
    try:
        wait_for("v2 checked after the restart",
                 lambda: again.status(dist_id)["state"] == lifecycle.DOWNLOADING, timeout=30)
        st = again.status(dist_id)
        assert st["bytes_done"] == SIZE - PIECE and st["seeded"] == SIZE, st
        assert not partial_name(target).exists()
        assert (tmp_path / "dest" / "disk.img").read_bytes() == (tmp_path / "v1" / "disk.img").read_bytes()
    finally:
        again.close()


def test_a_failed_copy_adds_the_torrent_at_once_and_says_why(
        v1_placed: tuple[Engine, dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    engine, order2 = v1_placed
    dist_id = order2["dist_id"]

    def disk_full(_n: int) -> None:
        raise OSError(28, "No space left on device")

    engine.preparer.pace = disk_full
    with caplog.at_level(logging.WARNING, logger="salt_p2pdist.agent.preparing"):
        engine.add(order2)
        wait_for("v2's torrent added", lambda: engine.status(dist_id)["state"] != lifecycle.PREPARING,
                 timeout=30)
    assert "No space left on device" in caplog.text and "libtorrent downloads the rest" in caplog.text
    st = engine.status(dist_id)
    assert st["seeded"] == 0 and st["error"] == "", st
    assert [p.name for p in staged(engine, dist_id).rglob("*") if p.is_file()] == []
