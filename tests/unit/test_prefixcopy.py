"""Copies into staging that can be stopped, fail, and run again after a restart (files/prefixcopy.py,
torrent/reuse.py, torrent/merkle.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from salt_p2pdist.core import delta
from salt_p2pdist.core.delta import Seed
from salt_p2pdist.files import prefixcopy
from salt_p2pdist.files.prefixcopy import CopyStopped, StagingUnwritable, copy_prefix, partial_name
from salt_p2pdist.torrent import merkle, reuse
from salt_p2pdist.torrent.reuse import Tally, seed_staging, sweep_partial


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_stopped_copy_leaves_nothing_at_the_target_or_beside_it(tmp_path: Path,
                                                                 write_file: Callable[..., Path]) -> None:
    source = write_file(tmp_path / "old.img", 3 * prefixcopy.CHUNK + 5)
    asked: list[int] = []

    def go_on(n: int) -> bool:
        asked.append(n)
        return len(asked) < 2  # stop after the second chunk

    with pytest.raises(CopyStopped):
        copy_prefix(source, tmp_path / "new" / "img", 10 * prefixcopy.CHUNK, go_on)
    assert asked == [prefixcopy.CHUNK, prefixcopy.CHUNK]
    assert leftovers(tmp_path / "new") == []


def test_a_source_that_cannot_be_opened_is_its_own_error_and_a_failed_write_is_another(
        tmp_path: Path, write_file: Callable[..., Path]) -> None:
    with pytest.raises(FileNotFoundError):  # the caller skips this file: it is downloaded
        copy_prefix(tmp_path / "gone.img", tmp_path / "new" / "img", 10)
    source = write_file(tmp_path / "old.img", 100)
    (tmp_path / "file").write_bytes(b"")  # a file where the target's directory should be
    with pytest.raises(StagingUnwritable, match=r"old\.img"):
        copy_prefix(source, tmp_path / "file" / "img", 100)


def test_seeding_stops_between_chunks_and_counts_only_whole_files(tmp_path: Path,
                                                                  write_file: Callable[..., Path]) -> None:
    old = tmp_path / "old"
    files = [(f"f{i}", prefixcopy.CHUNK, "") for i in range(3)]
    seeds = [Seed(rel, str(write_file(old / rel, size, seed=i)), size, delta.OLDER)
             for i, (rel, size, _r) in enumerate(files)]
    tally = Tally()
    chunks = iter([True, True, False])
    with pytest.raises(CopyStopped):
        seed_staging(tmp_path / "staging", files, seeds, tally=tally, go_on=lambda _n: next(chunks))
    assert tally == Tally(reused=0, seeded=2 * prefixcopy.CHUNK)
    assert leftovers(tmp_path / "staging") == ["f0", "f1"]  # the third one never appears, not even half


def test_seeding_again_counts_what_an_earlier_run_copied_and_copies_the_rest(
        tmp_path: Path, write_file: Callable[..., Path]) -> None:
    old, staging = tmp_path / "old", tmp_path / "staging"
    files = [("a", 1000, ""), ("b", 2000, "")]
    seeds = [Seed(rel, str(write_file(old / rel, size, seed=i)), size, delta.OLDER)
             for i, (rel, size, _r) in enumerate(files)]
    write_file(staging / "a", 1000, seed=0)  # copied before the agent stopped
    partial_name(staging / "b").write_bytes(b"half")  # the copy the stop cut short
    assert sweep_partial(staging) == 1
    copied: list[int] = []
    assert seed_staging(staging, files, seeds, go_on=lambda n: copied.append(n) is None) == Tally(0, 3000)
    assert copied == [1000, 2000] and leftovers(staging) == ["a", "b"]
    assert (staging / "b").read_bytes() == (old / "b").read_bytes()
    assert sweep_partial(tmp_path / "none") == 0


def test_a_failed_write_stops_the_seeding_and_keeps_the_count_of_what_is_whole(
        tmp_path: Path, write_file: Callable[..., Path]) -> None:
    old, staging = tmp_path / "old", tmp_path / "staging"
    files = [("a", 100, ""), ("d/b", 100, ""), ("c", 100, "")]
    seeds = [Seed(rel, str(write_file(old / rel, size, seed=i)), size, delta.OLDER)
             for i, (rel, size, _r) in enumerate(files)]
    staging.mkdir()
    (staging / "d").write_bytes(b"")  # b cannot be written: a file where its directory goes
    tally = Tally()
    with pytest.raises(StagingUnwritable):
        seed_staging(staging, files, seeds, tally=tally)
    assert tally == Tally(0, 100) and leftovers(staging) == ["a", "d"]


def test_a_vanished_source_is_skipped_not_a_failure(tmp_path: Path, write_file: Callable[..., Path]) -> None:
    files = [("a", 100, ""), ("b", 100, "")]
    seeds = [Seed("a", str(tmp_path / "gone"), 100, delta.OLDER),
             Seed("b", str(write_file(tmp_path / "old" / "b", 100)), 100, delta.OLDER)]
    assert seed_staging(tmp_path / "staging", files, seeds) == Tally(0, 100)


def test_hashing_a_held_file_stops_when_told(tmp_path: Path, write_file: Callable[..., Path]) -> None:
    big = write_file(tmp_path / "big", 3 << 20)
    root = merkle.pieces_root(big)
    asked: list[int] = []
    with pytest.raises(CopyStopped):
        merkle.pieces_root(big, lambda n: asked.append(n) is not None)
    assert asked == [0]  # asked after the first MiB, told to stop
    assert merkle.matches(big, 3 << 20, root, lambda _n: True)
    # A SAME seed is hashed before it is copied: a stop there stops the seeding too.
    seeds = [Seed("big", str(big), 3 << 20, delta.SAME)]
    with pytest.raises(CopyStopped):
        reuse.seed_staging(tmp_path / "staging", [("big", 3 << 20, root)], seeds, go_on=lambda _n: False)
    assert not (tmp_path / "staging").exists()


def test_a_held_file_gone_meanwhile_is_skipped(tmp_path: Path) -> None:
    seeds = [Seed("x", str(tmp_path / "gone"), 10, delta.SAME)]
    assert seed_staging(tmp_path / "staging", [("x", 10, "ab" * 32)], seeds) == Tally(0, 0)
    assert not os.path.exists(tmp_path / "staging")
