"""Where a distribution's files go at the destination, and moving them there.

Data is downloaded into a staging area (a new version may start there from
older copies: reuse.py) and moved into ``dest`` only when every piece is
verified. A file appears at ``dest`` by an atomic rename, and so does a whole
tree whose top directory is not at ``dest`` yet (moving.py): a half-written
file or half-placed tree is never visible there. Merged into a directory
already at ``dest``, a tree's files move one by one, and go back if one
cannot. An existing file that is not exactly the distributed content is never
overwritten unless the push says ``force``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from salt_p2pdist.core.errors import Conflict, InvalidRequest, P2PDistError
from salt_p2pdist.files import acl, failures
from salt_p2pdist.torrent import moving
from salt_p2pdist.torrent.merkle import matches
from salt_p2pdist.torrent.metainfo import TorrentMeta

FileEntry = tuple[str, int, str]  # (path relative to dest, size, v2 pieces root)

ABSENT, IDENTICAL, REPLACE = "absent", "identical", "replace"


def dest_files(meta: TorrentMeta) -> list[FileEntry]:
    """The files as they will sit under ``dest``; the top entry is always ``meta.name``.

    A v2 torrent made from a directory holding one file forgets the directory
    (libtorrent makes it a single-file torrent); ``meta.name`` puts it back.
    """
    out = []
    for entry in meta.files:
        path, size, root = entry
        rel = f"{meta.name}/{path}" if _nested(meta) else path
        # Strings, not PurePosixPath: 20,000 files made megabytes of short-lived objects.
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if rel.startswith("/") or ".." in parts or not parts:
            raise InvalidRequest(f"refused: torrent path {path!r} escapes the destination")
        out.append(entry if rel is path else (rel, size, root))  # the same tuples: no copy to keep
    return out


def check_within(dest: Path, roots: list[Path], files: list[FileEntry]) -> None:
    """Refuse a dest, or a directory inside it, that resolves (symlinks followed) outside the roots."""
    real = dest.resolve()
    real_roots = [r.resolve() for r in roots]
    if not any(real == r or r in real.parents for r in real_roots):
        raise InvalidRequest(f"{dest} resolves to {real}, outside the allowed roots "
                             f"{', '.join(map(str, roots))} (a symlink?): refused, nothing written")
    for rel, _size, _root in files:
        parent = (dest / rel).parent.resolve()
        if parent != real and real not in parent.parents:
            raise InvalidRequest(f"{(dest / rel).parent} leads out of {dest} (a symlink to {parent}): "
                                 "refused, nothing written")


def _nested(meta: TorrentMeta) -> bool:
    return meta.wrapped


def save_path(base: Path, meta: TorrentMeta) -> Path:
    """The libtorrent save_path under ``base`` that yields the ``dest_files`` layout."""
    return base / meta.name if _nested(meta) else base


def base_of(save_path: Path, meta: TorrentMeta) -> Path:
    """The folder that holds the ``dest_files`` layout of a torrent saved at ``save_path``
    (``save_path``'s inverse: the origin's seed records only where libtorrent finds it)."""
    return save_path.parent if _nested(meta) else save_path


def check_destination(dest: Path, files: list[FileEntry], *, force: bool,
                      replaceable: frozenset[str] = frozenset()) -> str:
    """ABSENT (nothing there), IDENTICAL (all there, verified) or REPLACE (force, or a new version).

    ``replaceable``: paths (relative to dest) that a distribution this host
    holds placed there: a new version replaces them without ``force``, and
    they are not hashed (REPLACE even if they hold the new content already):
    for a multi-GiB image that would hold up the agent's answer to the order
    at disk speed, and libtorrent checks the copy staging starts from anyway.
    Raises Conflict naming the files in the way, before anything is written.
    """
    present, differing = 0, []
    checked: set[str] = set()  # directories shared by many files are looked at once
    for rel, size, root in files:
        target = dest / rel
        parts = rel.split("/")[:-1]
        for depth in range(1, len(parts) + 1):  # top-down, below dest
            parent = "/".join(parts[:depth])
            if parent in checked:
                continue
            checked.add(parent)
            if os.path.lexists(dest / parent) and not (dest / parent).is_dir():
                raise Conflict(f"{dest / parent} is a file where the distribution has a directory; "
                               "remove it")
        if not os.path.lexists(target):
            continue
        present += 1
        if target.is_dir() and not target.is_symlink():
            raise Conflict(f"{target} is a directory where the distribution has a file; remove it")
        if rel in replaceable or not matches(target, size, root):
            differing.append(rel)
    unrelated = [str(dest / rel) for rel in differing if rel not in replaceable]
    if unrelated and not force:
        shown = ", ".join(unrelated[:3]) + (" ..." if len(unrelated) > 3 else "")
        raise Conflict(f"refusing to overwrite unrelated existing file(s): {shown}; "
                       "remove them, choose another dest, or push with force=True")
    if differing:
        return REPLACE
    return IDENTICAL if present == len(files) else ABSENT


class PlacementFailed(P2PDistError):
    """A file could not be put at dest; what was moved there in this attempt went back."""


def place(staging: Path, dest: Path, files: list[FileEntry], *, force: bool,
          replaceable: frozenset[str] = frozenset()) -> None:
    """Move verified files from ``staging`` into ``dest`` (checks first, then moves).

    If one file cannot be placed (Windows: held open, read-only; a path too
    long), the files this call already moved go back to staging and
    PlacementFailed says which file and why: dest then holds no part of the
    distribution, and staging still holds all of it for another attempt.
    """
    check_destination(dest, files, force=force, replaceable=replaceable)
    top = _whole_tree(staging, dest, files)
    if top is not None:
        _place_tree(staging, dest, top, files)
        return
    moved: list[tuple[Path, Path]] = []
    made: list[Path] = []  # directories this call created, to remove again on failure
    rel = ""
    try:
        for rel, size, root in files:
            src, dst = staging / rel, dest / rel
            made += [d for d in reversed([dst.parent, *dst.parent.parents]) if not d.exists()]
            dst.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(dst) and matches(dst, size, root):
                continue  # the same content is already there; staging keeps its copy until the end
            moving.move_file(src, dst)
            moved.append((src, dst))
            acl.inherit_from_parent(dst)  # Windows: not the staging area's locked-down ACL
    except OSError as exc:
        for src, dst in reversed(moved):
            with contextlib.suppress(OSError):
                os.replace(dst, src)
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if empty: never anything that was there before
        raise PlacementFailed(f"cannot place {rel} into {dest}: {failures.reason(exc)}; "
                              "nothing of it was left at dest") from exc
    shutil.rmtree(staging, ignore_errors=True)


def _whole_tree(staging: Path, dest: Path, files: list[FileEntry]) -> str | None:
    """The top directory of a tree that can appear at dest by one rename: not there yet."""
    tops = {rel.split("/", 1)[0] for rel, _, _ in files}
    if len(tops) != 1:
        return None
    top = tops.pop()
    return top if (staging / top).is_dir() and not os.path.lexists(dest / top) else None


def _place_tree(staging: Path, dest: Path, top: str, files: list[FileEntry]) -> None:
    """Move the whole tree ``top`` into ``dest`` at once; on failure dest is as it was."""
    made = [d for d in reversed([dest, *dest.parents]) if not d.exists()]
    try:
        dest.mkdir(parents=True, exist_ok=True)
        inside = [rel.split("/", 1)[1] for rel, _, _ in files]
        moving.move_tree(staging / top, dest / top, inside)
    except OSError as exc:
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise PlacementFailed(f"cannot place {top} into {dest}: {failures.reason(exc)}; "
                              "nothing of it was left at dest") from exc
    acl.inherit_from_parent(dest / top, tree=True)  # Windows: not the staging area's locked-down ACL
    shutil.rmtree(staging, ignore_errors=True)


def remove_files(dest: Path, files: list[FileEntry]) -> None:
    """Delete the distribution's files at ``dest`` and directories left empty."""
    for rel, _size, _root in files:
        (dest / rel).unlink(missing_ok=True)
    for rel, _size, _root in files:
        parent = (dest / rel).parent
        while parent != dest and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
