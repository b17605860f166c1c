"""A new version starts from what the host already holds: older files copied into staging.

The agent chooses the older copies (agent/seeding.py, by core/delta.py's rules);
this copies them where the download's files go (placement.save_path), before
libtorrent's check pass, which keeps the pieces that hash right. It runs in
a worker thread (agent/preparing.py), so it can be stopped between chunks,
and it can run again over a staging area it filled in part before a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from salt_p2pdist.core import delta
from salt_p2pdist.files.prefixcopy import PARTIAL_SUFFIX, CopyStopped, StagingUnwritable, copy_prefix
from salt_p2pdist.torrent.merkle import matches
from salt_p2pdist.torrent.placement import FileEntry


@dataclass
class Tally:
    """Bytes of whole files staging holds from older copies; read it after a failed copy too."""

    reused: int = 0  # identical files (same v2 root)
    seeded: int = 0  # identical files and older versions


def seed_staging(staging: Path, files: list[FileEntry], seeds: list[delta.Seed], *,
                 tally: Tally | None = None, go_on: Callable[[int], bool] = lambda _n: True) -> Tally:
    """Copy older files into staging as ``seeds`` say; the bytes reused and seeded.

    A SAME seed (a held file with the new file's v2 root) is checked to still
    hold that content and counts as reused. An OLDER seed is copied as it is:
    the torrent's check pass keeps the pieces that hash right, the rest is
    downloaded. Copies, not hard links: the older file stays as it is. A file
    already in staging was copied by an earlier run (copies are renamed into
    place whole) and counts again. A source that is gone or unreadable is
    skipped; a failed write raises StagingUnwritable, a stop CopyStopped
    (``go_on``, files/prefixcopy.py).
    """
    tally = tally if tally is not None else Tally()
    entries = {rel: (size, root) for rel, size, root in files}
    for seed in seeds:
        size, root = entries[seed.rel]
        source, target = Path(seed.source), staging / seed.rel
        if target.exists():
            copied = min(target.stat().st_size, seed.length)
            if not go_on(copied):
                raise CopyStopped(str(target))
        else:
            try:
                if seed.kind == delta.SAME and not matches(source, size, root, go_on):
                    continue  # changed since it was placed: no longer the same content
                copied = copy_prefix(source, target, seed.length, go_on)
            except StagingUnwritable:
                raise
            except OSError:
                continue  # the old copy went away or is unreadable: it is simply downloaded
        tally.seeded += copied
        tally.reused += copied if seed.kind == delta.SAME else 0
    return tally


def sweep_partial(staging: Path) -> int:
    """Remove copies a stopped agent left unfinished under ``staging``; how many."""
    leftovers = list(staging.rglob(f".*{PARTIAL_SUFFIX}")) if staging.is_dir() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)
