"""Copying the first bytes of a file, in chunks, so a reader never sees half of it.

Used to seed a staging area from an older copy of a file: the copy is a
separate file (never a hard link, which libtorrent would then write into,
changing the old copy too), written next to its target under a temporary
name and renamed into place. Large files are read a chunk at a time.
"""

from __future__ import annotations

import os
from pathlib import Path

CHUNK = 1 << 20


def copy_prefix(source: Path, target: Path, length: int) -> int:
    """Copy at most ``length`` bytes from the start of ``source`` to ``target``; the bytes copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.p2pdist-partial")
    copied = 0
    try:
        with source.open("rb") as src, tmp.open("wb") as dst:
            while copied < length:
                chunk = src.read(min(CHUNK, length - copied))
                if not chunk:
                    break  # the source shrank meanwhile: libtorrent fetches the rest
                dst.write(chunk)
                copied += len(chunk)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return copied
