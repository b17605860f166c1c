"""A file that cannot be placed (Windows: in use, read-only; a path too long) fails cleanly.

The OS calls are faked at the one boundary placement uses (``os.replace``,
``shutil.copy2``), with the errors Windows raises: what the distribution's
status says, and that dest holds nothing of it afterwards.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from salt_p2pdist.files import failures
from salt_p2pdist.torrent import merkle, placement


def win_error(winerror: int, code: int = errno.EACCES) -> OSError:
    exc = PermissionError(code, "The process cannot access the file")
    exc.winerror = winerror  # type: ignore[attr-defined]  # what Windows sets
    return exc


@pytest.fixture
def staged(tmp_path: Path, write_file: Any) -> tuple[Path, list[placement.FileEntry]]:
    staging = tmp_path / "staging"
    files = []
    for i, rel in enumerate(["pkg/a.bin", "pkg/sub/b.bin", "pkg/sub/c.bin"]):
        p = write_file(staging / rel, 3000 + i, seed=i)
        files.append((rel, 3000 + i, merkle.pieces_root(p)))
    return staging, files


def failing_replace(monkeypatch: pytest.MonkeyPatch, on: str, exc: OSError) -> list[str]:
    """os.replace fails for a target named ``on``; returns the copy fallback's calls."""
    real = os.replace
    copies: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name == on:
            exc.filename, exc.filename2 = str(src), str(dst)  # as os.replace fills them
            raise exc
        real(src, dst)

    monkeypatch.setattr(placement.os, "replace", replace)
    monkeypatch.setattr(placement.shutil, "copy2", lambda s, d: copies.append(str(d)))
    return copies


FAILURES = [
    (win_error(32), "in use by another program"),
    (win_error(5), "access denied"),
    (win_error(206, errno.ENAMETOOLONG), "too long"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
]


@pytest.mark.parametrize(("exc", "says"), FAILURES)
def test_a_file_that_cannot_be_placed_fails_the_distribution_and_leaves_dest_clean(
        tmp_path: Path, staged: tuple[Path, list[placement.FileEntry]],
        monkeypatch: pytest.MonkeyPatch, exc: OSError, says: str) -> None:
    """Merged into a directory already at dest: file by file, and back again on failure."""
    staging, files = staged
    dest = tmp_path / "dest"
    (dest / "pkg").mkdir(parents=True)
    copies = failing_replace(monkeypatch, "b.bin", exc)
    with pytest.raises(placement.PlacementFailed, match=says) as failed:
        placement.place(staging, dest, files, force=False)
    assert str(dest / "pkg" / "sub" / "b.bin") in str(failed.value)
    assert copies == []  # "in use" is no other volume: no copy attempted
    assert list((dest / "pkg").iterdir()) == []  # a.bin went back, the directories made went too
    assert all((staging / rel).is_file() for rel, _, _ in files)  # ready for another attempt


@pytest.mark.parametrize(("exc", "says"), FAILURES)
def test_a_tree_that_cannot_be_placed_fails_the_distribution_and_leaves_dest_clean(
        tmp_path: Path, staged: tuple[Path, list[placement.FileEntry]],
        monkeypatch: pytest.MonkeyPatch, exc: OSError, says: str) -> None:
    """A tree new at dest moves as one directory: refused whole, nothing of it at dest."""
    staging, files = staged
    dest = tmp_path / "dest"
    copies = failing_replace(monkeypatch, "pkg", exc)
    with pytest.raises(placement.PlacementFailed, match=says) as failed:
        placement.place(staging, dest, files, force=False)
    assert str(dest / "pkg") in str(failed.value)
    assert copies == []
    assert not dest.exists()  # the dest directories this attempt made went too
    assert all((staging / rel).is_file() for rel, _, _ in files)


def test_only_a_cross_device_rename_falls_back_to_a_copy(tmp_path: Path) -> None:
    assert failures.cross_device(OSError(errno.EXDEV, "Invalid cross-device link"))
    not_same_device = OSError(errno.EXDEV, "The system cannot move the file to a different disk drive")
    not_same_device.winerror = 17  # type: ignore[attr-defined]
    assert failures.cross_device(not_same_device)
    for other in (win_error(32), win_error(5), OSError(errno.EACCES, "x"), OSError(errno.EROFS, "x")):
        assert not failures.cross_device(other)


def test_a_failed_cross_device_copy_leaves_no_partial_file(
        tmp_path: Path, staged: tuple[Path, list[placement.FileEntry]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    staging, files = staged
    dest = tmp_path / "dest"
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(src).is_relative_to(staging):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(src, dst)

    def copy_then_fail(src: Any, dst: Any) -> None:
        Path(dst).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(placement.os, "replace", replace)
    monkeypatch.setattr(placement.shutil, "copy2", copy_then_fail)
    with pytest.raises(placement.PlacementFailed, match="no space left"):
        placement.place(staging, dest, files, force=False)
    assert not dest.exists() or not any(dest.rglob("*"))


def test_reasons_name_the_file_and_the_code() -> None:
    exc = win_error(32)
    exc.filename, exc.filename2 = "C:\\state\\staging\\x", "C:\\dist\\app.exe"
    assert failures.reason(exc).startswith("C:\\dist\\app.exe: in use")
    assert failures.reason(exc).endswith("[WinError 32]")
    assert failures.reason(OSError(errno.EACCES, "Permission denied")) == "permission denied [EACCES]"


def test_on_windows_placed_files_take_the_acl_of_dest(
        tmp_path: Path, staged: tuple[Path, list[placement.FileEntry]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from salt_p2pdist.files import acl

    calls: list[list[str]] = []
    monkeypatch.setattr(acl, "on_windows", lambda: True)
    monkeypatch.setattr(acl, "run", lambda args: calls.append(args) or "")
    staging, files = staged
    dest = tmp_path / "dest"
    placement.place(staging, dest, files, force=False)
    assert calls == [["icacls", str(dest / "pkg"), "/reset", "/T", "/Q"]]  # the tree, at once
    calls.clear()
    (tmp_path / "merged" / "pkg").mkdir(parents=True)
    placement.place(dest, tmp_path / "merged", files, force=False)  # into a directory there: per file
    assert calls == [["icacls", str(tmp_path / "merged" / rel), "/reset", "/Q"] for rel, _, _ in files]


def test_a_failed_move_is_not_retried_until_ordered_again() -> None:
    from types import SimpleNamespace

    from salt_p2pdist.agent.alerts import may_move

    t: Any = SimpleNamespace(record=SimpleNamespace(phase="staging"), place_failed=False)
    assert may_move(t)
    t.place_failed = True  # set with the error when the move into dest failed
    assert not may_move(t)  # libtorrent's finished alert after the re-add: no loop
    t.record.phase, t.place_failed = "placed", False
    assert not may_move(t)
