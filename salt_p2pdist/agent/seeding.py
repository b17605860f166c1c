"""Finding the older copies a new fetch can start from, on this host.

What the host holds: the files at dest, and the distributions the agent has
placed. core.delta decides which old file seeds which new one; this module
only looks (a stat per candidate, no hashing), and tells which held
distributions a new one is a newer version of: those whose files sit at the
same paths under the same dest. Their files may be replaced without
``force``, and they are retired once the new version is placed (finishing.py).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.core import delta, lifecycle
from salt_p2pdist.torrent.metainfo import describe
from salt_p2pdist.torrent.placement import FileEntry, dest_files


class Held(Protocol):
    """A distribution this host holds: a transfer, or a quiet one (a record, no torrent)."""

    @property
    def dist_id(self) -> str: ...

    @property
    def record(self) -> OrderRecord: ...

    @property
    def files(self) -> list[FileEntry]: ...


@dataclass(frozen=True)
class QuietCopy:
    """A quiet distribution's files at dest: an older version like a seeding one."""

    dist_id: str
    record: OrderRecord
    files: list[FileEntry]


def quiet_copies(records: Sequence[OrderRecord]) -> list[QuietCopy]:
    return [QuietCopy(r.dist_id, r, dest_files(describe(base64.b64decode(r.torrent))))
            for r in records if r.dest and r.torrent]


def _regular_size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def _placed(transfers: Sequence[Held]) -> list[Held]:
    return [t for t in transfers if t.record.phase in (lifecycle.PLACED, lifecycle.QUIET) and t.record.dest]


def held_files(transfers: Sequence[Held]) -> dict[str, str]:
    """Pieces root -> a complete file this host holds from another distribution."""
    held: dict[str, str] = {}
    for t in _placed(transfers):
        for rel, _size, root in t.files:
            held.setdefault(root, str(Path(t.record.dest) / rel))
    return held


def older_versions(dest: Path, files: list[FileEntry], transfers: Sequence[Held], *,
                   placed_only: bool = True) -> list[Held]:
    """Held distributions placed at ``dest`` with a file at a path the new one has.

    Not ``placed_only``: those still downloading to the same paths too. They
    were ordered before the new one, so they are older versions as well: if one
    is placed first, the new one replaces it; if the new one is placed first,
    the older one fails at its move (a conflict) instead of overwriting it.
    """
    wanted = {rel for rel, _size, _root in files}
    fetches = _placed(transfers) if placed_only else [t for t in transfers if t.record.dest]
    return [t for t in fetches
            if Path(t.record.dest) == dest and any(rel in wanted for rel, _s, _r in t.files)]


def replaceable(dest: Path, files: list[FileEntry], transfers: Sequence[Held]) -> frozenset[str]:
    """Paths under ``dest`` that a held older version placed: a new version replaces them."""
    theirs = {rel for t in older_versions(dest, files, transfers) for rel, _s, _r in t.files}
    return frozenset(rel for rel, _size, _root in files if rel in theirs)


def choose(dest: Path, files: list[FileEntry], transfers: Sequence[Held]) -> list[delta.Seed]:
    """The seeds for a new fetch to ``dest``: held identical files, the old version at dest,
    or the same path in another held distribution."""
    at_dest: dict[str, delta.OldFile] = {}
    for rel, _size, _root in files:
        size = _regular_size(dest / rel)
        if size is not None:
            at_dest[rel] = (str(dest / rel), size)
    wanted = {rel for rel, _size, _root in files}
    by_path: dict[str, delta.OldFile] = {}
    for t in _placed(transfers):
        for rel, _size, _root in t.files:
            path = Path(t.record.dest) / rel
            if rel in wanted and rel not in by_path and (size := _regular_size(path)) is not None:
                by_path[rel] = (str(path), size)
    return delta.choose_seeds(files, held_files(transfers), at_dest, by_path)
