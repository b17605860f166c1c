"""A fetch the disks cannot hold is refused at once, with nothing written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.agent import freespace
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.core.diskspace import Volume
from salt_p2pdist.core.errors import NoSpace, NotFound
from salt_p2pdist.master import orders
from salt_p2pdist.torrent import creation, metainfo

TRACKER = "http://127.0.0.1:9/announce"  # nothing listens
SIZE = 3 * 1024 * 1024


def _order(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "pkg.bin").write_bytes(os.urandom(SIZE))
    torrent = creation.create(tmp_path / "src" / "pkg.bin", TRACKER)
    meta = metainfo.describe(torrent)
    order = orders.fetch_order(meta, torrent, dest=str(tmp_path / "dest" / "new"), force=False,
                               tracker=TRACKER)
    return meta.dist_id, {**order, "mode": "fetch"}


def _free_reported(monkeypatch: pytest.MonkeyPatch, free: int) -> None:
    real = shutil.disk_usage

    def fake(path: Any) -> Any:
        return real(path)._replace(free=free)
    monkeypatch.setattr(shutil, "disk_usage", fake)


def test_a_fetch_larger_than_the_free_space_is_refused_before_anything_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist_id, order = _order(tmp_path)
    cfg = AgentConfig(state_dir=tmp_path / "agent", host_id="m2", bt_interface="127.0.0.1")
    engine = Engine(cfg)
    try:
        _free_reported(monkeypatch, 2 * 1024 * 1024)
        with pytest.raises(NoSpace) as caught:
            engine.add(order)
        # dest does not exist yet: the message names it all the same (its volume was measured)
        assert f"needs 4.0 MiB at {tmp_path / 'dest' / 'new'}, 2.0 MiB free" in str(caught.value)
        assert not (cfg.dists_dir / dist_id).exists() and not (cfg.staging_dir / dist_id).exists()
        assert not (tmp_path / "dest").exists()
        with pytest.raises(NotFound):
            engine.status(dist_id)
        monkeypatch.undo()  # room again: the same order is taken
        assert engine.add(order)["dist_id"] == dist_id
    finally:
        engine.close()


def test_dest_on_another_volume_needs_room_for_the_files_it_lacks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staging, dest = tmp_path / "staging", tmp_path / "dest"
    (dest / "sub").mkdir(parents=True)
    (dest / "sub" / "b.bin").write_bytes(b"x" * 200)  # there at its size: counted once, as the largest
    files = [("a.bin", 100 * 1024 * 1024, "r1"), ("sub/b.bin", 200, "r2")]
    volumes = {staging: Volume(str(staging), 1, 10**12), dest: Volume(str(dest), 2, 50 * 1024 * 1024)}
    monkeypatch.setattr(freespace, "measure", lambda path: volumes[path])
    with pytest.raises(NoSpace, match=f"needs 102.0 MiB at {dest}, 50.0 MiB free"):
        freespace.check_fetch(staging, dest, files)
    volumes[dest] = Volume(str(dest), 1, 10**12)  # one volume: the move is a rename
    freespace.check_fetch(staging, dest, files)


def test_a_new_version_of_the_same_size_on_another_volume_needs_room_for_one_copy_beside_the_old(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staging, dest = tmp_path / "staging", tmp_path / "dest"
    dest.mkdir()
    for name, size in (("disk.img", 40 * 1024 * 1024), ("small.img", 1024 * 1024)):
        with (dest / name).open("wb") as fh:  # the older versions, at the new sizes
            fh.truncate(size)
    files = [("disk.img", 40 * 1024 * 1024, "r1"), ("small.img", 1024 * 1024, "r2")]
    volumes = {staging: Volume(str(staging), 1, 10**12), dest: Volume(str(dest), 2, 30 * 1024 * 1024)}
    monkeypatch.setattr(freespace, "measure", lambda path: volumes[path])
    with pytest.raises(NoSpace, match=f"needs 41.4 MiB at {dest}, 30.0 MiB free"):
        freespace.check_fetch(staging, dest, files)
    volumes[dest] = Volume(str(dest), 2, 42 * 1024 * 1024)
    freespace.check_fetch(staging, dest, files)


def test_the_nearest_existing_ancestor_is_measured(tmp_path: Path) -> None:
    assert freespace.existing_ancestor(tmp_path / "a" / "b") == tmp_path
    assert freespace.measure(tmp_path / "a").device == os.stat(tmp_path).st_dev
