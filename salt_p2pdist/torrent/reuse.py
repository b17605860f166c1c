"""A new version starts from what the host already holds: older files copied into staging.

The agent chooses the older copies (agent/seeding.py, by core/delta.py's rules);
this copies them where the download's files go (placement.save_path), before
libtorrent's check pass, which keeps the pieces that hash right.
"""

from __future__ import annotations

from pathlib import Path

from salt_p2pdist.core import delta
from salt_p2pdist.files.prefixcopy import copy_prefix
from salt_p2pdist.torrent.merkle import matches
from salt_p2pdist.torrent.placement import FileEntry


def seed_staging(staging: Path, files: list[FileEntry], seeds: list[delta.Seed]) -> tuple[int, int]:
    """Copy older files into staging as ``seeds`` say; return (bytes reused, bytes seeded).

    A SAME seed (a held file with the new file's v2 root) is checked to still
    hold that content and counts as reused. An OLDER seed is copied as it is:
    the torrent's check pass keeps the pieces that hash right, the rest is
    downloaded. Copies, not hard links: the older file stays as it is.
    """
    entries = {rel: (size, root) for rel, size, root in files}
    reused = seeded = 0
    for seed in seeds:
        size, root = entries[seed.rel]
        source, target = Path(seed.source), staging / seed.rel
        if target.exists() or (seed.kind == delta.SAME and not matches(source, size, root)):
            continue
        try:
            copied = copy_prefix(source, target, seed.length)
        except OSError:
            continue  # the old copy went away or is unreadable: it is simply downloaded
        seeded += copied
        reused += copied if seed.kind == delta.SAME else 0
    return reused, seeded
