"""Measuring free space for a new fetch, before anything is written.

The arithmetic and the refusal's words are core.diskspace's; this module
asks the file system: free bytes (``shutil.disk_usage``, portable to
Windows) and the volume (``st_dev``) of the nearest existing ancestor of
staging and dest, which may not exist yet.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from salt_p2pdist.core import diskspace
from salt_p2pdist.torrent.placement import FileEntry


def existing_ancestor(path: Path) -> Path:
    """``path`` itself or its nearest parent that exists (a fresh dest, staging's dist directory)."""
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def measure(path: Path) -> diskspace.Volume:
    """The volume ``path`` is (or will be) on, with its free bytes now."""
    base = existing_ancestor(path)
    return diskspace.Volume(path=str(path), device=os.stat(base).st_dev, free=shutil.disk_usage(base).free)


def _size_at(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def check_fetch(staging: Path, dest: Path, files: list[FileEntry]) -> None:
    """Raise NoSpace if staging or dest lacks room for what this fetch still has to write.

    Staging gets every file not already there in full (copies of files this
    host holds count: they are copies, as do older versions staging starts
    from). Dest gets the files it does not hold at their size yet, plus room
    for the largest one it does (a new version of the same size is copied
    beside the old before replacing it); when dest shares staging's volume,
    the move is a rename and dest needs nothing more.
    """
    sizes = [size for _rel, size, _root in files]
    staging_bytes = diskspace.staging_need(sizes, [_size_at(staging / rel) for rel, _s, _r in files])
    at_staging, at_dest = measure(staging), measure(dest)
    dest_bytes = 0
    if at_dest.device != at_staging.device:
        there = [(size, _size_at(dest / rel) == size) for rel, size, _root in files]
        # A file there at its size may be an older version changed in place: the move
        # across volumes writes the new one beside it before the old goes (one at a time).
        dest_bytes = sum(size for size, same in there if not same) + max(
            (size for size, same in there if same), default=0)
    # Dest first: on a shared volume the message names dest, the path the admin chose.
    diskspace.check([(at_dest, dest_bytes), (at_staging, staging_bytes)])
